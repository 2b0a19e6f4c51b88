"""Archiving a meeting: the guard on the ``archive`` transition, the ZIP, and the check of the archived record.

The ZIP is assembled on request from what is stored (it is deterministic, so two downloads are identical);
``check_meeting`` asks the live database the same questions the offline verifier asks the ZIP, plus one only
the database can answer: does it still say what the signed minutes say?
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.audit import AuditEntry, chain_name, verify_audit_chain
from meetings.core.db import to_local_iso
from meetings.core.errors import Conflict
from meetings.documents.models import Document, DocumentVersion
from meetings.documents.operations import blob_store
from meetings.documents.org_signer import org_signer
from meetings.extensions import db
from meetings.meeting.access import load_meeting
from meetings.meeting.models import Meeting, MeetingTransition
from meetings.minutes.archive import RECORD_ATTACHMENT
from meetings.minutes.models import Minutes
from meetings.minutes.record import assemble_record, differences, record_text
from meetings.signing.pki import certificates_pem



def ensure_archivable(meeting: Meeting) -> Minutes:
    minutes = db.session.get(Minutes, meeting.id)
    if minutes is None or minutes.state != "signed":
        raise Conflict(_("A meeting is archived once its minutes carry every signature "
                         "(secretary, chair and the organisation's seal)."))
    return minutes


def index_archived(meeting: Meeting, minutes: Minutes) -> None:
    """Make the archived meeting searchable: its minutes and the text of its documents."""
    from meetings.search.operations import SearchSource, index_meeting
    from meetings.search.text import pdf_text

    record = signed_record(blob_store().read(minutes.pdf_sha256))
    # The index holds the text only: titles go in too, so "bien ban" finds every minutes.
    sources = [SearchSource(kind="minutes", ref_id=meeting.id, title=f"Biên bản: {meeting.title}",
                            text=f"Biên bản\n{record_text(record) if record else meeting.title}")]
    for doc, version in _current_documents(meeting.id):
        sources.append(SearchSource(kind="document", ref_id=doc.id, title=doc.title,
                                    text=f"{doc.number} {doc.title}\n{pdf_text(blob_store().read(version.blob_sha256))}"))
    index_meeting(meeting.id, sources)


def _current_documents(meeting_id: int) -> list[tuple[Document, DocumentVersion]]:
    return list(db.session.execute(
        sa.select(Document, DocumentVersion).join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.meeting_id == meeting_id).order_by(Document.id)).all())


def signed_record(pdf: bytes) -> dict[str, Any] | None:
    """The record embedded in the minutes (covered by their signatures), or None."""
    from pypdf import PdfReader

    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
        data = attachments.get(RECORD_ATTACHMENT)
        if not data:
            return None
        return json.loads(data[0].decode("utf-8"))
    except Exception:  # a damaged PDF has no trustworthy record: the caller reports it as missing
        return None


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:50] or "tai-lieu"


def _meeting_meta(meeting: Meeting, minutes: Minutes) -> dict[str, Any]:
    archived = db.session.execute(sa.select(MeetingTransition.at).where(
        MeetingTransition.meeting_id == meeting.id, MeetingTransition.action == "archive")
        .order_by(MeetingTransition.id.desc()).limit(1)).scalar_one_or_none()
    return {"id": meeting.id, "title": meeting.title, "number": meeting.number, "body": meeting.body.name,
            "place": meeting.place, "starts_at": to_local_iso(meeting.starts_at),
            "minutes_number": minutes.number, "finalized_at": to_local_iso(minutes.finalized_at),
            "archived_at": to_local_iso(archived), "audit_head_in_minutes": {
                "length": minutes.audit_length, "hash": minutes.audit_head}}


def _audit_entries(meeting_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(sa.select(AuditEntry).where(AuditEntry.chain == chain_name(meeting_id))
                              .order_by(AuditEntry.idx)).scalars()
    return [{"idx": e.idx, "prev_hash": e.prev_hash, "hash": e.hash, "record": e.record()} for e in rows]


def build_meeting_archive(meeting_id: int, *, actor: User) -> tuple[bytes, str]:
    """The archive ZIP of an archived meeting and its file name."""
    from meetings.minutes.archive import ArchiveFile, build_archive

    meeting, _roles = load_meeting(meeting_id, actor)
    if meeting.state != "archived":
        raise Conflict(_("Only an archived meeting has an archive to download."), extra={"state": meeting.state})
    minutes = db.session.get(Minutes, meeting.id)
    assert minutes is not None and minutes.pdf_sha256  # archiving requires signed minutes
    documents = []
    for doc in db.session.execute(sa.select(Document).where(Document.meeting_id == meeting.id)
                                  .order_by(Document.id)).scalars():
        for version in doc.versions:
            documents.append(ArchiveFile(path=f"documents/{doc.id}-v{version.version_no}-{_slug(doc.title)}.pdf",
                                         data=blob_store().read(version.blob_sha256), kind="document"))
    meta = _meeting_meta(meeting, minutes)
    report = check_meeting_report(meeting, minutes)
    data = build_archive(meeting=meta, minutes_pdf=blob_store().read(minutes.pdf_sha256), documents=documents,
                         audit_entries=_audit_entries(meeting.id), report=report,
                         trust_roots_pem=certificates_pem(org_signer().trust_roots),
                         created_at=meta["archived_at"] or meta["finalized_at"] or "")
    return data, f"luu-tru-{meeting.id}-{_slug(meeting.title)}.zip"


def check_meeting(meeting_id: int, *, actor: User) -> dict[str, Any]:
    meeting, _roles = load_meeting(meeting_id, actor)
    minutes = db.session.get(Minutes, meeting.id)
    if minutes is None or minutes.state == "draft":
        raise Conflict(_("The minutes of this meeting are not finalized yet."))
    return check_meeting_report(meeting, minutes)


def check_meeting_report(meeting: Meeting, minutes: Minutes) -> dict[str, Any]:
    """Every check as ``{name, ok, detail}``: the audit chain, the minutes' signatures, the stored files, and
    whether the database still says what the signed record says."""
    from meetings.signing.verify import Verdict, verify_pdf

    checks: list[dict[str, Any]] = []

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append({"name": name, "ok": ok, "detail": detail})

    chain = verify_audit_chain(meeting.id)
    add("audit.chain", chain.ok, _("The audit chain is intact: %(n)s entries.", n=chain.length) if chain.ok else
        _("The audit chain is broken at entry %(i)s: %(reason)s", i=chain.first_bad_index, reason=chain.reason))
    head = db.session.execute(sa.select(AuditEntry.hash).where(
        AuditEntry.chain == chain_name(meeting.id), AuditEntry.idx == minutes.audit_length)).scalar_one_or_none() \
        if minutes.audit_length else None
    head_ok = minutes.audit_length == 0 or head == minutes.audit_head
    add("audit.head", head_ok, _("The audit log contains the head printed in the minutes.") if head_ok else
        _("The audit log no longer contains the head printed in the minutes (entry %(i)s).", i=minutes.audit_length))

    pdf = blob_store().read(minutes.pdf_sha256) if minutes.pdf_sha256 else b""
    pdf_ok = hashlib.sha256(pdf).hexdigest() == minutes.pdf_sha256
    add("minutes.file", pdf_ok, _("The stored minutes file is intact.") if pdf_ok else
        _("The stored minutes file does not match its hash."))
    from meetings.documents.verification import describe
    from meetings.minutes.operations import step_name

    report = verify_pdf(pdf, trust_roots=org_signer().trust_roots)
    described = describe(report.to_dict())["signatures"]
    for sig, words in zip(report.signatures, described, strict=True):
        add(f"signature:{sig.field}", sig.verdict == Verdict.VALID, _(
            "%(step)s: signed by %(who)s — %(verdict)s", step=step_name(sig.field),
            who=sig.signer_common_name or "?", verdict=words["headline"]))

    for doc, version in _current_documents(meeting.id):
        data = blob_store().read(version.blob_sha256)
        ok = hashlib.sha256(data).hexdigest() == version.blob_sha256
        add(f"document:{doc.id}-v{version.version_no}", ok, _("Document “%(t)s” is intact.", t=doc.title) if ok else
            _("Document “%(t)s” (version %(v)s) no longer matches its hash.", t=doc.title, v=version.version_no))

    record = signed_record(pdf)
    if record is None:
        add("record", False, _("The signed minutes carry no readable record."))
    else:
        current = assemble_record(meeting, minutes, audit_length=minutes.audit_length or 0,
                                  audit_head=minutes.audit_head or "", finalized_at=minutes.finalized_at)
        diffs = differences(record, current)
        add("record", not diffs, _("The database still says what the signed minutes say.") if not diffs else
            _("The database differs from the signed minutes at: %(where)s", where="; ".join(diffs[:10])))
    return {"ok": all(c["ok"] for c in checks), "checks": checks}
