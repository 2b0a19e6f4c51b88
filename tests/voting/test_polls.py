"""Polls over REST on SQLite and PostgreSQL: lifecycle, permissions, idempotency, rules, results, receipts."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from meetings.core.events import MeetingEvent
from meetings.extensions import db
from meetings.voting import operations as ops
from meetings.voting.models import Ballot, Poll, SecretChoice, SecretVoter
from tests.fixtures.factories import audit_actions, row_counts


def events(meeting_id, type_):
    return [e.payload for e in db.session.execute(sa.select(MeetingEvent).where(
        MeetingEvent.meeting_id == meeting_id, MeetingEvent.type == type_).order_by(MeetingEvent.seq)).scalars()]


def test_a_named_vote_from_draft_to_result(votes, world):
    poll = votes.create(rule="majority_all").json
    assert poll["state"] == "draft" and [o["key"] for o in poll["options"]] == ["yes", "no", "abstain"]
    assert votes.cast(poll["poll_id"], world.delegate).status_code == 409  # not open yet
    opened = votes.open(poll["poll_id"]).json
    assert opened["state"] == "open" and opened["eligible"] == 3  # chair + two delegates (no roll call taken)
    key = "tablet-a-0001-retry-key"
    first = votes.cast(poll["poll_id"], world.delegate, "yes", key=key)
    assert first.status_code == 200 and first.json["receipt"] and first.json["repeated"] is False
    again = votes.cast(poll["poll_id"], world.delegate, "yes", key=key)
    assert again.json["receipt"] == first.json["receipt"] and again.json["repeated"] is True
    other = votes.cast(poll["poll_id"], world.delegate, "no")
    assert other.status_code == 409  # changing is not allowed by default
    assert votes.cast(poll["poll_id"], world.chair, "yes").status_code == 200
    assert votes.cast(poll["poll_id"], world.delegate2, "abstain").status_code == 200
    closed = votes.close(poll["poll_id"]).json
    result = closed["result"]
    assert result["counts"] == {"yes": 2, "no": 0, "abstain": 1} and result["weights"]["yes"] == "2"
    assert result["passed"] is True and result["cast"] == 3 and result["eligible"] == 3
    assert votes.cast(poll["poll_id"], world.delegate2, "yes").status_code == 409  # closed
    # A retry of an acknowledged ballot that arrives after closing still gets its receipt.
    assert votes.cast(poll["poll_id"], world.delegate, "yes", key=key).json["receipt"] == first.json["receipt"]
    named = votes.client.get(f"{votes.base}/polls/{poll['poll_id']}/result", headers=votes.headers(world.guest)).json
    assert {b["full_name"]: b["choices"] for b in named["ballots"]} == {
        "Chủ tọa": ["yes"], "Đại biểu A": ["yes"], "Đại biểu B": ["abstain"]}
    mine = votes.client.get(f"{votes.base}/polls/{poll['poll_id']}/receipts/{first.json['receipt']}",
                            headers=votes.headers(world.delegate))
    assert mine.status_code == 200 and mine.json["choices"] == ["yes"]
    assert [e["state"] for e in events(votes.meeting.id, "poll.opened")] == ["open"]
    assert events(votes.meeting.id, "poll.closed")[0]["result"]["counts"]["yes"] == 2
    assert {"poll.create", "poll.open", "poll.close"} <= set(audit_actions(votes.meeting.id))


def test_a_secret_vote_keeps_who_and_what_apart(votes, world):
    pid = votes.opened_poll(secret=True, rule="simple")
    key = "secret-ballot-key-0001"
    first = votes.cast(pid, world.delegate, "no", key=key).json
    assert votes.cast(pid, world.delegate, "no", key=key).json["receipt"] == first["receipt"]
    assert votes.cast(pid, world.delegate, "yes").status_code == 409
    votes.cast(pid, world.chair, "yes")
    votes.cast(pid, world.delegate2, "yes")
    listing = votes.client.get(f"{votes.base}/polls/{pid}", headers=votes.headers(world.delegate)).json
    assert "counts" not in listing["progress"] and listing["progress"]["cast"] == 3  # no tally while open
    assert votes.client.get(f"{votes.base}/polls/{pid}/receipts", headers=votes.headers(world.delegate)).status_code == 409
    result = votes.close(pid).json["result"]
    assert result["counts"] == {"yes": 2, "no": 1, "abstain": 0} and result["passed"] is True
    receipts = votes.client.get(f"{votes.base}/polls/{pid}/receipts", headers=votes.headers(world.guest)).json
    assert receipts["total"] == 3 == db.session.execute(sa.select(sa.func.count()).select_from(SecretVoter)).scalar_one()
    assert {"receipt": first["receipt"], "choices": ["no"]} in receipts["items"]
    assert [r["receipt"] for r in receipts["items"]] == sorted(r["receipt"] for r in receipts["items"])
    assert "ballots" not in votes.client.get(f"{votes.base}/polls/{pid}/result", headers=votes.headers(world.guest)).json
    # Nothing shared between the two tables, and no timestamps in either.
    assert {c.name for c in SecretVoter.__table__.columns} == {"poll_id", "for_participant_id", "key_hash",
                                                               "sealed_receipt"}
    assert {c.name for c in SecretChoice.__table__.columns} == {"receipt", "poll_id", "choices", "weight"}
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ballot)).scalar_one() == 0
    for payload in events(votes.meeting.id, "poll.tally"):
        assert "counts" not in payload


def test_permissions_and_bad_input(votes, world, other_world):
    assert votes.create(by=world.delegate).status_code == 403
    pid = votes.create().json["poll_id"]
    assert votes.open(pid, by=world.delegate).status_code == 403
    assert votes.open(pid, by=world.secretary).status_code == 403
    votes.open(pid)
    assert votes.open(pid).status_code == 409
    assert votes.cast(pid, world.guest).status_code == 403  # a guest has no vote
    assert votes.cast(pid, world.outsider).status_code == 404
    assert votes.cast(pid, other_world.delegate).status_code == 404
    assert votes.cast(pid, world.secretary).status_code == 403  # the secretary is not a voting member
    before = row_counts()
    bad = [({"choice": "maybe"}, 422), ({"choices": ["yes", "no"]}, 422), ({"choice": "yes", "choices": ["yes"]}, 400),
           ({}, 400), ({"choice": 1}, 400), ({"choice": "yes", "idempotency_key": "short"}, 400),
           ({"choice": "yes", "idempotency_key": "x" * 101}, 400), ({"choice": "yes", "extra": True}, 400),
           ({"choice": "yes", "for_user_id": world.delegate2.id}, 403)]
    for body, status in bad:
        payload = {"idempotency_key": "valid-key-0000000001", **body}
        resp = votes.client.post(f"{votes.base}/polls/{pid}/ballots", headers=votes.headers(world.delegate),
                                 json=payload)
        assert resp.status_code == status, (body, resp.json)
    assert row_counts() == before
    assert votes.close(pid, by=world.delegate).status_code == 403
    assert votes.client.post(f"{votes.base}/polls/999999/open", headers=votes.headers(world.chair)).status_code == 404
    assert votes.create(options=["A", "A"]).status_code == 422
    assert votes.create(max_choices=2).status_code == 422
    assert votes.create(options=["A", "B"], max_choices=3).status_code == 422


def test_only_one_open_poll_and_not_outside_the_session(votes, world):
    first = votes.opened_poll()
    second = votes.create().json["poll_id"]
    assert votes.open(second).status_code == 409
    votes.close(first)
    votes.client.post(f"{votes.base}/transitions", headers=votes.headers(world.chair), json={"action": "pause"})
    assert votes.open(second).status_code == 409


def test_election_with_up_to_two_choices(votes, world):
    pid = votes.opened_poll(options=["Nguyễn Văn A", "Trần Thị B", "Lê Văn C"], max_choices=2, rule="simple")
    assert votes.cast(pid, world.delegate, None, choices=["o1", "o3"]).status_code == 200
    assert votes.cast(pid, world.delegate2, None, choices=["o1", "o2", "o3"]).status_code == 422
    assert votes.cast(pid, world.delegate2, None, choices=["o1", "o1"]).status_code == 422
    votes.cast(pid, world.chair, "o2")
    result = votes.close(pid).json["result"]
    assert result["counts"] == {"o1": 1, "o2": 1, "o3": 1} and result["passed"] is None


def test_changing_a_ballot_when_the_poll_allows_it(votes, world):
    pid = votes.opened_poll(allow_change=True)
    first = votes.cast(pid, world.delegate, "yes").json
    second = votes.cast(pid, world.delegate, "no").json
    assert second["receipt"] == first["receipt"]
    assert votes.close(pid).json["result"]["counts"]["no"] == 1


def test_eligibility_snapshot_with_attendance_and_proxies(votes, world):
    votes.roll_call("start")
    votes.check_in(world.chair)
    votes.check_in(world.delegate)
    votes.client.post(f"{votes.base}/proxies", headers=votes.headers(world.delegate2),
                      json={"session_id": votes.session.id, "holder_user_id": world.delegate.id})
    pid = votes.opened_poll()
    assert db.session.get(Poll, pid).eligible_count == 3
    assert votes.cast(pid, world.delegate2).status_code == 403  # absent: their vote is with the proxy holder
    own = votes.cast(pid, world.delegate, "yes")
    proxy = votes.cast(pid, world.delegate, "no", for_user_id=world.delegate2.id)
    assert own.status_code == 200 and proxy.status_code == 200 and own.json["receipt"] != proxy.json["receipt"]
    assert votes.cast(pid, world.delegate, "yes", for_user_id=world.delegate2.id).status_code == 409  # once
    assert votes.cast(pid, world.chair, "no", for_user_id=world.delegate2.id).status_code == 403  # not the holder
    mine = votes.client.get(f"{votes.base}/polls/{pid}", headers=votes.headers(world.delegate)).json["my_ballots"]
    assert sorted((b["proxy"], b["cast"]) for b in mine) == [(False, True), (True, True)]


def test_no_vote_without_quorum_unless_the_body_allows_it(votes, world):
    votes.roll_call("start")
    votes.check_in(world.delegate)  # 1 of 3 voting members
    pid = votes.create().json["poll_id"]
    refused = votes.open(pid)
    assert refused.status_code == 409 and "(1/2)" in refused.json["detail"]  # counted / required, in words
    assert db.session.get(Poll, pid).state == "draft"
    votes.meeting.body.polls_without_quorum = True
    db.session.commit()
    opened = votes.open(pid)
    assert opened.status_code == 200 and opened.json["warnings"]


def fake(rule, eligible, members):
    return Poll(rule=rule, eligible_weight=Decimal(eligible), members_weight=Decimal(members))


@pytest.mark.parametrize("rule,yes,no,eligible,members,expected", [
    ("simple", 3, 3, 9, 9, False), ("simple", 3, 2, 9, 9, True), ("simple", 1, 0, 9, 9, True),
    ("majority_present", 5, 0, 10, 20, False), ("majority_present", 5.5, 0, 10, 20, True),
    ("majority_all", 10, 0, 12, 20, False), ("majority_all", "10.0001", 0, 12, 20, True),
    ("two_thirds_all", 2, 0, 3, 3, True), ("two_thirds_all", 6, 0, 9, 10, False),
    ("two_thirds_all", "6.6666", 0, 9, 10, False), ("two_thirds_all", "6.6667", 0, 9, 10, True),
    ("two_thirds_all", 20, 0, 30, 30, True), ("two_thirds_all", 19, 1, 30, 30, False),
])
def test_rules_at_their_boundaries(rule, yes, no, eligible, members, expected):
    weights = {"yes": Decimal(str(yes)), "no": Decimal(str(no)), "abstain": Decimal(0)}
    assert ops.passed(rule, weights, fake(rule, eligible, members)) is expected


def test_weights_are_exact(votes, world):
    from meetings.meeting.models import Participant
    for p in db.session.execute(sa.select(Participant).where(Participant.meeting_id == votes.meeting.id)).scalars():
        if p.user_id == world.delegate.id:
            p.vote_weight = Decimal("1.1")
        if p.user_id == world.delegate2.id:
            p.vote_weight = Decimal("2.2")
    db.session.commit()
    pid = votes.opened_poll(rule="simple")
    votes.cast(pid, world.delegate, "yes")
    votes.cast(pid, world.delegate2, "yes")
    votes.cast(pid, world.chair, "no")
    result = votes.close(pid).json["result"]
    assert result["weights"] == {"yes": "3.3", "no": "1", "abstain": "0"}  # not 3.3000000000000003
    assert result["eligible_weight"] == "4.3"


def test_a_poll_with_a_duration_closes_by_itself(votes, world, app):
    from datetime import timedelta

    from meetings.core.db import utcnow
    pid = votes.opened_poll(duration_seconds=60)
    votes.cast(pid, world.delegate, "yes")
    db.session.get(Poll, pid).closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert ops.close_due_polls() == [(votes.meeting.id, pid)]
    db.session.expire_all()
    poll = db.session.get(Poll, pid)
    assert poll.state == "closed" and poll.result["cast"] == 1
    assert ops.close_due_polls() == []


def test_progress_is_batched(votes, world):
    from meetings.voting.progress import flush_progress
    pid = votes.opened_poll()
    votes.cast(pid, world.delegate, "yes")
    votes.cast(pid, world.chair, "no")
    assert flush_progress() == 1  # two ballots, one tally
    tallies = events(votes.meeting.id, "poll.tally")
    assert tallies[-1]["cast"] == 2 and tallies[-1]["counts"] == {"yes": 1, "no": 1, "abstain": 0}
    assert flush_progress() == 0
