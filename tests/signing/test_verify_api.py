"""POST /api/v1/verify: any logged-in user has any PDF checked, in the limited worker process.

Every check starts a worker (about half a second: it imports pyHanko). The tests that only need the
database for the login run on SQLite alone; the request plumbing (auth, refusals, a real check) runs on both.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pikepdf
import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from meetings.documents.org_signer import org_signer
from meetings.signing import pades, pki
from meetings.signing.sandbox import TOO_COMPLEX
from tests.documents.corpus import PAGE_TREE, classic_pdf, object_stream_pdf, png_bytes, zeros_flate
from tests.signing.helpers import append_page, flip_byte_in_signed_range, replace_page_content, strip_signature_value
from tests.signing.pdfgen import sample_pdf
from tests.signing.test_verify import FORGED_CONTENT

ORG_NAME = "Hội đồng nhân dân tỉnh Hòa Bình"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def verify(client, make_user, token_for, app):
    """Post bytes to /verify as a plain user (no body, no meeting: any logged-in user may)."""
    headers = token_for(make_user(full_name="Người kiểm tra"))

    def post(data: bytes, name: str = "tai-lieu.pdf"):
        # Encoded in memory: the test client would spool a big body to a temp file it never closes.
        boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), name)})
        resp = client.post("/api/v1/verify", data=body, headers=headers,
                           content_type=f"multipart/form-data; boundary={boundary}")
        scratch = Path(app.config["DATA_DIR"]) / "tmp"
        assert not scratch.exists() or list(scratch.iterdir()) == [], "the upload or the worker's scratch is left"
        return resp
    post.headers = headers
    return post


def translated(app, msgid: str) -> str:
    """The message as a request without a language preference gets it (Vietnamese, once translated)."""
    from flask_babel import gettext

    with app.test_request_context():
        return gettext(msgid)


@pytest.fixture
def org_signed(app) -> bytes:
    """A document signed by this installation's own organisation certificate, as uploads are."""
    return pades.sign_document(sample_pdf(pages=2), signer=org_signer().identity, org_name=ORG_NAME,
                               doc_number="12/NQ-HĐND", signing_time=dt.datetime.now(dt.timezone.utc))


def test_our_own_signed_document_is_valid(verify, org_signed):
    resp = verify(org_signed, name="nghị quyết.pdf")
    assert resp.status_code == 200, resp.json
    report = resp.json
    assert report["verdict"] == "valid" and report["aborted"] is None
    assert report["summary"].startswith("All signatures are valid")
    (sig,) = report["signatures"]
    assert (sig["field"], sig["intact"], sig["trusted"], sig["coverage"]) == ("organisation", True, True,
                                                                               "entire_document")
    assert sig["summary"] and sig["signing_time"]
    assert (report["filename"], report["size"], report["sha256"]) == (
        "nghị quyết.pdf", len(org_signed), hashlib.sha256(org_signed).hexdigest())


@sqlite_only
@pytest.mark.parametrize("tamper, verdict, words", [
    (lambda pdf, rogue: replace_page_content(pdf, FORGED_CONTENT), "modified_after_signing", "changed after signing"),
    (lambda pdf, rogue: append_page(pdf), "modified_after_signing", "changed after signing"),
    (lambda pdf, rogue: flip_byte_in_signed_range(pdf), "invalid", "signed bytes were changed"),
    (lambda pdf, rogue: pades.sign_document(pdf, signer=rogue.organisation, org_name=ORG_NAME, doc_number=None,
                                            signing_time=dt.datetime.now(dt.timezone.utc)),
     "valid_but_untrusted", "not from a trusted authority"),
    (lambda pdf, rogue: strip_signature_value(pdf), "invalid", "was removed"),
], ids=["content-replaced", "page-appended", "signed-bytes-changed", "untrusted-second-signature",
        "signature-stripped"])
def test_tampered_documents_get_the_right_verdict(verify, org_signed, rogue_pki: pki.GeneratedPki, tamper, verdict,
                                                  words):
    resp = verify(tamper(org_signed, rogue_pki))
    assert resp.status_code == 200, resp.json
    assert (resp.json["verdict"], resp.json["aborted"]) == (verdict, None)
    assert words in resp.json["summary"] + " ".join(s["summary"] for s in resp.json["signatures"])


@sqlite_only
def test_unsigned_pdf_is_unsigned(verify):
    resp = verify(sample_pdf(pages=1))
    assert resp.status_code == 200
    assert (resp.json["verdict"], resp.json["signatures"], resp.json["summary"]) == (
        "unsigned", [], "The document is not signed.")


def _encrypted() -> bytes:
    pdf, out = pikepdf.open(io.BytesIO(sample_pdf(1))), io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="mat-khau", owner="chu", aes=True, R=6))
    return out.getvalue()


@sqlite_only
@pytest.mark.parametrize("make, aborted, words", [
    (lambda signed: signed[: len(signed) * 2 // 3], None, "not a readable PDF"),
    (lambda signed: b"%PDF-1.7\n" + b"\x00garbage after the magic\xff" * 40, None, "not a readable PDF"),
    (lambda signed: _encrypted(), "encrypted", "mật khẩu"),
], ids=["truncated-signed-file", "garbage-after-the-magic", "encrypted"])
def test_broken_pdfs_are_invalid_not_an_error(verify, signed, make, aborted, words):
    resp = verify(make(signed))
    assert resp.status_code == 200, resp.json
    assert (resp.json["verdict"], resp.json["aborted"], resp.json["signatures"]) == ("invalid", aborted, [])
    assert words in resp.json["summary"]


def _nested() -> bytes:
    """100,000 levels of arrays where the verifier must look: the signature fields of the form."""
    nested = b"[" * 100_000 + b"]" * 100_000
    return classic_pdf({**PAGE_TREE, 1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields " + nested + b" >> >>"})


def _catalog_bomb() -> bytes:
    """The document catalog sits in an object stream that inflates to 1 GiB: reading anything inflates it."""
    top = {number: body for number, body in PAGE_TREE.items() if number != 1}
    packed = zeros_flate(b"1 0 " + PAGE_TREE[1] + b" ", 1024 * 1024 * 1024)
    return object_stream_pdf(top, {1: PAGE_TREE[1]}, 4, stream_data=packed)


def _wide() -> bytes:
    """A million small dictionaries among the form fields: seconds of CPU and most of a GiB for pyHanko."""
    return classic_pdf({**PAGE_TREE, 1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["
                                        + b"<</A 1>>" * 1_000_000 + b"] >> >>"})


@sqlite_only
@pytest.mark.parametrize("make, limits, aborted", [
    (_nested, {}, "depth"),
    (_catalog_bomb, {"memory_bytes": 384 * 1024 * 1024}, "memory"),
    (_wide, {"cpu_seconds": 1}, "cpu"),
], ids=["deeply-nested", "decompression-bomb", "cpu-hog"])
def test_hostile_files_are_invalid_with_a_limits_message_and_the_server_carries_on(
        app, client, verify, make, limits, aborted):
    app.config["VERIFY_LIMITS"] = {"wall_seconds": 10.0, **limits}
    resp = verify(make())
    assert resp.status_code == 200, resp.json
    assert (resp.json["verdict"], resp.json["aborted"], resp.json["signatures"]) == ("invalid", aborted, [])
    assert resp.json["summary"] == resp.json["problems"][0] == translated(app, TOO_COMPLEX)
    assert client.get("/api/v1/auth/me", headers=verify.headers).status_code == 200


@sqlite_only
def test_time_out_is_invalid_with_a_limits_message(app, verify, org_signed):
    app.config["VERIFY_LIMITS"] = {"wall_seconds": 0.05}  # killed while it still imports pyHanko
    resp = verify(org_signed)
    assert resp.status_code == 200
    assert (resp.json["verdict"], resp.json["aborted"]) == ("invalid", "time")
    assert resp.json["summary"] == translated(app, TOO_COMPLEX)


def test_not_a_pdf_is_415_whatever_its_name(verify):
    resp = verify(png_bytes(), name="anh-chup.pdf")
    assert resp.status_code == 415 and resp.mimetype == "application/problem+json"
    assert resp.json["reason"] == "not_pdf" and "không phải là tài liệu PDF" in resp.json["detail"]


def test_oversized_upload_is_413(app, verify):
    app.config["MAX_UPLOAD_MB"] = 1
    resp = verify(sample_pdf(1) + b"%" * (2 * 1024 * 1024), name="big.pdf")
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    assert "1 MB" in resp.json["detail"]


def test_no_file_is_400(client, verify):
    resp = client.post("/api/v1/verify", data={"title": "x"}, headers=verify.headers,
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "“file”" in resp.json["detail"]


def test_anonymous_is_401(client):
    resp = client.post("/api/v1/verify", data={"file": (io.BytesIO(sample_pdf(1)), "a.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
