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
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from meetings.core.db import Base, UTCDateTime, prebuilt, to_local_iso, utcnow
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
        return event_message(self.meeting_id, self.seq, self.payload, self.at)


def event_message(meeting_id: int, seq: int, payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    """What a tablet receives: the payload with the meeting, the seq and the time."""
    return {**payload, "meeting_id": meeting_id, "seq": seq, "at": to_local_iso(at)}


@dataclass(frozen=True)
class CommittedEvent:
    meeting_id: int
    seq: int
    type: str
    message: dict[str, Any]
    audience: dict[str, Any] | None


def emit_event(meeting_id: int, type_: str, payload: dict[str, Any], *,
               audience: dict[str, Any] | None = None) -> int:
    from meetings.meeting.models import Meeting

    # Core statements, built once (every write and every chair action passes here; the ORM's bulk-update
    # bookkeeping doubled its cost, the statements' cache keys half of the rest): the increment takes the row lock (PostgreSQL) and returns the new seq (SQLite >= 3.35
    # too). A Meeting already loaded in the session learns its new seq as if it had been read.
    meetings = Meeting.__table__
    conn = db.session.connection()
    seq = conn.execute(prebuilt(("event.seq",), lambda: meetings.update().where(
        meetings.c.id == sa.bindparam("meeting")).values(last_seq=meetings.c.last_seq + 1)
        .returning(meetings.c.last_seq)), {"meeting": meeting_id}).scalar_one()
    loaded = db.session.identity_map.get(identity_key(Meeting, meeting_id))
    if loaded is not None:
        set_committed_value(loaded, "last_seq", seq)
    at = utcnow()
    conn.execute(prebuilt(("event.insert",), MeetingEvent.__table__.insert), {
        "meeting_id": meeting_id, "seq": seq, "type": type_, "payload": payload, "audience": audience, "at": at})
    on_commit(CommittedEvent(meeting_id, seq, type_, event_message(meeting_id, seq, payload, at), audience))
    return seq


def events_after(meeting_id: int, after: int, limit: int) -> list[MeetingEvent]:
    return list(db.session.execute(
        sa.select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id, MeetingEvent.seq > after)
        .order_by(MeetingEvent.seq).limit(limit)
    ).scalars())
