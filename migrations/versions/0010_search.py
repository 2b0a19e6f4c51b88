"""search: the full-text index of archived minutes and documents

Revision ID: 0010
Revises: 0009

The table is a model (meetings.search.models.SearchEntry); the full-text objects are not, and differ per
database:
- SQLite: an FTS5 table over ``folded`` with external content (the text is stored once, in search_entries),
  kept in step by three triggers. A later batch migration that rebuilds search_entries drops the triggers
  with the old table: it must create them again (``_create_sqlite_triggers``) and rebuild the index
  (``INSERT INTO search_fts(search_fts) VALUES ('rebuild')``).
- PostgreSQL: a GIN index on the expression ``search_tsvector(folded)``, which is ``to_tsvector('simple',
  folded)`` under a name that tells the planner its true cost. The texts live in TOAST, so the table looks
  a few pages small, and at to_tsvector's default cost a sequential scan that parses every document again
  looks cheaper than the index: 1 s instead of 0.15 ms for 400 short texts, minutes for real documents.
  The search query spells the same expression (meetings.search.models.TSVECTOR_SQL).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = {
    # FTS5 external content: the index is told the old text to forget, and the new text to learn.
    "search_entries_ai": "AFTER INSERT ON search_entries BEGIN "
                         "INSERT INTO search_fts(rowid, folded) VALUES (new.id, new.folded); END",
    "search_entries_ad": "AFTER DELETE ON search_entries BEGIN "
                         "INSERT INTO search_fts(search_fts, rowid, folded) VALUES ('delete', old.id, old.folded); END",
    "search_entries_au": "AFTER UPDATE ON search_entries BEGIN "
                         "INSERT INTO search_fts(search_fts, rowid, folded) VALUES ('delete', old.id, old.folded); "
                         "INSERT INTO search_fts(rowid, folded) VALUES (new.id, new.folded); END",
}


def _create_sqlite_triggers():
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade():
    op.create_table('search_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('folded', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('minutes', 'document')", name=op.f('ck_search_entries_kind')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_search_entries_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entries'))
    )
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_entries_meeting_id'), ['meeting_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(folded, content='search_entries', "
                   "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
        _create_sqlite_triggers()
    elif dialect == "postgresql":
        # plpgsql, so it is never inlined back into the cheap-looking to_tsvector call.
        op.execute("CREATE FUNCTION search_tsvector(folded text) RETURNS tsvector "
                   "LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 10000 "
                   "AS $$ BEGIN RETURN to_tsvector('simple'::regconfig, folded); END $$")
        op.execute("CREATE INDEX ix_search_entries_fts ON search_entries USING gin (search_tsvector(folded))")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_entries_fts")
        op.execute("DROP FUNCTION IF EXISTS search_tsvector(text)")

    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_entries_meeting_id'))

    op.drop_table('search_entries')
