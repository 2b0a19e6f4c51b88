"""The visible signatures of the minutes (Decree 30/2020/NĐ-CP, Appendix I): officials' and the seal.

- ``OfficialSignature`` (secretary, chair): the official's handwritten-signature image (blue, transparent
  PNG), with the signature info — name, title, signing time — in small type under it.
- ``SealSignature`` (the organisation, applied by the clerk after the officials): the red seal image
  (transparent PNG) with the organisation's name and the signing time. Its field is prepared overlapping
  about the left third of the chair's, so the seal lies over the chair's signature and the signature shows
  through it. Its text goes above the seal by default: below, it would collide with the chair's own text.

Both fill fields made beforehand by ``pades.prepare_fields``: the field's box decides the size, and the
content shrinks to fit it, never overflowing. Without an image the box shows the text alone.

Images are embedded as pyHanko does it (``pyhanko.pdf_utils.images.pil_image``): the colour samples as one
image XObject, the alpha channel as a DeviceGray image in its /SMask, so transparency survives. Every image
is turned into RGBA first, because pyHanko only makes an SMask for modes ending in "A" — a palette PNG with a
transparent colour would come out with an opaque background.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image
from pyhanko.pdf_utils import content
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import BaseStamp, BaseStampStyle

from meetings.signing.appearance import format_signing_time, wrap_line
from meetings.signing.fonts import StampFont, font_for, nfc
from meetings.signing.images import load_rgba

TextPosition = Literal["top", "bottom"]

FONT_SIZE = 8         # the signature info: small, so the image keeps most of the box
LEADING = 9.5
INSET = 1.5           # from the box's edge: anti-aliased edges must not be cut by the appearance's BBox
GAP = 2.0             # between the image and the text
MAX_TEXT_SHARE = 0.5  # of the box's height, when there is an image too
# From the top of a line (LEADING tall) to its baseline: room above for Vietnamese capitals' stacked marks
# (Ồ reaches 0.95 em), below for descenders (0.22 em).
_BASELINE = (LEADING - FONT_SIZE) / 2 + FONT_SIZE * 0.8
IMAGE_DPI = 300       # images are reduced to this resolution at the box's size: sharp in print, small in the PDF


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Placement:
    """Where things go in a box of the given size: text lines (baseline origins, at ``text_scale``) and image."""

    text_scale: float
    line_origins: tuple[tuple[float, float], ...]
    text_rect: Rect | None
    image_rect: Rect | None


def place(width: float, height: float, *, line_widths: list[float], image_aspect: float | None,
          text_position: TextPosition) -> Placement:
    """Lay out text lines (natural widths at ``FONT_SIZE``) and an image (width/height ratio) in a box.

    The text keeps its natural size when it fits, and takes at most ``MAX_TEXT_SHARE`` of the height when
    there is an image; otherwise it shrinks. The image takes the rest, as large as its proportions allow.
    Everything stays ``INSET`` inside the box, whatever its size.
    """
    avail_w, avail_h = max(width - 2 * INSET, 1.0), max(height - 2 * INSET, 1.0)
    gap = min(GAP, avail_h * 0.1) if line_widths and image_aspect else 0.0
    scale, text_h, text_rect = 1.0, 0.0, None
    origins: list[tuple[float, float]] = []
    if line_widths:
        natural_w = max(max(line_widths), 1.0)
        natural_h = len(line_widths) * LEADING
        share = avail_h * (MAX_TEXT_SHARE if image_aspect else 1.0)
        scale = min(1.0, avail_w / natural_w, share / natural_h)
        text_h = natural_h * scale
        if not image_aspect:
            top = height / 2 + text_h / 2
        elif text_position == "top":
            top = height - INSET
        else:
            top = INSET + text_h
        origins = [(width / 2 - line_w * scale / 2, top - (_BASELINE + i * LEADING) * scale)
                   for i, line_w in enumerate(line_widths)]
        text_rect = Rect(width / 2 - natural_w * scale / 2, top - text_h, natural_w * scale, text_h)
    image_rect = None
    if image_aspect:
        room_h = avail_h - text_h - gap
        img_w = min(avail_w, room_h * image_aspect)
        img_h = img_w / image_aspect
        bottom = INSET + (text_h + gap if text_position == "bottom" else 0.0)
        image_rect = Rect(width / 2 - img_w / 2, bottom + (room_h - img_h) / 2, img_w, img_h)
    return Placement(text_scale=scale, line_origins=tuple(origins), text_rect=text_rect, image_rect=image_rect)


def balanced_wrap(text: str, font: StampFont, *, size: float, max_width: float) -> list[str]:
    """As few lines as greedy wrapping needs, but of even widths: "Hội đồng nhân dân / tỉnh Hòa Bình",
    not "Hội đồng nhân dân tỉnh Hòa / Bình"."""
    greedy = wrap_line(text, font, size=size, max_width=max_width)
    words = text.split()
    if len(greedy) < 2 or len(words) > 40:
        return greedy

    @functools.cache
    def width(i: int, j: int) -> float:
        return font.text_width(" ".join(words[i:j]), size)

    @functools.cache
    def best(i: int, lines: int) -> tuple[float, tuple[int, ...]]:
        """Narrowest widest line for words[i:] in ``lines`` lines, and where the lines break."""
        if lines == 1:
            return width(i, len(words)), ()
        options = []
        for j in range(i + 1, len(words) - lines + 2):
            rest, breaks = best(j, lines - 1)
            options.append((max(width(i, j), rest), (j, *breaks)))
        return min(options)

    widest, breaks = best(0, len(greedy))
    if widest > max(font.text_width(line, size) for line in greedy):
        return greedy  # an over-long word: keep greedy's choice
    bounds = (0, *breaks, len(words))
    return [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]


class _Picture:
    """A decoded image, cropped to its visible part, reduced and encoded at most once per pixel size."""

    def __init__(self, png: bytes) -> None:
        image = load_rgba(png)
        bbox = image.getchannel("A").getbbox()
        if bbox is not None:
            pad = max(2, round(max(image.size) * 0.01))
            x1, y1, x2, y2 = bbox
            image = image.crop((max(0, x1 - pad), max(0, y1 - pad), min(image.width, x2 + pad),
                                min(image.height, y2 + pad)))
        self.image = _bleed(image)
        self._sized: dict[tuple[int, int], Image.Image] = {}

    @property
    def aspect(self) -> float:
        return self.image.width / self.image.height

    def at(self, width_pt: float, height_pt: float) -> Image.Image:
        """The image at ``IMAGE_DPI`` for the given size in points, never enlarged."""
        want_w = max(1, math.ceil(width_pt / 72 * IMAGE_DPI))
        if self.image.width <= want_w * 1.25:
            return self.image
        want = (want_w, max(1, math.ceil(height_pt / 72 * IMAGE_DPI)))
        sized = self._sized.get(want)
        if sized is None:
            sized = self._sized[want] = _bleed(self.image.resize(want, Image.Resampling.LANCZOS))
        return sized


def _bleed(image: Image.Image) -> Image.Image:
    """Give fully transparent pixels the ink's colour.

    Viewers scale the colour samples and the SMask separately; transparent pixels that are black (what
    drawing programs leave) then darken the strokes' anti-aliased edges into a grey fringe.
    """
    alpha = image.getchannel("A")
    if alpha.getextrema()[0] == 255:
        return image
    opaque = alpha.point(lambda a: 255 if a > 0 else 0)
    visible = image.convert("RGB")
    r, g, b = (sum(v * n for v, n in enumerate(channel.histogram(mask=opaque))) for channel in visible.split())
    count = max(1, sum(opaque.histogram()[255:]))
    ink = Image.new("RGB", image.size, (round(r / count), round(g / count), round(b / count)))
    colour = Image.composite(visible, ink, opaque)
    colour.putalpha(alpha)
    return colour


@dataclass(frozen=True, eq=False)
class ImageAndTextStampStyle(BaseStampStyle):
    """pyHanko stamp style: an image and a few centred lines of text, laid out to fit any box."""

    lines: tuple[str, ...] = ()
    picture: _Picture | None = None
    font: StampFont | None = None
    text_position: TextPosition = "bottom"
    text_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    border_width: int = 0

    def create_stamp(self, writer: BasePdfFileWriter, box: BoxConstraints, text_params: dict) -> BaseStamp:
        return _ImageAndTextStamp(writer=writer, style=self, box=box)


class _ImageAndTextStamp(BaseStamp):
    style: ImageAndTextStampStyle

    def _render_inner_content(self) -> list[bytes]:
        style = self.style
        box_w, box_h = self.box.width, self.box.height
        lines: list[str] = []
        font = style.font
        if style.lines and font is not None:
            for line in style.lines:
                lines += balanced_wrap(line, font, size=FONT_SIZE, max_width=box_w - 2 * INSET)
        widths = [font.text_width(line, FONT_SIZE) for line in lines] if font is not None else []
        picture = style.picture
        placement = place(box_w, box_h, line_widths=widths, image_aspect=picture.aspect if picture else None,
                          text_position=style.text_position)
        commands: list[bytes] = []
        if picture is not None and placement.image_rect is not None:
            commands.append(self._image(picture, placement.image_rect))
        if lines and font is not None:
            commands.append(self._text(font, lines, placement))
        return commands

    def _image(self, picture: _Picture, rect: Rect) -> bytes:
        image = PdfImage(picture.at(rect.width, rect.height), writer=self.writer,
                         box=BoxConstraints(width=rect.width, height=rect.height))
        drawn = image.render()
        self.import_resources(image.resources)
        return b"q 1 0 0 1 %g %g cm %s Q" % (rect.x, rect.y, drawn)

    def _text(self, font: StampFont, lines: list[str], placement: Placement) -> bytes:
        # One font engine for every line: each engine embeds its own copy of the font.
        engine = font.engine_factory(FONT_SIZE).create_font_engine(self.writer)
        self.set_resource(category=content.ResourceType.FONT, name=pdf_name("/F1"), value=engine.as_resource())
        scale = placement.text_scale
        parts = [b"q %g %g %g rg BT /F1 %d Tf" % (*self.style.text_color, FONT_SIZE)]
        for line, (x, y) in zip(lines, placement.line_origins, strict=True):
            shaped = engine.shape(line)
            parts.append(b"%g 0 0 %g %g %g Tm %s" % (scale, scale, x, y, shaped.graphics_ops))
        parts.append(b"ET Q")
        return b" ".join(parts)


@functools.lru_cache(maxsize=16)
def _decoded_picture(png: bytes) -> _Picture:
    # The same person's or body's image is used again and again: decode, crop and reduce it once.
    return _Picture(png)


class _Appearance:
    """What the official's and the seal's appearances share: an optional picture, checked when the appearance is
    made (a naive time or an unusable image is refused then, not halfway through signing), text lines in a font
    that has their characters, and the stamp style. Subclasses are frozen dataclasses with ``signing_time``,
    ``image_png``, ``font``, ``text_position`` and ``_picture`` fields, and give ``lines``. The field's box is
    the caller's (the minutes place theirs from the layout), so these have no natural size."""

    signing_time: dt.datetime
    image_png: bytes | None
    font: StampFont | None
    text_position: TextPosition
    _picture: _Picture | None
    lines: list[str]

    def __post_init__(self) -> None:
        format_signing_time(self.signing_time)
        if self.image_png is not None:
            object.__setattr__(self, "_picture", _decoded_picture(bytes(self.image_png)))  # ValueError if unusable

    @functools.cached_property
    def _font(self) -> StampFont:
        return self.font or font_for(" ".join(self.lines))

    def stamp_style(self) -> BaseStampStyle:
        return ImageAndTextStampStyle(lines=tuple(self.lines), picture=self._picture, font=self._font,
                                      text_position=self.text_position)


@dataclass(frozen=True, eq=False)
class OfficialSignature(_Appearance):
    """A signing official's visible signature: the handwritten-signature image and the signature info."""

    full_name: str
    title: str
    signing_time: dt.datetime
    image_png: bytes | None = None
    font: StampFont | None = None
    text_position: TextPosition = "bottom"
    _picture: _Picture | None = field(init=False, default=None, repr=False)

    @functools.cached_property
    def lines(self) -> list[str]:
        lines = [f"Ký bởi: {nfc(self.full_name.strip())}"]
        if self.title and self.title.strip():
            lines.append(f"Chức vụ: {nfc(self.title.strip())}")
        lines.append(f"Thời gian ký: {format_signing_time(self.signing_time)}")
        return lines


@dataclass(frozen=True, eq=False)
class SealSignature(_Appearance):
    """The organisation's visible signature on the minutes: the seal image, its name and the signing time."""

    org_name: str
    signing_time: dt.datetime
    image_png: bytes | None = None
    font: StampFont | None = None
    text_position: TextPosition = "top"
    _picture: _Picture | None = field(init=False, default=None, repr=False)

    @functools.cached_property
    def lines(self) -> list[str]:
        return [nfc(self.org_name.strip()), f"Thời gian ký: {format_signing_time(self.signing_time)}"]

