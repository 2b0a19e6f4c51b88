"""``ballot.cast {poll_id, choice | choices, idempotency_key, for_user_id?}`` over Socket.IO: the same operation as
the REST endpoint, acknowledged with ``{poll_id, receipt, choices, repeated}`` after the commit, or ``{error}``.

Casts go through a group commit (meetings.core.batching): the casts that arrive while a transaction commits
are decided together in the next one — the sockets' credentials checked in two queries, the ballots decided
by ``cast_ballots`` — and each is acknowledged after that commit. A cast the batch refuses (or any failure of
the batch) is decided again alone, in its own transaction and its caller's language, by the plain handler:
the refusal a tablet reads is the one it would have had on its own.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import request
from flask_socketio import SocketIO
from pydantic import ValidationError

from meetings.auth.models import User
from meetings.core.batching import GroupCommit
from meetings.core.db import one_of
from meetings.core.errors import DomainError, Forbidden
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.realtime.credentials import credential_ok, live_api_tokens
from meetings.voting.casting import Cast, CastRequest, cast_ballot, cast_ballots
from meetings.voting.schemas import BallotSocketIn

if TYPE_CHECKING:
    from meetings.realtime.server import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Queued:
    conn: Connection
    data: BallotSocketIn
    choices: list[str]


def decide_casts(batch: list[_Queued]) -> list[dict[str, Any] | None]:
    """One transaction for the whole batch: an ack for each cast committed (or answered from an earlier
    commit), None for those to be decided alone."""
    answers: list[dict[str, Any] | None] = [None] * len(batch)
    try:
        begin_write()
        users = _users_with_valid_credentials(batch)
        todo = [n for n in range(len(batch)) if users[n] is not None]
        results = cast_ballots([CastRequest(users[n], batch[n].data.poll_id, batch[n].choices,
                                            batch[n].data.idempotency_key, batch[n].data.for_user_id)
                                for n in todo])
        commit()
    except Exception:
        db.session.rollback()
        log.exception("a batch of %s ballots failed; each is decided alone", len(batch))
        return answers
    for n, result in zip(todo, results):
        if isinstance(result, Cast):
            answers[n] = result.ack()
    return answers


def _users_with_valid_credentials(batch: list[_Queued]) -> list[User | None]:
    """The batch form of the per-event check (meetings.realtime.credentials): the user behind each socket, if
    its credential still holds (two queries for any number of sockets)."""
    users = {u.id: u for u in db.session.execute(
        sa.select(User).where(one_of(User.id, {q.conn.user_id for q in batch}))).scalars()}
    live = live_api_tokens(q.conn.token_digest for q in batch if q.conn.epoch is None)
    out: list[User | None] = []
    for q in batch:
        user = users.get(q.conn.user_id)
        out.append(user if credential_ok(user, q.conn.epoch, q.conn.token_digest, live) else None)
    return out


ballot_box: GroupCommit[_Queued, dict[str, Any] | None] = GroupCommit(decide_casts)


def register_ballot_handlers(sio: SocketIO) -> None:
    from flask_babel import gettext as _

    from meetings.realtime.server import DisplayCaller, connections, socket_event

    @socket_event(sio, BallotSocketIn, writes=True)
    def cast_alone(data: BallotSocketIn, *, actor):
        if isinstance(actor, DisplayCaller):
            raise Forbidden(_("A hall display only shows; it cannot vote."))
        return cast_ballot(None, data.poll_id, data.choice_list(), data.idempotency_key, actor=actor,
                           for_user_id=data.for_user_id).ack()

    @sio.on("ballot.cast")
    def on_ballot(data: Any = None):
        conn = connections(sio).get(request.sid)
        if conn is not None and conn.user_id is not None and isinstance(data, dict):
            try:
                payload = BallotSocketIn.model_validate(data, strict=True)
                choices = payload.choice_list()
            except (ValidationError, DomainError):
                payload = None  # the plain handler explains what is wrong
            if payload is not None:
                answer = ballot_box.submit(_Queued(conn, payload, choices))
                if answer is not None:
                    return answer
        return cast_alone(data)
