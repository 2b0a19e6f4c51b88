"""Live pages: the chair's console, the delegate's tablet view and the hall display (projector).

Each page is drawn at once from a snapshot taken while rendering, with the ``seq`` it reflects; then
static/js/live/room.js joins the meeting's socket room with that ``seq`` and keeps the page in step from the
committed events alone (and resyncs by itself after a gap or a reconnect). The pages write only through the
REST API, so every rule stays in the operations.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, jsonify, make_response, render_template, url_for
from flask_babel import gettext as _

from meetings.auth.current import page_actor
from meetings.documents.views import list_context, viewer_labels
from meetings.auth.views import login_required
from meetings.core.errors import Conflict, Forbidden, problem_response
from meetings.core.i18n import ACTION_LABELS, state_label
from meetings.extensions import db
from meetings.meeting.access import load_meeting
from meetings.meeting.models import STATES, TRANSITIONS, Meeting
from meetings.meeting.operations import display_for_token
from meetings.realtime.sync import snapshot
from meetings.realtime.tickets import issue_ticket

bp = Blueprint("live", __name__)

# The states in which a meeting has a live room worth opening (after adjournment the page shows the end).
LIVE_STATES = ("published", "in_session", "paused", "adjourned")
CONSOLE_ACTIONS = ("start", "pause", "resume", "adjourn")
# The hall display box is offered while a display link can still be useful.
DISPLAY_BOX_STATES = ("draft", "submitted", "approved", "published", "in_session", "paused", "adjourned")


def _no_store(rv):
    # The pages carry a socket ticket (or are opened by a display token): never from a cache.
    resp = make_response(rv)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _live_meeting(meeting_id: int) -> tuple[Meeting, frozenset[str]]:
    meeting, roles = load_meeting(meeting_id, page_actor())
    if meeting.state not in LIVE_STATES:
        raise Conflict(_("The meeting has no live room while it is “%(state)s”.", state=state_label(meeting.state)))
    return meeting, roles


def initial_state(meeting: Meeting, user_id: int, roles: frozenset[str]) -> dict:
    """What the page draws before its socket has joined: a snapshot and the seq it reflects."""
    db.session.refresh(meeting)
    return {"seq": meeting.last_seq, "snapshot": snapshot(meeting, user_id, roles)}


def server_now() -> str:
    """The server's clock, so a page can correct a tablet whose own clock is off (timers, the display clock)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def state_labels() -> dict[str, str]:
    return {s: state_label(s) for s in STATES}


def page_data(meeting: Meeting, viewer: tuple[int, frozenset[str]], **extra) -> dict:
    """What static/js/live/*.js start from (the page's JSON block ``live-data``); ``viewer`` = (user id, roles)."""
    return {"meetingId": meeting.id, "initial": initial_state(meeting, *viewer), "serverNow": server_now(),
            "ticketUrl": url_for("live.ticket"), "clockUrl": url_for("static", filename="css/app.css"), **extra}


def console_actions(roles: frozenset[str]) -> dict[str, list[str]]:
    """For every state, the console's buttons the caller may press (the transition table decides, not the page)."""
    return {state: [a for a in CONSOLE_ACTIONS
                    if state in TRANSITIONS[a].sources and roles & set(TRANSITIONS[a].roles)]
            for state in STATES}


@bp.app_template_global("shows_display_box")
def shows_display_box(meeting: Meeting, roles) -> bool:
    """Whether a page shows the hall display box (templates/live/_displays.html): to secretaries only."""
    return "secretary" in roles and meeting.state in DISPLAY_BOX_STATES


@bp.get("/meetings/<int:meeting_id>/live")
@login_required
def tablet(meeting_id: int):
    meeting, roles = _live_meeting(meeting_id)
    actor = page_actor()
    return _no_store(render_template(
        "live/tablet.html", state_labels=state_labels(), viewer_i18n=viewer_labels(),
        live=page_data(meeting, (actor.id, roles), token=issue_ticket(actor), userId=actor.id),
        **list_context(meeting, roles, manage=False)))


@bp.get("/meetings/<int:meeting_id>/console")
@login_required
def console(meeting_id: int):
    meeting, roles = _live_meeting(meeting_id)
    if "chair" not in roles:
        raise Forbidden(_("Only the chair of this meeting may open its console."))
    actor = page_actor()
    return _no_store(render_template(
        "live/console.html", state_labels=state_labels(), viewer_i18n=viewer_labels(),
        display_box=shows_display_box(meeting, roles),
        action_labels={a: str(ACTION_LABELS[a]) for a in CONSOLE_ACTIONS},
        live=page_data(meeting, (actor.id, roles), token=issue_ticket(actor), actionsByState=console_actions(roles)),
        **list_context(meeting, roles, manage=False)))


@bp.get("/live/ticket")
def ticket():
    """A fresh socket ticket for a page left open longer than a ticket lives (the session cookie still does)."""
    actor = page_actor()
    if actor is None:
        return _no_store(problem_response({"type": "https://phonghop.example/problems/not-authenticated",
                                           "title": "Not logged in", "status": 401,
                                           "detail": _("Please log in.")}, 401))
    return _no_store(jsonify({"token": issue_ticket(actor)}))


@bp.get("/display/<token>")
def display(token: str):
    found = display_for_token(token)
    if found is None:
        abort(404)
    meeting = db.session.get(Meeting, found.meeting_id)
    return _no_store(render_template(
        "live/display.html", meeting=meeting, display_token=token, state_labels=state_labels(),
        live=page_data(meeting, (0, frozenset({"display"})), token=token)))
