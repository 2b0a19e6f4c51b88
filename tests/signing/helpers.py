"""Helpers for the signing tests: poppler tools, the tampering an attacker would do, and keys on a SoftHSM2 token."""
from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from meetings.signing import pki


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def render_page_png(pdf_path: Path, out_prefix: Path, *, dpi: int, page: int = 1) -> Path:
    """One page as PNG via poppler, the same renderer as many Linux viewers."""
    assert shutil.which("pdftoppm"), "poppler-utils (pdftoppm) is required"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-png",
                    str(pdf_path),
                    str(out_prefix)], check=True, capture_output=True, timeout=60)
    return out_prefix.with_suffix(".png")


def pdftotext(pdf_path: Path, *extra: str) -> str:
    proc = subprocess.run(["pdftotext", *extra, "-f", "1", "-l", "1", str(pdf_path), "-"], check=True,
                          capture_output=True, timeout=60)
    return proc.stdout.decode("utf-8")



def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf))


def _finish(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def replace_page_content(pdf: bytes, content: bytes, *, page: int = 0) -> bytes:
    """Append a revision in which page ``page`` draws ``content`` instead of what was signed."""
    writer = _writer(pdf)
    page_ref = writer.find_page_for_modification(page)[0]
    page_obj = page_ref.get_object()
    page_obj["/Contents"] = writer.add_object(generic.StreamObject(stream_data=content))
    writer.update_container(page_obj)
    return _finish(writer)


def append_page(pdf: bytes) -> bytes:
    """Append a revision that adds a (blank but real) page after the signed ones."""
    writer = _writer(pdf)
    pages = writer.root["/Pages"]
    new_page = generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/Parent"): writer.root.raw_get("/Pages"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        generic.pdf_name("/Contents"): writer.add_object(generic.StreamObject(
            stream_data=b"BT /Helvetica 24 Tf 72 700 Td (Added after signing) Tj ET")),
    })
    pages["/Kids"].append(writer.add_object(new_page))
    pages["/Count"] = generic.NumberObject(int(pages["/Count"]) + 1)
    writer.update_container(pages)
    return _finish(writer)


def strip_signature_value(pdf: bytes) -> bytes:
    """Append a revision in which every signature field has lost its /V (the signature dictionary)."""
    writer = _writer(pdf)
    for field_ref in writer.root["/AcroForm"]["/Fields"]:
        field = field_ref.get_object()
        if "/V" in field:
            del field["/V"]
            writer.update_container(field)
    return _finish(writer)


def flip_byte_in_signed_range(pdf: bytes) -> bytes:
    """Change one byte the PDF parser ignores (the binary comment after the header) but the hash covers."""
    marker = pdf.index(b"\n", 0) + 1  # start of the line after %PDF-x.y
    assert pdf[marker:marker + 1] == b"%", "expected pikepdf's binary comment line"
    data = bytearray(pdf)
    data[marker + 1] ^= 0x01
    return bytes(data)


# ---- certificates the test PKI does not issue, and a software token --------------------------------------

def ec_personal_certificate(ca: pki.SignerIdentity, full_name: str, *, organisation: str,
                            now: dt.datetime | None = None, days: int = 30) -> pki.SignerIdentity:
    """A signing official's certificate with an ECDSA P-256 key (what some Vietnamese tokens carry)."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                         x509.NameAttribute(NameOID.COMMON_NAME, full_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.certificate.public_key()),
                       critical=False)
        .sign(ca.private_key, hashes.SHA256())
    )
    return pki.SignerIdentity(private_key=key, certificate=cert, chain=(ca.certificate, *ca.chain))


SOFTHSM_MODULES = (Path("/usr/lib/softhsm/libsofthsm2.so"),
                   Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
                   Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"))


def softhsm_module() -> Path:
    """The SoftHSM2 PKCS#11 module (Debian: ``dpkg -L libsofthsm2``); fails the test, never skips it."""
    for tool in ("softhsm2-util", "pkcs11-tool"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed: install Debian's softhsm2 and opensc (scripts/dev.sh does)")
    for path in SOFTHSM_MODULES:
        if path.is_file():
            return path
    pytest.fail("the SoftHSM2 PKCS#11 module (libsofthsm2.so) is missing: install Debian's softhsm2")


def _run(*cmd: str, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:2])} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()}")


def softhsm_init_token(conf: Path, *, label: str, pin: str, so_pin: str) -> dict[str, str]:
    """A fresh token in ``conf``'s directory; returns the environment that points SoftHSM at it."""
    token_dir = conf.parent / "tokens"
    token_dir.mkdir(parents=True, exist_ok=True)
    conf.write_text(f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    _run("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin, env=env)
    return env


def softhsm_import(env: dict[str, str], work: Path, *, token: str, pin: str, label: str, key_id: str,
                   identity: pki.SignerIdentity | None = None, certificate: x509.Certificate | None = None) -> None:
    """Put a private key (PKCS#8 PEM, via softhsm2-util) and/or a certificate (via pkcs11-tool) on the token."""
    module = str(softhsm_module())
    if identity is not None:
        key_pem = work / f"{key_id}-key.pem"
        key_pem.write_bytes(identity.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        _run("softhsm2-util", "--import", str(key_pem), "--token", token, "--label", label, "--id", key_id,
             "--pin", pin, env=env)
        key_pem.unlink()
        certificate = certificate or identity.certificate
    if certificate is not None:
        cert_der = work / f"{key_id}-cert.der"
        cert_der.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
        _run("pkcs11-tool", "--module", module, "--token-label", token, "--login", "--pin", pin,
             "--write-object", str(cert_der), "--type", "cert", "--id", key_id, "--label", label, env=env)
