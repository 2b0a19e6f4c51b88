"""The minutes' PDF: PDF/A-3b, fonts embedded, the record attached, the text, and three signable fields."""
from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import subprocess
import time
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pikepdf
import pypdf
import pytest
import weasyprint

from meetings.minutes.render import (
    _CELL_PAD_PX,
    _ROSTER_STARTS,
    _ROSTER_WIDTH_PX,
    RECORD_ATTACHMENT,
    RenderedMinutes,
    canonical_record_json,
    render_minutes,
)
from meetings.signing import pades, pki
from meetings.signing.verify import Verdict, verify_pdf
from tests.minutes.sample_record import CHAIR, SECRETARY, sample_record
from tests.signing.helpers import render_page_png

ORG_NAME = "Hội đồng nhân dân tỉnh Hòa Bình"
CREATED_AT = dt.datetime(2026, 11, 21, 10, 5, tzinfo=dt.timezone.utc)

Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def record() -> dict:
    return sample_record()


@pytest.fixture(scope="module")
def rendered(record: dict) -> RenderedMinutes:
    return render_minutes(record, created_at=CREATED_AT)


@pytest.fixture(scope="module")
def minutes_output(output_dir: Path) -> Path:
    path = output_dir / "minutes"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def pdf_path(rendered: RenderedMinutes, minutes_output: Path) -> Path:
    path = minutes_output / "bien-ban.pdf"
    path.write_bytes(rendered.pdf)
    return path


@pytest.fixture(scope="module")
def page_count(rendered: RenderedMinutes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(rendered.pdf)).pages)


def _pdftotext(path: Path, *extra: str) -> str:
    return subprocess.run(["pdftotext", *extra, str(path), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode("utf-8")


def _pypdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _squash(text: str) -> str:
    """Line breaks and runs of spaces as single spaces: wrapped text compared with what was written."""
    return re.sub(r"\s+", " ", text)


def _has_line_with(text: str, needle: str) -> bool:
    return any(needle in line for line in text.splitlines())


def _overlap(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


class _Words(HTMLParser):
    """Word boxes from ``pdftotext -bbox`` (points, top-left origin), per page."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[list[tuple[str, Box]]] = []
        self._word: Box | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "page":
            self.pages.append([])
        elif tag == "word":
            x1, y1, x2, y2 = (float(values[k] or 0) for k in ("xmin", "ymin", "xmax", "ymax"))
            self._word = (x1, y1, x2, y2)

    def handle_data(self, data: str) -> None:
        if self._word is not None and data.strip():
            self.pages[-1].append((data, self._word))
            self._word = None


# ---- PDF/A ------------------------------------------------------------------------------------------------

def _assert_pdfa_3b(pdf_bytes: bytes) -> None:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "B"
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1
        assert intents[0].S == pikepdf.Name("/GTS_PDFA1")
        assert "/DestOutputProfile" in intents[0]


def test_declares_pdfa_3b_with_an_output_intent(rendered: RenderedMinutes) -> None:
    _assert_pdfa_3b(rendered.pdf)


def test_every_font_is_embedded_and_is_liberation(rendered: RenderedMinutes, pdf_path: Path) -> None:
    with pikepdf.open(io.BytesIO(rendered.pdf)) as pdf:
        descriptors = [obj for obj in pdf.objects
                       if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == pikepdf.Name("/FontDescriptor")]
        assert descriptors
        for descriptor in descriptors:
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), descriptor.FontName
        families = {str(d.FontName).split("+", 1)[-1] for d in descriptors}
    assert "Liberation-Serif" in families and "Liberation-Serif-Bold" in families
    assert families <= {"Liberation-Serif", "Liberation-Serif-Bold", "Liberation-Serif-Italic",
                        "Liberation-Serif-Bold-Italic", "Liberation-Mono"}, families

    listing = subprocess.run(["pdffonts", str(pdf_path)], check=True, capture_output=True, timeout=60).stdout.decode()
    rows = listing.splitlines()[2:]
    assert rows
    for row in rows:
        emb = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row)
        assert emb and emb.group(1) == "yes", row


# ---- the attached record ---------------------------------------------------------------------------------

def test_record_is_attached_as_canonical_json(rendered: RenderedMinutes, record: dict) -> None:
    with pikepdf.open(io.BytesIO(rendered.pdf)) as pdf:
        attached = pdf.attachments[RECORD_ATTACHMENT]
        data = attached.get_file().read_bytes()
        assert attached.get_file().mime_type == "application/json"
        # PDF/A-3: the file is associated with the document, and says how.
        associated = [str(spec.UF) for spec in pdf.Root.AF]
        assert associated == [RECORD_ATTACHMENT]
        assert pdf.Root.AF[0].AFRelationship == pikepdf.Name("/Data")
    assert data == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert data == canonical_record_json(record)
    assert json.loads(data) == record


def test_rendering_is_reproducible(record: dict, rendered: RenderedMinutes) -> None:
    again = render_minutes(copy.deepcopy(record), created_at=CREATED_AT)
    assert again.pdf == rendered.pdf
    assert again.fields == rendered.fields


# ---- the text ----------------------------------------------------------------------------------------------

def test_text_is_extractable_with_vietnamese_diacritics(rendered: RenderedMinutes, pdf_path: Path,
                                                         record: dict) -> None:
    named = next(p for item in record["agenda"] for p in item["polls"] if not p["secret"])
    document = record["agenda"][0]["documents"][0]
    conclusion = record["agenda"][0]["conclusions"].splitlines()[1]
    audit_hash = record["audit_head"]["hash"]
    for text in (_pypdf_text(rendered.pdf), _pdftotext(pdf_path)):
        assert unicodedata.is_normalized("NFC", text)
        flat = _squash(text)
        for needle in ("BIÊN BẢN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                       "HỘI ĐỒNG NHÂN DÂN TỈNH", "Số: 15/BB-HĐND", record["place_date"],
                       SECRETARY["full_name"], CHAIR["full_name"], "Vắng có lý do", "Thông qua", "Bỏ phiếu kín",
                       "Kết luận:", conclusion, named["options"][0]["names"][0], "Trang 1/"):
            assert needle in flat, needle
        # The verifier searches for these whole, so neither may be wrapped or hyphenated.
        assert _has_line_with(text, audit_hash)
        assert _has_line_with(text, document["sha256"])


def test_conclusions_keep_their_line_breaks(pdf_path: Path, record: dict) -> None:
    lines = [line.strip() for line in _pdftotext(pdf_path).splitlines()]
    for conclusion in record["agenda"][0]["conclusions"].splitlines():
        assert any(line.startswith(conclusion[:25]) for line in lines), conclusion


def test_secret_polls_show_counts_only(record: dict) -> None:
    secret = copy.deepcopy(record)
    poll = next(p for item in secret["agenda"] for p in item["polls"] if p["secret"])
    poll["options"][0]["names"] = ["Người Không Được In"]  # even if a caller leaked a name, it is not printed
    text = _squash(_pypdf_text(render_minutes(secret).pdf))
    assert "Người Không Được In" not in text
    assert f"Tán thành: {poll['options'][0]['count']}" in text


def test_decomposed_input_is_printed_composed(record: dict) -> None:
    nfd = copy.deepcopy(record)
    name = "Phạm Thị Ngọc Quỳnh"
    nfd["secretary"]["full_name"] = unicodedata.normalize("NFD", name)
    text = _pypdf_text(render_minutes(nfd).pdf)
    assert name in text


def test_markup_in_the_record_is_printed_literally(record: dict) -> None:
    tricky = copy.deepcopy(record)
    tricky["general_notes"] = 'Ghi chú <b>đậm</b> & "trích dẫn" <img src="file:///etc/passwd">'
    text = _squash(_pypdf_text(render_minutes(tricky).pdf))
    assert 'Ghi chú <b>đậm</b> & "trích dẫn" <img src="file:///etc/passwd">' in text


def test_parent_body_is_printed_above_the_body(record: dict) -> None:
    child = copy.deepcopy(record)
    child["body"] = {"name": "Sở Tài chính", "parent_name": "Ủy ban nhân dân tỉnh Hòa Bình"}
    text = _squash(_pypdf_text(render_minutes(child).pdf))
    assert text.index("ỦY BAN NHÂN DÂN TỈNH HÒA BÌNH") < text.index("SỞ TÀI CHÍNH")


def test_participant_table_columns_line_up(record: dict, tmp_path: Path) -> None:
    """The table's text is laid out by render.py: every column's text starts at its column and ends before the
    next one, including wrapped names and a note with a word too long for any line."""
    awkward = copy.deepcopy(record)
    rows = awkward["sessions"][0]["rows"]
    rows[2]["full_name"] = "Công Tằng Tôn Nữ Thị Phương Thảo Quỳnh Anh"
    rows[4]["note"] = "Xem https://hdnd.hoabinh.gov.vn/tai-lieu/ky-hop-thu-muoi-hai/danh-sach-uy-quyen.pdf\nđã ký"
    rows[6]["role_label"] = "Phó Trưởng ban Kinh tế - Ngân sách Hội đồng nhân dân tỉnh"
    path = tmp_path / "awkward.pdf"
    path.write_bytes(render_minutes(awkward).pdf)
    parser = _Words()
    parser.feed(_pdftotext(path, "-bbox", "-f", "1", "-l", "1"))
    words = parser.pages[0]
    header_y = next(box[1] for word, box in words if word == "STT")
    end_y = next((box[1] for word, box in words if word in ("Phiên", "Trang") and box[1] > header_y), 842.0)
    left = 30 / 25.4 * 72  # the page's left margin
    rules = [left + x * 0.75 for x in (*_ROSTER_STARTS, _ROSTER_WIDTH_PX)]
    lines: dict[float, list[tuple[str, Box]]] = {}
    for word, box in words:
        if header_y <= box[1] < end_y:
            lines.setdefault(round(box[1], 1), []).append((word, box))
    assert len(lines) > len(rows) + 1, "some cells were wrapped"
    for line in lines.values():
        for column, (rule, next_rule) in enumerate(zip(rules, rules[1:])):
            cell = [box for _, box in line if rule <= box[0] < next_rule]
            if cell:
                text_start = rule + _CELL_PAD_PX * 0.75
                assert min(b[0] for b in cell) == pytest.approx(text_start, abs=0.8), (column, line)
                assert max(b[2] for b in cell) < next_rule, (column, line)
    flat = _squash(_pdftotext(path))
    assert "Công Tằng Tôn Nữ Thị Phương" in flat and "đã ký" in flat


# ---- the signature fields ----------------------------------------------------------------------------------

def test_three_fields_on_the_last_page_in_signing_order(rendered: RenderedMinutes, page_count: int) -> None:
    names = [(f.name, f.label) for f in rendered.fields]
    assert names == [("secretary", "Thư ký"), ("chair", "Chủ tọa"), ("seal", "Con dấu")]
    assert {f.page for f in rendered.fields} == {page_count - 1}
    secretary, chair, seal = (f.box for f in rendered.fields)
    assert secretary is not None and chair is not None and seal is not None
    for box in (secretary, chair):
        assert box[2] - box[0] == pytest.approx(150, abs=1) and box[3] - box[1] == pytest.approx(70, abs=1)
    assert chair[0] > secretary[2], "the chair signs in the right-hand column"
    assert chair[1] == pytest.approx(secretary[1])
    assert seal[2] - seal[0] == pytest.approx(102, abs=3) and seal[3] - seal[1] == pytest.approx(102, abs=3)
    # The seal covers about the left third of the chair's signature (Decree 30, Appendix I).
    assert 0.25 <= _overlap(seal, chair) / _area(chair) <= 0.42
    assert seal[0] < chair[0] < seal[2] < chair[2]
    assert (seal[1] + seal[3]) / 2 == pytest.approx((chair[1] + chair[3]) / 2)
    assert _overlap(seal, secretary) == 0


def test_fields_are_inside_the_page_and_free_of_text(rendered: RenderedMinutes, pdf_path: Path,
                                                     page_count: int) -> None:
    with pikepdf.open(io.BytesIO(rendered.pdf)) as pdf:
        x1, y1, x2, y2 = (float(v) for v in pdf.pages[-1].MediaBox)
    height = y2 - y1
    parser = _Words()
    parser.feed(_pdftotext(pdf_path, "-bbox", "-f", str(page_count), "-l", str(page_count)))
    words = parser.pages[0]
    assert any(w == "THƯ" for w, _ in words), "the signature block is on the last page"
    for field in rendered.fields:
        assert field.box is not None
        fx1, fy1, fx2, fy2 = field.box
        assert x1 <= fx1 < fx2 <= x2 and y1 <= fy1 < fy2 <= y2, field
        # The signature images and the signer's details are drawn there: nothing of the text may be under them.
        top_left = (fx1, height - fy2, fx2, height - fy1)
        covered = [w for w, box in words if _overlap(box, top_left) > 0]
        assert not covered, (field.name, covered)


def test_fields_sign_in_order_and_verify(rendered: RenderedMinutes, record: dict) -> None:
    test_pki = pki.create_test_pki(ORG_NAME, province="Hòa Bình")
    secretary = pki.issue_personal_certificate(test_pki.root, SECRETARY["full_name"], organisation=ORG_NAME,
                                               title="Thư ký")
    chair = pki.issue_personal_certificate(test_pki.root, CHAIR["full_name"], organisation=ORG_NAME,
                                           title="Chủ tọa")
    pdf = pades.prepare_fields(rendered.pdf, rendered.fields)
    assert verify_pdf(pdf, trust_roots=test_pki.trust_roots).unsigned_fields == ("chair", "seal", "secretary")
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for step, (field, signer) in enumerate([("secretary", secretary), ("chair", chair),
                                            ("seal", test_pki.organisation)], start=1):
        pdf = pades.sign_field(pdf, field, signer=signer, signing_time=start + dt.timedelta(minutes=step))
    report = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.VALID, report.summary
    assert [s.field for s in report.signatures] == ["secretary", "chair", "seal"]
    assert all(s.verdict == Verdict.VALID for s in report.signatures)
    assert [s.signer_common_name for s in report.signatures] == [SECRETARY["full_name"], CHAIR["full_name"],
                                                                  ORG_NAME]
    # Incremental updates leave the PDF/A declaration and the attached record as they were signed.
    _assert_pdfa_3b(pdf)
    with pikepdf.open(io.BytesIO(pdf)) as signed:
        assert signed.attachments[RECORD_ATTACHMENT].get_file().read_bytes() == canonical_record_json(record)


# ---- for a human to look at, and the size that matters ---------------------------------------------------

def test_first_and_last_page_images(pdf_path: Path, page_count: int, minutes_output: Path) -> None:
    first = render_page_png(pdf_path, minutes_output / "bien-ban-page-1", dpi=60, page=1)
    last = render_page_png(pdf_path, minutes_output / "bien-ban-last-page", dpi=60, page=page_count)
    assert first.stat().st_size > 0 and last.stat().st_size > 0


def test_uses_weasyprints_user_agent_hook() -> None:
    # render.py replaces the user-agent stylesheet through this private hook; if it goes, rendering still
    # works but loses its speed-up, so say so here rather than in a benchmark.
    assert callable(getattr(weasyprint.HTML, "_ua_stylesheets", None))


@pytest.mark.slow
def test_a_national_assembly_sized_record_renders(minutes_output: Path) -> None:
    big = sample_record(500, 20, polls=50)
    started = time.perf_counter()
    result = render_minutes(big)
    elapsed = time.perf_counter() - started
    print(f"\n500 participants x 2 sessions, 20 items, 50 polls: {elapsed:.2f} s")  # noqa: T201
    (minutes_output / "bien-ban-500.pdf").write_bytes(result.pdf)
    pages = len(pypdf.PdfReader(io.BytesIO(result.pdf)).pages)
    assert {f.page for f in result.fields} == {pages - 1}


def test_a_large_body_lists_the_exceptions_by_name_and_counts_the_others(tmp_path):
    big = sample_record(participants=150, items=1, polls_per_item=0)
    rows = big["sessions"][0]["rows"]
    present = [r for r in rows if r["status"] == "present" and not r["note"]]
    others = [r for r in rows if r not in present]
    assert present and others
    text = _squash(_pypdf_text(render_minutes(big, created_at=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)).pdf))
    assert _squash(f"{len(present)} đại biểu còn lại có mặt đầy đủ") in text
    # A long name wraps inside its column, so its words are looked for one by one.
    assert all(_squash(word) in text for r in others for word in r["full_name"].split())
    assert not any(_squash(f"{r['full_name']} {r['role_label']} {r['status_label']}") in text for r in present)
    # The same pattern does find the rows of a small body, which lists everyone.
    small = sample_record(participants=12, items=1, polls_per_item=0)
    small_text = _squash(_pypdf_text(render_minutes(small).pdf))
    shown = [r for r in small["sessions"][0]["rows"]
             if len(r["full_name"]) < 18 and len(r["role_label"]) <= 10 and not r["note"]]  # one line each
    assert shown and all(_squash(f"{r['full_name']} {r['role_label']} {r['status_label']}") in small_text
                         for r in shown)
