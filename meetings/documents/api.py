from __future__ import annotations

import re
import time
from pathlib import Path

from flask import Response, current_app, request, url_for
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.api import ApiBlueprint
from meetings.core.errors import BadRequest
from meetings.core.tx import restart_as_writer
from meetings.documents import operations as ops
from meetings.documents.models import AUDIENCES, Document, DocumentVersion
from meetings.documents.schemas import DocumentOut, ReaderOut, VersionOut
from meetings.core.schemas import Page
from meetings.meeting.access import load_meeting

bp = ApiBlueprint("documents_api", __name__)

UPLOAD_FIELDS = {
    "file": "the PDF",
    "title": "title (default: the PDF's title or file name)",
    "number": "number/symbol (số, ký hiệu), printed in the signature",
    "agenda_item_id": "attach to this agenda item",
    "audience": "all (default) | participants | roles",
    "participant_ids": "comma-separated participant ids (audience=participants)",
    "roles": "comma-separated roles (audience=roles)",
}
CHUNK = 256 * 1024


def version_out(v: DocumentVersion) -> VersionOut:
    return VersionOut(version_no=v.version_no, filename=v.filename, sha256=v.blob_sha256,
                      original_sha256=v.original_sha256, size=v.size, pages=v.pages, removed=v.removed,
                      signed_by=v.signed_by, uploaded_at=v.uploaded_at)


def document_out(doc: Document, roles: frozenset[str]) -> DocumentOut:
    return DocumentOut(id=doc.id, meeting_id=doc.meeting_id, agenda_item_id=doc.agenda_item_id, title=doc.title,
                       number=doc.number, audience=doc.audience, audience_participant_ids=doc.audience_participant_ids,
                       audience_roles=doc.audience_roles,
                       current=version_out(doc.current_version) if doc.current_version else None,
                       versions=[version_out(v) for v in doc.versions] if roles & ops.SEE_EVERYTHING else None,
                       file_url=url_for("documents_api.get_file", document_id=doc.id), updated_at=doc.updated_at)


def _form_text(name: str, limit: int) -> str:
    value = request.form.get(name, "").strip()
    if len(value) > limit:
        raise BadRequest(_("“%(field)s” is too long (at most %(n)s characters).", field=name, n=limit))
    return value


def _form_ids(name: str) -> list[int]:
    raw = request.form.get(name, "").strip()
    if not raw:
        return []
    if not re.fullmatch(r"\s*\d{1,10}(\s*,\s*\d{1,10})*\s*", raw) or len(raw) > 10000:
        raise BadRequest(_("“%(field)s” must be a comma-separated list of ids.", field=name))
    return [int(x) for x in raw.split(",")]


def _upload() -> Path:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest(_("Attach the PDF in the “file” field."))
    try:
        return ops.save_upload(upload.stream, max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    finally:
        upload.close()  # werkzeug's spooled copy of the part: free it now, refused or not


@bp.endpoint("/meetings/<int:meeting_id>/documents", "POST", summary="Upload a document (checked, cleaned, signed)",
             multipart=UPLOAD_FIELDS, response=DocumentOut, status=201, errors=(403, 404, 409, 413, 415, 422),
             late_write=True)
def upload_document(meeting_id: int, *, actor: User):
    meeting = ops.check_can_upload(meeting_id, actor=actor)  # before reading the file
    audience = request.form.get("audience", "all").strip() or "all"
    if audience not in AUDIENCES:
        raise BadRequest(_("“audience” must be one of: %(values)s.", values=", ".join(AUDIENCES)))
    title, number = _form_text("title", 300), _form_text("number", 100)
    item_ids = _form_ids("agenda_item_id")
    participant_ids = _form_ids("participant_ids")
    roles = [r.strip() for r in request.form.get("roles", "").split(",") if r.strip()]
    body_name, filename = meeting.body.name, request.files.get("file").filename if "file" in request.files else ""
    path = _upload()
    try:
        prepared = ops.prepare_upload(path, filename, org_name=body_name, doc_number=number)
    finally:
        path.unlink(missing_ok=True)
    restart_as_writer()
    doc = ops.add_document(meeting_id, prepared, title=title, number=number,
                           agenda_item_id=item_ids[0] if item_ids else None, audience=audience,
                           participant_ids=participant_ids, roles=roles, actor=actor)
    _meeting, roles_now = load_meeting(meeting_id, actor)
    return document_out(doc, roles_now)


@bp.endpoint("/documents/<int:document_id>/versions", "POST", summary="Upload a new version of a document",
             multipart={"file": "the PDF"}, response=DocumentOut, status=201,
             errors=(403, 404, 409, 413, 415, 422), late_write=True)
def upload_version(document_id: int, *, actor: User):
    doc, meeting, roles = ops.load_document(document_id, actor=actor)
    ops.check_can_upload(meeting.id, actor=actor)
    body_name, number = meeting.body.name, doc.number
    filename = request.files.get("file").filename if "file" in request.files else ""
    path = _upload()
    try:
        prepared = ops.prepare_upload(path, filename, org_name=body_name, doc_number=number)
    finally:
        path.unlink(missing_ok=True)
    restart_as_writer()
    ops.add_version(document_id, prepared, actor=actor)
    doc, _meeting, roles = ops.load_document(document_id, actor=actor)
    return document_out(doc, roles)


@bp.endpoint("/meetings/<int:meeting_id>/documents", summary="Documents of the meeting the caller may read",
             response=Page[DocumentOut], errors=(404,))
def list_documents(meeting_id: int, *, actor: User):
    meeting, roles = load_meeting(meeting_id, actor)
    docs = ops.visible_documents(meeting, actor, roles)
    return {"items": [document_out(d, roles).model_dump(mode="json") for d in docs], "total": len(docs)}


@bp.endpoint("/documents/<int:document_id>", summary="A document's metadata", response=DocumentOut, errors=(404,))
def get_document(document_id: int, *, actor: User):
    doc, _meeting, roles = ops.load_document(document_id, actor=actor)
    return document_out(doc, roles)


@bp.endpoint("/documents/<int:document_id>/file", summary="The signed PDF (strong ETag, Range, 304)",
             raw_response="application/pdf", errors=(404, 416))
def get_file(document_id: int, *, actor: User):
    doc, meeting, _roles = ops.load_document(document_id, actor=actor)
    if doc.current_version is None:
        raise BadRequest(_("This document has no file yet."))
    if _starts_reading():
        ops.record_open(doc.id, meeting.id, actor=actor)
    return send_blob(doc.current_version, download_name=f"{doc.title[:80]}.pdf")


def _starts_reading() -> bool:
    """A request that opens the document: the whole file, its first bytes (pdf.js), or a revalidation."""
    byte_range = request.range
    return byte_range is None or not byte_range.ranges or byte_range.ranges[0][0] == 0


@bp.endpoint("/documents/<int:document_id>/versions/<int:version_no>/file",
             summary="An earlier version's signed PDF (secretaries)", raw_response="application/pdf",
             errors=(403, 404, 416))
def get_version_file(document_id: int, version_no: int, *, actor: User):
    from meetings.meeting.access import require_role

    doc, _meeting, roles = ops.load_document(document_id, actor=actor)
    require_role(roles, ("secretary", "approver"))
    version = next((v for v in doc.versions if v.version_no == version_no), None)
    if version is None:
        from meetings.core.errors import NotFound
        raise NotFound(_("Version %(n)s of this document does not exist.", n=version_no))
    return send_blob(version, download_name=f"{doc.title[:80]} (v{version_no}).pdf")


def send_blob(version: DocumentVersion, *, download_name: str) -> Response:
    """Serve a signed file: strong ETag (its sha256), 304, single Range → 206, private caching.

    The body is streamed in chunks that yield, so one 20 MB download never holds a gevent worker's other
    greenlets (the tablets' sockets) for the whole transfer. Behind nginx the bytes go out by X-Accel-Redirect.
    """
    etag = version.blob_sha256
    size = version.size
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, max-age=0, must-revalidate",
               "Accept-Ranges": "bytes", "Content-Type": "application/pdf",
               "Content-Disposition": _inline(download_name)}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={k: v for k, v in headers.items() if k != "Content-Type"})
    if current_app.config["BEHIND_NGINX"]:
        headers["X-Accel-Redirect"] = f"/_protected_blobs/{etag[:2]}/{etag[2:4]}/{etag}"
        del headers["Accept-Ranges"]  # nginx serves the ranges and says so itself (else "bytes, bytes")
        return Response(status=200, headers=headers)
    start, end, status = 0, size - 1, 200
    byte_range = request.range
    if byte_range is not None and (request.if_range.etag is None or request.if_range.etag == etag):
        span = byte_range.range_for_length(size)
        if span is None:
            return Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        start, end, status = span[0], span[1] - 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    path = ops.blob_store().path(etag)
    return Response(_chunks(path, start, end), status=status, headers=headers, direct_passthrough=True)


def _chunks(path: Path, start: int, end: int):
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start + 1
        while left > 0:
            data = fh.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data
            time.sleep(0)  # under gevent (monkey-patched) this lets the sockets' greenlets run between chunks


def _inline(name: str) -> str:
    from urllib.parse import quote
    ascii_name = name.encode("ascii", "ignore").decode() or "document.pdf"
    ascii_name = ascii_name.replace('"', "")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@bp.endpoint("/documents/<int:document_id>/verification", summary="Signature report of the document's file",
             response=dict, errors=(404,))
def verification(document_id: int, *, actor: User):
    from meetings.documents.verification import version_report

    doc, _meeting, _roles = ops.load_document(document_id, actor=actor)
    if doc.current_version is None:
        raise BadRequest(_("This document has no file yet."))
    return version_report(doc.current_version)


@bp.endpoint("/documents/<int:document_id>/reads", summary="Who opened the document, first and last (secretary, chair)",
             response=Page[ReaderOut], errors=(403, 404))
def document_reads(document_id: int, *, actor: User):
    _doc, readers = ops.document_readers(document_id, actor=actor)
    items = [ReaderOut(participant_id=r.participant.id, user_id=r.participant.user_id,
                       full_name=r.participant.user.full_name, role=r.participant.role,
                       first_opened_at=r.read.first_opened_at if r.read else None,
                       last_opened_at=r.read.last_opened_at if r.read else None,
                       opens=r.read.opens if r.read else 0) for r in readers]
    return {"items": [i.model_dump(mode="json") for i in items], "total": len(items)}
