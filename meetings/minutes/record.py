"""The minutes' record: everything the biên bản states, assembled from what the database recorded.

The record is plain JSON. It is rendered into the PDF, embedded in it as ``minutes-record.json`` (so every
signature covers it) and assembled again after archiving to show that the database still says what the signed
minutes say. It is therefore a pure function of the stored facts: no "now", no locale of the person asking.
It is Vietnamese whatever the interface language, because the minutes are the legal record.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from meetings.agenda.models import AgendaItem
from meetings.agenda.tree import build_tree, flatten
from meetings.attendance.operations import quorum, roster
from meetings.auth.models import User
from meetings.core.chain import canonical_json
from meetings.core.db import VN_TZ
from meetings.documents.models import Document, DocumentVersion
from meetings.extensions import db
from meetings.meeting.models import Meeting, Participant
from meetings.minutes.archive import RECORD_FORMAT
from meetings.minutes.models import Minutes, MinutesEntry
from meetings.speakers.models import SpeakerRequest
from meetings.voting.models import Ballot, Poll, SecretChoice


STATUS_LABELS = {"present": "Có mặt", "late": "Đến muộn", "left_early": "Về sớm",
                 "absent_excused": "Vắng có lý do", "absent_unexcused": "Vắng không lý do",
                 "pending": "Chưa điểm danh"}
ROLE_LABELS = {"chair": "Chủ tọa", "secretary": "Thư ký", "approver": "Lãnh đạo duyệt", "delegate": "Đại biểu",
               "guest": "Khách mời"}
KIND_LABELS = {"speech": "Phát biểu", "question": "Chất vấn", "point_of_order": "Kiến nghị thủ tục"}
RULE_LABELS = {"simple": "Đa số phiếu tán thành so với không tán thành",
               "majority_present": "Quá nửa số đại biểu có mặt",
               "majority_all": "Quá nửa tổng số đại biểu",
               "two_thirds_all": "Ít nhất hai phần ba tổng số đại biểu"}
ABSENCE_NOTES = {"excused": "có lý do", "unexcused": "không lý do"}


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(VN_TZ) if value is not None else None


def time_text(value: datetime | None) -> str:
    """``08:05 ngày 21/11/2026`` in Vietnam time; empty when unknown."""
    local = _local(value)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}" if local else ""


def place_date(place: str, value: datetime | None) -> str:
    """The heading's ``Hà Nội, ngày 21 tháng 11 năm 2026`` (day and month below 10 with a leading zero, as
    Decree 30 asks)."""
    local = _local(value)
    if local is None:
        return place
    date = f"ngày {local:%d} tháng {local:%m} năm {local:%Y}"
    return f"{place}, {date}" if place else date.capitalize()


def duration_text(seconds: int | None) -> str:
    seconds = max(int(seconds or 0), 0)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _plain_decimal(value: Decimal | str) -> str:
    return format(Decimal(value).normalize(), "f")


def _people(meeting: Meeting, minutes: Minutes) -> tuple[dict[str, str], dict[str, str]]:
    def person(user_id: int | None, role: str) -> dict[str, str]:
        user = db.session.get(User, user_id) if user_id else None
        if user is None:
            participant = next((p for p in meeting.participants if p.role == role), None)
            user = participant.user if participant else None
        return {"full_name": user.full_name if user else "", "title": user.title if user else ""}
    return person(minutes.chair_user_id, "chair"), person(minutes.secretary_user_id, "secretary")


def _sessions(meeting: Meeting) -> list[dict[str, Any]]:
    out = []
    names = {p.id: p.user.full_name for p in meeting.participants}
    for session in sorted(meeting.sessions, key=lambda s: s.position):
        if session.state == "planned":
            continue
        rows, summary = [], {"members": 0, "present": 0, "late": 0, "left_early": 0, "absent_excused": 0,
                             "absent_unexcused": 0, "proxies": 0}
        for row in roster(meeting, session):
            if row["role"] == "guest":
                continue
            status = row["status"] if row["status"] != "pending" else "absent_unexcused"
            summary["members"] += 1
            if status in ("present", "late", "left_early"):
                summary["present"] += 1
                summary["late"] += int(row["late"])
                summary["left_early"] += int(row["left_early"])
            else:
                summary[status] += 1
            notes = []
            if row["late"] and status == "left_early":
                notes.append("đến muộn")
            if row["reason"]:
                notes.append(row["reason"])
            if row["proxy_to"] is not None:
                summary["proxies"] += 1
                notes.append(f"ủy quyền cho {names.get(row['proxy_to'], '')}")
            rows.append({"full_name": row["full_name"], "role_label": ROLE_LABELS.get(row["role"], row["role"]),
                         "status": status, "status_label": STATUS_LABELS[status], "note": "; ".join(notes)})
        q = quorum(meeting, session)
        quorum_text = (f"{q['counted']}/{q['members']} đại biểu có quyền biểu quyết được tính; cần {q['required']}: "
                       + ("đủ túc số" if q["has_quorum"] else "không đủ túc số"))
        out.append({"title": session.title, "opened_at_text": time_text(session.opened_at),
                    "closed_at_text": time_text(session.closed_at), "summary": {**summary, "quorum_text": quorum_text},
                    "rows": rows})
    return out


def _documents(meeting: Meeting) -> dict[int | None, list[dict[str, Any]]]:
    by_item: dict[int | None, list[dict[str, Any]]] = {}
    rows = db.session.execute(
        sa.select(Document, DocumentVersion).join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.meeting_id == meeting.id).order_by(Document.id)).all()
    for doc, version in rows:
        by_item.setdefault(doc.agenda_item_id, []).append({
            "id": doc.id, "number": doc.number, "title": doc.title, "version": version.version_no,
            "sha256": version.blob_sha256, "filename": version.filename})
    return by_item


def _speakers(meeting: Meeting) -> dict[int | None, list[dict[str, Any]]]:
    by_item: dict[int | None, list[dict[str, Any]]] = {}
    rows = db.session.execute(
        sa.select(SpeakerRequest, User.full_name).join(Participant, Participant.id == SpeakerRequest.participant_id)
        .join(User, User.id == Participant.user_id)
        .where(SpeakerRequest.meeting_id == meeting.id, SpeakerRequest.state == "done")
        .order_by(SpeakerRequest.granted_at, SpeakerRequest.id)).all()
    for req, name in rows:
        by_item.setdefault(req.agenda_item_id, []).append({
            "full_name": name, "kind_label": KIND_LABELS.get(req.kind, req.kind),
            "duration_text": duration_text(req.duration_seconds)})
    return by_item


def poll_counts(poll: Poll) -> tuple[dict[str, int], dict[str, Decimal], int]:
    """Counts and weights per option, recounted from the ballots themselves (not the result stored at closing:
    after archiving, the two are compared)."""
    counts = {k: 0 for k in poll.option_keys}
    weights = {k: Decimal(0) for k in poll.option_keys}
    table = SecretChoice if poll.secret else Ballot
    rows = db.session.execute(sa.select(table.choices, table.weight).where(table.poll_id == poll.id)).all()
    for choices, weight in rows:
        for choice in choices:
            if choice in counts:
                counts[choice] += 1
                weights[choice] += weight
    return counts, weights, len(rows)


def _polls(meeting: Meeting) -> dict[int | None, list[dict[str, Any]]]:
    from meetings.voting.operations import passed

    by_item: dict[int | None, list[dict[str, Any]]] = {}
    polls = db.session.execute(sa.select(Poll).where(Poll.meeting_id == meeting.id, Poll.state == "closed")
                               .order_by(Poll.closed_at, Poll.id)).scalars()
    for poll in polls:
        counts, weights, cast = poll_counts(poll)
        names: dict[str, list[str]] = {k: [] for k in poll.option_keys}
        if not poll.secret:
            for choices, name in db.session.execute(
                    sa.select(Ballot.choices, User.full_name)
                    .join(Participant, Participant.id == Ballot.for_participant_id)
                    .join(User, User.id == Participant.user_id).where(Ballot.poll_id == poll.id)
                    .order_by(User.full_name, Participant.id)).all():
                for choice in choices:
                    names.setdefault(choice, []).append(name)
        verdict = passed(poll.rule, weights, poll) if poll.option_keys == ["yes", "no", "abstain"] else None
        by_item.setdefault(poll.agenda_item_id, []).append({
            "id": poll.id, "title": poll.title, "secret": poll.secret,
            "rule_label": RULE_LABELS.get(poll.rule, poll.rule), "eligible": poll.eligible_count, "cast": cast,
            "options": [{"choice": o["key"], "label": o["label"], "count": counts[o["key"]],
                         "weight": _plain_decimal(weights[o["key"]]), "names": names.get(o["key"], [])}
                        for o in poll.options],
            "passed": verdict,
            "verdict_label": {True: "Thông qua", False: "Không thông qua", None: "Đã kiểm phiếu"}[verdict]})
    return by_item


def assemble_record(meeting: Meeting, minutes: Minutes, *, audit_length: int, audit_head: str,
                    finalized_at: datetime) -> dict[str, Any]:
    items = db.session.execute(sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).scalars().all()
    entries = {e.agenda_item_id: e for e in db.session.execute(
        sa.select(MinutesEntry).where(MinutesEntry.meeting_id == meeting.id)).scalars()}
    documents, speakers, polls = _documents(meeting), _speakers(meeting), _polls(meeting)
    agenda = []
    for node in flatten(build_tree(items)):
        item, entry = node.item, entries.get(node.item.id)
        agenda.append({"number": node.number, "title": item.title, "presenter": item.presenter,
                       "documents": documents.get(item.id, []), "speakers": speakers.get(item.id, []),
                       "polls": polls.get(item.id, []),
                       "notes": entry.notes if entry else "", "conclusions": entry.conclusions if entry else ""})
    loose = (documents.get(None, []), speakers.get(None, []), polls.get(None, []))
    if any(loose):
        # What happened outside any agenda item still belongs in the record.
        agenda.append({"number": str(len([n for n in agenda if "." not in n["number"]]) + 1),
                       "title": "Các nội dung khác", "presenter": "", "documents": loose[0], "speakers": loose[1],
                       "polls": loose[2], "notes": "", "conclusions": ""})
    chair, secretary = _people(meeting, minutes)
    body = meeting.body
    starts = min((s.opened_at for s in meeting.sessions if s.opened_at), default=meeting.starts_at)
    ends = max((s.closed_at for s in meeting.sessions if s.closed_at), default=meeting.ends_at)
    return {
        "format": RECORD_FORMAT,
        "body": {"name": body.name, "parent_name": ""},
        "meeting": {"id": meeting.id, "title": meeting.title, "number": meeting.number, "place": meeting.place,
                    "minutes_number": minutes.number, "starts_at_text": time_text(starts),
                    "ends_at_text": time_text(ends)},
        "place_date": place_date(_city(meeting.place), starts),
        "chair": chair, "secretary": secretary,
        "sessions": _sessions(meeting),
        "agenda": agenda,
        "general_notes": minutes.general_notes,
        "closing_text": minutes.closing_text or (f"Kỳ họp kết thúc lúc {time_text(ends)}." if ends else ""),
        "audit_head": {"length": audit_length, "hash": audit_head},
        "finalized_at_text": time_text(finalized_at),
    }


def _city(place: str) -> str:
    """The place name of the heading: the last part of the venue ("Hội trường A, Hà Nội" → "Hà Nội")."""
    return place.rsplit(",", 1)[-1].strip() if place else ""


def record_sha256(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def record_text(record: dict[str, Any]) -> str:
    """The record as searchable plain text (the search index of archived meetings)."""
    parts = [record["meeting"]["title"], record["meeting"]["number"], record["meeting"]["place"],
             record["chair"]["full_name"], record["secretary"]["full_name"]]
    for item in record["agenda"]:
        parts += [item["title"], item["presenter"], item["notes"], item["conclusions"]]
        parts += [d["title"] for d in item["documents"]]
        parts += [p["title"] for p in item["polls"]]
        parts += [s["full_name"] for s in item["speakers"]]
    parts += [record["general_notes"], record["closing_text"]]
    return "\n".join(p for p in parts if p)


def differences(signed: dict[str, Any], current: dict[str, Any], path: str = "") -> list[str]:
    """Where two records differ, as readable paths ("agenda[2].polls[0].options[1].count: 12 → 13")."""
    if isinstance(signed, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(signed) | set(current)):
            out += differences(signed.get(key), current.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(signed, list) and isinstance(current, list):
        out = []
        for i in range(max(len(signed), len(current))):
            a = signed[i] if i < len(signed) else None
            b = current[i] if i < len(current) else None
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if signed == current else [f"{path}: {_short(signed)} → {_short(current)}"]


def _short(value: Any) -> str:
    text = canonical_json(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "…"
