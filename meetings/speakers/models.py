"""The speakers' queue (đăng ký phát biểu): who asked for the floor, who has it, who spoke and how long."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.bodies.models import Body
from meetings.core.db import Base, UTCDateTime, utcnow
from meetings.meeting.models import Participant

KINDS = ("speech", "question", "point_of_order")
STATES = ("waiting", "speaking", "done", "withdrawn")
# Who may ask for the floor: the members of the body sitting in the meeting. Guests are heard when the chair
# invites them, not through the queue; the secretary takes the minutes.
REQUESTING_ROLES = ("delegate", "chair")
DEFAULT_LIMITS = {"speech": 300, "question": 180, "point_of_order": 60}


def limit_seconds(body: Body, kind: str) -> int:
    """The body's speaking time for ``kind``, in seconds (the default when unset)."""
    return getattr(body, f"{kind}_limit_seconds", None) or DEFAULT_LIMITS[kind]


class SpeakerRequest(Base):
    """One request for the floor, from waiting through speaking to done (or withdrawn).

    ``position`` orders the waiting requests (1, 2, …; renumbered after every change); a request keeps its last
    position once it leaves the queue. Finished requests are the record of who spoke, when and how long.
    """

    __tablename__ = "speaker_requests"
    __table_args__ = (
        # One waiting request per participant and kind: a double tap or a retry can never queue someone twice.
        sa.Index("uq_speaker_requests_waiting", "participant_id", "kind", unique=True,
                 sqlite_where=sa.text("state = 'waiting'"), postgresql_where=sa.text("state = 'waiting'")),
        # One speaker at a time per meeting.
        sa.Index("uq_speaker_requests_speaking", "meeting_id", unique=True,
                 sqlite_where=sa.text("state = 'speaking'"), postgresql_where=sa.text("state = 'speaking'")),
        sa.Index("ix_speaker_requests_meeting_state", "meeting_id", "state"),
        sa.CheckConstraint("kind IN ('speech', 'question', 'point_of_order')", name="kind"),
        sa.CheckConstraint("state IN ('waiting', 'speaking', 'done', 'withdrawn')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_items.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(sa.String(10), default="waiting")
    # The limit in force when the request was made, refreshed when the floor is granted.
    limit_seconds: Mapped[int]
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int | None]
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    participant: Mapped[Participant] = relationship()
