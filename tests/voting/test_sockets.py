"""ballot.cast over Socket.IO (Flask-SocketIO test client, SQLite and PostgreSQL): acknowledged after the commit
with the receipt; the same key gives the same receipt; the room sees poll.opened (with who casts which
ballot), batched poll.tally and poll.closed."""
from __future__ import annotations

import sqlalchemy as sa

from meetings.extensions import db
from meetings.voting.models import Ballot
from meetings.voting.progress import flush_progress
from tests.realtime.test_socket_events import connect, received, sio  # noqa: F401 — fixtures


def test_cast_over_the_socket(votes, world, connect):
    tablet = connect(world.delegate)
    tablet.emit("join", {"meeting_id": votes.meeting.id, "last_seq": 0}, callback=True)
    tablet.get_received()
    pid = votes.opened_poll()
    opened = [d for n, d in received(tablet) if n == "poll.opened"][0]
    assert {"for_user_id": world.delegate.id, "full_name": "Đại biểu A", "caster_user_id": world.delegate.id} \
        in opened["rights"]
    ack = tablet.emit("ballot.cast", {"poll_id": pid, "choice": "yes", "idempotency_key": "socket-key-00000001"},
                      callback=True)
    assert ack["receipt"] and ack["repeated"] is False and ack["choices"] == ["yes"]
    db.session.expire_all()
    assert db.session.execute(sa.select(Ballot.receipt).where(Ballot.poll_id == pid)).scalar_one() == ack["receipt"]
    again = tablet.emit("ballot.cast", {"poll_id": pid, "choice": "yes", "idempotency_key": "socket-key-00000001"},
                        callback=True)
    assert again["receipt"] == ack["receipt"] and again["repeated"] is True
    other = tablet.emit("ballot.cast", {"poll_id": pid, "choice": "no", "idempotency_key": "socket-key-00000002"},
                        callback=True)
    assert other["error"]["status"] == 409
    for bad, status in (({"poll_id": pid, "choice": "maybe", "idempotency_key": "socket-key-00000003"}, 422),
                        ({"poll_id": pid, "choice": "yes"}, 400),
                        ({"poll_id": 999999, "choice": "yes", "idempotency_key": "socket-key-00000004"}, 404),
                        ("yes", 400)):
        assert tablet.emit("ballot.cast", bad, callback=True)["error"]["status"] == status, bad
    assert flush_progress() == 1
    tally = [d for n, d in received(tablet) if n == "poll.tally"][-1]
    assert tally["cast"] == 1 and tally["counts"]["yes"] == 1
    votes.close(pid)
    closed = [d for n, d in received(tablet) if n == "poll.closed"][-1]
    assert closed["result"]["cast"] == 1


def test_a_display_cannot_vote(votes, world, connect):
    from meetings.core.tx import commit
    from meetings.meeting.operations import create_display
    token = create_display(votes.meeting.id, "Hội trường", actor=world.secretary)[0]
    commit()
    pid = votes.opened_poll()
    display = connect(auth={"token": token})
    ack = display.emit("ballot.cast", {"poll_id": pid, "choice": "yes", "idempotency_key": "display-key-0000001"},
                       callback=True)
    assert ack["error"]["status"] == 403


def test_the_snapshot_carries_the_open_poll_with_my_ballots(votes, world, connect):
    pid = votes.opened_poll(secret=True)
    votes.cast(pid, world.delegate, "yes")
    snap = connect(world.delegate).emit("join", {"meeting_id": votes.meeting.id}, callback=True)["snapshot"]
    poll = next(p for p in snap["polls"] if p["poll_id"] == pid)
    assert poll["state"] == "open" and poll["progress"] == {"cast": 1, "eligible": 3}
    assert poll["my_ballots"] == [{"for_user_id": world.delegate.id, "full_name": "Đại biểu A", "proxy": False,
                                   "cast": True}]


def test_bad_ballots_over_the_socket_get_a_4xx_and_write_nothing(votes, world, other_world, connect):
    from meetings.auth.models import ApiToken
    from meetings.auth.operations import revoke_token
    from meetings.core.tx import begin_write, commit
    from meetings.voting.operations import create_poll

    pid = votes.opened_poll()
    foreign = other_world.meeting("in_session")
    begin_write()
    foreign_poll = create_poll(foreign.id, title="Một biểu quyết của cơ quan khác", secret=False, rule=None,
                               options=None, max_choices=1, agenda_item_id=None, duration_seconds=None,
                               allow_change=False, actor=other_world.secretary).id
    commit()
    tablet = connect(world.delegate)
    key = {"idempotency_key": "socket-bad-input-0001"}
    for bad, status in ((None, 400), ([pid, "yes"], 400), (5, 400),
                        ({"poll_id": str(pid), "choice": "yes", **key}, 400),  # strict types
                        ({"poll_id": pid, "choice": 1, **key}, 400),
                        ({"poll_id": pid, "choice": "yes", "choices": ["yes"], **key}, 400),
                        ({"poll_id": pid, "choice": "yes", "weight": 5, **key}, 400),  # unknown field
                        ({"poll_id": foreign_poll, "choice": "yes", **key}, 404),  # another meeting's poll
                        ({"poll_id": pid, "choice": "yes", "for_user_id": other_world.delegate.id, **key}, 404),
                        ({"poll_id": pid, "choice": "yes", "for_user_id": world.delegate2.id, **key}, 403)):
        ack = tablet.emit("ballot.cast", bad, callback=True)
        assert ack["error"]["status"] == status and ack["error"]["detail"], (bad, ack)
    begin_write()
    for token in db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == world.delegate.id)).scalars():
        revoke_token(token)
    commit()
    ack = tablet.emit("ballot.cast", {"poll_id": pid, "choice": "yes", **key}, callback=True)
    assert ack["error"]["status"] == 401  # the batch re-checks the credential against the database
    late = connect(world.delegate2)
    votes.close(pid)
    ack = late.emit("ballot.cast", {"poll_id": pid, "choice": "yes", **key}, callback=True)
    assert ack["error"]["status"] == 409
    db.session.expire_all()
    assert db.session.execute(sa.select(Ballot.id).where(Ballot.poll_id.in_((pid, foreign_poll)))).first() is None
