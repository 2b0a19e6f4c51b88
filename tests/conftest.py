"""Test harness: every database test runs on SQLite and on the real PostgreSQL.

PostgreSQL is taken from TEST_PG_URL (default: the local server's ``test`` database, used only to create a
throw-away database per run). If it is unreachable the PostgreSQL tests fail loudly — they are never skipped.
Set TEST_DATABASES=sqlite to run only the SQLite half while developing.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from meetings import create_app
from meetings.extensions import db
from tests.fixtures.clients import RequestScopedClient

pytest_plugins = ["tests.fixtures.factories", "tests.fixtures.live_server"]

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + dbname


def _upgrade(app) -> None:
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    path = Path(os.environ.get("TEST_OUTPUT_DIR", Path(__file__).resolve().parent.parent / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database, copied for every test (faster than migrating each time)."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    app = create_app({"DATA_DIR": str(data_dir), "SECRET_KEY": "test", "TESTING": True})
    _upgrade(app)
    with app.app_context():
        db.engine.dispose()
    return data_dir / "meetings.db"


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory):
    """A fresh PostgreSQL database for this run, migrated to head; dropped at the end."""
    name = f"phonghop_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL is required for the database tests and is not reachable at {PG_ADMIN_URL}: {err}")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("pg-data")), "SECRET_KEY": "test", "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": url})
    _upgrade(app)
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        db.engine.dispose()
    yield url, tables
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, tmp_path, request):
    config = {"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "TESTING": True}
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        (tmp_path / "data").mkdir()
        shutil.copy(template, tmp_path / "data" / "meetings.db")
    else:
        url, tables = request.getfixturevalue("pg_database")
        config["SQLALCHEMY_DATABASE_URI"] = url
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        engine.dispose()
    app = create_app(config)
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    db.engine.dispose()
    ctx.pop()


@pytest.fixture
def client(app):
    app.test_client_class = RequestScopedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
