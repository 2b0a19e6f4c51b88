"""Casting ballots: many at once, each answered as if it had been alone.

``cast_ballots`` decides a list of requests in the caller's write transaction with a fixed number of
statements, however long the list: the polls (FOR SHARE on PostgreSQL, so casts run side by side while
closing waits for them), the participants, the rights and the ballots already cast are read in one query
each, every request is decided in order (a retry inside the same list sees the ballot an earlier request
planned), and the new rows go in with one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per table. The
database's unique keys, not this code, make a double vote impossible: a row the database refused because
another worker's transaction cast the same member's ballot first is answered as that twin was (the same
idempotency key) or refused (409).

A REST request is a list of one (``cast_ballot``). Socket.IO casts go through ``meetings.voting.sockets.ballot_box``,
which gathers the casts that arrive while a transaction is committing and decides them together: one commit
for a whole storm of ballots instead of one each.

Casting writes no audit entry and no meeting event (both would serialize every ballot on one row): the record
of the ballots is their table, sealed into the audit chain at closing by a hash over all of them, and the room
sees the count of ballots (or the named tally) in batched ``poll.tally`` events from meetings.voting.progress.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.db import dialect_insert, utcnow
from meetings.core.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable
from meetings.core.tx import on_commit
from meetings.extensions import db
from meetings.meeting.access import load_meeting
from meetings.meeting.models import Participant
from meetings.voting.models import Ballot, Poll, PollRight, SecretChoice, SecretVoter


@dataclass(frozen=True)
class Cast:
    poll_id: int
    receipt: str
    choices: list[str]
    changed: bool  # False: the same request again (same idempotency key), nothing written

    def ack(self) -> dict[str, Any]:
        """The answer to the caster (REST and Socket.IO)."""
        return {"poll_id": self.poll_id, "receipt": self.receipt, "choices": self.choices, "repeated": not self.changed}


@dataclass(frozen=True)
class CastRequest:
    actor: User
    poll_id: int
    choices: list[str]
    key: str
    for_user_id: int | None = None
    meeting_id: int | None = None  # REST: the meeting of the URL; None: the poll's own (Socket.IO)


def cast_ballot(meeting_id: int | None, poll_id: int, choices: list[str], idempotency_key: str, *, actor: User,
                for_user_id: int | None = None) -> Cast:
    """Cast the actor's ballot (or, as a proxy holder, the ballot of ``for_user_id``); raises when refused.
    ``meeting_id``: the meeting the caller named (REST), or None for the poll's own (Socket.IO)."""
    result = cast_ballots([CastRequest(actor, poll_id, choices, idempotency_key, for_user_id, meeting_id)])[0]
    if isinstance(result, DomainError):
        raise result
    return result


def cast_ballots(requests: list[CastRequest]) -> list[Cast | DomainError]:
    """Decide every request in the current write transaction (the caller commits); one answer per request, in
    order: a Cast, or the error that refused it (nothing of a refused request is written)."""
    return _Batch(requests).run() if requests else []


# --- receipts and idempotency keys ----------------------------------------------------------------------------

def _seal(key: str, poll_id: int, participant_id: int, receipt: str) -> str:
    aes = AESGCM(_sealing_key(key, poll_id, participant_id))
    nonce = secrets.token_bytes(12)
    return base64.urlsafe_b64encode(nonce + aes.encrypt(nonce, receipt.encode(), None)).decode()


def _unseal(key: str, poll_id: int, participant_id: int, sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed.encode())
    return AESGCM(_sealing_key(key, poll_id, participant_id)).decrypt(raw[:12], raw[12:], None).decode()


def _sealing_key(key: str, poll_id: int, participant_id: int) -> bytes:
    return hashlib.sha256(f"phonghop ballot receipt {poll_id} {participant_id} {key}".encode()).digest()


def _key_hash(key: str, poll_id: int, participant_id: int) -> str:
    return hashlib.sha256(f"phonghop ballot key {poll_id} {participant_id} {key}".encode()).hexdigest()


def check_choices(poll: Poll, choices: list[str]) -> list[str]:
    keys = poll.option_keys
    unknown = [c for c in choices if c not in keys]
    if unknown:
        raise Unprocessable(_("Unknown choice: %(choices)s. The options are: %(options)s.",
                              choices=", ".join(unknown), options=", ".join(keys)))
    if len(set(choices)) != len(choices):
        raise Unprocessable(_("A choice is given twice."))
    if not choices:
        raise Unprocessable(_("Choose an option."))
    if len(choices) > poll.max_choices:
        raise Unprocessable(_("At most %(n)s choice(s) in this poll.", n=poll.max_choices))
    return sorted(choices, key=keys.index)


# --- the batch -----------------------------------------------------------------------------------------------

@dataclass
class _Named:
    """A named ballot already in the table, or planned by an earlier request of this batch."""

    key: str
    receipt: str
    choices: list[str]


@dataclass
class _Voter:
    """A secret ballot's voter row (what the table holds), or one planned by this batch (``planned`` receipt)."""

    key_hash: str
    sealed_receipt: str
    planned: tuple[str, list[str]] | None = None  # (receipt, choices) when written by this batch


class _Batch:
    def __init__(self, requests: list[CastRequest]):
        self.requests = requests
        self.results: list[Cast | DomainError | None] = [None] * len(requests)
        self.new_named: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}  # (poll, member) -> (request, row)
        self.new_secret: dict[tuple[int, int], tuple[int, dict[str, Any], dict[str, Any]]] = {}
        self.changes: dict[tuple[int, int], dict[str, Any]] = {}  # named ballots changed, by (poll, member)
        self.slots: dict[int, tuple[int, int]] = {}  # request -> (poll, member) whose ballot it is
        self.dirty: set[tuple[int, int]] = set()

    def run(self) -> list[Cast | DomainError]:
        self._load()
        for n, req in enumerate(self.requests):
            try:
                self.results[n] = self._decide(n, req)
            except DomainError as err:
                self.results[n] = err
        self._write()
        for meeting_id, poll_id in sorted(self.dirty):
            from meetings.voting.progress import PollDirty
            on_commit(PollDirty(meeting_id, poll_id))
        return self.results  # type: ignore[return-value]

    # One query per table, whatever the number of requests.
    def _load(self) -> None:
        poll_ids = sorted({r.poll_id for r in self.requests})
        self.polls = {p.id: p for p in db.session.execute(
            sa.select(Poll).where(Poll.id.in_(poll_ids)).with_for_update(read=True)
            .execution_options(populate_existing=True)).scalars()}  # the locked read, not a copy read earlier
        meeting_ids = sorted({p.meeting_id for p in self.polls.values()} |
                             {r.meeting_id for r in self.requests if r.meeting_id is not None})
        user_ids = sorted({r.actor.id for r in self.requests} | {r.for_user_id for r in self.requests if r.for_user_id})
        self.participants = {(p.meeting_id, p.user_id): p for p in db.session.execute(
            sa.select(Participant).where(Participant.meeting_id.in_(meeting_ids),
                                         Participant.user_id.in_(user_ids))).scalars()}
        member_ids = [p.id for p in self.participants.values()]
        self.rights = {(r.poll_id, r.for_participant_id): r for r in db.session.execute(
            sa.select(PollRight).where(PollRight.poll_id.in_(poll_ids),
                                       PollRight.for_participant_id.in_(member_ids))).scalars()}
        self.named = {(poll_id, member): _Named(key, receipt, choices) for poll_id, member, key, receipt, choices
                      in db.session.execute(sa.select(Ballot.poll_id, Ballot.for_participant_id,
                                                      Ballot.idempotency_key, Ballot.receipt, Ballot.choices)
                                            .where(Ballot.poll_id.in_(poll_ids),
                                                   Ballot.for_participant_id.in_(member_ids)))}
        self.voters = {(poll_id, member): _Voter(key_hash, sealed) for poll_id, member, key_hash, sealed
                       in db.session.execute(sa.select(SecretVoter.poll_id, SecretVoter.for_participant_id,
                                                       SecretVoter.key_hash, SecretVoter.sealed_receipt)
                                             .where(SecretVoter.poll_id.in_(poll_ids),
                                                    SecretVoter.for_participant_id.in_(member_ids)))}

    def _decide(self, n: int, req: CastRequest) -> Cast:
        poll = self.polls.get(req.poll_id)
        meeting_id = req.meeting_id if req.meeting_id is not None else poll.meeting_id if poll else None
        if meeting_id is None:
            raise NotFound(_("Poll %(id)s does not exist in this meeting.", id=req.poll_id))
        caster = self.participants.get((meeting_id, req.actor.id))
        if caster is None:
            try:
                load_meeting(meeting_id, req.actor)  # 404 if missing or invisible, else the 403 below
            except NotFound:
                if req.meeting_id is None:  # the caller named only the poll: its meeting's id is not theirs to learn
                    raise NotFound(_("Poll %(id)s does not exist in this meeting.", id=req.poll_id))
                raise
            raise Forbidden(_("Only members of the meeting vote."))
        if poll is None or poll.meeting_id != meeting_id:
            raise NotFound(_("Poll %(id)s does not exist in this meeting.", id=req.poll_id))
        choices = check_choices(poll, req.choices)  # bad input is named first, whatever the state
        owner = caster if req.for_user_id in (None, req.actor.id) else self.participants.get((meeting_id,
                                                                                              req.for_user_id))
        if owner is None:
            raise NotFound(_("User %(id)s is not a participant of this meeting.", id=req.for_user_id))
        self.slots[n] = (poll.id, owner.id)
        if poll.state != "open":
            previous = self._same_key(poll, owner.id, req.key)
            if previous is not None:  # a retry that arrives after closing still gets its answer
                return previous
            raise Conflict(_("The poll is closed.") if poll.state == "closed" else _("The poll is not open yet."),
                           extra={"state": poll.state})
        right = self.rights.get((poll.id, owner.id))
        if right is None or right.caster_participant_id != caster.id:
            raise Forbidden(_("You have no vote in this poll.") if owner.id == caster.id
                            else _("You do not hold this member's proxy for this poll."))
        previous = self._previous(poll, owner.id, req.key)
        if previous is not None:
            return previous
        receipt = secrets.token_hex(10)
        slot = (poll.id, owner.id)
        self.dirty.add((poll.meeting_id, poll.id))
        if poll.secret:
            voter = {"poll_id": poll.id, "for_participant_id": owner.id,
                     "key_hash": _key_hash(req.key, poll.id, owner.id),
                     "sealed_receipt": _seal(req.key, poll.id, owner.id, receipt)}
            choice = {"receipt": receipt, "poll_id": poll.id, "choices": choices, "weight": right.weight}
            self.new_secret[slot] = (n, voter, choice)
            self.voters[slot] = _Voter(voter["key_hash"], voter["sealed_receipt"], planned=(receipt, choices))
        elif slot in self.named:  # a change, allowed by the poll
            self._change(poll.id, owner.id, caster.id, choices, req.key, slot)
            receipt = self.named[slot].receipt
        else:
            self.new_named[slot] = (n, {"poll_id": poll.id, "for_participant_id": owner.id,
                                        "cast_by_participant_id": caster.id, "choices": choices,
                                        "weight": right.weight, "receipt": receipt, "idempotency_key": req.key,
                                        "cast_at": utcnow()})
            self.named[slot] = _Named(req.key, receipt, choices)
        return Cast(poll.id, receipt, choices, True)

    def _same_key(self, poll: Poll, member_id: int, key: str) -> Cast | None:
        """The answer already given to this idempotency key (nothing written again), or None."""
        slot = (poll.id, member_id)
        if poll.secret:
            voter = self.voters.get(slot)
            if voter is None or voter.key_hash != _key_hash(key, poll.id, member_id):
                return None
            if voter.planned is not None:
                return Cast(poll.id, voter.planned[0], voter.planned[1], False)
            receipt = _unseal(key, poll.id, member_id, voter.sealed_receipt)
            choice = db.session.get(SecretChoice, receipt)
            return Cast(poll.id, receipt, choice.choices if choice else [], False)
        ballot = self.named.get(slot)
        if ballot is None or ballot.key != key:
            return None
        return Cast(poll.id, ballot.receipt, ballot.choices, False)

    def _previous(self, poll: Poll, member_id: int, key: str) -> Cast | None:
        """In an open poll: the answer already given to this key, or None (a first ballot, or a change the poll
        allows); another key after voting is a conflict."""
        same = self._same_key(poll, member_id, key)
        if same is not None:
            return same
        slot = (poll.id, member_id)
        if poll.secret and slot in self.voters:
            raise Conflict(_("This vote has already been cast; a secret ballot cannot be changed."))
        if not poll.secret and slot in self.named and not poll.allow_change:
            raise Conflict(_("This vote has already been cast and this poll does not allow changing it."))
        return None

    def _change(self, poll_id: int, member_id: int, caster_id: int, choices: list[str], key: str,
                slot: tuple[int, int]) -> None:
        planned = self.new_named.get(slot)
        if planned is not None:  # changed again within this batch: the planned row takes the last choice
            planned[1].update(choices=choices, idempotency_key=key, cast_by_participant_id=caster_id)
        else:  # written in _write, in key order with the other changes
            self.changes[slot] = {"choices": choices, "idempotency_key": key, "cast_at": utcnow(),
                                  "cast_by_participant_id": caster_id}
        self.named[slot] = _Named(key, self.named[slot].receipt, choices)

    def _apply_changes(self) -> None:
        for (poll_id, member_id), values in sorted(self.changes.items()):
            db.session.execute(sa.update(Ballot).where(Ballot.poll_id == poll_id,
                                                       Ballot.for_participant_id == member_id).values(**values))
        self.changes.clear()

    def _write(self) -> None:
        """Write the planned rows in key order (so two workers' batches take their locks in the same order, and a
        secret poll's storage order is not its voting order). A row the database refuses was cast meanwhile by
        another transaction (a retry on another worker, a second tablet): the requests of this batch for that
        member are decided again, after it, as if they had arrived later."""
        self._apply_changes()
        taken: set[tuple[int, int]] = set()
        if self.new_named:
            slots = sorted(self.new_named)
            went_in = self._insert(Ballot, [self.new_named[s][1] for s in slots])
            taken |= {s for s in slots if s not in went_in}
        if self.new_secret:
            slots = sorted(self.new_secret)
            went_in = self._insert(SecretVoter, [self.new_secret[s][1] for s in slots])
            taken |= {s for s in slots if s not in went_in}
            choices = sorted((self.new_secret[s][2] for s in slots if s in went_in), key=lambda c: c["receipt"])
            if choices:
                db.session.execute(sa.insert(SecretChoice), choices)
        if taken:
            self._after_twins(taken)

    def _after_twins(self, taken: set[tuple[int, int]]) -> None:
        for slot in taken:
            self.new_named.pop(slot, None)
            self.new_secret.pop(slot, None)
            if self.polls[slot[0]].secret:
                row = db.session.execute(sa.select(SecretVoter.key_hash, SecretVoter.sealed_receipt).where(
                    SecretVoter.poll_id == slot[0], SecretVoter.for_participant_id == slot[1])).one()
                self.voters[slot] = _Voter(row.key_hash, row.sealed_receipt)
            else:
                row = db.session.execute(sa.select(Ballot.idempotency_key, Ballot.receipt, Ballot.choices).where(
                    Ballot.poll_id == slot[0], Ballot.for_participant_id == slot[1])).one()
                self.named[slot] = _Named(row.idempotency_key, row.receipt, row.choices)
        for n, req in enumerate(self.requests):
            if self.slots.get(n) in taken:
                try:
                    self.results[n] = self._decide(n, req)  # finds the twin's row: same key, change, or 409
                except DomainError as err:
                    self.results[n] = err
        self._apply_changes()

    def _insert(self, model: type[Ballot] | type[SecretVoter], rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
        insert = dialect_insert(db.session.get_bind().dialect.name)
        stmt = insert(model).on_conflict_do_nothing(index_elements=["poll_id", "for_participant_id"]) \
            .returning(model.poll_id, model.for_participant_id)
        return {(p, m) for p, m in db.session.execute(stmt, rows)}
