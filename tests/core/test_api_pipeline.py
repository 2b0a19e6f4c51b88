"""The REST pipeline (meetings.core.api): one transaction per request, committed only on success."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from meetings.bodies.models import Body
from meetings.bodies.operations import create_body
from meetings.bodies.schemas import BodyCreate
from meetings.core.api import ApiBlueprint
from meetings.core.errors import Conflict
from meetings.core.tx import add_after_commit_hook, on_commit
from meetings.core import tx
from meetings.extensions import csrf, db


def body_count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Body)).scalar_one()


@pytest.fixture
def probe_client(app):
    """The app with a few probe endpoints that write and then succeed or fail in different ways."""
    bp = ApiBlueprint("probe_api", __name__)

    @bp.endpoint("/probe/write", "POST", summary="write", body=BodyCreate, status=201, auth=False)
    def write(*, body: BodyCreate):
        create_body(body, actor=None)
        on_commit("probe-effect")
        return {"ok": True}

    @bp.endpoint("/probe/write-then-refuse", "POST", summary="refuse", body=BodyCreate, auth=False)
    def write_then_refuse(*, body: BodyCreate):
        create_body(body, actor=None)  # flushed …
        on_commit("never")
        raise Conflict("refused after writing")  # … and then refused

    @bp.endpoint("/probe/write-then-crash", "POST", summary="crash", body=BodyCreate, auth=False)
    def write_then_crash(*, body: BodyCreate):
        create_body(body, actor=None)
        raise RuntimeError("a bug")

    @bp.endpoint("/probe/nothing", "POST", summary="nothing", auth=False)
    def nothing():
        return None

    csrf.exempt(bp)  # as create_app does for the real API blueprints
    app.register_blueprint(bp, url_prefix="/api/v1")
    return app.test_client()


@pytest.fixture
def effects():
    seen: list = []
    hook = seen.extend
    add_after_commit_hook(hook)
    yield seen
    tx._after_commit_hooks.remove(hook)


def test_successful_write_is_committed_and_its_effects_leave_after_commit(probe_client, effects):
    resp = probe_client.post("/api/v1/probe/write", json={"name": "Ban Pháp chế"})
    assert resp.status_code == 201 and resp.json == {"ok": True}
    db.session.rollback()  # whatever the request did must have been committed, not merely flushed
    assert db.session.execute(sa.select(Body.name)).scalars().all() == ["Ban Pháp chế"]
    assert "probe-effect" in effects


@pytest.mark.parametrize("path, status", [("/api/v1/probe/write-then-refuse", 409),
                                          ("/api/v1/probe/write-then-crash", 500)])
def test_a_refused_request_writes_nothing_even_if_it_had_flushed(probe_client, effects, path, status):
    resp = probe_client.post(path, json={"name": "Ban Văn hóa"})
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    assert resp.json["status"] == status and resp.json["detail"]
    # A later successful request in the same app context must not commit the refused request's rows.
    assert probe_client.post("/api/v1/probe/write", json={"name": "Ban Kinh tế"}).status_code == 201
    db.session.rollback()
    assert db.session.execute(sa.select(Body.name)).scalars().all() == ["Ban Kinh tế"]
    assert "never" not in effects


def test_none_result_is_204(probe_client):
    resp = probe_client.post("/api/v1/probe/nothing")
    assert resp.status_code == 204 and resp.data == b""


def test_unknown_api_path_and_wrong_method_are_problem_json(client):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json" and resp.json["detail"]
    resp = client.delete("/api/v1/meetings")
    assert resp.status_code == 405 and resp.mimetype == "application/problem+json"


def test_validation_and_http_errors_are_explained_in_vietnamese(client, world, token_for):
    meeting = world.meeting("draft")
    headers = token_for(world.secretary)
    resp = client.post(f"/api/v1/meetings/{meeting.id}/agenda", json={"title": ""}, headers=headers)
    assert resp.status_code == 400
    assert resp.json["detail"] == "Dữ liệu không hợp lệ ở trường “title”: không được để trống"
    assert resp.json["errors"] == [{"field": "title", "message": "không được để trống", "type": "string_too_short"}]
    resp = client.patch(f"/api/v1/meetings/{meeting.id}", json={"starts_at": "2026-12-01T08:00:00"},
                        headers=headers)
    assert resp.status_code == 400 and "múi giờ" in resp.json["detail"]
    resp = client.get("/api/v1/no-such-thing", headers=headers)
    assert resp.status_code == 404 and resp.json["title"] == "Không tìm thấy"
    resp = client.delete("/api/v1/meetings", headers=headers)
    assert resp.status_code == 405 and resp.json["detail"] == "Địa chỉ này không chấp nhận phương thức DELETE."
