"""A generated corpus of benign and hostile PDFs, plus a walker that looks for active content in an output.

Everything is built programmatically: with pikepdf where the structure is valid PDF, and as raw bytes where
the point is that it is not (loops, truncation, nesting beyond any parser's limit, decompression bombs).
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String

VIETNAMESE_LINES = [
    "Biên bản kỳ họp thứ nhất",
    "Hội đồng nhân dân tỉnh Quảng Ngãi khóa XIII",
    "Nghị quyết về dự toán ngân sách năm 2026",
]
VIETNAMESE_TITLE = "Tài liệu phiên họp: Dự toán ngân sách"
JS_MARKER = "app.alert('phonghop-js-marker')"

# What the output walker refuses to find anywhere.
FORBIDDEN_KEYS = {"/JavaScript", "/JS", "/OpenAction", "/AA", "/EmbeddedFiles", "/EF", "/XFA", "/Launch",
                  "/RichMediaContent", "/RichMediaSettings", "/3DD", "/NeedsRendering"}
FORBIDDEN_NAMES = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/Rendition",
                   "/Movie", "/Sound", "/RichMedia", "/RichMediaExecute", "/3D", "/GoTo3DView",
                   "/FileAttachment", "/Screen"}
SAFE_URI_PREFIXES = (b"http://", b"https://", b"mailto:")


# -- benign documents ----------------------------------------------------------------------------------

def text_pdf(pages: int = 3) -> pikepdf.Pdf:
    """A document with real, extractable Vietnamese text on every page.

    Uses Helvetica with a one-byte custom code per Vietnamese letter and a /ToUnicode map, so text
    extraction gives back the exact Unicode text without embedding a font file.
    """
    pdf = pikepdf.new()
    lines = [f"Trang {number}: {line}" for number in range(1, pages + 1) for line in VIETNAMESE_LINES]
    codes = _codes(lines)
    font = pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica,
        ToUnicode=pdf.make_stream(_to_unicode_cmap(codes))))
    resources = Dictionary(Font=Dictionary(F1=font))
    for number in range(1, pages + 1):
        page_lines = [f"Trang {number}: {line}" for line in VIETNAMESE_LINES]
        content = _content_stream(page_lines, codes)
        page = pdf.make_indirect(Dictionary(Type=Name.Page, MediaBox=[0, 0, 595, 842], Resources=resources,
                                            Contents=pdf.make_stream(content)))
        pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Title"] = String(VIETNAMESE_TITLE)
    return pdf


def _codes(lines: list[str]) -> dict[str, int]:
    letters = sorted({ch for line in lines for ch in line if ord(ch) > 126})
    assert len(letters) < 128
    return {ch: 128 + index for index, ch in enumerate(letters)}


def _encode(text: str, codes: dict[str, int]) -> bytes:
    return bytes(codes.get(ch, ord(ch)) for ch in text)


def _content_stream(lines: list[str], codes: dict[str, int]) -> bytes:
    ops = [b"BT /F1 14 Tf 16 TL 56 780 Td"]
    for line in lines:
        ops.append(b"<" + _encode(line, codes).hex().encode() + b"> Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops)


def _to_unicode_cmap(codes: dict[str, int]) -> bytes:
    chars = "\n".join(f"<{code:02X}> <{ord(ch):04X}>" for ch, code in codes.items())
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /PhongHop-VN def /CMapType 2 def\n"
        "1 begincodespacerange <00> <FF> endcodespacerange\n"
        "1 beginbfrange <20> <7E> <0020> endbfrange\n"
        f"{len(codes)} beginbfchar\n{chars}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode("ascii")


def save(pdf: pikepdf.Pdf, path: Path) -> Path:
    # No object streams: the raw-byte checks on outputs must see every object uncompressed. No decoding and
    # no compressing: qpdf would expand filter chains, and with them the decompression bombs built here.
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.disable,
             stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False)
    return path


# -- active content ------------------------------------------------------------------------------------

def js(pdf: pikepdf.Pdf, code: str = JS_MARKER, *, indirect: bool = False) -> pikepdf.Object:
    action = Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String(code))
    return pdf.make_indirect(action) if indirect else action


def action(kind: str, **entries: object) -> Dictionary:
    return Dictionary(Type=Name.Action, S=Name("/" + kind), **entries)


def annotation(pdf: pikepdf.Pdf, subtype: str, **entries: object) -> pikepdf.Object:
    return pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name("/" + subtype), Rect=[50, 50, 150, 80],
                                        **entries))


def add_annotations(page: pikepdf.Page, *annots: pikepdf.Object) -> None:
    existing = list(page.obj.get("/Annots", Array()))
    page.obj.Annots = Array(existing + list(annots))


def with_outline_javascript(pdf: pikepdf.Pdf) -> pikepdf.Pdf:
    with pdf.open_outline() as outline:
        outline.root.append(pikepdf.OutlineItem("Mục 1", 0))
    item = pdf.Root.Outlines.First
    item.A = js(pdf)
    return pdf


def with_embedded_file(pdf: pikepdf.Pdf) -> pikepdf.Pdf:
    payload = b"MZ\x90\x00 not really a program"
    pdf.attachments["bao-cao.exe"] = pikepdf.AttachedFileSpec(pdf, payload, filename="bao-cao.exe")
    spec = pikepdf.AttachedFileSpec(pdf, payload, filename="phu-luc.exe")
    add_annotations(pdf.pages[0], annotation(pdf, "FileAttachment", FS=spec.obj, Name=Name.Paperclip))
    return pdf


def with_xfa(pdf: pikepdf.Pdf) -> pikepdf.Pdf:
    field = annotation(pdf, "Widget", FT=Name.Tx, T=String("ho_ten"), V=String("Nguyễn Văn A"), P=pdf.pages[0].obj)
    add_annotations(pdf.pages[0], field)
    template = pdf.make_stream(b'<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/">'
                               b'<script contentType="application/x-javascript">' + JS_MARKER.encode()
                               + b"</script></template>")
    pdf.Root.AcroForm = Dictionary(Fields=[field], NeedsRendering=True,
                                   XFA=Array([String("template"), template]))
    return pdf


# -- raw bytes -----------------------------------------------------------------------------------------

PAGE_TREE = {
    1: b"<< /Type /Catalog /Pages 2 0 R >>",
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>",
}


def classic_pdf(objects: dict[int, bytes], *, trailer_extra: bytes = b"") -> bytes:
    """A PDF with a classic xref table, from object number -> object body."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer_extra, xref)
    return bytes(out)


def object_stream_pdf(top: dict[int, bytes], packed: dict[int, bytes], stream_number: int, *,
                      stream_data: bytes | None = None, stream_extra: bytes = b"") -> bytes:
    """A PDF with an xref stream whose objects ``packed`` live in object stream ``stream_number``."""
    order = sorted(packed)
    header, body = b"", b""
    for number in order:
        header += b"%d %d " % (number, len(body))
        body += packed[number] + b" "
    data = stream_data if stream_data is not None else zlib.compress(header + body)
    top = {**top, stream_number: b"<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode %s>>\n"
                                 b"stream\n" % (len(order), len(header), len(data), stream_extra)
                                 + data + b"\nendstream"}
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, obj in sorted(top.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref_number = max([*top, *packed]) + 1
    offsets[xref_number] = len(out)
    rows = b""
    for number in range(xref_number + 1):
        if number in offsets:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
        elif number in packed:
            rows += struct.pack(">BIH", 2, stream_number, order.index(number))
        else:
            rows += struct.pack(">BIH", 0, 0, 65535)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
            % (xref_number, xref_number + 1, len(rows)) + rows + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def zeros_flate(prefix: bytes, zeros: int, *, chunk: int = 16 * 1024 * 1024) -> bytes:
    """A zlib stream of ``prefix`` followed by ``zeros`` zero bytes, built without compressing them all.

    After a full flush the compressor's state is reset, so every further chunk of zeros compresses to the
    same bytes: compress two chunks, repeat the second. The Adler-32 of trailing zeros has a closed form.
    """
    assert zeros % chunk == 0 and zeros >= 2 * chunk
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block_of_zeros = bytes(chunk)
    first = compressor.compress(prefix) + compressor.compress(block_of_zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block_of_zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler = zlib.adler32(prefix)
    low = adler & 0xFFFF
    high = ((adler >> 16) + (zeros % 65521) * low) % 65521  # each zero adds the unchanged low sum to high
    return (b"\x78\xda" + first + repeated * (zeros // chunk - 1) + compressor.flush()
            + ((high << 16) | low).to_bytes(4, "big"))


# -- non-PDF files -------------------------------------------------------------------------------------

def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tai-lieu.txt", "Tài liệu " * 200)
    return buffer.getvalue()


HTML_BYTES = (b"<!doctype html><html><head><title>Tai lieu</title></head>"
              b"<body><script>alert(1)</script>%%EOF</body></html>\n")


# -- checking outputs ----------------------------------------------------------------------------------

def active_content(path: Path) -> list[str]:
    """Every trace of active content in a PDF, found by walking all of its objects (empty when clean)."""
    found: list[str] = []
    with pikepdf.open(path) as pdf:
        roots = [pdf.trailer, *[obj for obj in pdf.objects if isinstance(obj, (Dictionary, Array, pikepdf.Stream))]]
        for root in roots:
            stack = [root]
            while stack:
                current = stack.pop()
                items = enumerate(current) if isinstance(current, Array) else current.items()
                for key, value in items:
                    if isinstance(key, str) and key in FORBIDDEN_KEYS:
                        found.append(f"key {key}")
                    if isinstance(value, Name) and str(value) in FORBIDDEN_NAMES:
                        found.append(f"name {value}")
                    if key == "/URI" and isinstance(value, String) and not bytes(value).startswith(SAFE_URI_PREFIXES):
                        found.append(f"uri {bytes(value)!r}")
                    if isinstance(value, (Dictionary, Array)) and not value.is_indirect:
                        stack.append(value)
    return found
