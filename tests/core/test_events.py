"""The per-meeting event log: gap-free seq, effects after commit only, and GET /events."""
from __future__ import annotations

import pytest

from meetings.core import tx
from meetings.core.events import CommittedEvent, emit_event, events_after
from meetings.core.tx import add_after_commit_hook, begin_write, commit
from meetings.extensions import db
from tests.fixtures.factories import event_log


@pytest.fixture
def broadcast():
    seen: list = []
    hook = seen.extend
    add_after_commit_hook(hook)
    yield seen
    tx._after_commit_hooks.remove(hook)


def test_emit_event_numbers_events_per_meeting(world):
    m1, m2 = world.meeting("draft", items=0), world.meeting("draft", items=0)
    begin_write()
    a = emit_event(m1.id, "test.a", {"x": 1})
    b = emit_event(m1.id, "test.b", {"x": 2})
    c = emit_event(m2.id, "test.c", {}, audience={"roles": ["chair"]})
    commit()
    assert (a, b, c) == (1, 2, 1)
    assert (m1.last_seq, m2.last_seq) == (2, 1)
    assert [(e.seq, e.type, e.payload) for e in event_log(m1.id)] == [(1, "test.a", {"x": 1}), (2, "test.b", {"x": 2})]
    assert event_log(m2.id)[0].audience == {"roles": ["chair"]}
    assert [e.seq for e in events_after(m1.id, 1, 10)] == [2]
    message = event_log(m1.id)[0].message()
    assert message["meeting_id"] == m1.id and message["seq"] == 1 and message["x"] == 1
    assert message["at"].endswith("+07:00")


def test_events_leave_only_after_commit(world, broadcast):
    meeting = world.meeting("draft", items=0)
    broadcast.clear()
    begin_write()
    emit_event(meeting.id, "test.kept", {})
    assert broadcast == []  # nothing leaves before the commit
    commit()
    assert [e.type for e in broadcast] == ["test.kept"]
    assert isinstance(broadcast[0], CommittedEvent) and broadcast[0].seq == meeting.last_seq

    begin_write()
    emit_event(meeting.id, "test.dropped", {})
    db.session.rollback()
    commit()
    assert [e.type for e in broadcast] == ["test.kept"]
    assert [e.type for e in event_log(meeting.id)][-1] == "test.kept"


def test_events_endpoint_returns_missed_events_filtered_by_audience(client, world, token_for):
    meeting = world.meeting("published")
    begin_write()
    emit_event(meeting.id, "test.chair_only", {}, audience={"roles": ["chair"]})
    emit_event(meeting.id, "test.for_delegate", {}, audience={"user_ids": [world.delegate.id]})
    commit()
    last = meeting.last_seq
    resp = client.get(f"/api/v1/meetings/{meeting.id}/events?after={last - 2}", headers=token_for(world.chair))
    assert resp.status_code == 200
    assert resp.json["last_seq"] == last
    assert [e["type"] for e in resp.json["events"]] == ["test.chair_only"]
    resp = client.get(f"/api/v1/meetings/{meeting.id}/events?after={last - 2}", headers=token_for(world.delegate))
    assert [(e["type"], e["seq"]) for e in resp.json["events"]] == [("test.for_delegate", last)]
    resp = client.get(f"/api/v1/meetings/{meeting.id}/events?after=1", headers=token_for(world.delegate))
    assert [e["seq"] for e in resp.json["events"]][:3] == [2, 3, 4]
    # A caller with nothing yet (after=0) needs the state, not the history.
    resp = client.get(f"/api/v1/meetings/{meeting.id}/events?after=0", headers=token_for(world.delegate))
    assert resp.json["events"] is None and resp.json["snapshot"]["meeting"]["state"] == "published"


def test_events_endpoint_sends_a_snapshot_to_a_caller_from_the_future(client, world, token_for):
    meeting = world.meeting("published", items=2)
    resp = client.get(f"/api/v1/meetings/{meeting.id}/events?after={meeting.last_seq + 5}",
                      headers=token_for(world.delegate))
    assert resp.status_code == 200
    snapshot = resp.json["snapshot"]
    assert resp.json["events"] is None
    assert snapshot["meeting"]["state"] == "published"
    assert [i["title"] for i in snapshot["agenda"]["items"]] == ["Nội dung 1", "Nội dung 2"]


def test_a_failing_after_commit_hook_does_not_turn_a_committed_write_into_an_error(world, caplog):
    """A broadcast that fails (the message queue went away) after the commit: the write stands, the caller is
    answered, the other hooks still run, and the failure is in the log."""
    from meetings.core import tx

    seen = []

    def broken(effects):
        raise RuntimeError("the message queue went away")

    def counting(effects):
        seen.append(len(effects))

    meeting = world.meeting("draft", items=0)
    tx.add_after_commit_hook(broken)
    tx.add_after_commit_hook(counting)
    try:
        begin_write()
        emit_event(meeting.id, "test.kept", {})
        commit()
    finally:
        tx._after_commit_hooks.remove(broken)
        tx._after_commit_hooks.remove(counting)
    assert seen == [1] and "after-commit hook broken failed" in caplog.text
    assert event_log(meeting.id)[-1].type == "test.kept"
