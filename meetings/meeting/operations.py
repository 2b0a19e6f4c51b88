"""Meeting operations: the only code that writes meetings, participants and sessions.

Each takes the acting user explicitly, checks role and state, changes the database in the caller's
transaction, appends an audit entry and, where tablets care, a meeting event. The caller commits.
"""
from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.bodies.models import Body
from meetings.core.audit import record_audit
from meetings.core.db import to_local_iso, utcnow
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.events import emit_event
from meetings.extensions import db
from meetings.meeting.access import creatable_bodies_stmt, load_meeting, participant_of, require_role
from meetings.meeting.importing import RosterError, parse_roster
from meetings.meeting.models import (TRANSITIONS, VOTING_ROLES, DisplayToken, Meeting, MeetingSession,
                                     MeetingTransition, Participant)
from meetings.meeting.schemas import MeetingCreate, MeetingPatch, ParticipantIn, SessionCreate

PREPARE = ("secretary",)
RUN = ("chair",)


def _check_times(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise Unprocessable(_("The end time must be after the start time."))


def meeting_state_payload(meeting: Meeting) -> dict:
    return {"state": meeting.state, "title": meeting.title, "place": meeting.place,
            "starts_at": to_local_iso(meeting.starts_at), "ends_at": to_local_iso(meeting.ends_at),
            "current_agenda_item_id": meeting.current_agenda_item_id,
            "current_item_started_at": to_local_iso(meeting.current_item_started_at),
            "paused_at": to_local_iso(meeting.paused_at),
            "current_item_paused_seconds": meeting.current_item_paused_seconds}


# --- meetings ---------------------------------------------------------------------------------------------

def create_meeting(data: MeetingCreate, *, actor: User) -> Meeting:
    body = db.session.execute(creatable_bodies_stmt(actor).where(Body.id == data.body_id)).scalar_one_or_none()
    if body is None:
        # Not telling apart "no such body" from "not yours" keeps other bodies invisible.
        raise Forbidden(_("You may only create meetings for a body whose secretary you are."))
    _check_times(data.starts_at, data.ends_at)
    meeting = Meeting(**data.model_dump(), created_by_id=actor.id)
    db.session.add(meeting)
    db.session.flush()
    # The creator prepares this meeting; the body's other secretaries can too, through their standing role.
    db.session.add(Participant(meeting_id=meeting.id, user_id=actor.id, role="secretary", can_vote=False))
    record_audit("meeting.create", actor_id=actor.id, meeting_id=meeting.id,
                 data={"title": meeting.title, "body_id": body.id})
    return meeting


def update_meeting(meeting_id: int, data: MeetingPatch, *, actor: User) -> Meeting:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items()
               if v is not None or k in ("starts_at", "ends_at")}
    _check_times(changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at))
    for key, value in changes.items():
        setattr(meeting, key, value)
    db.session.flush()
    record_audit("meeting.update", actor_id=actor.id, meeting_id=meeting.id, data={"fields": sorted(changes)})
    emit_event(meeting.id, "meeting.state", meeting_state_payload(meeting))
    return meeting


def transition_meeting(meeting_id: int, action: str, *, comment: str = "", actor: User) -> Meeting:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    if action not in TRANSITIONS:
        raise Unprocessable(_("Unknown action “%(action)s”.", action=action))
    require_role(roles, TRANSITIONS[action].roles)
    meeting.ensure_can(action)  # a wrong state is a conflict whatever the comment or the agenda
    if action == "reject" and not comment.strip():
        raise Unprocessable(_("Please say what must be changed: a comment is required to return a meeting."))
    if action == "submit":
        _check_ready_for_review(meeting)
    minutes = None
    if action == "archive":
        from meetings.minutes.archiving import ensure_archivable
        minutes = ensure_archivable(meeting)
    if action == "adjourn" and db.session.execute(sa.select(MeetingSession.id).where(
            MeetingSession.meeting_id == meeting.id, MeetingSession.state == "open")).first() is not None:
        # After adjournment sessions can no longer be closed (nor their closing roll call taken).
        raise Conflict(_("A session is still open; close it before adjourning the meeting."))
    before = meeting.state
    meeting.apply(action)
    _track_pause(meeting, action)
    db.session.add(MeetingTransition(meeting_id=meeting.id, action=action, from_state=before,
                                     to_state=meeting.state, actor_id=actor.id, comment=comment.strip()))
    db.session.flush()
    record_audit(f"meeting.{action}", actor_id=actor.id, meeting_id=meeting.id,
                 data={"from": before, "to": meeting.state, "comment": comment.strip()})
    emit_event(meeting.id, "meeting.state", meeting_state_payload(meeting))
    if action == "adjourn":
        from meetings.speakers.operations import end_floor
        end_floor(meeting, actor=actor)  # the speech under way ends with the meeting; the queue is withdrawn
    if minutes is not None:
        from meetings.minutes.archiving import index_archived
        index_archived(meeting, minutes)
    return meeting


def _track_pause(meeting: Meeting, action: str) -> None:
    """Pauses stop the current item's clock; resuming adds the pause to what the timer leaves out."""
    now = utcnow()
    if action == "pause":
        meeting.paused_at = now
    elif action == "resume" and meeting.paused_at is not None:
        meeting.current_item_paused_seconds += int((now - meeting.paused_at).total_seconds())
        meeting.paused_at = None


def _check_ready_for_review(meeting: Meeting) -> None:
    from meetings.agenda.models import AgendaItem

    problems = []
    if meeting.starts_at is None:
        problems.append(_("the start time is not set"))
    has_items = db.session.execute(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id)).first()
    if not has_items:
        problems.append(_("the agenda is empty"))
    # Only the chair can start the meeting: without one the approver would approve a meeting nobody can open.
    has_chair = db.session.execute(sa.select(Participant.id).where(
        Participant.meeting_id == meeting.id, Participant.role == "chair")).first()
    if not has_chair:
        problems.append(_("no chair has been appointed"))
    if problems:
        raise Unprocessable(_("The meeting is not ready for approval: %(problems)s.", problems="; ".join(problems)),
                            extra={"problems": problems})


# --- participants -----------------------------------------------------------------------------------------

def _add_participant(meeting: Meeting, user: User, role: str, can_vote: bool | None, weight, seat: str) -> Participant:
    if can_vote is None:
        can_vote = role in VOTING_ROLES
    if can_vote and role not in VOTING_ROLES:
        raise Unprocessable(_("Only a chair or a delegate can have a vote."))
    participant = Participant(meeting_id=meeting.id, user_id=user.id, role=role, can_vote=can_vote,
                              vote_weight=weight, seat=seat)
    db.session.add(participant)
    return participant


def add_participant(meeting_id: int, data: ParticipantIn, *, actor: User) -> Participant:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    user = db.session.get(User, data.user_id)
    if user is None:
        raise Unprocessable(_("User %(id)s does not exist.", id=data.user_id))
    if not user.active:
        raise Unprocessable(_("%(name)s's account is deactivated.", name=user.full_name))
    if participant_of(meeting.id, user.id) is not None:
        raise Conflict(_("%(name)s is already a participant of this meeting.", name=user.full_name))
    participant = _add_participant(meeting, user, data.role, data.can_vote, data.vote_weight, data.seat)
    db.session.flush()
    record_audit("participant.add", actor_id=actor.id, meeting_id=meeting.id,
                 data={"participant_id": participant.id, "user_id": user.id, "role": participant.role,
                       "can_vote": participant.can_vote, "vote_weight": str(participant.vote_weight)})
    return participant


def remove_participant(meeting_id: int, participant_id: int, *, actor: User) -> None:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.meeting_id != meeting.id:
        raise NotFound(_("Participant %(id)s is not in this meeting.", id=participant_id))
    if participant.user_id == actor.id and participant.role == "secretary":
        raise Conflict(_("You cannot remove yourself as the meeting's secretary."))
    db.session.delete(participant)
    record_audit("participant.remove", actor_id=actor.id, meeting_id=meeting.id,
                 data={"participant_id": participant.id, "user_id": participant.user_id, "role": participant.role})


def import_participants(meeting_id: int, data: bytes, filename: str, *, actor: User | None) -> list[Participant]:
    """Import a roster. All or nothing: any invalid row rejects the whole file with a per-row report.

    ``actor`` None is the command line (the machine's operator).
    """
    if actor is not None:
        meeting, roles = load_meeting(meeting_id, actor, for_update=True)
        require_role(roles, PREPARE)
    else:
        meeting = db.session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound(_("Meeting %(id)s does not exist or is not visible to you.", id=meeting_id))
    meeting.ensure_editable()
    try:
        rows = parse_roster(data, filename)
    except RosterError as err:
        raise Unprocessable(_(err.msgid, **err.params))
    usernames = {r.username.lower() for r in rows if r.username}
    users = {u.username.lower(): u for u in db.session.execute(
        sa.select(User).where(sa.func.lower(User.username).in_(usernames))).scalars()} if usernames else {}
    existing = set(db.session.execute(
        sa.select(Participant.user_id).where(Participant.meeting_id == meeting.id)).scalars())
    seen: dict[str, int] = {}
    report = []
    for row in rows:
        messages = [_(msgid, **params) for msgid, params in row.errors]
        key = row.username.lower()
        user = users.get(key)
        if row.username and user is None:
            messages.append(_("no user with the username “%(name)s”", name=row.username))
        elif user is not None and not user.active:
            messages.append(_("the account “%(name)s” is deactivated", name=row.username))
        elif user is not None and user.id in existing:
            messages.append(_("“%(name)s” is already a participant", name=row.username))
        if key and key in seen:
            messages.append(_("“%(name)s” also appears in row %(row)s", name=row.username, row=seen[key]))
        seen.setdefault(key, row.row)
        if row.can_vote and row.role and row.role not in VOTING_ROLES:
            messages.append(_("only a chair or a delegate can have a vote"))
        report.extend({"row": row.row, "message": m} for m in messages)
    if report:
        raise Unprocessable(_("Nothing was imported: %(count)s problem(s) in the file.", count=len(report)),
                            extra={"errors": report})
    participants = [_add_participant(meeting, users[r.username.lower()], r.role, r.can_vote, r.vote_weight, r.seat)
                    for r in rows]
    db.session.flush()
    record_audit("participant.import", actor_id=actor.id if actor else None, meeting_id=meeting.id,
                 data={"filename": filename[:200], "count": len(participants),
                       "participant_ids": [p.id for p in participants]})
    return participants


# --- sessions ---------------------------------------------------------------------------------------------

def session_payload(session: MeetingSession) -> dict:
    return {"session_id": session.id, "title": session.title, "state": session.state,
            "opened_at": to_local_iso(session.opened_at), "closed_at": to_local_iso(session.closed_at)}


def create_session(meeting_id: int, data: SessionCreate, *, actor: User) -> MeetingSession:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    _check_times(data.starts_at, data.ends_at)
    position = db.session.execute(sa.select(sa.func.coalesce(sa.func.max(MeetingSession.position), 0))
                                  .where(MeetingSession.meeting_id == meeting.id)).scalar_one() + 1
    session = MeetingSession(meeting_id=meeting.id, position=position, **data.model_dump())
    db.session.add(session)
    db.session.flush()
    record_audit("session.create", actor_id=actor.id, meeting_id=meeting.id,
                 data={"session_id": session.id, "title": session.title})
    emit_event(meeting.id, "session.state", session_payload(session))
    return session


def _load_session(meeting: Meeting, session_id: int) -> MeetingSession:
    session = db.session.get(MeetingSession, session_id)
    if session is None or session.meeting_id != meeting.id:
        raise NotFound(_("Session %(id)s is not part of this meeting.", id=session_id))
    return session


def open_session(meeting_id: int, session_id: int, *, actor: User) -> MeetingSession:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    if meeting.state != "in_session":
        raise Conflict(_("A session can only be opened while the meeting is in session."),
                       extra={"state": meeting.state})
    session = _load_session(meeting, session_id)
    other_open = db.session.execute(sa.select(MeetingSession.id).where(
        MeetingSession.meeting_id == meeting.id, MeetingSession.state == "open")).first()
    if other_open is not None and other_open[0] != session.id:
        raise Conflict(_("Another session is still open; close it first."))
    session.open()
    db.session.flush()
    record_audit("session.open", actor_id=actor.id, meeting_id=meeting.id, data={"session_id": session.id})
    emit_event(meeting.id, "session.state", session_payload(session))
    return session


def close_session(meeting_id: int, session_id: int, *, actor: User) -> MeetingSession:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    if meeting.state not in ("in_session", "paused"):
        raise Conflict(_("A session can only be closed while the meeting is in session."),
                       extra={"state": meeting.state})
    session = _load_session(meeting, session_id)
    session.close()
    db.session.flush()
    record_audit("session.close", actor_id=actor.id, meeting_id=meeting.id, data={"session_id": session.id})
    emit_event(meeting.id, "session.state", session_payload(session))
    return session


# --- hall displays ----------------------------------------------------------------------------------------

def create_display(meeting_id: int, label: str, *, actor: User) -> tuple[str, DisplayToken]:
    """A token for a hall screen (projector) to follow the meeting read-only; returned once, stored hashed."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    if meeting.state == "archived":
        raise Conflict(_("An archived meeting has no live display."))
    token = "dt." + secrets.token_urlsafe(24)
    display = DisplayToken(meeting_id=meeting.id, token_hash=DisplayToken.digest(token), label=label,
                           created_by_id=actor.id)
    db.session.add(display)
    db.session.flush()
    record_audit("display.create", actor_id=actor.id, meeting_id=meeting.id,
                 data={"display_id": display.id, "label": label})
    return token, display


def revoke_display(meeting_id: int, display_id: int, *, actor: User) -> DisplayToken:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    display = db.session.get(DisplayToken, display_id)
    if display is None or display.meeting_id != meeting.id:
        raise NotFound(_("Display %(id)s is not part of this meeting.", id=display_id))
    if display.revoked_at is None:
        display.revoked_at = utcnow()
        record_audit("display.revoke", actor_id=actor.id, meeting_id=meeting.id, data={"display_id": display.id})
    return display


def display_for_token(token: str) -> DisplayToken | None:
    """The live display a token opens, or None (unknown, revoked, or its meeting archived)."""
    if not token.startswith("dt.") or len(token) > 100:
        return None
    display = db.session.execute(sa.select(DisplayToken).where(
        DisplayToken.token_hash == DisplayToken.digest(token))).scalar_one_or_none()
    if display is None or display.revoked_at is not None:
        return None
    meeting = db.session.get(Meeting, display.meeting_id)
    return display if meeting is not None and meeting.state != "archived" else None
