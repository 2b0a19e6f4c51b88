from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _

from meetings.auth import operations as ops
from meetings.auth.current import bearer_token
from meetings.auth.models import User
from meetings.auth.schemas import LoginIn, LoginOut, UserCreate, UserOut, UserPatch
from meetings.core.api import ApiBlueprint
from meetings.core.errors import NotAuthenticated
from meetings.core.schemas import Page
from meetings.core.tx import commit
from meetings.extensions import db

bp = ApiBlueprint("auth_api", __name__)
users_bp = ApiBlueprint("users_api", __name__)


@bp.endpoint("/auth/login", "POST", summary="Log in and get a bearer token", body=LoginIn, response=LoginOut,
             auth=False, errors=(401, 429))
def login(*, body: LoginIn):
    user = ops.authenticate(body.username, body.password, ip=request.remote_addr or "?")
    if user is None:
        commit()  # keep the failed attempt: it is what the rate limit counts
        raise NotAuthenticated(_("Wrong username or password."))
    token, row = ops.issue_token(user)
    return LoginOut(token=token, expires_at=row.expires_at, user=UserOut.model_validate(user))


@bp.endpoint("/auth/logout", "POST", summary="Revoke the bearer token used for this call")
def logout(*, actor: User):
    token = bearer_token()
    row = ops.token_row(token) if token else None
    if row is not None:
        ops.revoke_token(row)
    return None


@bp.endpoint("/auth/me", summary="The logged-in user", response=UserOut)
def me(*, actor: User):
    return UserOut.model_validate(actor)


@users_bp.endpoint("/users", summary="List users (admin)", response=Page[UserOut], errors=(403,))
def list_users(*, actor: User):
    ops.require_admin(actor)
    users = db.session.execute(sa.select(User).order_by(User.full_name)).scalars().all()
    return {"items": [UserOut.model_validate(u).model_dump(mode="json") for u in users], "total": len(users)}


@users_bp.endpoint("/users", "POST", summary="Create a user (admin)", body=UserCreate, response=UserOut,
                   status=201, errors=(403, 409))
def create_user(*, actor: User, body: UserCreate):
    return UserOut.model_validate(ops.create_user(body, actor=actor))


@users_bp.endpoint("/users/<int:user_id>", summary="One user (admin, or yourself)", response=UserOut,
                   errors=(403, 404))
def get_user(user_id: int, *, actor: User):
    return UserOut.model_validate(ops.get_user(user_id, actor=actor))


@users_bp.endpoint("/users/<int:user_id>", "PATCH", summary="Change or deactivate a user", body=UserPatch,
                   response=UserOut, errors=(403, 404, 409))
def patch_user(user_id: int, *, actor: User, body: UserPatch):
    user = ops.get_user(user_id, actor=actor)
    return UserOut.model_validate(ops.update_user(user, body, actor=actor))
