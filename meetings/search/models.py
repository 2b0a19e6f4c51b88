"""The search index: one entry per archived text (a meeting's minutes, each of its documents).

The full-text machinery is not a model: on SQLite an FTS5 table ``search_fts`` over ``folded`` kept in step by
triggers, on PostgreSQL a GIN index on ``to_tsvector('simple', folded)`` (as ``search_tsvector(folded)``); both
are created by migration 0010.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meetings.core.db import Base

KINDS = ("minutes", "document")
# Not models, made by the migration: the FTS5 table (SQLite; its shadow tables share the prefix) and the
# expression index (PostgreSQL). Queries must spell the indexed expression exactly as the index does.
# (The index is not declared here: Alembic cannot compare an expression index on SQLite, where it is absent.)
FTS_TABLE = "search_fts"
FTS_INDEX = "ix_search_entries_fts"
# to_tsvector('simple', folded), costed as what it is (see migration 0010): the planner then keeps to the index.
TSVECTOR_SQL = "search_tsvector(search_entries.folded)"


class SearchEntry(Base):
    """``text`` is the original in NFC; ``folded`` is ``index_form(text)``: lower case, no diacritics, only
    letters, digits and spaces, and exactly as long, so offsets found in it are offsets in ``text``."""

    __tablename__ = "search_entries"
    __table_args__ = (sa.CheckConstraint("kind IN ('minutes', 'document')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    ref_id: Mapped[int]  # the document's id, or the meeting's for its minutes
    title: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    folded: Mapped[str] = mapped_column(sa.Text)
