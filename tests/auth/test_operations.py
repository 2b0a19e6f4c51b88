"""Users, logins and tokens (meetings.auth.operations)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from meetings.auth.models import ApiToken, LoginAttempt, User
from meetings.auth.operations import (FAILURE_WINDOW, MAX_FAILURES_PER_USERNAME, MAX_FAILURES_PER_USERNAME_AND_IP,
                                     TOKEN_LIFETIME, authenticate,
                                      create_user, get_user, issue_token, revoke_token, update_user, user_for_token)
from meetings.auth.passwords import verify_password
from meetings.auth.schemas import UserCreate, UserPatch
from meetings.core.db import utcnow
from meetings.core.errors import Conflict, Forbidden, NotFound, RateLimited
from meetings.core.tx import commit
from meetings.extensions import db
from tests.fixtures.factories import audit_trail, row_counts

IP = "10.0.0.7"


def last_system_entry():
    return audit_trail(None)[-1]


# --- create_user -------------------------------------------------------------------------------------------

def test_create_user_stores_the_user_and_audits(world):
    user = create_user(UserCreate(username="nguyen.van.a", full_name="Nguyễn Văn A", title="Đại biểu",
                                  email="a@example.vn"), actor=world.admin)
    commit()
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert (stored.username, stored.full_name, stored.title, stored.email, stored.is_admin, stored.active) == (
        "nguyen.van.a", "Nguyễn Văn A", "Đại biểu", "a@example.vn", False, True)
    assert stored.password_hash is None  # no password given: the account cannot log in yet
    entry = last_system_entry()
    assert (entry.action, entry.actor_id, entry.meeting_id) == ("user.create", world.admin.id, None)
    assert entry.data == {"user_id": user.id, "username": "nguyen.van.a", "is_admin": False}


def test_create_user_hashes_the_password(app):
    user = create_user(UserCreate(username="hasher", full_name="Có mật khẩu", password="mật-khẩu-dài",
                                  is_admin=True), actor=None)
    commit()
    assert user.password_hash.startswith("$argon2id$")
    assert "mật-khẩu-dài" not in user.password_hash
    assert verify_password(user.password_hash, "mật-khẩu-dài")
    assert user.is_admin
    assert last_system_entry().actor_id is None  # the command line


def test_create_user_needs_an_admin(world):
    before = row_counts()
    with pytest.raises(Forbidden):
        create_user(UserCreate(username="sneaky", full_name="X"), actor=world.secretary)
    db.session.rollback()
    assert row_counts() == before


def test_create_user_refuses_a_taken_username_in_any_case(world):
    create_user(UserCreate(username="Tran.B", full_name="Trần B"), actor=world.admin)
    commit()
    with pytest.raises(Conflict):
        create_user(UserCreate(username="tran.b", full_name="Another"), actor=world.admin)


# --- update_user -------------------------------------------------------------------------------------------

def test_admin_updates_a_user(world):
    update_user(world.delegate, UserPatch(full_name="Đại biểu Mới", title="Trưởng ban", email="db@x.vn",
                                          is_admin=True, locale="en"), actor=world.admin)
    commit()
    db.session.expire_all()
    user = db.session.get(User, world.delegate.id)
    assert (user.full_name, user.title, user.email, user.is_admin, user.locale) == (
        "Đại biểu Mới", "Trưởng ban", "db@x.vn", True, "en")
    entry = last_system_entry()
    assert entry.action == "user.update" and entry.actor_id == world.admin.id
    assert entry.data == {"user_id": world.delegate.id,
                          "fields": ["email", "full_name", "is_admin", "locale", "title"]}


def test_a_user_may_edit_their_own_profile_but_not_their_rights(world):
    update_user(world.delegate, UserPatch(full_name="Tự sửa"), actor=world.delegate)
    commit()
    assert world.delegate.full_name == "Tự sửa"
    for patch in (UserPatch(is_admin=True), UserPatch(active=False), UserPatch(full_name="x", is_admin=True)):
        with pytest.raises(Forbidden):
            update_user(world.delegate, patch, actor=world.delegate)
    with pytest.raises(Forbidden):
        update_user(world.delegate2, UserPatch(full_name="Not mine"), actor=world.delegate)
    db.session.rollback()
    assert db.session.get(User, world.delegate2.id).full_name == "Đại biểu B"


def test_deactivating_a_user_revokes_tokens_and_page_sessions(world):
    token, _row = issue_token(world.delegate)
    commit()
    assert user_for_token(token).id == world.delegate.id
    epoch = world.delegate.session_epoch
    update_user(world.delegate, UserPatch(active=False), actor=world.admin)
    commit()
    db.session.expire_all()
    user = db.session.get(User, world.delegate.id)
    assert user.active is False
    assert user.session_epoch == epoch + 1
    rows = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)).scalars().all()
    assert rows and all(r.revoked_at is not None for r in rows)
    assert user_for_token(token) is None
    assert last_system_entry().data == {"user_id": user.id, "fields": ["active"]}


def test_reactivation_does_not_revive_old_tokens(world):
    token, _row = issue_token(world.delegate)
    update_user(world.delegate, UserPatch(active=False), actor=world.admin)
    update_user(world.delegate, UserPatch(active=True), actor=world.admin)
    commit()
    assert world.delegate.active is True
    assert user_for_token(token) is None


def test_admin_cannot_lock_themselves_out(world):
    with pytest.raises(Conflict):
        update_user(world.admin, UserPatch(active=False), actor=world.admin)
    with pytest.raises(Conflict):
        update_user(world.admin, UserPatch(is_admin=False), actor=world.admin)
    db.session.rollback()
    assert world.admin.active and world.admin.is_admin


def test_changing_the_password_revokes_tokens(world):
    token, _row = issue_token(world.delegate)
    update_user(world.delegate, UserPatch(password="mật khẩu mới 2026"), actor=world.delegate)
    commit()
    assert verify_password(world.delegate.password_hash, "mật khẩu mới 2026")
    assert user_for_token(token) is None


def test_get_user(world):
    assert get_user(world.delegate.id, actor=world.delegate) is world.delegate
    assert get_user(world.delegate.id, actor=world.admin) is world.delegate
    with pytest.raises(Forbidden):
        get_user(world.delegate2.id, actor=world.delegate)
    with pytest.raises(NotFound):
        get_user(999_999, actor=world.admin)


# --- authenticate, tokens ----------------------------------------------------------------------------------

@pytest.fixture
def member(make_user):
    return make_user("login.user", password="đúng-mật-khẩu")


def attempts() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(LoginAttempt)).scalar_one()


def test_authenticate_accepts_the_right_password_in_any_username_case(member):
    db.session.add(LoginAttempt(username="login.user", ip=IP))  # an earlier failure …
    commit()
    assert authenticate("LOGIN.User", "đúng-mật-khẩu", ip=IP) is member
    commit()
    assert attempts() == 0  # … is forgotten after a success


@pytest.mark.parametrize("username, password", [("login.user", "sai"), ("nobody", "đúng-mật-khẩu")])
def test_authenticate_records_failures(member, username, password):
    assert authenticate(username, password, ip=IP) is None
    commit()
    row = db.session.execute(sa.select(LoginAttempt)).scalar_one()
    assert (row.username, row.ip) == (username, IP)


def test_authenticate_refuses_a_deactivated_user(member, world):
    update_user(member, UserPatch(active=False), actor=world.admin)
    commit()
    assert authenticate("login.user", "đúng-mật-khẩu", ip=IP) is None


def test_authenticate_is_rate_limited_per_username_and_address(member):
    db.session.add_all([LoginAttempt(username="login.user", ip=IP) for _ in range(MAX_FAILURES_PER_USERNAME_AND_IP)])
    # An old failure outside the window does not count towards another user's limit.
    db.session.add(LoginAttempt(username="other", ip=IP, at=utcnow() - FAILURE_WINDOW - timedelta(minutes=1)))
    commit()
    with pytest.raises(RateLimited) as err:
        authenticate("login.user", "đúng-mật-khẩu", ip=IP)  # even the right password waits
    assert err.value.status == 429
    assert int(err.value.headers["Retry-After"]) == int(FAILURE_WINDOW.total_seconds())
    assert authenticate("other", "x", ip=IP) is None  # not limited
    # The same user from another address (their own tablet) is not locked out by failures from this one.
    assert authenticate("login.user", "đúng-mật-khẩu", ip="10.9.9.9") is not None


def test_authenticate_caps_a_spray_against_one_username_from_many_addresses(member):
    db.session.add_all([LoginAttempt(username="login.user", ip=f"10.0.{i // 250}.{i % 250}")
                        for i in range(MAX_FAILURES_PER_USERNAME)])
    commit()
    with pytest.raises(RateLimited):
        authenticate("login.user", "đúng-mật-khẩu", ip="10.9.9.9")


def test_issue_token_stores_only_a_digest_and_audits(member):
    token, row = issue_token(member)
    commit()
    assert row.token_hash == ApiToken.digest(token) and token not in row.token_hash
    assert len(token) >= 40
    assert timedelta(0) < row.expires_at - utcnow() <= TOKEN_LIFETIME
    entry = last_system_entry()
    assert (entry.action, entry.actor_id, entry.data) == ("auth.token_issued", member.id, {"token_id": row.id})
    assert user_for_token(token) is member
    assert user_for_token(token + "x") is None


def test_revoke_token_ends_it_and_audits(member):
    token, row = issue_token(member)
    other, _ = issue_token(member)
    commit()
    revoke_token(row)
    commit()
    assert row.revoked_at is not None
    assert user_for_token(token) is None
    assert user_for_token(other) is member  # only that token
    entry = last_system_entry()
    assert (entry.action, entry.actor_id, entry.data) == ("auth.token_revoked", member.id, {"token_id": row.id})


def test_expired_token_is_refused(member):
    token, row = issue_token(member)
    row.expires_at = utcnow() - timedelta(seconds=1)
    commit()
    assert user_for_token(token) is None
