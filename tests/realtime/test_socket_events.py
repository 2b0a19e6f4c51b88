"""Socket events through Flask-SocketIO's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from meetings.auth.operations import update_user
from meetings.auth.schemas import UserPatch
from meetings.core.events import emit_event
from meetings.core.tx import commit
from meetings.meeting.operations import remove_participant
from meetings.realtime import sync
from meetings.realtime.server import sweep_once
from meetings.realtime.tickets import issue_ticket


@pytest.fixture
def sio(app):
    return app.extensions["socketio"]


@pytest.fixture
def connect(app, sio, token_for):
    clients = []

    def make(user=None, *, auth=None):
        if auth is None:
            auth = {"token": token_for(user)["Authorization"].split()[1]}
        client = sio.test_client(app, auth=auth)
        clients.append(client)
        return client

    yield make
    for client in clients:
        if client.is_connected():
            client.disconnect()


def received(client) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0]) for m in client.get_received()]


def test_join_of_a_published_meeting_and_an_invisible_one(world, connect):
    published, draft = world.meeting("published"), world.meeting("draft")
    tablet = connect(world.delegate)
    ack = tablet.emit("join", {"meeting_id": published.id, "last_seq": 1}, callback=True)
    assert ack["seq"] == published.last_seq and [e["seq"] for e in ack["events"]] == list(range(2, ack["seq"] + 1))
    assert tablet.emit("join", {"meeting_id": draft.id}, callback=True)["error"]["status"] == 404


def test_snapshot_when_too_far_behind(world, connect, monkeypatch):
    meeting = world.meeting("published", items=3)
    monkeypatch.setattr(sync, "MAX_MISSED", 2)
    ack = connect(world.delegate).emit("join", {"meeting_id": meeting.id, "last_seq": 1}, callback=True)
    assert "events" not in ack
    snap = ack["snapshot"]
    assert snap["meeting"]["state"] == "published"
    assert [i["title"] for i in snap["agenda"]["items"]] == ["Nội dung 1", "Nội dung 2", "Nội dung 3"]
    # a client claiming a future seq (a restored database, a bug) also gets the truth, not nothing
    monkeypatch.setattr(sync, "MAX_MISSED", 500)
    ack = connect(world.delegate).emit("join", {"meeting_id": meeting.id, "last_seq": meeting.last_seq + 5},
                                       callback=True)
    assert "snapshot" in ack


def test_confidential_events_reach_only_their_audience(world, connect):
    meeting = world.meeting("published")
    chair, delegate, guest = connect(world.chair), connect(world.delegate), connect(world.guest)
    for client in (chair, delegate, guest):
        client.emit("join", {"meeting_id": meeting.id}, callback=True)
        client.get_received()
    emit_event(meeting.id, "document.published", {"title": "Mật"}, audience={"user_ids": [world.delegate.id]})
    emit_event(meeting.id, "document.published", {"title": "Chủ tọa"}, audience={"roles": ["chair"]})
    emit_event(meeting.id, "agenda.current", {"item_id": None})
    commit()
    first = meeting.last_seq - 2
    # Every seq reaches every socket: the event if it is in the audience, else a bare "seq.skip". A socket in the
    # audience gets the event before the stub of the same seq, which its seq rule then ignores.
    assert [(e, d["seq"], d.get("title")) for e, d in received(delegate)] == [
        ("document.published", first, "Mật"), ("seq.skip", first, None), ("seq.skip", first + 1, None),
        ("agenda.current", first + 2, None)]
    assert [(e, d["seq"], d.get("title")) for e, d in received(chair)] == [
        ("seq.skip", first, None), ("document.published", first + 1, "Chủ tọa"), ("seq.skip", first + 1, None),
        ("agenda.current", first + 2, None)]
    assert [(e, d["seq"]) for e, d in received(guest)] == [
        ("seq.skip", first), ("seq.skip", first + 1), ("agenda.current", first + 2)]
    assert all(set(d) == {"meeting_id", "seq"} for e, d in received(guest) if e == "seq.skip")


def test_nothing_is_broadcast_before_commit_or_after_rollback(world, connect):
    from meetings.extensions import db

    meeting = world.meeting("published")
    tablet = connect(world.delegate)
    tablet.emit("join", {"meeting_id": meeting.id}, callback=True)
    emit_event(meeting.id, "agenda.current", {"item_id": None})
    assert received(tablet) == []
    db.session.rollback()
    commit()
    assert received(tablet) == []


def test_page_tickets_work_until_the_session_epoch_changes(app, world, connect):
    with app.test_request_context():
        ticket = issue_ticket(world.delegate)
    tablet = connect(auth={"token": ticket})
    assert tablet.is_connected()
    update_user(world.delegate, UserPatch(password="mật-khẩu-mới-1"), actor=world.delegate)  # bumps the epoch
    commit()
    assert not connect(auth={"token": ticket}).is_connected()
    sweep_once(app.extensions["socketio"])
    assert not tablet.is_connected()


@pytest.mark.parametrize("auth", [None, {}, {"token": None}, {"token": "x" * 600}, "token", {"token": "pt.abc"}])
def test_bad_auth_is_refused(connect, auth, world):
    assert not connect(auth=auth if auth is not None else {}).is_connected()


def test_the_sweeper_removes_participants_and_disconnects_the_deactivated(app, world, connect):
    meeting = world.meeting("published")
    delegate, delegate2 = connect(world.delegate), connect(world.delegate2)
    for client in (delegate, delegate2):
        client.emit("join", {"meeting_id": meeting.id}, callback=True)
    pid = next(p.id for p in meeting.participants if p.user_id == world.delegate.id)
    remove_participant(meeting.id, pid, actor=world.secretary)
    update_user(world.delegate2, UserPatch(active=False), actor=world.admin)
    commit()
    delegate.get_received()
    assert sweep_once(app.extensions["socketio"]) == {"disconnected": 1, "left": 1}
    assert ("meeting.left", {"meeting_id": meeting.id}) in received(delegate)
    assert not delegate2.is_connected() and delegate.is_connected()
    emit_event(meeting.id, "agenda.current", {"item_id": None})
    commit()
    assert received(delegate) == []  # out of the room


def test_events_re_check_the_caller(app, world, connect):
    meeting = world.meeting("published")
    tablet = connect(world.delegate)
    update_user(world.delegate, UserPatch(active=False), actor=world.admin)
    commit()
    ack = tablet.emit("join", {"meeting_id": meeting.id}, callback=True)
    assert ack["error"]["status"] == 401


def test_pages_get_a_socket_ticket_for_their_user(app, world, connect):
    from meetings.auth.current import log_in_session

    with app.test_request_context():
        log_in_session(world.delegate)
        ticket = app.jinja_env.globals["socket_ticket"]()
    assert ticket.startswith("pt.")
    assert connect(auth={"token": ticket}).is_connected()


def test_a_hall_display_follows_its_meeting_read_only(app, client, world, connect, token_for):
    meeting, other = world.meeting("published"), world.meeting("published")
    resp = client.post(f"/api/v1/meetings/{meeting.id}/displays", json={"label": "Máy chiếu hội trường"},
                       headers=token_for(world.secretary))
    assert resp.status_code == 201
    token, display_id = resp.json["token"], resp.json["id"]
    assert resp.json["url"].endswith(f"/display/{token}")
    assert client.get(f"/display/{token}").status_code == 200  # no login: the token is the key
    assert client.get("/display/dt.not-a-token").status_code == 404
    listed = client.get(f"/api/v1/meetings/{meeting.id}/displays", headers=token_for(world.secretary)).json
    assert [d["id"] for d in listed["items"]] == [display_id] and "token" not in listed["items"][0]
    for who in (world.delegate, world.chair):  # only the secretary manages displays
        assert client.post(f"/api/v1/meetings/{meeting.id}/displays", json={},
                           headers=token_for(who)).status_code == 403

    screen = connect(auth={"token": token})
    assert screen.is_connected()
    assert screen.emit("join", {"meeting_id": other.id}, callback=True)["error"]["status"] == 404
    ack = screen.emit("join", {"meeting_id": meeting.id}, callback=True)
    assert ack["snapshot"]["meeting"]["title"] == meeting.title
    screen.get_received()
    emit_event(meeting.id, "agenda.current", {"item_id": None})
    emit_event(meeting.id, "document.published", {"title": "Mật"}, audience={"roles": ["delegate"]})
    commit()
    assert [e for e, _d in received(screen)] == ["agenda.current", "seq.skip"]  # never a confidential event

    assert client.delete(f"/api/v1/meetings/{meeting.id}/displays/{display_id}",
                         headers=token_for(world.secretary)).status_code == 204
    assert client.get(f"/display/{token}").status_code == 404
    assert not connect(auth={"token": token}).is_connected()
    assert sweep_once(app.extensions["socketio"])["disconnected"] == 1
    assert not screen.is_connected()
