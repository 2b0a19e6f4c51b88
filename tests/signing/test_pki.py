from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meetings.signing import pki
from tests.signing.conftest import ORG_NAME


def test_organisation_certificate_names_the_body_in_vietnamese_and_can_sign(test_pki: pki.GeneratedPki) -> None:
    cert = test_pki.organisation.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ORG_NAME
    assert test_pki.organisation.organisation == ORG_NAME
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.issuer == test_pki.root.certificate.subject
    assert test_pki.organisation.chain == (test_pki.root.certificate,)


def test_root_is_a_ca_and_leaves_are_not(test_pki: pki.GeneratedPki, secretary: pki.SignerIdentity) -> None:
    assert test_pki.root.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for leaf in (test_pki.organisation, test_pki.tsa, secretary):
        assert not leaf.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_tsa_certificate_is_for_time_stamping_only(test_pki: pki.GeneratedPki) -> None:
    ext = test_pki.tsa.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert ext.critical
    assert list(ext.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_personal_certificate_carries_name_and_title(secretary: pki.SignerIdentity) -> None:
    assert secretary.common_name == "Nguyễn Thị Thư"
    assert secretary.certificate.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Thư ký"


def test_pkcs12_round_trip_keeps_key_certificate_and_chain(test_pki: pki.GeneratedPki, tmp_path: Path) -> None:
    path = tmp_path / "org.p12"
    pki.save_pkcs12(path, test_pki.organisation, "mật khẩu đủ dài")
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = pki.load_pkcs12(path, "mật khẩu đủ dài")
    assert loaded.certificate == test_pki.organisation.certificate
    assert loaded.chain == (test_pki.root.certificate,)
    assert loaded.private_key.private_numbers() == test_pki.organisation.private_key.private_numbers()


def test_pkcs12_is_encrypted_with_modern_algorithms(test_pki: pki.GeneratedPki) -> None:
    data = pki.write_pkcs12(test_pki.organisation, "secret")
    # PBES2 (OID 1.2.840.113549.1.5.13) with AES-256-CBC (2.16.840.1.101.3.4.1.42), not RC2/3DES
    assert bytes.fromhex("06092a864886f70d01050d") in data
    assert bytes.fromhex("060960864801650304012a") in data


@pytest.mark.parametrize("data, passphrase", [
    (None, "wrong passphrase"),
    (b"not a pkcs12 file at all", "secret"),
    (b"", "secret"),
])
def test_unusable_pkcs12_raises_certificate_error_with_one_line_reason(
        test_pki: pki.GeneratedPki, data: bytes | None, passphrase: str) -> None:
    blob = pki.write_pkcs12(test_pki.organisation, "secret") if data is None else data
    with pytest.raises(pki.CertificateError) as err:
        pki.read_pkcs12(blob, passphrase)
    assert "wrong passphrase" in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_pkcs12_file_is_a_certificate_error(tmp_path: Path) -> None:
    with pytest.raises(pki.CertificateError, match="not found"):
        pki.load_pkcs12(tmp_path / "absent.p12", "x")


def test_empty_passphrase_is_refused(test_pki: pki.GeneratedPki) -> None:
    with pytest.raises(pki.CertificateError, match="non-empty passphrase"):
        pki.write_pkcs12(test_pki.organisation, "")


def test_names_longer_than_x520_allows_are_refused(test_pki: pki.GeneratedPki) -> None:
    with pytest.raises(pki.CertificateError, match="1 to 64 characters"):
        pki.issue_organisation_certificate(test_pki.root, "Ủy ban " * 20)


def test_ensure_usable_checks_dates_and_signing_usage(test_pki: pki.GeneratedPki) -> None:
    org = test_pki.organisation
    org.ensure_usable(dt.datetime.now(dt.timezone.utc))
    with pytest.raises(pki.CertificateError, match="expired"):
        org.ensure_usable(org.certificate.not_valid_after_utc + dt.timedelta(days=1))
    with pytest.raises(pki.CertificateError, match="not valid before"):
        org.ensure_usable(org.certificate.not_valid_before_utc - dt.timedelta(days=1))
    with pytest.raises(pki.CertificateError, match="non-repudiation"):
        test_pki.root.ensure_usable(dt.datetime.now(dt.timezone.utc))


def test_trust_roots_load_from_pem_and_der(test_pki: pki.GeneratedPki) -> None:
    pem = pki.certificates_pem([test_pki.root.certificate, test_pki.tsa.certificate])
    assert pki.load_certificates(pem) == [test_pki.root.certificate, test_pki.tsa.certificate]
    der = test_pki.root.certificate.public_bytes(serialization.Encoding.DER)
    assert pki.load_certificates(der) == [test_pki.root.certificate]
    with pytest.raises(pki.CertificateError):
        pki.load_certificates(b"garbage")
