"""Signing the minutes with a key that never reaches the server: the signing client (its real command line)
against a real server process — the secretary with a PKCS#12 file, the chair with a PKCS#11 token (SoftHSM2) —
then the seal on the server; every signature valid for our verifier and for poppler."""
from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from meetings.auth.operations import update_user
from meetings.auth.schemas import UserPatch
from meetings.core.tx import commit
from meetings.documents.operations import blob_store
from meetings.documents.org_signer import org_signer
from meetings.extensions import db
from meetings.minutes import operations as ops
from meetings.minutes.models import Minutes, MinutesSignature
from meetings.signing.pki import issue_personal_certificate, write_pkcs12
from meetings.signing.verify import Verdict, pdfsig_report, verify_pdf
from tests.signing.helpers import softhsm_import, softhsm_init_token, softhsm_module

LOGIN = "mật-khẩu-đăng-nhập"
P12_PASSPHRASE = "p12-pass"
PIN = "123456"


def _client(server, username: str, meeting_id: int, key_args: list[str], stdin: str, env=None):
    return subprocess.run([sys.executable, "-m", "meetings.signing.client", "--server", server.url,
                           "--username", username, "--password-stdin", "--meeting", str(meeting_id), *key_args],
                          input=stdin, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("backend", ["sqlite"])  # a server process shares the test's SQLite file
def test_officials_sign_on_their_own_devices_with_the_client(backend, app, held, test_ca, start_server, tmp_path):
    w = held.world
    held.hold()
    ops.finalize_minutes(held.meeting.id, actor=w.secretary)
    commit()
    for user in (w.secretary, w.chair):
        update_user(user, UserPatch(password=LOGIN), actor=user)
    commit()
    secretary_id = issue_personal_certificate(test_ca, w.secretary.full_name, organisation="HĐND tỉnh")
    p12 = tmp_path / "thu-ky.p12"
    p12.write_bytes(write_pkcs12(secretary_id, P12_PASSPHRASE))
    chair_id = issue_personal_certificate(test_ca, w.chair.full_name, organisation="HĐND tỉnh")
    env = softhsm_init_token(tmp_path / "softhsm" / "softhsm2.conf", label="chutoa", pin=PIN, so_pin="654321")
    softhsm_import(env, tmp_path, token="chutoa", pin=PIN, label="ky-so", key_id="01", identity=chair_id)
    server = start_server({"SECRET_KEY": "test"})  # the test's DATA_DIR: its database and blobs
    token_args = ["--pkcs11-lib", str(softhsm_module()), "--token-label", "chutoa", "--key-label", "ky-so",
                  "--pin-stdin"]

    # The chair's device cannot go first: the server refuses, the client says why, nothing is signed.
    early = _client(server, w.chair.username, held.meeting.id, token_args, f"{LOGIN}\n{PIN}\n", env=env)
    assert early.returncode == 1 and "Chưa đến lượt bạn: thư ký ký trước" in early.stderr, early.stderr

    done = _client(server, w.secretary.username, held.meeting.id, ["--p12", str(p12), "--p12-passphrase-stdin"],
                   f"{LOGIN}\n{P12_PASSPHRASE}\n")
    assert done.returncode == 0, done.stdout + done.stderr
    done = _client(server, w.chair.username, held.meeting.id, token_args, f"{LOGIN}\n{PIN}\n", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    server.stop()

    db.session.rollback()
    rows = db.session.execute(sa.select(MinutesSignature).where(MinutesSignature.meeting_id == held.meeting.id)
                              .order_by(MinutesSignature.id)).scalars().all()
    assert [(r.step, r.method) for r in rows] == [("secretary", "external"), ("chair", "external")]
    ops.sign_minutes(held.meeting.id, actor=w.secretary, step="seal")
    commit()
    minutes = db.session.get(Minutes, held.meeting.id)
    with blob_store().open(minutes.pdf_sha256) as fh:
        pdf = fh.read()
    report = verify_pdf(pdf, trust_roots=org_signer().trust_roots)
    assert [(s.field, s.verdict, s.signer_common_name) for s in report.signatures] == [
        ("secretary", Verdict.VALID, w.secretary.full_name), ("chair", Verdict.VALID, w.chair.full_name),
        ("seal", Verdict.VALID, org_signer().identity.common_name)]
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(pdf)
    poppler = pdfsig_report(path)
    assert [s["valid"] for s in poppler["signatures"]] == [True, True, True], poppler["output"]
    assert poppler["signatures"][-1]["total_document_signed"] is True
