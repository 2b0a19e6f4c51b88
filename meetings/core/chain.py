"""Pure hash-chain arithmetic for the audit log (no Flask, no database)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(prev_hash: str, record: dict[str, Any]) -> str:
    """H(prev hash ‖ canonical JSON of the record)."""
    return hashlib.sha256((prev_hash + canonical_json(record)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    length: int
    head: str
    first_bad_index: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "length": self.length, "head": self.head,
                "first_bad_index": self.first_bad_index, "reason": self.reason}


def verify_chain(entries: Iterable[tuple[int, str, str, dict[str, Any]]]) -> ChainReport:
    """Check (index, prev_hash, hash, record) tuples in index order; report the first entry that breaks."""
    prev = GENESIS
    expected_index = 1
    count = 0
    for index, prev_hash, stored_hash, record in entries:
        if index != expected_index:
            return ChainReport(False, count, prev, expected_index, f"entry {expected_index} is missing")
        if prev_hash != prev:
            return ChainReport(False, count, prev, index, "link to the previous entry is broken")
        if entry_hash(prev_hash, record) != stored_hash:
            return ChainReport(False, count, prev, index, "entry content does not match its hash")
        prev = stored_hash
        expected_index += 1
        count += 1
    return ChainReport(True, count, prev)
