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
from typing import Any

import sqlalchemy as sa
from flask import request
from flask_socketio import SocketIO
from pydantic import ValidationError

from meetings.auth.models import ApiToken, User
from meetings.core.batching import GroupCommit
from meetings.core.db import utcnow
from meetings.core.errors import DomainError, Forbidden
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.voting.api import choices_of
from meetings.voting.casting import Cast, CastRequest, cast_ballot, cast_ballots
from meetings.voting.models import Poll
from meetings.voting.schemas import BallotSocketIn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Queued:
    user_id: int
    token_digest: str | None
    epoch: int | None
    data: BallotSocketIn
    choices: list[str]


def _ack(cast: Cast) -> dict[str, Any]:
    return {"poll_id": cast.poll_id, "receipt": cast.receipt, "choices": cast.choices, "repeated": not cast.changed}


def decide_casts(batch: list[_Queued]) -> list[dict[str, Any] | None]:
    """One transaction for the whole batch: an ack for each cast committed (or answered from an earlier
    commit), None for those to be decided alone."""
    answers: list[dict[str, Any] | None] = [None] * len(batch)
    try:
        begin_write()
        users = _users_with_valid_credentials(batch)
        todo = [(n, users[n]) for n in range(len(batch)) if users[n] is not None]
        results = cast_ballots([CastRequest(user, q.data.poll_id, q.choices, q.data.idempotency_key,
                                            q.data.for_user_id) for q, user in ((batch[n], u) for n, u in todo)])
        commit()
    except Exception:
        db.session.rollback()
        log.exception("a batch of %s ballots failed; each is decided alone", len(batch))
        return answers
    for (n, _user), result in zip(todo, results):
        if isinstance(result, Cast):
            answers[n] = _ack(result)
    return answers


def _users_with_valid_credentials(batch: list[_Queued]) -> list[User | None]:
    """The batch form of the per-event check: the user behind each socket, if still active and its token or
    page ticket still valid (two queries for any number of sockets)."""
    users = {u.id: u for u in db.session.execute(
        sa.select(User).where(User.id.in_(sorted({q.user_id for q in batch})))).scalars()}
    digests = {q.token_digest for q in batch if q.token_digest is not None}
    live = set(db.session.execute(sa.select(ApiToken.token_hash).where(
        ApiToken.token_hash.in_(sorted(digests)), ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())).scalars()) \
        if digests else set()
    out: list[User | None] = []
    for q in batch:
        user = users.get(q.user_id)
        valid = user is not None and user.active and (
            q.epoch == user.session_epoch if q.epoch is not None else q.token_digest in live)
        out.append(user if valid else None)
    return out


ballot_box: GroupCommit[_Queued, dict[str, Any] | None] = GroupCommit(decide_casts)


def register_ballot_handlers(sio: SocketIO) -> None:
    from flask_babel import gettext as _

    from meetings.core.errors import NotFound
    from meetings.realtime.server import DisplayCaller, connections, socket_event

    @socket_event(sio, BallotSocketIn, writes=True)
    def cast_alone(data: BallotSocketIn, *, actor):
        if isinstance(actor, DisplayCaller):
            raise Forbidden(_("A hall display only shows; it cannot vote."))
        # Only the poll's meeting: the poll itself is read, locked, by cast_ballot (a copy read here would be
        # what it used, and could be one read before a close committed).
        meeting_id = db.session.execute(sa.select(Poll.meeting_id).where(Poll.id == data.poll_id)).scalar()
        if meeting_id is None:
            raise NotFound(_("Poll %(id)s does not exist in this meeting.", id=data.poll_id))
        return _ack(cast_ballot(meeting_id, data.poll_id, choices_of(data), data.idempotency_key, actor=actor,
                                for_user_id=data.for_user_id))

    @sio.on("ballot.cast")
    def on_ballot(data: Any = None):
        conn = connections(sio).get(request.sid)
        if conn is not None and conn.user_id is not None and isinstance(data, dict):
            try:
                payload = BallotSocketIn.model_validate(data, strict=True)
                choices = choices_of(payload)
            except (ValidationError, DomainError):
                payload = None  # the plain handler explains what is wrong
            if payload is not None:
                answer = ballot_box.submit(_Queued(conn.user_id, conn.token_digest, conn.epoch, payload, choices))
                if answer is not None:
                    return answer
        return cast_alone(data)
