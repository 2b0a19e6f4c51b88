"""The minutes (biên bản) as a PDF/A-3b document, with the record it was made from attached.

Pure: a record dict in (schema ``phonghop-minutes/1``, every string already Vietnamese), bytes and the places
of the three signature fields out. The record travels inside the PDF as the associated file
``minutes-record.json`` (canonical JSON), so the signatures cover it and the archive verifier can read back
exactly what was signed. Layout: Decree 30/2020/NĐ-CP, A4, Liberation Serif (metric-compatible with Times New
Roman), every font embedded as PDF/A requires.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import subprocess
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
import uharfbuzz as hb
import weasyprint
from weasyprint.css import ColorProfile
from weasyprint.text.fonts import FontConfiguration

from meetings.core.chain import canonical_json
from meetings.minutes.archive import RECORD_ATTACHMENT
from meetings.signing.pades import FieldSpec

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
TEMPLATE = "minutes/pdf/bien_ban.html"
STYLESHEET = TEMPLATES_DIR / "minutes" / "pdf" / "bien_ban.css"

PDF_VARIANT = "pdf/a-3b"

SECRETARY_FIELD = "secretary"
CHAIR_FIELD = "chair"
SEAL_FIELD = "seal"
# Element ids in the template whose laid-out boxes become the officials' signature fields.
_FIELD_ANCHORS = {SECRETARY_FIELD: "sig-secretary", CHAIR_FIELD: "sig-chair"}

_PT_PER_PX = 0.75  # 72 PDF points per inch / 96 CSS pixels per inch
SEAL_SIZE_PT = 102.0  # a 36 mm seal at real size (Decree 30: the seal is printed at its true size)
SEAL_OVERLAP = 1 / 3  # of the chair's field, on its left side

Box = tuple[float, float, float, float]


class MinutesRenderError(Exception):
    """The record could not be laid out as minutes; ``str(err)`` is a one-line reason."""


@dataclass(frozen=True)
class RenderedMinutes:
    pdf: bytes
    fields: list[FieldSpec]  # create with pades.prepare_fields, sign in this order


def canonical_record_json(record: dict[str, Any]) -> bytes:
    """The attachment's exact bytes: what the verifier compares against after reading it back."""
    return canonical_json(record).encode("utf-8")


def _nfc(value: Any) -> Any:
    # Decomposed input (e.g. pasted from macOS) would otherwise be drawn with stacked combining marks,
    # and the extracted text would not match what a search for the name expects.
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                              finalize=_nfc, undefined=jinja2.StrictUndefined, auto_reload=False)


@functools.cache
def _style() -> tuple[FontConfiguration, weasyprint.CSS]:
    # Parsed once per process: the font configuration must be the one the stylesheet was made with.
    fonts = FontConfiguration()
    return fonts, weasyprint.CSS(filename=str(STYLESHEET), font_config=fonts)


# Replaces WeasyPrint's HTML user-agent stylesheet: that one matches a dozen universal pseudo-element rules
# (footnotes, notes, markers) against every element, which on a 500-delegate record is a third of the time
# spent on styles. The template uses only these elements, and says everything else in bien_ban.css.
_UA_CSS = """
html, body, div, p, h1, h2, h3, h4 { display: block }
head, title, meta, style, script { display: none }
table { display: table; box-sizing: border-box; border-spacing: 2px; border-collapse: separate }
thead { display: table-header-group }
tbody { display: table-row-group }
tr { display: table-row }
td { display: table-cell; padding: 1px }
thead, tbody, table > tr { vertical-align: middle }
tr, td { vertical-align: inherit }
h1, h2, h3, h4, b, strong { font-weight: bold }
i, em { font-style: italic }
br::before { content: "\\A"; white-space: pre-line }
h1 { bookmark-level: 1 }
h2 { bookmark-level: 2 }
h3 { bookmark-level: 3 }
h1, h2, h3 { bookmark-label: content(text) }
h1, h2, h3, h4 { break-after: avoid; break-inside: avoid }
@page { @bottom-center { text-align: center; vertical-align: middle } }
"""


@functools.cache
def _user_agent_stylesheet() -> weasyprint.CSS:
    return weasyprint.CSS(string=_UA_CSS)


class _MinutesHTML(weasyprint.HTML):
    # WeasyPrint's own tests swap the user-agent stylesheet through this hook; pinned with weasyprint==70.0.
    def _ua_stylesheets(self, forms: bool = False) -> list[weasyprint.CSS]:
        return [_user_agent_stylesheet()]


@functools.cache
def _srgb_profile() -> bytes:
    return (resources.files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()


_OUTPUT_INTENT = "minutes-srgb"


def _color_profiles() -> dict[str, ColorProfile]:
    # PDF/A needs an output intent. WeasyPrint's own ("srgb") opens its ICC file and never closes it (a
    # ResourceWarning per document); the same profile handed in from memory is the same output intent. A
    # fresh object per document: WeasyPrint stores the PDF object number on it while writing.
    return {_OUTPUT_INTENT: ColorProfile(BytesIO(_srgb_profile()), "sRGB2014.icc", "relative-colorimetric",
                                         (["r"], ["g"], ["b"]))}


# ---- text laid out here rather than by WeasyPrint --------------------------------------------------------
# WeasyPrint 70 costs ~0.4 ms per line box: a table cell is one, so a 5-column participant table of 1,000 rows
# took 3 s and named polls' name lists another 1.5 s of a 500-delegate record. Both are therefore broken into
# lines here, measured with HarfBuzz on the very font file Pango uses (the widths agree to 0.01 px), and
# printed as preformatted text: one line box per table row, columns reached by spaces and a tab stop.

_PX_PER_PT = 96 / 72
_BODY_FONT_PX = 11 * _PX_PER_PT  # the participant table and the name lists (bien_ban.css: 11pt)


class _Measure:
    """Advance widths of one font file, as HarfBuzz shapes the text (kerning included)."""

    def __init__(self, path: str) -> None:
        face = hb.Face(hb.Blob.from_file_path(path))
        self._font = hb.Font(face)
        self._scale = _BODY_FONT_PX / face.upem
        # Roles, statuses and the names of a 500-member body recur in every session and poll.
        self.width = functools.lru_cache(maxsize=50_000)(self._width)

    def _width(self, text: str) -> float:
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        hb.shape(self._font, buf, {})
        return sum(pos.x_advance for pos in buf.glyph_positions) * self._scale


def _font_file(pattern: str) -> str:
    # Whatever fontconfig resolves is what Pango draws with, so that is the file to measure.
    try:
        found = subprocess.run(["fc-match", "--format=%{file}", pattern], capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if not found:
        raise MinutesRenderError(f"fontconfig cannot find the font '{pattern}' (install fontconfig and "
                                 "fonts-liberation2)")
    return found


@functools.cache
def _measure(style: str) -> _Measure:
    return _Measure(_font_file(f"Liberation Serif:style={style}"))


def _wrap(text: str, width: float, measure: _Measure) -> list[str]:
    """Greedy line breaking at spaces (and at the record's own newlines); a word wider than a line is cut."""
    lines: list[str] = []
    for paragraph in _nfc(text).split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and measure.width(candidate) > width:
                lines.append(line)
                candidate = word
            while len(candidate) > 1 and measure.width(candidate) > width:
                cut = next((i for i in range(len(candidate) - 1, 0, -1)
                            if measure.width(candidate[:i]) <= width), 1)
                lines.append(candidate[:cut])
                candidate = candidate[cut:]
            line = candidate
        if line:
            lines.append(line)
    return lines


# The participant table: where each column's text starts, in CSS px from the table's inner left edge. Pango's
# tab stops are evenly spaced, so every column starts on a multiple of the tab size; the rules between the
# columns are the table's background.
_TAB_PX = 12
_CELL_PAD_PX = 4
_ROSTER_WIDTH_PX = 600  # the A4 text width is 604.7 px (bien_ban.css: 210 mm − 30 mm − 20 mm)
_ROSTER_HEADERS = ("STT", "Họ và tên", "Chức vụ/vai trò", "Tình trạng", "Ghi chú")
_ROSTER_STARTS = (0, 36, 204, 360, 480)
_ROSTER_LIMITS = tuple(end - start - 2 * _CELL_PAD_PX
                       for start, end in zip(_ROSTER_STARTS, (*_ROSTER_STARTS[1:], _ROSTER_WIDTH_PX)))
_RULE_PX = 0.5 * _PX_PER_PT
_RULES_SVG = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_ROSTER_WIDTH_PX}" height="4">'
              + "".join(f'<rect x="{x:.3f}" width="{_RULE_PX:.3f}" height="4"/>'
                        for x in (0, *_ROSTER_STARTS[1:], _ROSTER_WIDTH_PX - _RULE_PX))
              + "</svg>")
# The vertical rules: a strip tiled down the table (WeasyPrint 70 ignores background-size on gradients).
_ROSTER_CSS = f"""
table.roster {{ width: {_ROSTER_WIDTH_PX}px; border-collapse: separate; border-spacing: 0;
  border-top: 0.5pt solid #000; background-repeat: repeat-y;
  background-image: url("data:image/svg+xml;base64,{base64.b64encode(_RULES_SVG.encode()).decode()}"); }}
table.roster td {{ padding: 0.5pt {_CELL_PAD_PX}px; white-space: pre; tab-size: {_TAB_PX}px;
  border-bottom: 0.5pt solid #000; vertical-align: top; }}
"""


# A tab after text lands exactly on the next stop, but on this Pango build each further tab advances 1.024
# stops; so every column is reached with fixed-width spaces to within one stop, then a single tab
# (test_participant_table_columns_line_up checks the result in the PDF).
_SPACERS = (("\u2003", 1.0), ("\u2002", 0.5), (" ", 0.25))  # em, en and word space: widths in em
_STOP_MARGIN_PX = 0.1  # keep the pen clearly short of a stop, whatever the rounding


def _tab_line(cells: list[str], measure: _Measure) -> str:
    line, x = "", 0.0
    for start, text in zip(_ROSTER_STARTS, cells):
        if not text:
            continue
        if start:
            for char, em in _SPACERS:
                step = em * _BODY_FONT_PX
                while x + step < start - _STOP_MARGIN_PX:
                    line += char
                    x += step
            line += "\t"  # from within one stop of the column start: lands on it
        line += text
        x = start + measure.width(text)
    return line


def _table_row(cells: list[str], measure: _Measure) -> str:
    """One row, as many lines as its tallest cell needs, every fragment in its column."""
    columns = [[cells[0]], *(_wrap(text, limit, measure) for text, limit in zip(cells[1:], _ROSTER_LIMITS[1:]))]
    height = max(len(column) for column in columns)
    return "\n".join(_tab_line([column[k] if k < len(column) else "" for column in columns], measure)
                     for k in range(height))


def _roster(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The table's lines, and how many present members it leaves out (0 when it lists everyone)."""
    regular = _measure("Regular")
    printed = _printed_rows(rows)
    return {"header": _table_row(list(_ROSTER_HEADERS), _measure("Bold")),
            "rows": [_table_row([str(n), row["full_name"], row["role_label"], row["status_label"], row["note"]],
                                regular) for n, row in enumerate(printed, start=1)],
            "others": len(rows) - len(printed)}


_NAMES_WIDTH_PX = 580  # .names in bien_ban.css: indented 16 px, so 596 of the 604.7 px text width
_NAMES_CHUNK = 20  # lines per block: WeasyPrint lays out a block's remaining text again for every line


def _name_lines(names: list[str], measure: _Measure) -> list[str]:
    """Names separated by commas, never split across lines (a reader, and a search, wants them whole)."""
    lines: list[str] = []
    line = ""
    for i, name in enumerate(names):
        token = _nfc(name) + ("." if i == len(names) - 1 else ",")
        candidate = f"{line} {token}" if line else token
        if line and measure.width(candidate) > _NAMES_WIDTH_PX:
            lines.append(line)
            candidate = token
        line = candidate
    if line:
        lines.append(line)
    return ["\n".join(lines[i:i + _NAMES_CHUNK]) for i in range(0, len(lines), _NAMES_CHUNK)]


# A People's Council (≤ 100 members) lists every member; a larger body lists by name those absent, late, gone
# early or represented, and states how many others were present — the full list is in the attached record. A
# 500-row table per session would double the minutes' length and rendering time and bury the exceptions.
FULL_ROSTER_MAX = 100


def _printed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) <= FULL_ROSTER_MAX:
        return rows
    return [row for row in rows if row["status"] != "present" or row["note"]]


def _voter_names(agenda: list[dict[str, Any]]) -> list[list[list[list[str]]]]:
    """Per agenda item, poll and option: the voters' names as preformatted blocks (none for a secret poll)."""
    regular = _measure("Regular")
    return [[[[] if poll["secret"] else _name_lines(option["names"], regular) for option in poll["options"]]
             for poll in item["polls"]] for item in agenda]


# WeasyPrint and the shared font configuration are not documented as thread-safe; rendering is CPU-bound
# Python anyway, so serialising it costs no throughput.
_LOCK = threading.Lock()


def render_minutes(record: dict[str, Any], *, created_at: dt.datetime | None = None) -> RenderedMinutes:
    """Lay out the minutes and write the PDF/A-3b.

    ``created_at`` dates the attached record (default: now); with it fixed the output is byte-for-byte
    reproducible from the record.
    """
    html = _environment().get_template(TEMPLATE).render(
        record=record, rosters=[_roster(session["rows"]) for session in record["sessions"]],
        roster_css=_ROSTER_CSS, voter_names=_voter_names(record["agenda"]))
    created = (created_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    attachment = weasyprint.Attachment(
        string=canonical_record_json(record), name=RECORD_ATTACHMENT,
        description="Dữ liệu biên bản (phonghop-minutes/1)",
        # WeasyPrint writes the dates with a "Z" suffix, so they must already be UTC.
        created=created.replace(tzinfo=None), modified=created.replace(tzinfo=None),
        relationship="Data")  # the structured data the visible pages were rendered from
    fonts, css = _style()
    with _LOCK:
        document = _MinutesHTML(string=html, base_url=str(TEMPLATES_DIR)).render(
            font_config=fonts, color_profiles=_color_profiles(), stylesheets=[css], pdf_variant=PDF_VARIANT,
            output_intent=_OUTPUT_INTENT)
        fields = _signature_fields(document)
        pdf = document.write_pdf(pdf_variant=PDF_VARIANT, output_intent=_OUTPUT_INTENT, attachments=[attachment],
                                 finisher=_dedupe_associated_files)
    return RenderedMinutes(pdf=pdf, fields=fields)


def _dedupe_associated_files(_document: weasyprint.Document, pdf: Any) -> None:
    # WeasyPrint 70 lists each attachment in the catalog's /AF twice (once from the EmbeddedFiles name tree,
    # once from its Filespec object).
    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


def _signature_fields(document: weasyprint.Document) -> list[FieldSpec]:
    """Field boxes from where the layout put the template's placeholders, in PDF points (lower-left origin)."""
    found: dict[str, tuple[int, Box]] = {}
    for index, page in enumerate(document.pages):
        for field, anchor in _FIELD_ANCHORS.items():
            if anchor in page.anchors and field not in found:
                # WeasyPrint 70: (x1, y1, x2, y2) of the border box, CSS px from the page's top left.
                x1, y1, x2, y2 = page.anchors[anchor]
                found[field] = index, (x1 * _PT_PER_PX, (page.height - y2) * _PT_PER_PX,
                                       x2 * _PT_PER_PX, (page.height - y1) * _PT_PER_PX)
    if set(found) != set(_FIELD_ANCHORS):
        missing = sorted(set(_FIELD_ANCHORS) - set(found))
        raise MinutesRenderError(f"signature placeholders missing from the layout: {missing}")
    (page, secretary), (chair_page, chair) = found[SECRETARY_FIELD], found[CHAIR_FIELD]
    if page != chair_page:
        raise MinutesRenderError("the signature block was split across pages")
    return [
        FieldSpec(name=SECRETARY_FIELD, page=page, box=secretary, label="Thư ký"),
        FieldSpec(name=CHAIR_FIELD, page=page, box=chair, label="Chủ tọa"),
        FieldSpec(name=SEAL_FIELD, page=page, box=seal_box(chair), label="Con dấu"),
    ]


def seal_box(chair: Box, size: float = SEAL_SIZE_PT) -> Box:
    """A seal-sized square over the left third of the chair's field, centred on it vertically."""
    x1, y1, x2, y2 = chair
    right = x1 + (x2 - x1) * SEAL_OVERLAP
    middle = (y1 + y2) / 2
    return right - size, middle - size / 2, right, middle + size / 2
