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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from meetings.core.chain import GENESIS, ChainReport, entry_hash, verify_chain
from meetings.core.db import Base, UTCDateTime, utcnow
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
        return {"chain": self.chain, "idx": self.idx, "at": self.at.isoformat(timespec="microseconds"),
                "actor_id": self.actor_id, "action": self.action, "meeting_id": self.meeting_id,
                "data": self.data}


def chain_name(meeting_id: int | None) -> str:
    return f"meeting:{meeting_id}" if meeting_id is not None else "system"


def _lock_chain(name: str) -> AuditChain:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(AuditChain).values(name=name, length=0, head=GENESIS).on_conflict_do_nothing())
    return db.session.execute(
        sa.select(AuditChain).where(AuditChain.name == name).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def record_audit(action: str, *, actor_id: int | None, meeting_id: int | None = None,
                 data: dict[str, Any] | None = None) -> AuditEntry:
    """Append an entry to the meeting's (or the system) chain inside the current transaction."""
    name = chain_name(meeting_id)
    head = _lock_chain(name)
    entry = AuditEntry(chain=name, idx=head.length + 1, at=utcnow(), actor_id=actor_id, action=action,
                       meeting_id=meeting_id, data=data or {}, prev_hash=head.head)
    entry.hash = entry_hash(entry.prev_hash, entry.record())
    head.length = entry.idx
    head.head = entry.hash
    db.session.add(entry)
    db.session.flush()
    return entry


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
