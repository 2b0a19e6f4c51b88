"""Helpers for the signing tests: poppler tools, and the tampering an attacker would do."""
from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def render_page_png(pdf_path: Path, out_prefix: Path, *, dpi: int, page: int = 1) -> Path:
    """One page as PNG via poppler, the same renderer as many Linux viewers."""
    assert shutil.which("pdftoppm"), "poppler-utils (pdftoppm) is required"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-png",
                    str(pdf_path),
                    str(out_prefix)], check=True, capture_output=True, timeout=60)
    return out_prefix.with_suffix(".png")


def pdftotext(pdf_path: Path, *extra: str) -> str:
    proc = subprocess.run(["pdftotext", *extra, "-f", "1", "-l", "1", str(pdf_path), "-"], check=True,
                          capture_output=True, timeout=60)
    return proc.stdout.decode("utf-8")



def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf))


def _finish(writer: IncrementalPdfFileWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def replace_page_content(pdf: bytes, content: bytes, *, page: int = 0) -> bytes:
    """Append a revision in which page ``page`` draws ``content`` instead of what was signed."""
    writer = _writer(pdf)
    page_ref = writer.find_page_for_modification(page)[0]
    page_obj = page_ref.get_object()
    page_obj["/Contents"] = writer.add_object(generic.StreamObject(stream_data=content))
    writer.update_container(page_obj)
    return _finish(writer)


def append_page(pdf: bytes) -> bytes:
    """Append a revision that adds a (blank but real) page after the signed ones."""
    writer = _writer(pdf)
    pages = writer.root["/Pages"]
    new_page = generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/Parent"): writer.root.raw_get("/Pages"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        generic.pdf_name("/Contents"): writer.add_object(generic.StreamObject(
            stream_data=b"BT /Helvetica 24 Tf 72 700 Td (Added after signing) Tj ET")),
    })
    pages["/Kids"].append(writer.add_object(new_page))
    pages["/Count"] = generic.NumberObject(int(pages["/Count"]) + 1)
    writer.update_container(pages)
    return _finish(writer)


def strip_signature_value(pdf: bytes) -> bytes:
    """Append a revision in which every signature field has lost its /V (the signature dictionary)."""
    writer = _writer(pdf)
    for field_ref in writer.root["/AcroForm"]["/Fields"]:
        field = field_ref.get_object()
        if "/V" in field:
            del field["/V"]
            writer.update_container(field)
    return _finish(writer)


def flip_byte_in_signed_range(pdf: bytes) -> bytes:
    """Change one byte the PDF parser ignores (the binary comment after the header) but the hash covers."""
    marker = pdf.index(b"\n", 0) + 1  # start of the line after %PDF-x.y
    assert pdf[marker:marker + 1] == b"%", "expected pikepdf's binary comment line"
    data = bytearray(pdf)
    data[marker + 1] ^= 0x01
    return bytes(data)
