"""Polls, the eligibility snapshot, and ballots — named ones in one table, secret ones split in two.

A **secret** ballot is stored as two rows that share nothing: ``secret_voters`` says *who* voted (the
member whose vote it is, and the receipt sealed with a key only the voter's device knows), ``secret_choices``
says *what* was chosen under a random receipt. Neither table has a timestamp or an insertion-ordered id, both
are keyed by their primary key only (WITHOUT ROWID on SQLite), and when the poll closes their rows are
rewritten in key order so that not even the physical order of a dump follows the order of voting.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meetings.core.db import Base, ExactDecimal, UTCDateTime, utcnow

RULES = ("simple", "majority_present", "majority_all", "two_thirds_all")
POLL_STATES = ("draft", "open", "closed")
DEFAULT_OPTIONS = [{"key": "yes", "label": "Tán thành"}, {"key": "no", "label": "Không tán thành"},
                   {"key": "abstain", "label": "Không biểu quyết"}]


class Poll(Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_items.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_sessions.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(300))
    secret: Mapped[bool] = mapped_column(default=False)
    options: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # [{key, label}]
    max_choices: Mapped[int] = mapped_column(default=1)
    rule: Mapped[str] = mapped_column(sa.String(20))
    duration_seconds: Mapped[int | None] = mapped_column()
    allow_change: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(sa.String(10), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The snapshot taken at opening: ballot rights (eligible) and all voting members of the meeting (members).
    eligible_count: Mapped[int] = mapped_column(default=0)
    eligible_weight: Mapped[Decimal] = mapped_column(ExactDecimal(), default=Decimal(0))
    members_count: Mapped[int] = mapped_column(default=0)
    members_weight: Mapped[Decimal] = mapped_column(ExactDecimal(), default=Decimal(0))
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    @property
    def option_keys(self) -> list[str]:
        return [o["key"] for o in self.options]


class PollRight(Base):
    """One ballot right in the opening snapshot: the member whose vote it is, and who casts it (themselves, or
    the holder of their proxy)."""

    __tablename__ = "poll_rights"

    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    for_participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"),
                                                    primary_key=True)
    caster_participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"),
                                                       index=True)
    weight: Mapped[Decimal] = mapped_column(ExactDecimal())


class Ballot(Base):
    """A named ballot: who, what, when. One per (poll, member) — the database refuses a second."""

    __tablename__ = "ballots"
    __table_args__ = (sa.UniqueConstraint("poll_id", "for_participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id", ondelete="CASCADE"))
    for_participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"))
    cast_by_participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"))
    choices: Mapped[list[str]] = mapped_column(sa.JSON)
    weight: Mapped[Decimal] = mapped_column(ExactDecimal())
    receipt: Mapped[str] = mapped_column(sa.String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(100))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SecretVoter(Base):
    """Who voted in a secret poll. No time, no serial id; the receipt is sealed with the voter's own key."""

    __tablename__ = "secret_voters"
    __table_args__ = {"sqlite_with_rowid": False}

    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    for_participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"),
                                                    primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))  # sha256 of the idempotency key (retries)
    sealed_receipt: Mapped[str] = mapped_column(sa.String(200))  # AES-GCM under a key derived from it


class SecretChoice(Base):
    """What was chosen in a secret poll, under a random receipt. No voter, no time, no serial id."""

    __tablename__ = "secret_choices"
    __table_args__ = {"sqlite_with_rowid": False}

    receipt: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    choices: Mapped[list[str]] = mapped_column(sa.JSON)
    weight: Mapped[Decimal] = mapped_column(ExactDecimal())
