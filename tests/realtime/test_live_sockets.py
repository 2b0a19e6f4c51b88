"""Real clients over a real WebSocket against the real gevent server (demo data on SQLite).

One server serves the module; a test that removes, deactivates or logs out someone uses a person no other
test relies on (daibieu3, daibieu4).
"""
from __future__ import annotations

import pytest
import socketio

from tests.realtime.clients import Tablet, api, login


@pytest.fixture(scope="module")
def tokens(shared_demo_server):
    return {u: login(shared_demo_server.url, u)
            for u in ("thuky", "chutoa", "daibieu1", "daibieu2", "daibieu3", "daibieu4", "admin")}


@pytest.fixture
def live(shared_demo_server, tokens):
    tablets: list[Tablet] = []

    class Live:
        base = shared_demo_server.url

        def tablet(self, username: str, token: str | None = None) -> Tablet:
            tablet = Tablet(self.base, token or tokens[username])
            tablets.append(tablet)
            return tablet

        def call(self, method: str, path: str, username: str = "thuky", json=None):
            resp = api(self.base, method, path, tokens[username], json)
            assert resp.status_code < 300, resp.text
            return resp

    yield Live()
    for tablet in tablets:
        tablet.close()


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": "not-a-token"}, {"token": 42},
                                  {"token": "pt.forged-ticket"}])
def test_connections_without_a_valid_token_are_refused(live, auth):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live.base, auth=auth, transports=["websocket"], wait_timeout=5)
    assert not client.connected


def test_a_foreign_origin_is_refused(live, tokens):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live.base, auth={"token": tokens["daibieu1"]}, headers={"Origin": "http://evil.example"},
                       transports=["websocket"], wait_timeout=5)


def test_join_acks_the_seq_and_changes_arrive_in_order_after_commit(live):
    tablet = live.tablet("daibieu1")
    ack = tablet.call("join", {"meeting_id": 1, "last_seq": 0})  # a fresh tablet gets the state …
    seq = ack["seq"]
    assert ack["snapshot"]["meeting"]["state"] == "published" and "events" not in ack
    ack = tablet.call("join", {"meeting_id": 1, "last_seq": 1})  # … one that was away gets what it missed
    assert [e["seq"] for e in ack["events"]] == list(range(2, seq + 1))
    for title in ("Khai mạc", "Báo cáo", "Bế mạc"):
        live.call("PATCH", "/api/v1/meetings/1/agenda/1", json={"title": title})
    got = tablet.wait_for(lambda r: len(r) >= 3)
    assert [(e, d["seq"], d["meeting_id"]) for e, d in got] == [("agenda.updated", seq + i, 1) for i in (1, 2, 3)]
    assert got[-1][1]["items"][0]["title"] == "Bế mạc"


def test_bad_payloads_get_an_error_ack_not_a_crash(live):
    tablet = live.tablet("daibieu1")
    for payload in (None, "1", [1], {"meeting_id": "1"}, {"meeting_id": 0}, {"meeting_id": 2**40},
                    {"meeting_id": 1, "last_seq": -1}, {"meeting_id": 1, "room": "meeting:2"}):
        ack = tablet.call("join", payload)
        assert ack["error"]["status"] == 400, (payload, ack)
    assert tablet.call("join", {"meeting_id": 1})["seq"] >= 1  # still connected and working


def test_a_delegate_of_one_meeting_receives_nothing_of_another(live):
    tablet = live.tablet("daibieu1")  # a participant of the published meeting 1 only
    assert tablet.call("join", {"meeting_id": 2})["error"]["status"] == 404  # the draft is invisible to them
    assert tablet.call("join", {"meeting_id": 1})["seq"] >= 1
    live.call("POST", "/api/v1/meetings/2/agenda", json={"title": "Nội dung mật"})
    live.call("PATCH", "/api/v1/meetings/1/agenda/1", json={"title": "Khai mạc"})
    got = tablet.wait_for(lambda r: any(d["meeting_id"] == 1 for _e, d in r))
    assert all(d["meeting_id"] == 1 for _e, d in got)
    assert "Nội dung mật" not in repr(tablet.received)


def test_resync_after_a_forced_disconnect_is_gap_free(live):
    tablet = live.tablet("daibieu1")
    seen = tablet.call("join", {"meeting_id": 1})["seq"]
    tablet.client.eio.disconnect(abort=True)  # the Wi-Fi drops
    tablet.disconnected.wait(5)
    for i in range(4):
        live.call("POST", "/api/v1/meetings/1/agenda", json={"title": f"Bổ sung {i}"})
    back = live.tablet("daibieu1")
    ack = back.call("join", {"meeting_id": 1, "last_seq": seen})
    assert [e["seq"] for e in ack["events"]] == [seen + 1, seen + 2, seen + 3, seen + 4]
    assert ack["seq"] == seen + 4
    assert ack["events"][-1]["items"][-1]["title"] == "Bổ sung 3"


def test_a_removed_participant_leaves_the_room_within_a_second(live):
    tablet = live.tablet("daibieu3")
    tablet.call("join", {"meeting_id": 1})
    participants = live.call("GET", "/api/v1/meetings/1/participants").json()["items"]
    pid = next(p["id"] for p in participants if p["username"] == "daibieu3")
    live.call("DELETE", f"/api/v1/meetings/1/participants/{pid}")
    tablet.wait_for(lambda r: ("meeting.left", {"meeting_id": 1}) in r, timeout=1.5)
    live.call("PATCH", "/api/v1/meetings/1/agenda/1", json={"title": "Sau khi rời phòng"})
    other = live.tablet("daibieu1")
    other.call("join", {"meeting_id": 1, "last_seq": 10**6})  # snapshot: proves the change was committed
    assert not any(e == "agenda.updated" for e, _d in tablet.events())


def test_a_deactivated_user_is_disconnected_within_a_second(live):
    tablet = live.tablet("daibieu4")
    tablet.call("join", {"meeting_id": 1})
    users = live.call("GET", "/api/v1/users", "admin").json()["items"]
    uid = next(u["id"] for u in users if u["username"] == "daibieu4")
    live.call("PATCH", f"/api/v1/users/{uid}", "admin", json={"active": False})
    assert tablet.disconnected.wait(1.5)


def test_a_revoked_token_ends_its_sockets(live):
    token = login(live.base, "daibieu1")  # a second tablet of the same delegate
    tablet, other = live.tablet("daibieu1", token), live.tablet("daibieu1")
    assert api(live.base, "POST", "/api/v1/auth/logout", token).status_code == 204
    assert tablet.disconnected.wait(1.5)
    assert other.client.connected and other.call("join", {"meeting_id": 1})["seq"] >= 1
