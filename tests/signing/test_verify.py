"""Our verifier against documents we tamper with ourselves, with poppler's pdfsig as the second opinion."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pikepdf
import pytest

from meetings.signing import pades, pki
from meetings.signing.verify import Coverage, Modification, Verdict, parse_pdfsig_output, pdfsig_report, verify_pdf
from tests.signing.conftest import ORG_NAME
from tests.signing.helpers import (
    append_page,
    flip_byte_in_signed_range,
    replace_page_content,
    strip_signature_value,
    write,
)

FORGED_CONTENT = b"BT /F1 12 Tf 72 770 Td <0001> Tj ET"


def _pdfsig(tmp_path: Path, pdf: bytes) -> list[dict]:
    report = pdfsig_report(write(tmp_path, "check.pdf", pdf))
    assert report["available"], "poppler-utils (pdfsig) is required"
    return report["signatures"]


def test_signed_document_is_valid_trusted_and_fully_covered(signed: bytes, test_pki: pki.GeneratedPki,
                                                            signing_time: dt.datetime, tmp_path: Path) -> None:
    report = verify_pdf(signed, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.VALID, report.summary
    (sig,) = report.signatures
    assert (sig.field, sig.kind) == ("organisation", "signature")
    assert (sig.signer_common_name, sig.signer_organisation) == (ORG_NAME, ORG_NAME)
    assert "CN=Hội đồng nhân dân tỉnh Hòa Bình" in (sig.signer_subject or "")
    assert sig.signing_time == signing_time
    assert sig.timestamp_time is None
    assert (sig.intact, sig.valid, sig.trusted, sig.docmdp_ok) == (True, True, True, True)
    assert (sig.coverage, sig.modification) == (Coverage.ENTIRE_DOCUMENT, Modification.NONE)
    assert report.to_dict()["signatures"][0]["coverage"] == "entire_document"

    (poppler,) = _pdfsig(tmp_path, signed)
    assert poppler["field"] == "organisation"
    assert poppler["signature_validation"] == "Signature is Valid."
    assert poppler["total_document_signed"] is True


def test_without_our_root_the_same_document_is_valid_but_untrusted(signed: bytes) -> None:
    report = verify_pdf(signed, trust_roots=[])
    assert report.verdict == Verdict.VALID_BUT_UNTRUSTED
    assert report.signatures[0].intact and report.signatures[0].valid and not report.signatures[0].trusted
    assert "not from a trusted authority" in report.signatures[0].summary


def test_content_replaced_by_an_incremental_update_is_modified_after_signing(
        signed: bytes, test_pki: pki.GeneratedPki, tmp_path: Path) -> None:
    tampered = replace_page_content(signed, FORGED_CONTENT)
    report = verify_pdf(tampered, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.MODIFIED_AFTER_SIGNING
    sig = report.signatures[0]
    assert sig.intact and sig.valid  # the signed bytes are untouched …
    assert (sig.coverage, sig.modification, sig.docmdp_ok) == (Coverage.ENTIRE_REVISION, Modification.OTHER,
                                                               False)  # … but the document is not
    assert "changed after signing" in report.summary
    (poppler,) = _pdfsig(tmp_path, tampered)
    assert poppler["signature_validation"] == "Signature is Valid."
    assert poppler["total_document_signed"] is False


def test_page_appended_after_signing_is_modified_after_signing(signed: bytes, test_pki: pki.GeneratedPki,
                                                               tmp_path: Path) -> None:
    tampered = append_page(signed)
    with pikepdf.open(io.BytesIO(tampered)) as doc:
        assert len(doc.pages) == 3
    report = verify_pdf(tampered, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.MODIFIED_AFTER_SIGNING
    assert report.signatures[0].modification == Modification.OTHER
    assert _pdfsig(tmp_path, tampered)[0]["total_document_signed"] is False


def test_bytes_changed_inside_the_signed_range_make_it_not_intact(signed: bytes, test_pki: pki.GeneratedPki,
                                                                  tmp_path: Path) -> None:
    tampered = flip_byte_in_signed_range(signed)
    report = verify_pdf(tampered, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.INVALID
    sig = report.signatures[0]
    assert not sig.intact and not sig.trusted
    assert "signed bytes were changed" in sig.summary
    (poppler,) = _pdfsig(tmp_path, tampered)
    assert poppler["valid"] is False
    assert "Digest Mismatch" in poppler["signature_validation"]


def test_second_signature_by_an_untrusted_certificate_is_flagged(signed: bytes, test_pki: pki.GeneratedPki,
                                                                 rogue_pki: pki.GeneratedPki,
                                                                 signing_time: dt.datetime,
                                                                 tmp_path: Path) -> None:
    # Same organisation name in the certificate, but issued by a CA we were never told to trust.
    countersigned = pades.sign_document(signed, signer=rogue_pki.organisation, org_name=ORG_NAME, doc_number=None,
                                        signing_time=signing_time)
    report = verify_pdf(countersigned, trust_roots=test_pki.trust_roots)
    first, second = report.signatures
    assert first.verdict == Verdict.VALID and first.modification == Modification.FORM_FILLING
    assert second.verdict == Verdict.VALID_BUT_UNTRUSTED and not second.trusted
    assert second.signer_common_name == ORG_NAME
    assert report.verdict == Verdict.VALID_BUT_UNTRUSTED
    assert [p["valid"] for p in _pdfsig(tmp_path, countersigned)] == [True, True]


def test_signature_stripped_by_an_update_is_reported_as_removed(signed: bytes, test_pki: pki.GeneratedPki) -> None:
    stripped = strip_signature_value(signed)
    report = verify_pdf(stripped, trust_roots=test_pki.trust_roots)
    assert report.signatures == ()
    assert report.removed_signatures == ("organisation",)
    assert report.unsigned_fields == ("organisation",)
    assert report.verdict == Verdict.INVALID
    assert "was removed" in report.summary


def test_signature_stripped_by_rewriting_the_file_leaves_it_unsigned(signed: bytes, test_pki: pki.GeneratedPki,
                                                                     tmp_path: Path) -> None:
    with pikepdf.open(io.BytesIO(signed)) as doc:
        del doc.Root.AcroForm
        del doc.pages[0].obj.Annots
        buf = io.BytesIO()
        doc.save(buf)
    report = verify_pdf(buf.getvalue(), trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.UNSIGNED
    assert report.summary == "The document is not signed."
    assert _pdfsig(tmp_path, buf.getvalue()) == []


@pytest.mark.parametrize("data", [b"", b"garbage, not a PDF", b"%PDF-1.7\n1 0 obj <<", b"\x00" * 1000])
def test_garbage_is_invalid_not_an_exception(data: bytes) -> None:
    report = verify_pdf(data, trust_roots=[])
    assert report.verdict == Verdict.INVALID
    assert "not a readable PDF" in report.summary


def test_truncated_signed_file_is_invalid(signed: bytes, test_pki: pki.GeneratedPki) -> None:
    report = verify_pdf(signed[: len(signed) * 2 // 3], trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.INVALID


def test_damaged_signature_container_is_invalid_not_an_exception(signed: bytes, test_pki: pki.GeneratedPki) -> None:
    # Overwrite the start of the CMS blob (/Contents <3082…>) with hex zeros: the ASN.1 no longer parses.
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    damaged = signed[:start] + b"00" * 64 + signed[start + 128:]
    report = verify_pdf(damaged, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.INVALID
    assert report.signatures[0].intact is False or "could not be checked" in report.signatures[0].summary


def test_our_verifier_catches_a_shadow_update_that_pdfsig_accepts(
        signed: bytes, test_pki: pki.GeneratedPki, chair: pki.SignerIdentity, signing_time: dt.datetime,
        tmp_path: Path) -> None:
    """Change the content after the organisation signed, then have a (trusted!) second signer sign on top.

    pdfsig checks each signature's bytes: both "Signature is Valid.", the last covers the whole file — it looks
    perfect. Only the difference analysis sees that the organisation never signed the content now shown.
    """
    forged = replace_page_content(signed, FORGED_CONTENT)
    resigned = pades.sign_document(forged, signer=chair, org_name=ORG_NAME, doc_number=None,
                                   signing_time=signing_time)
    poppler = _pdfsig(tmp_path, resigned)
    assert [p["signature_validation"] for p in poppler] == ["Signature is Valid.", "Signature is Valid."]
    assert poppler[-1]["total_document_signed"] is True

    report = verify_pdf(resigned, trust_roots=test_pki.trust_roots)
    first, second = report.signatures
    assert first.verdict == Verdict.MODIFIED_AFTER_SIGNING and first.modification == Modification.OTHER
    assert second.verdict == Verdict.VALID
    assert report.verdict == Verdict.MODIFIED_AFTER_SIGNING


def test_pdfsig_output_parser_reads_each_signature_block() -> None:
    output = """Digital Signature Info of: x.pdf
Signature #1:
  - Signature Field Name: secretary
  - Signer Certificate Common Name: Nguyễn Thị Thư
  - Signing Time: Nov 21 2026 14:10:48
  - Signed Ranges: [0 - 2583], [10451 - 15846]
  - Not total document signed
  - Signature Validation: Signature is Valid.
  - Certificate Validation: Certificate issuer isn't Trusted.
Signature #2:
  - Signature Field Name: chair
  - Signed Ranges: [0 - 20000], [28000 - 30000]
  - Total document signed
  - Signature Validation: Digest Mismatch.
"""
    first, second = parse_pdfsig_output(output)
    assert (first["index"], first["field"], first["valid"], first["total_document_signed"]) == (
        1, "secretary", True, False)
    assert first["Signer Certificate Common Name"] == "Nguyễn Thị Thư"
    assert first["certificate_validation"] == "Certificate issuer isn't Trusted."
    assert (second["field"], second["valid"], second["total_document_signed"]) == ("chair", False, True)


def test_signature_with_an_unknown_subfilter_is_invalid_not_ignored(signed: bytes, test_pki: pki.GeneratedPki) -> None:
    # pyHanko's own signature listing silently skips these; a verifier that did so would say "unsigned".
    with pikepdf.open(io.BytesIO(signed)) as doc:
        doc.Root.AcroForm.Fields[0].V.SubFilter = pikepdf.Name("/adbe.x509.rsa_sha1")
        buf = io.BytesIO()
        doc.save(buf)
    report = verify_pdf(buf.getvalue(), trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.INVALID
    assert [s.field for s in report.signatures] == ["organisation"]


def test_expired_signer_certificate_is_named_as_the_trust_problem(document: bytes, test_pki: pki.GeneratedPki) -> None:
    # Issued two years ago for one year: valid when it signed, expired now, and no time-stamp to prove when.
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=730)
    expired = pki.issue_organisation_certificate(test_pki.root, ORG_NAME, years=1, now=long_ago)
    out = pades.sign_document(document, signer=expired, org_name=ORG_NAME, doc_number=None,
                              signing_time=long_ago + dt.timedelta(days=30))
    report = verify_pdf(out, trust_roots=test_pki.trust_roots)
    sig = report.signatures[0]
    assert sig.intact and sig.valid and not sig.trusted
    assert report.verdict == Verdict.VALID_BUT_UNTRUSTED
    assert "has expired" in sig.summary and "no time-stamp" in sig.summary
