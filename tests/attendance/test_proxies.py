"""Proxies (ủy quyền) on SQLite and PostgreSQL: who may give and hold, the body's limit, ending at check-in,
and what they count for the quorum."""
from __future__ import annotations

from meetings.core.tx import commit
from meetings.extensions import db
from tests.fixtures.factories import audit_actions


def give(live, giver, holder, *, by=None):
    body = {"session_id": live.session.id, "holder_user_id": holder.id}
    if by is not None:
        body["giver_user_id"] = giver.id
    return live.client.post(f"{live.base}/proxies", headers=live.headers(by or giver), json=body)


def test_a_member_gives_a_proxy_and_it_ends_when_they_check_in(live, world):
    resp = give(live, world.delegate, world.delegate2)
    assert resp.status_code == 201, resp.json
    assert resp.json["giver_user_id"] == world.delegate.id and resp.json["holder_user_id"] == world.delegate2.id
    listed = live.client.get(f"{live.base}/proxies?session_id={live.session.id}", headers=live.headers(world.chair))
    assert [p["id"] for p in listed.json["items"]] == [resp.json["id"]]
    live.roll_call("start")
    live.check_in(world.delegate)
    listed = live.client.get(f"{live.base}/proxies?session_id={live.session.id}", headers=live.headers(world.chair))
    assert listed.json["items"] == []
    assert "proxy.give" in audit_actions(live.meeting.id)


def test_proxy_rules(live, world, make_user):
    from meetings.meeting.operations import add_participant
    from meetings.meeting.schemas import ParticipantIn
    third = make_user(full_name="Đại biểu C")
    add_participant(live.meeting.id, ParticipantIn(user_id=third.id, role="delegate"), actor=world.secretary)
    commit()
    assert give(live, world.delegate, world.delegate).status_code == 422  # to oneself
    assert give(live, world.delegate, world.guest).status_code == 422  # a guest has no vote
    assert give(live, world.guest, world.delegate).status_code == 422
    assert give(live, world.delegate, world.outsider).status_code == 404
    assert give(live, world.delegate, world.delegate2).status_code == 201
    again = give(live, world.delegate, world.chair)
    assert again.status_code == 409 and "rút ủy quyền" in again.json["detail"]  # one proxy per giver
    limit = give(live, third, world.delegate2)
    assert limit.status_code == 409  # delegate2 already holds the one proxy the body allows
    chain = give(live, world.chair, world.delegate)
    assert chain.status_code == 409  # delegate gave their own vote away
    live.roll_call("start")
    live.check_in(world.chair)
    present = give(live, world.chair, third)
    assert present.status_code == 409 and "đang có mặt" in present.json["detail"]


def test_the_body_may_allow_more_proxies(live, world, make_user):
    from meetings.meeting.operations import add_participant
    from meetings.meeting.schemas import ParticipantIn
    live.meeting.body.max_proxies_held = 2
    third = make_user(full_name="Đại biểu C")
    add_participant(live.meeting.id, ParticipantIn(user_id=third.id, role="delegate"), actor=world.secretary)
    commit()
    assert give(live, world.delegate, world.chair).status_code == 201
    assert give(live, third, world.chair).status_code == 201


def test_withdrawing_and_the_secretary_on_paper(live, world):
    mine = give(live, world.delegate, world.delegate2).json
    others = live.client.delete(f"{live.base}/proxies/{mine['id']}", headers=live.headers(world.delegate2))
    assert others.status_code == 403  # the holder cannot end it
    resp = live.client.delete(f"{live.base}/proxies/{mine['id']}", headers=live.headers(world.delegate))
    assert resp.status_code == 200 and resp.json["ended_reason"] == "withdrawn"
    paper = give(live, world.delegate, world.chair, by=world.secretary)
    assert paper.status_code == 201 and paper.json["giver_user_id"] == world.delegate.id
    forged = give(live, world.delegate2, world.chair, by=world.delegate)
    assert forged.status_code == 403  # a delegate cannot give someone else's vote
    assert live.client.delete(f"{live.base}/proxies/999999", headers=live.headers(world.delegate)).status_code == 404


def test_proxies_count_for_quorum_only_if_the_body_says_so(live, world):
    live.roll_call("start")
    give(live, world.delegate, world.delegate2)
    live.check_in(world.delegate2)
    quorum = live.attendance().json["quorum"]
    assert (quorum["present"], quorum["by_proxy"], quorum["counted"], quorum["has_quorum"]) == (1, 1, 1, False)
    body = live.meeting.body
    body.proxies_count_for_quorum = True
    db.session.commit()
    quorum = live.attendance().json["quorum"]
    assert (quorum["counted"], quorum["required"], quorum["has_quorum"]) == (2, 2, True)
