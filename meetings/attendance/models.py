from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.core.db import Base, UTCDateTime, utcnow
from meetings.meeting.models import MeetingSession, Participant

ROLL_CALL_KINDS = ("start", "end")
METHODS = ("tablet", "qr", "card", "manual")
ABSENCES = ("excused", "unexcused")


class RollCall(Base):
    """A roll-call window the chair opens and closes: at the start of a session, and at its end."""

    __tablename__ = "roll_calls"
    __table_args__ = (sa.UniqueConstraint("session_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(10))  # start | end
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Attendance(Base):
    """One participant in one session: when they checked in, left, were present at the end roll call.

    One row per (session, participant), made by the first check-in (or the secretary's mark): the unique
    constraint is what keeps 500 simultaneous check-ins exact.
    """

    __tablename__ = "attendance"
    __table_args__ = (sa.UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_sessions.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_in_method: Mapped[str] = mapped_column(sa.String(10), default="")
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # left before the end
    check_out_method: Mapped[str] = mapped_column(sa.String(10), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # present at the end roll call
    confirm_method: Mapped[str] = mapped_column(sa.String(10), default="")
    absence: Mapped[str] = mapped_column(sa.String(10), default="")  # "" | excused | unexcused (secretary)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    participant: Mapped[Participant] = relationship()
    session: Mapped[MeetingSession] = relationship()


class Proxy(Base):
    """Ủy quyền: a voting member gives their vote to another voting member for one session.

    At most one active proxy per giver and session (a partial unique index); it ends when the giver checks in
    or withdraws it.
    """

    __tablename__ = "proxies"
    __table_args__ = (
        sa.Index("uq_proxies_active_giver", "session_id", "giver_id", unique=True,
                 sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
        sa.CheckConstraint("giver_id <> holder_id", name="not_to_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_sessions.id", ondelete="CASCADE"), index=True)
    giver_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"))
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str] = mapped_column(sa.String(20), default="")  # checked_in | withdrawn | removed

    giver: Mapped[Participant] = relationship(foreign_keys=[giver_id])
    holder: Mapped[Participant] = relationship(foreign_keys=[holder_id])


class Kiosk(Base):
    """A card reader at the door of the hall: checks people in by their staff card for the body's meetings."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Card(Base):
    """A staff card (NFC / electronic staff card): its UID, normalised to upper-case hex, and its holder."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
