"""Check-in and check-out over REST on SQLite and PostgreSQL: windows, methods, idempotency, statuses, quorum."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from meetings.attendance import operations as ops
from meetings.attendance.models import Attendance, RollCall
from meetings.core.events import MeetingEvent
from meetings.extensions import db
from meetings.meeting.models import MeetingSession
from tests.fixtures.factories import audit_actions, row_counts


def events(meeting_id: int, type_: str) -> list[MeetingEvent]:
    return list(db.session.execute(sa.select(MeetingEvent).where(
        MeetingEvent.meeting_id == meeting_id, MeetingEvent.type == type_).order_by(MeetingEvent.seq)).scalars())


def test_no_check_in_while_the_roll_call_is_closed(live, world):
    resp = live.check_in(world.delegate)
    assert resp.status_code == 409 and "chưa mở điểm danh" in resp.json["detail"]  # Vietnamese by default
    assert live.roll_call("start").status_code == 200
    assert live.check_in(world.delegate).status_code == 200
    assert live.roll_call("start", "close").status_code == 200
    assert live.check_in(world.delegate2).status_code == 409
    assert live.roll_call("start", "close").status_code == 409  # already closed


def test_tablet_check_in_is_idempotent_and_says_so(live, world):
    live.roll_call("start")
    first = live.check_in(world.delegate)
    assert first.status_code == 200 and first.json["changed"] is True and first.json["result"] == "checked_in"
    before = row_counts()
    seq_before = len(events(live.meeting.id, "quorum.updated"))
    again = live.check_in(world.delegate)
    assert again.status_code == 200 and again.json["changed"] is False and again.json["result"] == "unchanged"
    assert again.json["checked_in_at"] == first.json["checked_in_at"]
    assert "Nothing changed" in again.json["message"] or again.json["message"]
    assert row_counts() == before  # no new row, no audit entry, no event
    assert len(events(live.meeting.id, "quorum.updated")) == seq_before
    assert audit_actions(live.meeting.id).count("attendance.checked_in") == 1


def test_room_code_check_in(live, world, app):
    live.roll_call("start")
    qr = live.client.get(f"{live.base}/attendance/qr", headers=live.headers(world.chair))
    assert qr.status_code == 200 and len(qr.json["code"]) == 6 and 0 < qr.json["expires_in"] <= 30
    assert f"code={qr.json['code']}" in qr.json["url"] and f"/meetings/{live.meeting.id}/check-in" in qr.json["url"]
    bad = "000000" if qr.json["code"] != "000000" else "111111"
    resp = live.check_in(world.delegate, "qr", code=bad)
    assert resp.status_code == 422 and "Mã không đúng" in resp.json["detail"]
    assert live.check_in(world.delegate, "qr").status_code == 400  # no code at all
    assert live.check_in(world.delegate, "qr", code="12345").status_code == 400  # not 6 digits
    assert live.check_in(world.delegate, "qr", code=qr.json["code"]).json["result"] == "checked_in"
    # One rotation of grace, not two.
    now = time.time()
    old, _ = ops.room_code(live.session.id, now=now - 30)
    older, _ = ops.room_code(live.session.id, now=now - 61)
    assert ops.code_is_valid(live.session.id, old, now=now)
    assert not ops.code_is_valid(live.session.id, older, now=now) or older == ops.room_code(live.session.id, now=now)[0]


def test_another_meetings_code_is_refused(live, world, other_world, client, token_for):
    from meetings.core.tx import commit
    from meetings.meeting.operations import create_session, open_session
    from meetings.meeting.schemas import SessionCreate
    other = other_world.meeting("in_session")
    session = create_session(other.id, SessionCreate(title="Phiên khác"), actor=other_world.secretary)
    commit()
    open_session(other.id, session.id, actor=other_world.chair)
    commit()
    live.roll_call("start")
    mine, _ = ops.room_code(live.session.id)
    # The other session's current code (or, in the one-in-a-million case that it is valid here too, one of
    # its recent ones that is not).
    now = time.time()
    foreign = next(code for code in (ops.room_code(session.id, now=now - 30 * k)[0] for k in range(10))
                   if not ops.code_is_valid(live.session.id, code))
    resp = live.check_in(world.delegate, "qr", code=foreign)
    assert resp.status_code == 422
    # And a delegate of the other meeting cannot check in here at all.
    resp = client.post(f"{live.base}/attendance/check-in", headers=token_for(other_world.delegate),
                       json={"session_id": live.session.id, "method": "qr", "code": mine})
    assert resp.status_code == 404


def test_the_hall_display_reads_the_code_with_its_token(live, world):
    from meetings.core.tx import commit
    from meetings.meeting.operations import create_display
    token = create_display(live.meeting.id, "Hội trường", actor=world.secretary)[0]
    commit()
    url = f"{live.base}/attendance/qr"
    assert live.client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 409  # nothing open
    live.roll_call("start")
    assert live.client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert live.client.get(url, headers={"Authorization": "Bearer dt.forged"}).status_code == 401
    assert live.client.get(url, headers=live.headers(world.delegate)).status_code == 403
    assert live.client.get(url).status_code == 401


def test_card_kiosk(live, world, client, token_for):
    body = world.body
    kiosk = client.post(f"/api/v1/bodies/{body.id}/kiosks", headers=token_for(world.secretary),
                        json={"label": "Cửa chính"})
    assert kiosk.status_code == 201 and kiosk.json["token"].startswith("kt.")
    device = {"Authorization": f"Bearer {kiosk.json['token']}"}
    card = client.post(f"/api/v1/users/{world.delegate.id}/cards", headers=token_for(world.admin),
                       json={"uid": "04:a2:2b:c1", "label": "Thẻ công chức"})
    assert card.status_code == 201 and card.json["uid"] == "04A22BC1"
    assert client.post(f"/api/v1/users/{world.delegate.id}/cards", headers=token_for(world.secretary),
                       json={"uid": "0011AA"}).status_code == 403
    live.roll_call("start")
    body_json = {"session_id": live.session.id, "method": "card", "card_uid": "04A22BC1"}
    assert client.post(f"{live.base}/attendance/check-in", json=body_json).status_code == 401  # no device token
    assert client.post(f"{live.base}/attendance/check-in", json=body_json,
                       headers=token_for(world.delegate)).status_code == 401  # a person is not a kiosk
    unknown = client.post(f"{live.base}/attendance/check-in", headers=device, json={**body_json, "card_uid": "DEAD01"})
    assert unknown.status_code == 404 and "chưa được đăng ký" in unknown.json["detail"]
    resp = client.post(f"{live.base}/attendance/check-in", headers=device, json=body_json)
    assert resp.status_code == 200 and resp.json["result"] == "checked_in"
    assert live.row(world.delegate)["check_in_method"] == "card"
    # Leaving through the same door.
    out = client.post(f"{live.base}/attendance/check-out", headers=device,
                      json={"session_id": live.session.id, "method": "card", "card_uid": "04a22bc1"})
    assert out.status_code == 200 and out.json["result"] == "checked_out"
    # A revoked kiosk is refused.
    assert client.delete(f"/api/v1/bodies/{body.id}/kiosks/{kiosk.json['id']}",
                         headers=token_for(world.secretary)).status_code == 200
    assert client.post(f"{live.base}/attendance/check-in", headers=device, json=body_json).status_code == 401


def test_kiosk_of_another_body_sees_nothing(live, world, other_world, client, token_for):
    kiosk = client.post(f"/api/v1/bodies/{other_world.body.id}/kiosks", headers=token_for(other_world.secretary),
                        json={"label": "Cửa khác"}).json
    client.post(f"/api/v1/users/{world.delegate.id}/cards", headers=token_for(world.admin), json={"uid": "CAFE01"})
    live.roll_call("start")
    resp = client.post(f"{live.base}/attendance/check-in", headers={"Authorization": f"Bearer {kiosk['token']}"},
                       json={"session_id": live.session.id, "method": "card", "card_uid": "CAFE01"})
    assert resp.status_code == 404


def test_manual_marks_by_the_secretary_only(live, world):
    resp = live.client.post(f"{live.base}/attendance/mark", headers=live.headers(world.secretary),
                            json={"session_id": live.session.id, "user_id": world.delegate2.id, "status": "absent",
                                  "absence": "excused", "reason": "Đi công tác"})
    assert resp.status_code == 200 and resp.json["result"] == "marked_absent"
    row = live.row(world.delegate2)
    assert row["status"] == "absent_excused" and row["reason"] == "Đi công tác"
    assert live.client.post(f"{live.base}/attendance/mark", headers=live.headers(world.delegate),
                            json={"session_id": live.session.id, "user_id": world.delegate2.id,
                                  "status": "present"}).status_code == 403
    resp = live.check_in(world.secretary, "manual", user_id=world.delegate.id)  # no window needed by hand
    assert resp.status_code == 200 and live.row(world.delegate)["check_in_method"] == "manual"
    resp = live.client.post(f"{live.base}/attendance/mark", headers=live.headers(world.secretary),
                            json={"session_id": live.session.id, "user_id": world.delegate2.id, "status": "absent"})
    assert resp.status_code == 422  # excused or not?
    assert "attendance.marked_absent" in audit_actions(live.meeting.id)


def test_bad_inputs(live, world, other_world):
    live.roll_call("start")
    cases = [
        ({"session_id": live.session.id, "method": "telepathy"}, 400),
        ({"session_id": "1", "method": "tablet"}, 400),
        ({"method": "tablet"}, 400),
        ({"session_id": live.session.id, "method": "tablet", "extra": 1}, 400),
        ({"session_id": 999999, "method": "tablet"}, 404),
        ({"session_id": live.session.id, "method": "manual"}, 400),
        ({"session_id": live.session.id, "method": "card"}, 401),
    ]
    live.headers(world.delegate)  # the token exists before counting
    before = row_counts()
    for payload, status in cases:
        resp = live.client.post(f"{live.base}/attendance/check-in", headers=live.headers(world.delegate), json=payload)
        assert resp.status_code == status, (payload, resp.json)
    assert row_counts() == before
    assert live.check_in(world.outsider).status_code == 404
    assert live.check_in(world.approver).status_code == 403  # staff of the body, not a participant
    resp = live.client.post(f"{live.base}/attendance/check-in", headers=live.headers(world.delegate), data="nope",
                            content_type="application/json")
    assert resp.status_code == 400


def test_statuses_on_a_scripted_day(live, world):
    """Present, late, left early, absent with and without excuse — from the timestamps."""
    live.roll_call("start")
    for user in (world.chair, world.delegate, world.delegate2):
        assert live.check_in(user).status_code == 200
    # delegate2 came 40 minutes after the session opened; the body's limit is 15.
    row = db.session.execute(sa.select(Attendance).join(Attendance.participant).where(
        Attendance.session_id == live.session.id)).scalars().all()
    session = db.session.get(MeetingSession, live.session.id)
    by_user = {r.participant.user_id: r for r in row}
    by_user[world.delegate2.id].checked_in_at = session.opened_at + timedelta(minutes=40)
    db.session.commit()
    assert live.row(world.delegate2)["status"] == "late"
    assert live.row(world.guest)["status"] == "pending"
    # delegate leaves before the end; the chair stays; the end roll call is taken.
    assert live.check_out(world.delegate).json["result"] == "checked_out"
    assert live.check_out(world.delegate).json["changed"] is False
    live.roll_call("end")
    assert live.check_in(world.chair).json["result"] == "confirmed"
    assert live.check_in(world.delegate2).json["result"] == "confirmed"
    live.roll_call("end", "close")
    assert live.row(world.chair)["status"] == "present"
    assert live.row(world.delegate)["status"] == "left_early"
    late = live.row(world.delegate2)
    assert late["status"] == "late" and not late["left_early"]
    # Closing the session: whoever never came is absent without excuse.
    live.client.post(f"{live.base}/sessions/{live.session.id}/close", headers=live.headers(world.chair))
    assert live.row(world.guest)["status"] == "absent_unexcused"


def test_missing_the_end_roll_call_is_leaving_early(live, world):
    live.roll_call("start")
    live.check_in(world.delegate)
    live.roll_call("end")
    live.roll_call("end", "close")
    assert live.row(world.delegate)["status"] == "left_early"


def test_opening_the_end_roll_call_closes_the_start_one(live, world):
    live.roll_call("start")
    live.roll_call("end")
    calls = {c.kind: c for c in db.session.execute(sa.select(RollCall)).scalars()}
    assert calls["start"].closed_at is not None and calls["end"].closed_at is None


def test_only_the_chair_opens_roll_calls(live, world):
    for user in (world.delegate, world.secretary, world.guest):
        assert live.roll_call("start", user=user).status_code == 403
    assert live.roll_call("middle").status_code == 404


def test_quorum_follows_every_change(live, world):
    live.roll_call("start")
    quorum = live.attendance().json["quorum"]
    assert quorum == {**quorum, "members": 3, "present": 0, "required": 2, "has_quorum": False}
    live.check_in(world.delegate)
    live.check_in(world.guest)  # guests do not vote: no effect on quorum
    assert live.attendance().json["quorum"]["present"] == 1
    live.check_in(world.chair)
    assert live.attendance().json["quorum"]["has_quorum"] is True
    live.check_out(world.chair)
    assert live.attendance().json["quorum"]["has_quorum"] is False
    updates = [e.payload for e in events(live.meeting.id, "quorum.updated")]
    assert [u["has_quorum"] for u in updates][-3:] == [False, True, False]
    assert all(u["session_id"] == live.session.id for u in updates)


def test_quorum_rules(world):
    from meetings.bodies.models import Body
    body = Body(name="x", quorum_rule="two_thirds")
    assert ops.required_for_quorum(body, 30) == 20 and ops.required_for_quorum(body, 31) == 21
    body.quorum_rule = "more_than_half"
    assert ops.required_for_quorum(body, 30) == 16 and ops.required_for_quorum(body, 31) == 16
    body.quorum_rule, body.quorum_fixed = "fixed", 7
    assert ops.required_for_quorum(body, 30) == 7


def test_delegates_see_only_their_own_row(live, world):
    live.roll_call("start")
    live.check_in(world.delegate)
    mine = live.attendance(world.delegate).json
    assert [r["user_id"] for r in mine["roster"]] == [world.delegate.id]
    assert mine["mine"]["checked_in_at"] is not None
    assert len(live.attendance(world.chair).json["roster"]) == len(live.meeting.participants)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export(live, world, fmt):
    live.roll_call("start")
    live.check_in(world.delegate)
    live.client.get("/lang/en")
    resp = live.client.get(f"{live.base}/attendance/export?session_id={live.session.id}&format={fmt}",
                           headers=live.headers(world.secretary))
    assert resp.status_code == 200
    if fmt == "csv":
        text = resp.data.decode("utf-8-sig")
        assert "Đại biểu A" in text and text.splitlines()[0].count(",") == 8
    else:
        import io

        from openpyxl import load_workbook
        sheet = load_workbook(io.BytesIO(resp.data)).active
        names = [row[1].value for row in sheet.iter_rows(min_row=5)]
        assert "Đại biểu A" in names and sheet["A1"].value == live.meeting.title
    assert live.client.get(f"{live.base}/attendance/export", headers=live.headers(world.delegate)).status_code == 403


def test_summary_across_sessions(live, world):
    live.roll_call("start")
    live.check_in(world.delegate)
    live.client.post(f"{live.base}/attendance/mark", headers=live.headers(world.secretary),
                     json={"session_id": live.session.id, "user_id": world.delegate2.id, "status": "absent",
                           "absence": "excused", "reason": "Ốm"})
    resp = live.client.get(f"{live.base}/attendance/summary", headers=live.headers(world.chair))
    people = {p["user_id"]: p for p in resp.json["items"]}
    assert people[world.delegate.id]["present"] == 1 and people[world.delegate.id]["sessions"] == 1
    assert people[world.delegate2.id]["absent_excused"] == 1
    assert live.client.get(f"{live.base}/attendance/summary", headers=live.headers(world.delegate)).status_code == 403
