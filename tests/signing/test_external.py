"""External signing: the server prepares, the signer's own device signs ``to_sign``, the server finishes."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pyhanko.pdf_utils.reader import PdfFileReader

from meetings.signing import pades, pki
from meetings.signing.external import ExternalRequest, finish_external, prepare_external
from meetings.signing.forms import OfficialSignature, SealSignature
from meetings.signing.timestamps import local_timestamper
from meetings.signing.verify import Verdict, pdfsig_report, verify_pdf
from tests.signing.conftest import ORG_NAME
from tests.signing.helpers import ec_personal_certificate, write
from tests.signing.test_forms import FIELDS


@pytest.fixture(scope="module")
def prepared(document: bytes) -> bytes:
    return pades.prepare_fields(document, FIELDS)


def _chain(identity: pki.SignerIdentity) -> list:
    return [identity.certificate, *identity.chain]


def _device_sign(identity: pki.SignerIdentity, to_sign: bytes) -> bytes:
    """What the signer's token does: hash-and-sign with SHA-256; the server never sees this key."""
    key = identity.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    return key.sign(to_sign, PKCS1v15(), hashes.SHA256())


def _assert_all_good(pdf: bytes, test_pki: pki.GeneratedPki, tmp_path: Path, fields: list[str]) -> None:
    report = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.VALID, report.summary
    assert [s.field for s in report.signatures] == fields
    assert all(s.verdict == Verdict.VALID for s in report.signatures)
    poppler = [p for p in pdfsig_report(write(tmp_path, "out.pdf", pdf))["signatures"] if p["signed"]]
    assert [p["signature_validation"] for p in poppler] == ["Signature is Valid."] * len(fields)
    assert poppler[-1]["total_document_signed"]


def test_round_trip_with_a_key_only_the_signer_holds(
        prepared: bytes, test_pki: pki.GeneratedPki, secretary: pki.SignerIdentity, signing_time: dt.datetime,
        secretary_signature_png: bytes, tmp_path: Path) -> None:
    form = OfficialSignature("Nguyễn Thị Thư", "Thư ký", signing_time, secretary_signature_png)
    request = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time,
                               appearance=form, reason="Thư ký ký biên bản")
    assert request.mechanism == "rsassa_pkcs1v15"
    assert request.field_name == "secretary" and request.base_sha256 and request.prepared_pdf.startswith(prepared)
    signed = finish_external(request, _device_sign(secretary, request.to_sign))
    _assert_all_good(signed, test_pki, tmp_path, ["secretary"])
    report = verify_pdf(signed, trust_roots=test_pki.trust_roots)
    assert report.signatures[0].signer_common_name == "Nguyễn Thị Thư"
    assert report.signatures[0].signing_time == signing_time
    assert report.unsigned_fields == ("chair", "organisation")


def _signature_dicts(pdf: bytes) -> list[dict]:
    reader = PdfFileReader(io.BytesIO(pdf))
    out = []
    for emb in reader.embedded_signatures:
        info = emb.signer_info
        out.append({
            "subfilter": emb.sig_object["/SubFilter"],
            "type": emb.sig_object.get("/Type"),
            "signed_attrs": [a["type"].native for a in info["signed_attrs"]],
            "digest": info["digest_algorithm"]["algorithm"].native,
            "signature_algorithm": info["signature_algorithm"]["algorithm"].native,
            "certificates": len(emb.signed_data["certificates"]),
            "has_appearance": "/AP" in emb.sig_field,
        })
    return out


def test_mixed_external_and_server_side_signatures_all_verify(
        prepared: bytes, test_pki: pki.GeneratedPki, secretary: pki.SignerIdentity, chair: pki.SignerIdentity,
        signing_time: dt.datetime, secretary_signature_png: bytes, chair_signature_png: bytes, seal_png: bytes,
        tmp_path: Path) -> None:
    request = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time,
                               appearance=OfficialSignature("Nguyễn Thị Thư", "Thư ký", signing_time,
                                                            secretary_signature_png))
    # Kept as JSON between the two requests, as the server does.
    stored = request.to_json()
    pdf = finish_external(ExternalRequest.from_json(stored), _device_sign(secretary, request.to_sign))
    at = signing_time + dt.timedelta(minutes=3)
    pdf = pades.sign_field(pdf, "chair", signer=chair, signing_time=at,
                           appearance=OfficialSignature("Trần Văn Chủ", "Chủ tọa", at, chair_signature_png))
    at += dt.timedelta(minutes=3)
    pdf = pades.sign_field(pdf, "organisation", signer=test_pki.organisation, signing_time=at,
                           appearance=SealSignature(ORG_NAME, at, seal_png),
                           timestamper=local_timestamper(test_pki.tsa))
    _assert_all_good(pdf, test_pki, tmp_path, ["secretary", "chair", "organisation"])
    # The external signature is the same kind as the server's: PAdES, approval, same attributes.
    external, server, _org = _signature_dicts(pdf)
    assert external == server
    assert external["subfilter"] == "/ETSI.CAdES.detached" and external["type"] == "/Sig"
    assert "signing_certificate_v2" in external["signed_attrs"] and "signing_time" not in external["signed_attrs"]


def test_ecdsa_key_and_raw_r_s_signatures_are_accepted(prepared: bytes, test_pki: pki.GeneratedPki,
                                                       signing_time: dt.datetime, tmp_path: Path) -> None:
    official = ec_personal_certificate(test_pki.root, "Lê Văn Ba", organisation=ORG_NAME)
    request = prepare_external(prepared, "chair", certificates=_chain(official), signing_time=signing_time)
    assert request.mechanism == "ecdsa"
    der = _device_sign(official, request.to_sign)
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # what PKCS#11's CKM_ECDSA returns
    for value in (der, raw):
        _assert_all_good(finish_external(request, value), test_pki, tmp_path, ["chair"])


def test_a_signature_from_another_key_is_refused_before_embedding(
        prepared: bytes, secretary: pki.SignerIdentity, chair: pki.SignerIdentity,
        signing_time: dt.datetime) -> None:
    request = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time)
    for bad in (_device_sign(chair, request.to_sign), _device_sign(secretary, request.to_sign + b"x"),
                bytes(256), b"x"):
        with pytest.raises(pades.SigningError, match="^the signature does not match the certificate$"):
            finish_external(request, bad)
    with pytest.raises(pades.SigningError, match="empty"):
        finish_external(request, b"")


def test_request_round_trips_through_json_and_refuses_garbage(prepared: bytes, secretary: pki.SignerIdentity,
                                                              signing_time: dt.datetime) -> None:
    request = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time)
    text = request.to_json()
    again = ExternalRequest.from_json(text)
    assert again == request
    assert again.signing_time == signing_time and again.certificate == secretary.certificate
    data = json.loads(text)
    for broken in ("not json", "[]", json.dumps({**data, "format": 99}), json.dumps({**data, "to_sign": "@@"}),
                   json.dumps({k: v for k, v in data.items() if k != "prepared_pdf"}),
                   json.dumps({**data, "reserved_end": 10 ** 9}), json.dumps({**data, "mechanism": "dsa"}),
                   json.dumps({**data, "signing_time": "2026-01-01T00:00:00"})):
        with pytest.raises(pades.SigningError, match="not a valid external signing request"):
            ExternalRequest.from_json(broken)


def test_a_changed_stored_request_is_refused(prepared: bytes, secretary: pki.SignerIdentity,
                                             signing_time: dt.datetime) -> None:
    request = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time)
    signature = _device_sign(secretary, request.to_sign)
    pdf = bytearray(request.prepared_pdf)
    pdf[100] ^= 1
    with pytest.raises(pades.SigningError, match="changed since"):
        finish_external(dataclasses.replace(request, prepared_pdf=bytes(pdf)), signature)


def test_unusable_certificates_are_refused(prepared: bytes, test_pki: pki.GeneratedPki,
                                           signing_time: dt.datetime) -> None:
    long_ago = signing_time - dt.timedelta(days=3 * 365)
    expired = pki.issue_personal_certificate(test_pki.root, "Phạm Văn Cũ", organisation=ORG_NAME, years=1,
                                             now=long_ago)
    with pytest.raises(pki.CertificateError, match="expired on"):
        prepare_external(prepared, "chair", certificates=_chain(expired), signing_time=signing_time)
    # The root CA's certificate may sign certificates, not documents (no non-repudiation).
    with pytest.raises(pki.CertificateError, match="non-repudiation"):
        prepare_external(prepared, "chair", certificates=[test_pki.root.certificate], signing_time=signing_time)
    with pytest.raises(pades.SigningError, match="no certificate"):
        prepare_external(prepared, "chair", certificates=[], signing_time=signing_time)
    with pytest.raises(pades.SigningError, match="timezone-aware"):
        prepare_external(prepared, "chair", certificates=[test_pki.organisation.certificate],
                         signing_time=signing_time.replace(tzinfo=None))


def test_missing_or_already_signed_fields_are_refused(prepared: bytes, secretary: pki.SignerIdentity,
                                                      signing_time: dt.datetime) -> None:
    chain = _chain(secretary)
    with pytest.raises(pades.SigningError, match="No empty signature field"):
        prepare_external(prepared, "vice-chair", certificates=chain, signing_time=signing_time)
    once = pades.sign_field(prepared, "secretary", signer=secretary, signing_time=signing_time)
    with pytest.raises(pades.SigningError, match="filled already"):
        prepare_external(once, "secretary", certificates=chain, signing_time=signing_time)
    with pytest.raises(pades.SigningError, match="not a readable PDF"):
        prepare_external(b"%PDF-1.7 nonsense", "secretary", certificates=chain, signing_time=signing_time)


def test_time_stamp_needs_room_reserved_when_preparing(prepared: bytes, test_pki: pki.GeneratedPki,
                                                       secretary: pki.SignerIdentity, signing_time: dt.datetime,
                                                       tmp_path: Path) -> None:
    tsa = local_timestamper(test_pki.tsa)
    plain = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time)
    with pytest.raises(pades.SigningError, match="without room for a time-stamp"):
        finish_external(plain, _device_sign(secretary, plain.to_sign), timestamper=tsa)
    request = prepare_external(prepared, "secretary", certificates=_chain(secretary), signing_time=signing_time,
                               timestamper=tsa)
    signed = finish_external(request, _device_sign(secretary, request.to_sign), timestamper=tsa)
    _assert_all_good(signed, test_pki, tmp_path, ["secretary"])
    assert verify_pdf(signed, trust_roots=test_pki.trust_roots).signatures[0].timestamp_time is not None
