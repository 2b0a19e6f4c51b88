"""Document operations: the only code that writes documents and versions.

An upload is prepared outside any transaction (intake in a limited subprocess, signing, blob store): those
take a while, and a writer must not hold SQLite's lock meanwhile. The operation then records the prepared
file in one short transaction, with an audit entry and a ``document.published`` / ``document.updated`` event
addressed to the document's audience only.
"""
from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from flask import current_app
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.audit import record_audit
from meetings.core.db import utcnow
from meetings.core.errors import Conflict, NotFound, TooLarge, Unprocessable, UnsupportedMedia
from meetings.core.events import emit_event
from meetings.documents.blobstore import LocalBlobStore
from meetings.documents.intake import IntakeLimits, Reason, inspect_pdf
from meetings.documents.models import Document, DocumentRead, DocumentVersion
from meetings.extensions import db
from meetings.meeting.access import load_meeting, require_role
from meetings.meeting.models import ROLES, Meeting, Participant

PREPARE = ("secretary",)
# Each intake child may use up to 1 GiB and a core: at most one per core at a time, the rest wait (under
# gevent this semaphore is cooperative, so waiting uploads do not block the worker's other greenlets).
_INTAKE_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
SEE_EVERYTHING = frozenset({"secretary", "approver", "admin"})
UPLOAD_STATES = ("draft", "published", "in_session", "paused")
# Who opened what: the secretary and the chair (not the approver: reading habits are the room's business).
SEE_READS = ("secretary", "chair")
# Opening again within this window is the same reading (pdf.js's range requests, a revalidation, a reload).
READ_COALESCE = timedelta(minutes=5)


def blob_store() -> LocalBlobStore:
    store = current_app.extensions.get("blob_store")
    if store is None:
        store = current_app.extensions["blob_store"] = LocalBlobStore(Path(current_app.config["DATA_DIR"]) / "blobs")
    return store


@dataclass(frozen=True)
class PreparedFile:
    """An upload that passed intake and was signed; its signed bytes are in the blob store."""

    filename: str
    original_sha256: str
    original_size: int
    blob_sha256: str
    size: int
    pages: int
    title: str | None
    removed: list[dict]
    signed_by: str


# --- preparing an upload (no transaction) ------------------------------------------------------------------

def check_can_upload(meeting_id: int, *, actor: User) -> Meeting:
    meeting, roles = load_meeting(meeting_id, actor)
    require_role(roles, PREPARE)
    if meeting.state not in UPLOAD_STATES:
        from meetings.core.i18n import state_label
        raise Conflict(_("Documents cannot be added while the meeting is “%(state)s”.",
                         state=state_label(meeting.state)), extra={"state": meeting.state})
    return meeting


def prepare_upload(path: Path, filename: str, *, org_name: str, doc_number: str | None,
                   signing_time: datetime | None = None) -> PreparedFile:
    """Intake (separate process with limits), then the organisation's signature, then the blob store."""
    from meetings.documents.org_signer import org_signer
    from meetings.signing.pades import SigningError, sign_document

    limits = IntakeLimits(max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    scratch = Path(current_app.config["DATA_DIR"]) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with _INTAKE_SLOTS:
        result = inspect_pdf(path, limits=limits, output_dir=scratch)
    if not result.ok:
        _refuse(result)
    try:
        sanitized = result.sanitized_path.read_bytes()
    finally:
        result.discard()
    signer = org_signer()
    try:
        signed = sign_document(sanitized, signer=signer.identity, org_name=org_name, doc_number=doc_number or None,
                               signing_time=signing_time or utcnow(), timestamper=configured_timestamper())
    except SigningError as err:
        raise Unprocessable(_("The document could not be signed: %(reason)s", reason=str(err)))
    blob = blob_store().put(signed)
    return PreparedFile(filename=filename[:255], original_sha256=result.sha256, original_size=result.size,
                        blob_sha256=blob, size=len(signed), pages=result.pages or 0, title=result.title,
                        removed=[r.to_dict() for r in result.removed], signed_by=signer.identity.common_name)


def configured_timestamper():
    """The time-stamping authority of TSA_URL (signatures become PAdES B-T), or None (B-B)."""
    url = current_app.config["TSA_URL"]
    if not url:
        return None
    from meetings.signing.timestamps import http_timestamper
    return http_timestamper(url)


def _refuse(result) -> None:
    message = _(result.message, **dict(result.message_args)) if result.message_args else _(result.message)
    extra = {"reason": str(result.reason)}
    if result.reason == Reason.NOT_PDF:
        raise UnsupportedMedia(message, extra=extra)
    if result.reason == Reason.TOO_LARGE:
        raise TooLarge(message, extra=extra)
    raise Unprocessable(message, extra=extra)


def save_upload(stream, *, max_bytes: int) -> Path:
    """Copy an upload stream to a private temp file, refusing it as soon as it passes ``max_bytes``."""
    scratch = Path(current_app.config["DATA_DIR"]) / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".pdf", dir=scratch)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge(_("The upload is larger than the limit of %(mb)s MB.",
                                     mb=max_bytes // (1024 * 1024)))
                out.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


# --- who sees what ----------------------------------------------------------------------------------------

def document_visible(doc: Document, meeting: Meeting, roles: frozenset[str], participant: Participant | None) -> bool:
    if roles & SEE_EVERYTHING:
        return True
    if participant is None:
        return False
    if meeting.is_closed_session and participant.role == "guest":
        return False
    if doc.audience == "participants":
        return participant.id in (doc.audience_participant_ids or [])
    if doc.audience == "roles":
        return participant.role in (doc.audience_roles or [])
    return True


def event_audience(doc: Document, meeting: Meeting) -> dict | None:
    staff = ["secretary", "approver"]
    if doc.audience == "participants":
        user_ids = list(db.session.execute(sa.select(Participant.user_id).where(
            Participant.id.in_(doc.audience_participant_ids or []))).scalars())
        return {"user_ids": user_ids, "roles": staff}
    if doc.audience == "roles":
        return {"roles": sorted(set(doc.audience_roles or []) | set(staff))}
    if meeting.is_closed_session:
        return {"roles": [r for r in ROLES if r != "guest"]}
    return None


def load_document(document_id: int, *, actor: User) -> tuple[Document, Meeting, frozenset[str]]:
    """The document, if the caller may see it; unknown and invisible are both 404."""
    from meetings.meeting.access import participant_of

    doc = db.session.get(Document, document_id)
    if doc is not None:
        try:
            meeting, roles = load_meeting(doc.meeting_id, actor)
        except NotFound:
            meeting = None
        if meeting is not None and document_visible(doc, meeting, roles, participant_of(meeting.id, actor.id)):
            return doc, meeting, roles
    raise NotFound(_("Document %(id)s does not exist or is not visible to you.", id=document_id))


def visible_documents(meeting: Meeting, actor: User, roles: frozenset[str]) -> list[Document]:
    from meetings.meeting.access import participant_of

    participant = participant_of(meeting.id, actor.id)
    docs = db.session.execute(sa.select(Document).where(Document.meeting_id == meeting.id)
                              .order_by(Document.agenda_item_id.is_(None), Document.agenda_item_id, Document.id))
    return [d for d in docs.scalars() if document_visible(d, meeting, roles, participant)]


# --- writing ----------------------------------------------------------------------------------------------

def _validate_audience(meeting: Meeting, audience: str, participant_ids: list[int], roles: list[str]) -> None:
    if audience == "participants":
        if not participant_ids:
            raise Unprocessable(_("Choose at least one participant who may read this document."))
        known = set(db.session.execute(sa.select(Participant.id).where(
            Participant.meeting_id == meeting.id, Participant.id.in_(participant_ids))).scalars())
        unknown = sorted(set(participant_ids) - known)
        if unknown:
            raise Unprocessable(_("These participants are not in this meeting: %(ids)s.",
                                  ids=", ".join(map(str, unknown))))
    elif audience == "roles":
        if not roles:
            raise Unprocessable(_("Choose at least one role that may read this document."))
        bad = sorted(set(roles) - set(ROLES))
        if bad:
            raise Unprocessable(_("Unknown roles: %(roles)s.", roles=", ".join(bad)))


def _payload(doc: Document, version: DocumentVersion) -> dict:
    return {"document_id": doc.id, "title": doc.title, "number": doc.number, "agenda_item_id": doc.agenda_item_id,
            "version": version.version_no, "pages": version.pages, "size": version.size,
            "sha256": version.blob_sha256}


def add_document(meeting_id: int, prepared: PreparedFile, *, title: str | None, number: str,
                 agenda_item_id: int | None, audience: str, participant_ids: list[int], roles: list[str],
                 actor: User) -> Document:
    from meetings.agenda.models import AgendaItem

    meeting, meeting_roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(meeting_roles, PREPARE)
    if meeting.state not in UPLOAD_STATES:
        check_can_upload(meeting_id, actor=actor)  # raises the state conflict with its message
    if agenda_item_id is not None:
        item = db.session.get(AgendaItem, agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            raise Unprocessable(_("Agenda item %(id)s is not on this meeting's agenda.", id=agenda_item_id))
    _validate_audience(meeting, audience, participant_ids, roles)
    doc = Document(meeting_id=meeting.id, agenda_item_id=agenda_item_id,
                   title=(title or prepared.title or Path(prepared.filename).stem or _("Document"))[:300],
                   number=number, audience=audience,
                   audience_participant_ids=sorted(set(participant_ids)) if audience == "participants" else [],
                   audience_roles=sorted(set(roles)) if audience == "roles" else [], created_by_id=actor.id)
    db.session.add(doc)
    db.session.flush()
    version = _add_version(doc, prepared, actor)
    record_audit("document.add", actor_id=actor.id, meeting_id=meeting.id,
                 data={"document_id": doc.id, "title": doc.title, "audience": doc.audience,
                       "sha256": version.blob_sha256, "original_sha256": version.original_sha256,
                       "removed": len(version.removed)})
    emit_event(meeting.id, "document.published", _payload(doc, version), audience=event_audience(doc, meeting))
    return doc


def add_version(document_id: int, prepared: PreparedFile, *, actor: User) -> DocumentVersion:
    doc, meeting, roles = load_document(document_id, actor=actor)
    require_role(roles, PREPARE)
    check_can_upload(meeting.id, actor=actor)
    db.session.execute(sa.select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())
    version = _add_version(doc, prepared, actor)
    record_audit("document.version", actor_id=actor.id, meeting_id=meeting.id,
                 data={"document_id": doc.id, "version": version.version_no, "sha256": version.blob_sha256,
                       "original_sha256": version.original_sha256})
    emit_event(meeting.id, "document.updated", _payload(doc, version), audience=event_audience(doc, meeting))
    return version


def _add_version(doc: Document, prepared: PreparedFile, actor: User) -> DocumentVersion:
    number = (db.session.execute(sa.select(sa.func.max(DocumentVersion.version_no)).where(
        DocumentVersion.document_id == doc.id)).scalar_one() or 0) + 1
    version = DocumentVersion(document_id=doc.id, version_no=number, filename=prepared.filename,
                              original_sha256=prepared.original_sha256, original_size=prepared.original_size,
                              blob_sha256=prepared.blob_sha256, size=prepared.size, pages=prepared.pages,
                              removed=prepared.removed, signed_by=prepared.signed_by, uploaded_by_id=actor.id)
    db.session.add(version)
    db.session.flush()
    doc.current_version_id = version.id
    doc.updated_at = utcnow()
    return version


# --- read tracking ----------------------------------------------------------------------------------------

def record_open(document_id: int, meeting_id: int, *, actor: User) -> None:
    """Note that a participant opened a document: first time, last time, count of readings.

    Called when a reader starts fetching the file. Readers who are not participants (an admin) leave no
    trace. Usually a read answers it (opened less than READ_COALESCE ago); only then does it take the write
    lock, in its own short transaction, and commit before the bytes go out.
    """
    from meetings.core.tx import restart_as_writer
    from meetings.meeting.access import participant_of

    participant = participant_of(meeting_id, actor.id)
    if participant is None:
        return
    now = utcnow()
    key = (document_id, participant.id)
    row = db.session.get(DocumentRead, key)
    if row is not None and now - row.last_opened_at < READ_COALESCE:
        return
    restart_as_writer()
    row = db.session.get(DocumentRead, key, with_for_update=True, populate_existing=True)
    if row is None:
        db.session.add(DocumentRead(document_id=document_id, participant_id=participant.id, first_opened_at=now,
                                    last_opened_at=now, opens=1))
    elif now - row.last_opened_at >= READ_COALESCE:
        row.last_opened_at, row.opens = now, row.opens + 1
    try:
        db.session.commit()
    except IntegrityError:  # the same reader's twin request inserted it first: that reading counts
        db.session.rollback()


@dataclass(frozen=True)
class Reader:
    participant: Participant
    read: DocumentRead | None


def document_readers(document_id: int, *, actor: User) -> tuple[Document, list[Reader]]:
    """Everyone the document is meant for, and when each opened it (secretary and chair only)."""
    doc, meeting, roles = load_document(document_id, actor=actor)
    require_role(roles, SEE_READS)
    reads = {r.participant_id: r for r in db.session.execute(
        sa.select(DocumentRead).where(DocumentRead.document_id == doc.id)).scalars()}
    participants = db.session.execute(
        sa.select(Participant).where(Participant.meeting_id == meeting.id).order_by(Participant.id)
        .options(selectinload(Participant.user))).scalars()
    audience = [p for p in participants if document_visible(doc, meeting, frozenset({p.role}), p)]
    return doc, [Reader(p, reads.get(p.id)) for p in audience]


def read_counts(meeting_id: int) -> dict[int, int]:
    """Per document of the meeting: how many participants opened it (for the secretary's list)."""
    rows = db.session.execute(
        sa.select(DocumentRead.document_id, sa.func.count()).join(Document, Document.id == DocumentRead.document_id)
        .where(Document.meeting_id == meeting_id).group_by(DocumentRead.document_id))
    return {doc_id: n for doc_id, n in rows}


# --- follow me --------------------------------------------------------------------------------------------

PRESENT = ("chair", "secretary")  # the chair leads; the secretary often drives the hall screen for them
PRESENT_STATES = ("published", "in_session", "paused")


def view_payload(doc: Document | None, page: int | None) -> dict:
    if doc is None or doc.current_version is None or page is None:
        return {"document_id": None, "page": None}
    return {"document_id": doc.id, "page": page, "title": doc.title, "pages": doc.current_version.pages,
            "version": doc.current_version.version_no}


def set_view(meeting_id: int, document_id: int | None, page: int, *, actor: User) -> dict:
    """Show page ``page`` of a document to every tablet in follow mode (``document_id`` None: stop showing).

    The view is meeting state (a tablet that joins later, or resyncs, opens the same page) and a ``view.page``
    event for the document's audience only. Starting and stopping a presentation is audited; turning pages
    is not (it decides nothing, and a long report would flood the chain). Showing what is already shown
    changes nothing.
    """
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PRESENT)
    if meeting.state not in PRESENT_STATES:
        from meetings.core.i18n import state_label
        raise Conflict(_("Documents can be shown to the room only while the meeting is published or under way "
                         "(it is “%(state)s”).", state=state_label(meeting.state)))
    doc = None
    if document_id is not None:
        doc = db.session.get(Document, document_id)
        if doc is None or doc.meeting_id != meeting.id:
            raise NotFound(_("Document %(id)s does not exist or is not visible to you.", id=document_id))
        if doc.current_version is None:
            raise Conflict(_("This document has no file yet."))
        if not 1 <= page <= doc.current_version.pages:
            raise Unprocessable(_("The document has %(n)s pages; page %(page)s does not exist.",
                                  n=doc.current_version.pages, page=page))
    new = (doc.id, page) if doc is not None else (None, None)
    if (meeting.view_document_id, meeting.view_page) == new:
        return view_payload(doc, page)
    previous = meeting.view_document_id
    meeting.view_document_id, meeting.view_page = new
    if previous != meeting.view_document_id:
        record_audit("view.present" if doc is not None else "view.stop", actor_id=actor.id, meeting_id=meeting.id,
                     data={"document_id": meeting.view_document_id, "previous_document_id": previous})
    payload = view_payload(doc, page)
    emit_event(meeting.id, "view.page", payload, audience=event_audience(doc, meeting) if doc is not None else None)
    return payload


def current_view(meeting: Meeting, user_id: int, roles: frozenset[str]) -> dict:
    """The page the chair shows, as this viewer may see it (nothing, if the document is not for them)."""
    from meetings.meeting.access import participant_of

    if meeting.view_document_id is None:
        return view_payload(None, None)
    doc = db.session.get(Document, meeting.view_document_id)
    if doc is None or doc.meeting_id != meeting.id:
        return view_payload(None, None)
    participant = participant_of(meeting.id, user_id) if user_id else None
    if not document_visible(doc, meeting, roles, participant):
        return view_payload(None, None)
    return view_payload(doc, meeting.view_page)


def documents_payload(meeting: Meeting, user_id: int, roles: frozenset[str]) -> list[dict]:
    """The documents this viewer may read, for a tablet's snapshot."""
    from meetings.meeting.access import participant_of

    participant = participant_of(meeting.id, user_id) if user_id else None
    docs = db.session.execute(sa.select(Document).where(Document.meeting_id == meeting.id)
                              .order_by(Document.agenda_item_id.is_(None), Document.agenda_item_id, Document.id))
    return [_payload(d, d.current_version) for d in docs.scalars()
            if d.current_version is not None and document_visible(d, meeting, roles, participant)]
