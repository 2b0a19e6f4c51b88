"""Batched poll progress: ``poll.tally`` a few times a second, not once per ballot.

A cast marks its poll dirty after its commit (an outbox effect, so a rolled-back cast marks nothing). The
worker's background loop (``run_vote_loop``, started by ``python -m meetings serve``) then emits one
``poll.tally`` per dirty poll per tick — the running counts for a named poll, only the number of ballots for a
secret one — and closes the polls whose time is up. Each worker reports the polls its own casts touched; two
workers may both report a poll, which costs one extra event and tells nobody anything wrong.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask

from meetings.core.tx import add_after_commit_hook, begin_write, commit
from meetings.extensions import db

log = logging.getLogger(__name__)
TICK_SECONDS = 0.3
_dirty: set[tuple[int, int]] = set()
_lock = threading.Lock()


@dataclass(frozen=True)
class PollDirty:
    meeting_id: int
    poll_id: int


def _note(effects: list) -> None:
    with _lock:
        _dirty.update((e.meeting_id, e.poll_id) for e in effects if isinstance(e, PollDirty))


add_after_commit_hook(_note)


def flush_progress() -> int:
    """Emit one ``poll.tally`` per poll cast in since the last flush (inside an app context); returns how many."""
    from meetings.core.events import emit_event
    from meetings.voting.models import Poll
    from meetings.voting.operations import live_tally

    with _lock:
        pending = sorted(_dirty)
        _dirty.clear()
    sent = 0
    for meeting_id, poll_id in pending:
        try:
            begin_write()
            poll = db.session.get(Poll, poll_id)
            if poll is not None and poll.state == "open":
                emit_event(meeting_id, "poll.tally", live_tally(poll))
                sent += 1
            commit()
        except Exception:
            db.session.rollback()
            log.exception("poll progress for poll %s failed", poll_id)
    return sent


def tick(app: Flask) -> None:
    from meetings.voting.operations import close_due_polls

    with app.app_context():
        try:
            flush_progress()
            close_due_polls()
        finally:
            db.session.remove()


def run_vote_loop(app: Flask, sleep) -> None:
    """The worker's vote loop: ``sleep`` is the async mode's (gevent) sleep."""
    while True:
        sleep(TICK_SECONDS)
        try:
            tick(app)
        except Exception:
            log.exception("vote loop failed")
