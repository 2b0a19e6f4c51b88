"""Many ballots decided in one transaction (``cast_ballots``), on SQLite and PostgreSQL: each answered as if it had
been alone — retries and second tablets inside one batch, refusals that write nothing, proxies, another
meeting's poll — and a twin committed by another worker between our read and our write (PostgreSQL, where
two writers can race). Then the group commit itself: concurrent submitters share transactions and each gets
its own answer; a failing batch hands every request back to be decided alone."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from meetings.core import batching
from meetings.core.batching import GroupCommit
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.voting import casting
from meetings.voting.casting import Cast, CastRequest, cast_ballots
from meetings.voting.models import Ballot, Poll, SecretChoice, SecretVoter
from tests.fixtures.factories import row_counts


def decide(*requests: CastRequest) -> list:
    begin_write()
    results = cast_ballots(list(requests))
    commit()
    return results


def test_a_batch_answers_each_request_as_if_it_were_alone(votes, world, other_world):
    pid = votes.opened_poll()
    d1, d2, chair = world.delegate, world.delegate2, world.chair
    foreign = other_world.meeting("in_session")
    results = decide(
        CastRequest(d1, pid, ["yes"], "d1-key-0000000001"),
        CastRequest(d1, pid, ["yes"], "d1-key-0000000001"),  # the same tablet retrying inside the batch
        CastRequest(d1, pid, ["no"], "d1-other-tablet-01"),  # a second tablet: refused, counted once
        CastRequest(d2, pid, ["maybe"], "d2-key-0000000001"),  # an unknown option
        CastRequest(d2, pid + 999, ["yes"], "d2-key-0000000002"),  # no such poll
        CastRequest(d2, pid, ["yes"], "d2-key-0000000003", meeting_id=foreign.id),  # the poll of another meeting
        CastRequest(chair, pid, ["no"], "chair-key-00000001"),
    )
    assert isinstance(results[0], Cast) and results[0].changed
    assert results[1] == Cast(pid, results[0].receipt, ["yes"], False)
    assert isinstance(results[2], Conflict)
    assert isinstance(results[3], Unprocessable) and "maybe" in results[3].detail
    assert isinstance(results[4], NotFound)
    assert isinstance(results[5], (NotFound, Forbidden))
    assert isinstance(results[6], Cast) and results[6].changed
    db.session.expire_all()
    rows = db.session.execute(sa.select(Ballot.receipt, Ballot.choices).where(Ballot.poll_id == pid)).all()
    assert sorted(map(tuple, rows)) == sorted([(results[0].receipt, ["yes"]), (results[6].receipt, ["no"])])
    # The refused delegate decides alone afterwards and is still refused only where it should be.
    again = decide(CastRequest(d2, pid, ["abstain"], "d2-key-0000000004"))
    assert isinstance(again[0], Cast)


def test_a_secret_batch_with_retries_writes_one_pair_per_voter(votes, world):
    pid = votes.opened_poll(secret=True)
    d1, d2 = world.delegate, world.delegate2
    results = decide(CastRequest(d2, pid, ["no"], "secret-d2-key-0001"),
                     CastRequest(d1, pid, ["yes"], "secret-d1-key-0001"),
                     CastRequest(d1, pid, ["yes"], "secret-d1-key-0001"),
                     CastRequest(d1, pid, ["no"], "secret-d1-key-0002"))
    assert results[2] == Cast(pid, results[1].receipt, ["yes"], False)
    assert isinstance(results[3], Conflict)
    db.session.expire_all()
    choices = dict(db.session.execute(sa.select(SecretChoice.receipt, SecretChoice.choices)
                                      .where(SecretChoice.poll_id == pid)).all())
    assert choices == {results[0].receipt: ["no"], results[1].receipt: ["yes"]}
    assert db.session.execute(sa.select(sa.func.count()).select_from(SecretVoter)
                              .where(SecretVoter.poll_id == pid)).scalar_one() == 2
    # A retry in a later batch unseals its receipt from the voter row.
    assert decide(CastRequest(d1, pid, ["yes"], "secret-d1-key-0001"))[0] == Cast(pid, results[1].receipt,
                                                                                     ["yes"], False)


def test_a_batch_that_changes_a_ballot_twice_keeps_the_last_choice(votes, world):
    pid = votes.opened_poll(allow_change=True)
    d1 = world.delegate
    first, second, third = decide(CastRequest(d1, pid, ["yes"], "change-key-000001"),
                                  CastRequest(d1, pid, ["no"], "change-key-000002"),
                                  CastRequest(d1, pid, ["abstain"], "change-key-000003"))
    assert first.receipt == second.receipt == third.receipt
    later = decide(CastRequest(d1, pid, ["yes"], "change-key-000004"))[0]
    assert later.receipt == first.receipt
    db.session.expire_all()
    assert db.session.execute(sa.select(Ballot.choices).where(Ballot.poll_id == pid)).scalars().all() == [["yes"]]


def test_a_refused_batch_writes_nothing(votes, world):
    pid = votes.opened_poll()
    before = row_counts()
    results = decide(CastRequest(world.guest, pid, ["yes"], "guest-key-0000001"),
                     CastRequest(world.delegate, pid, [], "empty-choice-key-01"),
                     CastRequest(world.delegate, pid, ["yes", "no"], "two-choices-key-01"))
    assert [type(r) for r in results] in ([Forbidden, Unprocessable, Unprocessable],
                                          [NotFound, Unprocessable, Unprocessable])
    assert row_counts() == before


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("secret", [False, True], ids=["named", "secret"])
def test_a_twin_committed_by_another_worker_meanwhile(votes, world, app, monkeypatch, secret):
    """Between our batch's reads and its INSERT, another worker commits the same member's ballot (PostgreSQL:
    SQLite's single writer cannot interleave like this). The database refuses our row; the same key is
    answered with the twin's receipt, another key with 409 — and a retry later in our batch follows suit."""
    pid = votes.opened_poll(secret=secret)
    d1 = world.delegate
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    original = casting._Batch._write
    twin_key = "twin-key-from-worker-b"
    injected: list[str] = []

    def other_worker_first(batch):
        with engine.begin() as conn:  # a second connection: a second worker's transaction
            member = next(iter(batch.new_secret if secret else batch.new_named))[1]
            receipt = f"twinreceipt{member:09d}"
            injected.append(receipt)
            if secret:
                conn.execute(sa.insert(SecretVoter).values(poll_id=pid, for_participant_id=member,
                                                           key_hash=casting._key_hash(twin_key, pid, member),
                                                           sealed_receipt=casting._seal(twin_key, pid, member, receipt)))
                conn.execute(sa.insert(SecretChoice).values(receipt=receipt, poll_id=pid,
                                                            choices=["no"], weight=1))
            else:
                conn.execute(sa.insert(Ballot).values(poll_id=pid, for_participant_id=member,
                                                      cast_by_participant_id=member, choices=["no"], weight=1,
                                                      receipt=receipt, idempotency_key=twin_key))
        return original(batch)

    monkeypatch.setattr(casting._Batch, "_write", other_worker_first)
    try:
        same, retry, chair = decide(CastRequest(d1, pid, ["no"], twin_key), CastRequest(d1, pid, ["no"], twin_key),
                                    CastRequest(world.chair, pid, ["yes"], "chair-key-00000001"))
        assert same == retry == Cast(pid, injected[0], ["no"], False)
        assert isinstance(chair, Cast) and chair.changed
        other = decide(CastRequest(world.delegate2, pid, ["yes"], "d2-key-00000000001"),
                       CastRequest(world.delegate2, pid, ["yes"], "d2-key-00000000001"))
        assert all(isinstance(r, Conflict) for r in other)  # the twin carried another key
    finally:
        engine.dispose()
    db.session.expire_all()
    table = SecretVoter if secret else Ballot
    assert db.session.execute(sa.select(sa.func.count()).select_from(table)
                              .where(table.poll_id == pid)).scalar_one() == 3


def test_group_commit_shares_transactions_and_answers_each_its_own():
    seen: list[list[int]] = []

    def decide_batch(items: list[int]) -> list[int]:
        seen.append(list(items))
        time.sleep(0.02)  # a commit takes a while; more requests arrive meanwhile
        return [i * 10 for i in items]

    box: GroupCommit[int, int] = GroupCommit(decide_batch)
    answers: dict[int, int | None] = {}
    start = threading.Barrier(40)

    def submit(i: int) -> None:
        start.wait()
        answers[i] = box.submit(i)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert answers == {i: i * 10 for i in range(40)}
    assert sorted(i for batch in seen for i in batch) == list(range(40))  # each decided exactly once
    assert len(seen) < 40 and max(len(b) for b in seen) > 1  # and some together
    assert box.batches == len(seen) and box.items == 40


def test_a_failed_batch_does_not_stall_the_requests_behind_it():
    calls: list[list[int]] = []
    second_queued = threading.Event()

    def flaky(items: list[int]) -> list[str]:
        calls.append(list(items))
        if len(calls) == 1:
            second_queued.wait(5)
            time.sleep(0.05)
            raise RuntimeError("the database went away")
        return ["ok"] * len(items)

    box: GroupCommit[int, str] = GroupCommit(flaky)
    out: dict[int, str | None] = {}

    def first() -> None:
        try:
            box.submit(1)
        except RuntimeError:
            out[1] = "raised"

    def second() -> None:
        out[2] = box.submit(2)

    leader = threading.Thread(target=first)
    leader.start()
    while not calls:
        time.sleep(0.005)
    follower = threading.Thread(target=second)
    follower.start()
    time.sleep(0.05)
    second_queued.set()
    leader.join(5)
    follower.join(5)
    assert out == {1: "raised", 2: "ok"} and calls == [[1], [2]]
    assert box.submit(3) == "ok"  # and the box is not stuck


def test_after_closing_a_second_ballot_hears_that_the_poll_is_closed(votes, world):
    pid = votes.opened_poll(allow_change=True)
    first = decide(CastRequest(world.delegate, pid, ["yes"], "closed-poll-key-001"))[0]
    assert votes.close(pid).status_code == 200
    late = decide(CastRequest(world.delegate, pid, ["no"], "closed-poll-key-002"),  # a change, too late
                  CastRequest(world.delegate2, pid, ["no"], "closed-poll-key-003"),  # a first ballot, too late
                  CastRequest(world.delegate, pid, ["yes"], "closed-poll-key-001"))  # the acked one, retried
    assert [type(r) for r in late[:2]] == [Conflict, Conflict]
    assert [(r.detail, r.extra["state"]) for r in late[:2]] == [("Biểu quyết đã kết thúc.", "closed")] * 2
    assert late[2] == Cast(pid, first.receipt, ["yes"], False)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_poll_closed_after_the_caster_read_it_refuses_the_ballot(votes, world, app):
    """A copy of the poll read earlier in the session (still "open") must not decide: the batch's locked read
    does (PostgreSQL: the close commits between the two reads)."""
    pid = votes.opened_poll()
    begin_write()
    stale = db.session.get(Poll, pid)  # held in the identity map, as a handler that read it holds it
    assert stale.state == "open"
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as conn:  # another worker closes the poll meanwhile
            conn.execute(sa.update(Poll).where(Poll.id == pid).values(state="closed"))
    finally:
        engine.dispose()
    result = cast_ballots([CastRequest(world.delegate, pid, ["yes"], "after-close-key-001")])[0]
    commit()
    assert isinstance(result, Conflict) and result.extra["state"] == "closed" and stale.state == "closed"
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ballot)
                              .where(Ballot.poll_id == pid)).scalar_one() == 0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_twin_with_another_key_is_changed_when_the_poll_allows_it(votes, world, app, monkeypatch):
    pid = votes.opened_poll(allow_change=True)
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    original = casting._Batch._write

    def other_worker_first(batch):
        member = next(iter(batch.new_named))[1]
        with engine.begin() as conn:
            conn.execute(sa.insert(Ballot).values(poll_id=pid, for_participant_id=member, cast_by_participant_id=member,
                                                  choices=["no"], weight=1, receipt="twinreceipt-allowed",
                                                  idempotency_key="twin-key-other-tablet"))
        return original(batch)

    monkeypatch.setattr(casting._Batch, "_write", other_worker_first)
    try:
        (mine,) = decide(CastRequest(world.delegate, pid, ["yes"], "my-key-0000000001"))
    finally:
        engine.dispose()
    assert mine == Cast(pid, "twinreceipt-allowed", ["yes"], True)  # after the twin, as a change
    db.session.expire_all()
    assert db.session.execute(sa.select(Ballot.choices, Ballot.idempotency_key).where(Ballot.poll_id == pid)) \
        .one() == (["yes"], "my-key-0000000001")


def test_a_caller_killed_while_waiting_passes_the_lead_on(monkeypatch):
    class Killed(BaseException):
        pass

    release = threading.Event()
    seen: list[list[int]] = []

    def slow(items: list[int]) -> list[int]:
        seen.append(list(items))
        if len(seen) == 1:
            release.wait(5)
        return [i * 10 for i in items]

    class DyingSlot(batching._Slot):
        """The slot of item 2: its caller dies (GreenletExit, a timeout) when woken."""

        def __init__(self, item):
            super().__init__(item)
            if item == 2:
                inner = self.done

                class Dying:
                    def set(self):
                        inner.set()

                    def wait(self, timeout=None):
                        inner.wait(5)
                        raise Killed()
                self.done = Dying()

    monkeypatch.setattr(batching, "_Slot", DyingSlot)
    box: GroupCommit[int, int] = GroupCommit(slow)
    out: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            out[i] = box.submit(i)
        except Killed:
            out[i] = "killed"

    threads = [threading.Thread(target=call, args=(i,)) for i in (1, 2, 3)]
    threads[0].start()
    while not seen:
        time.sleep(0.005)
    for t in threads[1:]:
        t.start()
        time.sleep(0.05)  # 2 queues before 3
    release.set()
    for t in threads:
        t.join(5)
    assert out == {1: 10, 2: "killed", 3: 30} and seen == [[1], [3]]  # 2 got the lead, died, 3 took it
    assert box.submit(4) == 40


def test_a_leader_killed_before_it_takes_its_batch_does_not_stall_the_box(monkeypatch):
    class Killed(BaseException):
        pass

    box: GroupCommit[int, int] = GroupCommit(lambda items: [i * 10 for i in items])
    real_sleep = batching.time.sleep
    calls = []

    def dying_sleep(seconds):
        calls.append(seconds)
        if len(calls) == 1:
            raise Killed()  # the leader's greenlet is killed at its one yield
        real_sleep(seconds)

    monkeypatch.setattr(batching.time, "sleep", dying_sleep)
    with pytest.raises(Killed):
        box.submit(1)
    monkeypatch.setattr(batching.time, "sleep", real_sleep)
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault(2, box.submit(2)))
    worker.start()
    worker.join(5)
    assert done == {2: 20}  # the next caller leads; nobody waits for the dead one
