"""Certificates for signing: a self-made PKI (demo and tests) and PKCS#12 files encrypted at rest.

Production bodies use certificates from a real CA (in Vietnam, the Government Cipher Committee's CA); the
server only ever sees them as PKCS#12 files. The generated PKI mirrors that shape — root CA → organisation /
personal / TSA certificates — so the same signing and verification code runs against both.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# What a PKCS#12 file may hold and what we can sign with (pyHanko supports all three).
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# RSA because Vietnamese public CAs issue RSA and pyHanko's offline DummyTimeStamper only signs with RSA.
DEFAULT_KEY_SIZE = 2048
_CLOCK_SKEW = dt.timedelta(days=1)


class CertificateError(Exception):
    """A certificate or PKCS#12 file cannot be used; ``str(err)`` is a one-line reason fit for a user."""


@dataclass(frozen=True, eq=False)
class SignerIdentity:
    """A private key with its certificate and the issuing chain (leaf's issuer first)."""

    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = field(default=())

    @property
    def common_name(self) -> str:
        return name_attribute(self.certificate.subject, NameOID.COMMON_NAME) or ""

    @property
    def organisation(self) -> str:
        return name_attribute(self.certificate.subject, NameOID.ORGANIZATION_NAME) or ""

    def ensure_usable(self, at: dt.datetime) -> None:
        """Refuse to sign with a certificate that a verifier would reject for its dates or key usage."""
        ensure_certificate_usable(self.certificate, at)


def ensure_certificate_usable(cert: x509.Certificate, at: dt.datetime) -> None:
    """Refuse a signing certificate that a verifier would reject for its dates or key usage.

    For keys the server holds (``SignerIdentity``) and for keys on the signer's own device (external signing).
    """
    common_name = name_attribute(cert.subject, NameOID.COMMON_NAME) or ""
    if at < cert.not_valid_before_utc:
        raise CertificateError(f"certificate '{common_name}' is not valid before "
                               f"{cert.not_valid_before_utc:%Y-%m-%d}")
    if at > cert.not_valid_after_utc:
        raise CertificateError(f"certificate '{common_name}' expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not usage.content_commitment:
        raise CertificateError(f"certificate '{common_name}' is not meant for signing documents "
                               "(no non-repudiation key usage)")


@dataclass(frozen=True, eq=False)
class GeneratedPki:
    """Everything the demo and the tests need to sign and verify offline."""

    root: SignerIdentity
    organisation: SignerIdentity
    tsa: SignerIdentity

    @property
    def trust_roots(self) -> list[x509.Certificate]:
        return [self.root.certificate]


def name_attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _new_key(key_size: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


_MAX_NAME_LENGTH = 64  # X.520 upper bound for CN, O, ST and title


def _subject(common_name: str, *, organisation: str | None = None, title: str | None = None,
             province: str | None = None) -> x509.Name:
    for value in (common_name, organisation, title, province):
        if value is not None and not 1 <= len(value) <= _MAX_NAME_LENGTH:
            raise CertificateError(f"certificate name must be 1 to {_MAX_NAME_LENGTH} characters: {value!r}")
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if province:
        attrs.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, province))
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _validity(now: dt.datetime | None, years: int) -> tuple[dt.datetime, dt.datetime]:
    start = (now or dt.datetime.now(dt.timezone.utc)) - _CLOCK_SKEW
    return start, start + dt.timedelta(days=365 * years)


def create_root_ca(common_name: str, *, organisation: str | None = None, years: int = 20,
                   now: dt.datetime | None = None, key_size: int = DEFAULT_KEY_SIZE) -> SignerIdentity:
    key = _new_key(key_size)
    name = _subject(common_name, organisation=organisation)
    start, end = _validity(now, years)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SignerIdentity(private_key=key, certificate=cert)


def _issue(ca: SignerIdentity, subject: x509.Name, *, key_usage: x509.KeyUsage,
           extended_usage: list[x509.ObjectIdentifier] | None, years: int, now: dt.datetime | None,
           key_size: int) -> SignerIdentity:
    key = _new_key(key_size)
    start, end = _validity(now, years)
    # A leaf must not outlive its issuer, or path validation fails at the end of its life.
    end = min(end, ca.certificate.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.certificate.public_key()),
                       critical=False)
    )
    if extended_usage:
        # RFC 3161 requires the TSA's extended key usage to be critical and timeStamping only.
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_usage), critical=True)
    cert = builder.sign(ca.private_key, hashes.SHA256())
    return SignerIdentity(private_key=key, certificate=cert, chain=(ca.certificate, *ca.chain))


_SIGNING_USAGE = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                               data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                               encipher_only=False, decipher_only=False)


def issue_organisation_certificate(ca: SignerIdentity, organisation: str, *, province: str | None = None,
                                   years: int = 5, now: dt.datetime | None = None,
                                   key_size: int = DEFAULT_KEY_SIZE) -> SignerIdentity:
    """The body's certificate (its 'seal'): CN and O are the body's name."""
    subject = _subject(organisation, organisation=organisation, province=province)
    return _issue(ca, subject, key_usage=_SIGNING_USAGE, extended_usage=None, years=years, now=now,
                  key_size=key_size)


def issue_personal_certificate(ca: SignerIdentity, full_name: str, *, organisation: str, title: str | None = None,
                               years: int = 3, now: dt.datetime | None = None,
                               key_size: int = DEFAULT_KEY_SIZE) -> SignerIdentity:
    """A signing official's certificate (secretary, chair)."""
    subject = _subject(full_name, organisation=organisation, title=title)
    return _issue(ca, subject, key_usage=_SIGNING_USAGE, extended_usage=None, years=years, now=now,
                  key_size=key_size)


def issue_tsa_certificate(ca: SignerIdentity, name: str, *, years: int = 10, now: dt.datetime | None = None,
                          key_size: int = DEFAULT_KEY_SIZE) -> SignerIdentity:
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    return _issue(ca, _subject(name, organisation=name), key_usage=usage,
                  extended_usage=[ExtendedKeyUsageOID.TIME_STAMPING], years=years, now=now, key_size=key_size)


def create_test_pki(organisation: str, *, province: str | None = None,
                    now: dt.datetime | None = None) -> GeneratedPki:
    """Root CA, the body's signing certificate and a TSA — what ``seed-demo`` and the tests start from."""
    root = create_root_ca("Phòng Họp Test Root CA", organisation="Phòng Họp (thử nghiệm)", now=now)
    return GeneratedPki(
        root=root,
        organisation=issue_organisation_certificate(root, organisation, province=province, now=now),
        tsa=issue_tsa_certificate(root, "Phòng Họp Test TSA", now=now),
    )


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase


def write_pkcs12(identity: SignerIdentity, passphrase: str | bytes, *, friendly_name: str | None = None) -> bytes:
    """Serialise with AES-256 / PBKDF2-SHA256 (not the legacy RC2/3DES default that modern OpenSSL rejects)."""
    secret = _passphrase_bytes(passphrase)
    if not secret:
        raise CertificateError("a PKCS#12 file must be protected by a non-empty passphrase")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(100_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(secret)
    )
    name = (friendly_name or identity.common_name).encode("utf-8")
    return pkcs12.serialize_key_and_certificates(name, identity.private_key, identity.certificate,
                                                 list(identity.chain) or None, encryption)


def read_pkcs12(data: bytes, passphrase: str | bytes) -> SignerIdentity:
    """Open a PKCS#12 file; every failure is a ``CertificateError`` with a one-line reason."""
    try:
        bundle = pkcs12.load_pkcs12(data, _passphrase_bytes(passphrase))
    except ValueError:
        # OpenSSL cannot tell a wrong passphrase from a damaged file: the MAC check fails either way.
        raise CertificateError("cannot open the PKCS#12 file: wrong passphrase or not a PKCS#12 file") from None
    except TypeError as err:
        raise CertificateError(f"cannot open the PKCS#12 file: {err}") from None
    if bundle.key is None:
        raise CertificateError("the PKCS#12 file holds no private key")
    if bundle.cert is None:
        raise CertificateError("the PKCS#12 file holds no certificate")
    key = bundle.key
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise CertificateError(f"unsupported key type in the PKCS#12 file: {type(key).__name__}")
    cert = bundle.cert.certificate
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise CertificateError("the private key in the PKCS#12 file does not belong to its certificate")
    chain = tuple(c.certificate for c in bundle.additional_certs)
    return SignerIdentity(private_key=key, certificate=cert, chain=chain)


def _public_der(public_key: object) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def save_pkcs12(path: Path, identity: SignerIdentity, passphrase: str | bytes) -> None:
    path.write_bytes(write_pkcs12(identity, passphrase))
    path.chmod(0o600)


def load_pkcs12(path: Path, passphrase: str | bytes) -> SignerIdentity:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CertificateError(f"PKCS#12 file not found: {path}") from None
    except OSError as err:
        raise CertificateError(f"cannot read PKCS#12 file {path}: {err.strerror}") from None
    return read_pkcs12(data, passphrase)


def certificates_pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Trust roots from PEM (one or many) or a single DER certificate."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as err:
        raise CertificateError(f"not a certificate: {err}") from None
