"""The minutes' visible signatures (Decree 30, Appendix I): officials' signature images and the seal."""
from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from meetings.signing import forms, images, pades, pki
from meetings.signing.forms import OfficialSignature, SealSignature
from meetings.signing.timestamps import local_timestamper
from meetings.signing.verify import Verdict, pdfsig_report, verify_pdf
from tests.signing.conftest import ORG_NAME
from tests.signing.helpers import render_page_png, write

PAGE_HEIGHT = 842  # A4, what pdfgen makes
DPI = 100

# The chair's field on the right, the seal's laid over the left third of it: the seal's centre sits on the
# chair's signature, its text band above the chair's box.
SECRETARY_BOX = (60, 90, 240, 190)
CHAIR_BOX = (340, 90, 520, 190)
SEAL_BOX = (290, 105, 420, 235)
FIELDS = [
    pades.FieldSpec("secretary", page=-1, box=SECRETARY_BOX, label="Thư ký"),
    pades.FieldSpec("chair", page=-1, box=CHAIR_BOX, label="Chủ tọa"),
    pades.FieldSpec("organisation", page=-1, box=SEAL_BOX, label="Cơ quan"),
]


def _last_page_text(path: Path) -> str:
    proc = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(path), "-"], check=True, capture_output=True,
                          timeout=60)
    return proc.stdout.decode("utf-8")


def _pixels(png: Path, box: tuple[float, float, float, float]) -> list[tuple[int, int, int]]:
    """The rendered page's pixels inside a box given in PDF points (lower-left origin)."""
    x1, y1, x2, y2 = box
    scale = DPI / 72
    with Image.open(png) as page:
        crop = page.convert("RGB").crop((round(x1 * scale), round((PAGE_HEIGHT - y2) * scale),
                                         round(x2 * scale), round((PAGE_HEIGHT - y1) * scale)))
        return list(crop.get_flattened_data())


def _blue(p: tuple[int, int, int]) -> bool:
    r, g, b = p
    return b > 110 and b > r + 50 and b > g + 40


def _red(p: tuple[int, int, int]) -> bool:
    r, g, b = p
    return r > 150 and r > g + 80 and r > b + 80


def test_minutes_signed_by_secretary_chair_and_seal(
        document: bytes, test_pki: pki.GeneratedPki, secretary: pki.SignerIdentity, chair: pki.SignerIdentity,
        signing_time: dt.datetime, secretary_signature_png: bytes, chair_signature_png: bytes, seal_png: bytes,
        signing_output: Path, tmp_path: Path) -> None:
    pdf = pades.prepare_fields(document, FIELDS)
    steps = [
        ("secretary", secretary, OfficialSignature("Nguyễn Thị Thư", "Thư ký", signing_time, secretary_signature_png)),
        ("chair", chair, OfficialSignature("Trần Văn Chủ", "Chủ tọa", signing_time + dt.timedelta(minutes=5),
                                           chair_signature_png)),
        ("organisation", test_pki.organisation,
         SealSignature(ORG_NAME, signing_time + dt.timedelta(minutes=9), seal_png)),
    ]
    for step, (field, signer, form) in enumerate(steps, start=1):
        at = form.signing_time
        pdf = pades.sign_field(pdf, field, signer=signer, signing_time=at, appearance=form,
                               timestamper=local_timestamper(test_pki.tsa) if field == "organisation" else None)
        report = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
        assert report.verdict == Verdict.VALID, report.summary
        assert [s.verdict for s in report.signatures] == [Verdict.VALID] * step
        poppler = [p for p in pdfsig_report(write(tmp_path, f"step{step}.pdf", pdf))["signatures"] if p["signed"]]
        assert [p["signature_validation"] for p in poppler] == ["Signature is Valid."] * step
        assert [p["total_document_signed"] for p in poppler] == [False] * (step - 1) + [True]

    final = verify_pdf(pdf, trust_roots=test_pki.trust_roots)
    assert [s.field for s in final.signatures] == ["secretary", "chair", "organisation"]
    assert final.unsigned_fields == ()

    path = write(signing_output, "minutes-forms.pdf", pdf)
    text = _last_page_text(path)
    for line in ("Ký bởi: Nguyễn Thị Thư", "Chức vụ: Thư ký", "Ký bởi: Trần Văn Chủ", "Chức vụ: Chủ tọa",
                 "Hội đồng nhân dân tỉnh Hòa Bình"):
        assert line in text, line
    # test-output/signing/minutes-forms-last-page.png, to look at: blue signatures, the red seal over the
    # left third of the chair's, the text readable.
    png = render_page_png(path, signing_output / "minutes-forms-last-page", dpi=DPI, page=2)
    assert sum(map(_blue, _pixels(png, SECRETARY_BOX))) > 300
    assert sum(map(_blue, _pixels(png, CHAIR_BOX))) > 300
    assert sum(map(_red, _pixels(png, SEAL_BOX))) > 500
    # Where seal and chair overlap, both show: the seal's PNG stayed transparent.
    overlap = (CHAIR_BOX[0], CHAIR_BOX[1], SEAL_BOX[2], CHAIR_BOX[3])
    assert sum(map(_red, _pixels(png, overlap))) > 200
    assert sum(map(_blue, _pixels(png, overlap))) > 50
    # The seal lies on the chair's left third, not further right.
    chair_right = (SEAL_BOX[2] + 5, CHAIR_BOX[1], CHAIR_BOX[2], CHAIR_BOX[3])
    assert sum(map(_red, _pixels(png, chair_right))) == 0


def _appearance_images(pdf: bytes, field: str) -> list[bool]:
    """For each image drawn in the field's appearance: whether it carries an /SMask (its alpha channel)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        widget = next(a for page in doc.pages for a in page.get("/Annots", []) if a.get("/T") == field)
        xobjects = widget.AP.N.Resources.get("/XObject", {})
        return [xobj.get("/SMask") is not None for xobj in xobjects.values() if xobj.get("/Subtype") == "/Image"]


def _palette_png_with_transparent_colour() -> bytes:
    image = Image.new("P", (300, 120), 0)
    image.putpalette([255, 255, 255, 20, 40, 160] + [0, 0, 0] * 254)
    for x in range(20, 280):
        for y in range(55, 65):
            image.putpixel((x, y), 1)
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)
    return out.getvalue()


def test_transparent_png_keeps_its_transparency_as_an_smask(document: bytes, chair: pki.SignerIdentity,
                                                             signing_time: dt.datetime, seal_png: bytes) -> None:
    prepared = pades.prepare_fields(document, FIELDS)
    for png in (seal_png, _palette_png_with_transparent_colour()):
        signed = pades.sign_field(prepared, "chair", signer=chair, signing_time=signing_time,
                                  appearance=OfficialSignature("Trần Văn Chủ", "Chủ tọa", signing_time, png))
        assert _appearance_images(signed, "chair") == [True], "the image lost its alpha channel (no /SMask)"


def test_without_an_image_the_box_shows_the_text_only(document: bytes, chair: pki.SignerIdentity,
                                                      signing_time: dt.datetime, tmp_path: Path) -> None:
    prepared = pades.prepare_fields(document, FIELDS)
    signed = pades.sign_field(prepared, "chair", signer=chair, signing_time=signing_time,
                              appearance=OfficialSignature("Trần Văn Chủ", "Chủ tọa", signing_time))
    assert _appearance_images(signed, "chair") == []
    assert "Ký bởi: Trần Văn Chủ" in _last_page_text(write(tmp_path, "x.pdf", signed))
    sealed = pades.sign_field(prepared, "organisation", signer=chair, signing_time=signing_time,
                              appearance=SealSignature(ORG_NAME, signing_time))
    assert _appearance_images(sealed, "organisation") == []


@pytest.mark.parametrize("size", [(180, 100), (100, 130), (40, 20), (300, 12), (12, 300), (3, 3)])
@pytest.mark.parametrize("image_aspect", [None, 2.5, 1.0, 0.2])
@pytest.mark.parametrize("text_position", ["top", "bottom"])
@pytest.mark.parametrize("line_widths", [[], [40.0], [120.0, 60.0, 160.0], [400.0] * 6])
def test_the_layout_never_leaves_the_box(size: tuple[float, float], image_aspect: float | None,
                                         text_position: forms.TextPosition, line_widths: list[float]) -> None:
    width, height = size
    placed = forms.place(width, height, line_widths=line_widths, image_aspect=image_aspect,
                         text_position=text_position)
    for rect in (placed.text_rect, placed.image_rect):
        if rect is not None:
            assert rect.width >= 0 and rect.height >= 0
            assert -1e-6 <= rect.x and rect.x + rect.width <= width + 1e-6, (rect, size)
            assert -1e-6 <= rect.y and rect.y + rect.height <= height + 1e-6, (rect, size)
    for (x, baseline), line_w in zip(placed.line_origins, line_widths, strict=True):
        assert x >= 0 and x + line_w * placed.text_scale <= width + 1e-6
        # glyphs reach at most one font size above the baseline and a quarter below it
        assert baseline - forms.FONT_SIZE * placed.text_scale * 0.25 >= -1e-6
        assert baseline + forms.FONT_SIZE * placed.text_scale <= height + 1e-6
    if placed.text_rect and placed.image_rect:
        text, image = placed.text_rect, placed.image_rect
        assert image.y >= text.y + text.height - 1e-6 or text.y >= image.y + image.height - 1e-6, "overlap"


def test_text_keeps_its_size_when_it_fits_and_the_image_takes_the_rest() -> None:
    placed = forms.place(180, 100, line_widths=[100, 60, 150], image_aspect=2.5, text_position="bottom")
    assert placed.text_scale == 1
    assert placed.image_rect is not None and placed.text_rect is not None
    assert placed.image_rect.y > placed.text_rect.y + placed.text_rect.height  # image above the text
    assert placed.image_rect.height > 100 - 3 * forms.LEADING - 2 * forms.INSET - forms.GAP - 1


def test_long_names_wrap_into_even_lines(seal_png: bytes) -> None:
    font = SealSignature(ORG_NAME, dt.datetime.now(dt.timezone.utc), seal_png)._font
    lines = forms.balanced_wrap(ORG_NAME, font, size=forms.FONT_SIZE, max_width=100)
    assert " ".join(lines) == ORG_NAME and len(lines) == 2
    widths = [font.text_width(line, forms.FONT_SIZE) for line in lines]
    assert max(widths) - min(widths) < 30


def test_naive_signing_time_and_unusable_images_are_refused_up_front(signing_time: dt.datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OfficialSignature("A", "B", dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="not a PNG"):
        SealSignature(ORG_NAME, signing_time, b"GIF89a...")


# ---- images ---------------------------------------------------------------------------------------------

def _rgba(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.convert("RGBA")


def test_demo_signature_is_a_blue_stroke_on_transparent_ground(secretary_signature_png: bytes) -> None:
    image = _rgba(secretary_signature_png)
    assert image.size == (600, 240)
    visible = [p for p in image.get_flattened_data() if p[3] > 128]
    assert 0.02 < len(visible) / (600 * 240) < 0.25, "strokes, not a filled area"
    assert all(b > r + 40 for r, _g, b, _a in visible)
    assert images.check_png(secretary_signature_png) == secretary_signature_png


def test_demo_signatures_differ_between_people_and_repeat_for_one() -> None:
    a = images.demo_signature_png("Trần Văn Chủ", 2)
    assert images.demo_signature_png("Trần Văn Chủ", 2) == a
    assert images.demo_signature_png("Trần Văn Chủ", 3) != a
    assert images.demo_signature_png("Lê Thị Năm", 2) != a


def test_demo_seal_is_red_round_and_transparent_around_and_inside(seal_png: bytes) -> None:
    image = _rgba(seal_png)
    assert image.size == (600, 600)
    visible = [p for p in image.get_flattened_data() if p[3] > 128]
    assert all(r > g + 80 and r > b + 80 for r, g, b, _a in visible)
    assert image.getpixel((5, 5))[3] == 0, "corners are transparent"
    assert image.getpixel((300, 300))[3] > 200, "the star is in the middle"
    assert image.getpixel((300, 160))[3] == 0, "between the star and the inner ring it is transparent"
    assert image.getpixel((300, 12))[3] > 200, "the outer ring"
    assert images.check_png(seal_png) == seal_png


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_check_png_refuses_what_cannot_be_a_transparent_signature_image(seal_png: bytes) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (100, 100), (255, 0, 0)).save(jpeg, format="JPEG")
    cases = {
        jpeg.getvalue(): "not a PNG",
        b"garbage" * 100: "not a PNG",
        b"": "empty",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 200: "damaged",
        seal_png[: len(seal_png) // 2]: "damaged",
        _png(Image.new("RGB", (200, 80), (0, 0, 255))): "no transparency",
        _png(Image.new("RGBA", (200, 80), (0, 0, 255, 255))): "no transparent background",
        _png(Image.new("RGBA", (200, 80), (0, 0, 255, 0))): "entirely transparent",
        _png(Image.new("LA", (3000, 2000), (0, 0))): "too many pixels",
        _png(Image.new("RGBA", (4, 4), (0, 0, 255, 0))): "too small",
    }
    for data, reason in cases.items():
        with pytest.raises(ValueError, match=reason):
            images.check_png(data)
    with pytest.raises(ValueError, match="too large"):
        images.check_png(seal_png, max_bytes=len(seal_png) - 1)
    palette = _palette_png_with_transparent_colour()
    assert images.check_png(palette) == palette  # a transparent palette colour counts as transparency
