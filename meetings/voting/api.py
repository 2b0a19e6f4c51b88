"""Votes over REST: polls (create, open, close), ballots with idempotency keys, results and receipts."""
from __future__ import annotations

from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.api import ApiBlueprint
from meetings.core.errors import Conflict, NotFound
from meetings.extensions import db
from meetings.meeting.access import load_meeting
from meetings.voting import operations as ops
from meetings.voting.casting import cast_ballot
from meetings.voting import progress  # noqa: F401 — registers the batched progress hook
from meetings.voting.models import Poll
from meetings.voting.schemas import BallotIn, PollIn

bp = ApiBlueprint("voting_api", __name__)


def poll_out(poll: Poll, actor: User, roles: frozenset[str]) -> dict:
    out = ops.poll_payload(poll)
    if poll.state == "open":
        out["progress"] = ops.live_tally(poll) if not poll.secret or roles & {"chair", "secretary"} \
            else {"cast": ops.cast_count(poll), "eligible": poll.eligible_count}
        out["my_ballots"] = ops.my_rights(poll, actor.id)
    if poll.state == "closed":
        out["result"] = poll.result
    return out


@bp.endpoint("/meetings/<int:meeting_id>/polls", summary="Polls of the meeting", response=dict, errors=(404,))
def list_polls(meeting_id: int, *, actor: User):
    meeting, roles = load_meeting(meeting_id, actor)
    polls = db.session.query(Poll).filter(Poll.meeting_id == meeting.id).order_by(Poll.id).all()
    items = [poll_out(p, actor, roles) for p in polls]
    return {"items": items, "total": len(items)}


@bp.endpoint("/meetings/<int:meeting_id>/polls", "POST", body=PollIn, status=201,
             summary="Prepare a poll (chair, secretary): named or secret, yes/no/abstain or custom options",
             response=dict, errors=(403, 404, 409, 422))
def create_poll(meeting_id: int, *, actor: User, body: PollIn):
    poll = ops.create_poll(meeting_id, title=body.title, secret=body.secret, rule=body.rule, options=body.options,
                           max_choices=body.max_choices, agenda_item_id=body.agenda_item_id,
                           duration_seconds=body.duration_seconds, allow_change=body.allow_change, actor=actor)
    _meeting, roles = load_meeting(meeting_id, actor)
    return poll_out(poll, actor, roles)


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>", summary="A poll", response=dict, errors=(404,))
def get_poll(meeting_id: int, poll_id: int, *, actor: User):
    meeting, roles = load_meeting(meeting_id, actor)
    return poll_out(ops.load_poll(meeting, poll_id), actor, roles)


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>/open", "POST",
             summary="Open a poll (chair): who may vote is fixed now", response=dict, errors=(403, 404, 409))
def open_poll(meeting_id: int, poll_id: int, *, actor: User):
    poll, warnings = ops.open_poll(meeting_id, poll_id, actor=actor)
    _meeting, roles = load_meeting(meeting_id, actor)
    return {**poll_out(poll, actor, roles), "warnings": warnings}


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>/close", "POST",
             summary="Close a poll (chair): the result is final and published", response=dict,
             errors=(403, 404, 409))
def close_poll(meeting_id: int, poll_id: int, *, actor: User):
    poll = ops.close_poll(meeting_id, poll_id, actor=actor)
    _meeting, roles = load_meeting(meeting_id, actor)
    return poll_out(poll, actor, roles)


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>/ballots", "POST", body=BallotIn,
             summary="Cast a ballot; answered after it is committed. The same idempotency_key returns the same "
                     "receipt; a second ballot without the poll allowing changes is 409",
             response=dict, errors=(403, 404, 409, 422))
def cast(meeting_id: int, poll_id: int, *, actor: User, body: BallotIn):
    cast_ = cast_ballot(meeting_id, poll_id, body.choice_list(), body.idempotency_key, actor=actor,
                        for_user_id=body.for_user_id)
    return {**cast_.ack(), "recorded": True}


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>/result", summary="The result of a closed poll; "
             "named polls also list who chose what", response=dict, errors=(404, 409))
def result(meeting_id: int, poll_id: int, *, actor: User):
    meeting, _roles = load_meeting(meeting_id, actor)
    poll = ops.load_poll(meeting, poll_id)
    if poll.state != "closed":
        raise Conflict(_("The result is published when the poll closes."))
    out = {"poll": ops.poll_payload(poll), "result": poll.result}
    if not poll.secret:
        out["ballots"] = ops.named_list(poll)
    return out


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>/receipts", summary="After closing: every "
             "receipt and its choices, so each member can check theirs", response=dict, errors=(404, 409))
def list_receipts(meeting_id: int, poll_id: int, *, actor: User):
    meeting, _roles = load_meeting(meeting_id, actor)
    poll = ops.load_poll(meeting, poll_id)
    if poll.state != "closed":
        raise Conflict(_("Receipts are published when the poll closes."))
    items = ops.receipts(poll)
    return {"items": items, "total": len(items)}


@bp.endpoint("/meetings/<int:meeting_id>/polls/<int:poll_id>/receipts/<receipt>",
             summary="Was my ballot counted? The choices recorded under a receipt", response=dict,
             errors=(404, 409))
def get_receipt(meeting_id: int, poll_id: int, receipt: str, *, actor: User):
    meeting, _roles = load_meeting(meeting_id, actor)
    poll = ops.load_poll(meeting, poll_id)
    if poll.state != "closed":
        raise Conflict(_("Receipts are published when the poll closes."))
    found = next((r for r in ops.receipts(poll) if r["receipt"] == receipt), None) if len(receipt) <= 40 else None
    if found is None:
        raise NotFound(_("No ballot has this receipt in this poll."))
    return {**found, "counted": True}
