"""External signing: the signer's key stays on their own device (USB token, smart card, PKCS#12 on their PC).

Two steps, with pyHanko's interrupted signing in between:

1. ``prepare_external``: the server writes the field's appearance and signature dictionary exactly as
   ``pades.sign_field`` would, reserves room for the signature, hashes the document's byte range and builds
   the CMS signed attributes (PAdES: content type, message digest, signing certificate v2). Their DER
   encoding, ``ExternalRequest.to_sign``, is what the signer's device signs (hash-and-sign with SHA-256:
   RSA PKCS#1 v1.5 or ECDSA). The request is kept as JSON until the signature comes back.
2. ``finish_external``: the signature value is checked against the certificate, then wrapped into the CMS
   container with the same attributes and written into the reserved place — the same PAdES approval
   signature, in its own incremental update, that a server-side signature would be.

``ExternalRequest.base_sha256`` is the hash of the PDF the request was prepared from: when finishing, the
caller should check that the document it holds is still that one. Finishing a request on an older revision
would give a PDF without the signatures added since.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner, PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from meetings.signing import pades
from meetings.signing.appearance import Appearance
from meetings.signing.pades import MD_ALGORITHM, SigningError
from meetings.signing.pki import ensure_certificate_usable

MECHANISMS = ("rsassa_pkcs1v15", "ecdsa")
_FORMAT = 1  # of the JSON; bump when a field changes meaning


@dataclass(frozen=True)
class ExternalRequest:
    """Everything needed between ``prepare_external`` and ``finish_external``; store it with ``to_json``.

    The JSON holds the prepared PDF (base64), so it is about 4/3 of the document's size.
    """

    field_name: str
    signing_time: dt.datetime
    certificates: tuple[bytes, ...]  # DER, the signer's first, then its chain
    to_sign: bytes                   # DER of the CMS signed attributes: what the signer's device signs
    mechanism: str                   # "rsassa_pkcs1v15" or "ecdsa", with SHA-256
    prepared_pdf: bytes              # the document in its final pre-signing state (the signature's place zeroed)
    document_digest: bytes           # SHA-256 of the byte range, as in the signed attributes' message digest
    reserved_start: int              # the reserved /Contents hex string in prepared_pdf: [start, end)
    reserved_end: int
    base_sha256: str                 # hex SHA-256 of the PDF the request was prepared from
    timestamp_room: bool = False     # room was reserved for a time-stamp token (B-T)
    digest_algorithm: str = MD_ALGORITHM

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificates[0])

    def to_json(self) -> str:
        b64 = _b64encode
        return json.dumps({
            "format": _FORMAT,
            "field_name": self.field_name,
            "signing_time": self.signing_time.isoformat(),
            "certificates": [b64(c) for c in self.certificates],
            "to_sign": b64(self.to_sign),
            "mechanism": self.mechanism,
            "digest_algorithm": self.digest_algorithm,
            "prepared_pdf": b64(self.prepared_pdf),
            "document_digest": b64(self.document_digest),
            "reserved_start": self.reserved_start,
            "reserved_end": self.reserved_end,
            "base_sha256": self.base_sha256,
            "timestamp_room": self.timestamp_room,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ExternalRequest:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                raise ValueError("unknown format")
            request = cls(
                field_name=_str(data["field_name"]),
                signing_time=dt.datetime.fromisoformat(_str(data["signing_time"])),
                certificates=tuple(_b64decode(c) for c in data["certificates"]),
                to_sign=_b64decode(data["to_sign"]),
                mechanism=_str(data["mechanism"]),
                digest_algorithm=_str(data["digest_algorithm"]),
                prepared_pdf=_b64decode(data["prepared_pdf"]),
                document_digest=_b64decode(data["document_digest"]),
                reserved_start=_int(data["reserved_start"]),
                reserved_end=_int(data["reserved_end"]),
                base_sha256=_str(data["base_sha256"]),
                timestamp_room=bool(data.get("timestamp_room", False)),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise SigningError(f"not a valid external signing request: {_reason(err)}") from None
        if request.signing_time.tzinfo is None or not request.certificates:
            raise SigningError("not a valid external signing request: no time zone or no certificate")
        if request.mechanism not in MECHANISMS or request.digest_algorithm != MD_ALGORITHM:
            raise SigningError(f"not a valid external signing request: unsupported mechanism {request.mechanism}")
        if not 0 < request.reserved_start < request.reserved_end <= len(request.prepared_pdf):
            raise SigningError("not a valid external signing request: the reserved range is outside the PDF")
        return request


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as err:
        raise ValueError(f"bad base64: {err}") from None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _reason(err: BaseException) -> str:
    if isinstance(err, KeyError):
        return f"missing {err.args[0]!r}"
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def mechanism_for(cert: x509.Certificate) -> str:
    """What the signer's device must do with ``to_sign``; ``SigningError`` for keys we cannot use."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsassa_pkcs1v15"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    raise SigningError(f"unsupported key type for external signing: {type(key).__name__.removeprefix('_')} "
                       "(RSA or ECDSA is needed)")


def _placeholder_signature(cert: x509.Certificate) -> bytes:
    """As long as the real signature can be, for the size estimate of the signature container."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return bytes((key.key_size + 7) // 8)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    coordinate = (key.curve.key_size + 7) // 8
    return bytes(2 * coordinate + 9)  # DER SEQUENCE of two INTEGERs, each possibly with a leading zero


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _external_signer(certificates: list[x509.Certificate], signature: bytes) -> ExternalSigner:
    leaf, *chain = certificates
    return ExternalSigner(signing_cert=_asn1(leaf), signature_value=signature,
                          cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain]))


def prepare_external(pdf_bytes: bytes, field_name: str, *, certificates: list[x509.Certificate],
                     signing_time: dt.datetime, appearance: Appearance | None = None, reason: str | None = None,
                     location: str | None = None, timestamper: TimeStamper | None = None) -> ExternalRequest:
    """Make ``field_name`` ready to be signed by the holder of ``certificates[0]``'s key.

    ``certificates``: the signer's certificate first, then its chain (embedded so verifiers find the path).
    ``timestamper``: reserve room for a time-stamp token, to be added by ``finish_external`` (B-T).
    """
    if not certificates:
        raise SigningError("no certificate to sign with")
    if signing_time.tzinfo is None:
        raise SigningError("signing time must be timezone-aware")
    leaf = certificates[0]
    ensure_certificate_usable(leaf, signing_time)
    mechanism = mechanism_for(leaf)
    writer = pades._open(pdf_bytes)
    signer = _external_signer(certificates, _placeholder_signature(leaf))
    style = appearance.stamp_style() if appearance is not None else pades._KEEP_APPEARANCE
    pdf_signer = pades._pdf_signer(field_name=field_name, signer=signer, stamp_style=style,
                                   timestamper=timestamper, new_field=None, reason=reason, location=location)
    signed_attrs = PdfCMSSignedAttributes(signing_time=signing_time)

    async def prepare() -> tuple[PreparedByteRangeDigest, io.BytesIO, cms.CMSAttributes]:
        _tbs, prepared, output = await pades._prepare_async(writer, pdf_signer, signing_time=signing_time,
                                                            existing_fields_only=True)
        attrs = await signer.signed_attrs(prepared.document_digest, MD_ALGORITHM, attr_settings=signed_attrs,
                                          use_pades=True, timestamper=timestamper)
        return prepared, output, attrs

    with pades._signing_errors():
        prepared, output, attrs = asyncio.run(prepare())
    return ExternalRequest(
        field_name=field_name,
        signing_time=signing_time,
        certificates=tuple(c.public_bytes(serialization.Encoding.DER) for c in certificates),
        to_sign=attrs.dump(),
        mechanism=mechanism,
        prepared_pdf=output.getvalue(),
        document_digest=prepared.document_digest,
        reserved_start=prepared.reserved_region_start,
        reserved_end=prepared.reserved_region_end,
        base_sha256=hashlib.sha256(pdf_bytes).hexdigest(),
        timestamp_room=timestamper is not None,
    )


def check_signature(request: ExternalRequest, signature: bytes) -> bytes:
    """The signature value as CMS wants it (ECDSA in DER), if it is the certificate's key's over ``to_sign``.

    ECDSA devices (PKCS#11's CKM_ECDSA*) return r‖s; that form is accepted and converted.
    """
    if not isinstance(signature, (bytes, bytearray)) or not signature:
        raise SigningError("the signature is empty")
    signature = bytes(signature)
    key = request.certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, request.to_sign, PKCS1v15(), hashes.SHA256())
            return signature
        if isinstance(key, ec.EllipticCurvePublicKey):
            for candidate in _ecdsa_forms(signature, key):
                try:
                    key.verify(candidate, request.to_sign, ec.ECDSA(hashes.SHA256()))
                    return candidate
                except InvalidSignature:
                    continue
            raise InvalidSignature
    except (InvalidSignature, ValueError):
        raise SigningError("the signature does not match the certificate") from None
    raise SigningError("unsupported key type for external signing")


def _ecdsa_forms(signature: bytes, key: ec.EllipticCurvePublicKey) -> list[bytes]:
    forms = [signature]
    coordinate = (key.curve.key_size + 7) // 8
    if len(signature) == 2 * coordinate:
        r, s = (int.from_bytes(signature[:coordinate], "big"), int.from_bytes(signature[coordinate:], "big"))
        forms.append(encode_dss_signature(r, s))
    return forms


def _check_request(request: ExternalRequest) -> None:
    """The stored request is consistent: the attributes sign this document's byte range."""
    pdf = request.prepared_pdf
    digest = hashlib.sha256()
    digest.update(memoryview(pdf)[:request.reserved_start])
    digest.update(memoryview(pdf)[request.reserved_end:])
    if digest.digest() != request.document_digest:
        raise SigningError("the prepared document was changed since the signature was requested")
    try:
        attrs = cms.CMSAttributes.load(request.to_sign)
        digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    except (ValueError, TypeError, KeyError, IndexError):
        digests = []
    if digests != [request.document_digest]:
        raise SigningError("the signed attributes do not belong to the prepared document")


def finish_external(request: ExternalRequest, signature: bytes, *,
                    timestamper: TimeStamper | None = None) -> bytes:
    """The signed PDF: ``signature`` (the device's signature over ``request.to_sign``) embedded.

    ``timestamper``: add a signature time-stamp (B-T); only if ``prepare_external`` reserved room for one.
    """
    if timestamper is not None and not request.timestamp_room:
        raise SigningError("the request was prepared without room for a time-stamp")
    value = check_signature(request, signature)
    _check_request(request)
    certificates = [x509.load_der_x509_certificate(der) for der in request.certificates]
    signer = _external_signer(certificates, value)
    attrs = cms.CMSAttributes.load(request.to_sign)
    prepared = PreparedByteRangeDigest(document_digest=request.document_digest,
                                       reserved_region_start=request.reserved_start,
                                       reserved_region_end=request.reserved_end)
    output = io.BytesIO(request.prepared_pdf)

    async def finish() -> None:
        container = await signer.async_sign_prescribed_attributes(MD_ALGORITHM, attrs, timestamper=timestamper)
        prepared.fill_with_cms(output, container)

    with pades._signing_errors():
        asyncio.run(finish())
    return output.getvalue()
