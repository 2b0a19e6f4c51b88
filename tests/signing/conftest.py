"""Signing fixtures: one PKI per test session (key generation is the slow part), documents made here."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from meetings.signing import pades, pki
from tests.signing.pdfgen import sample_pdf

ORG_NAME = "Hội đồng nhân dân tỉnh Hòa Bình"
DOC_NUMBER = "12/NQ-HĐND"


@pytest.fixture(scope="session")
def test_pki() -> pki.GeneratedPki:
    return pki.create_test_pki(ORG_NAME, province="Hòa Bình")


@pytest.fixture(scope="session")
def rogue_pki() -> pki.GeneratedPki:
    """A CA nobody configured as trusted, issuing a certificate with the very same name."""
    return pki.create_test_pki(ORG_NAME)


@pytest.fixture(scope="session")
def secretary(test_pki: pki.GeneratedPki) -> pki.SignerIdentity:
    return pki.issue_personal_certificate(test_pki.root, "Nguyễn Thị Thư", organisation=ORG_NAME, title="Thư ký")


@pytest.fixture(scope="session")
def chair(test_pki: pki.GeneratedPki) -> pki.SignerIdentity:
    return pki.issue_personal_certificate(test_pki.root, "Trần Văn Chủ", organisation=ORG_NAME,
                                          title="Chủ tọa")


@pytest.fixture(scope="session")
def signing_time() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="session")
def document() -> bytes:
    return sample_pdf(pages=2)


@pytest.fixture(scope="session")
def signed(document: bytes, test_pki: pki.GeneratedPki, signing_time: dt.datetime) -> bytes:
    return pades.sign_document(document, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=DOC_NUMBER,
                               signing_time=signing_time)


@pytest.fixture(scope="session")
def signing_output(output_dir: Path) -> Path:
    path = output_dir / "signing"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def secretary_signature_png() -> bytes:
    from meetings.signing.images import demo_signature_png

    return demo_signature_png("Nguyễn Thị Thư", seed=1)


@pytest.fixture(scope="session")
def chair_signature_png() -> bytes:
    from meetings.signing.images import demo_signature_png

    return demo_signature_png("Trần Văn Chủ", seed=2)


@pytest.fixture(scope="session")
def seal_png() -> bytes:
    from meetings.signing.images import demo_seal_png

    return demo_seal_png(ORG_NAME)
