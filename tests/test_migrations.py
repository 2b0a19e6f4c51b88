"""The migrations build exactly the schema the models describe, from an empty database, on both backends."""
from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from meetings import create_app
from meetings.extensions import db
from meetings.search.models import FTS_INDEX, FTS_TABLE
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_url


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """The URL of a brand-new, empty database (a file for SQLite, a fresh database on the PostgreSQL server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"phonghop_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrating_app(empty_database, tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                         "include_name": _is_model_object})
        return compare_metadata(context, db.metadata)


def _is_model_object(name, type_, _parent) -> bool:
    # The full-text objects of migration 0010 are not models: SQLite's FTS5 table with its shadow tables,
    # PostgreSQL's expression index.
    return not (type_ == "table" and name and name.startswith(FTS_TABLE) or type_ == "index" and name == FTS_INDEX)


def table_names() -> set[str]:
    return {n for n in sa.inspect(db.engine).get_table_names() if not n.startswith(FTS_TABLE)}


def test_upgrade_from_empty_matches_the_models(migrating_app):
    assert table_names() == set()
    upgrade()
    assert table_names() == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
    assert schema_differences() == []


def test_downgrade_to_base_and_upgrade_again(migrating_app):
    upgrade()
    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    upgrade()
    assert schema_differences() == []
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()


def test_migrated_schema_enforces_the_constraints_the_models_rely_on(migrating_app):
    """Foreign keys (including the meetings ⇄ agenda_items cycle) and checks exist in the real schema."""
    upgrade()
    inspector = sa.inspect(db.engine)
    meeting_fks = {(tuple(fk["constrained_columns"]), fk["referred_table"], fk["options"].get("ondelete"))
                   for fk in inspector.get_foreign_keys("meetings")}
    assert (("current_agenda_item_id",), "agenda_items", "SET NULL") in meeting_fks
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("meeting_events")}
    assert ("meeting_id", "seq") in uniques
    assert {tuple(u["column_names"]) for u in inspector.get_unique_constraints("audit_entries")} == {("chain", "idx")}
    checks = " ".join(c["sqltext"] for c in inspector.get_check_constraints("participants"))
    assert "vote_weight" in checks


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def test_upgrading_a_database_full_of_data(migrating_app):
    """Migrations that rebuild tables (SQLite batch mode) must work on a database in use, not only an empty one:
    rows at an older revision (a body other rows refer to, its meeting, people), upgraded to the head and back,
    are all still there."""
    upgrade(revision="0005")
    with db.engine.begin() as conn:
        insert(conn, "bodies", id=1, name="HĐND tỉnh", quorum_rule="more_than_half", default_vote_rule="simple")
        insert(conn, "users", id=1, username="thuky", full_name="Thư ký")
        insert(conn, "users", id=2, username="daibieu", full_name="Đại biểu")
        insert(conn, "body_members", id=1, body_id=1, user_id=1, role="secretary")
        insert(conn, "meetings", id=1, body_id=1, title="Kỳ họp", state="published", created_by_id=1)
        insert(conn, "participants", id=1, meeting_id=1, user_id=2, role="delegate", can_vote=True,
               vote_weight="1")
        insert(conn, "meeting_sessions", id=1, meeting_id=1, title="Phiên sáng", state="planned")
    tables = ("bodies", "users", "body_members", "meetings", "participants", "meeting_sessions")
    before = row_counts_by_table(tables)
    upgrade()
    assert schema_differences() == []
    assert row_counts_by_table(tables) == before
    downgrade(revision="0005")
    assert row_counts_by_table(tables) == before
    upgrade()


def insert(conn, table_name: str, **values) -> None:
    """A row with the given values and placeholder values for the other required columns (of that revision)."""
    import datetime as dt
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        try:
            kind = column.type.python_type
        except NotImplementedError:  # types without a Python equivalent (none at 0005, but stay general)
            kind = str
        row[column.name] = {int: 0, bool: False, str: "", dt.datetime: dt.datetime.now(dt.timezone.utc),
                            list: [], dict: {}}.get(kind, "")
    conn.execute(table.insert().values(**row))


def row_counts_by_table(tables: tuple[str, ...]) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
