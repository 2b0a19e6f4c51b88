"""The body's signing identity: ORG_P12_PATH/ORG_P12_PASSPHRASE, or a test PKI made in DATA_DIR.

Without ORG_P12_PATH the installation makes its own test CA and organisation certificate once (the demo and
the tests use it); documents then verify as signed but not trusted by anyone else's roots, which the
verification page says plainly.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from flask import Flask, current_app

from meetings.signing.pki import (CertificateError, SignerIdentity, certificates_pem, create_test_pki,
                                  load_certificates, load_pkcs12, save_pkcs12)

TEST_ORGANISATION = "Phòng Họp – chứng thư thử nghiệm"


@dataclass(frozen=True)
class OrgSigner:
    identity: SignerIdentity
    trust_roots: list[x509.Certificate]
    is_test: bool


def _test_pki(data_dir: Path) -> OrgSigner:
    folder = data_dir / "pki"
    p12, secret, roots = folder / "organisation.p12", folder / "passphrase", folder / "roots.pem"
    if not p12.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        pki = create_test_pki(TEST_ORGANISATION)
        passphrase = secrets.token_urlsafe(24)
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(passphrase)
        roots.write_bytes(certificates_pem(pki.trust_roots))
        save_pkcs12(folder / "root.p12", pki.root, passphrase)  # issues the demo's personal certificates
        save_pkcs12(p12, pki.organisation, passphrase)
    identity = load_pkcs12(p12, secret.read_text().strip())
    return OrgSigner(identity, load_certificates(roots.read_bytes()), is_test=True)


def load_org_signer(app: Flask) -> OrgSigner:
    """Load once per process; raises CertificateError with a one-line reason (start-up reports it)."""
    cached = app.extensions.get("org_signer")
    if cached is not None:
        return cached
    path, passphrase = app.config["ORG_P12_PATH"], app.config["ORG_P12_PASSPHRASE"]
    if path:
        if not passphrase:
            raise CertificateError("ORG_P12_PATH is set but ORG_P12_PASSPHRASE is not")
        identity = load_pkcs12(Path(path), passphrase)
        roots_path = app.config["TRUST_ROOTS_PATH"]
        roots = load_certificates(Path(roots_path).read_bytes()) if roots_path else \
            [identity.chain[-1] if identity.chain else identity.certificate]
        signer = OrgSigner(identity, roots, is_test=False)
    else:
        signer = _test_pki(Path(app.config["DATA_DIR"]))
    app.extensions["org_signer"] = signer
    return signer


def org_signer() -> OrgSigner:
    return load_org_signer(current_app)


def test_root_ca(app: Flask) -> SignerIdentity | None:
    """The test PKI's root (demo and tests issue the officials' personal certificates with it), if this
    installation runs on the test PKI."""
    folder = Path(app.config["DATA_DIR"]) / "pki"
    if app.config["ORG_P12_PATH"] or not (folder / "root.p12").exists():
        return None
    return load_pkcs12(folder / "root.p12", (folder / "passphrase").read_text().strip())
