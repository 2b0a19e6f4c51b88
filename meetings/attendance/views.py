"""The page a room code leads to: scanning the hall screen's QR code (or typing its six digits) checks the
delegate in. Works without JavaScript: a plain form post, answered after the commit."""
from __future__ import annotations

import re

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from meetings.attendance import operations as ops
from meetings.attendance.api import recorded_out
from meetings.auth.current import page_actor
from meetings.auth.views import login_required
from meetings.core.errors import DomainError
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.meeting.access import load_meeting

bp = Blueprint("attendance_pages", __name__)


@bp.route("/meetings/<int:meeting_id>/check-in", methods=["GET", "POST"])
@login_required
def check_in_page(meeting_id: int):
    source = request.form if request.method == "POST" else request.args
    code = (source.get("code") or "").strip()
    session_arg = source.get("session", "")
    context = {"code": code if re.fullmatch(r"[0-9]{6}", code) else "", "result": None, "error": None}
    if request.method == "POST":
        begin_write()
    meeting, _roles = load_meeting(meeting_id, page_actor())
    session = ops.current_session(meeting)
    if session_arg.isdigit() and len(session_arg) < 10:
        session = db.session.get(type(session), int(session_arg)) if session is not None else None
        if session is not None and session.meeting_id != meeting.id:
            session = None
    context.update(meeting=meeting, session=session)
    if request.method == "POST":
        try:
            if session is None:
                raise DomainError(_("This meeting has no open session."))
            if not context["code"]:
                raise DomainError(_("Enter the 6-digit code shown on the hall screen."))
            recorded = ops.check_in_self(meeting.id, session.id, "qr", actor=page_actor(), code=context["code"])
            out = recorded_out(recorded)
            commit()
            context["result"] = out
        except DomainError as err:
            db.session.rollback()
            context["error"] = err.detail
            return render_template("attendance/check_in.html", **context), err.status
    return render_template("attendance/check_in.html", **context)


@bp.get("/meetings/<int:meeting_id>/attendance-sheet")
@login_required
def sheet(meeting_id: int):
    """The attendance sheet per session: statuses, proxies, the secretary's corrections, exports."""
    from meetings.meeting.access import require_role

    meeting, roles = load_meeting(meeting_id, page_actor())
    require_role(roles, ops.SEE_ROSTER)
    sessions = sorted(meeting.sessions, key=lambda s: s.position)
    session = ops.current_session(meeting)
    wanted = request.args.get("session", "")
    if wanted.isdigit() and len(wanted) < 10:
        session = next((s for s in sessions if s.id == int(wanted)), session)
    context = {"meeting": meeting, "roles": sorted(roles), "sessions": sessions, "session": session,
               "can_mark": "secretary" in roles and meeting.state in ops.MARK_STATES,
               "summary_all": ops.meeting_summary(meeting)}
    if session is not None:
        context.update(roster=ops.roster(meeting, session), quorum=ops.quorum(meeting, session),
                       summary=ops.attendance_summary(meeting, session))
    from meetings.attendance.api import STATUS_LABELS
    return render_template("attendance/sheet.html", STATUS_LABELS={k: v() for k, v in STATUS_LABELS.items()},
                           METHOD_LABELS=method_labels(), **context)


def method_labels() -> dict[str, str]:
    return {"tablet": _("tablet"), "qr": _("room code"), "card": _("card"), "manual": _("by the secretary")}


@bp.post("/meetings/<int:meeting_id>/attendance-sheet/mark")
@login_required
def sheet_mark(meeting_id: int):
    from flask import flash, redirect, url_for

    session_id = request.form.get("session_id", "")
    user_id = request.form.get("user_id", "")
    back = url_for("attendance_pages.sheet", meeting_id=meeting_id, session=session_id)
    if not (session_id.isdigit() and user_id.isdigit() and len(session_id) < 10 and len(user_id) < 10):
        flash(_("The form was incomplete."), "error")
        return redirect(back)
    status = request.form.get("status", "")
    absence = request.form.get("absence", "")
    reason = request.form.get("reason", "").strip()[:500]
    if status not in ("present", "absent"):
        flash(_("The form was incomplete."), "error")
        return redirect(back)
    begin_write()
    try:
        recorded = ops.mark(meeting_id, int(session_id), int(user_id), status, actor=page_actor(), absence=absence,
                            reason=reason)
        commit()
    except DomainError as err:
        db.session.rollback()
        if err.status == 404:
            raise
        flash(err.detail, "error")
        return redirect(back)
    flash(_("Recorded.") if recorded.changed else _("Nothing changed."), "success")
    return redirect(back)
