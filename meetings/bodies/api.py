from __future__ import annotations

from meetings.auth.models import User
from meetings.bodies import operations as ops
from meetings.bodies.models import Body
from meetings.bodies.schemas import BodyCreate, BodyMemberIn, BodyMemberOut, BodyOut, BodyPatch
from meetings.core.api import ApiBlueprint
from meetings.core.schemas import Page
from meetings.extensions import db

bp = ApiBlueprint("bodies_api", __name__)


def body_out(body: Body) -> BodyOut:
    # Not BodyOut.model_validate(body): that would validate the ORM members, which have no full_name.
    fields = {name: getattr(body, name) for name in BodyOut.model_fields if name != "members"}
    members = [BodyMemberOut(id=m.id, user_id=m.user_id, role=m.role, full_name=m.user.full_name)
               for m in body.members]
    return BodyOut(**fields, members=members)


@bp.endpoint("/bodies", summary="Bodies visible to the caller", response=Page[BodyOut])
def list_bodies(*, actor: User):
    bodies = db.session.execute(ops.visible_bodies_stmt(actor).order_by(Body.name)).scalars().all()
    return {"items": [body_out(b).model_dump(mode="json") for b in bodies], "total": len(bodies)}


@bp.endpoint("/bodies", "POST", summary="Create a body (admin)", body=BodyCreate, response=BodyOut, status=201,
             errors=(403, 409, 422))
def create_body(*, actor: User, body: BodyCreate):
    return body_out(ops.create_body(body, actor=actor))


@bp.endpoint("/bodies/<int:body_id>", summary="One body", response=BodyOut, errors=(404,))
def get_body(body_id: int, *, actor: User):
    return body_out(ops.load_body(body_id, actor=actor))


@bp.endpoint("/bodies/<int:body_id>", "PATCH", summary="Change a body (admin)", body=BodyPatch, response=BodyOut,
             errors=(403, 404, 409, 422))
def patch_body(body_id: int, *, actor: User, body: BodyPatch):
    return body_out(ops.update_body(ops.load_body(body_id, actor=actor), body, actor=actor))


@bp.endpoint("/bodies/<int:body_id>/members", "POST", summary="Add a standing member (admin)", body=BodyMemberIn,
             response=BodyOut, status=201, errors=(403, 404, 409, 422))
def add_member(body_id: int, *, actor: User, body: BodyMemberIn):
    target = ops.load_body(body_id, actor=actor)
    ops.add_body_member(target, body, actor=actor)
    db.session.refresh(target)
    return body_out(target)


@bp.endpoint("/bodies/<int:body_id>/members/<int:member_id>", "DELETE", summary="Remove a standing member (admin)",
             errors=(403, 404))
def remove_member(body_id: int, member_id: int, *, actor: User):
    ops.remove_body_member(ops.load_body(body_id, actor=actor), member_id, actor=actor)
