"""The signing client: keys from a PKCS#12 file and from a real (SoftHSM2) PKCS#11 token, and its command line.

No server: ``prepare_external``/``finish_external`` play the server's part.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meetings.signing import client, pades, pki
from meetings.signing.client import load_p12_signer, load_pkcs11_signer
from meetings.signing.external import ExternalRequest, finish_external, prepare_external
from meetings.signing.forms import OfficialSignature
from meetings.signing.verify import Verdict, pdfsig_report, verify_pdf
from tests.signing.conftest import ORG_NAME
from tests.signing.helpers import (
    ec_personal_certificate,
    softhsm_import,
    softhsm_init_token,
    softhsm_module,
    write,
)
from tests.signing.test_forms import FIELDS

TOKEN = "Token Phòng Họp"
PIN = "246810"
SO_PIN = "13579111"


@pytest.fixture(scope="module")
def prepared(document: bytes) -> bytes:
    return pades.prepare_fields(document, FIELDS)


def _sign_with(signer: client.LocalSigner, prepared: bytes, field: str, signing_time: dt.datetime,
               image: bytes | None = None) -> bytes:
    """The whole exchange, minus HTTP: the server prepares, the client signs, the server finishes."""
    certificates = pki.load_certificates(signer.certificates_pem().encode("ascii"))
    appearance = OfficialSignature(signer.common_name, "Thư ký", signing_time, image) if image else None
    request = prepare_external(prepared, field, certificates=certificates, signing_time=signing_time,
                               appearance=appearance)
    return finish_external(request, signer.sign(request.to_sign, request.mechanism))


def _assert_good(pdf: bytes, test_pki: pki.GeneratedPki, tmp_path: Path, signer_name: str) -> None:
    report = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.VALID, report.summary
    assert [s.signer_common_name for s in report.signatures] == [signer_name]
    poppler = [p for p in pdfsig_report(write(tmp_path, "signed.pdf", pdf))["signatures"] if p["signed"]]
    assert [p["signature_validation"] for p in poppler] == ["Signature is Valid."]


# ---- PKCS#12 --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def p12_file(tmp_path_factory: pytest.TempPathFactory, secretary: pki.SignerIdentity) -> Path:
    path = tmp_path_factory.mktemp("p12") / "thu-ky.p12"
    pki.save_pkcs12(path, secretary, "mật khẩu")
    return path


def test_pkcs12_key_signs_what_the_server_prepared(p12_file: Path, prepared: bytes, test_pki: pki.GeneratedPki,
                                                   secretary: pki.SignerIdentity, signing_time: dt.datetime,
                                                   secretary_signature_png: bytes, tmp_path: Path) -> None:
    with load_p12_signer(p12_file, "mật khẩu") as signer:
        sent = pki.load_certificates(signer.certificates_pem().encode("ascii"))
        assert sent == [secretary.certificate, *secretary.chain]
        pdf = _sign_with(signer, prepared, "secretary", signing_time, secretary_signature_png)
    _assert_good(pdf, test_pki, tmp_path, "Nguyễn Thị Thư")


def test_pkcs12_errors_are_one_line_reasons(p12_file: Path, tmp_path: Path) -> None:
    with pytest.raises(pki.CertificateError, match="wrong passphrase"):
        load_p12_signer(p12_file, "sai")
    with pytest.raises(pki.CertificateError, match="not found"):
        load_p12_signer(tmp_path / "missing.p12", "x")
    with load_p12_signer(p12_file, "mật khẩu") as signer:
        with pytest.raises(pki.CertificateError, match="asks for ecdsa"):
            signer.sign(b"data", "ecdsa")
        with pytest.raises(pki.CertificateError, match="unsupported signature mechanism"):
            signer.sign(b"data", "rsassa_pss")


# ---- PKCS#11 with a real software token -----------------------------------------------------------------

@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory, secretary: pki.SignerIdentity,
            test_pki: pki.GeneratedPki) -> Iterator[dict[str, Any]]:
    """One SoftHSM2 token: the secretary's RSA key + certificate, an official's EC key + certificate, the CA."""
    module = softhsm_module()
    work = tmp_path_factory.mktemp("softhsm")
    env = softhsm_init_token(work / "softhsm2.conf", label=TOKEN, pin=PIN, so_pin=SO_PIN)
    official = ec_personal_certificate(test_pki.root, "Lê Văn Ba", organisation=ORG_NAME)
    softhsm_import(env, work, token=TOKEN, pin=PIN, label="Thư ký", key_id="01", identity=secretary)
    softhsm_import(env, work, token=TOKEN, pin=PIN, label="Đại biểu EC", key_id="02", identity=official)
    softhsm_import(env, work, token=TOKEN, pin=PIN, label="CA", key_id="ca", certificate=test_pki.root.certificate)
    # The PKCS#11 module runs in this process and reads its configuration from the environment.
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = env["SOFTHSM2_CONF"]
    try:
        yield {"module": str(module), "official": official}
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def test_rsa_key_on_a_token_signs_and_the_chain_comes_from_the_token(
        softhsm: dict[str, Any], prepared: bytes, test_pki: pki.GeneratedPki, secretary: pki.SignerIdentity,
        signing_time: dt.datetime, secretary_signature_png: bytes, tmp_path: Path) -> None:
    with load_pkcs11_signer(softhsm["module"], TOKEN, "Thư ký", PIN) as signer:
        assert signer.certificates == [secretary.certificate, test_pki.root.certificate]
        pdf = _sign_with(signer, prepared, "secretary", signing_time, secretary_signature_png)
    _assert_good(pdf, test_pki, tmp_path, "Nguyễn Thị Thư")


def test_ec_key_on_a_token_signs_through_plain_ecdsa_and_der_conversion(
        softhsm: dict[str, Any], prepared: bytes, test_pki: pki.GeneratedPki, signing_time: dt.datetime,
        tmp_path: Path) -> None:
    # SoftHSM 2.6 has CKM_ECDSA but not CKM_ECDSA_SHA256: the client hashes, the token signs the digest.
    with load_pkcs11_signer(softhsm["module"], TOKEN, "Đại biểu EC", PIN, cert_label="Đại biểu EC") as signer:
        assert signer.certificate == softhsm["official"].certificate
        pdf = _sign_with(signer, prepared, "chair", signing_time)
    _assert_good(pdf, test_pki, tmp_path, "Lê Văn Ba")


def test_certificate_from_a_file_and_a_mismatched_one_is_caught(
        softhsm: dict[str, Any], secretary: pki.SignerIdentity, chair: pki.SignerIdentity, tmp_path: Path) -> None:
    cert_file = tmp_path / "thu-ky.pem"
    cert_file.write_bytes(pki.certificates_pem([secretary.certificate, *secretary.chain]))
    with load_pkcs11_signer(softhsm["module"], TOKEN, "Thư ký", PIN, cert_file=cert_file) as signer:
        assert len(signer.sign(b"to be signed", "rsassa_pkcs1v15")) == 256
    wrong = tmp_path / "chu-toa.pem"
    wrong.write_bytes(pki.certificates_pem([chair.certificate]))
    with load_pkcs11_signer(softhsm["module"], TOKEN, "Thư ký", PIN, cert_file=wrong) as signer:
        with pytest.raises(pki.CertificateError, match="does not belong to the certificate"):
            signer.sign(b"to be signed", "rsassa_pkcs1v15")


def test_token_errors_are_one_line_reasons(softhsm: dict[str, Any], tmp_path: Path) -> None:
    module = softhsm["module"]
    cases = [
        ((module, TOKEN, "Thư ký", "000000"), {}, "wrong PIN"),
        ((module, "Không có", "Thư ký", PIN), {}, "no token labelled 'Không có'"),
        ((module, TOKEN, "Không có", PIN), {}, "no private key labelled 'Không có'"),
        ((module, TOKEN, "Thư ký", PIN), {"cert_label": "Không có"}, "no certificate labelled"),
        ((str(tmp_path / "nope.so"), TOKEN, "Thư ký", PIN), {}, "cannot load the PKCS#11 library"),
    ]
    for args, kwargs, reason in cases:
        with pytest.raises(pki.CertificateError, match=reason):
            load_pkcs11_signer(*args, **kwargs)


# ---- the command line, against a stand-in for the server -------------------------------------------------

class _Response:
    def __init__(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.status_code = status
        self._body = body
        self.reason = "Conflict" if status == 409 else "OK"
        self.headers = {"Content-Type": content_type}

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


class _FakeServer:
    """The server's side of the contract, in process: login, prepare, finish (the round trip over HTTP is
    tested with the real server)."""

    def __init__(self, pdf: bytes, signing_time: dt.datetime) -> None:
        self.pdf = pdf
        self.signing_time = signing_time
        self.requests: dict[str, str] = {}
        self.calls: list[tuple[str, dict]] = []
        self.refuse_prepare: str | None = None

    def post(self, url: str, *, json: dict, headers: dict, timeout: float) -> _Response:
        path = url.removeprefix("http://phonghop.test")
        self.calls.append((path, headers))
        if path == "/api/v1/auth/login":
            if json != {"username": "thuky", "password": "mật khẩu đăng nhập"}:
                return _Response(401, {"type": "about:blank", "title": "Unauthorized", "status": 401,
                                       "detail": "Sai tên đăng nhập hoặc mật khẩu."})
            return _Response(200, {"token": "t0k3n", "user": {"id": 7}})
        assert headers == {"Authorization": "Bearer t0k3n"}
        if path == "/api/v1/meetings/42/minutes/external-signatures":
            if self.refuse_prepare:
                return _Response(409, {"type": "about:blank", "title": "Conflict", "status": 409,
                                       "detail": self.refuse_prepare})
            certificates = pki.load_certificates(json["certificate_pem"].encode("ascii"))
            request = prepare_external(self.pdf, "secretary", certificates=certificates,
                                       signing_time=self.signing_time)
            self.requests["r1"] = request.to_json()
            return _Response(201, {"request_id": "r1", "field": "secretary",
                                   "to_sign": base64.b64encode(request.to_sign).decode(),
                                   "mechanism": request.mechanism, "digest_algorithm": "sha256"})
        if path == "/api/v1/meetings/42/minutes/external-signatures/r1":
            request = ExternalRequest.from_json(self.requests["r1"])
            try:
                self.pdf = finish_external(request, base64.b64decode(json["signature"]))
            except pades.SigningError as err:
                return _Response(422, {"type": "about:blank", "title": "Unprocessable", "status": 422,
                                       "detail": str(err)})
            return _Response(200, {"signatures": [{"field": "secretary"}], "next_step": "Chủ tọa ký"})
        return _Response(404, None)


def _argv(p12: Path) -> list[str]:
    return ["--server", "http://phonghop.test/", "--username", "thuky", "--password-stdin", "--meeting", "42",
            "--p12", str(p12), "--p12-passphrase-stdin"]


def test_command_line_signs_with_a_pkcs12_file(p12_file: Path, prepared: bytes, test_pki: pki.GeneratedPki,
                                               signing_time: dt.datetime, tmp_path: Path) -> None:
    server = _FakeServer(prepared, signing_time)
    out, err = io.StringIO(), io.StringIO()
    status = client.run(_argv(p12_file), stdin=io.StringIO("mật khẩu đăng nhập\nmật khẩu\n"), session=server,
                        stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    assert "Đang chuẩn bị chữ ký…" in out.getvalue()
    assert "Đã ký: secretary" in out.getvalue() and "Bước tiếp theo: Chủ tọa ký" in out.getvalue()
    _assert_good(server.pdf, test_pki, tmp_path, "Nguyễn Thị Thư")


def test_command_line_signs_with_a_token(softhsm: dict[str, Any], prepared: bytes, test_pki: pki.GeneratedPki,
                                         signing_time: dt.datetime, tmp_path: Path) -> None:
    server = _FakeServer(prepared, signing_time)
    argv = ["--server", "http://phonghop.test", "--username", "thuky", "--password-stdin", "--meeting", "42",
            "--pkcs11-lib", softhsm["module"], "--token-label", TOKEN, "--key-label", "Thư ký", "--pin-stdin"]
    out, err = io.StringIO(), io.StringIO()
    status = client.run(argv, stdin=io.StringIO(f"mật khẩu đăng nhập\n{PIN}\n"), session=server, stdout=out,
                        stderr=err)
    assert status == 0, err.getvalue()
    _assert_good(server.pdf, test_pki, tmp_path, "Nguyễn Thị Thư")


def test_command_line_prints_the_servers_reason_and_exits_1(p12_file: Path, prepared: bytes,
                                                            signing_time: dt.datetime) -> None:
    server = _FakeServer(prepared, signing_time)
    server.refuse_prepare = "Biên bản chưa\nđược chốt."
    err = io.StringIO()
    status = client.run(_argv(p12_file), stdin=io.StringIO("mật khẩu đăng nhập\nmật khẩu\n"), session=server,
                        stdout=io.StringIO(), stderr=err)
    assert status == 1
    assert err.getvalue() == "Lỗi: Biên bản chưa được chốt.\n"

    err = io.StringIO()
    status = client.run(_argv(p12_file), stdin=io.StringIO("sai\nmật khẩu\n"), session=server,
                        stdout=io.StringIO(), stderr=err)
    assert (status, err.getvalue()) == (1, "Lỗi: Sai tên đăng nhập hoặc mật khẩu.\n")

    server = _FakeServer(prepared, signing_time)
    err = io.StringIO()
    status = client.run(_argv(p12_file), stdin=io.StringIO("mật khẩu đăng nhập\nsai\n"), session=server,
                        stdout=io.StringIO(), stderr=err)
    assert status == 1 and "wrong passphrase" in err.getvalue()
    assert server.calls == [], "the key is opened before anything is sent"


def test_command_line_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], p12_file: Path) -> None:
    assert client.run(["--server", "x"]) == 2
    both = [*_argv(p12_file), "--pkcs11-lib", "/x.so"]
    assert client.run(both) == 2
    capsys.readouterr()
