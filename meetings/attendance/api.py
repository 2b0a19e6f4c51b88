"""Attendance over REST: roll calls, check-in / check-out (tablet, room code, card kiosk, secretary), proxies,
the hall screen's room code, the roster with quorum, exports, kiosks and cards."""
from __future__ import annotations

import csv
import io

from flask import Response, request, url_for
from flask_babel import format_datetime, gettext as _

from meetings.attendance import operations as ops
from meetings.attendance.models import ROLL_CALL_KINDS
from meetings.attendance.schemas import (AttendanceQuery, CardIn, CheckIn, CheckOut, ExportQuery, KioskIn, Mark,
                                         ProxyIn, QrOut, RecordedOut)
from meetings.auth.current import api_actor, bearer_token
from meetings.auth.models import User
from meetings.core.api import ApiBlueprint
from meetings.core.db import to_local_iso
from meetings.core.errors import BadRequest, Conflict, NotAuthenticated, NotFound
from meetings.core.i18n import role_label
from meetings.meeting.access import load_meeting, require_role
from meetings.meeting.models import Meeting

bp = ApiBlueprint("attendance_api", __name__)

RESULT_MESSAGES = {
    "checked_in": lambda at: _("Present — recorded at %(time)s.", time=at),
    "confirmed": lambda at: _("Present at the end of the session — recorded at %(time)s.", time=at),
    "returned": lambda at: _("Welcome back — you are present again."),
    "checked_out": lambda at: _("You have left the session — recorded at %(time)s.", time=at),
    "marked_absent": lambda at: _("Recorded as absent."),
}


def _hhmm(value) -> str:
    return format_datetime(value, "HH:mm") if value else ""


def recorded_out(rec: ops.Recorded) -> RecordedOut:
    row = rec.attendance
    if rec.changed:
        when = {"checked_out": row.checked_out_at, "confirmed": row.confirmed_at}.get(rec.what, row.checked_in_at)
        message = RESULT_MESSAGES[rec.what](_hhmm(when))
    elif row.checked_out_at is not None:
        message = _("Already recorded: you left at %(time)s.", time=_hhmm(row.checked_out_at))
    elif row.checked_in_at is not None:
        message = _("Already recorded: present since %(time)s. Nothing changed.", time=_hhmm(row.checked_in_at))
    else:
        message = _("Already recorded. Nothing changed.")
    return RecordedOut(session_id=row.session_id, participant_id=row.participant_id, changed=rec.changed,
                       result=rec.what, message=message, checked_in_at=to_local_iso(row.checked_in_at),
                       checked_out_at=to_local_iso(row.checked_out_at), confirmed_at=to_local_iso(row.confirmed_at))


def _session_arg(meeting: Meeting, session_id: int | None):
    if session_id is not None:
        return ops._session(meeting, session_id)
    session = ops.current_session(meeting)
    if session is None:
        raise Conflict(_("The meeting has no sessions yet."))
    return session


@bp.endpoint("/meetings/<int:meeting_id>/attendance", summary="Roster, roll calls and quorum of a session "
             "(default: the open one); delegates see their own row", query=AttendanceQuery, response=dict,
             errors=(404, 409))
def get_attendance(meeting_id: int, *, actor: User, query: AttendanceQuery):
    meeting, roles = load_meeting(meeting_id, actor)
    session = _session_arg(meeting, query.session_id)
    everyone = ops.roster(meeting, session)
    sees_all = bool(roles & set(ops.SEE_ROSTER))
    return {"session": {"session_id": session.id, "title": session.title, "state": session.state,
                        "opened_at": to_local_iso(session.opened_at), "closed_at": to_local_iso(session.closed_at)},
            "summary": ops.attendance_summary(meeting, session), "quorum": ops.quorum(meeting, session),
            "roster": everyone if sees_all else [r for r in everyone if r["user_id"] == actor.id],
            "mine": ops.my_attendance(meeting, session, actor.id)}


@bp.endpoint("/meetings/<int:meeting_id>/attendance/summary", summary="Per participant across the opened "
             "sessions: present, late, left early, absent (chair, secretary)", response=dict, errors=(403, 404))
def attendance_summary_all(meeting_id: int, *, actor: User):
    meeting, roles = load_meeting(meeting_id, actor)
    require_role(roles, ops.SEE_ROSTER)
    items = ops.meeting_summary(meeting)
    return {"items": items, "total": len(items)}


@bp.endpoint("/meetings/<int:meeting_id>/attendance/check-in", "POST", body=CheckIn, auth=False,
             summary="Check in: tablet (own), qr (own, with the hall code), card (kiosk device token), manual "
                     "(secretary, user_id). Repeating it changes nothing and says so.",
             response=RecordedOut, errors=(401, 403, 404, 409, 422))
def check_in(meeting_id: int, *, body: CheckIn):
    if body.method == "card":
        kiosk = ops.kiosk_from_header(request.headers.get("Authorization"))
        if not body.card_uid:
            raise BadRequest(_("A card check-in needs “card_uid”."))
        return recorded_out(ops.check_in_card(meeting_id, body.session_id, body.card_uid, kiosk=kiosk))
    actor = api_actor()
    if body.method == "manual":
        if body.user_id is None:
            raise BadRequest(_("A manual check-in names the participant (“user_id”)."))
        return recorded_out(ops.mark(meeting_id, body.session_id, body.user_id, "present", actor=actor))
    if body.method == "qr" and not body.code:
        raise BadRequest(_("Enter the 6-digit code shown on the hall screen."))
    return recorded_out(ops.check_in_self(meeting_id, body.session_id, body.method, actor=actor, code=body.code))


@bp.endpoint("/meetings/<int:meeting_id>/attendance/check-out", "POST", body=CheckOut, auth=False,
             summary="Leave the session before its end (tablet: own; card: kiosk device token)",
             response=RecordedOut, errors=(401, 403, 404, 409))
def check_out(meeting_id: int, *, body: CheckOut):
    if body.method == "card":
        kiosk = ops.kiosk_from_header(request.headers.get("Authorization"))
        if not body.card_uid:
            raise BadRequest(_("A card check-out needs “card_uid”."))
        return recorded_out(ops.check_in_card(meeting_id, body.session_id, body.card_uid, kiosk=kiosk, leaving=True))
    return recorded_out(ops.check_out_self(meeting_id, body.session_id, actor=api_actor()))


@bp.endpoint("/meetings/<int:meeting_id>/attendance/mark", "POST", body=Mark,
             summary="The secretary marks someone present, or absent with or without excuse (audited)",
             response=RecordedOut, errors=(403, 404, 409, 422))
def mark(meeting_id: int, *, actor: User, body: Mark):
    return recorded_out(ops.mark(meeting_id, body.session_id, body.user_id, body.status, actor=actor,
                                 absence=body.absence or "", reason=body.reason))


def _check_kind(kind: str) -> None:
    if kind not in ROLL_CALL_KINDS:
        raise NotFound(_("A roll call is either “start” or “end”."))


@bp.endpoint("/meetings/<int:meeting_id>/sessions/<int:session_id>/roll-calls/<kind>/open", "POST",
             summary="Open the start or end roll call of the open session (chair)", response=dict,
             errors=(403, 404, 409))
def open_roll_call(meeting_id: int, session_id: int, kind: str, *, actor: User):
    _check_kind(kind)
    ops.open_roll_call(meeting_id, session_id, kind, actor=actor)
    meeting, _roles = load_meeting(meeting_id, actor)
    return ops.attendance_summary(meeting, ops._session(meeting, session_id))


@bp.endpoint("/meetings/<int:meeting_id>/sessions/<int:session_id>/roll-calls/<kind>/close", "POST",
             summary="Close a roll call (chair)", response=dict, errors=(403, 404, 409))
def close_roll_call(meeting_id: int, session_id: int, kind: str, *, actor: User):
    _check_kind(kind)
    ops.close_roll_call(meeting_id, session_id, kind, actor=actor)
    meeting, _roles = load_meeting(meeting_id, actor)
    return ops.attendance_summary(meeting, ops._session(meeting, session_id))


@bp.endpoint("/meetings/<int:meeting_id>/attendance/qr", summary="The hall screen's rotating room code "
             "(display token, chair or secretary); 409 while no roll call is open", response=QrOut, auth=False,
             errors=(401, 403, 404, 409))
def room_code(meeting_id: int):
    token = bearer_token()
    if token is not None and token.startswith("dt."):
        from meetings.meeting.operations import display_for_token
        display = display_for_token(token)
        if display is None or display.meeting_id != meeting_id:
            raise NotAuthenticated(_("The display link is invalid or revoked."))
        from meetings.extensions import db
        meeting = db.session.get(Meeting, meeting_id)
    else:
        actor = api_actor()
        meeting, roles = load_meeting(meeting_id, actor)
        require_role(roles, ("chair", "secretary"))
    session = ops.current_session(meeting)
    if session is None or session.state != "open" or ops._open_roll_call(session.id) is None:
        raise Conflict(_("No roll call is open."))
    code, expires_in = ops.room_code(session.id)
    url = url_for("attendance_pages.check_in_page", meeting_id=meeting.id, session=session.id, code=code,
                  _external=True)
    import segno
    svg = segno.make(url, error="m").svg_data_uri(scale=10, border=2, dark="#111")
    return QrOut(session_id=session.id, code=code, expires_in=expires_in, step=ops.QR_STEP_SECONDS, url=url,
                 svg=svg)


# --- proxies ----------------------------------------------------------------------------------------------

def proxy_out(proxy) -> dict:
    return {"id": proxy.id, "session_id": proxy.session_id, "giver_id": proxy.giver_id,
            "giver_user_id": proxy.giver.user_id, "giver_name": proxy.giver.user.full_name,
            "holder_id": proxy.holder_id, "holder_user_id": proxy.holder.user_id,
            "holder_name": proxy.holder.user.full_name, "created_at": to_local_iso(proxy.created_at),
            "ended_at": to_local_iso(proxy.ended_at), "ended_reason": proxy.ended_reason}


@bp.endpoint("/meetings/<int:meeting_id>/proxies", summary="Active proxies of a session", query=AttendanceQuery,
             response=dict, errors=(404, 409))
def list_proxies(meeting_id: int, *, actor: User, query: AttendanceQuery):
    meeting, _roles = load_meeting(meeting_id, actor)
    session = _session_arg(meeting, query.session_id)
    items = [proxy_out(p) for p in ops.active_proxies(session.id)]
    return {"items": items, "total": len(items)}


@bp.endpoint("/meetings/<int:meeting_id>/proxies", "POST", body=ProxyIn, status=201,
             summary="Give my vote to another voting member for a session (ủy quyền); the secretary may record "
                     "one given on paper (giver_user_id)", response=dict, errors=(403, 404, 409, 422))
def give_proxy(meeting_id: int, *, actor: User, body: ProxyIn):
    return proxy_out(ops.give_proxy(meeting_id, body.session_id, body.holder_user_id, actor=actor,
                                    giver_user_id=body.giver_user_id))


@bp.endpoint("/meetings/<int:meeting_id>/proxies/<int:proxy_id>", "DELETE",
             summary="Withdraw a proxy (its giver or the secretary)", response=dict, errors=(403, 404))
def withdraw_proxy(meeting_id: int, proxy_id: int, *, actor: User):
    return proxy_out(ops.withdraw_proxy(meeting_id, proxy_id, actor=actor))


# --- export -----------------------------------------------------------------------------------------------

STATUS_LABELS = {
    "present": lambda: _("Present"), "late": lambda: _("Late"), "left_early": lambda: _("Left early"),
    "absent_excused": lambda: _("Absent (excused)"), "absent_unexcused": lambda: _("Absent (unexcused)"),
    "pending": lambda: _("Not checked in yet"),
}


def export_rows(meeting: Meeting, session) -> tuple[list[str], list[list[str]]]:
    header = [_("No."), _("Full name"), _("Role"), _("Status"), _("Checked in"), _("Left"),
              _("Present at the end"), _("Proxy to"), _("Reason")]
    people = ops.roster(meeting, session)
    names = {r["participant_id"]: r["full_name"] for r in people}
    rows = []
    for n, r in enumerate(people, 1):
        status = STATUS_LABELS[r["status"]]()
        if r["late"] and r["left_early"]:
            status = f"{STATUS_LABELS['late']()}, {STATUS_LABELS['left_early']().lower()}"
        rows.append([str(n), r["full_name"], str(role_label(r["role"])), status,
                     _clock(r["checked_in_at"]), _clock(r["checked_out_at"]), _clock(r["confirmed_at"]),
                     names.get(r["proxy_to"], "") if r["proxy_to"] else "", r["reason"]])
    return header, rows


def _clock(iso: str | None) -> str:
    return iso[11:16] if iso else ""


@bp.endpoint("/meetings/<int:meeting_id>/attendance/export", summary="The attendance sheet of a session as CSV "
             "or XLSX (chair, secretary)", query=ExportQuery, raw_response="text/csv", errors=(403, 404, 409))
def export(meeting_id: int, *, actor: User, query: ExportQuery):
    meeting, roles = load_meeting(meeting_id, actor)
    require_role(roles, ops.SEE_ROSTER)
    session = _session_arg(meeting, query.session_id)
    header, rows = export_rows(meeting, session)
    name = f"diem-danh-{meeting.id}-{session.id}"
    if query.format == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font
        book = Workbook()
        sheet = book.active
        sheet.title = _("Attendance")[:31]
        sheet.append([meeting.title])
        sheet.append([session.title])
        sheet.append([])
        sheet.append(header)
        for cell in sheet[4]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for column, width in zip("ABCDEFGHI", (6, 28, 14, 22, 10, 10, 12, 24, 30)):
            sheet.column_dimensions[column].width = width
        out = io.BytesIO()
        book.save(out)
        return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    # A byte-order mark: Excel opens UTF-8 CSV with Vietnamese letters intact only with it.
    return Response("\ufeff" + text.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# --- kiosks and cards -------------------------------------------------------------------------------------

@bp.endpoint("/bodies/<int:body_id>/kiosks", "POST", body=KioskIn, status=201,
             summary="Register a card reader for the body's meetings; its device token is returned once",
             response=dict, errors=(403, 404))
def create_kiosk(body_id: int, *, actor: User, body: KioskIn):
    token, kiosk = ops.create_kiosk(body_id, body.label, actor=actor)
    return {"id": kiosk.id, "label": kiosk.label, "token": token}


@bp.endpoint("/bodies/<int:body_id>/kiosks/<int:kiosk_id>", "DELETE", summary="Revoke a card reader",
             response=dict, errors=(403, 404))
def revoke_kiosk(body_id: int, kiosk_id: int, *, actor: User):
    kiosk = ops.revoke_kiosk(body_id, kiosk_id, actor=actor)
    return {"id": kiosk.id, "revoked_at": to_local_iso(kiosk.revoked_at)}


@bp.endpoint("/users/<int:user_id>/cards", "POST", body=CardIn, status=201,
             summary="Register a staff card (UID in hex) to a user (administrator)", response=dict,
             errors=(403, 404, 409, 422))
def register_card(user_id: int, *, actor: User, body: CardIn):
    card = ops.register_card(user_id, body.uid, body.label, actor=actor)
    return {"id": card.id, "uid": card.uid, "user_id": card.user_id, "label": card.label}

