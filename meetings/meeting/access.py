"""Who may see a meeting and what roles they hold in it.

Effective roles in a meeting: the participant role, plus the standing role the user holds in the meeting's
body (a body's secretaries prepare all its meetings, its approvers review them), plus ``admin``.
Unknown and invisible meetings are both 404, so ids of another body's meetings reveal nothing.
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.bodies.models import Body, BodyMember
from meetings.core.db import prebuilt
from meetings.core.errors import Forbidden, NotFound
from meetings.extensions import db
from meetings.meeting.models import PUBLIC_STATES, Meeting, Participant

PREPARING_ROLES = frozenset({"secretary", "approver", "admin"})


def meeting_roles(meeting: Meeting, user: User) -> frozenset[str]:
    roles: set[str] = set()
    if user.is_admin:
        roles.add("admin")
    participant = participant_of(meeting.id, user.id)
    if participant is not None:
        roles.add(participant.role)
    standing = db.session.execute(
        sa.select(BodyMember.role).where(BodyMember.body_id == meeting.body_id, BodyMember.user_id == user.id)
    ).scalar_one_or_none()
    if standing in ("secretary", "approver"):
        roles.add(standing)
    return frozenset(roles)


def roles_by_meeting(meetings: Iterable[Meeting], user: User) -> dict[int, frozenset[str]]:
    """``meeting_roles`` for many meetings in two queries (list pages show hundreds)."""
    meetings = list(meetings)
    ids = [m.id for m in meetings]
    taken = dict(db.session.execute(sa.select(Participant.meeting_id, Participant.role).where(
        Participant.user_id == user.id, Participant.meeting_id.in_(ids))).all()) if ids else {}
    standing = dict(db.session.execute(sa.select(BodyMember.body_id, BodyMember.role).where(
        BodyMember.user_id == user.id, BodyMember.role.in_(("secretary", "approver")))).all())
    roles = {}
    for m in meetings:
        r = {"admin"} if user.is_admin else set()
        if m.id in taken:
            r.add(taken[m.id])
        if m.body_id in standing:
            r.add(standing[m.body_id])
        roles[m.id] = frozenset(r)
    return roles


def creatable_bodies_stmt(user: User) -> sa.Select:
    """Bodies the user may create meetings for: those they are a secretary of (any, for an admin)."""
    stmt = sa.select(Body)
    if not user.is_admin:
        stmt = stmt.where(Body.id.in_(sa.select(BodyMember.body_id).where(
            BodyMember.user_id == user.id, BodyMember.role == "secretary")))
    return stmt


def participant_of(meeting_id: int, user_id: int) -> Participant | None:
    stmt = prebuilt(("participant_of",), lambda: sa.select(Participant).where(
        Participant.meeting_id == sa.bindparam("meeting"), Participant.user_id == sa.bindparam("user")))
    return db.session.execute(stmt, {"meeting": meeting_id, "user": user_id}).scalar_one_or_none()


def can_see(meeting: Meeting, roles: Iterable[str]) -> bool:
    roles = frozenset(roles)
    if roles & PREPARING_ROLES:
        return True
    return bool(roles) and meeting.state in PUBLIC_STATES


def _meeting_and_roles(for_update: bool) -> sa.Select:
    participant_role = sa.select(Participant.role).where(Participant.meeting_id == Meeting.id,
                                                         Participant.user_id == sa.bindparam("actor")).scalar_subquery()
    standing_role = sa.select(BodyMember.role).where(BodyMember.body_id == Meeting.body_id,
                                                     BodyMember.user_id == sa.bindparam("actor")).scalar_subquery()
    stmt = sa.select(Meeting, participant_role, standing_role).where(Meeting.id == sa.bindparam("meeting"))
    return stmt.with_for_update(of=Meeting) if for_update else stmt


def load_meeting(meeting_id: int, actor: User, *, for_update: bool = False) -> tuple[Meeting, frozenset[str]]:
    """The meeting and the actor's roles in it (``meeting_roles``), read in one statement; 404 if invisible."""
    row = db.session.execute(prebuilt(("load_meeting", for_update), lambda: _meeting_and_roles(for_update)),
                             {"meeting": meeting_id, "actor": actor.id}).one_or_none()
    if row is None:
        raise NotFound(_("Meeting %(id)s does not exist or is not visible to you.", id=meeting_id))
    meeting, taken, standing = row
    roles = frozenset(({"admin"} if actor.is_admin else set()) | ({taken} if taken else set())
                      | ({standing} if standing in ("secretary", "approver") else set()))
    if not can_see(meeting, roles):
        raise NotFound(_("Meeting %(id)s does not exist or is not visible to you.", id=meeting_id))
    return meeting, roles


def require_role(roles: frozenset[str], allowed: Iterable[str]) -> None:
    if not roles & frozenset(allowed):
        from meetings.core.i18n import role_label
        names = ", ".join(role_label(r) for r in allowed)
        raise Forbidden(_("Only these roles may do this: %(roles)s.", roles=names))


def visible_meetings_stmt(user: User) -> sa.Select:
    stmt = sa.select(Meeting)
    if user.is_admin:
        return stmt
    staff_bodies = sa.select(BodyMember.body_id).where(
        BodyMember.user_id == user.id, BodyMember.role.in_(("secretary", "approver")))
    preparing = sa.select(Participant.meeting_id).where(
        Participant.user_id == user.id, Participant.role.in_(("secretary", "approver")))
    attending = sa.select(Participant.meeting_id).where(Participant.user_id == user.id)
    return stmt.where(sa.or_(
        Meeting.body_id.in_(staff_bodies),
        Meeting.id.in_(preparing),
        sa.and_(Meeting.id.in_(attending), Meeting.state.in_(PUBLIC_STATES)),
    ))
