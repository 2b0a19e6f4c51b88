"""The stamp font: a Times New Roman-compatible serif with Vietnamese, rescaled to 1000 units per em.

pyHanko writes glyph widths (/W) and TJ kerning adjustments in the font's own units, but PDF reads both as
thousandths of an em. For a font with unitsPerEm = 2048 (Liberation, Tinos, DejaVu) every advance is then
about twice too wide and the text is spread out. Rescaling the font to 1000 units makes pyHanko's numbers
correct; it is done once per process and kept in memory.
"""
from __future__ import annotations

import functools
import io
import logging
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz as hb
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

log = logging.getLogger(__name__)

PDF_UNITS_PER_EM = 1000

# Times New Roman-compatible first (Decree 30 asks for Times New Roman). Debian's old fonts-liberation (1.07)
# has no Vietnamese letters, so it only counts if a newer Liberation was installed in its place; DejaVu Serif
# is the last resort: wrong metrics, but correct diacritics.
SERIF_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/croscore/Tinos-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
)

# Every Vietnamese letter: the base letters with breve/circumflex/horn/stroke and the precomposed tones.
VIETNAMESE_LETTERS = "ĂÂĐÊÔƠƯăâđêôơư" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))

# The stamp font keeps only what Vietnamese administrative text uses: ASCII, the Vietnamese letters, their
# combining marks and common punctuation (~280 glyphs, 11 KB compressed). That is small enough to embed whole,
# which skips fontTools' per-document subsetting (~15 ms, most of a stamp's cost; see bench/sign_ratio.py).
_VIETNAMESE_LATIN = "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĨĩŨũ"
STAMP_REPERTOIRE: tuple[int, ...] = tuple(sorted({
    *range(0x20, 0x7F), *map(ord, VIETNAMESE_LETTERS + _VIETNAMESE_LATIN),
    0xA0, 0xA7, 0xB0, 0xB7,                                   # nbsp § ° ·
    0x300, 0x301, 0x303, 0x309, 0x323,                        # the five tone marks, combining
    0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026,   # dashes, quotes, ellipsis
    0x20AB, 0x2116,                                           # ₫ №
}))
# Anything else (a foreign name with ü, say) falls back to the whole Latin range, subset per document.
WIDE_REPERTOIRE: tuple[int, ...] = (*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370),
                                    *range(0x1E00, 0x1F00), *range(0x2000, 0x2070), 0x20AB, 0x2116)


class FontError(Exception):
    """No usable stamp font is installed."""


def covers_vietnamese(path: Path) -> bool:
    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return all(ord(ch) in cmap for ch in VIETNAMESE_LETTERS)


def find_serif_font(candidates: tuple[Path, ...] = SERIF_CANDIDATES) -> Path:
    for path in candidates:
        if path.is_file() and covers_vietnamese(path):
            if path.name.startswith("DejaVu"):
                log.warning("no Times New Roman-compatible font with Vietnamese; using %s", path)
            return path
    raise FontError("no serif font with Vietnamese letters found; install fonts-liberation2 (Liberation Serif 2)")


def rescale_to_1000_units(source: Path, repertoire: tuple[int, ...] = STAMP_REPERTOIRE) -> bytes:
    """The font at 1000 units/em, hinting removed, reduced to ``repertoire`` (code points)."""
    with TTFont(source) as font:
        return _rescaled(font, repertoire)


def _rescaled(font: TTFont, repertoire: tuple[int, ...]) -> bytes:
    if font["head"].unitsPerEm != PDF_UNITS_PER_EM:
        scale_upem(font, PDF_UNITS_PER_EM)
    options = subset.Options()
    # TrueType bytecode holds absolute values in the old units that scale_upem does not rewrite; viewers
    # that run it would distort the glyphs, and the PDF needs no hinting.
    options.hinting = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "DSIG"]
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=repertoire)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _without_layout_tables(data: bytes) -> bytes:
    """The embeddable program: PDF viewers ignore GSUB/GPOS (HarfBuzz already applied them); glyph ids stay."""
    font = TTFont(io.BytesIO(data))
    for tag in ("GSUB", "GPOS", "GDEF"):
        if tag in font:
            del font[tag]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _postscript_name(data: bytes) -> str:
    name = TTFont(io.BytesIO(data), lazy=True)["name"].getDebugName(6)
    if not name:
        raise FontError("the stamp font has no PostScript name")
    return name


@dataclass(frozen=True, eq=False)
class StampFont:
    """A font ready for pyHanko (1000 units/em) that can also measure text the way pyHanko will lay it out.

    ``embed_whole``: put the whole (small) program in every document instead of subsetting it each time.
    """

    source: Path
    data: bytes
    embed_whole: bool

    @functools.cached_property
    def _hb_font(self) -> hb.Font:
        return hb.Font(hb.Face(self.data))

    @functools.cached_property
    def _cmap(self) -> dict[int, str]:
        return TTFont(io.BytesIO(self.data), lazy=True).getBestCmap() or {}

    @functools.cached_property
    def postscript_name(self) -> str:
        return _postscript_name(self.data)

    @functools.cached_property
    def compressed_program(self) -> tuple[bytes, int]:
        """Flate-compressed font program and its uncompressed length, computed once per process."""
        program = _without_layout_tables(self.data)
        return zlib.compress(program), len(program)

    def text_width(self, text: str, size: float) -> float:
        """Advance width in points, shaped by HarfBuzz with default features — exactly as pyHanko shapes."""
        if not text:
            return 0.0
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        hb.shape(self._hb_font, buf, None)
        return sum(pos.x_advance for pos in buf.glyph_positions) / self._hb_font.face.upem * size

    def missing_characters(self, text: str) -> set[str]:
        return {ch for ch in text if not ch.isspace() and ord(ch) not in self._cmap}

    def engine_factory(self, size: int) -> FontEngineFactory:
        return _MemoryFontFactory(font=self, font_size=size)


class _PrebuiltCIDFontType2(CIDFontType2):
    """Embeds a font program compressed once per process instead of re-serialising the font each time."""

    def __init__(self, tt: TTFont, font: StampFont, subset_prefix: str) -> None:
        super().__init__(tt, font.postscript_name, subset_prefix)
        self._stamp_font = font

    def set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        compressed, length = self._stamp_font.compressed_program
        stream = generic.StreamObject({pdf_name("/Filter"): pdf_name("/FlateDecode"),
                                       pdf_name("/Length1"): generic.NumberObject(length)},
                                      encoded_data=compressed)
        ref = writer.add_object(stream)
        self._font_descriptor[pdf_name("/FontFile2")] = ref
        return ref


class _WholeFontAccumulator(GlyphAccumulator):
    """pyHanko's glyph accumulator (shaping, widths, ToUnicode) minus the per-document subsetting."""

    def __init__(self, font: StampFont, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cidfont_obj = _PrebuiltCIDFontType2(self.tt, font, self.subset_prefix)

    def _extract_subset(self, options: object = None) -> None:
        # CIDs are glyph ids of the embedded program, which is the very font HarfBuzz shaped with.
        return None


@dataclass(frozen=True, eq=False)
class _MemoryFontFactory(FontEngineFactory):
    """pyHanko's GlyphAccumulatorFactory, but fed from memory instead of re-opening a file each time."""

    font: StampFont
    font_size: int

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: object = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        # /Lang vi on the text spans tells screen readers and text extraction the language.
        kwargs = dict(writer=writer, font_handle=io.BytesIO(self.font.data), font_size=self.font_size,
                      bcp47_lang_code="vi", obj_stream=obj_stream)
        if self.font.embed_whole:
            return _WholeFontAccumulator(self.font, **kwargs)
        return GlyphAccumulator(**kwargs)


def stamp_font(path: Path | None = None, *, wide: bool = False) -> StampFont:
    """The process-wide stamp font (built on first use, 0.2–0.5 s); ``wide`` for text beyond Vietnamese."""
    return _build_stamp_font(path or _default_font_path(), wide)


@functools.cache
def _default_font_path() -> Path:
    return find_serif_font()


@functools.cache
def _build_stamp_font(source: Path, wide: bool) -> StampFont:
    repertoire = WIDE_REPERTOIRE if wide else STAMP_REPERTOIRE
    return StampFont(source=source, data=rescale_to_1000_units(source, repertoire), embed_whole=not wide)


def font_for(text: str, path: Path | None = None) -> StampFont:
    """The small stamp font if it has every character of ``text``, else the wide one."""
    font = stamp_font(path)
    return stamp_font(path, wide=True) if font.missing_characters(text) else font


def nfc(text: str) -> str:
    """Vietnamese typed on some systems arrives decomposed; the font's precomposed glyphs need NFC."""
    return unicodedata.normalize("NFC", text)
