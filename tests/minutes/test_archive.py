"""The meeting archive (meetings.minutes.archive): built from real signed PDFs and a real audit chain, then
tampered with in every way an archive can be — each change must be found and named."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import string
import time
import warnings
import zipfile
from dataclasses import dataclass, replace
from typing import Callable

import pikepdf
import pytest

from meetings.core.chain import GENESIS, canonical_json, entry_hash
from meetings.documents.textpdf import make_pdf
from meetings.minutes import archive
from meetings.minutes.archive import (
    FORMAT,
    ArchiveFile,
    ArchiveReport,
    audit_lines,
    build_archive,
    format_report,
    verify_archive,
)
from meetings.signing import pades, pki, verify
from meetings.signing.verify import verify_pdf
from tests.signing.helpers import flip_byte_in_signed_range, replace_page_content

ORG_NAME = "Hội đồng nhân dân tỉnh Hòa Bình"
MEETING_ID = 7
HEAD_AT = 12
SIGNERS = ("secretary", "chair", "seal")
FIELDS = [
    pades.FieldSpec("secretary", page=-1, box=(60, 80, 220, 150), label="Thư ký"),
    pades.FieldSpec("chair", page=-1, box=(230, 80, 390, 150), label="Chủ tọa"),
    pades.FieldSpec("seal", page=-1, box=(400, 80, 560, 150), label="Cơ quan"),
]
DOC_A = "documents/12-v2-to-trinh.pdf"
DOC_B = "documents/15-v1-du-thao-nghi-quyet.pdf"
ACTIONS = ["meeting.create", "agenda.add", "agenda.add", "document.upload", "document.upload", "meeting.submit",
           "meeting.approve", "meeting.publish", "session.open", "poll.close", "session.close", "minutes.finalize",
           "minutes.sign", "minutes.sign", "minutes.sign"]


# ---- a realistic archive ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setup:
    pki: pki.GeneratedPki
    people: dict[str, pki.SignerIdentity]
    signed_at: dt.datetime
    audit: list[dict]
    documents: list[ArchiveFile]
    record: dict
    minutes: bytes
    data: bytes

    @property
    def head(self) -> str:
        return self.audit[HEAD_AT - 1]["hash"]

    def minutes_pdf(self, *, order: tuple[str, ...] = SIGNERS, print_head: bool = True, attach: bool = True,
                    pages: int = 2) -> bytes:
        return make_minutes(self, order=order, print_head=print_head, attach=attach, pages=pages)

    def build(self, **changes) -> bytes:
        minutes = changes.pop("minutes_pdf", self.minutes)
        args = dict(meeting={"id": MEETING_ID, "title": "Kỳ họp thứ 12, HĐND tỉnh khóa XVII"}, minutes_pdf=minutes,
                    documents=self.documents, audit_entries=self.audit,
                    report=verify_pdf(minutes, trust_roots=self.pki.trust_roots).to_dict(),
                    trust_roots_pem=pki.certificates_pem(self.pki.trust_roots),
                    created_at="2026-03-02T17:00:00+07:00")
        args.update(changes)
        return build_archive(**args)


def make_audit(n: int = 15) -> list[dict]:
    entries, prev = [], GENESIS
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
    for idx in range(1, n + 1):
        record = {"chain": f"meeting:{MEETING_ID}", "idx": idx,
                  "at": (start + dt.timedelta(minutes=idx)).isoformat(timespec="microseconds"),
                  "actor_id": 3 if idx < HEAD_AT else 4, "action": ACTIONS[idx - 1], "meeting_id": MEETING_ID,
                  "data": {"n": idx, "ghi_chú": "Đại biểu tán thành"}}
        digest = entry_hash(prev, record)
        entries.append({"idx": idx, "prev_hash": prev, "hash": digest, "record": record})
        prev = digest
    return entries


def make_minutes(case: Setup, *, order: tuple[str, ...], print_head: bool, attach: bool, pages: int) -> bytes:
    page1 = ["HỘI ĐỒNG NHÂN DÂN TỈNH HÒA BÌNH", "BIÊN BẢN KỲ HỌP THỨ 12",
             "Thời gian: 08:00 ngày 02/03/2026", "Thành phần: 50 đại biểu"]
    if print_head:
        page1 += [f"Mã kiểm tra nhật ký (mục {HEAD_AT}):", case.head]
    more = [[f"Nội dung phần {n}: thảo luận và biểu quyết", "Kết luận: tán thành 48/50"] for n in range(1, pages)]
    base = make_pdf([page1, *more])
    if attach:
        pdf = pikepdf.open(io.BytesIO(base))
        pdf.attachments[archive.RECORD_ATTACHMENT] = pikepdf.AttachedFileSpec(
            pdf, canonical_json(case.record).encode("utf-8"), mime_type="application/json")
        out = io.BytesIO()
        pdf.save(out)
        base = out.getvalue()
    pdf = pades.prepare_fields(base, FIELDS)
    for step, name in enumerate(order, start=1):
        pdf = pades.sign_field(pdf, name, signer=case.people[name],
                               signing_time=case.signed_at + dt.timedelta(minutes=step))
    return pdf


def make_documents(test_pki: pki.GeneratedPki, at: dt.datetime) -> list[ArchiveFile]:
    texts = {DOC_A: ["TỜ TRÌNH", "Về kế hoạch phát triển kinh tế - xã hội năm 2026"],
             DOC_B: ["DỰ THẢO NGHỊ QUYẾT", "Về dự toán ngân sách năm 2026"]}
    return [ArchiveFile(path, pades.sign_document(make_pdf([lines]), signer=test_pki.organisation, org_name=ORG_NAME,
                                                  doc_number=None, signing_time=at), "document")
            for path, lines in texts.items()]


def make_record(audit: list[dict], documents: list[ArchiveFile]) -> dict:
    sha = {d.path: hashlib.sha256(d.data).hexdigest() for d in documents}
    return {
        "format": "phonghop-minutes/1",
        "meeting": {"id": MEETING_ID, "title": "Kỳ họp thứ 12, HĐND tỉnh khóa XVII", "number": "12"},
        "audit_head": {"length": HEAD_AT, "hash": audit[HEAD_AT - 1]["hash"]},
        "agenda": [
            {"number": "1", "title": "Kế hoạch năm 2026", "documents": [
                {"id": 12, "number": "45/TTr-UBND", "title": "Tờ trình kế hoạch", "version": 2,
                 "sha256": sha[DOC_A], "filename": "to-trinh.pdf"}]},
            {"number": "2", "title": "Dự toán ngân sách", "documents": [
                {"id": 15, "number": "", "title": "Dự thảo nghị quyết", "version": 1, "sha256": sha[DOC_B],
                 "filename": "du-thao-nghi-quyet.pdf"}]},
            {"number": "3", "title": "Các nội dung khác", "documents": []},
        ],
    }


@pytest.fixture(scope="module")
def case() -> Setup:
    test_pki = pki.create_test_pki(ORG_NAME, province="Hòa Bình")
    people = {
        "secretary": pki.issue_personal_certificate(test_pki.root, "Nguyễn Thị Thư", organisation=ORG_NAME,
                                                    title="Thư ký"),
        "chair": pki.issue_personal_certificate(test_pki.root, "Trần Văn Chủ", organisation=ORG_NAME,
                                                title="Chủ tọa"),
        "seal": test_pki.organisation,
    }
    signed_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    audit = make_audit()
    documents = make_documents(test_pki, signed_at)
    partial = Setup(test_pki, people, signed_at, audit, documents, make_record(audit, documents), b"", b"")
    minutes = partial.minutes_pdf()
    done = replace(partial, minutes=minutes)
    return replace(done, data=done.build())


# ---- helpers ------------------------------------------------------------------------------------------------

def entries_of(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def rezip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names some tests write on purpose
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, body in entries:
                zf.writestr(name, body)
    return out.getvalue()


def tamper(data: bytes, path: str, change: Callable[[bytes], bytes], *, update_manifest: bool) -> bytes:
    """Change one file of the archive; with ``update_manifest`` the attacker also fixes its hash and size."""
    entries = [(name, change(body) if name == path else body) for name, body in entries_of(data)]
    if update_manifest:
        new = dict(entries)[path]
        manifest = json.loads(dict(entries)["manifest.json"])
        for f in manifest["files"]:
            if f["path"] == path:
                f["sha256"], f["size"] = hashlib.sha256(new).hexdigest(), len(new)
        entries = [(n, json.dumps(manifest).encode() if n == "manifest.json" else b) for n, b in entries]
    return rezip(entries)


def edit_manifest(data: bytes, change: Callable[[dict], None]) -> bytes:
    def edit(body: bytes) -> bytes:
        manifest = json.loads(body)
        change(manifest)
        return json.dumps(manifest).encode()
    return tamper(data, "manifest.json", edit, update_manifest=False)


def edit_lines(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[bytes], bytes]:
    return lambda body: b"".join(line + b"\n" for line in change(body.splitlines()))


def failed(report: ArchiveReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.problems()}


def check(report: ArchiveReport, name: str) -> archive.Check:
    matches = [c for c in report.checks if c.name == name]
    assert len(matches) == 1, f"{name}: {[c.name for c in report.checks]}"
    return matches[0]


# ---- the good archive ---------------------------------------------------------------------------------------

def test_good_archive_verifies_and_every_check_passes(case: Setup) -> None:
    started = time.perf_counter()
    report = verify_archive(case.data)
    elapsed = time.perf_counter() - started
    assert report.ok, failed(report)
    assert report.problems() == []
    names = [c.name for c in report.checks]
    assert names == [
        "zip", "manifest",
        "file:minutes/bien-ban.pdf", f"file:{DOC_A}", f"file:{DOC_B}", "file:audit/audit.jsonl",
        "file:verification.json", "file:trust/roots.pem",
        "trust", "minutes", "signature:secretary", "signature:chair", "signature:seal",
        "minutes.signers", "minutes.order", "minutes.coverage", "minutes.record", "manifest.meeting",
        "document:12-v2", "document:15-v1", "document.signatures:12-v2", "document.signatures:15-v1",
        "audit.chain", "audit.head", "audit.head_printed", "manifest.audit",
    ]
    assert "taken from the archive itself" in check(report, "trust").detail
    assert "Nguyễn Thị Thư" in check(report, "signature:secretary").detail
    assert "Trần Văn Chủ" in check(report, "signature:chair").detail
    assert ORG_NAME in check(report, "signature:seal").detail
    assert "secretary → chair → seal" in check(report, "minutes.order").detail
    assert "15 entries" in check(report, "audit.chain").detail
    assert elapsed < 5, f"verification took {elapsed:.2f} s"


def test_layout_and_manifest(case: Setup) -> None:
    with zipfile.ZipFile(io.BytesIO(case.data)) as zf:
        infos = zf.infolist()
        manifest = json.loads(zf.read("manifest.json"))
        lines = zf.read("audit/audit.jsonl").decode().splitlines()
    assert [i.filename for i in infos] == ["manifest.json", "minutes/bien-ban.pdf", DOC_A, DOC_B,
                                           "audit/audit.jsonl", "verification.json", "trust/roots.pem"]
    assert all(i.compress_type == zipfile.ZIP_DEFLATED and i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert manifest["format"] == FORMAT and manifest["meeting"]["id"] == MEETING_ID
    assert manifest["audit"] == {"length": 15, "head": case.audit[-1]["hash"]}
    minutes = next(f for f in manifest["files"] if f["path"] == "minutes/bien-ban.pdf")
    assert minutes == {"path": "minutes/bien-ban.pdf", "kind": "minutes", "size": len(case.minutes),
                       "sha256": hashlib.sha256(case.minutes).hexdigest()}
    assert len(lines) == 15 and json.loads(lines[11])["hash"] == case.head
    assert audit_lines(case.audit).decode().splitlines() == lines
    assert lines[0] == canonical_json(case.audit[0])


def test_same_inputs_give_the_same_bytes(case: Setup) -> None:
    assert case.build() == case.data
    assert case.build(documents=list(reversed(case.documents))) == case.data


def test_build_refuses_documents_outside_documents_dir(case: Setup) -> None:
    with pytest.raises(ValueError, match="not a document path"):
        case.build(documents=[ArchiveFile("../x.pdf", b"x", "document")])
    with pytest.raises(ValueError, match="not a document path"):
        case.build(documents=[ArchiveFile("minutes/bien-ban.pdf", b"x", "document")])


def test_trust_roots_given_by_the_reader(case: Setup) -> None:
    own = verify_archive(case.data, trust_roots=case.pki.trust_roots)
    assert own.ok and "you gave" in check(own, "trust").detail
    rogue = pki.create_test_pki(ORG_NAME)
    report = verify_archive(case.data, trust_roots=rogue.trust_roots)
    problems = failed(report)
    assert {"signature:secretary", "signature:chair", "signature:seal", "document.signatures:12-v2",
            "document.signatures:15-v1"} <= problems.keys()
    assert "Trần Văn Chủ" in problems["signature:chair"] and "not trusted" in problems["signature:chair"]


# ---- documents ----------------------------------------------------------------------------------------------

def test_changed_document_byte_is_named_by_the_manifest(case: Setup) -> None:
    data = tamper(case.data, DOC_A, flip_byte_in_signed_range, update_manifest=False)
    problems = failed(verify_archive(data))
    assert "content does not match the manifest" in problems[f"file:{DOC_A}"]
    assert "differs from document 45/TTr-UBND v2" in problems["document:12-v2"]
    assert "signed bytes were changed" in problems["document.signatures:12-v2"]
    assert not any("15-v1" in name for name in problems)


def test_changed_document_with_a_fixed_manifest_is_named_by_the_signed_record(case: Setup) -> None:
    data = tamper(case.data, DOC_A, flip_byte_in_signed_range, update_manifest=True)
    report = verify_archive(data)
    problems = failed(report)
    assert check(report, f"file:{DOC_A}").ok
    assert problems["document:12-v2"].startswith(f"{DOC_A} differs from document 45/TTr-UBND v2 of the signed minutes")
    assert set(problems) == {"document:12-v2", "document.signatures:12-v2"}


def test_replaced_document_missing_and_unlisted_documents(case: Setup) -> None:
    other = pades.sign_document(make_pdf([["VĂN BẢN KHÁC"]]), signer=case.pki.organisation, org_name=ORG_NAME,
                                doc_number=None, signing_time=case.signed_at)
    data = case.build(documents=[case.documents[0], ArchiveFile("documents/99-v1-khac.pdf", other, "document")])
    problems = failed(verify_archive(data))
    assert set(problems) == {"document:15-v1", "document:99-v1"}
    assert "is not in the archive" in problems["document:15-v1"] and "Dự thảo nghị quyết" in problems["document:15-v1"]
    assert problems["document:99-v1"] == "documents/99-v1-khac.pdf is not listed in the signed minutes"


def test_unsigned_document_is_named(case: Setup) -> None:
    plain = make_pdf([["CHƯA KÝ"]])
    data = case.build(documents=[*case.documents, ArchiveFile("documents/20-v1-chua-ky.pdf", plain, "document")])
    problems = failed(verify_archive(data))
    assert problems["document.signatures:20-v1"] == "documents/20-v1-chua-ky.pdf is not signed"
    assert "not listed in the signed minutes" in problems["document:20-v1"]


# ---- the audit log ------------------------------------------------------------------------------------------

def test_removed_audit_line(case: Setup) -> None:
    data = tamper(case.data, "audit/audit.jsonl", edit_lines(lambda ls: ls[:6] + ls[7:]), update_manifest=True)
    problems = failed(verify_archive(data))
    assert problems == {"audit.chain": "entry 7 is missing (line 7 holds entry 8)"}


def test_swapped_audit_lines(case: Setup) -> None:
    data = tamper(case.data, "audit/audit.jsonl", edit_lines(lambda ls: [*ls[:4], ls[5], ls[4], *ls[6:]]),
                  update_manifest=True)
    problems = failed(verify_archive(data))
    assert problems == {"audit.chain": "entry 5 is out of order: it is on line 6, line 5 holds entry 6"}


def test_edited_audit_data(case: Setup) -> None:
    def edit(lines: list[bytes]) -> list[bytes]:
        entry = json.loads(lines[8])
        entry["record"]["data"]["ghi_chú"] = "Đại biểu không tán thành"
        return [*lines[:8], canonical_json(entry).encode(), *lines[9:]]
    data = tamper(case.data, "audit/audit.jsonl", edit_lines(edit), update_manifest=False)
    problems = failed(verify_archive(data))
    assert "content does not match the manifest" in problems["file:audit/audit.jsonl"]
    assert problems["audit.chain"] == "line 9 (entry 9): entry content does not match its hash"


def test_relinked_audit_line(case: Setup) -> None:
    def edit(lines: list[bytes]) -> list[bytes]:
        entry = json.loads(lines[2])
        entry["prev_hash"] = "f" * 64
        return [*lines[:2], canonical_json(entry).encode(), *lines[3:]]
    data = tamper(case.data, "audit/audit.jsonl", edit_lines(edit), update_manifest=True)
    assert failed(verify_archive(data)) == {"audit.chain": "line 3 (entry 3): link to the previous entry is broken"}


def test_broken_audit_line_is_named_by_its_number(case: Setup) -> None:
    data = tamper(case.data, "audit/audit.jsonl",
                  edit_lines(lambda ls: [*ls[:3], ls[3][:40], *ls[4:]]), update_manifest=True)
    problems = failed(verify_archive(data))
    assert problems["audit.line:4"].startswith("line 4 is not valid JSON")
    assert problems["audit.chain"] == "entry 4 is missing (line 5 holds entry 5)"


def test_truncated_audit_log_loses_the_printed_head(case: Setup) -> None:
    data = tamper(case.data, "audit/audit.jsonl", edit_lines(lambda ls: ls[:10]), update_manifest=True)
    problems = failed(verify_archive(data))
    assert problems["audit.head"] == ("the audit log does not contain the head printed in the minutes: "
                                      "it has no entry 12")
    assert problems["manifest.audit"].startswith("the manifest says the audit log ends at entry 15")
    assert "the log ends at entry 10" in problems["manifest.audit"]
    assert set(problems) == {"audit.head", "manifest.audit"}


def test_rewritten_audit_log_does_not_contain_the_signed_head(case: Setup) -> None:
    """A whole chain recomputed after changing history is intact — but not the one the minutes vouch for."""
    forged, prev = [], GENESIS
    for entry in case.audit:
        record = dict(entry["record"], data={"n": entry["idx"], "ghi_chú": "đã sửa"})
        digest = entry_hash(prev, record)
        forged.append({"idx": entry["idx"], "prev_hash": prev, "hash": digest, "record": record})
        prev = digest
    problems = failed(verify_archive(case.build(audit_entries=forged)))
    assert set(problems) == {"audit.head"}
    assert problems["audit.head"].startswith("the audit log does not contain the head printed in the minutes: "
                                             "entry 12 has hash")


def test_audit_line_from_another_meeting(case: Setup) -> None:
    other = [dict(e, record=dict(e["record"], chain="meeting:8")) for e in case.audit[:1]]
    problems = failed(verify_archive(case.build(audit_entries=other + case.audit[1:])))
    assert problems["audit.line:1"] == "line 1 belongs to chain 'meeting:8', expected 'meeting:7'"


# ---- the minutes --------------------------------------------------------------------------------------------

def test_minutes_changed_by_an_incremental_update(case: Setup) -> None:
    changed = replace_page_content(case.minutes, b"BT /F1 12 Tf 72 700 Td (Da sua) Tj ET")
    report = verify_archive(tamper(case.data, "minutes/bien-ban.pdf", lambda _: changed, update_manifest=True))
    problems = failed(report)
    for name in ("signature:secretary", "signature:chair", "signature:seal"):
        assert "changed after signing" in problems[name]
    assert problems["minutes.coverage"] == ("the file was changed after the last signature (seal): "
                                            "it does not cover the whole file")


def test_minutes_with_a_flipped_byte(case: Setup) -> None:
    data = tamper(case.data, "minutes/bien-ban.pdf", flip_byte_in_signed_range, update_manifest=True)
    problems = failed(verify_archive(data))
    assert "signed bytes were changed" in problems["signature:secretary"]
    assert "Nguyễn Thị Thư" in problems["signature:secretary"]


def test_minutes_signed_in_the_wrong_order(case: Setup) -> None:
    minutes = case.minutes_pdf(order=("chair", "secretary", "seal"))
    problems = failed(verify_archive(case.build(minutes_pdf=minutes)))
    assert problems == {"minutes.order": "signed in the order chair → secretary → seal; "
                                         "expected secretary → chair → seal"}


def test_minutes_missing_a_signature(case: Setup) -> None:
    minutes = case.minutes_pdf(order=("secretary", "chair"))
    problems = failed(verify_archive(case.build(minutes_pdf=minutes)))
    assert problems == {"minutes.signers": "missing signature: seal (signed: secretary, chair)"}


def test_other_expected_signers(case: Setup) -> None:
    report = verify_archive(case.data, expected_signers=("secretary", "chair"))
    assert failed(report) == {"minutes.signers": "unexpected signature: seal (expected only secretary, chair)"}


def test_minutes_without_the_record(case: Setup) -> None:
    problems = failed(verify_archive(case.build(minutes_pdf=case.minutes_pdf(attach=False))))
    assert problems == {"minutes.record": "the signed minutes carry no minutes-record.json attachment"}


def test_minutes_that_do_not_print_the_head(case: Setup) -> None:
    problems = failed(verify_archive(case.build(minutes_pdf=case.minutes_pdf(print_head=False))))
    assert problems == {"audit.head_printed": f"the minutes' text does not show the audit head {case.head} "
                                              "of minutes-record.json"}


def test_minutes_missing_from_the_archive(case: Setup) -> None:
    entries = [(n, b) for n, b in entries_of(case.data) if n != "minutes/bien-ban.pdf"]
    problems = failed(verify_archive(rezip(entries)))
    assert problems["file:minutes/bien-ban.pdf"] == "listed in the manifest but not in the ZIP"
    assert problems["minutes"].startswith("minutes/bien-ban.pdf is not in the archive")


def test_manifest_for_another_meeting(case: Setup) -> None:
    data = edit_manifest(case.data, lambda m: m["meeting"].update(id=8))
    assert failed(verify_archive(data)) == {
        "manifest.meeting": "the manifest is for meeting 8, the signed minutes for meeting 7"}


# ---- the ZIP and the manifest -------------------------------------------------------------------------------

def test_extra_unlisted_files(case: Setup) -> None:
    data = rezip([*entries_of(case.data), ("notes.txt", b"hello"), ("documents/30-v1-them.pdf", case.minutes)])
    problems = failed(verify_archive(data))
    assert problems["file:notes.txt"] == "in the ZIP but not listed in the manifest"
    assert problems["file:documents/30-v1-them.pdf"] == "in the ZIP but not listed in the manifest"
    assert problems["document:30-v1"] == "documents/30-v1-them.pdf is not listed in the signed minutes"


def test_not_a_zip(case: Setup) -> None:
    for data in (b"", b"%PDF-1.7 not a zip", case.data[:1000]):
        report = verify_archive(data)
        assert not report.ok and [c.name for c in report.checks] == ["zip"]
        assert report.checks[0].detail.startswith("the file is not a readable ZIP archive")


def test_path_traversal_entry(case: Setup) -> None:
    data = rezip([*entries_of(case.data), ("../../etc/cron.d/evil", b"* * * * * root sh"),
                  ("/abs/path", b"x"), ("documents\\..\\win.pdf", b"x")])
    problems = failed(verify_archive(data))
    assert problems == {
        "zip.entry:../../etc/cron.d/evil": "unsafe entry name '../../etc/cron.d/evil' ('..' in the path); "
                                           "it was not read",
        "zip.entry:/abs/path": "unsafe entry name '/abs/path' (absolute path); it was not read",
        "zip.entry:documents\\..\\win.pdf": "unsafe entry name 'documents\\\\..\\\\win.pdf' (backslash in the "
                                            "path); it was not read",
    }


def test_duplicate_entry_names_are_refused(case: Setup) -> None:
    entries = entries_of(case.data)
    data = rezip([*entries, (DOC_A, case.documents[1].data)])
    problems = failed(verify_archive(data))
    assert problems[f"file:{DOC_A}"] == "the ZIP holds 2 entries with this name; the content is ambiguous"
    assert "is not in the archive" in problems["document:12-v2"]


def test_manifest_with_a_wrong_sha(case: Setup) -> None:
    def wrong(manifest: dict) -> None:
        manifest["files"][2]["sha256"] = "0" * 64
    data = edit_manifest(case.data, wrong)
    problems = failed(verify_archive(data))
    path = json.loads(dict(entries_of(data))["manifest.json"])["files"][2]["path"]
    body = next(d.data for d in case.documents if d.path == path)
    assert problems == {f"file:{path}": f"content does not match the manifest: sha256 is "
                                        f"{hashlib.sha256(body).hexdigest()[:16]}…, "
                                        f"the manifest says 0000000000000000…"}


@pytest.mark.parametrize(("change", "detail"), [
    (lambda body: b"{not json", "manifest.json is not valid JSON (line 1, column 2: "),
    (lambda body: body.replace(FORMAT.encode(), b"phonghop-archive/9"),
     "unknown archive format 'phonghop-archive/9' (expected phonghop-archive/1)"),
    (lambda body: body.replace(b'"audit"', b'"audit_"'), "manifest.json is malformed: audit is missing"),
    (lambda body: body.replace(b'"path": "minutes/bien-ban.pdf"', b'"path": "../bien-ban.pdf"'),
     "manifest.json is malformed: entry 1 of files is not a valid"),
])
def test_broken_manifest(case: Setup, change: Callable[[bytes], bytes], detail: str) -> None:
    report = verify_archive(tamper(case.data, "manifest.json", change, update_manifest=False))
    problems = failed(report)
    assert problems["manifest"].startswith(detail)
    # Without a manifest the signed parts are still checked.
    assert check(report, "signature:chair").ok and check(report, "audit.chain").ok


def test_missing_manifest(case: Setup) -> None:
    report = verify_archive(rezip([(n, b) for n, b in entries_of(case.data) if n != "manifest.json"]))
    assert failed(report) == {"manifest": "manifest.json is not in the archive"}


def test_zip_bomb_is_refused_unread(case: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = rezip([("documents/1-v1-bom.pdf", bytes(20 * 1024 * 1024))])
    report = verify_archive(bomb)
    assert [c.name for c in report.checks] == ["zip"] and not report.ok
    assert report.checks[0].detail.startswith("documents/1-v1-bom.pdf is compressed ")
    assert "zip bomb" in report.checks[0].detail
    monkeypatch.setattr(archive, "MAX_TOTAL_SIZE", 1000)
    report = verify_archive(case.data)
    assert [c.name for c in report.checks] == ["zip"]
    assert "more than the 1000 allowed" in report.checks[0].detail


def test_verify_never_raises(case: Setup) -> None:
    manifest = json.loads(dict(entries_of(case.data))["manifest.json"])
    hostile = [
        rezip([("manifest.json", b"[]")]),
        rezip([("manifest.json", json.dumps({**manifest, "files": "x"}).encode())]),
        rezip([("manifest.json", json.dumps(manifest).encode()), ("minutes/bien-ban.pdf", b"%PDF-1.7 garbage"),
               ("audit/audit.jsonl", b"\xff\xfe\n[]\n{}\n\n"), ("trust/roots.pem", b"not a cert")]),
    ]
    for data in hostile:
        report = verify_archive(data)
        assert not report.ok
        assert all(c.detail and "\n" not in c.detail for c in report.checks)
        assert not any(c.name == "internal" for c in report.checks), report.checks
        format_report(report)


# ---- the report's text --------------------------------------------------------------------------------------

def test_format_report_in_vietnamese_and_english(case: Setup) -> None:
    good = verify_archive(case.data)
    text = format_report(good)
    lines = text.splitlines()
    assert len(lines) == len(good.checks) + 1
    assert all(line.startswith("✓ ") for line in lines[:-1])
    assert lines[-1] == "Hồ sơ lưu trữ nguyên vẹn: mọi chữ ký và mã băm đều hợp lệ."
    assert "✓ Chữ ký chủ tọa: ký bởi Trần Văn Chủ lúc " in text
    assert "chứng thư gốc tin cậy lấy từ chính hồ sơ" in text
    assert format_report(good, lang="en").splitlines()[-1] == (
        "The archive is intact: every signature and hash is valid.")

    minutes = case.minutes_pdf(order=("chair", "secretary"))
    bad = verify_archive(case.build(minutes_pdf=minutes))
    text = format_report(bad)
    assert "✗ Thứ tự ký: thứ tự ký là chủ tọa → thư ký; đúng ra phải là thư ký → chủ tọa" in text
    assert "✗ Người ký biên bản: thiếu chữ ký: con dấu cơ quan (đã ký: chủ tọa, thư ký)" in text
    assert text.splitlines()[-1] == "Hồ sơ lưu trữ KHÔNG nguyên vẹn: 2 lỗi."
    assert bad.to_dict()["problems"] == 2
    assert bad.to_dict(lang="vi")["checks"][-1]["detail"].startswith("đầu chuỗi nhật ký trong danh mục")


def test_every_message_has_a_vietnamese_rendering() -> None:
    def fields(template: str) -> set[str]:
        return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}

    for code, (en, vi) in archive._MESSAGES.items():
        assert en and vi and en != vi, code
        assert fields(en) == fields(vi), code
    # verify.py's problem phrases travel inside the details: each must have a translation.
    phrases = [*verify._TRUST_PROBLEMS.values(), "the signed bytes were changed after signing",
               "the signature value does not match the signer's certificate",
               "the signature does not cover its whole revision", "the time-stamp is damaged",
               "the time-stamp authority is not trusted", "the document was changed after signing",
               "later changes to the document could not be analysed", "the signer's certificate was revoked"]
    for phrase in phrases:
        assert archive._phrase(phrase, "vi") != phrase, phrase


# ---- size -----------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_20_mb_archive_with_40_documents_verifies_in_seconds(case: Setup) -> None:
    documents = []
    for n in range(40):
        pdf = make_pdf([[f"Tài liệu số {n + 1}"]], padding_bytes=530_000)
        documents.append(ArchiveFile(f"documents/{100 + n}-v1-tai-lieu.pdf", pades.sign_document(
            pdf, signer=case.pki.organisation, org_name=ORG_NAME, doc_number=None, signing_time=case.signed_at),
            "document"))
    record = dict(case.record, agenda=[{"number": "1", "title": "Tài liệu", "documents": [
        {"id": 100 + n, "number": str(n + 1), "title": f"Tài liệu {n + 1}", "version": 1,
         "sha256": hashlib.sha256(d.data).hexdigest(), "filename": "tai-lieu.pdf"} for n, d in enumerate(documents)]}])
    big = replace(case, record=record, documents=documents)
    big = replace(big, minutes=big.minutes_pdf(pages=10))
    data = big.build()
    assert len(data) > 20 * 1024 * 1024
    started = time.perf_counter()
    report = verify_archive(data)
    elapsed = time.perf_counter() - started
    assert report.ok, failed(report)
    assert elapsed < 6, f"verification took {elapsed:.2f} s"
