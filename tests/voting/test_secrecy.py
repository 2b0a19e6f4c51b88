"""After a secret poll, a full dump of the database (SQLite's own dump, pg_dump) and the log hold no link
between a voter and a choice: the two tables share nothing, carry no time, and their rows are stored in key
order, not in the order the ballots came in."""
from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from meetings.extensions import db
from meetings.meeting.models import Participant
from meetings.voting.models import SecretChoice, SecretVoter
from tests.attendance.test_concurrency import add_delegates


def dump(app) -> str:
    url = db.engine.url
    db.session.commit()
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(Path(app.config["DATA_DIR"]) / "meetings.db") as conn:
            return "\n".join(conn.iterdump())
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    out = subprocess.run(["pg_dump", "--data-only", "--inserts", plain], capture_output=True, text=True, check=True)
    return out.stdout


def rows_of(text: str, table: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(rf'INSERT INTO ("?public"?\.)?"?{table}"?', line)]


def test_a_dump_after_a_secret_poll_links_no_voter_to_a_choice(app, votes, world, caplog):
    caplog.set_level(logging.DEBUG)
    add_delegates(votes.meeting, 30)
    pid = votes.opened_poll(secret=True, rule="simple")
    voters = list(db.session.execute(sa.select(Participant).where(
        Participant.meeting_id == votes.meeting.id, Participant.can_vote.is_(True))
        .order_by(Participant.id.desc())).scalars())  # vote in the reverse order of their ids
    from meetings.voting.casting import cast_ballot
    from meetings.core.tx import begin_write, commit
    order = []
    for n, p in enumerate(voters):
        begin_write()
        cast = cast_ballot(votes.meeting.id, pid, ["yes" if n % 2 else "no"], f"secrecy-test-key-{n:04d}",
                           actor=p.user)
        commit()
        order.append((p.id, cast.receipt))
    from meetings.voting.progress import flush_progress
    assert flush_progress() == 1
    assert votes.close(pid).status_code == 200
    text = dump(app)
    voter_rows = rows_of(text, "secret_voters")
    choice_rows = rows_of(text, "secret_choices")
    assert len(voter_rows) == len(choice_rows) == len(voters)
    # Stored in key order: participant ids ascending, receipts ascending — not the voting order.
    stored_ids = [int(re.search(r"VALUES ?\((\d+), ?(\d+),", row).group(2)) for row in voter_rows]
    assert stored_ids == sorted(stored_ids) and stored_ids != [pid_ for pid_, _ in order]
    stored_receipts = [re.search(r"'([0-9a-f]{20})'", row).group(1) for row in choice_rows]
    assert stored_receipts == sorted(stored_receipts)
    # No receipt appears in clear next to a voter, anywhere in the dump or the log.
    for _pid, receipt in order:
        assert text.count(receipt) == 1, "a receipt appears outside secret_choices"
        assert receipt not in caplog.text
        assert not any(receipt in row for row in voter_rows)
    # Neither table has a time or a serial column to correlate.
    for table in (SecretVoter.__table__, SecretChoice.__table__):
        assert not any(isinstance(c.type, sa.DateTime) or c.name in ("id", "created_at") for c in table.columns)
    # While it was open, the room learnt how many had voted, never what.
    tallies = [row for row in rows_of(text, "meeting_events") if "poll.tally" in row]
    assert tallies and not any("counts" in row for row in tallies)
    assert "secrecy-test-key" not in text  # the idempotency keys are kept hashed only
