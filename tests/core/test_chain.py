"""The pure hash-chain arithmetic (meetings.core.chain), without an app or a database."""
from __future__ import annotations

import hashlib
import json

import pytest

from meetings.core.chain import GENESIS, ChainReport, canonical_json, entry_hash, verify_chain


def make_chain(n: int) -> list[tuple[int, str, str, dict]]:
    entries, prev = [], GENESIS
    for idx in range(1, n + 1):
        record = {"chain": "system", "idx": idx, "action": f"test.{idx}", "data": {"n": idx, "tên": "Đại biểu"}}
        digest = entry_hash(prev, record)
        entries.append((idx, prev, digest, record))
        prev = digest
    return entries


def test_canonical_json_is_key_order_independent_compact_and_keeps_unicode():
    a = canonical_json({"b": 1, "a": {"y": [1, 2], "x": "Chủ tọa"}})
    b = canonical_json({"a": {"x": "Chủ tọa", "y": [1, 2]}, "b": 1})
    assert a == b == '{"a":{"x":"Chủ tọa","y":[1,2]},"b":1}'


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_entry_hash_is_sha256_of_prev_hash_then_canonical_json():
    record = {"idx": 1, "action": "meeting.create", "data": {"title": "Kỳ họp"}}
    expected = hashlib.sha256((GENESIS + json.dumps(record, sort_keys=True, separators=(",", ":"),
                                                    ensure_ascii=False)).encode("utf-8")).hexdigest()
    assert entry_hash(GENESIS, record) == expected
    assert len(expected) == 64
    # The previous hash is part of the input: the same record after another entry hashes differently.
    assert entry_hash("1" * 64, record) != expected


def test_empty_chain_is_intact_at_genesis():
    assert verify_chain([]) == ChainReport(True, 0, GENESIS)


def test_intact_chain_reports_length_and_head():
    entries = make_chain(5)
    report = verify_chain(entries)
    assert report.ok and report.length == 5 and report.head == entries[-1][2]
    assert report.first_bad_index is None and report.reason is None


@pytest.mark.parametrize("bad", [1, 2, 3, 4, 5])
def test_changed_record_is_found_at_its_index(bad):
    entries = make_chain(5)
    idx, prev, digest, record = entries[bad - 1]
    entries[bad - 1] = (idx, prev, digest, {**record, "data": {"n": 999}})
    report = verify_chain(entries)
    assert not report.ok
    assert report.first_bad_index == bad
    assert report.length == bad - 1  # entries verified before the break
    assert "hash" in report.reason


def test_rehashed_entry_breaks_the_link_of_the_next_one():
    entries = make_chain(4)
    idx, prev, _digest, record = entries[1]
    forged = {**record, "action": "forged"}
    entries[1] = (idx, prev, entry_hash(prev, forged), forged)  # a forger recomputes entry 2's own hash …
    report = verify_chain(entries)
    assert (report.ok, report.first_bad_index) == (False, 3)  # … but entry 3 still points at the old one
    assert "link" in report.reason


@pytest.mark.parametrize("missing", [1, 3, 5])
def test_missing_entry_is_reported_by_the_index_expected(missing):
    entries = [e for e in make_chain(6) if e[0] != missing]
    report = verify_chain(entries)
    assert (report.ok, report.first_bad_index) == (False, missing)
    assert "missing" in report.reason


def test_duplicated_index_is_reported():
    entries = make_chain(3)
    report = verify_chain(entries[:2] + [entries[1]] + entries[2:])
    assert (report.ok, report.first_bad_index) == (False, 3)


def test_report_dict_shape():
    assert ChainReport(False, 2, "ab", 3, "why").to_dict() == {
        "ok": False, "length": 2, "head": "ab", "first_bad_index": 3, "reason": "why"}
