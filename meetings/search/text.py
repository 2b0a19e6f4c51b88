"""Text for the search index: Vietnamese folding and PDF text extraction. Pure: no Flask, no database.

Folding maps every character to exactly one character, so an offset in the folded text is the same offset in
the (NFC) original: a match found in the folded text is highlighted in the original, diacritics kept.
"""
from __future__ import annotations

import io
import re
import time
import unicodedata
import warnings

# Words longer than this are codes, hashes or extraction garbage, not something anyone types; PostgreSQL
# would skip them anyway (with a notice) and FTS5 would index them, so both skip them.
MAX_WORD = 100
# PostgreSQL refuses a tsvector whose distinct words take more than 1 MiB ("string is too long for
# tsvector"), which would make archiving a meeting fail. A real text never comes near; a pathological one
# (hundreds of thousands of distinct codes) stops being indexed at that point, on both databases alike.
MAX_DISTINCT_BYTES = 900_000

_WORD = re.compile(r"[^\W_]+")  # letters and digits: what FTS5 (unicode61) and PostgreSQL call a word
_WHOLE_WORD = re.compile(r"(?<![^\W_])[^\W_]+")  # not the tail of a word cut by a search's start position
_NOT_WORD = re.compile(r"[\W_]")


class _FoldTable(dict):
    """``str.translate`` table filled on first use: code point → its folded one-character string."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"  # a letter of its own, not d with a mark: NFD leaves it whole
    bases = [c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)]
    if len(bases) == 1:
        lower = bases[0].lower()
        return lower if len(lower) == 1 else bases[0]
    # A combining mark with nothing to sit on (NFC could not compose it) stays; a character that decomposes
    # into several letters (Hangul syllables) stays whole. Either way: one character in, one out.
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


_TABLE = _FoldTable()


def fold(s: str) -> str:
    """NFC, lower case, diacritics removed (đ → d), one character per character of ``nfc(s)``.

    ``fold("Biên bản ĐẦU TƯ") == "bien ban dau tu"``; ``len(fold(s)) == len(nfc(s))`` for every string.
    """
    return nfc(s).translate(_TABLE)


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def index_form(s: str) -> str:
    """What the index stores: ``fold(s)`` with everything that is not a letter or digit made a space.

    The databases' tokenizers then agree on the words: PostgreSQL's parser alone would keep "12/2024/nq-hdnd"
    or "a.b@c.vn" as one token where FTS5 sees several. Same length as ``fold(s)``.
    """
    folded = _NOT_WORD.sub(" ", fold(s))
    if len(folded) > MAX_WORD and any(len(w) > MAX_WORD for w in folded.split()):
        folded = re.sub(r"[^\W_]{%d,}" % (MAX_WORD + 1), lambda m: " " * len(m.group()), folded)
    return _within_distinct_budget(folded)


def _within_distinct_budget(folded: str) -> str:
    if len(folded.encode()) <= MAX_DISTINCT_BYTES:
        return folded  # fewer bytes in all than the limit: the distinct words cannot exceed it
    seen: set[str] = set()
    used = 0
    for match in _WORD.finditer(folded):
        word = match.group()
        if word not in seen:
            seen.add(word)
            used += len(word.encode())
            if used > MAX_DISTINCT_BYTES:
                cut = match.start()
                return folded[:cut] + " " * (len(folded) - cut)
    return folded


# FTS5's operators, which it recognises only in capitals. The query never reaches FTS5 as syntax (every word
# is quoted), but someone typing "thuế OR phí" does not mean the word "or".
OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})


def words(query: str) -> list[str]:
    """The words of a query, folded: letters and digits only, so nothing in it is search syntax."""
    found = []
    for word in _WORD.findall(nfc(query)):
        if word not in OPERATORS:
            found += _WORD.findall(fold(word))
    return found


def pdf_text(data: bytes, *, max_pages: int = 500, max_chars: int = 2_000_000, max_seconds: float = 60.0) -> str:
    """The text of a PDF, page after page, at most ``max_pages`` pages and ``max_chars`` characters.

    Never raises: a broken file gives what could be read before the damage, or "". ``max_seconds`` is
    checked between pages (one page can still take long; uploads are checked with limits before this).
    """
    parts: list[str] = []
    size = 0
    deadline = time.monotonic() + max_seconds
    try:
        # pypdf reports every oddity of a damaged file as a warning; here it only means "less text", which
        # the result already says.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                reader.decrypt("")  # an owner password only restricts printing; a user password: no text
            for index, page in enumerate(reader.pages):
                if index >= max_pages or size >= max_chars or time.monotonic() > deadline:
                    break
                try:
                    page_text = page.extract_text() or ""
                except Exception:  # noqa: BLE001 — one broken page does not lose the others
                    continue
                parts.append(page_text[:max_chars - size])
                size += len(parts[-1])
    except Exception:  # noqa: BLE001 — untrusted input: whatever it does, the answer is "no (more) text"
        pass
    return "\n".join(parts)[:max_chars]


# --- snippets ------------------------------------------------------------------------------------------------

WORDS_BEFORE = 8
WORDS_AFTER = 22  # the first matched word included: about thirty words in all
CLOSE_TOGETHER = 120  # characters: query words this close count as one place in the text
MAX_MATCHES = 5000  # looked at to choose the place to show; a text can match a common word 100 000 times


def match_pattern(terms: list[str], *, prefix_last: bool = False) -> re.Pattern[str]:
    """The query's words as whole words of an ``index_form`` text (the last one as a prefix if asked)."""
    exact = sorted({re.escape(t) for t in (terms[:-1] if prefix_last else terms)}, key=len, reverse=True)
    alternatives = exact + ([re.escape(terms[-1]) + r"[^\W_]*"] if prefix_last and terms else [])
    return re.compile(r"(?<![^\W_])(?:%s)(?![^\W_])" % "|".join(alternatives or ["(?!)"]))


def snippet_window(folded: str, pattern: re.Pattern[str]) -> tuple[int, int]:
    """``(start, end)`` of about thirty words of ``folded`` around the first place where the most query words
    occur close together (or the beginning, when nothing matches)."""
    matches = []
    for match in pattern.finditer(folded):
        matches.append((match.start(), match.group()))
        if len(matches) >= MAX_MATCHES:
            break
    anchor, best, counts, left = 0, 0, {}, 0
    for start, word in matches:
        counts[word] = counts.get(word, 0) + 1
        while start - matches[left][0] > CLOSE_TOGETHER:
            gone = matches[left][1]
            counts[gone] -= 1
            if not counts[gone]:
                del counts[gone]
            left += 1
        if len(counts) > best:
            best, anchor = len(counts), matches[left][0]
    # Looking no further than a few hundred characters either way bounds the work, and the snippet, whatever
    # the text (a table of numbers has few spaces, a broken extraction none at all).
    low = max(0, anchor - 40 * WORDS_BEFORE)
    before = list(_WHOLE_WORD.finditer(folded, low, anchor))
    if len(before) >= WORDS_BEFORE:
        start = before[-WORDS_BEFORE].start()
    elif low == 0:
        start = 0
    else:
        start = before[0].start() if before else anchor
    end = anchor
    for count, word in enumerate(_WHOLE_WORD.finditer(folded, anchor, anchor + 60 * WORDS_AFTER), start=1):
        end = word.end()
        if count >= WORDS_AFTER:
            break
    return start, end


def mark(original: str, folded: str, pattern: re.Pattern[str]) -> list[tuple[str, bool]]:
    """``original`` cut into ``(text, is_match)`` parts where ``pattern`` matches its folded twin (same length);
    runs of white space become one space."""
    if len(original) != len(folded):
        return [(" ".join(original.split()), False)]
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(folded):
        if match.start() > position:
            parts.append((original[position:match.start()], False))
        parts.append((original[match.start():match.end()], True))
        position = match.end()
    if position < len(original):
        parts.append((original[position:], False))
    return [(re.sub(r"\s+", " ", text), is_match) for text, is_match in parts]
