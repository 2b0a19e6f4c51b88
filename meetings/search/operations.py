"""Indexing an archived meeting's texts, and searching them (tra cứu).

Matching is the database's (FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL), both over the folded
text, so "bien ban" finds "biên bản". Everything around it — which words the query has, which entries the
caller may read, where the snippet is and which of its words are marked — is computed here, in Python, so
the two databases give the same answers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.auth.models import User
from meetings.core.db import to_local_iso
from meetings.core.errors import Unprocessable
from meetings.documents.models import Document
from meetings.documents.operations import SEE_EVERYTHING, document_visible
from meetings.extensions import db
from meetings.meeting.access import roles_by_meeting, visible_meetings_stmt
from meetings.meeting.models import Meeting, Participant
from meetings.search import text as textlib
from meetings.search.models import FTS_TABLE, KINDS, TSVECTOR_SQL, SearchEntry

MAX_QUERY = 200  # characters
MAX_TERMS = 32
MAX_LIMIT = 50
MIN_PREFIX = 2  # a one-letter last word is a word, not the start of every word beginning with it
SEARCHED_STATES = ("archived",)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class SearchSource:
    """One text of a meeting: its minutes (``ref_id`` = the meeting's id) or a document (the document's id)."""

    kind: str
    ref_id: int
    title: str
    text: str


def _clean(value: str) -> str:
    """NFC without what the databases refuse: NUL and control characters (PostgreSQL rejects NUL in text),
    unpaired surrogates (not UTF-8). Each is replaced by one character, which keeps nothing aligned that
    matters: offsets are only ever taken in the cleaned text."""
    value = _CONTROL.sub(" ", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return textlib.nfc(value)


def index_meeting(meeting_id: int, sources: list[SearchSource]) -> int:
    """Replace the meeting's entries in the index with ``sources``; the number of entries written.

    Part of the caller's transaction (archiving the meeting): flushes, never commits.
    """
    for source in sources:
        if source.kind not in KINDS:
            raise ValueError(f"unknown kind of search source: {source.kind!r}")
    db.session.execute(sa.delete(SearchEntry).where(SearchEntry.meeting_id == meeting_id))
    entries = []
    for source in sources:
        body = _clean(source.text or "")
        entries.append(SearchEntry(meeting_id=meeting_id, kind=source.kind, ref_id=source.ref_id,
                                   title=_clean(source.title or "")[:300], text=body,
                                   folded=textlib.index_form(body)))
    db.session.add_all(entries)
    db.session.flush()
    return len(entries)


# --- searching -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedQuery:
    text: str
    terms: list[str]  # folded words, every one required
    prefix_last: bool  # the last word also matches longer words ("quyet" → "quyết", "quyết định"…)

    def pattern(self) -> re.Pattern[str]:
        return textlib.match_pattern(self.terms, prefix_last=self.prefix_last)


def parse_query(query: str) -> ParsedQuery:
    """The query's words, folded, without anything a full-text engine would read as syntax; 422 when empty
    or too long."""
    text = _clean(query or "").strip()
    if len(text) > MAX_QUERY:
        raise Unprocessable(_("The search text is too long: at most %(n)s characters.", n=MAX_QUERY))
    words = textlib.words(text)
    terms = list(dict.fromkeys(words))
    if not terms:
        raise Unprocessable(_("Enter a word to search for."))
    if len(terms) > MAX_TERMS:  # every word must occur: dropping some would find what was not asked for
        raise Unprocessable(_("Search for at most %(n)s different words.", n=MAX_TERMS))
    last = words[-1]
    prefix = len(last) >= MIN_PREFIX
    if prefix:
        terms = [t for t in terms if t != last] + [last]
    return ParsedQuery(text, terms, prefix)


def _match_condition(parsed: ParsedQuery) -> sa.ColumnElement[bool]:
    dialect = db.session.get_bind().dialect.name
    exact = parsed.terms[:-1] if parsed.prefix_last else parsed.terms
    if dialect == "sqlite":
        # Every word quoted: whatever the user typed, FTS5 sees only strings, never operators or columns.
        fts = " ".join([f'"{t}"' for t in exact] + ([f'"{parsed.terms[-1]}"*'] if parsed.prefix_last else []))
        matching = sa.text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts").bindparams(fts=fts)
        return SearchEntry.id.in_(matching.columns(sa.column("rowid", sa.Integer)))
    if dialect == "postgresql":
        # Words are letters and digits only, so quoting them makes a tsquery that always parses. The vector
        # is spelled as the GIN index spells it (migration 0010). Matching comes first, on its own: were it
        # mixed with "which meetings may I see", the planner could prefer to read those meetings' texts and
        # parse each again (seconds per large document) over asking the index (milliseconds).
        tsquery = " & ".join([f"'{t}'" for t in exact] + ([f"'{parsed.terms[-1]}':*"] if parsed.prefix_last else []))
        hits = (sa.select(SearchEntry.id)
                .where(sa.literal_column(TSVECTOR_SQL).op("@@")(
                    sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), tsquery)))
                .cte("search_hits").prefix_with("MATERIALIZED"))
        return SearchEntry.id.in_(sa.select(hits.c.id))
    # Only SQLite and PostgreSQL are deployment tiers (DESIGN.md); another database is a configuration error.
    raise RuntimeError(f"full-text search needs SQLite or PostgreSQL, not {dialect}")


def _hidden(actor: User, meeting_ids: sa.Select) -> list[sa.ColumnElement[bool]]:
    """Conditions that leave out what the actor may not read in meetings they see: documents outside their
    audience, and in a closed session (họp kín) a guest's documents and minutes."""
    if actor.is_admin:
        return []
    restricted = db.session.execute(sa.select(Meeting).where(
        Meeting.id.in_(meeting_ids),
        sa.or_(Meeting.is_closed_session,
               Meeting.id.in_(sa.select(Document.meeting_id).where(Document.audience != "all"))))).scalars().all()
    if not restricted:
        return []
    roles = roles_by_meeting(restricted, actor)
    by_id = {m.id: m for m in restricted}
    mine = {p.meeting_id: p for p in db.session.execute(sa.select(Participant).where(
        Participant.user_id == actor.id, Participant.meeting_id.in_(list(by_id)))).scalars()}
    hidden_docs, hidden_minutes = [], []
    for meeting in restricted:
        participant = mine.get(meeting.id)
        if roles[meeting.id] & SEE_EVERYTHING:
            continue
        if meeting.is_closed_session and (participant is None or participant.role == "guest"):
            hidden_minutes.append(meeting.id)
    docs = db.session.execute(sa.select(Document).where(Document.meeting_id.in_(list(by_id)))).scalars()
    for doc in docs:
        meeting = by_id[doc.meeting_id]
        if not document_visible(doc, meeting, roles[meeting.id], mine.get(meeting.id)):
            hidden_docs.append(doc.id)
    conditions = []
    if hidden_docs:
        conditions.append(sa.not_(sa.and_(SearchEntry.kind == "document", SearchEntry.ref_id.in_(hidden_docs))))
    if hidden_minutes:
        conditions.append(sa.not_(sa.and_(SearchEntry.kind == "minutes",
                                          SearchEntry.meeting_id.in_(hidden_minutes))))
    return conditions


def _snippet(entry_id: int, folded: str, pattern: re.Pattern[str]) -> list[dict]:
    start, end = textlib.snippet_window(folded, pattern)
    # Only the window of the original is read: the folded text has the same length, so its offsets hold.
    original = db.session.execute(sa.select(sa.func.substr(SearchEntry.text, start + 1, end - start))
                                  .where(SearchEntry.id == entry_id)).scalar_one()
    parts = textlib.mark(original, folded[start:end], pattern)
    if parts and not parts[0][1]:
        parts[0] = (parts[0][0].lstrip(), False)
    if parts and not parts[-1][1]:
        parts[-1] = (parts[-1][0].rstrip(), False)
    if start > 0:
        parts.insert(0, ("… ", False))
    if end < len(folded.rstrip()):
        parts.append((" …", False))
    merged: list[dict] = []
    for text, is_match in parts:
        if not text:
            continue
        if merged and not is_match and not merged[-1]["match"]:
            merged[-1]["text"] += text
        else:
            merged.append({"text": text, "match": is_match})
    return merged


def search(query: str, *, actor: User, limit: int = 20, offset: int = 0) -> dict:
    """Archived minutes and documents the actor may read that contain every word of ``query``.

    ``{items: [{meeting_id, meeting_title, meeting_date, kind, ref_id, title, snippet: [{text, match}]}],
    total, query}``, newest meeting first (minutes before documents). Diacritics are optional in the query
    and in the text alike.
    """
    parsed = parse_query(query)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    meeting_ids = visible_meetings_stmt(actor).where(Meeting.state.in_(SEARCHED_STATES)).with_only_columns(Meeting.id)
    conditions = [SearchEntry.meeting_id.in_(meeting_ids), _match_condition(parsed), *_hidden(actor, meeting_ids)]
    total = db.session.execute(sa.select(sa.func.count(SearchEntry.id)).where(*conditions)).scalar_one()
    rows = db.session.execute(
        sa.select(SearchEntry.id, SearchEntry.meeting_id, SearchEntry.kind, SearchEntry.ref_id, SearchEntry.title,
                  SearchEntry.folded, Meeting.title.label("meeting_title"), Meeting.starts_at)
        .join(Meeting, Meeting.id == SearchEntry.meeting_id)
        .where(*conditions)
        .order_by(Meeting.starts_at.desc().nulls_last(), Meeting.id.desc(), SearchEntry.kind.desc(),
                  SearchEntry.title, SearchEntry.id)
        .limit(limit).offset(offset)).all() if total > offset else []
    pattern = parsed.pattern()
    items = [{"meeting_id": row.meeting_id, "meeting_title": row.meeting_title,
              "meeting_date": to_local_iso(row.starts_at), "kind": row.kind, "ref_id": row.ref_id,
              "title": row.title, "snippet": _snippet(row.id, row.folded, pattern)} for row in rows]
    return {"items": items, "total": total, "query": parsed.text}
