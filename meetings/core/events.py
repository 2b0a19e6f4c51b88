"""The per-meeting event log: what tablets must see, numbered by a gap-free ``seq`` per meeting.

``emit_event`` allocates the next seq by incrementing the meeting's counter row (serializing concurrent
writers of one meeting), stores the event, and queues it for broadcast after commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meetings.core.db import Base, UTCDateTime, to_local_iso, utcnow
from meetings.core.tx import on_commit
from meetings.extensions import db


class MeetingEvent(Base):
    __tablename__ = "meeting_events"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # None = every participant; otherwise {"user_ids": [...]} or {"roles": [...]}
    audience: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def message(self) -> dict[str, Any]:
        return {**self.payload, "meeting_id": self.meeting_id, "seq": self.seq, "at": to_local_iso(self.at)}


@dataclass(frozen=True)
class CommittedEvent:
    meeting_id: int
    seq: int
    type: str
    message: dict[str, Any]
    audience: dict[str, Any] | None


def emit_event(meeting_id: int, type_: str, payload: dict[str, Any], *,
               audience: dict[str, Any] | None = None) -> MeetingEvent:
    from meetings.meeting.models import Meeting

    db.session.execute(sa.update(Meeting).where(Meeting.id == meeting_id).values(last_seq=Meeting.last_seq + 1))
    seq = db.session.execute(sa.select(Meeting.last_seq).where(Meeting.id == meeting_id)).scalar_one()
    event = MeetingEvent(meeting_id=meeting_id, seq=seq, type=type_, payload=payload, audience=audience)
    db.session.add(event)
    db.session.flush()
    on_commit(CommittedEvent(meeting_id, seq, type_, event.message(), audience))
    return event


def events_after(meeting_id: int, after: int, limit: int) -> list[MeetingEvent]:
    return list(db.session.execute(
        sa.select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id, MeetingEvent.seq > after)
        .order_by(MeetingEvent.seq).limit(limit)
    ).scalars())
