"""Verify the signatures of a PDF: our verdict (pyHanko + difference analysis) and poppler's as a second opinion.

A signature only vouches for the revision it signed. Whether what was appended afterwards is harmless (more
signatures, form filling) or a change of content is what pyHanko's difference analysis decides; a byte-range
check alone (what ``pdfsig`` reports) calls such documents "valid". Every failure inside validation makes
that signature invalid — verification never raises on a hostile or broken file.
"""
from __future__ import annotations

import datetime as dt
import enum
import io
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import DocumentTimestampStatus, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext


class Verdict(enum.StrEnum):
    VALID = "valid"
    VALID_BUT_UNTRUSTED = "valid_but_untrusted"
    MODIFIED_AFTER_SIGNING = "modified_after_signing"
    INVALID = "invalid"
    UNSIGNED = "unsigned"


class Coverage(enum.StrEnum):
    ENTIRE_DOCUMENT = "entire_document"
    ENTIRE_REVISION = "entire_revision"  # later revisions exist; the modification level says what they did
    PARTIAL = "partial"


class Modification(enum.StrEnum):
    NONE = "none"
    FORM_FILLING = "form_filling"  # includes further signatures
    ANNOTATIONS = "annotations"
    OTHER = "other"


# Worst first: the document's verdict is its worst signature's.
_SEVERITY = [Verdict.INVALID, Verdict.MODIFIED_AFTER_SIGNING, Verdict.VALID_BUT_UNTRUSTED, Verdict.VALID]

_SUMMARIES = {
    Verdict.VALID: "All signatures are valid, from trusted signers, and the document was not changed after signing.",
    Verdict.VALID_BUT_UNTRUSTED: "The signatures are intact, but a signer's certificate is not from a trusted "
                                 "authority.",
    Verdict.MODIFIED_AFTER_SIGNING: "The document was changed after signing.",
    Verdict.INVALID: "A signature is invalid: the document cannot be trusted.",
    Verdict.UNSIGNED: "The document is not signed.",
}

# pyHanko's own defaults want non-repudiation; Vietnamese CAs issue signing certificates with either bit.
_SIGNER_KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"},
                                        match_all_key_usages=False)


@dataclass(frozen=True)
class SignatureReport:
    field: str
    kind: str  # "signature" or "document_timestamp"
    signer_common_name: str | None
    signer_organisation: str | None
    signer_subject: str | None
    signing_time: dt.datetime | None  # claimed by the signer
    timestamp_time: dt.datetime | None  # attested by a TSA
    intact: bool
    valid: bool
    trusted: bool
    coverage: Coverage | None
    modification: Modification | None
    docmdp_ok: bool | None
    verdict: Verdict
    problems: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        if self.verdict == Verdict.VALID:
            return "Valid signature from a trusted signer; nothing was changed after it."
        return "; ".join(self.problems) or _SUMMARIES[self.verdict]


@dataclass(frozen=True)
class VerificationReport:
    verdict: Verdict
    signatures: tuple[SignatureReport, ...] = ()
    unsigned_fields: tuple[str, ...] = ()  # prepared but not yet signed (minutes waiting for the chair …)
    removed_signatures: tuple[str, ...] = ()  # signed in an earlier revision, gone now
    problems: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        if self.verdict == Verdict.INVALID and not self.signatures and self.problems:
            return " ".join(self.problems)  # nothing was signed to speak of: say what is wrong with the file
        return " ".join([_SUMMARIES[self.verdict], *self.problems])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the API and the archive's verification report."""
        data = asdict(self)
        data["summary"] = self.summary
        for sig, report in zip(data["signatures"], self.signatures, strict=True):
            sig["summary"] = report.summary
            for key in ("signing_time", "timestamp_time"):
                if sig[key] is not None:
                    sig[key] = sig[key].isoformat()
        return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _validation_context(trust_roots: list[x509.Certificate]) -> ValidationContext:
    # Offline: no OCSP/CRL fetching from a server that verifies uploads; soft-fail when no revocation info.
    return ValidationContext(trust_roots=[_to_asn1(c) for c in trust_roots], allow_fetching=False,
                             revocation_mode="soft-fail")


def _coverage(level: SignatureCoverageLevel | None) -> Coverage | None:
    if level is None:
        return None
    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return Coverage.ENTIRE_DOCUMENT
    if level == SignatureCoverageLevel.ENTIRE_REVISION:
        return Coverage.ENTIRE_REVISION
    return Coverage.PARTIAL


def _modification(level: ModificationLevel | None) -> Modification | None:
    if level is None:
        return None
    # DSS updates and document time-stamps (long-term archiving) do not change the document (PAdES).
    return {
        ModificationLevel.NONE: Modification.NONE,
        ModificationLevel.LTA_UPDATES: Modification.NONE,
        ModificationLevel.FORM_FILLING: Modification.FORM_FILLING,
        ModificationLevel.ANNOTATIONS: Modification.ANNOTATIONS,
    }.get(level, Modification.OTHER)


def _subject(emb: EmbeddedPdfSignature) -> tuple[str | None, str | None, str | None]:
    try:
        subject = emb.signer_cert.subject
    except Exception:  # a broken CMS blob must still yield a report
        return None, None, None
    native = subject.native
    try:
        text = x509.load_der_x509_certificate(emb.signer_cert.dump()).subject.rfc4514_string()
    except ValueError:
        text = subject.human_friendly
    return native.get("common_name"), native.get("organization_name"), text


def _timestamp_problems(ts: TimestampSignatureStatus | None) -> tuple[list[str], bool]:
    """Problems with the signature's time-stamp token, and whether they make the signature invalid."""
    if ts is None:
        return [], False
    if not (ts.intact and ts.valid):
        return ["the time-stamp is damaged"], True
    if not ts.trusted:
        return ["the time-stamp authority is not trusted"], False
    return [], False


# ETSI EN 319 102-1 sub-indications, in plain words (the rest fall back to their own name).
_TRUST_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND": "the signer's certificate is not from a trusted authority",
    "OUT_OF_BOUNDS_NO_POE": "the signer's certificate has expired or is not yet valid, and no time-stamp proves "
                            "the signature was made while it was valid",
    "OUT_OF_BOUNDS_NOT_REVOKED": "the signer's certificate has expired or is not yet valid",
    "REVOKED_NO_POE": "the signer's certificate was revoked",
    "REVOKED_CA_NO_POE": "the certificate of the signer's issuer was revoked",
    "CHAIN_CONSTRAINTS_FAILURE": "the signer's certificate breaks the rules of its issuers",
    "SIG_CONSTRAINTS_FAILURE": "the signer's certificate is not meant for signing documents",
}


def _trust_problem(status: PdfSignatureStatus | DocumentTimestampStatus) -> str:
    if status.revoked:
        return "the signer's certificate was revoked"
    indic = status.trust_problem_indic
    if indic is None:
        return _TRUST_PROBLEMS["NO_CERTIFICATE_CHAIN_FOUND"]
    return _TRUST_PROBLEMS.get(indic.name, f"the signer's certificate is not trusted "
                                           f"({indic.name.lower().replace('_', ' ')})")


def _judge(*, intact: bool, valid: bool, trusted: bool, coverage: Coverage | None,
           modification: Modification | None, docmdp_ok: bool | None,
           ts: TimestampSignatureStatus | None, trust_problem: str) -> tuple[Verdict, list[str]]:
    if not intact:
        return Verdict.INVALID, ["the signed bytes were changed after signing"]
    if not valid:
        return Verdict.INVALID, ["the signature value does not match the signer's certificate"]
    if coverage not in (Coverage.ENTIRE_DOCUMENT, Coverage.ENTIRE_REVISION):
        return Verdict.INVALID, ["the signature does not cover its whole revision"]
    ts_problems, ts_fatal = _timestamp_problems(ts)
    if ts_fatal:
        return Verdict.INVALID, ts_problems
    if docmdp_ok is False or modification == Modification.OTHER:
        return Verdict.MODIFIED_AFTER_SIGNING, ["the document was changed after signing"]
    if coverage == Coverage.ENTIRE_REVISION and modification is None:
        return Verdict.MODIFIED_AFTER_SIGNING, ["later changes to the document could not be analysed"]
    if not trusted or ts_problems:
        return Verdict.VALID_BUT_UNTRUSTED, [*([trust_problem] if not trusted else []), *ts_problems]
    return Verdict.VALID, []


def _report(emb: EmbeddedPdfSignature, status: PdfSignatureStatus | DocumentTimestampStatus,
            kind: str) -> SignatureReport:
    cn, org, subject = _subject(emb)
    coverage = _coverage(status.coverage)
    modification = _modification(status.modification_level)
    if isinstance(status, DocumentTimestampStatus):
        claimed, ts_status, ts_time = None, None, status.timestamp
    else:
        claimed, ts_status = status.signer_reported_dt, status.timestamp_validity
        ts_time = ts_status.timestamp if ts_status is not None else None
    verdict, problems = _judge(intact=status.intact, valid=status.valid, trusted=status.trusted,
                               coverage=coverage, modification=modification, docmdp_ok=status.docmdp_ok,
                               ts=ts_status, trust_problem=_trust_problem(status))
    return SignatureReport(field=emb.field_name, kind=kind, signer_common_name=cn, signer_organisation=org,
                           signer_subject=subject, signing_time=claimed, timestamp_time=ts_time,
                           intact=status.intact, valid=status.valid, trusted=status.trusted, coverage=coverage,
                           modification=modification, docmdp_ok=status.docmdp_ok, verdict=verdict,
                           problems=tuple(problems))


def _failed(name: str, err: Exception, emb: EmbeddedPdfSignature | None = None) -> SignatureReport:
    cn, org, subject = _subject(emb) if emb is not None else (None, None, None)
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    return SignatureReport(field=name, kind="signature", signer_common_name=cn, signer_organisation=org,
                           signer_subject=subject, signing_time=None, timestamp_time=None, intact=False,
                           valid=False, trusted=False, coverage=None, modification=None, docmdp_ok=None,
                           verdict=Verdict.INVALID, problems=(f"the signature could not be checked: {reason}",))


def _check_signature(emb: EmbeddedPdfSignature, trust_roots: list[x509.Certificate]) -> SignatureReport:
    try:
        if emb.sig_object_type == "/DocTimeStamp":
            ts_status = validate_pdf_timestamp(emb, validation_context=_validation_context(trust_roots))
            return _report(emb, ts_status, "document_timestamp")
        status = validate_pdf_signature(emb, signer_validation_context=_validation_context(trust_roots),
                                        key_usage_settings=_SIGNER_KEY_USAGE)
        return _report(emb, status, "signature")
    except Exception as err:  # any failure while validating means "invalid", never a crash
        return _failed(emb.field_name, err, emb)


def _field_names(handler: Any, *, filled: bool) -> set[str]:
    return {name for name, _value, _ref in enumerate_sig_fields(handler, filled_status=filled)}


def _removed_signatures(reader: PdfFileReader, signed_now: set[str]) -> set[str]:
    """Fields that held a signature in some earlier revision but hold none now: someone stripped it."""
    removed: set[str] = set()
    try:
        for revision in range(reader.total_revisions - 1):
            removed |= _field_names(reader.get_historical_resolver(revision), filled=True) - signed_now
    except Exception:  # unreadable history is reported by the signatures' own checks
        return removed
    return removed


def _collect(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], list[SignatureReport]]:
    """Every filled signature field, in signing order; unparseable ones become invalid reports.

    pyHanko's own ``embedded_signatures`` stops at the first broken signature container and silently skips
    unknown SubFilters; a verifier must report both.
    """
    embedded: list[EmbeddedPdfSignature] = []
    broken: list[SignatureReport] = []
    for name, _value, field_ref in enumerate_sig_fields(reader, filled_status=True):
        try:
            emb = EmbeddedPdfSignature(reader, field_ref, name)
            emb.signed_revision  # noqa: B018 — resolves the byte range now, so ordering cannot fail later
        except Exception as err:
            broken.append(_failed(name, err))
            continue
        embedded.append(emb)
    embedded.sort(key=lambda emb: emb.signed_revision)
    return embedded, broken


def verify_pdf(pdf_bytes: bytes, *, trust_roots: list[x509.Certificate]) -> VerificationReport:
    """Check every signature of a PDF against ``trust_roots``; never raises."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes))
        embedded, broken = _collect(reader)
        empty = _field_names(reader, filled=False)
    except Exception as err:  # garbage, truncated, encrypted …: not a verifiable PDF
        return VerificationReport(verdict=Verdict.INVALID,
                                  problems=(f"The file is not a readable PDF ({type(err).__name__}).",))
    reports = (*(_check_signature(emb, trust_roots) for emb in embedded), *broken)
    signed_now = {r.field for r in reports}
    removed = tuple(sorted(_removed_signatures(reader, signed_now)))
    problems = tuple(f"The signature in field '{name}' was removed." for name in removed)
    if not reports:
        verdict = Verdict.INVALID if removed else Verdict.UNSIGNED
    else:
        verdict = min((r.verdict for r in reports), key=_SEVERITY.index)
        if removed:
            verdict = Verdict.INVALID
    return VerificationReport(verdict=verdict, signatures=reports, unsigned_fields=tuple(sorted(empty)),
                              removed_signatures=removed, problems=problems)


# ---- poppler's pdfsig, as an independent second opinion -------------------------------------------------

_SIGNATURE_HEADER = re.compile(r"^Signature #(\d+):")
_FIELD = re.compile(r"^\s*- ([^:]+?)(?::\s*(.*))?$")


def parse_pdfsig_output(text: str) -> list[dict[str, Any]]:
    """Per signature field: pdfsig's named lines plus ``signed``, ``total_document_signed`` and ``valid``."""
    signatures: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        header = _SIGNATURE_HEADER.match(line)
        if header:
            current = {"index": int(header.group(1)), "signed": True, "total_document_signed": False}
            signatures.append(current)
            continue
        if current is not None and "form field is not signed" in line:
            current["signed"] = False  # pdfsig lists prepared, still empty fields too
            continue
        match = _FIELD.match(line)
        if current is None or not match:
            continue
        key, value = match.group(1).strip(), (match.group(2) or "").strip()
        if key == "Total document signed":
            current["total_document_signed"] = True
        elif key == "Not total document signed":
            current["total_document_signed"] = False
        else:
            current[key] = value
    for sig in signatures:
        sig["field"] = sig.get("Signature Field Name")
        sig["signature_validation"] = sig.get("Signature Validation")
        sig["certificate_validation"] = sig.get("Certificate Validation")
        sig["valid"] = sig["signature_validation"] == "Signature is Valid."
    return signatures


def pdfsig_report(path: Path, *, timeout: float = 60) -> dict[str, Any]:
    """Run poppler's ``pdfsig`` (no network) and parse its per-signature lines."""
    try:
        proc = subprocess.run(["pdfsig", "-no-ocsp", str(path)], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        return {"available": False, "returncode": None, "signatures": [], "output": ""}
    except subprocess.TimeoutExpired:
        return {"available": True, "returncode": None, "signatures": [], "output": "timed out"}
    output = proc.stdout + proc.stderr
    return {"available": True, "returncode": proc.returncode, "signatures": parse_pdfsig_output(proc.stdout),
            "output": output}
