"""Declarative base, column types and time helpers shared by every model."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


_PREBUILT: dict[tuple, Any] = {}


def prebuilt(key: tuple, build: Callable[[], Any]) -> Any:
    """A statement built once and reused with bound parameters. SQLAlchemy caches compiled SQL by a cache key
    that it computes from the statement object at every execution unless the object is the same one (whose
    key it memoizes); on the paths every request takes (authentication, the meeting's row, the audit append,
    the event) computing that key cost more than running the SQL (an audit append: 390 µs -> 84 µs)."""
    stmt = _PREBUILT.get(key)
    if stmt is None:
        stmt = _PREBUILT[key] = build()
    return stmt


def write_columns(obj: Any, **values: Any) -> None:
    """Set columns of one loaded row with one prebuilt Core UPDATE, and record the values on the instance as
    if they had been read: for the chair's most frequent actions, where the unit of work's flush cost more than
    the SQL. Columns with an ``onupdate`` (``updated_at``) are set by the statement and expired on the instance."""
    from sqlalchemy.orm.attributes import set_committed_value

    from meetings.extensions import db

    mapper = sa.inspect(obj).mapper
    table = mapper.local_table
    (pk,) = mapper.primary_key
    names = tuple(sorted(values))
    stmt = prebuilt(("write_columns", table.name, names), lambda: table.update().where(
        pk == sa.bindparam("_row")).values({n: sa.bindparam(f"_new_{n}") for n in names}))
    db.session.connection().execute(stmt, {"_row": getattr(obj, pk.key), **{f"_new_{n}": v for n, v in values.items()}})
    for name, value in values.items():
        set_committed_value(obj, name, value)
    stale = [c.key for c in table.columns if c.onupdate is not None and c.key not in values]
    if stale:
        db.session.expire(obj, stale)


def one_of(column: Any, values: Any) -> sa.ColumnElement[bool]:
    """``column IN values`` with the whole set as one parameter (PostgreSQL: ``= ANY(array)``, SQLite: a JSON
    array through ``json_each``): the statement's SQL stays the same whatever the number of sockets, so it is
    compiled once instead of rendering one parameter per socket twice a second (500 sockets: a sweep took
    33 ms on PostgreSQL, now 13; on SQLite 7, now 6)."""
    from sqlalchemy.dialects import postgresql

    from meetings.extensions import db

    values = sorted(values)
    if db.engine.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam(None, json.dumps(values), type_=sa.String()))))


def dialect_insert(dialect: str) -> Callable[..., Any]:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (SQLite, PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect not in ("postgresql", "sqlite"):
        raise RuntimeError(f"unsupported database: {dialect}")
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_local_iso(value: datetime | None) -> str | None:
    """The contract's time format: ISO 8601 with the Vietnam offset (+07:00)."""
    if value is None:
        return None
    return value.astimezone(VN_TZ).isoformat(timespec="seconds")


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware datetimes stored as UTC on every backend.

    SQLite has no timezone type, so it gets naive UTC; PostgreSQL gets timestamptz. Naive values are a
    programming error here: the API refuses them before they get this far.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class ExactDecimal(sa.TypeDecorator):
    """An exact decimal on every backend: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = sa.Numeric(12, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(32))
        return dialect.type_descriptor(sa.Numeric(12, 4))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value
