from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.auth.models import User
from meetings.bodies.models import Body
from meetings.core.db import Base, ExactDecimal, UTCDateTime, utcnow
from flask_babel import gettext as _

from meetings.core.errors import Conflict
from meetings.core.i18n import ACTION_LABELS, state_label

STATES = ("draft", "submitted", "approved", "published", "in_session", "paused", "adjourned", "closed", "archived")
ROLES = ("chair", "secretary", "approver", "delegate", "guest")
VOTING_ROLES = ("chair", "delegate")

# The states a participant without a preparing role (chair, delegate, guest) can see the meeting in.
PUBLIC_STATES = ("published", "in_session", "paused", "adjourned", "closed", "archived")
# Content (details, agenda, participants, sessions) may change while preparing and while the meeting runs;
# under review it is frozen, so the approver approves what they read; after adjournment it is the record.
EDITABLE_STATES = ("draft", "published", "in_session", "paused")


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]  # effective meeting roles allowed to perform it


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("submit", ("draft",), "submitted", ("secretary",)),
    Transition("reject", ("submitted",), "draft", ("approver",)),
    Transition("approve", ("submitted",), "approved", ("approver",)),
    Transition("publish", ("approved",), "published", ("secretary", "approver")),
    Transition("start", ("published",), "in_session", ("chair",)),
    Transition("pause", ("in_session",), "paused", ("chair",)),
    Transition("resume", ("paused",), "in_session", ("chair",)),
    Transition("adjourn", ("in_session", "paused"), "adjourned", ("chair",)),
    Transition("close", ("adjourned",), "closed", ("chair", "secretary")),
    Transition("archive", ("closed",), "archived", ("secretary",)),
)}


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    number: Mapped[str] = mapped_column(sa.String(60), default="")  # e.g. "Kỳ họp thứ 12"
    description: Mapped[str] = mapped_column(sa.Text, default="")
    place: Mapped[str] = mapped_column(sa.String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    # Closed session (họp kín): documents and events never reach guests.
    is_closed_session: Mapped[bool] = mapped_column(default=False)
    current_agenda_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agenda_items.id", ondelete="SET NULL", use_alter=True))
    # When the chair moved to the current item: the console's and projector's timer survive reconnects.
    current_item_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Pauses do not count against the current item's time: when the meeting paused, and how long the current
    # item has been paused in all (a timer is (paused_at or now) - started - paused seconds).
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_item_paused_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    # "Follow me": the document page the chair is showing (view.page), or none. No foreign key: documents are
    # never deleted, and a reference cycle meetings ⇄ documents would cost SQLite a table rebuild.
    view_document_id: Mapped[int | None] = mapped_column()
    view_page: Mapped[int | None] = mapped_column()
    last_seq: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    body: Mapped[Body] = relationship()
    participants: Mapped[list[Participant]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Participant.id")
    sessions: Mapped[list[MeetingSession]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingSession.position")
    transitions: Mapped[list[MeetingTransition]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingTransition.id")

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    def ensure_editable(self) -> None:
        if not self.is_editable:
            raise Conflict(_("The meeting cannot be changed while it is “%(state)s”.", state=state_label(self.state)),
                           extra={"state": self.state})

    def ensure_can(self, action: str) -> Transition:
        """The transition of ``action``; raises Conflict when the current state does not allow it."""
        transition = TRANSITIONS[action]
        if self.state not in transition.sources:
            raise Conflict(_("“%(action)s” is not possible while the meeting is “%(state)s”.",
                             action=ACTION_LABELS[action], state=state_label(self.state)),
                           extra={"state": self.state, "action": action})
        return transition

    def apply(self, action: str) -> Transition:
        """Move to the next state of ``action``; raises Conflict when the current state does not allow it."""
        transition = self.ensure_can(action)
        self.state = transition.target
        return transition

    def available_actions(self) -> list[str]:
        return [a for a, t in TRANSITIONS.items() if self.state in t.sources]


class MeetingTransition(Base):
    """The review history: who moved the meeting, from where to where, with the approver's comment."""

    __tablename__ = "meeting_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    from_state: Mapped[str] = mapped_column(sa.String(20))
    to_state: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "user_id"),
        sa.CheckConstraint("vote_weight > 0", name="vote_weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    can_vote: Mapped[bool] = mapped_column(default=False)
    vote_weight: Mapped[Decimal] = mapped_column(ExactDecimal(), default=Decimal(1))
    seat: Mapped[str] = mapped_column(sa.String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="participants")
    user: Mapped[User] = relationship()


class MeetingSession(Base):
    """A sitting of the meeting (morning, afternoon, day 2 …); attendance is taken per session."""

    __tablename__ = "meeting_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(sa.String(20), default="planned")  # planned | open | closed
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    meeting: Mapped[Meeting] = relationship(back_populates="sessions")

    def open(self) -> None:
        if self.state != "planned":
            raise Conflict(_("This session has already been opened."), extra={"state": self.state})
        self.state = "open"
        self.opened_at = utcnow()

    def close(self) -> None:
        if self.state != "open":
            raise Conflict(_("Only an open session can be closed."), extra={"state": self.state})
        self.state = "closed"
        self.closed_at = utcnow()


class DisplayToken(Base):
    """A hall screen's (projector's) read-only access to one meeting, without a user login.

    Only the sha256 of the token is stored; the secretary sees the token once, in the display's URL.
    """

    __tablename__ = "display_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()
