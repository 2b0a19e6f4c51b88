"""The minutes' signing order: all fields in one revision, then secretary → chair → organisation."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from meetings.signing import pades, pki
from meetings.signing.appearance import OrganisationStamp
from meetings.signing.timestamps import local_timestamper
from meetings.signing.verify import Coverage, Modification, Verdict, pdfsig_report, verify_pdf
from tests.signing.conftest import ORG_NAME
from tests.signing.helpers import render_page_png, write

FIELDS = [
    pades.FieldSpec("secretary", page=-1, box=(60, 80, 220, 150), label="Thư ký"),
    pades.FieldSpec("chair", page=-1, box=(230, 80, 390, 150), label="Chủ tọa"),
    pades.FieldSpec("organisation", page=-1, box=(400, 80, 560, 150), label="Cơ quan"),
]


def test_fields_are_prepared_in_one_revision_and_signed_in_turn(
        document: bytes, test_pki: pki.GeneratedPki, secretary: pki.SignerIdentity, chair: pki.SignerIdentity,
        signing_time: dt.datetime, signing_output: Path, tmp_path: Path) -> None:
    prepared = pades.prepare_fields(document, FIELDS)
    assert prepared.startswith(document)
    assert prepared.count(b"%%EOF") == document.count(b"%%EOF") + 1, "exactly one new revision"
    before = verify_pdf(prepared, trust_roots=test_pki.trust_roots)
    assert before.verdict == Verdict.UNSIGNED
    assert before.unsigned_fields == ("chair", "organisation", "secretary")

    order = [("secretary", secretary), ("chair", chair), ("organisation", test_pki.organisation)]
    pdf = prepared
    for step, (field, signer) in enumerate(order, start=1):
        at = signing_time + dt.timedelta(minutes=step)
        stamp = OrganisationStamp(signer.common_name, None, at)
        pdf = pades.sign_field(pdf, field, signer=signer, signing_time=at, appearance=stamp,
                               timestamper=local_timestamper(test_pki.tsa) if field == "organisation" else None)
        report = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
        assert report.verdict == Verdict.VALID, report.summary
        assert [s.field for s in report.signatures] == [f for f, _ in order[:step]]
        assert all(s.verdict == Verdict.VALID for s in report.signatures)
        *earlier, last = report.signatures
        assert last.coverage == Coverage.ENTIRE_DOCUMENT and last.signing_time == at
        for sig in earlier:
            assert sig.coverage == Coverage.ENTIRE_REVISION
            assert sig.modification == Modification.FORM_FILLING and sig.docmdp_ok

        listed = pdfsig_report(write(tmp_path, f"step{step}.pdf", pdf))["signatures"]
        assert [p["signed"] for p in listed] == [True] * step + [False] * (3 - step)
        poppler = [p for p in listed if p["signed"]]
        assert [p["signature_validation"] for p in poppler] == ["Signature is Valid."] * step
        assert [p["total_document_signed"] for p in poppler] == [False] * (step - 1) + [True]

    final = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
    assert final.unsigned_fields == ()
    assert [s.signer_common_name for s in final.signatures] == ["Nguyễn Thị Thư", "Trần Văn Chủ", ORG_NAME]
    assert final.signatures[-1].timestamp_time is not None
    # The three signed boxes, for a human to look at (test-output/signing/minutes-last-page.png).
    render_page_png(write(signing_output, "minutes.pdf", pdf), signing_output / "minutes-last-page", dpi=100,
                    page=2)


def test_signing_a_missing_or_already_signed_field_is_refused(document: bytes, test_pki: pki.GeneratedPki,
                                                              signing_time: dt.datetime) -> None:
    prepared = pades.prepare_fields(document, FIELDS)
    with pytest.raises(pades.SigningError, match="No empty signature field"):
        pades.sign_field(prepared, "vice-chair", signer=test_pki.organisation, signing_time=signing_time)
    once = pades.sign_field(prepared, "chair", signer=test_pki.organisation, signing_time=signing_time)
    with pytest.raises(pades.SigningError, match="filled already"):
        pades.sign_field(once, "chair", signer=test_pki.organisation, signing_time=signing_time)


def test_prepare_fields_refuses_duplicates_and_bad_pages(document: bytes) -> None:
    with pytest.raises(pades.SigningError, match="duplicate"):
        pades.prepare_fields(document, [pades.FieldSpec("a"), pades.FieldSpec("a")])
    with pytest.raises(pades.SigningError, match="cannot add signature field 'x'"):
        pades.prepare_fields(document, [pades.FieldSpec("x", page=7, box=(0, 0, 10, 10))])
    with pytest.raises(pades.SigningError, match="no signature fields"):
        pades.prepare_fields(document, [])


def test_invisible_field_signs_without_an_appearance(document: bytes, test_pki: pki.GeneratedPki,
                                                     signing_time: dt.datetime) -> None:
    prepared = pades.prepare_fields(document, [pades.FieldSpec("archive")])
    signed = pades.sign_field(prepared, "archive", signer=test_pki.organisation, signing_time=signing_time)
    assert verify_pdf(signed, trust_roots=test_pki.trust_roots).verdict == Verdict.VALID
