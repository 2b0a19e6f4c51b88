"""Transactions: writers announce themselves up front; effects leave only after commit.

SQLite allows one writer at a time. A transaction that reads first and writes later can fail to upgrade
its lock when another writer committed in between, so write requests start with BEGIN IMMEDIATE and wait
(busy_timeout) instead. PostgreSQL needs nothing here: operations lock the rows they serialize on.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from meetings.extensions import db

log = logging.getLogger(__name__)
_after_commit_hooks: list[Callable[[list], None]] = []


def begin_write() -> None:
    """Start the session's transaction as a writer. Call before the first read of a writing unit of work."""
    if not db.session().in_transaction():
        db.session.connection(execution_options={"sqlite_immediate": True})


def restart_as_writer() -> None:
    """End the current (reading) transaction and start a writing one: for handlers that read, then do slow
    work outside any lock, then write."""
    db.session.rollback()
    begin_write()


def on_commit(effect) -> None:
    """Queue something to happen after the current transaction commits (dropped on rollback)."""
    db.session.info.setdefault("outbox", []).append(effect)


def add_after_commit_hook(hook: Callable[[list], None]) -> None:
    """Register a consumer of committed effects (the real-time broadcaster registers one)."""
    if hook not in _after_commit_hooks:
        _after_commit_hooks.append(hook)


def commit() -> None:
    db.session.commit()


def install_sqlite_pragmas(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's implicit BEGIN is too late and deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    # Writers queue on a process lock before BEGIN IMMEDIATE. Under gevent, threading.Lock is a cooperative
    # lock, so a waiting writer yields to the greenlet holding SQLite's lock instead of freezing the whole
    # process inside SQLite's busy handler (which sleeps in C and would never let the holder finish).
    write_lock = threading.Lock()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("sqlite_immediate"):
            write_lock.acquire()
            conn.info["sqlite_write_lock"] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn)
                raise
        else:
            conn.exec_driver_sql("BEGIN")

    def _release(conn):
        if conn.info.pop("sqlite_write_lock", False):
            write_lock.release()

    @event.listens_for(engine, "commit")
    def _commit(conn):
        _release(conn)

    @event.listens_for(engine, "rollback")
    def _rollback(conn):
        _release(conn)


@event.listens_for(Session, "after_commit")
def _flush_outbox(session: Session) -> None:
    effects = session.info.pop("outbox", None)
    if not effects:
        return
    for hook in list(_after_commit_hooks):
        try:
            hook(effects)
        except Exception:  # the write is committed: a failed broadcast must not turn its answer into an error
            log.exception("after-commit hook %s failed", getattr(hook, "__name__", hook))


@event.listens_for(Session, "after_rollback")
def _drop_outbox(session: Session) -> None:
    session.info.pop("outbox", None)
