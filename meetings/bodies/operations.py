from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.auth.operations import require_admin
from meetings.bodies.models import Body, BodyMember
from meetings.bodies.schemas import BodyCreate, BodyMemberIn, BodyPatch
from meetings.core.audit import record_audit
from meetings.core.errors import Conflict, NotFound, Unprocessable
from meetings.extensions import db


def visible_bodies_stmt(user: User) -> sa.Select:
    if user.is_admin:
        return sa.select(Body)
    return sa.select(Body).where(Body.id.in_(sa.select(BodyMember.body_id).where(BodyMember.user_id == user.id)))


def load_body(body_id: int, *, actor: User) -> Body:
    body = db.session.execute(visible_bodies_stmt(actor).where(Body.id == body_id)).scalar_one_or_none()
    if body is None:
        raise NotFound(_("Body %(id)s does not exist or is not visible to you.", id=body_id))
    return body


def _check_quorum(rule: str, fixed: int | None) -> None:
    if rule == "fixed" and not fixed:
        raise Unprocessable(_("A fixed quorum needs the number of members required (quorum_fixed)."))


def _name_taken(name: str, exclude_id: int | None = None) -> bool:
    stmt = sa.select(Body.id).where(sa.func.lower(Body.name) == name.lower())
    if exclude_id:
        stmt = stmt.where(Body.id != exclude_id)
    return db.session.execute(stmt).first() is not None


def create_body(data: BodyCreate, *, actor: User | None) -> Body:
    if actor is not None:
        require_admin(actor)
    _check_quorum(data.quorum_rule, data.quorum_fixed)
    if _name_taken(data.name):
        raise Conflict(_("A body named “%(name)s” already exists.", name=data.name))
    body = Body(**data.model_dump())
    db.session.add(body)
    db.session.flush()
    record_audit("body.create", actor_id=actor.id if actor else None, data={"body_id": body.id, "name": body.name})
    return body


def update_body(body: Body, data: BodyPatch, *, actor: User) -> Body:
    require_admin(actor)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    if "name" in changes and _name_taken(changes["name"], body.id):
        raise Conflict(_("A body named “%(name)s” already exists.", name=changes["name"]))
    _check_quorum(changes.get("quorum_rule", body.quorum_rule), changes.get("quorum_fixed", body.quorum_fixed))
    for key, value in changes.items():
        setattr(body, key, value)
    record_audit("body.update", actor_id=actor.id, data={"body_id": body.id, "fields": sorted(changes)})
    return body


def add_body_member(body: Body, data: BodyMemberIn, *, actor: User | None) -> BodyMember:
    if actor is not None:
        require_admin(actor)
    user = db.session.get(User, data.user_id)
    if user is None:
        raise Unprocessable(_("User %(id)s does not exist.", id=data.user_id))
    existing = db.session.execute(sa.select(BodyMember).where(
        BodyMember.body_id == body.id, BodyMember.user_id == user.id)).scalar_one_or_none()
    if existing is not None:
        raise Conflict(_("%(name)s is already a member of this body.", name=user.full_name))
    member = BodyMember(body_id=body.id, user_id=user.id, role=data.role)
    db.session.add(member)
    db.session.flush()
    record_audit("body.member_add", actor_id=actor.id if actor else None,
                 data={"body_id": body.id, "user_id": user.id, "role": data.role})
    return member


def remove_body_member(body: Body, member_id: int, *, actor: User) -> None:
    require_admin(actor)
    member = db.session.get(BodyMember, member_id)
    if member is None or member.body_id != body.id:
        raise NotFound(_("Membership %(id)s does not exist in this body.", id=member_id))
    db.session.delete(member)
    record_audit("body.member_remove", actor_id=actor.id,
                 data={"body_id": body.id, "user_id": member.user_id, "role": member.role})
