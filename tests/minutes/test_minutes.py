"""The minutes from draft to archive, on SQLite and PostgreSQL: what they say, who signs when, what is detected."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import sqlalchemy as sa

from meetings.core.audit import AuditEntry, verify_audit_chain
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import begin_write, commit
from meetings.documents.operations import blob_store
from meetings.documents.org_signer import org_signer
from meetings.extensions import db
from meetings.meeting.operations import transition_meeting, update_meeting
from meetings.meeting.schemas import MeetingPatch
from meetings.minutes import operations as ops
from meetings.minutes.archive import verify_archive
from meetings.minutes.archiving import build_meeting_archive, check_meeting, signed_record
from meetings.signing.verify import Verdict, pdfsig_report, verify_pdf
from meetings.voting.models import Ballot
from tests.fixtures.factories import assert_refused, audit_actions, event_log
from tests.minutes.conftest import PASSPHRASE


def _save(held, item, field, text, version, actor=None):
    saved = ops.save_draft(held.meeting.id, agenda_item_id=item, field=field, text=text, base_version=version,
                           actor=actor or held.world.secretary)
    commit()
    return saved


def _finalize(held):
    m = ops.finalize_minutes(held.meeting.id, actor=held.world.secretary)
    commit()
    return m


def _pdf(held) -> bytes:
    sha, _minutes = ops.minutes_pdf(held.meeting.id, actor=held.world.secretary)
    with blob_store().open(sha) as fh:
        return fh.read()


def _sign_all(held, credential_for):
    w = held.world
    credential_for(w.secretary)
    credential_for(w.chair)
    ops.sign_minutes(held.meeting.id, actor=w.secretary, passphrase=PASSPHRASE)
    commit()
    ops.sign_minutes(held.meeting.id, actor=w.chair, passphrase=PASSPHRASE)
    commit()
    ops.sign_minutes(held.meeting.id, actor=w.secretary, step="seal")
    commit()


# --- the draft ----------------------------------------------------------------------------------------------

def test_draft_autosaves_with_history_and_refuses_a_stale_version(held):
    w = held.world
    item = held.items[0].id
    saved = _save(held, item, "notes", "Ý kiến thứ nhất", 0)
    assert saved.version == 1
    _save(held, item, "notes", "Ý kiến thứ nhất; ý kiến thứ hai", 1)
    err = assert_refused(Conflict, ops.save_draft, held.meeting.id, agenda_item_id=item, field="conclusions",
                         text="Bản cũ", base_version=1, actor=w.secretary)
    assert err.extra["current"]["notes"] == "Ý kiến thứ nhất; ý kiến thứ hai" and err.extra["version"] == 2
    history = ops.revisions(held.meeting.id, actor=w.chair, agenda_item_id=item)
    assert [(r["field"], r["version"], r["by"]) for r in history] == [("notes", 2, "Thư ký"), ("notes", 1, "Thư ký")]
    assert [e.type for e in event_log(held.meeting.id)].count("minutes.updated") == 2
    view = ops.minutes_view(held.meeting.id, actor=w.chair)
    assert view["items"][0]["notes"] == "Ý kiến thứ nhất; ý kiến thứ hai" and not view["editable"]


def test_only_the_secretary_writes_and_delegates_do_not_read_the_draft(held):
    w = held.world
    assert_refused(Forbidden, ops.save_draft, held.meeting.id, agenda_item_id=held.items[0].id, field="notes",
                   text="x", base_version=0, actor=w.chair)
    assert_refused(Forbidden, ops.minutes_view, held.meeting.id, actor=w.delegate)
    assert_refused(NotFound, ops.save_draft, held.meeting.id, agenda_item_id=999999, field="notes", text="x",
                   base_version=0, actor=w.secretary)
    assert_refused(Unprocessable, ops.save_draft, held.meeting.id, agenda_item_id=None, field="notes", text="x",
                   base_version=0, actor=w.secretary)


def test_a_closed_meeting_is_read_only_except_for_the_minutes_signatures(held):
    held.hold()
    assert held.meeting.state == "closed"
    assert_refused(Conflict, ops.save_draft, held.meeting.id, agenda_item_id=held.items[0].id, field="notes",
                   text="muộn", base_version=0, actor=held.world.secretary)
    assert_refused(Conflict, update_meeting, held.meeting.id, MeetingPatch(title="Đổi tên"), actor=held.world.secretary)


# --- finalizing ---------------------------------------------------------------------------------------------

def test_the_record_matches_the_meeting(held):
    w = held.world
    # Notes are written while the meeting runs: hold it step by step up to adjournment, then write, then close.
    held.script.commit_every_step = True
    _save(held, held.items[0].id, "notes", "Đại biểu thảo luận về danh mục dự án.", 0)
    _save(held, held.items[0].id, "conclusions", "Thống nhất thông qua danh mục.\nGiao UBND tỉnh triển khai.", 1)
    _save(held, None, "number", "08/BB-HĐND", 0)
    held.hold()
    assert_refused(Conflict, ops.sign_minutes, held.meeting.id, actor=w.secretary, passphrase=PASSPHRASE)
    assert_refused(Forbidden, ops.finalize_minutes, held.meeting.id, actor=w.chair)
    _finalize(held)
    pdf = _pdf(held)
    record = signed_record(pdf)
    assert record is not None and record["meeting"]["minutes_number"] == "08/BB-HĐND"
    morning = record["sessions"][0]
    status = {r["full_name"]: (r["status"], r["note"]) for r in morning["rows"]}
    assert status["Đại biểu A"][0] == "present" and status["Chủ tọa"][0] == "present"
    assert status["Đại biểu B"] == ("absent_excused", "Đi công tác")
    assert "Khách mời" not in status  # guests are not members
    assert morning["summary"]["present"] == 2 and morning["summary"]["absent_excused"] == 1
    first, second = record["agenda"][0], record["agenda"][1]
    assert first["conclusions"] == "Thống nhất thông qua danh mục.\nGiao UBND tỉnh triển khai."
    assert [s["full_name"] for s in first["speakers"]] == ["Đại biểu A"]
    named = first["polls"][0]
    options = {o["choice"]: o for o in named["options"]}
    assert options["yes"]["names"] == ["Chủ tọa"] and options["no"]["names"] == ["Đại biểu A"]
    assert (named["cast"], named["passed"], named["verdict_label"]) == (2, False, "Không thông qua")
    secret = second["polls"][0]
    assert secret["secret"] and {o["choice"]: o["count"] for o in secret["options"]} == {"yes": 2, "no": 0, "abstain": 0}
    assert all(o["names"] == [] for o in secret["options"])  # counts only
    head = record["audit_head"]
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.chain == f"meeting:{held.meeting.id}",
                                                           AuditEntry.idx == head["length"])).scalar_one()
    assert entry.hash == head["hash"]
    assert audit_actions(held.meeting.id)[-1] == "minutes.finalize"
    report = verify_pdf(pdf, trust_roots=org_signer().trust_roots)
    assert report.signatures == () and set(report.unsigned_fields) == {"secretary", "chair", "seal"}
    assert_refused(Conflict, ops.finalize_minutes, held.meeting.id, actor=w.secretary)


# --- signing ------------------------------------------------------------------------------------------------

def test_signatures_in_order_by_the_right_people(held, credential_for, tmp_path):
    w = held.world
    held.hold()
    _finalize(held)
    credential_for(w.secretary)
    credential_for(w.chair)
    # The chair cannot go first, a delegate never signs, the seal waits for both officials.
    err = assert_refused(Conflict, ops.sign_minutes, held.meeting.id, actor=w.chair, passphrase=PASSPHRASE)
    assert err.extra["next_step"] == "secretary"
    assert_refused(Forbidden, ops.sign_minutes, held.meeting.id, actor=w.delegate, passphrase=PASSPHRASE)
    assert_refused(Forbidden, ops.sign_minutes, held.meeting.id, actor=w.chair, step="secretary",
                   passphrase=PASSPHRASE)
    assert_refused(Conflict, ops.sign_minutes, held.meeting.id, actor=w.secretary, step="seal")
    assert_refused(Unprocessable, ops.sign_minutes, held.meeting.id, actor=w.secretary, passphrase="sai")
    ops.sign_minutes(held.meeting.id, actor=w.secretary, passphrase=PASSPHRASE)
    commit()
    assert_refused(Conflict, ops.sign_minutes, held.meeting.id, actor=w.secretary, step="secretary",
                   passphrase=PASSPHRASE)
    assert_refused(Forbidden, ops.sign_minutes, held.meeting.id, actor=w.chair, step="seal")
    ops.sign_minutes(held.meeting.id, actor=w.chair, passphrase=PASSPHRASE)
    commit()
    ops.sign_minutes(held.meeting.id, actor=w.secretary, step="seal")
    commit()
    assert_refused(Conflict, ops.sign_minutes, held.meeting.id, actor=w.secretary, step="seal")

    pdf = _pdf(held)
    report = verify_pdf(pdf, trust_roots=org_signer().trust_roots)
    assert [s.field for s in report.signatures] == ["secretary", "chair", "seal"]
    assert all(s.verdict == Verdict.VALID for s in report.signatures), [s.summary for s in report.signatures]
    path = tmp_path / "bien-ban.pdf"
    path.write_bytes(pdf)
    poppler = pdfsig_report(path)
    sigs = poppler["signatures"]
    assert len(sigs) == 3 and all(s["valid"] for s in sigs), poppler["output"]
    assert sigs[-1]["total_document_signed"] is True
    signed = [e for e in event_log(held.meeting.id) if e.type == "minutes.signed"]
    assert [e.payload["step"] for e in signed] == ["secretary", "chair", "seal"]
    assert signed[-1].payload["state"] == "signed" and signed[-1].payload["next_step"] is None
    assert ops.minutes_view(held.meeting.id, actor=w.secretary)["can_archive"]


# --- archive ------------------------------------------------------------------------------------------------

def _archive(held):
    transition_meeting(held.meeting.id, "archive", actor=held.world.secretary)
    commit()


def test_archiving_needs_every_signature_then_the_zip_verifies_and_tampering_is_named(held, credential_for):
    w = held.world
    held.hold()
    _finalize(held)
    assert_refused(Conflict, transition_meeting, held.meeting.id, "archive", actor=w.secretary)
    _sign_all(held, credential_for)
    _archive(held)
    assert held.meeting.state == "archived"

    data, name = build_meeting_archive(held.meeting.id, actor=w.delegate)
    assert name.endswith(".zip")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "manifest.json" in names and "minutes/bien-ban.pdf" in names and "audit/audit.jsonl" in names
    report = verify_archive(data, trust_roots=org_signer().trust_roots)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert check_meeting(held.meeting.id, actor=w.secretary)["ok"]

    # The database changed after archiving: a ballot, then an audit entry — each is found and named.
    begin_write()
    ballot = next(b for b in db.session.execute(sa.select(Ballot).where(Ballot.poll_id == held.named.id)).scalars()
                  if b.choices == ["no"])
    ballot.choices = ["yes"]
    commit()
    failed = {c["name"]: c["detail"] for c in check_meeting(held.meeting.id, actor=w.secretary)["checks"] if not c["ok"]}
    assert list(failed) == ["record"] and "polls[0].options" in failed["record"]
    begin_write()
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.chain == f"meeting:{held.meeting.id}",
                                                           AuditEntry.idx == 3)).scalar_one()
    entry.data = {**entry.data, "forged": True}
    commit()
    failed = {c["name"]: c["detail"] for c in check_meeting(held.meeting.id, actor=w.secretary)["checks"] if not c["ok"]}
    assert "audit.chain" in failed and "3" in failed["audit.chain"]
    assert not verify_audit_chain(held.meeting.id).ok


def test_the_archive_api_and_the_offline_verifier(held, credential_for, client, token_for, runner, tmp_path):
    w = held.world
    held.hold()
    _finalize(held)
    _sign_all(held, credential_for)
    headers = token_for(w.secretary)
    assert client.get(f"/api/v1/meetings/{held.meeting.id}/archive", headers=headers).status_code == 409
    resp = client.post(f"/api/v1/meetings/{held.meeting.id}/transitions", json={"action": "archive"}, headers=headers)
    assert resp.status_code == 200, resp.json
    resp = client.get(f"/api/v1/meetings/{held.meeting.id}/archive", headers=token_for(w.delegate))
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    path = tmp_path / "archive.zip"
    path.write_bytes(resp.data)
    result = runner.invoke(args=["verify-archive", str(path)])
    assert result.exit_code == 0, result.output
    assert "nguyên vẹn" in result.output
    # Change one document inside the ZIP (and its manifest line, as a forger would): named by the verifier.
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        manifest = json.loads(src.read("manifest.json"))
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "audit/audit.jsonl":
                lines = content.splitlines(keepends=True)
                content = b"".join(lines[:2] + lines[3:])  # one audit line removed
                for f in manifest["files"]:
                    if f["path"] == info.filename:
                        f["sha256"], f["size"] = hashlib.sha256(content).hexdigest(), len(content)
            if info.filename == "manifest.json":
                continue
            dst.writestr(info.filename, content)
        dst.writestr("manifest.json", json.dumps(manifest))
    result = runner.invoke(args=["verify-archive", str(tampered)])
    assert result.exit_code == 1
    assert "✗" in result.output and "3" in result.output, result.output
    for args in (["verify-archive", str(tmp_path / "missing.zip")],
                 ["verify-archive", str(path), "--trust-roots", str(tmp_path)],  # a folder: unreadable as a file
                 ["verify-archive", str(path), "--trust-roots", str(path)]):  # not certificates
        result = runner.invoke(args=args)
        assert result.exit_code == 2 and "error" in result.output.lower() and "Traceback" not in result.output, \
            result.output
    check = client.get(f"/api/v1/meetings/{held.meeting.id}/archive/verification", headers=headers)
    assert check.status_code == 200 and check.json["ok"] is True


def test_archived_meetings_are_searchable_without_diacritics(held, credential_for):
    from meetings.search.operations import search

    held.hold()
    _finalize(held)
    _sign_all(held, credential_for)
    _archive(held)
    found = search("dau tu cong", actor=held.world.delegate)
    assert found["total"] >= 1 and found["items"][0]["meeting_id"] == held.meeting.id
    assert search("bien ban", actor=held.world.delegate)["total"] >= 1
    assert search("dau tu cong", actor=held.world.outsider)["total"] == 0


def test_a_device_certificate_from_an_untrusted_authority_is_refused(held, test_ca):
    from meetings.signing.pki import certificates_pem, create_root_ca, issue_personal_certificate

    held.hold()
    _finalize(held)
    stranger_ca = create_root_ca("CA lạ")
    foreign = issue_personal_certificate(stranger_ca, held.world.secretary.full_name, organisation="HĐND tỉnh")
    err = assert_refused(Unprocessable, ops.start_external_signature, held.meeting.id, actor=held.world.secretary,
                         certificate_pem=certificates_pem([foreign.certificate, stranger_ca.certificate]).decode())
    assert "không" in err.detail or "not" in err.detail
    trusted = issue_personal_certificate(test_ca, held.world.secretary.full_name, organisation="HĐND tỉnh")
    req, prepared = ops.start_external_signature(held.meeting.id, actor=held.world.secretary,
                                                 certificate_pem=certificates_pem([trusted.certificate]).decode())
    assert req.step == "secretary" and prepared.to_sign


def test_uploads_of_certificates_and_seals_refuse_bad_files_and_write_nothing(world, client, token_for, test_ca):
    """PUT /me/signing-credential and PUT /bodies/{id}/seal: every broken upload is a 4xx that says what is wrong."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from meetings.signing.images import demo_seal_png
    from meetings.signing.pki import issue_personal_certificate, write_pkcs12
    from tests.fixtures.factories import row_counts

    headers, delegate_headers = token_for(world.secretary), token_for(world.delegate)
    p12 = write_pkcs12(issue_personal_certificate(test_ca, world.secretary.full_name, organisation="HĐND tỉnh"),
                       "dung-mat-khau")
    before = row_counts()

    def credential(**files_and_fields):
        data = {k: (io.BytesIO(v), f"{k}.bin") if isinstance(v, bytes) else v for k, v in files_and_fields.items()}
        return client.put("/api/v1/me/signing-credential", headers=headers, data=data,
                          content_type="multipart/form-data")

    for resp, status in ((credential(passphrase="x"), 400),  # no file
                         (credential(file=b"", passphrase="x"), 400),
                         (credential(file=b"\x00" * 200_001, passphrase="x"), 413),
                         (credential(file=b"not a pkcs12 file", passphrase="x"), 422),
                         (credential(file=p12, passphrase="sai-mat-khau"), 422),
                         (credential(file=p12, passphrase="x" * 1001), 400),
                         (credential(file=p12, passphrase="dung-mat-khau", signature_image=b"GIF89a..."), 422)):
        assert resp.status_code == status and resp.json["detail"], (status, resp.status_code, resp.json)

    def seal(body_id, png, as_delegate=False):
        # Encoded in memory: the test client would spool a 2 MB body to a temp file it never closes.
        boundary, body = encode_multipart({} if png is None else {"file": FileStorage(io.BytesIO(png), "seal.png")})
        return client.put(f"/api/v1/bodies/{body_id}/seal", headers=delegate_headers if as_delegate else headers,
                          data=body, content_type=f"multipart/form-data; boundary={boundary}")

    good = demo_seal_png("HĐND tỉnh")
    for resp, status in ((seal(world.body.id, None), 400), (seal(world.body.id, b"\x89PNG broken"), 422),
                         (seal(world.body.id, b"\x00" * 2_000_001), 413), (seal(2**31 - 1, good), 404),
                         (seal(world.body.id, good, as_delegate=True), 403)):
        assert resp.status_code == status and resp.json["detail"], (status, resp.status_code, resp.json)
    assert row_counts() == before
    assert credential(file=p12, passphrase="dung-mat-khau").status_code == 200  # and the good ones go in
    assert seal(world.body.id, good).status_code == 204
