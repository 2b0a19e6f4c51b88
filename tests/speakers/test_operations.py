"""The speakers' queue (meetings.speakers.operations): requests, order, the floor, durations, history."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from meetings.agenda.operations import set_current_item
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.access import participant_of
from meetings.speakers import operations as ops
from meetings.speakers.models import SpeakerRequest
from tests.fixtures.factories import assert_events_gap_free, assert_refused, audit_trail, event_log

REQUEST_KEYS = {"id", "participant_id", "user_id", "full_name", "kind", "agenda_item_id", "position", "state",
                "requested_at", "granted_at", "limit_seconds"}


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)  # 08:00 in Hà Nội

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ops, "utcnow", fake)
    return fake


@pytest.fixture
def running(world):
    meeting = world.meeting("in_session", items=2)
    return meeting


def ask(world, meeting, who="delegate", kind="speech", **kw):
    req, created = ops.request_floor(meeting.id, kind, actor=getattr(world, who), **kw)
    commit()
    return req


def queue(meeting) -> list[tuple[str, str, int]]:
    """(full name, kind, position) of the waiting requests, in order."""
    return [(r["full_name"], r["kind"], r["position"]) for r in ops.speakers_payload(meeting)["queue"]]


def last_event(meeting):
    return event_log(meeting.id)[-1]


def items_of(meeting) -> list[int]:
    from meetings.agenda.operations import agenda_items
    return [i.id for i in agenda_items(meeting.id)]


# --- requesting the floor ----------------------------------------------------------------------------------

def test_request_queues_audits_and_emits_one_event_with_the_queue(world, running, clock):
    seq = running.last_seq
    item = items_of(running)[1]
    req = ask(world, running, kind="question", agenda_item_id=item)
    assert (req.state, req.position, req.kind, req.agenda_item_id, req.limit_seconds) == (
        "waiting", 1, "question", item, 180)
    participant = participant_of(running.id, world.delegate.id)
    assert req.participant_id == participant.id and req.requested_at == clock.now
    entry = audit_trail(running.id)[-1]
    assert (entry.action, entry.actor_id, entry.data) == ("speaker.request", world.delegate.id, {
        "request_id": req.id, "participant_id": participant.id, "kind": "question", "agenda_item_id": item,
        "position": 1})
    events = assert_events_gap_free(running.id)
    assert [e.seq for e in events if e.seq > seq] == [seq + 1]
    event = events[-1]
    assert event.type == "speakers.updated" and set(event.payload) == {"current", "queue"}
    assert event.payload == {"current": None, "queue": [{
        "id": req.id, "participant_id": participant.id, "user_id": world.delegate.id, "full_name": "Đại biểu A",
        "kind": "question", "agenda_item_id": item, "position": 1, "state": "waiting",
        "requested_at": "2026-12-01T08:00:00+07:00", "granted_at": None, "limit_seconds": 180}]}
    assert event.message()["seq"] == seq + 1 and event.message()["meeting_id"] == running.id


def test_request_without_an_item_takes_the_item_under_discussion_and_null_means_none(world, running):
    first, second = items_of(running)
    set_current_item(running.id, second, actor=world.chair)
    commit()
    assert ask(world, running, kind="speech").agenda_item_id == second
    assert ask(world, running, kind="question", agenda_item_id=None).agenda_item_id is None
    assert ask(world, running, "delegate2", agenda_item_id=first).agenda_item_id == first


def test_the_chair_may_ask_too_and_the_meeting_may_be_paused(world, running):
    ask(world, running, "chair")
    world.advance(running, "paused")
    ask(world, running, "delegate")
    assert queue(running) == [("Chủ tọa", "speech", 1), ("Đại biểu A", "speech", 2)]


def test_only_delegates_and_the_chair_ask_for_the_floor(world, running):
    for who, error in (("guest", Forbidden), ("secretary", Forbidden), ("approver", Forbidden),
                       ("admin", Forbidden), ("outsider", NotFound)):
        assert_refused(error, ops.request_floor, running.id, "speech", actor=getattr(world, who))


def test_requests_only_while_the_meeting_runs(world):
    meeting = world.meeting("published")
    err = assert_refused(Conflict, ops.request_floor, meeting.id, "speech", actor=world.delegate)
    assert err.extra["state"] == "published"
    world.advance(meeting, "adjourned")
    assert_refused(Conflict, ops.request_floor, meeting.id, "speech", actor=world.delegate)


def test_a_second_identical_request_returns_the_waiting_one_without_writing(world, running):
    first = ask(world, running, kind="speech", agenda_item_id=None)
    before = (running.last_seq, len(audit_trail(running.id)))
    again, created = ops.request_floor(running.id, "speech", agenda_item_id=None, actor=world.delegate)
    commit()
    assert (again.id, created) == (first.id, False)
    assert (running.last_seq, len(audit_trail(running.id))) == before
    # the same kind for another item: one waiting request per kind, so a conflict that names the waiting one
    err = assert_refused(Conflict, ops.request_floor, running.id, "speech", agenda_item_id=items_of(running)[0],
                         actor=world.delegate)
    assert err.extra["request_id"] == first.id
    # another kind queues separately
    assert ask(world, running, kind="question").id != first.id
    assert db.session.execute(sa.select(sa.func.count()).select_from(SpeakerRequest)).scalar_one() == 2


def test_the_database_refuses_a_second_waiting_request_of_a_kind(world, running):
    req = ask(world, running)
    db.session.add(SpeakerRequest(meeting_id=running.id, participant_id=req.participant_id, kind="speech",
                                  state="waiting", limit_seconds=300, position=2))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_two_speakers_at_once(world, running):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    b.state = "speaking"
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_point_of_order_goes_before_other_requests_after_earlier_points_of_order(world, running):
    ask(world, running, "delegate", "speech")
    ask(world, running, "delegate2", "question")
    ask(world, running, "delegate2", "point_of_order")
    ask(world, running, "delegate", "point_of_order")
    ask(world, running, "chair", "speech")
    assert queue(running) == [("Đại biểu B", "point_of_order", 1), ("Đại biểu A", "point_of_order", 2),
                              ("Đại biểu A", "speech", 3), ("Đại biểu B", "question", 4), ("Chủ tọa", "speech", 5)]
    assert [r["limit_seconds"] for r in ops.speakers_payload(running)["queue"]] == [60, 60, 300, 180, 300]


def test_an_item_of_another_meeting_is_unprocessable(world, running):
    other = world.meeting("in_session")
    assert_refused(Unprocessable, ops.request_floor, running.id, "speech", agenda_item_id=items_of(other)[0],
                   actor=world.delegate)
    assert_refused(Unprocessable, ops.request_floor, running.id, "speech", agenda_item_id=987654,
                   actor=world.delegate)
    assert_refused(Unprocessable, ops.request_floor, running.id, "speak", actor=world.delegate)


def test_limits_are_the_bodys(world, running, clock):
    world.body.speech_limit_seconds = 120
    commit()
    req = ask(world, running)
    assert req.limit_seconds == 120
    world.body.speech_limit_seconds = 90  # changed while waiting: the floor is given with the rule in force
    commit()
    ops.grant_floor(running.id, req.id, actor=world.chair)
    commit()
    assert ops.speakers_payload(running)["current"]["limit_seconds"] == 90
    assert ops.speakers_view(running)["limits"] == {"speech": 90, "question": 180, "point_of_order": 60}


# --- granting and finishing --------------------------------------------------------------------------------

def test_grant_gives_the_floor_and_renumbers_the_queue(world, running, clock):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    seq = running.last_seq
    clock.advance(30)
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    assert (a.state, a.position, a.granted_at, a.granted_by_id) == ("speaking", 0, clock.now, world.chair.id)
    payload = last_event(running).payload
    assert payload["current"]["id"] == a.id and payload["current"]["granted_at"] == "2026-12-01T08:00:30+07:00"
    assert set(payload["current"]) == REQUEST_KEYS
    assert [(r["id"], r["position"]) for r in payload["queue"]] == [(b.id, 1)]
    assert running.last_seq == seq + 1
    entry = audit_trail(running.id)[-1]
    assert (entry.action, entry.actor_id, entry.data) == ("speaker.grant", world.chair.id, {
        "request_id": a.id, "participant_id": a.participant_id, "kind": "speech", "limit_seconds": 300})


def test_granting_while_someone_speaks_finishes_them_first(world, running, clock):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    seq = running.last_seq
    clock.advance(125.4)
    ops.grant_floor(running.id, b.id, actor=world.chair)
    commit()
    assert (a.state, a.finished_at, a.duration_seconds) == ("done", clock.now, 125)
    assert b.state == "speaking" and b.granted_at == clock.now
    assert running.last_seq == seq + 1  # one change, one event
    assert last_event(running).payload == {"current": ops.describe(b), "queue": []}
    assert [(e.action, e.data) for e in audit_trail(running.id)[-2:]] == [
        ("speaker.finish", {"request_id": a.id, "duration_seconds": 125}),
        ("speaker.grant", {"request_id": b.id, "participant_id": b.participant_id, "kind": "speech",
                           "limit_seconds": 300})]


def test_finish_records_the_duration_and_the_history_keeps_the_order(world, running, clock):
    a, b = ask(world, running, "delegate", "question"), ask(world, running, "delegate2")
    ops.grant_floor(running.id, b.id, actor=world.chair)
    clock.advance(61)
    ops.finish_speaker(running.id, b.id, actor=world.chair)
    commit()
    assert (b.state, b.duration_seconds) == ("done", 61)
    assert last_event(running).payload["current"] is None
    assert audit_trail(running.id)[-1].data == {"request_id": b.id, "duration_seconds": 61}
    ops.grant_floor(running.id, a.id, actor=world.chair)
    clock.advance(10)
    ops.finish_speaker(running.id, a.id, actor=world.chair)
    commit()
    view = ops.speakers_view(running)
    assert (view["current"], view["queue"]) == (None, [])
    assert [(h["id"], h["state"], h["duration_seconds"], h["finished_at"]) for h in view["history"]] == [
        (b.id, "done", 61, "2026-12-01T08:01:01+07:00"), (a.id, "done", 10, "2026-12-01T08:01:11+07:00")]


def test_grant_finish_and_reorder_are_for_the_chair(world, running):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    for who, error in (("delegate", Forbidden), ("delegate2", Forbidden), ("secretary", Forbidden),
                       ("guest", Forbidden), ("approver", Forbidden), ("admin", Forbidden), ("outsider", NotFound)):
        actor = getattr(world, who)
        assert_refused(error, ops.grant_floor, running.id, a.id, actor=actor)
        assert_refused(error, ops.reorder_queue, running.id, [b.id, a.id], actor=actor)
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    for who in ("delegate", "secretary", "guest"):
        assert_refused(Forbidden, ops.finish_speaker, running.id, a.id, actor=getattr(world, who))
    assert a.state == "speaking"


def test_another_meetings_request_is_not_found(world, running):
    other = world.meeting("in_session")
    foreign = ask(world, other)
    for fn in (ops.grant_floor, ops.finish_speaker):
        assert_refused(NotFound, fn, running.id, foreign.id, actor=world.chair)
        assert_refused(NotFound, fn, running.id, 987654, actor=world.chair)
    assert_refused(NotFound, ops.withdraw_request, running.id, foreign.id, actor=world.delegate)
    assert_refused(Unprocessable, ops.reorder_queue, running.id, [foreign.id], actor=world.chair)


def test_grant_and_finish_in_wrong_states_are_conflicts(world, running, clock):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    assert_refused(Conflict, ops.finish_speaker, running.id, a.id, actor=world.chair)  # waiting, not speaking
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    assert_refused(Conflict, ops.grant_floor, running.id, a.id, actor=world.chair)  # already speaking
    world.advance(running, "paused")
    err = assert_refused(Conflict, ops.grant_floor, running.id, b.id, actor=world.chair)
    assert err.extra["state"] == "paused"
    clock.advance(5)
    ops.finish_speaker(running.id, a.id, actor=world.chair)  # the time may still be ended during a pause
    commit()
    assert_refused(Conflict, ops.finish_speaker, running.id, a.id, actor=world.chair)  # done
    world.advance(running, "in_session")
    assert_refused(Conflict, ops.grant_floor, running.id, a.id, actor=world.chair)  # done is history


def test_adjourning_ends_the_speech_under_way_and_withdraws_the_queue(world, running, clock):
    a = ask(world, running)
    b = ask(world, running, "delegate2")
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    clock.advance(7)
    world.advance(running, "adjourned")
    db.session.refresh(a)
    db.session.refresh(b)
    assert a.state == "done" and a.duration_seconds == 7  # the floor ended with the meeting
    assert b.state == "withdrawn"
    assert last_event(running).type == "speakers.updated" and last_event(running).payload == {"current": None,
                                                                                            "queue": []}
    assert_refused(Conflict, ops.finish_speaker, running.id, a.id, actor=world.chair)
    world.advance(running, "closed")
    assert_refused(Conflict, ops.request_floor, running.id, "speech", actor=world.delegate)


# --- reordering --------------------------------------------------------------------------------------------

def test_reorder_puts_the_waiting_requests_in_the_given_order(world, running):
    a, b, c = ask(world, running, "delegate"), ask(world, running, "delegate2"), ask(world, running, "chair")
    seq = running.last_seq
    ops.reorder_queue(running.id, [c.id, a.id, b.id], actor=world.chair)
    commit()
    assert [(r["id"], r["position"]) for r in last_event(running).payload["queue"]] == [(c.id, 1), (a.id, 2), (b.id, 3)]
    assert running.last_seq == seq + 1
    assert audit_trail(running.id)[-1].data == {"order": [c.id, a.id, b.id]}
    ops.reorder_queue(running.id, [c.id, a.id, b.id], actor=world.chair)  # the same order: nothing to tell
    commit()
    assert running.last_seq == seq + 1 and audit_trail(running.id)[-1].action == "speaker.reorder"


def test_reorder_must_name_every_waiting_request_once(world, running):
    a, b, c = ask(world, running, "delegate"), ask(world, running, "delegate2"), ask(world, running, "chair")
    ops.grant_floor(running.id, c.id, actor=world.chair)
    commit()
    for order in ([a.id], [a.id, b.id, b.id], [a.id, b.id, c.id], [b.id, a.id, 987654], []):
        assert_refused(Unprocessable, ops.reorder_queue, running.id, order, actor=world.chair)
    world.advance(running, "adjourned")
    assert_refused(Conflict, ops.reorder_queue, running.id, [b.id, a.id], actor=world.chair)


# --- withdrawing -------------------------------------------------------------------------------------------

def test_the_requester_withdraws_and_the_queue_closes_up(world, running, clock):
    a, b, c = ask(world, running, "delegate"), ask(world, running, "delegate2"), ask(world, running, "chair")
    seq = running.last_seq
    ops.withdraw_request(running.id, a.id, actor=world.delegate)
    commit()
    assert (a.state, a.withdrawn_at, a.withdrawn_by_id) == ("withdrawn", clock.now, world.delegate.id)
    assert queue(running) == [("Đại biểu B", "speech", 1), ("Chủ tọa", "speech", 2)]
    assert running.last_seq == seq + 1 and last_event(running).type == "speakers.updated"
    assert audit_trail(running.id)[-1].data == {"request_ids": [a.id]}
    ops.withdraw_request(running.id, a.id, actor=world.delegate)  # again: already withdrawn, nothing changes
    commit()
    assert running.last_seq == seq + 1
    assert ask(world, running, "delegate").id != a.id  # and may ask again


def test_who_may_withdraw_a_request(world, running):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    for who in ("delegate2", "guest", "approver"):
        assert_refused(Forbidden, ops.withdraw_request, running.id, a.id, actor=getattr(world, who))
    ops.withdraw_request(running.id, a.id, actor=world.chair)
    ops.withdraw_request(running.id, b.id, actor=world.secretary)
    commit()
    assert (a.state, b.state, a.withdrawn_by_id, b.withdrawn_by_id) == (
        "withdrawn", "withdrawn", world.chair.id, world.secretary.id)


def test_a_request_that_had_the_floor_cannot_be_withdrawn(world, running):
    a = ask(world, running)
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    err = assert_refused(Conflict, ops.withdraw_request, running.id, a.id, actor=world.delegate)
    assert err.extra["request_state"] == "speaking"


def test_withdraw_own_takes_back_the_callers_waiting_requests(world, running):
    speech, question = ask(world, running, "delegate", "speech"), ask(world, running, "delegate", "question")
    other = ask(world, running, "delegate2")
    seq = running.last_seq
    assert ops.withdraw_own(running.id, kind="question", actor=world.delegate) == [question]
    commit()
    assert [r.state for r in (speech, question, other)] == ["waiting", "withdrawn", "waiting"]
    assert ops.withdraw_own(running.id, actor=world.delegate) == [speech]
    commit()
    assert ops.withdraw_own(running.id, actor=world.delegate) == []  # nothing waiting: no change, no event
    commit()
    assert running.last_seq == seq + 2
    assert queue(running) == [("Đại biểu B", "speech", 1)]
    assert_refused(Forbidden, ops.withdraw_own, running.id, actor=world.guest)
    world.advance(running, "adjourned")
    assert_refused(Conflict, ops.withdraw_own, running.id, actor=world.delegate2)


# --- adjournment -------------------------------------------------------------------------------------------

def test_end_floor_finishes_the_speaker_and_clears_the_queue(world, running, clock):
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    ops.grant_floor(running.id, a.id, actor=world.chair)
    commit()
    clock.advance(42)
    assert ops.end_floor(running, actor=world.chair) is True
    commit()
    assert (a.state, a.duration_seconds, b.state) == ("done", 42, "withdrawn")
    assert last_event(running).payload == {"current": None, "queue": []}
    assert audit_trail(running.id)[-1].data == {"finished_request_id": a.id, "withdrawn_ids": [b.id]}
    seq = running.last_seq
    assert ops.end_floor(running, actor=world.chair) is False
    assert running.last_seq == seq


def test_every_change_is_one_gap_free_event(world, running, clock):
    start = running.last_seq
    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2", "point_of_order")
    ops.reorder_queue(running.id, [a.id, b.id], actor=world.chair)
    ops.grant_floor(running.id, a.id, actor=world.chair)
    ops.grant_floor(running.id, b.id, actor=world.chair)
    ops.finish_speaker(running.id, b.id, actor=world.chair)
    commit()
    events = [e for e in assert_events_gap_free(running.id) if e.seq > start]
    assert [e.type for e in events] == ["speakers.updated"] * 6
    for e in events:
        assert set(e.payload) == {"current", "queue"}
        for r in e.payload["queue"] + ([e.payload["current"]] if e.payload["current"] else []):
            assert set(r) == REQUEST_KEYS


def test_removing_a_participant_takes_their_requests_with_them(world, running):
    from meetings.meeting.operations import remove_participant

    a, b = ask(world, running, "delegate"), ask(world, running, "delegate2")
    a_id, b_id = a.id, b.id
    remove_participant(running.id, a.participant_id, actor=world.secretary)
    commit()
    db.session.expire_all()
    assert db.session.get(SpeakerRequest, a_id) is None  # the database's ON DELETE CASCADE
    assert [r["id"] for r in ops.speakers_payload(running)["queue"]] == [b_id]
