"""The interface is Vietnamese first: every message in the code and templates has a Vietnamese translation."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}
METHODS = [("meetings/**.py", "python"), ("templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalog():
    with open(ROOT / "meetings/translations/vi/LC_MESSAGES/messages.po", "rb") as fh:
        return read_po(fh, locale="vi")


def test_every_message_has_a_vietnamese_translation():
    po = catalog()
    missing = sorted(m for m in source_messages()
                     if m and (m not in po or not po[m].string or po[m].fuzzy))
    assert not missing, f"{len(missing)} message(s) lack a Vietnamese translation, e.g. {missing[:10]}"


def test_translations_keep_their_placeholders():
    import re
    placeholder = re.compile(r"%\(\w+\)s")
    bad = []
    for message in catalog():
        if message.id and message.string and isinstance(message.id, str):
            if sorted(placeholder.findall(message.id)) != sorted(placeholder.findall(message.string)):
                bad.append(message.id)
    assert not bad, f"placeholders differ in: {bad[:10]}"
