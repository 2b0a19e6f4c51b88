from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from meetings.signing import appearance, fonts
from meetings.signing.appearance import OrganisationStamp, format_signing_time, top_right_box


def test_signing_time_is_shown_in_vietnam_time_whatever_the_input_zone() -> None:
    utc = dt.datetime(2026, 3, 25, 20, 5, 9, tzinfo=dt.timezone.utc)
    assert format_signing_time(utc) == "03:05:09 26/03/2026 +07:00"
    paris = utc.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert format_signing_time(paris) == "03:05:09 26/03/2026 +07:00"


def test_naive_signing_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_signing_time(dt.datetime(2026, 3, 25, 8, 0, 0))


def test_stamp_lines_are_name_number_time_and_number_is_optional() -> None:
    at = dt.datetime(2026, 3, 25, 1, 2, 3, tzinfo=dt.timezone.utc)
    with_number = OrganisationStamp("Hội đồng nhân dân tỉnh Hòa Bình", "12/NQ-HĐND", at)
    assert with_number.lines == ["Hội đồng nhân dân tỉnh Hòa Bình", "Số: 12/NQ-HĐND",
                                 "Thời gian ký: 08:02:03 25/03/2026 +07:00"]
    without = OrganisationStamp("Hội đồng nhân dân tỉnh Hòa Bình", "  ", at)
    assert len(without.lines) == 2
    assert without.size()[1] < with_number.size()[1]


def test_decomposed_vietnamese_is_normalised_for_the_precomposed_glyphs() -> None:
    at = dt.datetime(2026, 3, 25, tzinfo=dt.timezone.utc)
    decomposed = "Ho\u0323\u0302i đo\u0302\u0300ng"  # "Hội đồng" typed as base letters + combining marks
    assert OrganisationStamp(decomposed, None, at).lines[0] == "Hội đồng"


def test_long_organisation_names_wrap_and_the_box_fits_the_text() -> None:
    at = dt.datetime(2026, 3, 25, tzinfo=dt.timezone.utc)
    name = "Ủy ban nhân dân thành phố Hồ Chí Minh — Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân"
    stamp = OrganisationStamp(name, None, at)
    font = fonts.stamp_font()
    assert len(stamp.lines) >= 3
    assert " ".join(stamp.lines[:-1]) == name
    widest = max(font.text_width(line, appearance.FONT_SIZE) for line in stamp.lines)
    assert widest <= appearance.MAX_TEXT_WIDTH + 1
    width, height = stamp.size()
    assert widest < width - 2 * appearance.PADDING <= widest + 2 * appearance.BORDER_WIDTH + 2
    assert height == len(stamp.lines) * appearance.LEADING + 2 * (appearance.PADDING + appearance.BORDER_WIDTH)


def test_percent_signs_in_names_are_text_not_placeholders() -> None:
    stamp = OrganisationStamp("Công ty 100% vốn nhà nước", None, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    template = stamp.stamp_style().stamp_text
    assert template % {} == "\n".join(stamp.lines)


def test_box_sits_in_the_top_right_corner_of_the_visible_area() -> None:
    assert top_right_box((0, 0, 595, 842), (200, 50)) == (381, 778, 581, 828)
    # a CropBox that does not start at the origin
    assert top_right_box((100, 100, 500, 700), (200, 50)) == (286, 636, 486, 686)
    # a page smaller than the stamp: stay on the page
    assert top_right_box((0, 0, 100, 40), (200, 50))[:2] == (0, 0)


def test_stamp_font_is_rescaled_to_1000_units_and_has_every_vietnamese_letter() -> None:
    font = fonts.stamp_font()
    tt = TTFont(io.BytesIO(font.data))
    assert tt["head"].unitsPerEm == 1000
    cmap = tt.getBestCmap()
    assert all(ord(ch) in cmap for ch in fonts.VIETNAMESE_LETTERS)
    assert "fpgm" not in tt and "prep" not in tt  # hinting dropped: its values were in the old units
    # Times New Roman's 'H' is 722/1000 em wide; Liberation Serif matches it metrically
    if "Liberation" in font.source.name or "Tinos" in font.source.name:
        assert tt["hmtx"][cmap[ord("H")]][0] == 722
    with TTFont(font.source) as source:
        assert source["head"].unitsPerEm == 2048


def test_font_without_vietnamese_is_not_chosen(tmp_path: Path) -> None:
    # Like Debian's Liberation 1.07: a serif font with Latin letters but no Vietnamese (made here, so the
    # test does not depend on which fonts the machine has).
    from fontTools import subset

    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    latin_only = tmp_path / "LatinOnlySerif.ttf"
    subset.main([str(dejavu), "--unicodes=U+0020-007E", f"--output-file={latin_only}"])
    assert not fonts.covers_vietnamese(latin_only)
    assert fonts.find_serif_font((latin_only, dejavu)) == dejavu
    with pytest.raises(fonts.FontError, match="fonts-liberation2"):
        fonts.find_serif_font((latin_only, tmp_path / "missing.ttf"))


def test_text_beyond_vietnamese_switches_to_the_wide_font() -> None:
    assert fonts.font_for("Hội đồng nhân dân") is fonts.stamp_font()
    wide = fonts.font_for("Müller & Søn")
    assert wide is fonts.stamp_font(wide=True)
    assert not wide.missing_characters("Müller & Søn")
