from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pikepdf
import pytest
from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import read_certification_data

from meetings.signing import appearance, fonts, pades, pki, verify
from meetings.signing.appearance import OrganisationStamp
from meetings.signing.timestamps import local_timestamper
from tests.signing.conftest import DOC_NUMBER, ORG_NAME
from tests.signing.helpers import pdftotext, render_page_png, write
from tests.signing.pdfgen import make_pdf


def _stamp_rect(pdf: bytes, field: str = pades.ORGANISATION_FIELD) -> tuple[float, float, float, float]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for annot in doc.pages[0].get("/Annots", []):
            if annot.get("/T") == field:
                x1, y1, x2, y2 = (float(v) for v in annot.Rect)
                return x1, y1, x2, y2
    raise AssertionError(f"no widget for field {field} on page 1")


def _stamp_words(bbox_html: str, rect: tuple[float, float, float, float], page_height: float) -> list[tuple]:
    """(text, xMin, yMin, xMax) of the words pdftotext finds inside the stamp's rectangle (top-down y)."""
    x1, y1, _x2, y2 = rect
    words = []
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                         bbox_html):
        x_min, y_min, x_max, y_max = (float(m.group(i)) for i in range(1, 5))
        # the glyph box's height depends on the font's metrics; its middle is inside the stamp either way
        if x_min >= x1 - 1 and page_height - y2 <= (y_min + y_max) / 2 <= page_height - y1:
            words.append((m.group(5), x_min, y_min, x_max))
    return words


def _first_line_extent(words: list[tuple]) -> float:
    top = min(w[2] for w in words)
    line = [w for w in words if abs(w[2] - top) < 2]
    return max(w[3] for w in line) - min(w[1] for w in line)


def test_signature_is_an_incremental_approval_signature(document: bytes, signed: bytes) -> None:
    assert signed.startswith(document), "the original bytes must stay untouched"
    reader = PdfFileReader(io.BytesIO(signed))
    assert read_certification_data(reader) is None  # no DocMDP: later signers may still sign
    sig = reader.embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES baseline
    assert "/Reference" not in sig.sig_object


def test_stamp_is_top_right_of_page_one_and_sized_to_its_text(signed: bytes, signing_time: dt.datetime) -> None:
    x1, y1, x2, y2 = _stamp_rect(signed)
    assert (x2, y2) == (595 - appearance.PAGE_INSET, 842 - appearance.PAGE_INSET)
    width, height = OrganisationStamp(ORG_NAME, DOC_NUMBER, signing_time).size()
    assert (x2 - x1, y2 - y1) == pytest.approx((width, height), abs=0.01)
    assert y1 > 842 - 72, "the stamp stays above the first line of text (72 pt margin)"


def test_stamp_text_round_trips_with_vietnamese_diacritics(signed: bytes, signing_time: dt.datetime,
                                                           tmp_path: Path) -> None:
    text = pdftotext(write(tmp_path, "signed.pdf", signed))
    assert ORG_NAME in text
    assert f"Số: {DOC_NUMBER}" in text
    assert f"Thời gian ký: {appearance.format_signing_time(signing_time)}" in text
    # pyHanko also records each line as /ActualText with /Lang (vi) for screen readers
    with pikepdf.open(io.BytesIO(signed)) as doc:
        widget = next(a for a in doc.pages[0].Annots if a.get("/T") == pades.ORGANISATION_FIELD)
        ops = pikepdf.parse_content_stream(widget.AP.N)
        spans = [op.operands[1] for op in ops if op.operator == pikepdf.Operator("BDC")]
    assert {str(s.ActualText) for s in spans} >= {ORG_NAME, f"Số: {DOC_NUMBER}"}
    assert all(str(s.Lang) == "vi" for s in spans)


def test_embedded_stamp_font_is_the_rescaled_one(signed: bytes) -> None:
    with pikepdf.open(io.BytesIO(signed)) as doc:
        widget = next(a for a in doc.pages[0].Annots if a.get("/T") == pades.ORGANISATION_FIELD)
        (font,) = widget.AP.N.Resources.Font.values()
        descendant = font.DescendantFonts[0]
        program = descendant.FontDescriptor.FontFile2.read_bytes()
        widths = list(descendant.W)
    assert "LiberationSerif" in str(font.BaseFont) or "Tinos" in str(font.BaseFont)
    tt = TTFont(io.BytesIO(program))
    assert tt["head"].unitsPerEm == 1000
    # /W must be in thousandths of an em: no glyph of a text face is wider than 1000 there
    flat = [w for chunk in widths[1::2] for w in chunk]
    assert flat and max(flat) <= 1000


def test_rendered_stamp_spacing_matches_the_font_metrics(signed: bytes, signing_time: dt.datetime,
                                                         signing_output: Path) -> None:
    """Render page 1 (look at test-output/signing/stamp-page1.png) and measure the text's ink."""
    pdf_path = write(signing_output, "signed.pdf", signed)
    dpi = 144
    png = render_page_png(pdf_path, signing_output / "stamp-page1", dpi=dpi)
    scale = dpi / 72
    x1, y1, x2, y2 = _stamp_rect(signed)
    inset = (appearance.BORDER_WIDTH + 1) * scale
    with Image.open(png) as image:
        box = (int(x1 * scale + inset), int((842 - y2) * scale + inset),
               int(x2 * scale - inset), int((842 - y1) * scale - inset))
        inner = image.convert("L").crop(box)
        inner.save(signing_output / "stamp-crop.png")
    ink = inner.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert ink is not None, "the stamp is blank"
    lines = OrganisationStamp(ORG_NAME, DOC_NUMBER, signing_time).lines
    expected = max(fonts.stamp_font().text_width(line, appearance.FONT_SIZE) for line in lines) * scale
    ink_width = ink[2] - ink[0]
    assert ink_width == pytest.approx(expected, rel=0.05)
    assert ink[2] < inner.width - 1, "text must end before the border, not be clipped by it"


def _unscaled_stamp_font() -> fonts.StampFont:
    """The font as installed (2048 units/em), cut to the same repertoire: what pyHanko mis-spaces."""
    source = fonts.stamp_font().source
    with TTFont(source) as tt:
        options = subset.Options()
        options.hinting = False
        options.drop_tables += ["FFTM"]
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(unicodes=fonts.STAMP_REPERTOIRE)
        subsetter.subset(tt)
        buf = io.BytesIO()
        tt.save(buf)
    return fonts.StampFont(source=source, data=buf.getvalue(), embed_whole=False)


def test_unscaled_font_would_spread_the_text_and_ours_does_not(document: bytes, test_pki: pki.GeneratedPki,
                                                               signing_time: dt.datetime, signed: bytes,
                                                               tmp_path: Path) -> None:
    """The control experiment for the rescaling: same box, same text, the font as installed (2048 units/em).

    pdftotext places words by the font's /W widths, so the extent of the first stamp line shows the spacing a
    viewer will use. The box sits at the left margin here so that spread-out text still lands on the page.
    """
    good = OrganisationStamp(ORG_NAME, DOC_NUMBER, signing_time)
    bad = OrganisationStamp(ORG_NAME, DOC_NUMBER, signing_time, font=_unscaled_stamp_font())
    width, height = good.size()
    box = (72.0, 600.0, 72 + width, 600 + height)
    expected = fonts.stamp_font().text_width(good.lines[0], appearance.FONT_SIZE)
    for stamp, low, high in ((good, 0.97, 1.03), (bad, 1.8, 2.3)):
        prepared = pades.prepare_fields(document, [pades.FieldSpec("organisation", box=box)])
        pdf = pades.sign_field(prepared, "organisation", signer=test_pki.organisation, signing_time=signing_time,
                               appearance=stamp)
        html = pdftotext(write(tmp_path, "x.pdf", pdf), "-bbox")
        extent = _first_line_extent(_stamp_words(html, box, 842))
        assert low * expected <= extent <= high * expected, (extent, expected)
    html = pdftotext(write(tmp_path, "signed.pdf", signed), "-bbox")
    assert _first_line_extent(_stamp_words(html, _stamp_rect(signed), 842)) == pytest.approx(expected, rel=0.03)


def test_b_t_signature_carries_a_trusted_timestamp(signed: bytes, document: bytes, test_pki: pki.GeneratedPki,
                                                   signing_time: dt.datetime) -> None:
    plain = verify.verify_pdf(signed, trust_roots=test_pki.trust_roots).signatures[0]
    assert plain.timestamp_time is None  # B-B
    stamped = pades.sign_document(document, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                                  signing_time=signing_time, timestamper=local_timestamper(test_pki.tsa))
    report = verify.verify_pdf(stamped, trust_roots=test_pki.trust_roots)
    sig = report.signatures[0]
    assert report.verdict == verify.Verdict.VALID, report.summary
    assert sig.timestamp_time is not None
    assert abs(sig.timestamp_time - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    assert sig.signing_time == signing_time


def test_signing_a_signed_document_again_adds_a_second_field(signed: bytes, test_pki: pki.GeneratedPki,
                                                             signing_time: dt.datetime) -> None:
    again = pades.sign_document(signed, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                                signing_time=signing_time)
    report = verify.verify_pdf(again, trust_roots=test_pki.trust_roots)
    assert [s.field for s in report.signatures] == ["organisation", "organisation-2"]
    assert report.verdict == verify.Verdict.VALID, report.summary


def test_stamp_respects_a_crop_box_that_does_not_start_at_the_origin(test_pki: pki.GeneratedPki,
                                                                     signing_time: dt.datetime) -> None:
    with pikepdf.open(io.BytesIO(make_pdf([["Trang có CropBox"]]))) as doc:
        doc.pages[0].obj.CropBox = [50, 60, 545, 782]
        buf = io.BytesIO()
        doc.save(buf)
    out = pades.sign_document(buf.getvalue(), signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                              signing_time=signing_time)
    _x1, _y1, x2, y2 = _stamp_rect(out)
    assert (x2, y2) == (545 - appearance.PAGE_INSET, 782 - appearance.PAGE_INSET)


@pytest.mark.parametrize("data, reason", [
    (b"%PDF-1.7\nnot really", "not a readable PDF"),
    (b"GIF89a", "not a readable PDF"),
])
def test_unreadable_input_is_a_signing_error(test_pki: pki.GeneratedPki, signing_time: dt.datetime, data: bytes,
                                            reason: str) -> None:
    with pytest.raises(pades.SigningError, match=reason):
        pades.sign_document(data, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                            signing_time=signing_time)


def test_encrypted_pdf_is_refused(document: bytes, test_pki: pki.GeneratedPki, signing_time: dt.datetime) -> None:
    with pikepdf.open(io.BytesIO(document)) as doc:
        buf = io.BytesIO()
        doc.save(buf, encryption=pikepdf.Encryption(owner="o", user="u"))
    with pytest.raises(pades.SigningError, match="encrypted"):
        pades.sign_document(buf.getvalue(), signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                            signing_time=signing_time)


def test_naive_or_out_of_validity_signing_time_is_refused(document: bytes, test_pki: pki.GeneratedPki) -> None:
    with pytest.raises(pades.SigningError, match="timezone-aware"):
        pades.sign_field(pades.prepare_fields(document, [pades.FieldSpec("x")]), "x",
                         signer=test_pki.organisation, signing_time=dt.datetime(2026, 1, 1))
    expired = test_pki.organisation.certificate.not_valid_after_utc + dt.timedelta(days=1)
    with pytest.raises(pki.CertificateError, match="expired"):
        pades.sign_document(document, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                            signing_time=expired)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_stamp_is_top_right_and_upright_on_rotated_pages(rotation: int, test_pki: pki.GeneratedPki,
                                                         signing_time: dt.datetime, signing_output: Path) -> None:
    """Landscape scans often come as portrait pages with /Rotate; the stamp must follow the page as shown."""
    with pikepdf.open(io.BytesIO(make_pdf([["Trang xoay"]]))) as doc:
        doc.pages[0].obj.Rotate = rotation
        buf = io.BytesIO()
        doc.save(buf)
    out = pades.sign_document(buf.getvalue(), signer=test_pki.organisation, org_name=ORG_NAME,
                              doc_number=DOC_NUMBER, signing_time=signing_time)
    png = render_page_png(write(signing_output, f"rotated-{rotation}.pdf", out),
                          signing_output / f"rotated-{rotation}", dpi=72)
    with Image.open(png) as image:
        shown = image.convert("L")
    width, height = shown.size
    assert (width > height) == (rotation in (90, 270))
    # ink of the stamp: everything in the top band to the right of the page's own text column
    corner = shown.crop((width // 2, 0, width, 80)).point(lambda v: 255 if v < 128 else 0).getbbox()
    assert corner is not None, "no stamp in the displayed top-right corner"
    x1, y1, x2, y2 = corner
    assert width // 2 + x2 >= width - appearance.PAGE_INSET - 2
    assert y1 <= appearance.PAGE_INSET + 2
    assert x2 - x1 > 2 * (y2 - y1), "upright text makes a wide, short box; rotated text a tall, narrow one"
    report = verify.verify_pdf(out, trust_roots=test_pki.trust_roots)
    assert report.verdict == verify.Verdict.VALID, report.summary


def test_names_beyond_vietnamese_still_render_with_the_wide_font(document: bytes, test_pki: pki.GeneratedPki,
                                                                  signing_time: dt.datetime,
                                                                  tmp_path: Path) -> None:
    name = "Đoàn công tác Müller & Søn"
    out = pades.sign_document(document, signer=test_pki.organisation, org_name=name, doc_number=None,
                              signing_time=signing_time)
    assert name in pdftotext(write(tmp_path, "wide.pdf", out))
    assert verify.verify_pdf(out, trust_roots=test_pki.trust_roots).verdict == verify.Verdict.VALID
