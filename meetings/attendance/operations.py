"""Attendance operations: roll calls, check-in / check-out by tablet, room code, card or the secretary's hand,
proxies, and the live quorum. The only code that writes attendance.

Every check-in path ends in ``_record_presence``: one row per (session, participant), inserted with
ON CONFLICT DO NOTHING and then locked, so any number of simultaneous check-ins of any number of people is
exact, and repeating one changes nothing and says so. Each change is one transaction with its audit entry and
its events (``attendance.updated`` for the room's counts, ``quorum.updated`` with the new quorum); the
caller's answer is sent after the commit.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import struct
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from meetings.attendance.models import ABSENCES, Attendance, Card, Kiosk, Proxy, RollCall
from meetings.auth.models import User
from meetings.bodies.models import Body
from meetings.core.audit import record_audit
from meetings.core.db import to_local_iso, utcnow
from meetings.core.errors import Conflict, Forbidden, NotAuthenticated, NotFound, Unprocessable
from meetings.core.events import emit_event
from meetings.extensions import db
from meetings.meeting.access import load_meeting, participant_of, require_role
from meetings.meeting.models import Meeting, MeetingSession, Participant

RUN = ("chair",)
RECORD = ("secretary",)  # marks people present or absent by hand
SEE_ROSTER = ("chair", "secretary", "approver", "admin")
LIVE_STATES = ("in_session", "paused")
# Corrections by the secretary are possible until the meeting is closed (the minutes are made from them).
MARK_STATES = ("in_session", "paused", "adjourned")
QR_STEP_SECONDS = 30
QR_DIGITS = 6
STAFF_AUDIENCE = {"roles": ["chair", "secretary", "approver"]}


# --- the room code (TOTP) ---------------------------------------------------------------------------------

def _qr_secret(session_id: int) -> bytes:
    # Derived, not stored: every worker computes the same codes, and a session's code says nothing about
    # another's (another meeting's code is simply wrong here).
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"phonghop roll call {session_id}".encode(), hashlib.sha256).digest()


def _hotp(secret: bytes, counter: int) -> str:
    """RFC 4226 (HMAC-SHA1, dynamic truncation), as authenticator apps compute it."""
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** QR_DIGITS).zfill(QR_DIGITS)


def room_code(session_id: int, *, now: float | None = None) -> tuple[str, int]:
    """The code the hall screen shows now, and the seconds until it changes."""
    now = time.time() if now is None else now
    step = int(now // QR_STEP_SECONDS)
    return _hotp(_qr_secret(session_id), step), QR_STEP_SECONDS - int(now % QR_STEP_SECONDS)


def code_is_valid(session_id: int, code: str, *, now: float | None = None) -> bool:
    """The current code or the one before it (a delegate typing while it changes)."""
    now = time.time() if now is None else now
    step = int(now // QR_STEP_SECONDS)
    secret = _qr_secret(session_id)
    return any(hmac.compare_digest(_hotp(secret, s), code) for s in (step, step - 1))


# --- loading ----------------------------------------------------------------------------------------------

def _session(meeting: Meeting, session_id: int) -> MeetingSession:
    session = db.session.get(MeetingSession, session_id)
    if session is None or session.meeting_id != meeting.id:
        raise NotFound(_("Session %(id)s is not part of this meeting.", id=session_id))
    return session


def _roll_calls(session_id: int) -> dict[str, RollCall]:
    return {r.kind: r for r in db.session.execute(
        sa.select(RollCall).where(RollCall.session_id == session_id)).scalars()}


def _open_roll_call(session_id: int) -> RollCall | None:
    return next((r for r in _roll_calls(session_id).values() if r.is_open), None)


def _require_live(meeting: Meeting, session: MeetingSession) -> None:
    if meeting.state not in LIVE_STATES:
        raise Conflict(_("Attendance is taken while the meeting is in session."), extra={"state": meeting.state})
    if session.state != "open":
        raise Conflict(_("The session “%(title)s” is not open.", title=session.title), extra={"state": session.state})


# --- roll calls -------------------------------------------------------------------------------------------

def open_roll_call(meeting_id: int, session_id: int, kind: str, *, actor: User) -> RollCall:
    """Open the start (or end) roll call of an open session; opening the end one closes the start one."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    session = _session(meeting, session_id)
    _require_live(meeting, session)
    calls = _roll_calls(session.id)
    now = utcnow()
    for other in calls.values():
        if other.kind != kind and other.is_open:
            other.closed_at = now
    call = calls.get(kind)
    if call is None:
        call = RollCall(session_id=session.id, kind=kind, opened_at=now, opened_by_id=actor.id)
        db.session.add(call)
    elif call.is_open:
        return call
    else:
        call.closed_at = None  # reopened: someone was still at the door
    db.session.flush()
    record_audit("roll_call.open", actor_id=actor.id, meeting_id=meeting.id,
                 data={"session_id": session.id, "kind": kind})
    _emit_attendance(meeting, session)
    return call


def close_roll_call(meeting_id: int, session_id: int, kind: str, *, actor: User) -> RollCall:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    session = _session(meeting, session_id)
    call = _roll_calls(session.id).get(kind)
    if call is None or not call.is_open:
        raise Conflict(_("This roll call is not open."))
    call.closed_at = utcnow()
    db.session.flush()
    record_audit("roll_call.close", actor_id=actor.id, meeting_id=meeting.id,
                 data={"session_id": session.id, "kind": kind})
    _emit_attendance(meeting, session)
    return call


# --- check-in / check-out ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    attendance: Attendance
    changed: bool
    what: str  # checked_in | confirmed | checked_out | returned | unchanged | marked_absent


def _row(session_id: int, participant_id: int) -> Attendance:
    """The (session, participant) row, created if missing, locked for this transaction."""
    table = Attendance.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values(session_id=session_id, participant_id=participant_id,
                                            check_in_method="", check_out_method="", confirm_method="",
                                            absence="", reason="", updated_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["session_id", "participant_id"]))
    return db.session.execute(
        sa.select(Attendance).where(Attendance.session_id == session_id, Attendance.participant_id == participant_id)
        .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _end_proxies_given(session_id: int, participant_id: int, reason: str) -> list[int]:
    proxies = list(db.session.execute(sa.select(Proxy).where(
        Proxy.session_id == session_id, Proxy.giver_id == participant_id, Proxy.ended_at.is_(None))).scalars())
    for proxy in proxies:
        proxy.ended_at, proxy.ended_reason = utcnow(), reason
    return [p.id for p in proxies]


def _record_presence(meeting: Meeting, session: MeetingSession, participant: Participant, method: str, *,
                     actor_id: int | None, stage: str, extra: dict | None = None) -> Recorded:
    """``stage``: "start" (arrival), "end" (present at the end roll call) or "out" (leaving early)."""
    row = _row(session.id, participant.id)
    now = utcnow()
    what = "unchanged"
    if stage == "out":
        if row.checked_in_at is None:
            raise Conflict(_("You have not checked in to this session."))
        if row.checked_out_at is None:
            row.checked_out_at, row.check_out_method, what = now, method, "checked_out"
    else:
        if row.checked_in_at is None:
            row.checked_in_at, row.check_in_method, what = now, method, "checked_in"
            row.absence, row.reason = "", ""
        elif row.checked_out_at is not None:
            row.checked_out_at, row.check_out_method, what = None, "", "returned"
        if stage == "end" and row.confirmed_at is None:
            row.confirmed_at, row.confirm_method = now, method
            what = "checked_in" if what == "checked_in" else "confirmed"
    if what == "unchanged":
        return Recorded(row, False, what)
    row.updated_at = now
    ended = _end_proxies_given(session.id, participant.id, "checked_in") if stage != "out" else []
    db.session.flush()
    record_audit(f"attendance.{what}", actor_id=actor_id, meeting_id=meeting.id,
                 data={"session_id": session.id, "participant_id": participant.id, "method": method,
                       **({"proxies_ended": ended} if ended else {}), **(extra or {})})
    _emit_attendance(meeting, session, participant.user_id)
    return Recorded(row, True, what)


def _stage_for_check_in(session: MeetingSession) -> str:
    call = _open_roll_call(session.id)
    if call is None:
        raise Conflict(_("No roll call is open for this session. Wait for the chair to open it."))
    return call.kind


def check_in_self(meeting_id: int, session_id: int, method: str, *, actor: User, code: str | None = None) -> Recorded:
    """A participant on their own tablet ("Có mặt"), or with the code shown in the hall."""
    meeting, _roles = load_meeting(meeting_id, actor, for_update=True)
    session = _session(meeting, session_id)
    participant = participant_of(meeting.id, actor.id)
    if participant is None:
        raise Forbidden(_("Only participants of the meeting check in."))
    _require_live(meeting, session)
    stage = _stage_for_check_in(session)
    if method == "qr":
        if not code or not code_is_valid(session.id, code):
            raise Unprocessable(_("The code is wrong or has expired. Enter the code shown on the hall screen now."))
    return _record_presence(meeting, session, participant, method, actor_id=actor.id, stage=stage)


def check_out_self(meeting_id: int, session_id: int, *, actor: User) -> Recorded:
    meeting, _roles = load_meeting(meeting_id, actor, for_update=True)
    session = _session(meeting, session_id)
    participant = participant_of(meeting.id, actor.id)
    if participant is None:
        raise Forbidden(_("Only participants of the meeting check in."))
    _require_live(meeting, session)
    return _record_presence(meeting, session, participant, "tablet", actor_id=actor.id, stage="out")


def normalise_card_uid(uid: str) -> str:
    return "".join(ch for ch in uid.upper() if ch in "0123456789ABCDEF")


def kiosk_for_token(token: str) -> Kiosk | None:
    kiosk = db.session.execute(sa.select(Kiosk).where(Kiosk.token_hash == Kiosk.digest(token))).scalar_one_or_none()
    return kiosk if kiosk is not None and kiosk.revoked_at is None else None


def check_in_card(meeting_id: int, session_id: int, card_uid: str, *, kiosk: Kiosk, leaving: bool = False) -> Recorded:
    """A card reader at the door: the card's holder arrives (or leaves)."""
    meeting = db.session.execute(sa.select(Meeting).where(Meeting.id == meeting_id).with_for_update()) \
        .scalar_one_or_none()
    if meeting is None or meeting.body_id != kiosk.body_id:
        raise NotFound(_("Meeting %(id)s does not exist or is not visible to you.", id=meeting_id))
    session = _session(meeting, session_id)
    card = db.session.execute(sa.select(Card).where(Card.uid == normalise_card_uid(card_uid))).scalar_one_or_none()
    if card is None:
        raise NotFound(_("This card is not registered. Ask the secretary to register it."))
    participant = participant_of(meeting.id, card.user_id)
    if participant is None:
        raise NotFound(_("The holder of this card is not a participant of this meeting."))
    _require_live(meeting, session)
    stage = "out" if leaving else _stage_for_check_in(session)
    return _record_presence(meeting, session, participant, "card", actor_id=card.user_id, stage=stage,
                            extra={"kiosk_id": kiosk.id})


def mark(meeting_id: int, session_id: int, user_id: int, status: str, *, actor: User, absence: str = "",
         reason: str = "") -> Recorded:
    """The secretary records someone present, or absent with or without excuse, by hand (audited)."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RECORD)
    session = _session(meeting, session_id)
    if meeting.state not in MARK_STATES or session.state == "planned":
        raise Conflict(_("Attendance can be recorded once the session has been opened."))
    participant = participant_of(meeting.id, user_id)
    if participant is None:
        raise NotFound(_("User %(id)s is not a participant of this meeting.", id=user_id))
    if status == "present":
        stage = "end" if (call := _open_roll_call(session.id)) is not None and call.kind == "end" else "start"
        return _record_presence(meeting, session, participant, "manual", actor_id=actor.id, stage=stage,
                                extra={"by": "secretary", "reason": reason})
    if absence not in ABSENCES:
        raise Unprocessable(_("Say whether the absence is excused or not."))
    row = _row(session.id, participant.id)
    if (row.checked_in_at, row.absence, row.reason) == (None, absence, reason):
        return Recorded(row, False, "unchanged")
    row.checked_in_at = row.checked_out_at = row.confirmed_at = None
    row.check_in_method = row.check_out_method = row.confirm_method = ""
    row.absence, row.reason, row.updated_at = absence, reason, utcnow()
    db.session.flush()
    record_audit("attendance.marked_absent", actor_id=actor.id, meeting_id=meeting.id,
                 data={"session_id": session.id, "participant_id": participant.id, "absence": absence,
                       "reason": reason})
    _emit_attendance(meeting, session, participant.user_id)
    return Recorded(row, True, "marked_absent")


# --- proxies ----------------------------------------------------------------------------------------------

def give_proxy(meeting_id: int, session_id: int, holder_user_id: int, *, actor: User,
               giver_user_id: int | None = None) -> Proxy:
    """The actor (or, for the secretary, ``giver_user_id``) gives their vote to another voting member."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    session = _session(meeting, session_id)
    if giver_user_id is not None and giver_user_id != actor.id:
        require_role(roles, RECORD)
    giver = participant_of(meeting.id, giver_user_id or actor.id)
    holder = participant_of(meeting.id, holder_user_id)
    if giver is None or holder is None:
        raise NotFound(_("Both the giver and the holder of a proxy must be participants of this meeting."))
    if not giver.can_vote or not holder.can_vote:
        raise Unprocessable(_("Only voting members give or hold a proxy."))
    if giver.id == holder.id:
        raise Unprocessable(_("A proxy is given to another member."))
    if meeting.state not in ("published", *LIVE_STATES) or session.state == "closed":
        raise Conflict(_("Proxies are given before or during a session, not after it."))
    row = db.session.execute(sa.select(Attendance).where(
        Attendance.session_id == session.id, Attendance.participant_id == giver.id)).scalar_one_or_none()
    if row is not None and row.checked_in_at is not None and row.checked_out_at is None:
        raise Conflict(_("%(name)s is present and votes in person.", name=giver.user.full_name))
    active = sa.select(Proxy).where(Proxy.session_id == session.id, Proxy.ended_at.is_(None))
    if db.session.execute(active.where(Proxy.giver_id == giver.id)).first():
        raise Conflict(_("%(name)s has already given a proxy for this session; withdraw it first.",
                         name=giver.user.full_name))
    if db.session.execute(active.where(Proxy.giver_id == holder.id)).first():
        raise Conflict(_("%(name)s has given their own vote away and cannot hold a proxy.",
                         name=holder.user.full_name))
    held = db.session.execute(sa.select(sa.func.count()).select_from(active.where(
        Proxy.holder_id == holder.id).subquery())).scalar_one()
    limit = meeting.body.max_proxies_held
    if held >= limit:
        raise Conflict(_("%(name)s already holds %(n)s proxy/proxies, the most the rules allow.",
                         name=holder.user.full_name, n=held))
    proxy = Proxy(session_id=session.id, giver_id=giver.id, holder_id=holder.id, created_by_id=actor.id)
    db.session.add(proxy)
    db.session.flush()
    record_audit("proxy.give", actor_id=actor.id, meeting_id=meeting.id,
                 data={"session_id": session.id, "proxy_id": proxy.id, "giver_id": giver.id,
                       "holder_id": holder.id})
    _emit_attendance(meeting, session, giver.user_id, holder.user_id)
    return proxy


def withdraw_proxy(meeting_id: int, proxy_id: int, *, actor: User) -> Proxy:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    proxy = db.session.get(Proxy, proxy_id)
    session = db.session.get(MeetingSession, proxy.session_id) if proxy is not None else None
    if proxy is None or session is None or session.meeting_id != meeting.id:
        raise NotFound(_("Proxy %(id)s does not exist in this meeting.", id=proxy_id))
    if proxy.giver.user_id != actor.id:
        require_role(roles, RECORD)
    if proxy.ended_at is not None:
        return proxy
    proxy.ended_at, proxy.ended_reason = utcnow(), "withdrawn"
    db.session.flush()
    record_audit("proxy.withdraw", actor_id=actor.id, meeting_id=meeting.id,
                 data={"session_id": session.id, "proxy_id": proxy.id})
    _emit_attendance(meeting, session, proxy.giver.user_id, proxy.holder.user_id)
    return proxy


def active_proxies(session_id: int) -> list[Proxy]:
    return list(db.session.execute(sa.select(Proxy).where(Proxy.session_id == session_id, Proxy.ended_at.is_(None))
                                   .order_by(Proxy.id)).scalars())


# --- quorum and statuses ----------------------------------------------------------------------------------

def required_for_quorum(body: Body, members: int) -> int:
    if body.quorum_rule == "two_thirds":
        return math.ceil(2 * members / 3)
    if body.quorum_rule == "fixed":
        return body.quorum_fixed or members
    return members // 2 + 1  # more than half


def quorum(meeting: Meeting, session: MeetingSession) -> dict[str, Any]:
    """Present voting members (+ proxies, if the body's rules count them) against what the body requires."""
    # Ids only (a join of 500 tablets computes this 500 times: loading every participant would dominate).
    voters = set(db.session.execute(sa.select(Participant.id).where(
        Participant.meeting_id == meeting.id, Participant.can_vote.is_(True))).scalars())
    rows = db.session.execute(sa.select(Attendance.participant_id).where(
        Attendance.session_id == session.id, Attendance.checked_in_at.is_not(None),
        Attendance.checked_out_at.is_(None))).scalars()
    present = voters & set(rows)
    by_proxy = {p.giver_id for p in active_proxies(session.id) if p.holder_id in present} - present
    counted = len(present) + (len(by_proxy & voters) if meeting.body.proxies_count_for_quorum else 0)
    required = required_for_quorum(meeting.body, len(voters))
    return {"session_id": session.id, "members": len(voters), "present": len(present), "by_proxy": len(by_proxy),
            "counted": counted, "required": required, "has_quorum": counted >= required and len(voters) > 0,
            "rule": meeting.body.quorum_rule, "proxies_count": meeting.body.proxies_count_for_quorum}


def derive_status(row: Attendance | None, session: MeetingSession, calls: dict[str, RollCall],
                  late_after: timedelta) -> dict[str, Any]:
    """Present / late / left early / absent (excused or not) / not yet, from the timestamps (pure)."""
    if row is None or row.checked_in_at is None:
        absence = row.absence if row is not None else ""
        if absence:
            return {"status": f"absent_{absence}", "late": False, "left_early": False}
        return {"status": "absent_unexcused" if session.state == "closed" else "pending", "late": False,
                "left_early": False}
    late = session.opened_at is not None and row.checked_in_at > session.opened_at + late_after
    end_call = calls.get("end")
    end_over = end_call is not None and (not end_call.is_open or session.state == "closed")
    # Left early: checked out (and did not come back), or not there when the end roll call was taken.
    left_early = row.checked_out_at is not None or (end_over and row.confirmed_at is None)
    status = "left_early" if left_early else ("late" if late else "present")
    return {"status": status, "late": late, "left_early": left_early}


def roster(meeting: Meeting, session: MeetingSession) -> list[dict[str, Any]]:
    rows = {r.participant_id: r for r in db.session.execute(
        sa.select(Attendance).where(Attendance.session_id == session.id)).scalars()}
    calls = _roll_calls(session.id)
    late_after = timedelta(minutes=meeting.body.late_after_minutes)
    proxies = active_proxies(session.id)
    given = {p.giver_id: p for p in proxies}
    held: dict[int, list[int]] = {}
    for p in proxies:
        held.setdefault(p.holder_id, []).append(p.giver_id)
    out = []
    for p in sorted(meeting.participants, key=lambda p: (p.role != "chair", p.user.full_name)):
        row = rows.get(p.id)
        out.append({
            "participant_id": p.id, "user_id": p.user_id, "full_name": p.user.full_name, "role": p.role,
            "can_vote": p.can_vote, **derive_status(row, session, calls, late_after),
            "checked_in_at": to_local_iso(row.checked_in_at) if row else None,
            "check_in_method": row.check_in_method if row else "",
            "checked_out_at": to_local_iso(row.checked_out_at) if row else None,
            "confirmed_at": to_local_iso(row.confirmed_at) if row else None,
            "absence": row.absence if row else "", "reason": row.reason if row else "",
            "proxy_to": given[p.id].holder_id if p.id in given else None,
            "proxy_id": given[p.id].id if p.id in given else None,
            "proxies_held": held.get(p.id, []),
        })
    return out


def roll_call_payload(calls: dict[str, RollCall]) -> dict[str, Any]:
    return {kind: {"open": c.is_open, "opened_at": to_local_iso(c.opened_at), "closed_at": to_local_iso(c.closed_at)}
            for kind, c in calls.items()}


def attendance_summary(meeting: Meeting, session: MeetingSession) -> dict[str, Any]:
    """What every tablet may know: the session's roll calls and how many are in the room."""
    calls = _roll_calls(session.id)
    counts = db.session.execute(sa.select(
        sa.func.count(Attendance.checked_in_at), sa.func.count(Attendance.checked_out_at),
        sa.func.count(Attendance.confirmed_at)).where(Attendance.session_id == session.id)).one()
    open_call = next((c for c in calls.values() if c.is_open), None)
    return {"session_id": session.id, "roll_calls": roll_call_payload(calls),
            "open_roll_call": open_call.kind if open_call else None,
            "checked_in": counts[0], "left": counts[1], "confirmed": counts[2],
            "participants": db.session.execute(sa.select(sa.func.count()).select_from(Participant).where(
                Participant.meeting_id == meeting.id)).scalar_one()}


def _emit_attendance(meeting: Meeting, session: MeetingSession, *user_ids: int) -> None:
    """The room's counts and quorum to everyone; to each person concerned, their own record (``attendance.mine``,
    so a tablet shows a check-in made at the door or by the secretary)."""
    emit_event(meeting.id, "attendance.updated", attendance_summary(meeting, session))
    emit_event(meeting.id, "quorum.updated", quorum(meeting, session))
    for user_id in dict.fromkeys(user_ids):
        mine = my_attendance(meeting, session, user_id)
        if mine is not None:
            emit_event(meeting.id, "attendance.mine", {"session_id": session.id, "user_id": user_id, **mine},
                       audience={"user_ids": [user_id]})


def current_session(meeting: Meeting) -> MeetingSession | None:
    """The open session, else the last one that was opened, else the first planned one."""
    sessions = sorted(meeting.sessions, key=lambda s: s.position)
    return next((s for s in sessions if s.state == "open"), None) \
        or next((s for s in reversed(sessions) if s.state == "closed"), None) \
        or next(iter(sessions), None)


def my_attendance(meeting: Meeting, session: MeetingSession, user_id: int) -> dict[str, Any] | None:
    participant = participant_of(meeting.id, user_id) if user_id else None
    if participant is None:
        return None
    row = db.session.execute(sa.select(Attendance).where(
        Attendance.session_id == session.id, Attendance.participant_id == participant.id)).scalar_one_or_none()
    proxy = db.session.execute(sa.select(Proxy).where(
        Proxy.session_id == session.id, Proxy.giver_id == participant.id, Proxy.ended_at.is_(None))).scalar_one_or_none()
    held = [p.giver_id for p in active_proxies(session.id) if p.holder_id == participant.id]
    return {"participant_id": participant.id, "can_vote": participant.can_vote,
            "checked_in_at": to_local_iso(row.checked_in_at) if row else None,
            "checked_out_at": to_local_iso(row.checked_out_at) if row else None,
            "confirmed_at": to_local_iso(row.confirmed_at) if row else None,
            "proxy": {"id": proxy.id, "holder_id": proxy.holder_id,
                      "holder_name": proxy.holder.user.full_name} if proxy else None,
            "proxies_held": held}


def snapshot_part(meeting: Meeting, user_id: int) -> dict[str, Any]:
    """For a tablet's snapshot: the current session's attendance, quorum and the viewer's own check-in."""
    session = current_session(meeting)
    if session is None:
        return {"attendance": None, "quorum": None, "my_attendance": None}
    return {"attendance": attendance_summary(meeting, session), "quorum": quorum(meeting, session),
            "my_attendance": my_attendance(meeting, session, user_id)}


# --- kiosks and cards -------------------------------------------------------------------------------------

def create_kiosk(body_id: int, label: str, *, actor: User) -> tuple[str, Kiosk]:
    body = db.session.get(Body, body_id)
    if body is None:
        raise NotFound(_("Body %(id)s does not exist.", id=body_id))
    _require_body_staff(body, actor)
    token = "kt." + secrets.token_urlsafe(24)
    kiosk = Kiosk(body_id=body.id, label=label, token_hash=Kiosk.digest(token), created_by_id=actor.id)
    db.session.add(kiosk)
    db.session.flush()
    record_audit("kiosk.create", actor_id=actor.id, data={"kiosk_id": kiosk.id, "body_id": body.id, "label": label})
    return token, kiosk


def revoke_kiosk(body_id: int, kiosk_id: int, *, actor: User) -> Kiosk:
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.body_id != body_id:
        raise NotFound(_("Kiosk %(id)s does not exist.", id=kiosk_id))
    _require_body_staff(db.session.get(Body, body_id), actor)
    if kiosk.revoked_at is None:
        kiosk.revoked_at = utcnow()
        record_audit("kiosk.revoke", actor_id=actor.id, data={"kiosk_id": kiosk.id})
    return kiosk


def _require_body_staff(body: Body, actor: User) -> None:
    from meetings.bodies.models import BodyMember
    if actor.is_admin:
        return
    member = db.session.execute(sa.select(BodyMember).where(
        BodyMember.body_id == body.id, BodyMember.user_id == actor.id, BodyMember.role == "secretary")).first()
    if member is None:
        raise Forbidden(_("Only an administrator or a secretary of the body manages its card readers."))


def register_card(user_id: int, uid: str, label: str, *, actor: User) -> Card:
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator registers staff cards."))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("User %(id)s does not exist.", id=user_id))
    normalised = normalise_card_uid(uid)
    if len(normalised) < 4:
        raise Unprocessable(_("A card UID is written in hexadecimal digits (at least 4)."))
    existing = db.session.execute(sa.select(Card).where(Card.uid == normalised)).scalar_one_or_none()
    if existing is not None:
        if existing.user_id == user.id:
            return existing
        raise Conflict(_("This card is already registered to someone else."))
    card = Card(uid=normalised, user_id=user.id, label=label)
    db.session.add(card)
    db.session.flush()
    record_audit("card.register", actor_id=actor.id, data={"card_id": card.id, "user_id": user.id})
    return card


def kiosk_from_header(header: str | None) -> Kiosk:
    if not header or not header.startswith("Bearer kt."):
        raise NotAuthenticated(_("A card reader must present its device token."))
    kiosk = kiosk_for_token(header.split(" ", 1)[1].strip())
    if kiosk is None:
        raise NotAuthenticated(_("The device token is invalid or revoked."))
    return kiosk


def meeting_summary(meeting: Meeting) -> list[dict[str, Any]]:
    """Per participant, across the meeting's opened sessions: how many present, late, left early, absent."""
    sessions = [s for s in sorted(meeting.sessions, key=lambda s: s.position) if s.state != "planned"]
    people: dict[int, dict[str, Any]] = {}
    for session in sessions:
        for row in roster(meeting, session):
            person = people.setdefault(row["participant_id"], {
                "participant_id": row["participant_id"], "user_id": row["user_id"], "full_name": row["full_name"],
                "role": row["role"], "sessions": len(sessions), "present": 0, "late": 0, "left_early": 0,
                "absent_excused": 0, "absent_unexcused": 0})
            status = row["status"]
            if status in ("present", "late", "left_early"):
                person["present"] += 1
                person["late"] += int(row["late"])
                person["left_early"] += int(row["left_early"])
            elif status in ("absent_excused", "absent_unexcused"):
                person[status] += 1
    return sorted(people.values(), key=lambda p: (p["role"] != "chair", p["full_name"]))
