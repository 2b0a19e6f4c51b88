"""Users, logins and tokens."""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.auth.models import ApiToken, LoginAttempt, User
from meetings.auth.passwords import hash_password, needs_rehash, verify_password
from meetings.auth.schemas import UserCreate, UserPatch
from meetings.core.audit import record_audit
from meetings.core.db import prebuilt, utcnow
from meetings.core.errors import Conflict, Forbidden, NotFound, RateLimited
from meetings.extensions import db

TOKEN_LIFETIME = timedelta(days=30)
FAILURE_WINDOW = timedelta(minutes=15)
# Guessing is slowed per (username, address): five tries, then 15 minutes' wait. A username alone is capped
# only much higher, so a prankster on the hall Wi-Fi cannot lock the chair out with five wrong passwords,
# while a password spray from many addresses still stops. Many tablets share one NAT address, hence the
# generous per-address cap.
MAX_FAILURES_PER_USERNAME_AND_IP = 5
MAX_FAILURES_PER_USERNAME = 100
MAX_FAILURES_PER_IP = 200


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator may do this."))


def create_user(data: UserCreate, *, actor: User | None) -> User:
    """Create a user. ``actor`` None means the command line (the operator of the machine)."""
    if actor is not None:
        require_admin(actor)
    exists = db.session.execute(sa.select(User.id).where(sa.func.lower(User.username) == data.username.lower()))
    if exists.first() is not None:
        raise Conflict(_("The username “%(name)s” is already taken.", name=data.username))
    user = User(username=data.username, full_name=data.full_name, title=data.title, email=data.email,
                is_admin=data.is_admin, password_hash=hash_password(data.password) if data.password else None)
    db.session.add(user)
    db.session.flush()
    record_audit("user.create", actor_id=actor.id if actor else None,
                 data={"user_id": user.id, "username": user.username, "is_admin": user.is_admin})
    return user


def get_user(user_id: int, *, actor: User) -> User:
    if actor.id != user_id:
        require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("User %(id)s does not exist.", id=user_id))
    return user


def update_user(user: User, data: UserPatch, *, actor: User) -> User:
    self_service = {"full_name", "title", "email", "password", "locale"}
    changed = data.model_fields_set
    if actor.id != user.id or changed - self_service:
        require_admin(actor)
    if data.active is False and user.id == actor.id:
        raise Conflict(_("You cannot deactivate your own account."))
    if data.is_admin is False and user.id == actor.id:
        raise Conflict(_("You cannot remove your own administrator rights."))
    audit: dict = {"user_id": user.id, "fields": sorted(changed)}
    for field in ("full_name", "title", "email", "is_admin", "locale"):
        if field in changed and getattr(data, field) is not None:
            setattr(user, field, getattr(data, field))
    if data.password:
        user.password_hash = hash_password(data.password)
        _revoke_all(user)
    if data.active is not None and data.active != user.active:
        user.active = data.active
        if not data.active:
            _revoke_all(user)
    record_audit("user.update", actor_id=actor.id, data=audit)
    return user


def _revoke_all(user: User) -> None:
    user.session_epoch += 1
    db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def check_login_rate(username: str, ip: str) -> None:
    since = utcnow() - FAILURE_WINDOW
    recent = sa.select(sa.func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since)
    name = username.lower()
    by_pair = db.session.execute(recent.where(LoginAttempt.username == name, LoginAttempt.ip == ip)).scalar_one()
    by_user = db.session.execute(recent.where(LoginAttempt.username == name)).scalar_one()
    by_ip = db.session.execute(recent.where(LoginAttempt.ip == ip)).scalar_one()
    if by_pair >= MAX_FAILURES_PER_USERNAME_AND_IP or by_user >= MAX_FAILURES_PER_USERNAME \
            or by_ip >= MAX_FAILURES_PER_IP:
        raise RateLimited(_("Too many failed logins. Please wait 15 minutes and try again."),
                          headers={"Retry-After": str(int(FAILURE_WINDOW.total_seconds()))})


def authenticate(username: str, password: str, *, ip: str) -> User | None:
    """Check a login. A failure is recorded (for the rate limit) and returns None; the caller commits."""
    check_login_rate(username, ip)
    user = db.session.execute(
        sa.select(User).where(sa.func.lower(User.username) == username.lower())).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        db.session.add(LoginAttempt(username=username.lower()[:80], ip=ip[:64]))
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.username == username.lower()))
    return user


def issue_token(user: User) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=ApiToken.digest(token), expires_at=utcnow() + TOKEN_LIFETIME)
    db.session.add(row)
    db.session.flush()
    record_audit("auth.token_issued", actor_id=user.id, data={"token_id": row.id})
    return token, row


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = utcnow()
    record_audit("auth.token_revoked", actor_id=token.user_id, data={"token_id": token.id})


def user_for_token(token: str) -> User | None:
    """The active user holding this live token (one statement: every API request passes here)."""
    stmt = prebuilt(("auth.user_for_token",), lambda: sa.select(User).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == sa.bindparam("digest"), ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > sa.bindparam("now"), User.active.is_(True)))
    return db.session.execute(stmt, {"digest": ApiToken.digest(token), "now": utcnow()}).scalar_one_or_none()


def token_row(token: str) -> ApiToken | None:
    return db.session.execute(sa.select(ApiToken).where(ApiToken.token_hash == ApiToken.digest(token)))\
        .scalar_one_or_none()
