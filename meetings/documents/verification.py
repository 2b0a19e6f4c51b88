"""Signature reports of the documents we serve, cached by content, and their plain-words form for the pages.

A signed file never changes (its name is its sha256), so its report only changes with time (a certificate
expiring) or with the trust roots: reports are kept per (sha256, roots) for ``TTL`` seconds. Lists of
documents show a badge per document without validating every file on every page view, and the validation,
CPU-bound for ~0.1 s, does not hold up a gevent worker's sockets each time a tablet opens the list.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from cryptography.hazmat.primitives import serialization

from meetings.documents import operations as ops
from meetings.documents.models import DocumentVersion
from meetings.documents.org_signer import org_signer
from meetings.signing.verify import verify_pdf

TTL = 600.0
MAX_ENTRIES = 512
_cache: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = OrderedDict()
_lock = threading.Lock()


def _roots_key(roots) -> str:
    digest = hashlib.sha256()
    for cert in roots:
        digest.update(cert.public_bytes(serialization.Encoding.DER))
    return digest.hexdigest()


def version_report(version: DocumentVersion) -> dict[str, Any]:
    """The verification report (``VerificationReport.to_dict()``) of a stored, signed version."""
    roots = org_signer().trust_roots
    key = (version.blob_sha256, _roots_key(roots))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < TTL:
            _cache.move_to_end(key)
            return hit[1]
    report = verify_pdf(ops.blob_store().read(version.blob_sha256), trust_roots=roots).to_dict()
    with _lock:
        _cache[key] = (now, report)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return report


def clear_cache() -> None:
    with _lock:
        _cache.clear()


# --- in plain words, for the pages -----------------------------------------------------------------------

def _t(msgid: str) -> str:
    from flask_babel import gettext
    return gettext(msgid)


def N_(msgid: str) -> str:
    return msgid


# Verdict → (tone, headline, explanation). Tone drives the colour: good (green), warn (amber), bad (red).
VERDICTS = {
    "valid": ("good", N_("Signature valid"),
              N_("The document is exactly as it was signed, and the signer's certificate comes from a trusted "
                 "authority.")),
    "valid_but_untrusted": ("warn", N_("Signed, but the signer is not trusted"),
                            N_("The document was not changed after signing, but the signer's certificate does not "
                               "come from an authority this server trusts. Check who signed it.")),
    "modified_after_signing": ("bad", N_("Changed after signing"),
                               N_("The document was changed after it was signed. What you see is not what was "
                                  "signed.")),
    "invalid": ("bad", N_("Signature invalid"),
                N_("A signature is broken or could not be checked: the document cannot be trusted.")),
    "unsigned": ("warn", N_("Not signed"), N_("The document carries no digital signature.")),
}
CHECKS = (
    ("intact", N_("The signed content is intact"), N_("The signed bytes were changed")),
    ("valid", N_("The signature matches the signer's certificate"),
     N_("The signature does not match the signer's certificate")),
    ("trusted", N_("The certificate comes from a trusted authority"),
     N_("The certificate does not come from a trusted authority")),
)
MODIFICATIONS = {
    "none": ("good", N_("Nothing was changed after signing")),
    "form_filling": ("good", N_("Only further signatures or form fields were added after signing")),
    "annotations": ("warn", N_("Comments or annotations were added after signing")),
    "other": ("bad", N_("The content was changed after signing")),
}
COVERAGE = {
    "entire_document": N_("The whole document"),
    "entire_revision": N_("The whole document as it was when signed; later additions are checked below"),
    "partial": N_("Only part of the document"),
}


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    from datetime import datetime

    from flask_babel import format_datetime
    return format_datetime(datetime.fromisoformat(iso), "HH:mm:ss dd/MM/yyyy")


def describe(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the verification page and the viewer's badge show it, translated."""
    tone, headline, explanation = VERDICTS[report["verdict"]]
    signatures = []
    for sig in report["signatures"]:
        s_tone, s_headline, _ = VERDICTS[sig["verdict"]]
        checks = [{"ok": bool(sig[key]), "text": _t(yes if sig[key] else no)} for key, yes, no in CHECKS]
        if sig["modification"] in MODIFICATIONS:
            m_tone, m_text = MODIFICATIONS[sig["modification"]]
            checks.append({"ok": m_tone == "good", "warn": m_tone == "warn", "text": _t(m_text)})
        if sig["docmdp_ok"] is False:
            checks.append({"ok": False, "text": _t(N_("Changes were made that the signer did not allow"))})
        signatures.append({
            "tone": s_tone, "headline": _t(s_headline), "field": sig["field"],
            "is_timestamp": sig["kind"] == "document_timestamp",
            "signer": sig["signer_common_name"] or sig["signer_subject"] or _t(N_("Unknown signer")),
            "organisation": sig["signer_organisation"] or "", "subject": sig["signer_subject"] or "",
            "signed_at": _when(sig["signing_time"]), "timestamped_at": _when(sig["timestamp_time"]),
            "coverage": _t(COVERAGE[sig["coverage"]]) if sig["coverage"] in COVERAGE else "",
            "checks": checks, "problems": sig["problems"],
        })
    return {"verdict": report["verdict"], "tone": tone, "headline": _t(headline), "explanation": _t(explanation),
            "signatures": signatures, "unsigned_fields": report["unsigned_fields"],
            "removed_signatures": report["removed_signatures"], "problems": report["problems"],
            "summary": report["summary"]}
