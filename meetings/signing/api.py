"""Signature checks over REST: any logged-in user may have any PDF checked (POST /verify).

The file is untrusted and pyHanko has to parse it, so the check runs in the limited worker process of
``sandbox.py``; this handler only reads the upload, looks at its first bytes and hashes it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app, request
from flask_babel import get_locale, gettext as _
from pydantic import Field

from meetings.auth.models import User
from meetings.core.api import ApiBlueprint
from meetings.core.errors import BadRequest, UnsupportedMedia
from meetings.documents import operations as ops
from meetings.documents.intake import MESSAGES, Reason
from meetings.documents.org_signer import org_signer
from meetings.extensions import db
from meetings.signing.sandbox import AbortedKind, VerificationReportOut, VerifyLimits, looks_like_pdf, \
    verify_untrusted

bp = ApiBlueprint("signing_api", __name__)


class VerifyOut(VerificationReportOut):
    aborted: AbortedKind | None = Field(
        description="Why the signatures could not be checked: the file is encrypted, needed more memory, time "
                    "or depth than allowed, or crashed the checker; null when the check ran to completion")
    filename: str
    sha256: str = Field(description="sha256 of the uploaded file")
    size: int = Field(description="Size of the uploaded file in bytes")


def verify_limits() -> VerifyLimits:
    """``VERIFY_LIMITS`` in the app config: a VerifyLimits or a dict of its fields; the defaults otherwise."""
    configured = current_app.config.get("VERIFY_LIMITS")
    if isinstance(configured, VerifyLimits):
        return configured
    return VerifyLimits(**(configured or {}))


def _upload() -> tuple[Path, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest(_("Attach the PDF in the “file” field."))
    try:
        path = ops.save_upload(upload.stream, max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    finally:
        upload.close()  # werkzeug's spooled copy of the part: free it now, refused or not
    return path, upload.filename[:255]


@bp.endpoint("/verify", "POST", summary="Check the signatures of any PDF (in a separate, limited process)",
             multipart={"file": "the PDF to check"}, response=VerifyOut, errors=(413, 415), late_write=True)
def verify_upload(*, actor: User):
    return check_upload()


def check_upload() -> VerifyOut:
    """Check the request's uploaded ``file`` (the API above and the "check any PDF" page)."""
    path, filename = _upload()
    try:
        if not looks_like_pdf(path):
            raise UnsupportedMedia(_(MESSAGES[Reason.NOT_PDF]), extra={"reason": str(Reason.NOT_PDF)})
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        size = path.stat().st_size
        roots = org_signer().trust_roots
        get_locale()  # the caller's language, settled while their row is loaded
        # The check may take up to the wall-clock limit: hold no database connection meanwhile (nothing was
        # written; the pipeline's commit afterwards is empty).
        db.session.rollback()
        # The same slots as the intake: each worker may take a core and most of a GiB.
        with ops._INTAKE_SLOTS:
            report = verify_untrusted(path, roots, limits=verify_limits(),
                                      scratch_dir=Path(current_app.config["DATA_DIR"]) / "tmp")
    finally:
        path.unlink(missing_ok=True)
    if report["aborted"] is not None:  # the sandbox's own messages are msgids; the verifier's are English
        summary, problems = report.pop("summary"), report.pop("problems")
        report.update(summary=_(summary), problems=[_(text) for text in problems])
    return VerifyOut(**report, filename=filename, sha256=digest, size=size)
