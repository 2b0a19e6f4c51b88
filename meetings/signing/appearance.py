"""Visible signature forms of Decree 30/2020/NĐ-CP, Appendix I.

For distributed documents and attachments the organisation's signature carries no image: its name, the
document's number/symbol if any, and the signing time, in Times New Roman 10 pt, upright, black, in a
black-bordered rectangle at the top right of the first page.

An ``Appearance`` turns into a pyHanko stamp style plus the size it needs, so ``pades.sign_field`` can sign
with any form: the officials' and seal forms of the minutes (image + text) implement the same protocol.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import Protocol

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.layout import AxisAlignment, BoxConstraints, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import BaseStampStyle, TextStamp, TextStampStyle

from meetings.signing.fonts import StampFont, font_for, nfc

VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "+07:00")

FONT_SIZE = 10
LEADING = 12
PADDING = 4          # between the border and the text
BORDER_WIDTH = 1
PAGE_INSET = 14      # from the page's top and right edges: inside the 20 mm top margin of Vietnamese documents
MAX_TEXT_WIDTH = 250  # longer organisation names wrap, so the box stays in the corner

Box = tuple[float, float, float, float]


class Appearance(Protocol):
    """What a visible signature needs: its stamp style (the field's box is placed by the caller)."""

    def stamp_style(self) -> BaseStampStyle: ...


def format_signing_time(moment: dt.datetime) -> str:
    """``hh:mm:ss dd/mm/yyyy +07:00`` in Vietnam time, whatever zone the server runs in."""
    if moment.tzinfo is None:
        raise ValueError("signing time must be timezone-aware")
    return moment.astimezone(VIETNAM_TZ).strftime("%H:%M:%S %d/%m/%Y") + " +07:00"


def wrap_line(text: str, font: StampFont, *, size: float, max_width: float) -> list[str]:
    """Greedy word wrap by measured width; a single over-long word stays on its own line."""
    if font.text_width(text, size) <= max_width:
        return [text]  # the usual case, in one shaping call instead of one per word
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and font.text_width(candidate, size) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _upright_matrix(rotation: int, width: float, height: float) -> tuple[float, ...]:
    """Form matrix that turns a width×height appearance against the page's /Rotate, so it reads upright."""
    return {
        90: (0, 1, -1, 0, height, 0),
        180: (-1, 0, 0, -1, width, height),
        270: (0, -1, 1, 0, 0, width),
    }[rotation]


class _UprightTextStamp(TextStamp):
    def _render_inner_content(self) -> list[bytes]:
        commands = super()._render_inner_content()
        frame = self.style.frame_width
        if frame:
            # pyHanko's own border is centred on the box edge, so the appearance's BBox clips half of it
            # away (and at screen resolution sometimes all of it); this frame lies wholly inside.
            commands.append(b"q 0 G %g w %g %g %g %g re S Q" % (
                frame, frame / 2, frame / 2, self.box.width - frame, self.box.height - frame))
        return commands

    def as_form_xobject(self) -> generic.StreamObject:
        xobj = super().as_form_xobject()
        rotation = self.style.page_rotation
        if rotation:
            matrix = _upright_matrix(rotation, self.box.width, self.box.height)
            xobj[generic.pdf_name("/Matrix")] = generic.ArrayObject(generic.FloatObject(v) for v in matrix)
        return xobj


@dataclass(frozen=True)
class UprightTextStampStyle(TextStampStyle):
    """pyHanko's text stamp, drawn upright on pages shown rotated (/Rotate 90, 180 or 270)."""

    page_rotation: int = 0
    frame_width: float = 0  # a black frame drawn inside the box (Decree 30: "trong khung hình chữ nhật, viền màu đen")

    def create_stamp(self, writer: BasePdfFileWriter, box: BoxConstraints, text_params: dict) -> TextStamp:
        if self.page_rotation in (90, 270):
            # The widget's rectangle is in unrotated page space: its width is the stamp's height.
            box = BoxConstraints(width=box.height, height=box.width)
        return _UprightTextStamp(writer=writer, style=self, box=box, text_params=text_params)


@dataclass(frozen=True, eq=False)
class OrganisationStamp:
    """The organisation's text-only signature on distributed documents (Decree 30, Appendix I)."""

    org_name: str
    doc_number: str | None
    signing_time: dt.datetime
    font: StampFont | None = None
    page_rotation: int = 0  # the page's /Rotate, so the text reads upright however the page is shown

    @functools.cached_property
    def _font(self) -> StampFont:
        return self.font or font_for(f"{self.org_name} {self.doc_number or ''} Số Thời gian ký")

    @functools.cached_property
    def lines(self) -> list[str]:
        lines = wrap_line(nfc(self.org_name.strip()), self._font, size=FONT_SIZE, max_width=MAX_TEXT_WIDTH)
        if self.doc_number and self.doc_number.strip():
            lines.append(f"Số: {nfc(self.doc_number.strip())}")
        lines.append(f"Thời gian ký: {format_signing_time(self.signing_time)}")
        return lines

    def size(self) -> tuple[float, float]:
        lines = self.lines
        text_width = max(self._font.text_width(line, FONT_SIZE) for line in lines)
        # pyHanko rounds each line's extent to whole points; ceil + 1 keeps it from shrinking the text to fit.
        width = math.ceil(text_width) + 1 + 2 * (PADDING + BORDER_WIDTH)
        height = len(lines) * LEADING + 2 * (PADDING + BORDER_WIDTH)
        return float(width), float(height)

    def stamp_style(self) -> BaseStampStyle:
        top_left = SimpleBoxLayoutRule(x_align=AxisAlignment.ALIGN_MIN, y_align=AxisAlignment.ALIGN_MAX,
                                       margins=Margins.uniform(PADDING + BORDER_WIDTH))
        text_style = TextBoxStyle(font=self._font.engine_factory(FONT_SIZE), font_size=FONT_SIZE, leading=LEADING,
                                  box_layout_rule=top_left)
        # The text goes in as a literal template: '%' in a name must not be read as a placeholder.
        template = "\n".join(self.lines).replace("%", "%%")
        return UprightTextStampStyle(stamp_text=template, text_box_style=text_style, border_width=0,
                                     frame_width=BORDER_WIDTH,
                                     inner_content_layout=SimpleBoxLayoutRule(x_align=AxisAlignment.ALIGN_MIN,
                                                                              y_align=AxisAlignment.ALIGN_MAX),
                                     page_rotation=self.page_rotation)


def top_right_box(page_box: Box, size: tuple[float, float], *, rotation: int = 0,
                  inset: float = PAGE_INSET) -> Box:
    """The stamp's rectangle (unrotated page space) that shows in the top-right corner as the page is displayed.

    /Rotate turns the page clockwise for display, so the displayed top-right corner is the unrotated page's
    top-right (0), top-left (90), bottom-left (180) or bottom-right (270); at 90/270 width and height swap.
    The box is kept inside the page when the page is smaller than the stamp.
    """
    llx, lly, urx, ury = page_box
    width, height = size
    if rotation == 90:
        box = (llx + inset, ury - inset - width, llx + inset + height, ury - inset)
    elif rotation == 180:
        box = (llx + inset, lly + inset, llx + inset + width, lly + inset + height)
    elif rotation == 270:
        box = (urx - inset - height, lly + inset, urx - inset, lly + inset + width)
    else:
        box = (urx - inset - width, ury - inset - height, urx - inset, ury - inset)
    x1, y1, x2, y2 = box
    dx = max(0.0, llx - x1) - max(0.0, x2 - urx)
    dy = max(0.0, lly - y1) - max(0.0, y2 - ury)
    return (round(x1 + dx, 2), round(y1 + dy, 2), round(x2 + dx, 2), round(y2 + dy, 2))
