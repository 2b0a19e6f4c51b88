"""The audit chain: every operation appends an entry whose hash covers the previous one.

One chain per meeting (``meeting:<id>``) plus ``system`` for installation-wide changes, so a meeting's
archive carries a chain that verifies on its own and the minutes can print its head. Appends to a chain are
serialized by locking its head row; the unique (chain, idx) constraint makes a fork impossible even if a
lock were bypassed.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.util import identity_key

from meetings.core.chain import GENESIS, ChainReport, entry_hash, verify_chain
from meetings.core.db import Base, UTCDateTime, dialect_insert, prebuilt, utcnow
from meetings.extensions import db


class AuditChain(Base):
    __tablename__ = "audit_chains"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    length: Mapped[int] = mapped_column(default=0)
    head: Mapped[str] = mapped_column(sa.String(64), default=GENESIS)


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (sa.UniqueConstraint("chain", "idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(sa.String(40))
    idx: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(60))
    meeting_id: Mapped[int | None] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    def record(self) -> dict[str, Any]:
        """What the hash covers: everything but the hashes themselves and the surrogate id."""
        return entry_record(self.chain, self.idx, self.at, self.actor_id, self.action, self.meeting_id, self.data)


def entry_record(chain: str, idx: int, at: datetime, actor_id: int | None, action: str, meeting_id: int | None,
                 data: dict[str, Any]) -> dict[str, Any]:
    return {"chain": chain, "idx": idx, "at": at.isoformat(timespec="microseconds"), "actor_id": actor_id,
            "action": action, "meeting_id": meeting_id, "data": data}


def chain_name(meeting_id: int | None) -> str:
    return f"meeting:{meeting_id}" if meeting_id is not None else "system"


def _append_statements(dialect: str) -> tuple[sa.Executable, sa.Executable, sa.Executable]:
    chains, entries = AuditChain.__table__, AuditEntry.__table__
    upsert = dialect_insert(dialect)(chains).values(name=sa.bindparam("chain"), length=0, head=GENESIS)
    lock = upsert.on_conflict_do_update(index_elements=["name"], set_={"name": upsert.excluded.name}) \
        .returning(chains.c.length, chains.c.head)
    move = chains.update().where(chains.c.name == sa.bindparam("chain")) \
        .values(length=sa.bindparam("new_length"), head=sa.bindparam("new_head"))
    return lock, entries.insert(), move


def record_audit(action: str, *, actor_id: int | None, meeting_id: int | None = None,
                 data: dict[str, Any] | None = None) -> str:
    """Append an entry to the meeting's (or the system) chain inside the current transaction; returns its hash.

    Three Core statements, as every write passes here: an upsert that creates the chain's head row if need
    be, locks it (PostgreSQL: ON CONFLICT DO UPDATE takes the row lock, so appends queue here) and returns it;
    the entry; the new head."""
    name = chain_name(meeting_id)
    conn = db.session.connection()
    lock, add, move = prebuilt(("audit.append", conn.dialect.name), lambda: _append_statements(conn.dialect.name))
    length, prev = conn.execute(lock, {"chain": name}).one()
    idx, at, data = length + 1, utcnow(), data or {}
    digest = entry_hash(prev, entry_record(name, idx, at, actor_id, action, meeting_id, data))
    conn.execute(add, {"chain": name, "idx": idx, "at": at, "actor_id": actor_id, "action": action,
                       "meeting_id": meeting_id, "data": data, "prev_hash": prev, "hash": digest})
    conn.execute(move, {"chain": name, "new_length": idx, "new_head": digest})
    loaded = db.session.identity_map.get(identity_key(AuditChain, name))
    if loaded is not None:  # read earlier in this session: its next read must see the new head
        db.session.expire(loaded)
    return digest


def verify_audit_chain(meeting_id: int | None) -> ChainReport:
    """Check the chain's links and hashes, then that it ends exactly at the recorded head.

    The head row is what catches changes at the end of the chain: a deleted last entry, a last entry
    rewritten with a recomputed hash, or an entry inserted without going through ``record_audit``.
    """
    name = chain_name(meeting_id)
    rows = list(db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.chain == name).order_by(AuditEntry.idx)
    ).scalars())
    report = verify_chain((e.idx, e.prev_hash, e.hash, e.record()) for e in rows)
    if not report.ok:
        return report
    head = db.session.get(AuditChain, name)
    head_length, head_hash = (head.length, head.head) if head is not None else (0, GENESIS)
    if head_length > report.length:
        return ChainReport(False, report.length, report.head, report.length + 1,
                           "entries are missing at the end of the chain")
    if head_length < report.length:
        trusted = rows[head_length - 1].hash if head_length else GENESIS
        return ChainReport(False, head_length, trusted, head_length + 1,
                           "entries were added without moving the chain head")
    if head_hash != report.head:
        last = rows[-1]
        return ChainReport(False, report.length - 1, last.prev_hash, last.idx,
                           "the last entry does not match the chain head")
    return report
