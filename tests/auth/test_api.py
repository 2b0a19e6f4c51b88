"""Login, logout, tokens, page sessions and the users endpoints over REST."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from meetings.auth.models import ApiToken, LoginAttempt, User
from meetings.auth.operations import MAX_FAILURES_PER_USERNAME_AND_IP
from meetings.extensions import db
from tests.fixtures.factories import audit_trail, row_counts

PASSWORD = "mật-khẩu-thư-ký"


@pytest.fixture
def clerk(make_user):
    """A user who logs in with a password (the only kind of user here that pays for argon2)."""
    return make_user("thuky.api", full_name="Thư ký Đăng nhập", password=PASSWORD)


def login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(resp, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.mimetype == "application/problem+json"
    assert resp.json["status"] == status and resp.json["title"] and resp.json["detail"].strip()


def test_login_returns_a_working_token(client, clerk):
    resp = login(client, "thuky.api", PASSWORD)
    assert resp.status_code == 200
    body = resp.json
    assert body["user"]["id"] == clerk.id and body["user"]["username"] == "thuky.api"
    assert "password_hash" not in body["user"]
    assert body["expires_at"].endswith("+07:00")
    row = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == clerk.id)).scalar_one()
    assert row.token_hash == ApiToken.digest(body["token"])
    me = client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.json["full_name"] == "Thư ký Đăng nhập"


@pytest.mark.parametrize("username, password", [("thuky.api", "wrong-password"), ("no.such.user", PASSWORD)])
def test_login_with_wrong_credentials_is_401_and_issues_nothing(client, clerk, username, password):
    resp = login(client, username, password)
    assert_problem(resp, 401)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one() == 0
    assert db.session.execute(sa.select(LoginAttempt.username)).scalars().all() == [username]


def test_repeated_failures_are_rate_limited_with_retry_after(client, clerk):
    for _ in range(MAX_FAILURES_PER_USERNAME_AND_IP):
        assert login(client, "thuky.api", "wrong-password").status_code == 401
    resp = login(client, "thuky.api", PASSWORD)  # even the right password now waits
    assert_problem(resp, 429)
    assert int(resp.headers["Retry-After"]) > 0
    assert login(client, "THUKY.API", "wrong-password").status_code == 429  # usernames are case-insensitive
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one() == 0


def test_logout_revokes_the_token(client, clerk):
    token = login(client, "thuky.api", PASSWORD).json["token"]
    other = login(client, "thuky.api", PASSWORD).json["token"]
    resp = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert resp.status_code == 204
    assert_problem(client.get("/api/v1/auth/me", headers=bearer(token)), 401)
    assert client.get("/api/v1/auth/me", headers=bearer(other)).status_code == 200  # only that token
    assert audit_trail(None)[-1].action == "auth.token_revoked"


def test_calls_without_a_valid_token_are_401(client):
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nonsense"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer a b c"},
                    {"Authorization": "Bearer " + "x" * 5000}):
        assert_problem(client.get("/api/v1/meetings", headers=headers), 401)
        assert_problem(client.post("/api/v1/meetings", json={"body_id": 1, "title": "x"}, headers=headers), 401)


def test_deactivation_voids_tokens_and_page_sessions(client, world, token_for):
    headers = token_for(world.delegate)
    with client.session_transaction() as sess:  # a browser logged in to the pages
        sess["uid"] = world.delegate.id
        sess["epoch"] = world.delegate.session_epoch
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/api/v1/auth/me").json["id"] == world.delegate.id  # by the session cookie

    resp = client.patch(f"/api/v1/users/{world.delegate.id}", json={"active": False},
                        headers=token_for(world.admin))
    assert resp.status_code == 200 and resp.json["active"] is False

    assert_problem(client.get("/api/v1/auth/me", headers=headers), 401)
    assert_problem(client.get("/api/v1/auth/me"), 401)
    with client.session_transaction() as sess:
        assert "uid" not in sess  # the stale session was cleared
    db.session.expire_all()
    assert db.session.get(User, world.delegate.id).active is False


def test_page_session_of_an_older_epoch_is_void(client, world):
    with client.session_transaction() as sess:
        sess["uid"] = world.delegate.id
        sess["epoch"] = world.delegate.session_epoch - 1
    assert_problem(client.get("/api/v1/auth/me"), 401)


def test_cookie_authenticated_writes_need_the_csrf_header(client, world):
    with client.session_transaction() as sess:
        sess["uid"] = world.secretary.id
        sess["epoch"] = world.secretary.session_epoch
    before = row_counts()
    resp = client.post("/api/v1/meetings", json={"body_id": world.body.id, "title": "Qua cookie"})
    assert_problem(resp, 400)
    assert row_counts() == before


def test_users_list_is_for_admins(client, world, token_for):
    assert_problem(client.get("/api/v1/users", headers=token_for(world.secretary)), 403)
    resp = client.get("/api/v1/users", headers=token_for(world.admin))
    assert resp.status_code == 200
    assert resp.json["total"] == len(resp.json["items"]) == 8
    assert {u["id"] for u in resp.json["items"]} >= {world.secretary.id, world.admin.id}


def test_admin_creates_users_others_may_not(client, world, token_for):
    headers = token_for(world.secretary)
    before = row_counts()
    assert_problem(client.post("/api/v1/users", json={"username": "moi", "full_name": "Mới"}, headers=headers), 403)
    assert row_counts() == before
    resp = client.post("/api/v1/users", json={"username": "moi", "full_name": "Người mới", "title": "Chuyên viên"},
                       headers=token_for(world.admin))
    assert resp.status_code == 201
    user = db.session.get(User, resp.json["id"])
    assert (user.username, user.full_name, user.title) == ("moi", "Người mới", "Chuyên viên")
    assert_problem(client.post("/api/v1/users", json={"username": "MOI", "full_name": "Trùng"},
                               headers=token_for(world.admin)), 409)


def test_users_see_themselves_only(client, world, token_for):
    assert client.get(f"/api/v1/users/{world.delegate.id}", headers=token_for(world.delegate)).status_code == 200
    assert_problem(client.get(f"/api/v1/users/{world.delegate2.id}", headers=token_for(world.delegate)), 403)
    assert_problem(client.get("/api/v1/users/987654", headers=token_for(world.admin)), 404)


def test_user_edits_own_profile_but_cannot_promote_themselves(client, world, token_for):
    headers = token_for(world.delegate)
    resp = client.patch(f"/api/v1/users/{world.delegate.id}", json={"full_name": "Tên mới", "locale": "en"},
                        headers=headers)
    assert resp.status_code == 200 and resp.json["full_name"] == "Tên mới"
    assert_problem(client.patch(f"/api/v1/users/{world.delegate.id}", json={"is_admin": True}, headers=headers), 403)
    assert_problem(client.patch(f"/api/v1/users/{world.admin.id}", json={"active": False},
                                headers=token_for(world.admin)), 409)
    db.session.expire_all()
    assert db.session.get(User, world.delegate.id).is_admin is False


@pytest.mark.parametrize("behind_nginx, recorded", [(True, "203.0.113.7"), (False, "127.0.0.1")])
def test_the_rate_limit_sees_the_tablet_address_only_behind_nginx(app, clerk, behind_nginx, recorded):
    from meetings import create_app

    config = {k: app.config[k] for k in ("DATA_DIR", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")}
    proxied = create_app({**config, "TESTING": True, "BEHIND_NGINX": behind_nginx})
    resp = proxied.test_client().post("/api/v1/auth/login", json={"username": "thuky.api", "password": "sai"},
                                      headers={"X-Forwarded-For": "203.0.113.7"},
                                      environ_base={"REMOTE_ADDR": "127.0.0.1"})
    with proxied.app_context():
        db.engine.dispose()  # its own pool: close it now, not in the garbage collector
    assert resp.status_code == 401
    db.session.rollback()
    assert db.session.execute(sa.select(LoginAttempt.ip)).scalars().all() == [recorded]
