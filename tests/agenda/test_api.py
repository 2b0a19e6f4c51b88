"""The agenda over REST: the numbered tree, edits, deletion, reordering and the chair's current item."""
from __future__ import annotations

import sqlalchemy as sa

from meetings.agenda.models import AgendaItem
from meetings.extensions import db


def test_agenda_rest_round_trip(client, world, token_for):
    meeting = world.meeting("published", items=1)
    sec, chair, delegate = token_for(world.secretary), token_for(world.chair), token_for(world.delegate)
    base = f"/api/v1/meetings/{meeting.id}/agenda"
    [first] = client.get(base, headers=sec).json["items"]
    assert client.delete(f"{base}/{first['id']}", headers=sec).status_code == 204
    a = client.post(base, headers=sec, json={"title": "A", "presenter": "Chủ tọa", "planned_minutes": 5}).json
    b = client.post(base, headers=sec, json={"title": "B"}).json
    b1 = client.post(base, headers=sec, json={"title": "B1", "parent_id": b["id"]}).json
    assert (a["number"], b["number"], b1["number"], b1["parent_id"]) == ("1", "2", "2.1", b["id"])

    resp = client.patch(f"{base}/{a['id']}", headers=sec, json={"title": "A mới", "planned_minutes": None})
    assert resp.status_code == 200
    assert (resp.json["title"], resp.json["planned_minutes"], resp.json["presenter"]) == ("A mới", None, "Chủ tọa")

    resp = client.put(f"{base}/order", headers=sec,
                      json={"items": [{"id": b["id"]}, {"id": a["id"], "children": [{"id": b1["id"]}]}]})
    assert resp.status_code == 200
    assert [(i["number"], i["title"], [c["number"] for c in i["children"]]) for i in resp.json["items"]] == [
        ("1", "B", []), ("2", "A mới", ["2.1"])]
    assert client.put(f"{base}/order", headers=delegate, json={"items": []}).status_code == 403

    tree = client.get(base, headers=delegate).json
    assert tree["total"] == 3 and tree["current_item_id"] is None

    world.advance(meeting, "in_session")
    resp = client.put(f"{base}/current", headers=chair, json={"item_id": b1["id"]})
    assert resp.status_code == 200 and resp.json["current_item_id"] == b1["id"]
    assert client.put(f"{base}/current", headers=sec, json={"item_id": a["id"]}).status_code == 403
    assert client.delete(f"{base}/{a['id']}", headers=sec).status_code == 409  # b1, under discussion, is inside
    assert client.put(f"{base}/current", headers=chair, json={"item_id": None}).json["current_item_id"] is None

    resp = client.delete(f"{base}/{a['id']}", headers=sec)
    assert resp.status_code == 204 and resp.data == b""
    remaining = db.session.execute(sa.select(AgendaItem.title).where(AgendaItem.meeting_id == meeting.id)).scalars()
    assert list(remaining) == ["B"]
    assert client.delete(f"{base}/{a['id']}", headers=sec).status_code == 404


def test_participants_and_sessions_rest(client, world, token_for):
    meeting = world.meeting("draft")
    sec = token_for(world.secretary)
    base = f"/api/v1/meetings/{meeting.id}"
    guest = next(p for p in client.get(f"{base}/participants", headers=sec).json["items"] if p["role"] == "guest")
    assert guest["user_id"] == world.guest.id and guest["can_vote"] is False and guest["vote_weight"] == "1"
    assert client.delete(f"{base}/participants/{guest['id']}", headers=token_for(world.approver)).status_code == 403
    assert client.delete(f"{base}/participants/{guest['id']}", headers=sec).status_code == 204
    assert world.guest.id not in {p["user_id"] for p in client.get(f"{base}/participants", headers=sec).json["items"]}
    assert client.delete(f"{base}/participants/{guest['id']}", headers=sec).status_code == 404

    created = client.post(f"{base}/sessions", headers=sec, json={
        "title": "Ngày 1", "starts_at": "2026-12-01T01:00:00Z", "ends_at": "2026-12-01T04:00:00Z"}).json
    assert created["starts_at"] == "2026-12-01T08:00:00+07:00" and created["state"] == "planned"
    listed = client.get(f"{base}/sessions", headers=sec).json
    assert listed == {"items": [created], "total": 1}
    resp = client.post(f"{base}/sessions/{created['id']}/open", headers=token_for(world.chair))
    assert resp.status_code == 404  # the chair does not see a draft meeting at all
