from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.core.db import Base, UTCDateTime, utcnow

BODY_KINDS = ("council", "committee", "board", "assembly", "other")  # HĐND, UBND, HĐQT, Quốc hội …
QUORUM_RULES = ("more_than_half", "two_thirds", "fixed")
VOTE_RULES = ("simple", "majority_present", "majority_all", "two_thirds_all")
BODY_ROLES = ("secretary", "approver", "member")


class Body(Base):
    """An organ that meets: a People's Council, a People's Committee, a company board …"""

    __tablename__ = "bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(50), default="")
    kind: Mapped[str] = mapped_column(sa.String(20), default="other")
    quorum_rule: Mapped[str] = mapped_column(sa.String(20), default="more_than_half")
    quorum_fixed: Mapped[int | None]
    default_vote_rule: Mapped[str] = mapped_column(sa.String(20), default="majority_all")
    # Attendance rules: a check-in this long after the session opened is "late"; how many proxies one member
    # may hold; whether a proxy held by a present member counts its giver toward the quorum.
    late_after_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    max_proxies_held: Mapped[int] = mapped_column(default=1, server_default="1")
    proxies_count_for_quorum: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Speaking-time limits of the speakers' queue, per kind of request (seconds).
    speech_limit_seconds: Mapped[int] = mapped_column(default=300, server_default="300")
    question_limit_seconds: Mapped[int] = mapped_column(default=180, server_default="180")
    point_of_order_limit_seconds: Mapped[int] = mapped_column(default=60, server_default="60")
    # Votes: whether a poll may be opened without quorum (False: refused; True: opened with a warning).
    polls_without_quorum: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[BodyMember]] = relationship(back_populates="body", cascade="all, delete-orphan")


class BodyMember(Base):
    """Standing membership: secretaries prepare the body's meetings, approvers review them."""

    __tablename__ = "body_members"
    __table_args__ = (sa.UniqueConstraint("body_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))

    body: Mapped[Body] = relationship(back_populates="members")
    user: Mapped["User"] = relationship()  # noqa: F821


from meetings.auth.models import User  # noqa: E402  (resolves the relationship target)
