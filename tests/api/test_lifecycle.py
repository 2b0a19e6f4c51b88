"""A meeting's whole life through REST, as the secretary's, approver's and chair's clients drive it."""
from __future__ import annotations

import io

import sqlalchemy as sa

from meetings.auth.operations import update_user
from meetings.auth.schemas import UserPatch
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import Meeting, MeetingTransition
from tests.fixtures.factories import SIGNING_PASSPHRASE, assert_events_gap_free, audit_actions, signing_p12

PASSWORD = "thư-ký-2026"


def test_meeting_lifecycle_end_to_end(client, world, token_for):
    # The secretary logs in with a password; the others use tokens (logging in is tested in tests/auth).
    update_user(world.secretary, UserPatch(password=PASSWORD), actor=world.secretary)
    commit()
    resp = client.post("/api/v1/auth/login", json={"username": world.secretary.username, "password": PASSWORD})
    assert resp.status_code == 200, resp.json
    sec = {"Authorization": f"Bearer {resp.json['token']}"}
    approver, chair, delegate = token_for(world.approver), token_for(world.chair), token_for(world.delegate)

    # --- preparation
    resp = client.post("/api/v1/meetings", headers=sec, json={
        "body_id": world.body.id, "title": "Kỳ họp thứ Bảy", "number": "07", "place": "Hội trường tỉnh",
        "starts_at": "2026-12-15T08:00:00+07:00", "ends_at": "2026-12-15T11:30:00+07:00"})
    assert resp.status_code == 201, resp.json
    meeting = resp.json
    mid = meeting["id"]
    assert (meeting["state"], meeting["starts_at"], meeting["my_roles"], meeting["available_actions"]) == (
        "draft", "2026-12-15T08:00:00+07:00", ["secretary"], ["submit"])
    assert meeting["transitions"] == []

    item_ids = []
    for title in ("Khai mạc", "Báo cáo kinh tế – xã hội", "Bế mạc"):
        resp = client.post(f"/api/v1/meetings/{mid}/agenda", headers=sec, json={"title": title})
        assert resp.status_code == 201, resp.json
        item_ids.append(resp.json["id"])
    resp = client.post(f"/api/v1/meetings/{mid}/agenda", headers=sec,
                       json={"title": "Thẩm tra", "parent_id": item_ids[1], "planned_minutes": 20})
    assert resp.status_code == 201 and resp.json["number"] == "2.1"
    agenda = client.get(f"/api/v1/meetings/{mid}/agenda", headers=sec).json
    assert [(i["number"], i["title"]) for i in agenda["items"]] == [
        ("1", "Khai mạc"), ("2", "Báo cáo kinh tế – xã hội"), ("3", "Bế mạc")]
    assert agenda["total"] == 4 and agenda["items"][1]["children"][0]["title"] == "Thẩm tra"

    for user, role in ((world.chair, "chair"), (world.delegate, "delegate"), (world.delegate2, "delegate"),
                       (world.guest, "guest")):
        resp = client.post(f"/api/v1/meetings/{mid}/participants", headers=sec,
                           json={"user_id": user.id, "role": role, "vote_weight": "1.5" if role == "delegate" else 1})
        assert resp.status_code == 201, resp.json
        assert resp.json["can_vote"] is (role != "guest")
    parts = client.get(f"/api/v1/meetings/{mid}/participants", headers=sec).json
    assert parts["total"] == 5  # with the secretary who created it
    assert {p["vote_weight"] for p in parts["items"] if p["role"] == "delegate"} == {"1.5"}
    resp = client.post(f"/api/v1/meetings/{mid}/sessions", headers=sec, json={"title": "Phiên sáng"})
    assert resp.status_code == 201
    session_id = resp.json["id"]

    def act(headers, action, comment=None, expect=200):
        body = {"action": action} | ({"comment": comment} if comment is not None else {})
        resp = client.post(f"/api/v1/meetings/{mid}/transitions", headers=headers, json=body)
        assert resp.status_code == expect, (action, resp.json)
        return resp.json

    # The delegate cannot see the meeting before it is published.
    assert client.get(f"/api/v1/meetings/{mid}", headers=delegate).status_code == 404
    assert client.get("/api/v1/meetings", headers=delegate).json == {"items": [], "total": 0}

    # --- review: submit, reject with a comment, resubmit, approve
    assert act(sec, "submit")["state"] == "submitted"
    assert client.post(f"/api/v1/meetings/{mid}/agenda", headers=sec, json={"title": "Muộn"}).status_code == 409
    assert act(approver, "reject", expect=422)["status"] == 422  # a comment is required
    rejected = act(approver, "reject", "Bổ sung báo cáo thẩm tra.")
    assert rejected["state"] == "draft"
    shown = client.get(f"/api/v1/meetings/{mid}", headers=sec).json
    last = shown["transitions"][-1]
    assert (last["action"], last["from_state"], last["to_state"], last["comment"], last["actor_id"],
            last["actor_name"]) == ("reject", "submitted", "draft", "Bổ sung báo cáo thẩm tra.", world.approver.id,
                                    "Lãnh đạo duyệt")
    assert last["at"].endswith("+07:00")
    resp = client.patch(f"/api/v1/meetings/{mid}", headers=sec, json={"description": "Đã bổ sung."})
    assert resp.status_code == 200 and resp.json["description"] == "Đã bổ sung."
    act(sec, "submit")
    assert act(approver, "approve", "Đồng ý.")["state"] == "approved"
    assert client.get(f"/api/v1/meetings/{mid}", headers=delegate).status_code == 404
    assert act(sec, "publish")["state"] == "published"

    # --- from published on, the delegate sees it, in the list too
    seen = client.get(f"/api/v1/meetings/{mid}", headers=delegate)
    assert seen.status_code == 200 and seen.json["my_roles"] == ["delegate"] and seen.json["available_actions"] == []
    listed = client.get("/api/v1/meetings", headers=delegate).json
    assert [m["id"] for m in listed["items"]] == [mid] and listed["total"] == 1
    assert client.get(f"/api/v1/meetings/{mid}/agenda", headers=delegate).json["total"] == 4
    act(delegate, "start", expect=403)

    # --- the chair runs it
    assert act(chair, "start")["state"] == "in_session"
    resp = client.post(f"/api/v1/meetings/{mid}/sessions/{session_id}/open", headers=chair)
    assert resp.status_code == 200 and resp.json["state"] == "open"
    resp = client.put(f"/api/v1/meetings/{mid}/agenda/current", headers=chair, json={"item_id": item_ids[1]})
    assert resp.status_code == 200 and resp.json["current_item_id"] == item_ids[1]
    assert act(chair, "pause")["state"] == "paused"
    assert act(chair, "resume")["state"] == "in_session"
    resp = client.post(f"/api/v1/meetings/{mid}/sessions/{session_id}/close", headers=chair)
    assert resp.status_code == 200 and resp.json["state"] == "closed" and resp.json["closed_at"]
    assert act(chair, "adjourn")["state"] == "adjourned"
    assert client.patch(f"/api/v1/meetings/{mid}", headers=sec, json={"title": "Sửa muộn"}).status_code == 409
    assert act(chair, "close")["state"] == "closed"

    # --- the minutes: finalized by the secretary, signed in order, then the meeting can be archived
    act(sec, "archive", expect=409)
    resp = client.post(f"/api/v1/meetings/{mid}/minutes/finalize", headers=sec)
    assert resp.status_code == 200 and resp.json["state"] == "finalized" and resp.json["next_step"] == "secretary"
    for headers, user in ((sec, world.secretary), (chair, world.chair)):
        resp = client.put("/api/v1/me/signing-credential", headers=headers, data={
            "file": (io.BytesIO(signing_p12(user)), "chu-ky.p12"), "passphrase": SIGNING_PASSPHRASE})
        assert resp.status_code == 200, resp.json
        resp = client.post(f"/api/v1/meetings/{mid}/minutes/sign", headers=headers,
                           json={"passphrase": SIGNING_PASSPHRASE})
        assert resp.status_code == 200, resp.json
    resp = client.post(f"/api/v1/meetings/{mid}/minutes/sign", headers=sec, json={"step": "seal"})
    assert resp.status_code == 200 and resp.json["state"] == "signed" and resp.json["can_archive"]
    archived = act(sec, "archive")
    assert archived["state"] == "archived" and archived["available_actions"] == []

    # --- what was stored
    db.session.expire_all()
    stored = db.session.get(Meeting, mid)
    assert stored.state == "archived" and stored.current_agenda_item_id == item_ids[1]
    history = db.session.execute(sa.select(MeetingTransition.action).where(MeetingTransition.meeting_id == mid)
                                 .order_by(MeetingTransition.id)).scalars().all()
    assert history == ["submit", "reject", "submit", "approve", "publish", "start", "pause", "resume", "adjourn",
                       "close", "archive"]
    actions = audit_actions(mid)
    assert actions[0] == "meeting.create" and actions[-1] == "meeting.archive"
    assert actions.count("agenda.add") == 4 and actions.count("participant.add") == 4
    events = assert_events_gap_free(mid)
    assert [e.payload["state"] for e in events if e.type == "meeting.state"][-1] == "archived"
    verify = client.get(f"/api/v1/audit/verify?meeting_id={mid}", headers=sec).json
    assert verify["ok"] is True and verify["length"] == len(actions)
    # Archived is read-only for everyone.
    assert client.post(f"/api/v1/meetings/{mid}/agenda", headers=sec, json={"title": "X"}).status_code == 409
    assert client.get(f"/api/v1/meetings/{mid}", headers=delegate).json["state"] == "archived"
