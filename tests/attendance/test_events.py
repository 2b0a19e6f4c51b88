"""What the tablets receive about attendance (Flask-SocketIO test client, SQLite and PostgreSQL): the room's
counts and quorum to everyone, a person's own record only to them, and all of it in a snapshot."""
from __future__ import annotations

from tests.realtime.test_socket_events import connect, received, sio  # noqa: F401 — fixtures


def joined(client, meeting):
    ack = client.emit("join", {"meeting_id": meeting.id, "last_seq": 0}, callback=True)
    assert "error" not in ack, ack
    return ack


def test_counts_to_everyone_own_record_to_oneself(live, world, connect):
    me, other = connect(world.delegate), connect(world.delegate2)
    joined(me, live.meeting)
    joined(other, live.meeting)
    me.get_received(), other.get_received()
    live.roll_call("start")
    assert live.check_in(world.delegate).status_code == 200
    mine = received(me)
    theirs = received(other)
    assert [n for n, _ in mine if n != "seq.skip"] == ["attendance.updated", "quorum.updated",
                                                       "attendance.updated", "quorum.updated", "attendance.mine"]
    own = next(d for n, d in mine if n == "attendance.mine")
    assert own["user_id"] == world.delegate.id and own["checked_in_at"] is not None
    assert "attendance.mine" not in [n for n, _ in theirs]
    skipped = [d["seq"] for n, d in theirs if n == "seq.skip"]
    assert own["seq"] in skipped  # the other tablet's seq stays gap-free
    quorum = [d for n, d in theirs if n == "quorum.updated"][-1]
    assert quorum["present"] == 1 and quorum["session_id"] == live.session.id


def test_a_snapshot_carries_attendance_quorum_and_speakers(live, world, connect):
    live.roll_call("start")
    live.check_in(world.delegate)
    snap = joined(connect(world.delegate), live.meeting)["snapshot"]
    assert snap["attendance"]["open_roll_call"] == "start" and snap["attendance"]["checked_in"] == 1
    assert snap["quorum"]["present"] == 1
    assert snap["my_attendance"]["checked_in_at"] is not None
    assert snap["speakers"] == {"current": None, "queue": []}
    other = joined(connect(world.delegate2), live.meeting)["snapshot"]
    assert other["my_attendance"]["checked_in_at"] is None
