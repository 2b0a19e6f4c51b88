"""Votes under load through the real REST endpoint, on SQLite and PostgreSQL: 500 voters each sending their
ballot three times with the same key (exactly 500 ballots), ballots racing the close (the tally equals what
was acknowledged), one member on two tablets (one ballot)."""
from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask.testing import FlaskClient

from meetings.extensions import db
from meetings.voting.models import Ballot, Poll
from tests.attendance.test_concurrency import add_delegates

THREADS = 48


def fire(app, jobs, threads=THREADS):
    """Run ``job(client)`` for every job on a pool of plain clients (one per thread), all started together."""
    start = threading.Barrier(min(threads, len(jobs)))
    local = threading.local()

    def run(job):
        if not hasattr(local, "client"):
            local.client = FlaskClient(app, app.response_class, use_cookies=False)
            start.wait(timeout=60)
        return job(local.client)

    db.session.commit()
    with ThreadPoolExecutor(max_workers=min(threads, len(jobs))) as pool:
        return list(pool.map(run, jobs))


def ballot_job(url, token, choice, key):
    def job(client):
        resp = client.post(url, headers={"Authorization": f"Bearer {token}"},
                           json={"choice": choice, "idempotency_key": key})
        return resp.status_code, (resp.get_json() or {}).get("receipt")
    return job


def test_500_voters_three_times_each_make_exactly_500_ballots(app, votes, world):
    tokens = add_delegates(votes.meeting, 500)
    pid = votes.opened_poll(rule="simple")
    url = f"{votes.base}/polls/{pid}/ballots"
    jobs = []
    for n, token in enumerate(tokens):
        key = f"storm-{n:04d}-{secrets.token_hex(6)}"
        jobs += [ballot_job(url, token, "yes" if n % 3 else "no", key)] * 3
    results = fire(app, jobs)
    assert [s for s, _ in results] == [200] * 1500
    by_voter = {}
    for n, (_status, receipt) in enumerate(results):
        by_voter.setdefault(n // 3, set()).add(receipt)
    assert all(len(receipts) == 1 for receipts in by_voter.values())  # each retry got the same receipt
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Ballot).where(Ballot.poll_id == pid)).scalar_one() == 500
    result = votes.close(pid).json["result"]
    assert result["cast"] == 500 and result["counts"]["yes"] + result["counts"]["no"] == 500


def test_ballots_racing_the_close_are_counted_exactly_when_acknowledged(app, votes, world):
    tokens = add_delegates(votes.meeting, 50)
    pid = votes.opened_poll(secret=True, rule="simple")
    url = f"{votes.base}/polls/{pid}/ballots"
    chair = votes.headers(world.chair)["Authorization"].split()[1]
    jobs = [ballot_job(url, t, "yes", f"race-{n:03d}-{secrets.token_hex(6)}") for n, t in enumerate(tokens)]

    def close(client):
        resp = client.post(f"{votes.base}/polls/{pid}/close", headers={"Authorization": f"Bearer {chair}"})
        return resp.status_code, None
    jobs.insert(25, close)
    results = fire(app, jobs, threads=26)
    acknowledged = sum(1 for n, (status, receipt) in enumerate(results) if n != 25 and status == 200)
    refused = sum(1 for n, (status, _r) in enumerate(results) if n != 25 and status == 409)
    assert results[25][0] == 200 and acknowledged + refused == 50
    db.session.expire_all()
    poll = db.session.get(Poll, pid)
    assert poll.state == "closed" and poll.result["cast"] == acknowledged == poll.result["counts"]["yes"]


def test_one_member_on_two_tablets_votes_once(app, votes, world):
    pid = votes.opened_poll()
    url = f"{votes.base}/polls/{pid}/ballots"
    token_a = votes.headers(world.delegate)["Authorization"].split()[1]
    from meetings.auth.operations import issue_token
    from meetings.core.tx import commit
    token_b, _row = issue_token(world.delegate)  # the second tablet has its own login
    commit()
    jobs = [ballot_job(url, token_a, "yes", f"tablet-a-{secrets.token_hex(8)}"),
            ballot_job(url, token_b, "no", f"tablet-b-{secrets.token_hex(8)}")] * 10
    results = fire(app, jobs, threads=20)
    statuses = sorted(s for s, _ in results)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}
    db.session.expire_all()
    ballots = db.session.execute(sa.select(Ballot).where(Ballot.poll_id == pid)).scalars().all()
    assert len(ballots) == 1
    winner = ballots[0]
    assert all(r == winner.receipt for s, r in results if s == 200)  # every success names the one ballot
