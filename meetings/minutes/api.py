"""REST: the minutes' draft, finalizing, signing (server-side or on the signer's device), the archive."""
from __future__ import annotations

import base64
import binascii
import re
from types import SimpleNamespace

from flask import Response, request
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.api import ApiBlueprint
from meetings.core.db import to_local_iso
from meetings.core.errors import BadRequest, NotFound
from meetings.minutes import archiving
from meetings.minutes import operations as ops
from meetings.minutes.schemas import (ArchiveCheckOut, CredentialOut, DraftIn, ExternalFinishIn, ExternalStartIn,
                                      ExternalStartOut, MinutesOut, RevisionOut, RevisionsQuery, SavedOut, SignIn)

bp = ApiBlueprint("minutes_api", __name__)
REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _view(meeting_id: int, actor: User) -> MinutesOut:
    return MinutesOut.model_validate(ops.minutes_view(meeting_id, actor=actor))


@bp.endpoint("/meetings/<int:meeting_id>/minutes", summary="The minutes: draft notes and conclusions per agenda "
             "item (secretary, chair), state, signatures in order and whose turn it is", response=MinutesOut,
             errors=(403, 404))
def get_minutes(meeting_id: int, *, actor: User):
    return _view(meeting_id, actor)


@bp.endpoint("/meetings/<int:meeting_id>/minutes", "PUT",
             summary="Autosave one field of the draft (secretary). A stale base_version is 409 with the current "
                     "text in `current`", body=DraftIn, response=SavedOut, errors=(403, 404, 409, 422))
def save_draft(meeting_id: int, *, actor: User, body: DraftIn):
    saved = ops.save_draft(meeting_id, agenda_item_id=body.agenda_item_id, field=body.field, text=body.text,
                           base_version=body.base_version, actor=actor)
    return SavedOut(agenda_item_id=saved.agenda_item_id, field=saved.field, text=saved.text, version=saved.version,
                    updated_at=to_local_iso(saved.updated_at) or "", updated_by=saved.updated_by)


@bp.endpoint("/meetings/<int:meeting_id>/minutes/revisions", summary="Revision history of the draft, newest "
             "first: who changed which field, when, to what", query=RevisionsQuery, response=list[RevisionOut],
             errors=(403, 404))
def get_revisions(meeting_id: int, *, actor: User, query: RevisionsQuery):
    return [RevisionOut.model_validate(r) for r in ops.revisions(meeting_id, actor=actor,
                                                                agenda_item_id=query.agenda_item_id)]


@bp.endpoint("/meetings/<int:meeting_id>/minutes/finalize", "POST",
             summary="Finalize the minutes of a closed meeting (secretary): the record is rendered to PDF/A with "
                     "the signature fields of secretary, chair and seal", response=MinutesOut,
             errors=(403, 404, 409, 422), late_write=True)
def finalize(meeting_id: int, *, actor: User):
    ops.finalize_minutes(meeting_id, actor=actor)
    return _view(meeting_id, actor)


@bp.endpoint("/meetings/<int:meeting_id>/minutes/pdf", summary="The minutes' PDF as it stands (finalized, then "
             "after each signature)", raw_response="application/pdf", errors=(404,))
def get_pdf(meeting_id: int, *, actor: User):
    from meetings.documents.api import send_blob
    from meetings.documents.operations import blob_store

    sha, _minutes = ops.minutes_pdf(meeting_id, actor=actor)
    return send_blob(SimpleNamespace(blob_sha256=sha, size=blob_store().size(sha)),
                     download_name=f"bien-ban-{meeting_id}.pdf")


@bp.endpoint("/meetings/<int:meeting_id>/minutes/sign", "POST",
             summary="Sign the minutes on the server: the secretary, then the chair (with the passphrase of their "
                     "stored PKCS#12), then the organisation's seal (secretary). Wrong person 403, wrong turn 409",
             body=SignIn, response=MinutesOut, errors=(403, 404, 409, 422), late_write=True)
def sign(meeting_id: int, *, actor: User, body: SignIn):
    ops.sign_minutes(meeting_id, actor=actor, step=body.step, passphrase=body.passphrase)
    return _view(meeting_id, actor)


@bp.endpoint("/meetings/<int:meeting_id>/minutes/external-signatures", "POST",
             summary="Start a signature made on the signer's own device (USB token, smart card): returns the "
                     "bytes to sign; the private key never reaches the server", body=ExternalStartIn,
             response=ExternalStartOut, status=201, errors=(403, 404, 409, 422), late_write=True)
def start_external(meeting_id: int, *, actor: User, body: ExternalStartIn):
    req, prepared = ops.start_external_signature(meeting_id, actor=actor, certificate_pem=body.certificate_pem)
    return ExternalStartOut(request_id=req.id, field=req.step, to_sign=base64.b64encode(prepared.to_sign).decode(),
                            mechanism=prepared.mechanism, digest_algorithm="sha256",
                            expires_at=to_local_iso(req.expires_at) or "")


@bp.endpoint("/meetings/<int:meeting_id>/minutes/external-signatures/<request_id>", "POST",
             summary="Complete a device signature: the server checks it against the certificate and embeds it",
             body=ExternalFinishIn, response=MinutesOut, errors=(403, 404, 409, 422), late_write=True)
def finish_external(meeting_id: int, request_id: str, *, actor: User, body: ExternalFinishIn):
    try:
        signature = base64.b64decode(body.signature, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(_("“signature” must be base64.")) from None
    if not REQUEST_ID.fullmatch(request_id):  # ids are token_urlsafe: anything else names no request
        raise NotFound(_("This signing request does not exist (or is not yours)."))
    ops.complete_external_signature(meeting_id, request_id, actor=actor, signature=signature)
    return _view(meeting_id, actor)


@bp.endpoint("/me/signing-credential", summary="The caller's stored signing certificate (if any)",
             response=CredentialOut | None)
def get_credential(*, actor: User):
    data = ops.credential_payload(actor.id)
    return CredentialOut.model_validate(data) if data else None


def _file(name: str, *, required: bool, limit: int) -> bytes | None:
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        if required:
            raise BadRequest(_("Attach the file in the “%(field)s” field.", field=name))
        return None
    try:
        data = upload.stream.read(limit + 1)
    finally:
        upload.close()
    if len(data) > limit:
        from meetings.core.errors import TooLarge
        raise TooLarge(_("The file in “%(field)s” is too large.", field=name))
    return data


@bp.endpoint("/me/signing-credential", "PUT",
             summary="Upload the caller's PKCS#12 (checked with its passphrase, which is not stored) and "
                     "optionally their signature image (transparent PNG)",
             multipart={"file": "the .p12/.pfx file", "passphrase": "its passphrase",
                        "signature_image": "optional transparent PNG of the handwritten signature"},
             response=CredentialOut, errors=(400, 413, 422), late_write=True)
def put_credential(*, actor: User):
    p12 = _file("file", required=True, limit=ops.P12_MAX_BYTES)
    image = _file("signature_image", required=False, limit=2_000_000)
    ops.save_credential(actor=actor, p12=p12 or b"", passphrase=request.form.get("passphrase", ""),
                        signature_png=image)
    return CredentialOut.model_validate(ops.credential_payload(actor.id))


@bp.endpoint("/bodies/<int:body_id>/seal", "PUT", summary="Set the body's seal image (red, transparent PNG; "
             "admin or the body's secretary)", multipart={"file": "the PNG"}, errors=(400, 403, 404, 413, 422))
def put_seal(body_id: int, *, actor: User):
    ops.set_body_seal(body_id, _file("file", required=True, limit=2_000_000) or b"", actor=actor)


@bp.endpoint("/meetings/<int:meeting_id>/archive", summary="The archive of an archived meeting (ZIP): signed "
             "minutes, every signed document version, manifest.json, the audit log and a verification report",
             raw_response="application/zip", errors=(404, 409))
def get_archive(meeting_id: int, *, actor: User):
    data, filename = archiving.build_meeting_archive(meeting_id, actor=actor)
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})


@bp.endpoint("/meetings/<int:meeting_id>/archive/verification",
             summary="Check a finalized meeting against its signed minutes: audit chain, signatures, stored files, "
                     "and whether the database still says what the minutes say", response=ArchiveCheckOut,
             errors=(404, 409))
def get_archive_check(meeting_id: int, *, actor: User):
    return ArchiveCheckOut.model_validate(archiving.check_meeting(meeting_id, actor=actor))
