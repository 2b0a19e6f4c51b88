from __future__ import annotations

from meetings.auth.models import User
from meetings.core.api import ApiBlueprint, json_response
from meetings.meeting.access import load_meeting
from meetings.speakers import operations as ops
from meetings.speakers.schemas import (SpeakerOrderIn, SpeakerRequestIn, SpeakerRequestOut, SpeakersOut,
                                       WithdrawQuery)

bp = ApiBlueprint("speakers_api", __name__)


def _view(meeting_id: int, actor: User) -> SpeakersOut:
    meeting, _roles = load_meeting(meeting_id, actor)
    return SpeakersOut.model_validate(ops.speakers_view(meeting))


@bp.endpoint("/meetings/<int:meeting_id>/speakers",
             summary="The speakers' queue: the current speaker, the waiting requests in order, who has spoken",
             response=SpeakersOut, errors=(404,))
def get_speakers(meeting_id: int, *, actor: User):
    return _view(meeting_id, actor)


@bp.endpoint("/meetings/<int:meeting_id>/speakers", "POST",
             summary="Ask for the floor (a delegate or the chair, while in session). 201 with the new request; "
                     "asking again for the same kind and item while waiting is 200 with the waiting request",
             body=SpeakerRequestIn, response=SpeakerRequestOut, status=201, errors=(403, 404, 409, 422))
def request_floor(meeting_id: int, *, actor: User, body: SpeakerRequestIn):
    item = body.agenda_item_id if "agenda_item_id" in body.model_fields_set else ops.UNSET
    req, created = ops.request_floor(meeting_id, body.kind, agenda_item_id=item, actor=actor)
    out = SpeakerRequestOut.model_validate(ops.describe(req))
    return out if created else json_response(out, 200)


@bp.endpoint("/meetings/<int:meeting_id>/speakers", "DELETE",
             summary="Withdraw the caller's own waiting request(s) (all kinds, or ?kind=); nothing waiting is no "
                     "change. To withdraw one request by id (its requester, the chair or the secretary): "
                     "DELETE /speakers/{request_id}",
             query=WithdrawQuery, errors=(403, 404, 409))
def withdraw_own(meeting_id: int, *, actor: User, query: WithdrawQuery):
    ops.withdraw_own(meeting_id, kind=query.kind, actor=actor)


@bp.endpoint("/meetings/<int:meeting_id>/speakers/<int:request_id>", "DELETE",
             summary="Withdraw a waiting request (its requester, the chair or the secretary); "
                     "a withdrawn one stays withdrawn", errors=(403, 404, 409))
def withdraw_request(meeting_id: int, request_id: int, *, actor: User):
    ops.withdraw_request(meeting_id, request_id, actor=actor)


@bp.endpoint("/meetings/<int:meeting_id>/speakers/order", "PUT",
             summary="Reorder the waiting requests (chair): every waiting request id, once, in the new order",
             body=SpeakerOrderIn, response=SpeakersOut, errors=(403, 404, 409, 422))
def reorder(meeting_id: int, *, actor: User, body: SpeakerOrderIn):
    ops.reorder_queue(meeting_id, body.request_ids, actor=actor)
    return _view(meeting_id, actor)


@bp.endpoint("/meetings/<int:meeting_id>/speakers/<int:request_id>/grant", "POST",
             summary="Give the floor to a waiting request (chair); the current speaker is finished first",
             response=SpeakersOut, errors=(403, 404, 409))
def grant(meeting_id: int, request_id: int, *, actor: User):
    ops.grant_floor(meeting_id, request_id, actor=actor)
    return _view(meeting_id, actor)


@bp.endpoint("/meetings/<int:meeting_id>/speakers/<int:request_id>/finish", "POST",
             summary="End the current speaker's time (chair); the duration goes into the history",
             response=SpeakersOut, errors=(403, 404, 409))
def finish(meeting_id: int, request_id: int, *, actor: User):
    ops.finish_speaker(meeting_id, request_id, actor=actor)
    return _view(meeting_id, actor)
