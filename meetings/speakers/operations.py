"""The speakers' queue: request the floor, withdraw, reorder, grant, finish.

Every change locks the meeting row, renumbers the waiting requests 1, 2, …, appends an audit entry and one
``speakers.updated`` event carrying the whole queue (``speakers_payload``): a tablet never has to merge
partial updates, and the event is small (a queue is tens of requests, not thousands).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.agenda.models import AgendaItem
from meetings.auth.models import User
from meetings.core.audit import record_audit
from meetings.core.db import to_local_iso, utcnow
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.events import emit_event
from meetings.extensions import db
from meetings.meeting.access import load_meeting, participant_of, require_role
from meetings.meeting.models import Meeting, Participant
from meetings.speakers.models import KINDS, REQUESTING_ROLES, SpeakerRequest, limit_seconds

RUN = ("chair",)
# Requests, withdrawals and the order change while the meeting runs, pauses included (people queue up during a
# break); the floor is given only while it is in session. Finishing is also possible after adjournment, so a
# speech left running when the meeting adjourned can still be closed with its duration.
QUEUE_STATES = ("in_session", "paused")
GRANT_STATES = ("in_session",)
FINISH_STATES = ("in_session", "paused", "adjourned")
UNSET: Any = object()

# --- reading -----------------------------------------------------------------------------------------------


def request_payload(req: SpeakerRequest, user_id: int, full_name: str) -> dict:
    return {"id": req.id, "participant_id": req.participant_id, "user_id": user_id, "full_name": full_name,
            "kind": req.kind, "agenda_item_id": req.agenda_item_id, "position": req.position, "state": req.state,
            "requested_at": to_local_iso(req.requested_at), "granted_at": to_local_iso(req.granted_at),
            "limit_seconds": req.limit_seconds}


def describe(req: SpeakerRequest) -> dict:
    return request_payload(req, req.participant.user_id, req.participant.user.full_name)


def _listed(meeting_id: int, state: str) -> list[tuple[SpeakerRequest, int, str]]:
    order = {"waiting": (SpeakerRequest.position, SpeakerRequest.id),
             "done": (SpeakerRequest.granted_at, SpeakerRequest.id)}.get(state, (SpeakerRequest.id,))
    rows = db.session.execute(
        sa.select(SpeakerRequest, Participant.user_id, User.full_name)
        .join(Participant, Participant.id == SpeakerRequest.participant_id)
        .join(User, User.id == Participant.user_id)
        .where(SpeakerRequest.meeting_id == meeting_id, SpeakerRequest.state == state)
        .order_by(*order)).all()
    return [tuple(row) for row in rows]


def speakers_payload(meeting: Meeting) -> dict:
    """``{current, queue}``: the ``speakers.updated`` event's payload, and the snapshot's ``speakers``."""
    db.session.flush()
    current = _listed(meeting.id, "speaking")
    return {"current": request_payload(*current[0]) if current else None,
            "queue": [request_payload(*row) for row in _listed(meeting.id, "waiting")]}


def speakers_view(meeting: Meeting) -> dict:
    """What GET /speakers returns: the payload plus the history (who spoke, how long) and the body's limits."""
    history = [request_payload(req, user_id, name) | {"finished_at": to_local_iso(req.finished_at),
                                                       "duration_seconds": req.duration_seconds}
               for req, user_id, name in _listed(meeting.id, "done")]
    return speakers_payload(meeting) | {"history": history,
                                        "limits": {k: limit_seconds(meeting.body, k) for k in KINDS}}


def _waiting(meeting_id: int) -> list[SpeakerRequest]:
    return list(db.session.execute(
        sa.select(SpeakerRequest).where(SpeakerRequest.meeting_id == meeting_id, SpeakerRequest.state == "waiting")
        .order_by(SpeakerRequest.position, SpeakerRequest.id)).scalars())


def _speaking(meeting_id: int) -> SpeakerRequest | None:
    return db.session.execute(sa.select(SpeakerRequest).where(
        SpeakerRequest.meeting_id == meeting_id, SpeakerRequest.state == "speaking")).scalar_one_or_none()


def _renumber(waiting: list[SpeakerRequest]) -> None:
    for position, req in enumerate(waiting, start=1):
        req.position = position


def _load_request(meeting: Meeting, request_id: int) -> SpeakerRequest:
    req = db.session.get(SpeakerRequest, request_id)
    if req is None or req.meeting_id != meeting.id:
        raise NotFound(_("Request %(id)s is not in this meeting's speakers' queue.", id=request_id))
    return req


def _ensure_state(meeting: Meeting, states: tuple[str, ...], message: str) -> None:
    if meeting.state not in states:
        raise Conflict(message, extra={"state": meeting.state})


def _changed(meeting: Meeting, action: str, actor: User | None, data: dict) -> None:
    db.session.flush()
    record_audit(action, actor_id=actor.id if actor else None, meeting_id=meeting.id, data=data)
    emit_event(meeting.id, "speakers.updated", speakers_payload(meeting))


# --- the delegate's side -----------------------------------------------------------------------------------

def request_floor(meeting_id: int, kind: str, *, agenda_item_id: int | None = UNSET,
                  actor: User) -> tuple[SpeakerRequest, bool]:
    """Queue the actor (a delegate or the chair) for the floor; ``(request, created)``.

    Asking again for the same kind and item while still waiting returns the waiting request unchanged (a double
    tap or a retry after a lost answer); for the same kind on another item it is a conflict: one waiting request
    per kind. A point of order goes before every other kind of waiting request (after earlier points of order).
    ``agenda_item_id`` omitted: the item under discussion.
    """
    meeting, _roles = load_meeting(meeting_id, actor, for_update=True)
    participant = participant_of(meeting.id, actor.id)
    if participant is None or participant.role not in REQUESTING_ROLES:
        raise Forbidden(_("Only delegates and the chair may ask for the floor."))
    _ensure_state(meeting, QUEUE_STATES, _("The floor can only be requested while the meeting is in session."))
    if kind not in KINDS:
        raise Unprocessable(_("Unknown kind of request “%(kind)s”.", kind=kind))
    if agenda_item_id is UNSET:
        agenda_item_id = meeting.current_agenda_item_id
    elif agenda_item_id is not None:
        item = db.session.get(AgendaItem, agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            raise Unprocessable(_("Agenda item %(id)s is not on this meeting's agenda.", id=agenda_item_id))
    waiting = _waiting(meeting.id)
    existing = next((r for r in waiting if r.participant_id == participant.id and r.kind == kind), None)
    if existing is not None:
        if existing.agenda_item_id == agenda_item_id:
            return existing, False
        raise Conflict(_("You are already waiting for the floor with this kind of request; withdraw it first."),
                       extra={"request_id": existing.id})
    req = SpeakerRequest(meeting_id=meeting.id, participant_id=participant.id, kind=kind,
                         agenda_item_id=agenda_item_id, state="waiting", requested_at=utcnow(),
                         limit_seconds=limit_seconds(meeting.body, kind))
    db.session.add(req)
    at = sum(1 for r in waiting if r.kind == "point_of_order") if kind == "point_of_order" else len(waiting)
    waiting.insert(at, req)
    _renumber(waiting)
    db.session.flush()
    _changed(meeting, "speaker.request", actor, {"request_id": req.id, "participant_id": participant.id,
                                                 "kind": kind, "agenda_item_id": agenda_item_id,
                                                 "position": req.position})
    return req, True


def withdraw_request(meeting_id: int, request_id: int, *, actor: User) -> SpeakerRequest:
    """Take a waiting request out of the queue: its requester, the chair or the secretary.

    Withdrawing a withdrawn request changes nothing (a retry); a request that has had the floor is history.
    """
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    req = _load_request(meeting, request_id)
    own = req.participant.user_id == actor.id
    if not own and not roles & {"chair", "secretary"}:
        raise Forbidden(_("Only the person who asked, the chair or the secretary may withdraw a request."))
    _ensure_state(meeting, QUEUE_STATES, _("The speakers' queue can only be changed while the meeting is in session."))
    if req.state == "withdrawn":
        return req
    if req.state != "waiting":
        raise Conflict(_("This request has already had the floor; it can no longer be withdrawn."),
                       extra={"request_state": req.state})
    _withdraw([req], meeting, actor)
    return req


def withdraw_own(meeting_id: int, *, kind: str | None = None, actor: User) -> list[SpeakerRequest]:
    """Withdraw the actor's waiting requests (of one kind, or all); none waiting changes nothing."""
    meeting, _roles = load_meeting(meeting_id, actor, for_update=True)
    participant = participant_of(meeting.id, actor.id)
    if participant is None or participant.role not in REQUESTING_ROLES:
        raise Forbidden(_("Only delegates and the chair may ask for the floor."))
    _ensure_state(meeting, QUEUE_STATES, _("The speakers' queue can only be changed while the meeting is in session."))
    mine = [r for r in _waiting(meeting.id) if r.participant_id == participant.id and kind in (None, r.kind)]
    if mine:
        _withdraw(mine, meeting, actor)
    return mine


def _withdraw(requests: list[SpeakerRequest], meeting: Meeting, actor: User | None) -> None:
    now = utcnow()
    for req in requests:
        req.state = "withdrawn"
        req.withdrawn_at = now
        req.withdrawn_by_id = actor.id if actor else None
    db.session.flush()
    _renumber(_waiting(meeting.id))
    _changed(meeting, "speaker.withdraw", actor, {"request_ids": [r.id for r in requests]})


# --- the chair's side --------------------------------------------------------------------------------------

def reorder_queue(meeting_id: int, request_ids: list[int], *, actor: User) -> Meeting:
    """Put the waiting requests in the given order; ``request_ids`` must name each of them exactly once."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    _ensure_state(meeting, QUEUE_STATES, _("The speakers' queue can only be changed while the meeting is in session."))
    waiting = _waiting(meeting.id)
    by_id = {r.id: r for r in waiting}
    if len(set(request_ids)) != len(request_ids):
        raise Unprocessable(_("The new order names a request more than once."))
    if set(request_ids) != set(by_id):
        raise Unprocessable(_("The new order must list every waiting request exactly once (%(n)s).", n=len(by_id)),
                            extra={"waiting_ids": [r.id for r in waiting]})
    if request_ids == [r.id for r in waiting]:
        return meeting  # nothing moves: no event, no audit entry (a repeated request)
    _renumber([by_id[i] for i in request_ids])
    _changed(meeting, "speaker.reorder", actor, {"order": list(request_ids)})
    return meeting


def _finish(req: SpeakerRequest) -> None:
    req.state = "done"
    req.finished_at = utcnow()
    req.duration_seconds = max(0, round((req.finished_at - req.granted_at).total_seconds()))


def grant_floor(meeting_id: int, request_id: int, *, actor: User) -> Meeting:
    """Give the floor to a waiting request; whoever is speaking is finished first (and their time recorded)."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    req = _load_request(meeting, request_id)
    _ensure_state(meeting, GRANT_STATES, _("The floor can only be given while the meeting is in session."))
    if req.state != "waiting":
        raise Conflict(_("Only a waiting request can be given the floor."), extra={"request_state": req.state})
    current = _speaking(meeting.id)
    if current is not None:
        _finish(current)
        db.session.flush()  # the one-speaker index must see the previous speaker gone before the next one starts
        record_audit("speaker.finish", actor_id=actor.id, meeting_id=meeting.id,
                     data={"request_id": current.id, "duration_seconds": current.duration_seconds})
    req.state = "speaking"
    req.position = 0
    req.granted_at = utcnow()
    req.granted_by_id = actor.id
    req.limit_seconds = limit_seconds(meeting.body, req.kind)
    db.session.flush()
    _renumber(_waiting(meeting.id))
    _changed(meeting, "speaker.grant", actor, {"request_id": req.id, "participant_id": req.participant_id,
                                               "kind": req.kind, "limit_seconds": req.limit_seconds})
    return meeting


def finish_speaker(meeting_id: int, request_id: int, *, actor: User) -> Meeting:
    """End the current speaker's time and record how long they spoke."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    req = _load_request(meeting, request_id)
    _ensure_state(meeting, FINISH_STATES, _("The floor can only be managed while the meeting is in session."))
    if req.state != "speaking":
        raise Conflict(_("This request does not have the floor."), extra={"request_state": req.state})
    _finish(req)
    _changed(meeting, "speaker.finish", actor, {"request_id": req.id, "duration_seconds": req.duration_seconds})
    return meeting


def end_floor(meeting: Meeting, *, actor: User | None) -> bool:
    """When the meeting adjourns: the current speech ends and the waiting requests are withdrawn.

    For the meeting's own transition (it has loaded and locked the meeting); True when anything changed.
    """
    current = _speaking(meeting.id)
    waiting = _waiting(meeting.id)
    if current is None and not waiting:
        return False
    if current is not None:
        _finish(current)
    now = utcnow()
    for req in waiting:
        req.state = "withdrawn"
        req.withdrawn_at = now
        req.withdrawn_by_id = actor.id if actor else None
    _changed(meeting, "speaker.end_floor", actor,
             {"finished_request_id": current.id if current else None, "withdrawn_ids": [r.id for r in waiting]})
    return True
