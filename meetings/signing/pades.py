"""PAdES approval signatures, each appended as an incremental update.

Never a certification (DocMDP) signature: it would make every later signer's new field an illegal change.
Two uses:

- ``sign_document``: a distributed document gets the organisation's text-only stamp at the top right of
  page 1, field and signature created in one update.
- ``prepare_fields`` then ``sign_field`` in turn: the minutes get all their fields in one revision, then the
  secretary, the chair and the organisation sign, each an update that leaves earlier signatures valid.

B-B without a time-stamper, B-T with one (``timestamps.http_timestamper`` / ``local_timestamper``).
Errors: ``SigningError`` (the PDF, the field or the TSA) and ``pki.CertificateError`` (the certificate), each
with a one-line reason. pyHanko runs its own event loop: call these from synchronous code.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields as pdf_fields
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, VisibleSigSettings
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.stamp import BaseStampStyle
from pyhanko.stamp.noop import NoOpStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from meetings.signing.appearance import Appearance, Box, OrganisationStamp, top_right_box
from meetings.signing.pki import SignerIdentity

ORGANISATION_FIELD = "organisation"
MD_ALGORITHM = "sha256"

# pyHanko draws its default stamp into any visible field signed without an appearance; the no-op style
# keeps the field's existing (pre-drawn or blank) appearance instead.
_KEEP_APPEARANCE = NoOpStampStyle()


class SigningError(Exception):
    """The PDF cannot be signed as asked; ``str(err)`` is a one-line reason."""


@dataclass(frozen=True)
class FieldSpec:
    """A signature field to create: ``box`` (PDF points, lower-left origin) or ``None`` for an invisible one."""

    name: str
    page: int = 0
    box: Box | None = None
    label: str | None = None  # shown by viewers as the field's tooltip, e.g. "Thư ký"


class _LoadedKeySigner(signers.SimpleSigner):
    """SimpleSigner that signs with the already-loaded key.

    The stock SimpleSigner re-parses its key from DER for every raw signature, and OpenSSL re-validates an
    RSA key on each load: about 45 ms, paid twice per document (size estimate + real signature).
    """

    def __init__(self, identity: SignerIdentity, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._key = identity.private_key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            if dry_run:
                # Only the length matters for the size estimate, and it is fixed for RSA.
                return bytes(key.key_size // 8)
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if mechanism == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return self.sign_raw(data, digest_algorithm)


# Per identity object, and only while it lives: the organisation's identity is reused for every document
# (the DER round-trip below costs ~1.5 ms), but a person's key, unlocked for one signature, must not outlive it.
_SIGNERS: weakref.WeakKeyDictionary[SignerIdentity, signers.SimpleSigner] = weakref.WeakKeyDictionary()


def pyhanko_signer(identity: SignerIdentity) -> signers.SimpleSigner:
    """The identity as a pyHanko signer, with its chain embedded so verifiers can build the path."""
    signer = _SIGNERS.get(identity)
    if signer is None:
        signer = _SIGNERS[identity] = _new_pyhanko_signer(identity)
    return signer


def _new_pyhanko_signer(identity: SignerIdentity) -> signers.SimpleSigner:
    der = serialization.Encoding.DER
    key = asn1_keys.PrivateKeyInfo.load(identity.private_key.private_bytes(
        der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cert = asn1_x509.Certificate.load(identity.certificate.public_bytes(der))
    chain = [asn1_x509.Certificate.load(c.public_bytes(der)) for c in identity.chain]
    return _LoadedKeySigner(identity, signing_cert=cert, signing_key=key,
                            cert_registry=SimpleCertificateStore.from_certs(chain))


def _check_signer(signer: SignerIdentity, signing_time: dt.datetime) -> None:
    if signing_time.tzinfo is None:
        raise SigningError("signing time must be timezone-aware")
    signer.ensure_usable(signing_time)


def _open(pdf_bytes: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as err:
        raise SigningError(f"not a readable PDF: {err}") from None
    if writer.prev.encrypted:
        raise SigningError("encrypted PDFs cannot be signed")
    return writer


def _inherited(page: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
    node: generic.DictionaryObject | None = page
    while node is not None:
        if key in node:
            return node[key]
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return None


def _rotation(value: generic.PdfObject | None) -> int:
    try:
        rotation = int(value.get_object()) % 360 if value is not None else 0
    except (TypeError, ValueError):
        return 0
    return rotation if rotation % 90 == 0 else 0  # anything else is not a valid /Rotate; viewers ignore it


def page_geometry(writer: IncrementalPdfFileWriter, page_index: int = 0) -> tuple[Box, int]:
    """The visible area of a page (CropBox, else MediaBox), normalised, and its display rotation."""
    page_ref = writer.find_page_for_modification(page_index)[0]
    page = page_ref.get_object()
    raw = _inherited(page, "/CropBox") or _inherited(page, "/MediaBox")
    rotation = _rotation(_inherited(page, "/Rotate"))
    if raw is None:
        return (0.0, 0.0, 595.0, 842.0), rotation  # A4: what Vietnamese documents are printed on
    x1, y1, x2, y2 = (float(v) for v in raw.get_object())
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), rotation


def _unique_field_name(writer: IncrementalPdfFileWriter, wanted: str) -> str:
    taken = {name for name, _value, _ref in pdf_fields.enumerate_sig_fields(writer.prev)}
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


async def _prepare_async(writer: IncrementalPdfFileWriter, pdf_signer: signers.PdfSigner, *,
                         signing_time: dt.datetime, existing_fields_only: bool,
                         ) -> tuple[PdfTBSDocument, PreparedByteRangeDigest, io.BytesIO]:
    """The document in its final pre-signing state: field, appearance and signature dictionary written, the
    signature's place reserved, the byte range hashed. ``external.py`` stops here and resumes later."""
    session = pdf_signer.init_signing_session(writer, existing_fields_only=existing_fields_only)
    # /M in the signature dictionary (PAdES' claimed signing time) and the stamp's text are taken from here.
    session.system_time = signing_time
    reserved = await session.estimate_signature_container_size(None, tight=False)
    tbs = session.prepare_tbs_document(validation_info=None, bytes_reserved=reserved)
    prepared, output = tbs.digest_tbs_document(output=io.BytesIO())
    return tbs, prepared, output


async def _sign_async(writer: IncrementalPdfFileWriter, pdf_signer: signers.PdfSigner, *,
                      signing_time: dt.datetime, existing_fields_only: bool) -> io.BytesIO:
    """pyHanko's ``async_sign_pdf``, plus the one thing it has no parameter for: the signing time."""
    tbs, prepared, output = await _prepare_async(writer, pdf_signer, signing_time=signing_time,
                                                 existing_fields_only=existing_fields_only)
    post = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=signing_time),
    )
    await post.post_signature_processing(output)
    return output


def _pdf_signer(*, field_name: str, signer: signers.Signer, stamp_style: BaseStampStyle,
                timestamper: TimeStamper | None, new_field: SigFieldSpec | None, reason: str | None,
                location: str | None) -> signers.PdfSigner:
    meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm=MD_ALGORITHM,
                                        subfilter=SigSeedSubFilter.PADES, reason=reason, location=location)
    return signers.PdfSigner(meta, signer=signer, timestamper=timestamper, stamp_style=stamp_style,
                             new_field_spec=new_field)


@contextlib.contextmanager
def _signing_errors() -> Iterator[None]:
    """pyHanko's failures as ``SigningError`` with a one-line reason."""
    try:
        yield
    except PyHankoSigningError as err:
        raise SigningError(str(err)) from None
    except PdfError as err:
        raise SigningError(f"cannot sign this PDF: {err}") from None
    except TimestampRequestError as err:
        cause = f" ({err.__cause__})" if err.__cause__ else ""
        raise SigningError(f"the time-stamp authority did not answer{cause}") from None


def _sign(writer: IncrementalPdfFileWriter, *, field_name: str, signer: SignerIdentity,
          signing_time: dt.datetime, stamp_style: BaseStampStyle, timestamper: TimeStamper | None,
          new_field: SigFieldSpec | None, reason: str | None, location: str | None) -> bytes:
    pdf_signer = _pdf_signer(field_name=field_name, signer=pyhanko_signer(signer), stamp_style=stamp_style,
                             timestamper=timestamper, new_field=new_field, reason=reason, location=location)
    with _signing_errors():
        # The coroutine returns the buffer, not its bytes: Python 3.11's asyncio.run, restoring its SIGINT
        # handler, repr()s the finished task and with it the result — 0.25 s for a 20 MB document.
        output = asyncio.run(_sign_async(writer, pdf_signer, signing_time=signing_time,
                                         existing_fields_only=new_field is None))
    return output.getvalue()


def sign_document(pdf_bytes: bytes, *, signer: SignerIdentity, org_name: str, doc_number: str | None,
                  signing_time: dt.datetime, timestamper: TimeStamper | None = None,
                  field_name: str = ORGANISATION_FIELD) -> bytes:
    """Sign a distributed document with the organisation's visible signature, top right of page 1."""
    _check_signer(signer, signing_time)
    writer = _open(pdf_bytes)
    area, rotation = page_geometry(writer, 0)
    stamp = OrganisationStamp(org_name=org_name, doc_number=doc_number, signing_time=signing_time,
                              page_rotation=rotation)
    name = _unique_field_name(writer, field_name)
    spec = SigFieldSpec(sig_field_name=name, on_page=0, box=top_right_box(area, stamp.size(), rotation=rotation),
                        visible_sig_settings=VisibleSigSettings(print_signature=True))
    return _sign(writer, field_name=name, signer=signer, signing_time=signing_time,
                 stamp_style=stamp.stamp_style(), timestamper=timestamper, new_field=spec, reason=None,
                 location=None)


def prepare_fields(pdf_bytes: bytes, fields: list[FieldSpec]) -> bytes:
    """Add every signature field in one incremental update, before anyone signs."""
    if not fields:
        raise SigningError("no signature fields to prepare")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise SigningError(f"duplicate signature field names: {names}")
    writer = _open(pdf_bytes)
    for spec in fields:
        try:
            pdf_fields.append_signature_field(writer, SigFieldSpec(
                sig_field_name=spec.name, on_page=spec.page, box=spec.box, readable_field_name=spec.label))
        except (PdfError, PyHankoSigningError, IndexError) as err:
            raise SigningError(f"cannot add signature field '{spec.name}': {err}") from None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sign_field(pdf_bytes: bytes, field_name: str, *, signer: SignerIdentity, signing_time: dt.datetime,
               appearance: Appearance | None = None, timestamper: TimeStamper | None = None,
               reason: str | None = None, location: str | None = None) -> bytes:
    """Fill an existing empty field; its box decides the size (the appearance shrinks to fit, never grows)."""
    _check_signer(signer, signing_time)
    writer = _open(pdf_bytes)
    style = appearance.stamp_style() if appearance is not None else _KEEP_APPEARANCE
    return _sign(writer, field_name=field_name, signer=signer, signing_time=signing_time, stamp_style=style,
                 timestamper=timestamper, new_field=None, reason=reason, location=location)
