from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import request, url_for
from flask_babel import gettext as _
from pydantic import BaseModel, Field, StringConstraints

from meetings.auth.models import User
from meetings.core.api import AfterCommit, ApiBlueprint
from meetings.core.audit import verify_audit_chain
from meetings.core.errors import BadRequest, Forbidden
from meetings.core.schemas import Id, Input, LocalTime, Page
from meetings.extensions import db
from meetings.meeting import operations as ops
from meetings.meeting.access import load_meeting, require_role, roles_by_meeting, visible_meetings_stmt
from meetings.meeting.models import DisplayToken, Meeting
from meetings.meeting.schemas import (ImportOut, MeetingCreate, MeetingDetailOut, MeetingListQuery, MeetingOut,
                                      MeetingPatch, ParticipantIn, ParticipantOut, SessionCreate, SessionOut,
                                      TransitionIn)
from meetings.meeting.serialize import meeting_out, participant_out

bp = ApiBlueprint("meetings_api", __name__)

@bp.endpoint("/meetings", summary="Meetings visible to the caller", query=MeetingListQuery,
             response=Page[MeetingOut])
def list_meetings(*, actor: User, query: MeetingListQuery):
    stmt = visible_meetings_stmt(actor)
    if query.state:
        stmt = stmt.where(Meeting.state == query.state)
    if query.body_id:
        stmt = stmt.where(Meeting.body_id == query.body_id)
    total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(stmt.options(selectinload(Meeting.body))
                              .order_by(Meeting.starts_at.desc().nulls_last(), Meeting.id.desc())
                              .limit(query.limit).offset(query.offset)).scalars().all()
    roles = roles_by_meeting(rows, actor)
    return {"items": [meeting_out(m, actor, roles=roles[m.id]).model_dump(mode="json") for m in rows],
            "total": total}


@bp.endpoint("/meetings", "POST", summary="Create a meeting (a secretary of the body)", body=MeetingCreate,
             response=MeetingDetailOut, status=201, errors=(403, 422))
def create_meeting(*, actor: User, body: MeetingCreate):
    return meeting_out(ops.create_meeting(body, actor=actor), actor, detail=True)


@bp.endpoint("/meetings/<int:meeting_id>", summary="One meeting with its review history",
             response=MeetingDetailOut, errors=(404,))
def get_meeting(meeting_id: int, *, actor: User):
    meeting, roles = load_meeting(meeting_id, actor)
    return meeting_out(meeting, actor, detail=True, roles=roles)


@bp.endpoint("/meetings/<int:meeting_id>", "PATCH", summary="Edit a meeting's details", body=MeetingPatch,
             response=MeetingDetailOut, errors=(403, 404, 409, 422))
def patch_meeting(meeting_id: int, *, actor: User, body: MeetingPatch):
    return meeting_out(ops.update_meeting(meeting_id, body, actor=actor), actor, detail=True)


@bp.endpoint("/meetings/<int:meeting_id>/transitions", "POST", summary="Move the meeting through its lifecycle",
             body=TransitionIn, response=MeetingDetailOut, errors=(403, 404, 409, 422))
def transition(meeting_id: int, *, actor: User, body: TransitionIn):
    meeting = ops.transition_meeting(meeting_id, body.action, comment=body.comment, actor=actor)
    return AfterCommit(lambda: meeting_out(meeting, actor, detail=True))


# --- participants -----------------------------------------------------------------------------------------

@bp.endpoint("/meetings/<int:meeting_id>/participants", summary="Participants of the meeting",
             response=Page[ParticipantOut], errors=(404,))
def list_participants(meeting_id: int, *, actor: User):
    meeting, _roles = load_meeting(meeting_id, actor)
    items = [participant_out(p).model_dump(mode="json") for p in meeting.participants]
    return {"items": items, "total": len(items)}


@bp.endpoint("/meetings/<int:meeting_id>/participants", "POST", summary="Invite a participant", body=ParticipantIn,
             response=ParticipantOut, status=201, errors=(403, 404, 409, 422))
def add_participant(meeting_id: int, *, actor: User, body: ParticipantIn):
    return participant_out(ops.add_participant(meeting_id, body, actor=actor))


@bp.endpoint("/meetings/<int:meeting_id>/participants/<int:participant_id>", "DELETE",
             summary="Remove a participant", errors=(403, 404, 409))
def remove_participant(meeting_id: int, participant_id: int, *, actor: User):
    ops.remove_participant(meeting_id, participant_id, actor=actor)


@bp.endpoint("/meetings/<int:meeting_id>/participants/import", "POST",
             summary="Import participants from CSV or XLSX (all rows or none; 422 lists every bad row)",
             multipart={"file": "CSV (UTF-8) or XLSX with a header row: username, role, can_vote, vote_weight, seat"},
             response=ImportOut, status=201, errors=(403, 404, 409, 413, 422))
def import_participants(meeting_id: int, *, actor: User):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest(_("Attach the roster file in the “file” field."))
    participants = ops.import_participants(meeting_id, upload.read(), upload.filename, actor=actor)
    return ImportOut(imported=len(participants), participants=[participant_out(p) for p in participants])


# --- sessions ---------------------------------------------------------------------------------------------

@bp.endpoint("/meetings/<int:meeting_id>/sessions", summary="Sessions (sittings) of the meeting",
             response=Page[SessionOut], errors=(404,))
def list_sessions(meeting_id: int, *, actor: User):
    meeting, _roles = load_meeting(meeting_id, actor)
    items = [SessionOut.model_validate(s).model_dump(mode="json") for s in meeting.sessions]
    return {"items": items, "total": len(items)}


@bp.endpoint("/meetings/<int:meeting_id>/sessions", "POST", summary="Plan a session", body=SessionCreate,
             response=SessionOut, status=201, errors=(403, 404, 409, 422))
def create_session(meeting_id: int, *, actor: User, body: SessionCreate):
    return SessionOut.model_validate(ops.create_session(meeting_id, body, actor=actor))


@bp.endpoint("/meetings/<int:meeting_id>/sessions/<int:session_id>/open", "POST", summary="Open a session (chair)",
             response=SessionOut, errors=(403, 404, 409))
def open_session(meeting_id: int, session_id: int, *, actor: User):
    return SessionOut.model_validate(ops.open_session(meeting_id, session_id, actor=actor))


@bp.endpoint("/meetings/<int:meeting_id>/sessions/<int:session_id>/close", "POST",
             summary="Close a session (chair)", response=SessionOut, errors=(403, 404, 409))
def close_session(meeting_id: int, session_id: int, *, actor: User):
    return SessionOut.model_validate(ops.close_session(meeting_id, session_id, actor=actor))


# --- hall displays -----------------------------------------------------------------------------------------

class DisplayIn(Input):
    label: Annotated[str, StringConstraints(max_length=100)] = ""


class DisplayOut(BaseModel):
    id: int
    label: str
    created_at: LocalTime
    revoked_at: LocalTime | None
    model_config = {"from_attributes": True}


class DisplayCreated(DisplayOut):
    token: str = Field(description="Shown once: the display opens /display/<token>.")
    url: str


@bp.endpoint("/meetings/<int:meeting_id>/displays", "POST", summary="Create a hall display (projector) link",
             body=DisplayIn, response=DisplayCreated, status=201, errors=(403, 404, 409))
def create_display(meeting_id: int, *, actor: User, body: DisplayIn):
    token, display = ops.create_display(meeting_id, body.label, actor=actor)
    return DisplayCreated(id=display.id, label=display.label, created_at=display.created_at, revoked_at=None,
                          token=token, url=url_for("live.display", token=token, _external=True))


@bp.endpoint("/meetings/<int:meeting_id>/displays", summary="Hall displays of the meeting (secretary)",
             response=Page[DisplayOut], errors=(403, 404))
def list_displays(meeting_id: int, *, actor: User):
    meeting, roles = load_meeting(meeting_id, actor)
    require_role(roles, ("secretary",))
    rows = db.session.execute(sa.select(DisplayToken).where(DisplayToken.meeting_id == meeting.id)
                              .order_by(DisplayToken.id)).scalars().all()
    return {"items": [DisplayOut.model_validate(d).model_dump(mode="json") for d in rows], "total": len(rows)}


@bp.endpoint("/meetings/<int:meeting_id>/displays/<int:display_id>", "DELETE",
             summary="Revoke a hall display link", errors=(403, 404))
def revoke_display(meeting_id: int, display_id: int, *, actor: User):
    ops.revoke_display(meeting_id, display_id, actor=actor)


# --- event log and audit ----------------------------------------------------------------------------------

class EventsQuery(Input):
    model_config = Input.model_config | {"strict": False}
    after: Annotated[int, Field(ge=0)] = 0


class EventsOut(BaseModel):
    last_seq: int
    events: list[dict] | None = None
    snapshot: dict | None = Field(default=None, description="Sent instead of events when the caller is too far behind.")


@bp.endpoint("/meetings/<int:meeting_id>/events", summary="Events after a seq, or a snapshot if too far behind",
             query=EventsQuery, response=EventsOut, errors=(404,))
def list_events(meeting_id: int, *, actor: User, query: EventsQuery):
    from meetings.realtime.sync import catch_up

    meeting, roles = load_meeting(meeting_id, actor)
    return EventsOut(**catch_up(meeting, query.after, actor.id, roles))


class AuditQuery(Input):
    model_config = Input.model_config | {"strict": False}
    meeting_id: Id | None = None


class AuditReport(BaseModel):
    chain: str
    ok: bool
    length: int
    head: str
    first_bad_index: int | None
    reason: str | None


@bp.endpoint("/audit/verify", summary="Check the audit hash chain of a meeting (or the system chain, admin)",
             query=AuditQuery, response=AuditReport, errors=(403, 404))
def verify_audit(*, actor: User, query: AuditQuery):
    if query.meeting_id is None:
        if not actor.is_admin:
            raise Forbidden(_("Only an administrator may verify the system chain."))
        name = "system"
    else:
        meeting, roles = load_meeting(query.meeting_id, actor)
        if not roles & {"secretary", "approver", "chair", "admin"}:
            raise Forbidden(_("Only the meeting's secretary, approver or chair may verify its audit log."))
        name = f"meeting:{meeting.id}"
    return AuditReport(chain=name, **verify_audit_chain(query.meeting_id).to_dict())
