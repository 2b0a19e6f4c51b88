"""PDFs made from scratch: pages of real (extractable) Vietnamese text (the demo's documents, the tests' files).

The text uses an embedded TrueType font as a CID font (Identity-H, glyph ids as codes, a ToUnicode map), so
``pdftotext`` reads the Vietnamese back and ``pdftoppm`` renders it.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pikepdf
from fontTools import subset
from fontTools.ttLib import TTFont

from meetings.signing.fonts import find_serif_font

A4 = (595.0, 842.0)
FONT_SIZE = 12
LEADING = 18


def _subset_font(path: Path, text: str) -> TTFont:
    with TTFont(path) as font:
        return _subset(font, text)


def _subset(font: TTFont, text: str) -> TTFont:
    options = subset.Options()
    options.retain_gids = True  # codes in the content stream are the original glyph ids
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return TTFont(io.BytesIO(buf.getvalue()))


def _to_unicode(pairs: dict[int, str]) -> bytes:
    body = "\n".join(f"<{gid:04x}> <{ch.encode('utf-16-be').hex()}>" for gid, ch in sorted(pairs.items()))
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(pairs)} beginbfchar\n{body}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode("ascii")


def _font_dict(pdf: pikepdf.Pdf, font: TTFont, used: dict[int, str]) -> pikepdf.Object:
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"]
    order = font.getGlyphOrder()
    widths: list[object] = []
    for gid in sorted(used):
        widths += [gid, [round(hmtx[order[gid]][0] * 1000 / upem)]]
    buf = io.BytesIO()
    font.save(buf)
    name = pikepdf.Name("/" + font["name"].getDebugName(6))
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=name, Flags=6, ItalicAngle=0, Ascent=891, Descent=-216,
        CapHeight=662, StemV=80, FontBBox=[-600, -300, 2000, 1000],
        FontFile2=pdf.make_stream(buf.getvalue())))
    cid_font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=name,
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=descriptor, CIDToGIDMap=pikepdf.Name.Identity, W=widths))
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=name, Encoding=pikepdf.Name("/Identity-H"),
        DescendantFonts=[cid_font], ToUnicode=pdf.make_stream(_to_unicode(used))))


def _line_ops(line: str, cmap: dict[int, str], used: dict[int, str], order: list[str], x: float, y: float) -> bytes:
    gids = []
    for ch in line:
        gid = order.index(cmap[ord(ch)]) if ord(ch) in cmap else 0
        used[gid] = ch
        gids.append(gid)
    hexcodes = "".join(f"{gid:04x}" for gid in gids)
    return f"BT /F1 {FONT_SIZE} Tf {x:g} {y:g} Td <{hexcodes}> Tj ET\n".encode("ascii")


def make_pdf(pages: list[list[str]], *, page_size: tuple[float, float] = A4, font_path: Path | None = None,
             padding_bytes: int = 0) -> bytes:
    """One page per list of lines, text from the top-left margin. ``padding_bytes`` adds an incompressible
    image stream (to make a large file without many pages)."""
    text = "".join("".join(lines) for lines in pages)
    font = _subset_font(font_path or find_serif_font(), text or " ")
    cmap = font.getBestCmap()
    order = font.getGlyphOrder()
    used: dict[int, str] = {}
    pdf = pikepdf.new()
    contents = []
    height = page_size[1]
    for lines in pages:
        ops = b"".join(_line_ops(line, cmap, used, order, 72, height - 72 - i * LEADING)
                       for i, line in enumerate(lines))
        contents.append(ops)
    font_ref = _font_dict(pdf, font, used or {0: " "})
    for ops in contents:
        page = pdf.add_blank_page(page_size=page_size)
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font_ref))
        page.obj.Contents = pdf.make_stream(ops)
    if padding_bytes:
        _add_padding_image(pdf, padding_bytes)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _add_padding_image(pdf: pikepdf.Pdf, size: int) -> None:
    side = int((size / 3) ** 0.5) + 1
    image = pdf.make_stream(os.urandom(side * side * 3), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                            Width=side, Height=side, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8)
    page = pdf.pages[-1]
    page.obj.Resources.XObject = pikepdf.Dictionary(Im1=image)
    page.obj.Contents = pdf.make_stream(page.obj.Contents.read_bytes() + b"q 100 0 0 100 300 100 cm /Im1 Do Q\n")


SAMPLE_LINES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "NGHỊ QUYẾT về kế hoạch phát triển kinh tế - xã hội năm 2026",
    "Hội đồng nhân dân tỉnh Hòa Bình khóa XVII, kỳ họp thứ 12",
]


def sample_pdf(pages: int = 1) -> bytes:
    return make_pdf([[*SAMPLE_LINES, f"Trang {n + 1}"] for n in range(pages)])
