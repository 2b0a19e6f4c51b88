"""Folding, the index form, query words, snippets and PDF text: pure functions, no app."""
from __future__ import annotations

import random
import unicodedata

import pytest

from meetings.search import text
from meetings.search.text import fold, index_form, mark, match_pattern, pdf_text, snippet_window, words
from tests.signing.pdfgen import SAMPLE_LINES, make_pdf

VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền, sắc, hỏi, ngã, nặng
# Every Vietnamese letter with every tone, in both cases, precomposed.
VIETNAMESE_LETTERS = "".join(unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES) + "dđ"
VIETNAMESE_LETTERS += VIETNAMESE_LETTERS.upper()
SAMPLE = " ".join(SAMPLE_LINES) + (
    " Biên bản kỳ họp thứ mười hai Hội đồng nhân dân tỉnh; Nghị quyết số 12/2024/NQ-HĐND về đầu tư công trung hạn"
    " giai đoạn 2026–2030. Ủy ban nhân dân tỉnh trình; đại biểu thảo luận, biểu quyết tán thành 45/50 (90,0%).")


def large_sample() -> str:
    rng = random.Random(2026)
    words_ = SAMPLE.split() + ["".join(rng.choice(VIETNAMESE_LETTERS) for _ in range(rng.randint(1, 7)))
                               for _ in range(2000)]
    return "\n".join(" ".join(rng.choice(words_) for _ in range(15)) for _ in range(3000))


def test_fold_strips_tones_and_marks_and_lowercases():
    assert fold("Biên bản") == "bien ban"
    assert fold("ĐẦU TƯ CÔNG") == "dau tu cong"
    assert fold("Đầu tư công") == "dau tu cong"
    assert fold("đ Đ") == "d d"
    assert fold("Ủy ban nhân dân tỉnh Hòa Bình") == "uy ban nhan dan tinh hoa binh"
    assert set(fold(VIETNAMESE_LETTERS)) == set("aeiouyd")


def test_every_vietnamese_letter_folds_to_one_ascii_letter():
    for letter in VIETNAMESE_LETTERS:
        folded = fold(letter)
        assert len(folded) == 1 and folded.isascii() and folded.islower(), letter


def test_decomposed_input_is_normalised_first():
    decomposed = unicodedata.normalize("NFD", "Biên bản ĐẦU TƯ")
    assert len(decomposed) > len("Biên bản ĐẦU TƯ")
    assert fold(decomposed) == "bien ban dau tu"


def test_folding_keeps_the_length_so_offsets_hold():
    sample = large_sample()
    for variant in (sample, unicodedata.normalize("NFD", sample), sample.upper()):
        nfc = unicodedata.normalize("NFC", variant)
        folded = fold(variant)
        assert len(folded) == len(nfc)
        # character by character: the offset of anything found in the folded text is its offset in the original
        assert all(fold(a) == b for a, b in zip(nfc[:5000], folded[:5000]))
    needle = "dau tu cong"
    at = fold(sample).find(needle)
    if at >= 0:
        assert fold(unicodedata.normalize("NFC", sample)[at:at + len(needle)]) == needle


def test_folding_keeps_the_length_for_any_character():
    """Characters whose lower case is longer (İ → i̇), that decompose into several letters (Hangul), or
    that are marks with nothing to sit on: still one character each."""
    rng = random.Random(7)
    code_points = list(range(0x3000)) + rng.sample(range(0x3000, 0x110000), 20000)
    chars = [chr(c) for c in code_points if not 0xD800 <= c < 0xE000]
    for ch in chars:
        nfc = unicodedata.normalize("NFC", ch)
        assert len(fold(ch)) == len(nfc), hex(ord(ch))
    assert fold("İstanbul") == "istanbul"
    assert len(fold("x\u0301 한국")) == len(unicodedata.normalize("NFC", "x\u0301 한국"))


def test_index_form_keeps_only_words_and_the_length():
    assert index_form("Số 12/2024/NQ-HĐND, e-mail: a.b@c.vn") == "so 12 2024 nq hdnd  e mail  a b c vn"
    sample = large_sample()
    assert len(index_form(sample)) == len(unicodedata.normalize("NFC", sample))
    assert index_form("mã " + "x" * 300 + " cuối") == "ma " + " " * 300 + " cuoi"  # no one types such a word


def test_index_form_stops_before_the_distinct_words_outgrow_postgresql(monkeypatch):
    monkeypatch.setattr(text, "MAX_DISTINCT_BYTES", 40)
    many = " ".join(f"w{i:04d}" for i in range(100))
    folded = index_form(many)
    assert len(folded) == len(many)
    assert folded.split()[:7] == [f"w{i:04d}" for i in range(7)] and len(folded.split()) < 10
    assert index_form("lặp " * 1000).split() == ["lap"] * 1000  # repeated words cost nothing


def test_query_words_drop_every_bit_of_search_syntax():
    assert words("BIÊN BẢN") == ["bien", "ban"]
    assert words('"abc* a OR b NEAR( -x:y AND NOT') == ["abc", "a", "b", "x", "y"]
    assert words("thuế or phí") == ["thue", "or", "phi"]  # lower case: a word like any other
    assert words("'; DROP TABLE search_entries; --") == ["drop", "table", "search", "entries"]
    assert words('*** ( ) " ^ : -') == []


def test_mark_highlights_the_original_words():
    original = "Thông qua  Biên bản\nkỳ họp; BIÊN BẢN cuối."
    pattern = match_pattern(words("bien ban"))
    parts = mark(original, index_form(original), pattern)
    assert [t for t, m in parts if m] == ["Biên", "bản", "BIÊN", "BẢN"]
    assert "".join(t for t, _m in parts) == "Thông qua Biên bản kỳ họp; BIÊN BẢN cuối."


def test_the_last_word_may_be_a_prefix():
    pattern = match_pattern(["bien", "ba"], prefix_last=True)
    assert [m.group() for m in pattern.finditer(index_form("biên bản bàn ba bảng abạ"))] == \
        ["bien", "ban", "ban", "ba", "bang"]
    exact = match_pattern(["bien", "ba"])
    assert [m.group() for m in exact.finditer(index_form("biên bản ba"))] == ["bien", "ba"]


def test_snippet_window_is_about_thirty_words_around_the_best_place():
    filler = " ".join(f"từ{i}" for i in range(5000))
    original = filler + " đầu tư ở đây, rồi đầu tư công trung hạn " + filler
    folded = index_form(original)
    start, end = snippet_window(folded, match_pattern(["dau", "tu", "cong"]))
    shown = original[start:end]
    assert "đầu tư công trung hạn" in shown
    assert 25 <= len(shown.split()) <= 31
    nothing = snippet_window(folded, match_pattern(["khong", "co"]))
    assert nothing[0] == 0 and len(original[slice(*nothing)].split()) <= 30


def test_snippet_window_is_bounded_even_without_spaces():
    folded = index_form("x" * 90 + "y" * 90) * 10000 + " bien ban"
    start, end = snippet_window(folded, match_pattern(["bien"]))
    assert end - start < 2000 and folded[start:end].strip().endswith("bien ban")


# --- PDF text ------------------------------------------------------------------------------------------------

def test_pdf_text_reads_the_words_of_a_real_pdf():
    pdf = make_pdf([SAMPLE_LINES, ["Trang hai: biên bản kỳ họp"]])
    extracted = pdf_text(pdf)
    assert "Hội đồng nhân dân tỉnh Hòa Bình" in unicodedata.normalize("NFC", extracted)
    assert "bien ban ky hop" in fold(extracted)
    assert "biên bản" not in pdf_text(pdf, max_pages=1)
    assert len(pdf_text(pdf, max_chars=20)) == 20


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj << /Type /Catalog", b"\x00" * 1000,
                                  b"%PDF-1.4\n" + bytes(random.Random(1).randrange(256) for _ in range(5000))])
def test_pdf_text_of_a_broken_pdf_is_empty(data):
    assert pdf_text(data) == ""


def test_pdf_text_of_a_truncated_pdf_never_raises():
    pdf = make_pdf([SAMPLE_LINES] * 3)
    for cut in (len(pdf) // 3, len(pdf) // 2, len(pdf) - 10):
        assert isinstance(pdf_text(pdf[:cut]), str)
