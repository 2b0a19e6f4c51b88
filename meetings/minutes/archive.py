"""The archive of a meeting: one ZIP that proves itself offline, years later (no Flask, no database).

``build_archive`` lays out the signed minutes, the signed documents, the audit log, the server's verification
report and the trust roots, with a manifest of their hashes. ``verify_archive`` checks all of it using only
the ZIP (and, better, trust roots the reader brings): the minutes' signatures, in the expected order and
covering the whole file; the record embedded in the signed minutes against the documents in the ZIP; the
audit chain line by line and against the head the minutes print. The manifest is not signed: it only says
what should be there, and every fact it states is checked against something that is.

A hostile or broken ZIP never raises: every problem becomes a failed ``Check`` that names the file, line or
signature. Details are English in ``Check.detail``; ``format_report`` renders them in Vietnamese (default) or
English from the same message codes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from cryptography import x509

from meetings.core.chain import GENESIS, canonical_json, verify_chain
from meetings.signing.pki import load_certificates
from meetings.signing.verify import Coverage, Modification, SignatureReport, Verdict, VerificationReport, verify_pdf

FORMAT = "phonghop-archive/1"
RECORD_FORMAT = "phonghop-minutes/1"
RECORD_ATTACHMENT = "minutes-record.json"

MANIFEST_PATH = "manifest.json"
MINUTES_PATH = "minutes/bien-ban.pdf"
AUDIT_PATH = "audit/audit.jsonl"
REPORT_PATH = "verification.json"
TRUST_PATH = "trust/roots.pem"
DOCUMENTS_DIR = "documents/"
# Every path this format uses, with its kind; documents/<name> are the only free names.
_FIXED_PATHS = {MINUTES_PATH: "minutes", AUDIT_PATH: "audit", REPORT_PATH: "report", TRUST_PATH: "trust"}

# Unpacking limits: a real archive is tens of MB of already-compressed PDFs.
MAX_TOTAL_SIZE = 2 * 1024 ** 3
MAX_ENTRIES = 10_000
MAX_RATIO = 200  # deflate reaches ~1000:1 only on degenerate input such as a zip bomb's zeros
RATIO_FLOOR = 1024 * 1024  # small files (JSON, PEM) may compress well; the ratio is only checked above this
MAX_LINE_CHECKS = 10  # broken audit lines named one by one, then counted

# A fixed date and mode in every entry: the same inputs give the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_VN_TZ = dt.timezone(dt.timedelta(hours=7))
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DOC_LABEL = re.compile(r"^(\d+-v\d+)(?:[-.]|$)")


# ---- building -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArchiveFile:
    path: str  # inside the ZIP, e.g. "minutes/bien-ban.pdf", "documents/12-v2-to-trinh.pdf"
    data: bytes
    kind: str  # "minutes" | "document" | "audit" | "report" | "trust"


def audit_lines(entries: list[dict[str, Any]]) -> bytes:
    """The audit chain as JSON Lines: one canonical ``{idx, prev_hash, hash, record}`` object per line."""
    return "".join(
        canonical_json({"idx": e["idx"], "prev_hash": e["prev_hash"], "hash": e["hash"], "record": e["record"]})
        + "\n" for e in entries).encode("utf-8")


def _pretty_json(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _zip_info(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # the default depends on the platform that builds the archive
    info.external_attr = 0o100644 << 16
    return info


def build_archive(*, meeting: dict[str, Any], minutes_pdf: bytes, documents: list[ArchiveFile],
                  audit_entries: list[dict[str, Any]], report: dict[str, Any], trust_roots_pem: bytes,
                  created_at: str) -> bytes:
    """The archive ZIP. Deterministic: documents sorted by path, fixed entry dates, fixed compression."""
    for doc in documents:
        if doc.kind != "document" or not doc.path.startswith(DOCUMENTS_DIR) or _unsafe_reason(doc.path) \
                or "/" in doc.path[len(DOCUMENTS_DIR):] or doc.path == DOCUMENTS_DIR:
            raise ValueError(f"not a document path of the archive: {doc.path!r} ({doc.kind})")
    paths = [d.path for d in documents]
    if len(set(paths)) != len(paths):
        raise ValueError("two documents have the same path in the archive")
    files = [ArchiveFile(MINUTES_PATH, minutes_pdf, "minutes"),
             *sorted(documents, key=lambda d: d.path),
             ArchiveFile(AUDIT_PATH, audit_lines(audit_entries), "audit"),
             ArchiveFile(REPORT_PATH, _pretty_json(report), "report"),
             ArchiveFile(TRUST_PATH, trust_roots_pem, "trust")]
    last = audit_entries[-1] if audit_entries else None
    manifest = {
        "format": FORMAT,
        "created_at": created_at,
        "meeting": meeting,
        "files": [{"path": f.path, "kind": f.kind, "sha256": hashlib.sha256(f.data).hexdigest(),
                   "size": len(f.data)} for f in files],
        "audit": {"length": last["idx"] if last else 0, "head": last["hash"] if last else GENESIS},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr(_zip_info(MANIFEST_PATH), _pretty_json(manifest))
        for f in files:
            zf.writestr(_zip_info(f.path), f.data)
    return out.getvalue()


# ---- the report ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    name: str  # stable machine name: "manifest", "file:<path>", "signature:<field>", "audit.chain" …
    ok: bool
    detail: str  # one line, English; ``render(lang)`` for the CLI's language
    code: str = field(default="", compare=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def render(self, lang: str = "vi") -> str:
        if not self.code:
            return self.detail
        return _message(self.code, self.params, lang)


@dataclass(frozen=True)
class ArchiveReport:
    ok: bool
    checks: list[Check]

    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self, *, lang: str = "en") -> dict[str, Any]:
        return {"ok": self.ok, "problems": len(self.problems()),
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.render(lang) if lang != "en" else c.detail,
                            "code": c.code} for c in self.checks]}


# Every detail the verifier produces: code → (English, Vietnamese). Parameters are rendered per language
# by ``_value`` (times, signature field names, lists, verify.py's problem phrases).
_MESSAGES: dict[str, tuple[str, str]] = {
    "zip.ok": ("ZIP archive with {count} entries, {size} bytes unpacked",
               "tệp nén ZIP gồm {count} mục, {size} byte khi giải nén"),
    "zip.not_zip": ("the file is not a readable ZIP archive ({reason})",
                    "tệp không phải là tệp nén ZIP đọc được ({reason})"),
    "zip.too_many": ("the ZIP holds {count} entries, more than the {limit} allowed",
                     "tệp nén có {count} mục, vượt quá giới hạn {limit} mục"),
    "zip.too_large": ("the ZIP would unpack to {size} bytes, more than the {limit} allowed (zip bomb?)",
                      "tệp nén khi giải nén sẽ chiếm {size} byte, vượt quá giới hạn {limit} byte (bom nén?)"),
    "zip.ratio": ("{path} is compressed {ratio}:1, more than the {limit}:1 allowed (zip bomb?)",
                  "{path} có tỷ lệ nén {ratio}:1, vượt quá giới hạn {limit}:1 (bom nén?)"),
    "entry.unsafe": ("unsafe entry name {entry} ({why}); it was not read",
                     "tên mục không an toàn {entry} ({why}); mục này không được đọc"),
    "manifest.ok": ("format {format}, {count} files listed", "định dạng {format}, liệt kê {count} tệp"),
    "manifest.missing": ("manifest.json is not in the archive", "hồ sơ không có manifest.json"),
    "manifest.bad_json": ("manifest.json is not valid JSON ({reason})",
                          "manifest.json không phải JSON hợp lệ ({reason})"),
    "manifest.format": ("unknown archive format {format} (expected {expected})",
                        "định dạng hồ sơ không xác định {format} (cần {expected})"),
    "manifest.key": ("manifest.json is malformed: {key} is missing or of the wrong type",
                     "manifest.json sai cấu trúc: thiếu {key} hoặc sai kiểu"),
    "manifest.file_entry": ("manifest.json is malformed: entry {n} of files is not a valid "
                            "{{path, kind, sha256, size}} object",
                            "manifest.json sai cấu trúc: mục {n} của files không phải đối tượng "
                            "{{path, kind, sha256, size}} hợp lệ"),
    "manifest.dup_path": ("manifest.json lists {path} twice", "manifest.json liệt kê {path} hai lần"),
    "manifest.required": ("manifest.json does not list {path}", "manifest.json không liệt kê {path}"),
    "file.ok": ("sha256 and size match the manifest", "mã băm sha256 và kích thước khớp với danh mục"),
    "file.missing": ("listed in the manifest but not in the ZIP",
                     "có trong danh mục nhưng không có trong tệp nén"),
    "file.duplicate": ("the ZIP holds {count} entries with this name; the content is ambiguous",
                       "tệp nén có {count} mục cùng tên này; không xác định được nội dung"),
    "file.unreadable": ("cannot be read from the ZIP ({reason})", "không đọc được từ tệp nén ({reason})"),
    "file.size": ("size is {actual} bytes, the manifest says {expected}",
                  "kích thước là {actual} byte, danh mục ghi {expected}"),
    "file.hash": ("content does not match the manifest: sha256 is {actual}, the manifest says {expected}",
                  "nội dung không khớp với danh mục: sha256 là {actual}, danh mục ghi {expected}"),
    "file.kind": ("the manifest calls it {kind}, expected {expected}",
                  "danh mục ghi loại {kind}, đúng ra phải là {expected}"),
    "file.layout": ("the manifest lists a path this archive format does not use",
                    "danh mục liệt kê một đường dẫn không thuộc định dạng hồ sơ này"),
    "file.unexpected": ("in the ZIP but not listed in the manifest",
                        "có trong tệp nén nhưng không được liệt kê trong danh mục"),
    "trust.given": ("checked against the {count} trust root(s) you gave",
                    "kiểm tra theo {count} chứng thư gốc tin cậy do bạn cung cấp"),
    "trust.archive": ("trust roots taken from the archive itself; pass --trust-roots to check against your own",
                      "chứng thư gốc tin cậy lấy từ chính hồ sơ; dùng --trust-roots để kiểm tra theo chứng thư "
                      "gốc của bạn"),
    "trust.missing": ("no trust roots: trust/roots.pem is not in the archive and none were given",
                      "không có chứng thư gốc tin cậy: hồ sơ không có trust/roots.pem và bạn không cung cấp"),
    "trust.bad": ("trust/roots.pem holds no usable certificate ({reason})",
                  "trust/roots.pem không chứa chứng thư dùng được ({reason})"),
    "minutes.ok": ("{pages} page(s), {count} signature(s)", "{pages} trang, {count} chữ ký"),
    "minutes.missing": ("minutes/bien-ban.pdf is not in the archive: the minutes cannot be checked",
                        "hồ sơ không có minutes/bien-ban.pdf: không thể kiểm tra biên bản"),
    "minutes.unreadable": ("the minutes PDF cannot be read ({reason})", "không đọc được tệp PDF biên bản ({reason})"),
    "sig.ok": ("signed by {signer} at {time}", "ký bởi {signer} lúc {time}"),
    "sig.ok_ts": ("signed by {signer} at {time}, time-stamped at {ts_time}",
                  "ký bởi {signer} lúc {time}, dấu thời gian lúc {ts_time}"),
    "sig.bad": ("the signature by {signer} at {time} is not valid: {problems}",
                "chữ ký của {signer} lúc {time} không hợp lệ: {problems}"),
    "ts.ok": ("document time-stamp at {time}", "dấu thời gian tài liệu lúc {time}"),
    "ts.bad": ("the document time-stamp at {time} is not valid: {problems}",
               "dấu thời gian tài liệu lúc {time} không hợp lệ: {problems}"),
    "signers.ok": ("signed by exactly {expected}", "được ký đủ và đúng: {expected}"),
    "signers.none": ("the minutes carry no signature (expected {expected})",
                     "biên bản không có chữ ký nào (cần {expected})"),
    "signers.missing": ("missing signature: {missing} (signed: {actual})",
                        "thiếu chữ ký: {missing} (đã ký: {actual})"),
    "signers.unexpected": ("unexpected signature: {unexpected} (expected only {expected})",
                           "chữ ký không mong đợi: {unexpected} (chỉ cần {expected})"),
    "signers.mismatch": ("signed fields are {actual}; expected exactly {expected}",
                         "các ô đã ký là {actual}; đúng ra phải là {expected}"),
    "signers.removed": ("the signature in field {fields} was removed in a later revision",
                        "chữ ký ở ô {fields} đã bị gỡ bỏ trong một phiên bản sau"),
    "order.ok": ("signed in order {order}", "ký theo đúng thứ tự {order}"),
    "order.bad": ("signed in the order {order}; expected {expected}",
                  "thứ tự ký là {order}; đúng ra phải là {expected}"),
    "coverage.ok": ("the last signature ({field}) covers the whole file",
                    "chữ ký cuối cùng ({field}) bao trùm toàn bộ tệp"),
    "coverage.after": ("the file was changed after the last signature ({field}): it does not cover the whole file",
                       "tệp đã bị thay đổi sau chữ ký cuối cùng ({field}): chữ ký này không bao trùm toàn bộ tệp"),
    "coverage.after_ts": ("changes other than time-stamps were made after the {field} signature",
                          "có thay đổi ngoài dấu thời gian sau chữ ký {field}"),
    "record.ok": ("minutes-record.json found in the signed minutes (meeting {meeting_id}, {documents} document(s))",
                  "tìm thấy minutes-record.json trong biên bản đã ký (cuộc họp {meeting_id}, {documents} tài liệu)"),
    "record.missing": ("the signed minutes carry no minutes-record.json attachment",
                       "biên bản đã ký không đính kèm minutes-record.json"),
    "record.multiple": ("the minutes carry {count} attachments named minutes-record.json",
                        "biên bản có {count} tệp đính kèm cùng tên minutes-record.json"),
    "record.unreadable": ("the attachments of the minutes cannot be read ({reason})",
                          "không đọc được tệp đính kèm của biên bản ({reason})"),
    "record.bad_json": ("minutes-record.json is not valid JSON ({reason})",
                        "minutes-record.json không phải JSON hợp lệ ({reason})"),
    "record.format": ("minutes-record.json has unknown format {format} (expected {expected})",
                      "minutes-record.json có định dạng không xác định {format} (cần {expected})"),
    "record.key": ("minutes-record.json is malformed: {key} is missing or of the wrong type",
                   "minutes-record.json sai cấu trúc: thiếu {key} hoặc sai kiểu"),
    "meeting.ok": ("the manifest and the signed minutes are both for meeting {meeting_id}",
                   "danh mục và biên bản đã ký cùng thuộc cuộc họp {meeting_id}"),
    "meeting.mismatch": ("the manifest is for meeting {manifest_id}, the signed minutes for meeting {record_id}",
                         "danh mục thuộc cuộc họp {manifest_id}, biên bản đã ký thuộc cuộc họp {record_id}"),
    "doc.ok": ("{path} is document {number} v{version} of the signed minutes",
               "{path} đúng là tài liệu {number} phiên bản {version} trong biên bản đã ký"),
    "doc.changed": ("{path} differs from document {number} v{version} of the signed minutes: sha256 is {actual}, "
                    "the minutes say {expected}",
                    "{path} khác với tài liệu {number} phiên bản {version} trong biên bản đã ký: sha256 là {actual}, "
                    "biên bản ghi {expected}"),
    "doc.missing": ("document {number} v{version} ({title}, sha256 {expected}) listed in the signed minutes is "
                    "not in the archive",
                    "tài liệu {number} phiên bản {version} ({title}, sha256 {expected}) có trong biên bản đã ký "
                    "nhưng không có trong hồ sơ"),
    "doc.unlisted": ("{path} is not listed in the signed minutes", "{path} không có trong biên bản đã ký"),
    "docsig.ok": ("{path}: signed by {signers}", "{path}: ký bởi {signers}"),
    "docsig.unsigned": ("{path} is not signed", "{path} chưa được ký"),
    "docsig.unreadable": ("{path} is not a readable PDF", "{path} không phải tệp PDF đọc được"),
    "docsig.bad": ("{path}: the signature {field} by {signer} is not valid: {problems}",
                   "{path}: chữ ký {field} của {signer} không hợp lệ: {problems}"),
    "docsig.removed": ("{path}: the signature in field {fields} was removed",
                       "{path}: chữ ký ở ô {fields} đã bị gỡ bỏ"),
    "audit.missing": ("audit/audit.jsonl is not in the archive", "hồ sơ không có audit/audit.jsonl"),
    "line.empty": ("line {line} is empty", "dòng {line} bị trống"),
    "line.encoding": ("line {line} is not UTF-8 text", "dòng {line} không phải văn bản UTF-8"),
    "line.json": ("line {line} is not valid JSON ({reason})", "dòng {line} không phải JSON hợp lệ ({reason})"),
    "line.shape": ("line {line} is not an audit entry: {key} is missing or of the wrong type",
                   "dòng {line} không phải mục nhật ký: thiếu {key} hoặc sai kiểu"),
    "line.idx": ("line {line}: the entry says idx {outer}, its record says {inner}",
                 "dòng {line}: mục ghi idx {outer}, nội dung ghi {inner}"),
    "line.chain": ("line {line} belongs to chain {chain}, expected {expected}",
                   "dòng {line} thuộc chuỗi {chain}, đúng ra phải là {expected}"),
    "line.more": ("{count} more broken line(s) after line {line}",
                  "còn {count} dòng hỏng khác sau dòng {line}"),
    "chain.ok": ("{length} entries, hash chain intact, last hash {head}",
                 "{length} mục, chuỗi băm nguyên vẹn, mã băm cuối {head}"),
    "chain.empty": ("the audit log holds no entry", "nhật ký không có mục nào"),
    "chain.missing": ("entry {idx} is missing (line {line} holds entry {found})",
                      "thiếu mục {idx} (dòng {line} là mục {found})"),
    "chain.order": ("entry {idx} is out of order: it is on line {at_line}, line {line} holds entry {found}",
                    "mục {idx} sai thứ tự: nó nằm ở dòng {at_line}, dòng {line} là mục {found}"),
    "chain.link": ("line {line} (entry {idx}): link to the previous entry is broken",
                   "dòng {line} (mục {idx}): liên kết với mục trước bị đứt"),
    "chain.content": ("line {line} (entry {idx}): entry content does not match its hash",
                      "dòng {line} (mục {idx}): nội dung mục không khớp với mã băm của nó"),
    "head.ok": ("the head printed in the minutes (entry {length}, {hash}) is in the audit log",
                "mã đầu chuỗi in trong biên bản (mục {length}, {hash}) có trong nhật ký"),
    "head.absent": ("the audit log does not contain the head printed in the minutes: it has no entry {length}",
                    "nhật ký không chứa mã đầu chuỗi in trong biên bản: không có mục {length}"),
    "head.mismatch": ("the audit log does not contain the head printed in the minutes: entry {length} has hash "
                      "{actual}, the minutes say {expected}",
                      "nhật ký không chứa mã đầu chuỗi in trong biên bản: mục {length} có mã băm {actual}, "
                      "biên bản ghi {expected}"),
    "printed.ok": ("the minutes' text shows the audit head {hash}",
                   "nội dung biên bản có in mã đầu chuỗi nhật ký {hash}"),
    "printed.missing": ("the minutes' text does not show the audit head {hash} of minutes-record.json",
                        "nội dung biên bản không in mã đầu chuỗi nhật ký {hash} ghi trong minutes-record.json"),
    "printed.unreadable": ("the minutes' text cannot be extracted ({reason})",
                           "không trích xuất được nội dung biên bản ({reason})"),
    "maudit.ok": ("the manifest's audit head is the log's last entry ({length}, {head})",
                  "đầu chuỗi nhật ký trong danh mục đúng là mục cuối của nhật ký ({length}, {head})"),
    "maudit.mismatch": ("the manifest says the audit log ends at entry {m_length} ({m_head}), "
                        "the log ends at entry {length} ({head})",
                        "danh mục ghi nhật ký kết thúc ở mục {m_length} ({m_head}), "
                        "nhật ký kết thúc ở mục {length} ({head})"),
    "internal": ("verification stopped unexpectedly ({reason})", "việc kiểm tra dừng bất thường ({reason})"),
}

# Phrases inside parameters: verify.py's problems, unsafe-name reasons, placeholders.
_PHRASES_VI: dict[str, str] = {
    "the signed bytes were changed after signing": "nội dung đã ký bị sửa đổi sau khi ký",
    "the signature value does not match the signer's certificate":
        "giá trị chữ ký không khớp với chứng thư số của người ký",
    "the signature does not cover its whole revision": "chữ ký không bao trùm toàn bộ phiên bản được ký",
    "the time-stamp is damaged": "dấu thời gian bị hỏng",
    "the time-stamp authority is not trusted": "đơn vị cấp dấu thời gian không được tin cậy",
    "the document was changed after signing": "tài liệu đã bị thay đổi sau khi ký",
    "later changes to the document could not be analysed": "không phân tích được các thay đổi sau khi ký",
    "the signer's certificate is not from a trusted authority":
        "chứng thư số của người ký không do tổ chức tin cậy cấp",
    "the signer's certificate has expired or is not yet valid, and no time-stamp proves the signature was made "
    "while it was valid": "chứng thư số của người ký đã hết hạn hoặc chưa có hiệu lực, và không có dấu thời gian "
                          "chứng minh chữ ký được tạo khi chứng thư còn hiệu lực",
    "the signer's certificate has expired or is not yet valid":
        "chứng thư số của người ký đã hết hạn hoặc chưa có hiệu lực",
    "the signer's certificate was revoked": "chứng thư số của người ký đã bị thu hồi",
    "the certificate of the signer's issuer was revoked": "chứng thư của đơn vị cấp cho người ký đã bị thu hồi",
    "the signer's certificate breaks the rules of its issuers":
        "chứng thư số của người ký vi phạm ràng buộc của đơn vị cấp",
    "the signer's certificate is not meant for signing documents":
        "chứng thư số của người ký không dùng để ký tài liệu",
    "absolute path": "đường dẫn tuyệt đối",
    "'..' in the path": "có '..' trong đường dẫn",
    "backslash in the path": "có dấu gạch chéo ngược trong đường dẫn",
    "drive letter in the path": "có ký tự ổ đĩa trong đường dẫn",
    "control character in the path": "có ký tự điều khiển trong đường dẫn",
    "empty path component": "có thành phần đường dẫn rỗng",
    "unknown signer": "không rõ người ký",
    "unknown time": "không rõ thời điểm",
    "none": "không có",
}
# verify.py phrases that carry a variable tail.
_PREFIXES_VI: dict[str, str] = {
    "the signature could not be checked: ": "không kiểm tra được chữ ký: ",
    "the signer's certificate is not trusted ": "chứng thư số của người ký không được tin cậy ",
}
_FIELDS_VI = {"secretary": "thư ký", "chair": "chủ tọa", "seal": "con dấu cơ quan", "organisation": "cơ quan"}
_KINDS_VI = {"minutes": "biên bản", "document": "tài liệu", "audit": "nhật ký", "report": "báo cáo kiểm tra",
             "trust": "chứng thư gốc"}
# Parameters holding signature field names (a name or a tuple of names) in the messages about signatures.
_FIELD_PARAMS = {"field", "fields", "expected", "actual", "missing", "unexpected", "order"}
_FIELD_CODES = ("signers.", "order.", "coverage.", "docsig.bad", "docsig.removed")


def _phrase(text: str, lang: str) -> str:
    if lang != "vi":
        return text
    if text in _PHRASES_VI:
        return _PHRASES_VI[text]
    for prefix, vi in _PREFIXES_VI.items():
        if text.startswith(prefix):
            return vi + text[len(prefix):]
    return text


def _time_text(value: dt.datetime, lang: str) -> str:
    local = value.astimezone(_VN_TZ) if value.tzinfo else value
    return f"{local:%H:%M:%S %d/%m/%Y} (+07:00)" if lang == "vi" else local.isoformat()


def _value(key: str, value: Any, code: str, lang: str) -> str:
    if isinstance(value, dt.datetime):
        return _time_text(value, lang)
    if key in _FIELD_PARAMS and code.startswith(_FIELD_CODES):
        names = (value,) if isinstance(value, str) else tuple(value)
        if not names:
            return _phrase("none", lang)
        shown = [(_FIELDS_VI.get(n, n) if lang == "vi" else n) for n in names]
        return (" → " if code.startswith("order.") else ", ").join(shown)
    if key in ("kind", "expected") and code == "file.kind":
        return _KINDS_VI.get(str(value), str(value)) if lang == "vi" else str(value)
    if key == "problems":
        return "; ".join(_phrase(p, lang) for p in value) or _phrase("none", lang)
    if key in ("why", "signer", "signers", "time", "ts_time"):
        return _phrase(str(value), lang)
    return str(value)


def _message(code: str, params: Mapping[str, Any], lang: str) -> str:
    en, vi = _MESSAGES[code]
    template = vi if lang == "vi" else en
    return template.format(**{k: _value(k, v, code, lang) for k, v in params.items()})


def _one_line(text: str) -> str:
    """Control characters (newlines in an exception, a hostile ZIP name) escaped: details are one line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _check(name: str, ok: bool, code: str, /, **params: Any) -> Check:
    clean = {k: (_one_line(v) if isinstance(v, str) else v) for k, v in params.items()}
    return Check(_one_line(name), ok, _message(code, clean, "en"), code, clean)


def _short(digest: str) -> str:
    return digest[:16] + "…" if len(digest) > 16 else digest


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


# ---- verifying ----------------------------------------------------------------------------------------------

def _unsafe_reason(name: str) -> str | None:
    """Why a ZIP entry name would escape or confuse an extracting directory, or None."""
    if any(not ch.isprintable() for ch in name):
        return "control character in the path"
    if "\\" in name:
        return "backslash in the path"
    if name.startswith("/"):
        return "absolute path"
    if re.match(r"^[A-Za-z]:", name):
        return "drive letter in the path"
    parts = name.rstrip("/").split("/")
    if any(p == ".." for p in parts):
        return "'..' in the path"
    if any(p in ("", ".") for p in parts):
        return "empty path component"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _expected_kind(path: str) -> str | None:
    if path in _FIXED_PATHS:
        return _FIXED_PATHS[path]
    rest = path[len(DOCUMENTS_DIR):] if path.startswith(DOCUMENTS_DIR) else ""
    return "document" if rest and "/" not in rest else None


def _doc_label(path: str) -> str:
    """``documents/12-v2-to-trinh.pdf`` → ``12-v2``; any other name → the file name."""
    base = path.rsplit("/", 1)[-1]
    match = _DOC_LABEL.match(base)
    return match.group(1) if match else base


def _json_reason(err: ValueError) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"line {err.lineno}, column {err.colno}: {err.msg}"
    return _reason(err)


@dataclass
class _Manifest:
    files: list[dict[str, Any]]
    meeting: dict[str, Any]
    audit: dict[str, Any]


@dataclass
class _AuditLine:
    line: int
    idx: int
    prev_hash: str
    hash: str
    record: dict[str, Any]


class _Verifier:
    def __init__(self, data: bytes, trust_roots: list[x509.Certificate] | None,
                 expected_signers: tuple[str, ...]) -> None:
        self.data = data
        self.given_roots = trust_roots
        self.expected = tuple(expected_signers)
        self.checks: list[Check] = []
        self.content: dict[str, bytes] = {}  # safe, unique names only
        self.sha: dict[str, str] = {}
        self.duplicates: dict[str, int] = {}
        self.unreadable: dict[str, str] = {}
        self.manifest: _Manifest | None = None
        self.record: dict[str, Any] | None = None
        self.minutes_text: str | None = None
        self.minutes_text_error: str | None = None
        self.audit: list[_AuditLine] = []

    def add(self, name: str, ok: bool, code: str, /, **params: Any) -> None:
        self.checks.append(_check(name, ok, code, **params))

    def run(self) -> None:
        if not self._read_zip():
            return
        self._check_manifest()
        self._check_files()
        roots = self._trust_roots()
        self._check_minutes(roots)
        self._check_documents(roots)
        self._check_audit()

    # 1. the ZIP and its manifest ---------------------------------------------------------------------------

    def _read_zip(self) -> bool:
        try:
            zf = zipfile.ZipFile(io.BytesIO(self.data))
            infos = zf.infolist()
        except Exception as err:  # BadZipFile, a truncated central directory, garbage …
            self.add("zip", False, "zip.not_zip", reason=_reason(err))
            return False
        if len(infos) > MAX_ENTRIES:
            self.add("zip", False, "zip.too_many", count=len(infos), limit=MAX_ENTRIES)
            return False
        # Declared sizes bound what zipfile will inflate (it stops at file_size and checks the CRC).
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_SIZE:
            self.add("zip", False, "zip.too_large", size=total, limit=MAX_TOTAL_SIZE)
            return False
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                self.add("zip", False, "zip.ratio", path=info.filename,
                         ratio=info.file_size // max(info.compress_size, 1), limit=MAX_RATIO)
                return False
        self.add("zip", True, "zip.ok", count=len(infos), size=total)
        counts: dict[str, int] = {}
        for info in infos:
            counts[info.filename] = counts.get(info.filename, 0) + 1
        for info in infos:
            name = info.filename
            why = _unsafe_reason(name)
            if why:
                if counts[name] > 0:
                    self.add(f"zip.entry:{name}", False, "entry.unsafe", entry=repr(name), why=why)
                    counts[name] = 0
                continue
            if counts[name] > 1:
                self.duplicates[name] = counts[name]
                continue
            try:
                with zf.open(info) as fh:
                    body = fh.read(info.file_size + 1)
            except Exception as err:  # encrypted, bad CRC, unsupported method, header mismatch …
                self.unreadable[name] = _reason(err)
                continue
            self.content[name] = body
            self.sha[name] = hashlib.sha256(body).hexdigest()
        return True

    def _check_manifest(self) -> None:
        raw = self.content.get(MANIFEST_PATH)
        if raw is None:
            if MANIFEST_PATH in self.duplicates:
                self.add("manifest", False, "file.duplicate", count=self.duplicates[MANIFEST_PATH])
            elif MANIFEST_PATH in self.unreadable:
                self.add("manifest", False, "file.unreadable", reason=self.unreadable[MANIFEST_PATH])
            else:
                self.add("manifest", False, "manifest.missing")
            return
        try:
            doc = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            self.add("manifest", False, "manifest.bad_json", reason=_reason(err))
            return
        except ValueError as err:
            self.add("manifest", False, "manifest.bad_json", reason=_json_reason(err))
            return
        if not isinstance(doc, dict):
            self.add("manifest", False, "manifest.key", key="(top level object)")
            return
        if doc.get("format") != FORMAT:
            self.add("manifest", False, "manifest.format", format=repr(doc.get("format")), expected=FORMAT)
            return
        for key, kind in (("files", list), ("meeting", dict), ("audit", dict), ("created_at", str)):
            if not isinstance(doc.get(key), kind):
                self.add("manifest", False, "manifest.key", key=key)
                return
        audit = doc["audit"]
        if not _is_int(audit.get("length")) or not isinstance(audit.get("head"), str):
            self.add("manifest", False, "manifest.key", key="audit.length/audit.head")
            return
        seen: set[str] = set()
        for n, entry in enumerate(doc["files"], start=1):
            if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and entry["path"]
                    and _unsafe_reason(entry["path"]) is None and isinstance(entry.get("kind"), str)
                    and _is_hex64(entry.get("sha256")) and _is_int(entry.get("size")) and entry["size"] >= 0):
                self.add("manifest", False, "manifest.file_entry", n=n)
                return
            if entry["path"] in seen:
                self.add("manifest", False, "manifest.dup_path", path=entry["path"])
                return
            seen.add(entry["path"])
        for required in (MINUTES_PATH, AUDIT_PATH, TRUST_PATH, REPORT_PATH):
            if required not in seen:
                self.add("manifest", False, "manifest.required", path=required)
                return
        self.manifest = _Manifest(doc["files"], doc["meeting"], audit)
        self.add("manifest", True, "manifest.ok", format=FORMAT, count=len(doc["files"]))

    def _check_files(self) -> None:
        if self.manifest is None:
            return  # nothing to compare with; the manifest's own check says why
        listed = set()
        for entry in self.manifest.files:
            path = entry["path"]
            listed.add(path)
            name = f"file:{path}"
            expected_kind = _expected_kind(path)
            if expected_kind is None:
                self.add(name, False, "file.layout")
            elif entry["kind"] != expected_kind:
                self.add(name, False, "file.kind", kind=entry["kind"], expected=expected_kind)
            elif path in self.duplicates:
                self.add(name, False, "file.duplicate", count=self.duplicates[path])
            elif path in self.unreadable:
                self.add(name, False, "file.unreadable", reason=self.unreadable[path])
            elif path not in self.content:
                self.add(name, False, "file.missing")
            elif self.sha[path] != entry["sha256"]:
                self.add(name, False, "file.hash", actual=_short(self.sha[path]), expected=_short(entry["sha256"]))
            elif len(self.content[path]) != entry["size"]:
                self.add(name, False, "file.size", actual=len(self.content[path]), expected=entry["size"])
            else:
                self.add(name, True, "file.ok")
        for path in [*self.content, *self.duplicates, *self.unreadable]:
            if path != MANIFEST_PATH and path not in listed:
                self.add(f"file:{path}", False, "file.unexpected")

    def _trust_roots(self) -> list[x509.Certificate]:
        if self.given_roots:
            self.add("trust", True, "trust.given", count=len(self.given_roots))
            return list(self.given_roots)
        pem = self.content.get(TRUST_PATH)
        if pem is None:
            self.add("trust", False, "trust.missing")
            return []
        try:
            roots = load_certificates(pem)
        except Exception as err:
            self.add("trust", False, "trust.bad", reason=_reason(err))
            return []
        if not roots:
            self.add("trust", False, "trust.bad", reason="empty")
            return []
        self.add("trust", True, "trust.archive")
        return roots

    # 2.–3. the minutes, their signatures and their record ----------------------------------------------------

    def _check_minutes(self, roots: list[x509.Certificate]) -> None:
        pdf = self.content.get(MINUTES_PATH)
        if pdf is None:
            self.add("minutes", False, "minutes.missing")
            return
        report = verify_pdf(pdf, trust_roots=roots)
        if not report.signatures and not report.unsigned_fields and not report.removed_signatures \
                and report.verdict == Verdict.INVALID:
            self.add("minutes", False, "minutes.unreadable", reason=" ".join(report.problems))
            return
        pages, attachments = self._read_minutes_pdf(pdf)
        self.add("minutes", True, "minutes.ok", pages=pages if pages is not None else "?",
                 count=len(report.signatures))
        for sig in report.signatures:
            self._signature_check(sig)
        self._check_signers(report)
        self._check_coverage(report)
        if isinstance(attachments, str):
            self.add("minutes.record", False, "record.unreadable", reason=attachments)
        else:
            self._parse_record(attachments)
        self._check_record_meeting()

    def _signature_check(self, sig: SignatureReport) -> None:
        good = sig.verdict == Verdict.VALID
        time = sig.signing_time or sig.timestamp_time or "unknown time"
        if sig.kind == "document_timestamp":
            name = f"timestamp:{sig.field}"
            if good:
                self.add(name, True, "ts.ok", time=time)
            else:
                self.add(name, False, "ts.bad", time=time, problems=sig.problems)
            return
        name = f"signature:{sig.field}"
        signer = sig.signer_common_name or "unknown signer"
        if not good:
            self.add(name, False, "sig.bad", signer=signer, time=time, problems=sig.problems)
        elif sig.timestamp_time is not None and sig.signing_time is not None:
            self.add(name, True, "sig.ok_ts", signer=signer, time=sig.signing_time, ts_time=sig.timestamp_time)
        else:
            self.add(name, True, "sig.ok", signer=signer, time=time)

    def _check_signers(self, report: VerificationReport) -> None:
        signed = [s for s in report.signatures if s.kind == "signature"]
        actual = tuple(s.field for s in signed)
        expected = self.expected
        missing = tuple(f for f in expected if f not in actual)
        unexpected = tuple(f for f in actual if f not in expected or actual.count(f) > 1)
        if report.removed_signatures:
            self.add("minutes.signers", False, "signers.removed", fields=report.removed_signatures)
        elif not actual:
            self.add("minutes.signers", False, "signers.none", expected=expected)
        elif missing and unexpected:
            self.add("minutes.signers", False, "signers.mismatch", actual=actual, expected=expected)
        elif missing:
            self.add("minutes.signers", False, "signers.missing", missing=missing, actual=actual)
        elif unexpected:
            self.add("minutes.signers", False, "signers.unexpected", unexpected=unexpected, expected=expected)
        else:
            self.add("minutes.signers", True, "signers.ok", expected=expected)
        # Order: by signed revision, as verify_pdf lists them; signatures that could not even be parsed come
        # last there with no revision, so they say nothing about the order.
        ordered = tuple(s.field for s in signed if s.coverage is not None and s.field in expected)
        wanted = tuple(f for f in expected if f in ordered)
        if not ordered:
            return
        if ordered != wanted:
            self.add("minutes.order", False, "order.bad", order=ordered, expected=wanted)
        else:
            self.add("minutes.order", True, "order.ok", order=ordered)

    def _check_coverage(self, report: VerificationReport) -> None:
        parsed = [s for s in report.signatures if s.coverage is not None]
        if not parsed:
            return
        last = parsed[-1]
        if last.coverage != Coverage.ENTIRE_DOCUMENT:
            self.add("minutes.coverage", False, "coverage.after", field=last.field)
            return
        if last.kind == "document_timestamp":
            # Archival time-stamps may follow the last signature; nothing else may.
            signatures = [s for s in parsed if s.kind == "signature"]
            if signatures and signatures[-1].modification not in (Modification.NONE, None):
                self.add("minutes.coverage", False, "coverage.after_ts", field=signatures[-1].field)
                return
        self.add("minutes.coverage", True, "coverage.ok", field=last.field)

    def _read_minutes_pdf(self, pdf: bytes) -> tuple[int | None, list[bytes] | str]:
        """One pypdf pass: the page count, the embedded records (or why they cannot be read) and the text."""
        from pypdf import PdfReader

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pypdf warns about harmless oddities of real-world PDFs
                reader = PdfReader(io.BytesIO(pdf))
                pages = len(reader.pages)
                try:
                    found = reader.attachments.get(RECORD_ATTACHMENT)
                    attachments: list[bytes] | str = list(found) if found is not None else []
                except Exception as err:
                    attachments = _reason(err)
                try:
                    self.minutes_text = "\n".join(page.extract_text() or "" for page in reader.pages)
                except Exception as err:
                    self.minutes_text_error = _reason(err)
        except Exception as err:
            self.minutes_text_error = _reason(err)
            return None, _reason(err)
        return pages, attachments

    def _parse_record(self, raw: list[bytes]) -> None:
        name = "minutes.record"
        if not raw:
            self.add(name, False, "record.missing")
            return
        if len(raw) > 1:
            self.add(name, False, "record.multiple", count=len(raw))
            return
        try:
            record = json.loads(raw[0].decode("utf-8"))
        except UnicodeDecodeError as err:
            self.add(name, False, "record.bad_json", reason=_reason(err))
            return
        except ValueError as err:
            self.add(name, False, "record.bad_json", reason=_json_reason(err))
            return
        if not isinstance(record, dict):
            self.add(name, False, "record.key", key="(top level object)")
            return
        if record.get("format") != RECORD_FORMAT:
            self.add(name, False, "record.format", format=repr(record.get("format")), expected=RECORD_FORMAT)
            return
        meeting, head, agenda = record.get("meeting"), record.get("audit_head"), record.get("agenda")
        if not isinstance(meeting, dict) or not _is_int(meeting.get("id")):
            self.add(name, False, "record.key", key="meeting.id")
            return
        if not isinstance(head, dict) or not _is_int(head.get("length")) or not _is_hex64(head.get("hash")):
            self.add(name, False, "record.key", key="audit_head")
            return
        if not isinstance(agenda, list) or not all(isinstance(i, dict) for i in agenda):
            self.add(name, False, "record.key", key="agenda")
            return
        for n, item in enumerate(agenda):
            docs = item.get("documents", [])
            if not isinstance(docs, list) or not all(isinstance(d, dict) and _is_hex64(d.get("sha256"))
                                                     for d in docs):
                self.add(name, False, "record.key", key=f"agenda[{n}].documents")
                return
        self.record = record
        self.add(name, True, "record.ok", meeting_id=meeting["id"], documents=len(self._record_documents()))

    def _record_documents(self) -> list[dict[str, Any]]:
        """The documents the signed minutes list, once each (a document may serve two agenda items)."""
        assert self.record is not None
        seen: set[str] = set()
        docs = []
        for item in self.record["agenda"]:
            for doc in item.get("documents", []):
                if doc["sha256"] not in seen:
                    seen.add(doc["sha256"])
                    docs.append(doc)
        return docs

    def _check_record_meeting(self) -> None:
        if self.record is None or self.manifest is None:
            return
        record_id, manifest_id = self.record["meeting"]["id"], self.manifest.meeting.get("id")
        if record_id != manifest_id:
            self.add("manifest.meeting", False, "meeting.mismatch", manifest_id=manifest_id, record_id=record_id)
        else:
            self.add("manifest.meeting", True, "meeting.ok", meeting_id=record_id)

    # 4. the documents -------------------------------------------------------------------------------------

    def _check_documents(self, roots: list[x509.Certificate]) -> None:
        paths = [p for p in self.content if _expected_kind(p) == "document"]
        if self.record is not None:
            self._match_record_documents(paths)
        verified: dict[str, VerificationReport] = {}
        for path in paths:
            digest = self.sha[path]
            if digest not in verified:  # the same file twice is verified once
                verified[digest] = verify_pdf(self.content[path], trust_roots=roots)
            self._document_signatures(path, verified[digest])

    def _match_record_documents(self, paths: list[str]) -> None:
        by_sha: dict[str, list[str]] = {}
        for path in paths:
            by_sha.setdefault(self.sha[path], []).append(path)
        used: set[str] = set()
        for doc in self._record_documents():
            label = f"{doc['id']}-v{doc.get('version')}" if _is_int(doc.get("id")) else _short(doc["sha256"])
            info = {"number": doc.get("number") or doc.get("id", "?"), "version": doc.get("version", "?"),
                    "title": doc.get("title") or doc.get("filename") or "?"}
            found = [p for p in by_sha.get(doc["sha256"], []) if p not in used]
            if found:
                used.add(found[0])
                self.add(f"document:{label}", True, "doc.ok", path=found[0], **info)
                continue
            same_name = [p for p in paths if p not in used and _doc_label(p) == label]
            if same_name:
                used.add(same_name[0])
                self.add(f"document:{label}", False, "doc.changed", path=same_name[0],
                         actual=_short(self.sha[same_name[0]]), expected=_short(doc["sha256"]), **info)
            else:
                self.add(f"document:{label}", False, "doc.missing", expected=_short(doc["sha256"]), **info)
        for path in paths:
            if path not in used:
                self.add(f"document:{_doc_label(path)}", False, "doc.unlisted", path=path)

    def _document_signatures(self, path: str, report: VerificationReport) -> None:
        name = f"document.signatures:{_doc_label(path)}"
        if report.removed_signatures:
            self.add(name, False, "docsig.removed", path=path, fields=report.removed_signatures)
            return
        if report.verdict == Verdict.UNSIGNED or (not report.signatures and report.verdict != Verdict.INVALID):
            self.add(name, False, "docsig.unsigned", path=path)
            return
        if not report.signatures:
            self.add(name, False, "docsig.unreadable", path=path)
            return
        for sig in report.signatures:
            if sig.verdict != Verdict.VALID:
                self.add(name, False, "docsig.bad", path=path, field=sig.field,
                         signer=sig.signer_common_name or "unknown signer", problems=sig.problems)
                return
        signers = ", ".join(dict.fromkeys(s.signer_common_name or "unknown signer" for s in report.signatures))
        self.add(name, True, "docsig.ok", path=path, signers=signers)

    # 5.–6. the audit log ----------------------------------------------------------------------------------

    def _check_audit(self) -> None:
        raw = self.content.get(AUDIT_PATH)
        if raw is None:
            self.add("audit.chain", False, "audit.missing")
            return
        self._parse_audit(raw)
        chain = self._check_chain()
        self._check_head()
        self._check_manifest_audit(chain)

    def _parse_audit(self, raw: bytes) -> None:
        lines = raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        expected_chain = f"meeting:{self.record['meeting']['id']}" if self.record is not None else None
        broken = 0
        for number, line in enumerate(lines, start=1):
            problem = self._audit_line(number, line, expected_chain)
            if problem is None:
                if expected_chain is None:
                    expected_chain = self.audit[-1].record.get("chain")
                continue
            broken += 1
            if broken <= MAX_LINE_CHECKS:
                code, params = problem
                self.add(f"audit.line:{number}", False, code, line=number, **params)
        if broken > MAX_LINE_CHECKS:
            last_named = [c for c in self.checks if c.name.startswith("audit.line:")][-1]
            self.add("audit.lines", False, "line.more", count=broken - MAX_LINE_CHECKS,
                     line=last_named.params["line"])

    def _audit_line(self, number: int, line: bytes, expected_chain: str | None) -> tuple[str, dict] | None:
        if not line.strip():
            return "line.empty", {}
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return "line.encoding", {}
        try:
            entry = json.loads(text)
        except ValueError as err:
            return "line.json", {"reason": _json_reason(err).split(": ", 1)[-1]}
        if not isinstance(entry, dict):
            return "line.shape", {"key": "(object)"}
        for key, ok in (("idx", _is_int), ("prev_hash", lambda v: isinstance(v, str)),
                        ("hash", lambda v: isinstance(v, str)), ("record", lambda v: isinstance(v, dict))):
            if not ok(entry.get(key)):
                return "line.shape", {"key": key}
        record = entry["record"]
        if record.get("idx") != entry["idx"]:
            return "line.idx", {"outer": entry["idx"], "inner": record.get("idx")}
        if expected_chain is not None and record.get("chain") != expected_chain:
            return "line.chain", {"chain": repr(record.get("chain")), "expected": repr(expected_chain)}
        self.audit.append(_AuditLine(number, entry["idx"], entry["prev_hash"], entry["hash"], record))
        return None

    def _check_chain(self) -> tuple[int, str]:
        """Check the chain; return (length, hash) of its last entry as read, for the manifest's check."""
        entries = self.audit
        if not entries:
            self.add("audit.chain", False, "chain.empty")
            return 0, GENESIS
        try:
            report = verify_chain((e.idx, e.prev_hash, e.hash, e.record) for e in entries)
        except (TypeError, ValueError) as err:  # a record canonical JSON cannot encode (NaN …)
            self.add("audit.chain", False, "internal", reason=_reason(err))
            return entries[-1].idx, entries[-1].hash
        if report.ok:
            self.add("audit.chain", True, "chain.ok", length=report.length, head=report.head)
            return report.length, report.head
        bad = entries[report.length]  # the first entry verify_chain did not accept
        if report.reason and report.reason.endswith("is missing"):
            wanted = report.first_bad_index
            elsewhere = next((e for e in entries[report.length + 1:] if e.idx == wanted), None)
            if elsewhere is not None:
                self.add("audit.chain", False, "chain.order", idx=wanted, at_line=elsewhere.line, line=bad.line,
                         found=bad.idx)
            else:
                self.add("audit.chain", False, "chain.missing", idx=wanted, line=bad.line, found=bad.idx)
        elif report.reason and "link" in report.reason:
            self.add("audit.chain", False, "chain.link", line=bad.line, idx=bad.idx)
        else:
            self.add("audit.chain", False, "chain.content", line=bad.line, idx=bad.idx)
        return entries[-1].idx, entries[-1].hash

    def _check_head(self) -> None:
        if self.record is None:
            return  # minutes.record already failed: there is no signed head to look for
        head = self.record["audit_head"]
        length, digest = head["length"], head["hash"]
        if length == 0:
            found: str | None = GENESIS
        else:
            found = next((e.hash for e in self.audit if e.idx == length), None)
        if found is None:
            self.add("audit.head", False, "head.absent", length=length)
        elif found != digest:
            self.add("audit.head", False, "head.mismatch", length=length, actual=_short(found),
                     expected=_short(digest))
        else:
            self.add("audit.head", True, "head.ok", length=length, hash=_short(digest))
        if self.minutes_text is None:
            self.add("audit.head_printed", False, "printed.unreadable", reason=self.minutes_text_error or "?")
        elif digest.lower() in "".join(self.minutes_text.split()).lower():
            self.add("audit.head_printed", True, "printed.ok", hash=_short(digest))
        else:
            self.add("audit.head_printed", False, "printed.missing", hash=digest)

    def _check_manifest_audit(self, last: tuple[int, str]) -> None:
        if self.manifest is None:
            return
        m_length, m_head = self.manifest.audit["length"], self.manifest.audit["head"]
        length, head = last
        if (m_length, m_head) != (length, head):
            self.add("manifest.audit", False, "maudit.mismatch", m_length=m_length, m_head=_short(m_head),
                     length=length, head=_short(head))
        else:
            self.add("manifest.audit", True, "maudit.ok", length=length, head=_short(head))


def verify_archive(data: bytes, *, trust_roots: list[x509.Certificate] | None = None,
                   expected_signers: tuple[str, ...] = ("secretary", "chair", "seal")) -> ArchiveReport:
    """Check an archive ZIP offline; never raises. ``trust_roots`` default to the archive's own."""
    verifier = _Verifier(data, trust_roots, expected_signers)
    try:
        verifier.run()
    except Exception as err:  # a bug must still end in a report that says verification did not finish
        verifier.add("internal", False, "internal", reason=_reason(err))
    checks = verifier.checks
    return ArchiveReport(ok=bool(checks) and all(c.ok for c in checks), checks=checks)


# ---- the CLI's text -----------------------------------------------------------------------------------------

_LABELS_VI = {
    "zip": "Tệp nén", "manifest": "Danh mục (manifest.json)", "trust": "Chứng thư gốc tin cậy",
    "minutes": "Biên bản", "minutes.signers": "Người ký biên bản", "minutes.order": "Thứ tự ký",
    "minutes.coverage": "Phạm vi chữ ký cuối", "minutes.record": "Dữ liệu biên bản (minutes-record.json)",
    "manifest.meeting": "Cuộc họp trong danh mục", "audit.chain": "Chuỗi nhật ký",
    "audit.head": "Mã đầu chuỗi nhật ký", "audit.head_printed": "Mã đầu chuỗi in trong biên bản",
    "audit.lines": "Nhật ký", "manifest.audit": "Nhật ký trong danh mục", "internal": "Kiểm tra",
}
_PREFIX_LABELS_VI = {
    "zip.entry:": "Mục trong tệp nén ", "file:": "Tệp ", "signature:": "Chữ ký ", "timestamp:": "Dấu thời gian ",
    "document.signatures:": "Chữ ký tài liệu ", "document:": "Tài liệu ", "audit.line:": "Nhật ký dòng ",
}


def _label(name: str, lang: str) -> str:
    if lang != "vi":
        return name
    if name in _LABELS_VI:
        return _LABELS_VI[name]
    for prefix, label in _PREFIX_LABELS_VI.items():
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return label + (_FIELDS_VI.get(rest, rest) if prefix == "signature:" else rest)
    return name


def _lines(report: ArchiveReport, lang: str) -> Iterator[str]:
    for check in report.checks:
        yield f"{'✓' if check.ok else '✗'} {_label(check.name, lang)}: {check.render(lang)}"
    n = len(report.problems())
    if lang == "vi":
        yield ("Hồ sơ lưu trữ nguyên vẹn: mọi chữ ký và mã băm đều hợp lệ." if report.ok
               else f"Hồ sơ lưu trữ KHÔNG nguyên vẹn: {n} lỗi.")
    else:
        yield ("The archive is intact: every signature and hash is valid." if report.ok
               else f"The archive is NOT intact: {n} problem{'s' if n != 1 else ''}.")


def format_report(report: ArchiveReport, *, lang: str = "vi") -> str:
    """The CLI's text: one ✓/✗ line per check, then the verdict. Vietnamese unless ``lang="en"``."""
    return "\n".join(_lines(report, "en" if lang == "en" else "vi"))
