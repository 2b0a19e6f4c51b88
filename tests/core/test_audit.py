"""The audit hash chain in the database: appends, concurrency, tampering, and the verify endpoint."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from meetings.agenda.operations import add_agenda_item
from meetings.agenda.schemas import AgendaItemCreate
from meetings.auth.models import User
from meetings.core.audit import AuditChain, AuditEntry, chain_name, record_audit, verify_audit_chain
from meetings.core.chain import GENESIS, entry_hash
from meetings.core.events import MeetingEvent
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.meeting.models import Meeting
from tests.fixtures.factories import audit_trail, event_log


def run_threads(app, count: int, work) -> None:
    """Run ``work(n)`` in ``count`` threads, each with its own app context and session, started together."""
    db.session.commit()  # the test's own transaction must not hold a snapshot or locks while the threads write
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def target(n: int) -> None:
        try:
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    work(n)
                finally:
                    db.session.remove()
        except BaseException as err:  # noqa: BLE001 - reported to the test below
            errors.append(err)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a writer thread hung"
    assert not errors, errors
    db.session.expire_all()


def assert_chain_intact(entries: list[AuditEntry]) -> None:
    assert [e.idx for e in entries] == list(range(1, len(entries) + 1))
    prev = GENESIS
    for e in entries:
        assert e.prev_hash == prev
        assert e.hash == entry_hash(e.prev_hash, e.record())
        prev = e.hash


# --- appending ---------------------------------------------------------------------------------------------

def test_record_audit_appends_linked_entries_and_moves_the_head(app):
    first = record_audit("test.one", actor_id=None, data={"tên": "Thư ký"})
    second = record_audit("test.two", actor_id=7, data={"n": 2})
    commit()
    entries = audit_trail(None)
    assert [(e.idx, e.action, e.actor_id, e.data) for e in entries] == [
        (1, "test.one", None, {"tên": "Thư ký"}), (2, "test.two", 7, {"n": 2})]
    assert entries[0].prev_hash == GENESIS and entries[1].prev_hash == first
    assert_chain_intact(entries)
    head = db.session.get(AuditChain, "system")
    assert (head.length, head.head) == (2, second)
    assert verify_audit_chain(None).to_dict() == {"ok": True, "length": 2, "head": second,
                                                  "first_bad_index": None, "reason": None}


def test_each_meeting_has_its_own_chain(world):
    m1 = world.meeting("draft")
    m2 = world.meeting("draft")
    for m in (m1, m2):
        entries = audit_trail(m.id)
        assert entries[0].action == "meeting.create" and entries[0].idx == 1
        assert all(e.meeting_id == m.id and e.chain == f"meeting:{m.id}" for e in entries)
        assert_chain_intact(entries)
        assert verify_audit_chain(m.id).ok
    # User and body changes go to the system chain, never to a meeting's.
    assert "user.create" in [e.action for e in audit_trail(None)]
    assert chain_name(None) == "system" and chain_name(5) == "meeting:5"


def test_stored_hashes_survive_the_database_round_trip(world):
    """Times and JSON come back from the database exactly as they were hashed (both backends)."""
    meeting = world.meeting("published")
    db.session.expire_all()
    entries = audit_trail(meeting.id)
    assert len(entries) > 5
    assert_chain_intact(entries)


# --- concurrency -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("meeting_id", [None, 424242], ids=["system-chain", "fresh-chain"])
def test_concurrent_appends_never_fork_the_chain(app, meeting_id):
    threads, per_thread = 6, 5

    def work(n: int) -> None:
        for i in range(per_thread):
            begin_write()
            record_audit("test.concurrent", actor_id=None, meeting_id=meeting_id, data={"thread": n, "i": i})
            commit()

    run_threads(app, threads, work)
    entries = audit_trail(meeting_id)
    assert len(entries) == threads * per_thread
    assert_chain_intact(entries)
    assert sorted((e.data["thread"], e.data["i"]) for e in entries) == sorted(
        (n, i) for n in range(threads) for i in range(per_thread))
    head = db.session.get(AuditChain, chain_name(meeting_id))
    assert (head.length, head.head) == (len(entries), entries[-1].hash)
    assert verify_audit_chain(meeting_id).ok


def test_concurrent_operations_on_one_meeting_keep_event_seqs_gap_free(app, world):
    meeting = world.meeting("draft")
    meeting_id, secretary_id = meeting.id, world.secretary.id
    seq_before = meeting.last_seq
    audit_before = len(audit_trail(meeting_id))
    threads, per_thread = 5, 4

    def work(n: int) -> None:
        for i in range(per_thread):
            begin_write()  # before the first read: on SQLite a reader cannot become a writer once another wrote
            actor = db.session.get(User, secretary_id)
            add_agenda_item(meeting_id, AgendaItemCreate(title=f"Luồng {n} mục {i}"), actor=actor)
            commit()

    run_threads(app, threads, work)
    added = threads * per_thread
    meeting = db.session.get(Meeting, meeting_id)
    events = event_log(meeting_id)
    assert [e.seq for e in events] == list(range(1, seq_before + added + 1))
    assert meeting.last_seq == seq_before + added
    assert all(e.type == "agenda.updated" for e in events[seq_before:])
    # The last event carries the whole agenda, numbered without gaps or duplicates.
    assert [n["number"] for n in events[-1].payload["items"]] == [str(i) for i in range(1, added + 2)]
    entries = audit_trail(meeting_id)
    assert len(entries) == audit_before + added
    assert_chain_intact(entries)


# --- tampering ---------------------------------------------------------------------------------------------

@pytest.fixture
def chained_meeting(world):
    """A meeting whose chain has a handful of entries (create, participants, agenda, transitions)."""
    meeting = world.meeting("submitted", items=2)
    assert len(audit_trail(meeting.id)) >= 8
    return meeting


def tamper(meeting_id: int, idx: int, **values) -> None:
    db.session.execute(sa.update(AuditEntry.__table__).where(
        AuditEntry.__table__.c.chain == chain_name(meeting_id), AuditEntry.__table__.c.idx == idx).values(**values))
    commit()


@pytest.mark.parametrize("field", ["data", "action", "actor_id", "at"])
def test_editing_any_entry_is_found_at_exactly_its_index(chained_meeting, field):
    meeting_id = chained_meeting.id
    length = len(audit_trail(meeting_id))
    for idx in range(1, length + 1):
        original = next(e for e in audit_trail(meeting_id) if e.idx == idx)
        saved = {"data": dict(original.data), "action": original.action, "actor_id": original.actor_id,
                 "at": original.at}[field]
        forged = {"data": {**original.data, "forged": True}, "action": "forged.action",
                  "actor_id": (original.actor_id or 0) + 1000, "at": original.at + timedelta(seconds=1)}[field]
        tamper(meeting_id, idx, **{field: forged})
        report = verify_audit_chain(meeting_id)
        assert (report.ok, report.first_bad_index) == (False, idx), (field, idx, report)
        assert report.length == idx - 1
        tamper(meeting_id, idx, **{field: saved})
        assert verify_audit_chain(meeting_id).ok, (field, idx)


def test_deleting_the_last_entry_is_found_by_the_chain_head(chained_meeting):
    entries = audit_trail(chained_meeting.id)
    db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == entries[-1].id))
    commit()
    report = verify_audit_chain(chained_meeting.id)
    assert (report.ok, report.first_bad_index) == (False, len(entries))
    assert report.length == len(entries) - 1
    assert "missing" in report.reason


def test_deleting_a_middle_entry_is_found_at_its_index(chained_meeting):
    entries = audit_trail(chained_meeting.id)
    db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == entries[3].id))
    commit()
    report = verify_audit_chain(chained_meeting.id)
    assert (report.ok, report.first_bad_index, report.length) == (False, 4, 3)


def test_rewriting_the_last_entry_with_a_recomputed_hash_is_found(chained_meeting):
    """A forger with database access can recompute the last entry's hash; the chain head still gives it away."""
    last = audit_trail(chained_meeting.id)[-1]
    record = {**last.record(), "data": {"comment": "forged"}}
    tamper(chained_meeting.id, last.idx, data={"comment": "forged"}, hash=entry_hash(last.prev_hash, record))
    report = verify_audit_chain(chained_meeting.id)
    assert (report.ok, report.first_bad_index, report.length) == (False, last.idx, last.idx - 1)
    assert report.head == last.prev_hash


def test_appending_behind_the_heads_back_is_found(chained_meeting):
    """An entry inserted directly (correctly hashed, but without moving the chain head) is not trusted."""
    last = audit_trail(chained_meeting.id)[-1]
    forged = AuditEntry(chain=last.chain, idx=last.idx + 1, at=last.at, actor_id=None, action="forged",
                        meeting_id=last.meeting_id, data={}, prev_hash=last.hash)
    forged.hash = entry_hash(forged.prev_hash, forged.record())
    db.session.execute(sa.insert(AuditEntry.__table__).values(
        chain=forged.chain, idx=forged.idx, at=forged.at, actor_id=None, action=forged.action,
        meeting_id=forged.meeting_id, data={}, prev_hash=forged.prev_hash, hash=forged.hash))
    commit()
    report = verify_audit_chain(chained_meeting.id)
    assert (report.ok, report.first_bad_index) == (False, last.idx + 1)


def test_deleting_the_chain_head_record_is_found(chained_meeting):
    db.session.execute(sa.delete(AuditChain).where(AuditChain.name == chain_name(chained_meeting.id)))
    commit()
    report = verify_audit_chain(chained_meeting.id)
    assert not report.ok and report.first_bad_index == 1


# --- the REST endpoint -------------------------------------------------------------------------------------

def test_verify_endpoint_reports_an_intact_then_a_tampered_chain(client, chained_meeting, world, token_for):
    headers = token_for(world.secretary)
    resp = client.get(f"/api/v1/audit/verify?meeting_id={chained_meeting.id}", headers=headers)
    assert resp.status_code == 200, resp.json
    length = len(audit_trail(chained_meeting.id))
    assert resp.json == {"chain": f"meeting:{chained_meeting.id}", "ok": True, "length": length,
                         "head": audit_trail(chained_meeting.id)[-1].hash, "first_bad_index": None, "reason": None}

    tamper(chained_meeting.id, 3, action="forged")
    resp = client.get(f"/api/v1/audit/verify?meeting_id={chained_meeting.id}", headers=headers)
    assert resp.status_code == 200
    assert (resp.json["ok"], resp.json["first_bad_index"], resp.json["length"]) == (False, 3, 2)
    assert resp.json["reason"]


def test_verify_endpoint_permissions(client, chained_meeting, world, other_world, token_for):
    url = f"/api/v1/audit/verify?meeting_id={chained_meeting.id}"
    assert client.get(url, headers=token_for(world.approver)).status_code == 200
    assert client.get(url, headers=token_for(world.admin)).status_code == 200
    # The meeting is not published yet: a delegate cannot see it at all, another body's secretary neither.
    assert client.get(url, headers=token_for(world.delegate)).status_code == 404
    assert client.get(url, headers=token_for(other_world.secretary)).status_code == 404
    assert client.get(url).status_code == 401
    # The system chain is for administrators.
    assert client.get("/api/v1/audit/verify", headers=token_for(world.secretary)).status_code == 403
    resp = client.get("/api/v1/audit/verify", headers=token_for(world.admin))
    assert resp.status_code == 200 and resp.json["chain"] == "system" and resp.json["ok"] is True


def test_verify_endpoint_refuses_delegates_of_a_published_meeting(client, world, token_for):
    meeting = world.meeting("published")
    resp = client.get(f"/api/v1/audit/verify?meeting_id={meeting.id}", headers=token_for(world.delegate))
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    resp = client.get(f"/api/v1/audit/verify?meeting_id={meeting.id}", headers=token_for(world.chair))
    assert resp.status_code == 200 and resp.json["ok"] is True


def test_event_rows_are_not_part_of_the_chain(world):
    meeting = world.meeting("draft")
    assert db.session.execute(sa.select(sa.func.count()).select_from(MeetingEvent)
                              .where(MeetingEvent.meeting_id == meeting.id)).scalar_one() == meeting.last_seq
