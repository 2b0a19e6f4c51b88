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
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


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
