"""Meeting pages: my meetings, the secretary's editor, the approver's review, the participants' view.

Thin: load and authorize through meetings.meeting.access, write only through the operations, render.
The editor's lists (agenda, participants, sessions) are edited by static/js/meeting_editor.js through the
REST API; details, transitions and new meetings are plain form posts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError

from meetings.agenda.api import agenda_out
from meetings.agenda.models import MAX_DEPTH
from meetings.agenda.operations import agenda_items
from meetings.agenda.tree import build_tree, flatten
from meetings.auth.current import page_actor
from meetings.auth.models import User
from meetings.auth.views import login_required
from meetings.bodies.models import Body
from meetings.core.errors import DomainError
from meetings.core.i18n import ACTION_DONE, ROLE_LABELS
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.meeting import operations as ops
from meetings.meeting.access import (creatable_bodies_stmt, load_meeting, roles_by_meeting,
                                     visible_meetings_stmt)
from meetings.meeting.models import ROLES, VOTING_ROLES, Meeting
from meetings.meeting.schemas import MeetingCreate, MeetingPatch, SessionOut, TransitionIn
from meetings.meeting.serialize import allowed_actions, participant_out
from meetings.web.pages import form_datetime, form_text, page_action, validation_message

bp = Blueprint("meetings", __name__)

HOME_LIMIT = 300


# --- my meetings ------------------------------------------------------------------------------------------

@dataclass
class MeetingRow:
    meeting: Meeting
    roles: frozenset[str]


def _sort_key(row: MeetingRow):
    # Meetings without a date yet come last; among equals the newest first.
    starts = row.meeting.starts_at or datetime.max.replace(tzinfo=timezone.utc)
    return starts, -row.meeting.id


def _group(rows: list[MeetingRow]) -> list[tuple[str, str, list[MeetingRow]]]:
    """Split the visible meetings into what the user has to do now and what they can read."""
    approval, preparing, upcoming, past = [], [], [], []
    for row in rows:
        state = row.meeting.state
        if state == "submitted" and "approver" in row.roles:
            approval.append(row)
        elif state in ("draft", "submitted", "approved"):
            preparing.append(row)
        elif state in ("published", "in_session", "paused"):
            upcoming.append(row)
        else:
            past.append(row)
    past.sort(key=_sort_key, reverse=True)
    groups = [
        ("approval", _("Awaiting my approval"), sorted(approval, key=_sort_key)),
        ("preparing", _("In preparation"), sorted(preparing, key=_sort_key)),
        ("upcoming", _("Upcoming and in session"), sorted(upcoming, key=_sort_key)),
        ("past", _("Past meetings"), past),
    ]
    return [g for g in groups if g[2]]


def _creatable_bodies(actor: User) -> list[Body]:
    return list(db.session.execute(creatable_bodies_stmt(actor).order_by(Body.name)).scalars())


@bp.get("/")
@login_required
def home():
    actor = page_actor()
    meetings = db.session.execute(visible_meetings_stmt(actor).order_by(Meeting.id.desc()).limit(HOME_LIMIT)) \
        .scalars().all()
    roles = roles_by_meeting(meetings, actor)
    rows = [MeetingRow(m, roles[m.id]) for m in meetings]
    return render_template("home.html", groups=_group(rows), can_create=bool(_creatable_bodies(actor)))


# --- new meeting ------------------------------------------------------------------------------------------

@bp.get("/meetings/new")
@login_required
def new_meeting():
    return render_template("meeting/new.html", bodies=_creatable_bodies(page_actor()), form={})


@bp.post("/meetings/new")
def create_meeting():
    # Not page_action: a refused form is shown again with what the user typed, not redirected away.
    begin_write()  # before the first read (the session user), see meetings.core.tx
    actor = page_actor()
    if actor is None:
        db.session.rollback()  # give up the writer lock at once
        return redirect(url_for("auth.login"))
    try:
        data = MeetingCreate(
            body_id=request.form.get("body_id", type=int) or 0, title=form_text("title"),
            number=form_text("number"), place=form_text("place"), description=form_text("description"),
            starts_at=form_datetime("starts_at"), ends_at=form_datetime("ends_at"))
        meeting = ops.create_meeting(data, actor=actor)
        commit()
    except DomainError as err:
        db.session.rollback()
        flash(err.detail, "error")
    except ValidationError as err:
        db.session.rollback()
        flash(validation_message(err), "error")
    else:
        flash(_("The meeting was created. Now prepare its agenda and invite the participants."), "success")
        return redirect(url_for("meetings.show", meeting_id=meeting.id))
    return render_template("meeting/new.html", bodies=_creatable_bodies(actor), form=request.form), 422


# --- one meeting ------------------------------------------------------------------------------------------

def _readonly_reason(meeting: Meeting, roles: frozenset[str]) -> str | None:
    """Why a preparer sees the meeting read-only (participants never edit, so they get no notice)."""
    if not roles & {"secretary", "approver", "admin"}:
        return None
    if meeting.is_editable:
        if meeting.state == "draft":
            return _("The secretary is still preparing this meeting. You can review it once it is submitted "
                     "for approval.")
        return None
    if meeting.state == "submitted":
        if "approver" in roles:
            return _("The meeting is awaiting your approval. Its content is frozen so that you approve "
                     "exactly what you read.")
        return _("The meeting is awaiting approval and cannot be changed. If something must change, the "
                 "approver returns it to you with a comment.")
    if meeting.state == "approved":
        return _("The meeting is approved. Its content cannot be changed until it is published.")
    return _("The meeting has ended. Its content is the record and can no longer be changed.")


def _last_rejection(meeting: Meeting):
    if meeting.state == "draft" and meeting.transitions and meeting.transitions[-1].action == "reject":
        return meeting.transitions[-1]
    return None


def _editor_data(meeting: Meeting) -> dict:
    users = db.session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.full_name)).scalars()
    return {
        "meetingId": meeting.id,
        "maxDepth": MAX_DEPTH,
        "votingRoles": list(VOTING_ROLES),
        "agenda": agenda_out(meeting).model_dump(mode="json"),
        "participants": [participant_out(p).model_dump(mode="json") for p in meeting.participants],
        "sessions": [SessionOut.model_validate(s).model_dump(mode="json") for s in meeting.sessions],
        "users": [{"id": u.id, "fullName": u.full_name, "username": u.username, "title": u.title} for u in users],
        "roleLabels": {r: str(ROLE_LABELS[r]) for r in ROLES},
    }


@bp.get("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    actor = page_actor()
    meeting, roles = load_meeting(meeting_id, actor)
    outline = build_tree(agenda_items(meeting.id))
    context = {
        "meeting": meeting, "roles": sorted(roles), "actions": allowed_actions(meeting, roles),
        "outline": outline, "item_count": len(flatten(outline)), "last_rejection": _last_rejection(meeting),
    }
    if "secretary" in roles and meeting.is_editable:
        return render_template("meeting/editor.html", editor_data=_editor_data(meeting), **context)
    return render_template("meeting/view.html", readonly_reason=_readonly_reason(meeting, roles),
                           reviewing="approver" in roles and meeting.state == "submitted", **context)


@bp.post("/meetings/<int:meeting_id>/details")
@page_action(back=lambda meeting_id: url_for("meetings.show", meeting_id=meeting_id, _anchor="details"))
def save_details(meeting_id: int, *, actor: User):
    data = MeetingPatch(
        title=form_text("title"), number=form_text("number"), place=form_text("place"),
        description=form_text("description"), starts_at=form_datetime("starts_at"),
        ends_at=form_datetime("ends_at"), is_closed_session=request.form.get("is_closed_session") == "1")
    ops.update_meeting(meeting_id, data, actor=actor)
    flash(_("The details were saved."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting_id, _anchor="details"))


@bp.post("/meetings/<int:meeting_id>/transition")
@page_action(back="meetings.show")
def transition(meeting_id: int, *, actor: User):
    data = TransitionIn(action=form_text("action"), comment=form_text("comment"))
    meeting = ops.transition_meeting(meeting_id, data.action, comment=data.comment, actor=actor)
    flash(str(ACTION_DONE[data.action]), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))
