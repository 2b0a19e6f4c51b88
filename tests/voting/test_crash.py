"""Crash: the server process is killed (SIGKILL) in the middle of a 200-voter storm over Socket.IO and started
again on the same database; every ballot acknowledged before the kill is there, and the tablets' retries with
their idempotency keys converge to exactly one ballot each (SQLite and PostgreSQL, named and secret polls).

The voters are the official socket.io-client in Node (tests/voting/crash_voters.js), 200 real WebSockets."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from meetings.extensions import db
from meetings.voting.models import Ballot, SecretChoice, SecretVoter
from tests.attendance.test_concurrency import add_delegates
from tests.fixtures.live_server import ROOT, ServerProcess

VOTERS = 200
KILL_AFTER_ACKS = 60
CHOICES = ("yes", "no", "abstain")


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "socket.io-client").exists():
        pytest.fail("node and node_modules/socket.io-client are required (scripts/dev.sh installs them)")
    return node


class Voters:
    """The Node fleet, its JSON lines read by a thread into a queue as they arrive."""

    def __init__(self, config: Path):
        self.proc = subprocess.Popen([_node(), str(Path(__file__).with_name("crash_voters.js")), str(config)],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def next(self, timeout: float = 60) -> dict:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"the voters said nothing for {timeout} s: {self.proc.stderr.read()[-2000:]}")


@pytest.mark.parametrize("secret", [False, True], ids=["named", "secret"])
def test_kill_9_during_a_200_voter_storm_loses_no_acknowledged_ballot(app, votes, tmp_path, secret):
    tokens = add_delegates(votes.meeting, VOTERS)
    poll_id = votes.opened_poll(secret=secret, rule="simple")
    db.session.commit()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": app.config["SECRET_KEY"], "PYTHONUNBUFFERED": "1"})
    if db.engine.dialect.name == "postgresql":
        env["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    server = ServerProcess(env, tmp_path / "server-before.log")
    config = tmp_path / "voters.json"
    config.write_text(json.dumps({"url": server.url, "pollId": poll_id, "tokens": tokens, "spreadMs": 3000,
                                  "choices": [CHOICES[n % 3] for n in range(VOTERS)]}))
    voters = Voters(config)
    restarted = None
    try:
        assert voters.next() == {"connected": VOTERS}
        before: dict[int, str] = {}  # voter -> receipt acknowledged by the server that is about to die
        while len(before) < KILL_AFTER_ACKS:
            line = voters.next()
            assert "receipt" in line, line
            before[line["i"]] = line["receipt"]
        server.proc.kill()  # SIGKILL: no shutdown, no flush, in the middle of the storm
        server.proc.wait(10)
        assert len(before) < VOTERS
        time.sleep(0.5)
        restarted = ServerProcess(env, tmp_path / "server-after.log", port=server.port)
        answers: dict[int, list[dict]] = {}
        while (line := voters.next()) != {"done": True}:
            assert "receipt" in line, line  # no voter is ever refused: retries are answered, not rejected
            answers.setdefault(line["i"], []).append(line)
        assert voters.proc.wait(10) == 0
    finally:
        voters.close()
        server.stop()
        if restarted is not None:
            restarted.stop()

    # Every voter ended with one receipt, the same on every ack it had, before the kill and after the restart.
    final = {}
    for i in range(VOTERS):
        receipts = {a["receipt"] for a in answers.get(i, [])} | ({before[i]} if i in before else set())
        assert len(receipts) == 1, (i, receipts)
        final[i] = receipts.pop()
        after = [a for a in answers[i] if a["connection"] > 1]
        assert after and (i not in before or all(a["repeated"] for a in after))
    db.session.expire_all()
    if secret:
        stored = dict(db.session.execute(sa.select(SecretChoice.receipt, SecretChoice.choices).where(
            SecretChoice.poll_id == poll_id)).all())
        voters_rows = db.session.execute(sa.select(sa.func.count()).select_from(SecretVoter).where(
            SecretVoter.poll_id == poll_id)).scalar_one()
        assert voters_rows == VOTERS
    else:
        stored = dict(db.session.execute(sa.select(Ballot.receipt, Ballot.choices).where(
            Ballot.poll_id == poll_id)).all())
    assert len(stored) == VOTERS  # exactly one ballot per voter
    assert set(before.values()) <= set(stored)  # everything acknowledged before the kill survived it
    assert all(stored[final[i]] == [CHOICES[i % 3]] for i in range(VOTERS))  # each receipt names its own choice
    result = votes.close(poll_id).json["result"]
    assert result["cast"] == VOTERS
    assert result["counts"] == {c: sum(1 for i in range(VOTERS) if CHOICES[i % 3] == c) for c in CHOICES}
