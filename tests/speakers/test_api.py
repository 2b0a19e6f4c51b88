"""The speakers' queue over REST: the contract, permissions, duplicates, bad input, events and audit."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from meetings.extensions import db
from meetings.speakers import operations as ops
from meetings.speakers.models import SpeakerRequest
from tests.fixtures.factories import assert_events_gap_free, audit_actions, event_log, row_counts
from tests.speakers.test_operations import REQUEST_KEYS, FakeClock

LOCAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00")


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ops, "utcnow", fake)
    return fake


@pytest.fixture
def hall(world, token_for):
    """A meeting in session and everyone's headers."""
    meeting = world.meeting("in_session", items=2)
    heads = {who: token_for(getattr(world, who)) for who in
             ("chair", "delegate", "delegate2", "secretary", "guest", "approver", "outsider")}
    return meeting, f"/api/v1/meetings/{meeting.id}/speakers", heads


def test_the_whole_round_trip(client, world, hall, clock):
    meeting, base, h = hall
    empty = client.get(base, headers=h["guest"])
    assert empty.status_code == 200
    assert empty.json == {"current": None, "queue": [], "history": [],
                          "limits": {"speech": 300, "question": 180, "point_of_order": 60}}

    a = client.post(base, headers=h["delegate"], json={"kind": "speech"})
    assert a.status_code == 201 and set(a.json) == REQUEST_KEYS
    assert (a.json["user_id"], a.json["full_name"], a.json["state"], a.json["position"], a.json["granted_at"],
            a.json["limit_seconds"], a.json["agenda_item_id"]) == (
        world.delegate.id, "Đại biểu A", "waiting", 1, None, 300, None)
    assert a.json["requested_at"] == "2026-12-01T08:00:00+07:00"
    b = client.post(base, headers=h["delegate2"], json={"kind": "question"}).json
    p = client.post(base, headers=h["chair"], json={"kind": "point_of_order", "agenda_item_id": None}).json
    assert p["position"] == 1  # a point of order goes first

    listed = client.get(base, headers=h["delegate"]).json
    assert [(r["id"], r["position"]) for r in listed["queue"]] == [(p["id"], 1), (a.json["id"], 2), (b["id"], 3)]

    resp = client.put(f"{base}/order", headers=h["chair"], json={"request_ids": [b["id"], a.json["id"], p["id"]]})
    assert resp.status_code == 200 and [r["id"] for r in resp.json["queue"]] == [b["id"], a.json["id"], p["id"]]

    resp = client.post(f"{base}/{b['id']}/grant", headers=h["chair"])
    assert resp.status_code == 200
    assert resp.json["current"]["id"] == b["id"] and resp.json["current"]["state"] == "speaking"
    assert resp.json["current"]["granted_at"] == "2026-12-01T08:00:00+07:00"
    assert [r["position"] for r in resp.json["queue"]] == [1, 2]
    clock.advance(95)
    resp = client.post(f"{base}/{a.json['id']}/grant", headers=h["chair"])  # b is finished first
    assert resp.json["current"]["id"] == a.json["id"]
    assert [(x["id"], x["duration_seconds"], x["finished_at"]) for x in resp.json["history"]] == [
        (b["id"], 95, "2026-12-01T08:01:35+07:00")]
    clock.advance(20)
    resp = client.post(f"{base}/{a.json['id']}/finish", headers=h["chair"])
    assert resp.status_code == 200 and resp.json["current"] is None
    assert [(x["id"], x["duration_seconds"]) for x in resp.json["history"]] == [(b["id"], 95), (a.json["id"], 20)]
    assert client.delete(f"{base}/{p['id']}", headers=h["chair"]).status_code == 204
    assert client.get(base, headers=h["guest"]).json["queue"] == []

    assert audit_actions(meeting.id)[-9:] == [
        "speaker.request", "speaker.request", "speaker.request", "speaker.reorder", "speaker.grant",
        "speaker.finish", "speaker.grant", "speaker.finish", "speaker.withdraw"]


def test_each_change_emits_one_event_that_matches_the_queue(client, hall):
    meeting, base, h = hall
    start = meeting.last_seq
    a = client.post(base, headers=h["delegate"], json={"kind": "speech"}).json
    client.post(base, headers=h["delegate2"], json={"kind": "speech"})
    client.post(f"{base}/{a['id']}/grant", headers=h["chair"])
    db.session.expire_all()
    events = [e for e in assert_events_gap_free(meeting.id) if e.seq > start]
    assert [(e.seq, e.type) for e in events] == [(start + 1, "speakers.updated"), (start + 2, "speakers.updated"),
                                                  (start + 3, "speakers.updated")]
    now = client.get(base, headers=h["guest"]).json
    assert events[-1].payload == {"current": now["current"], "queue": now["queue"]}
    for e in events:
        for r in e.payload["queue"] + [e.payload["current"] or {"requested_at": "2026-01-01T00:00:00+07:00"}]:
            assert LOCAL.fullmatch(r["requested_at"])
    # what a tablet catching up receives: the same payload, with meeting_id, seq and type
    caught = client.get(f"/api/v1/meetings/{meeting.id}/events?after={start}", headers=h["delegate"]).json
    assert [(e["type"], e["seq"]) for e in caught["events"]] == [("speakers.updated", e.seq) for e in events]
    assert caught["events"][-1]["current"] == now["current"] and caught["events"][-1]["queue"] == now["queue"]


def test_a_second_identical_request_is_200_with_the_same_request_and_no_new_row(client, hall):
    meeting, base, h = hall
    first = client.post(base, headers=h["delegate"], json={"kind": "question"})
    seq = event_log(meeting.id)[-1].seq
    again = client.post(base, headers=h["delegate"], json={"kind": "question"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert event_log(meeting.id)[-1].seq == seq
    rows = db.session.execute(sa.select(sa.func.count()).select_from(SpeakerRequest)).scalar_one()
    assert rows == 1
    item = client.get(f"/api/v1/meetings/{meeting.id}/agenda", headers=h["delegate"]).json["items"][0]["id"]
    other_item = client.post(base, headers=h["delegate"], json={"kind": "question", "agenda_item_id": item})
    assert other_item.status_code == 409 and other_item.mimetype == "application/problem+json"
    assert other_item.json["request_id"] == first.json["id"] and other_item.json["detail"]


def test_speaker_queue_permissions(client, world, hall):
    meeting, base, h = hall
    a = client.post(base, headers=h["delegate"], json={"kind": "speech"}).json
    b = client.post(base, headers=h["delegate2"], json={"kind": "speech"}).json
    for who in ("guest", "secretary", "approver"):
        assert client.post(base, headers=h[who], json={"kind": "speech"}).status_code == 403, who
    assert client.post(base, headers=h["outsider"], json={"kind": "speech"}).status_code == 404
    for who in ("delegate", "delegate2", "secretary", "guest", "approver"):
        before = row_counts()
        for path, kw in ((f"{base}/{a['id']}/grant", {}), (f"{base}/{a['id']}/finish", {})):
            resp = client.post(path, headers=h[who], **kw)
            assert resp.status_code == 403 and resp.mimetype == "application/problem+json", (who, path)
        resp = client.put(f"{base}/order", headers=h[who], json={"request_ids": [b["id"], a["id"]]})
        assert resp.status_code == 403, who
        assert row_counts() == before
    assert client.post(f"{base}/{a['id']}/grant", headers=h["outsider"]).status_code == 404
    # withdrawing someone else's request: the requester, the chair or the secretary only
    assert client.delete(f"{base}/{a['id']}", headers=h["delegate2"]).status_code == 403
    assert client.delete(f"{base}/{a['id']}", headers=h["guest"]).status_code == 403
    assert client.delete(f"{base}/{a['id']}", headers=h["delegate"]).status_code == 204
    assert client.delete(f"{base}/{b['id']}", headers=h["secretary"]).status_code == 204
    assert client.get(base, headers=h["outsider"]).status_code == 404


def test_withdraw_own_on_the_collection(client, hall):
    meeting, base, h = hall
    client.post(base, headers=h["delegate"], json={"kind": "speech"})
    client.post(base, headers=h["delegate"], json={"kind": "question"})
    other = client.post(base, headers=h["delegate2"], json={"kind": "speech"}).json
    assert client.delete(f"{base}?kind=question", headers=h["delegate"]).status_code == 204
    assert [r["kind"] for r in client.get(base, headers=h["delegate"]).json["queue"]] == ["speech", "speech"]
    assert client.delete(base, headers=h["delegate"]).status_code == 204
    assert [r["id"] for r in client.get(base, headers=h["delegate"]).json["queue"]] == [other["id"]]
    seq = event_log(meeting.id)[-1].seq
    assert client.delete(base, headers=h["delegate"]).status_code == 204  # nothing waiting: no change
    assert event_log(meeting.id)[-1].seq == seq
    assert client.delete(base, headers=h["guest"]).status_code == 403
    assert client.delete(f"{base}?kind=speak", headers=h["delegate"]).status_code == 400


def test_another_meetings_ids_are_not_found(client, world, hall):
    meeting, base, h = hall
    other = world.meeting("in_session")
    other_base = f"/api/v1/meetings/{other.id}/speakers"
    foreign = client.post(other_base, headers=h["delegate"], json={"kind": "speech"}).json
    for method, path in (("post", f"{base}/{foreign['id']}/grant"), ("post", f"{base}/{foreign['id']}/finish"),
                         ("delete", f"{base}/{foreign['id']}"), ("post", f"{base}/987654/grant"),
                         ("post", "/api/v1/meetings/987654/speakers/1/grant"),
                         ("get", "/api/v1/meetings/987654/speakers")):
        resp = getattr(client, method)(path, headers=h["chair"])
        assert resp.status_code == 404 and resp.mimetype == "application/problem+json", (method, path)
    resp = client.put(f"{base}/order", headers=h["chair"], json={"request_ids": [foreign["id"]]})
    assert resp.status_code == 422
    item = client.get(f"/api/v1/meetings/{other.id}/agenda", headers=h["delegate"]).json["items"][0]["id"]
    resp = client.post(base, headers=h["delegate"], json={"kind": "speech", "agenda_item_id": item})
    assert resp.status_code == 422 and resp.json["detail"]


@pytest.mark.parametrize("body, status", [
    ({}, 400), ({"kind": "speak"}, 400), ({"kind": 1}, 400), ({"kind": "speech", "extra": 1}, 400),
    ({"kind": "speech", "agenda_item_id": "1"}, 400), ({"kind": "speech", "agenda_item_id": 0}, 400),
    ({"kind": "speech", "agenda_item_id": 2**40}, 400), ([], 400), ("speech", 400),
])
def test_bad_request_bodies_are_readable_and_write_nothing(client, hall, body, status):
    meeting, base, h = hall
    before = row_counts()
    resp = client.post(base, headers=h["delegate"], json=body)
    assert resp.status_code == status and resp.mimetype == "application/problem+json"
    assert resp.json["detail"] and resp.json["status"] == status
    assert row_counts() == before


def test_other_bad_input(client, hall):
    meeting, base, h = hall
    a = client.post(base, headers=h["delegate"], json={"kind": "speech"}).json
    not_json = client.post(base, headers={**h["delegate"], "Content-Type": "text/plain"}, data="kind=speech")
    assert not_json.status_code == 415
    broken = client.post(base, headers={**h["delegate"], "Content-Type": "application/json"}, data="{kind")
    assert broken.status_code == 400
    for body in ({"request_ids": "1"}, {"request_ids": [0]}, {"request_ids": [a["id"]], "x": 1}, {}):
        assert client.put(f"{base}/order", headers=h["chair"], json=body).status_code == 400, body
    for body in ({"request_ids": []}, {"request_ids": [a["id"], a["id"]]}):
        resp = client.put(f"{base}/order", headers=h["chair"], json=body)
        assert resp.status_code == 422 and resp.json["detail"], body
    assert client.post(f"{base}/abc/grant", headers=h["chair"]).status_code == 404
    assert client.post(f"{base}/{a['id']}/finish", headers=h["chair"]).status_code == 409  # not speaking
    assert client.post(f"{base}/{a['id']}/grant", headers=h["chair"]).status_code == 200
    assert client.post(f"{base}/{a['id']}/grant", headers=h["chair"]).status_code == 409
    assert client.delete(f"{base}/{a['id']}", headers=h["delegate"]).status_code == 409  # had the floor


def test_state_rules(client, world, token_for):
    meeting = world.meeting("published")
    base = f"/api/v1/meetings/{meeting.id}/speakers"
    delegate, chair = token_for(world.delegate), token_for(world.chair)
    resp = client.post(base, headers=delegate, json={"kind": "speech"})
    assert resp.status_code == 409 and resp.json["state"] == "published"
    assert client.get(base, headers=delegate).status_code == 200
    world.advance(meeting, "in_session")
    a = client.post(base, headers=delegate, json={"kind": "speech"}).json
    world.advance(meeting, "paused")
    assert client.post(base, headers=token_for(world.delegate2), json={"kind": "speech"}).status_code == 201
    assert client.post(f"{base}/{a['id']}/grant", headers=chair).status_code == 409
    world.advance(meeting, "in_session")
    assert client.post(f"{base}/{a['id']}/grant", headers=chair).status_code == 200


def test_the_openapi_document_describes_the_speakers_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    base = "/api/v1/meetings/{meeting_id}/speakers"
    assert set(paths[base]) == {"get", "post", "delete"}
    assert "DELETE /speakers/{request_id}" in paths[base]["delete"]["summary"]
    assert set(paths[base + "/{request_id}"]) == {"delete"}
    assert set(paths[base + "/order"]) == {"put"}
    assert set(paths[base + "/{request_id}/grant"]) == set(paths[base + "/{request_id}/finish"]) == {"post"}
