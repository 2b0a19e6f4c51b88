"""500 delegates check in at once (each twice: a nervous double tap) through the real REST endpoint, on SQLite
and PostgreSQL: exactly 500 presences, 500 "recorded" answers and 500 "already recorded" ones, one audit entry
and one pair of events per presence, a gap-free event log and the quorum counting all of them."""
from __future__ import annotations

import threading
from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask.testing import FlaskClient

from meetings.attendance.models import Attendance
from meetings.auth.models import ApiToken, User
from meetings.core.audit import AuditEntry, chain_name
from meetings.core.db import utcnow
from meetings.core.events import MeetingEvent
from meetings.extensions import db
from meetings.meeting.models import Participant

DELEGATES = 500
THREADS = 48


def add_delegates(meeting, n: int) -> list[str]:
    """n users, participants with a vote, each with an API token (bulk: this is setup, not the subject)."""
    users = [User(username=f"db{i:03d}", full_name=f"Đại biểu số {i}") for i in range(n)]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(Participant(meeting_id=meeting.id, user_id=u.id, role="delegate", can_vote=True)
                       for u in users)
    tokens = []
    for u in users:
        token = f"bulk-{u.id}-token-for-concurrency-test"
        db.session.add(ApiToken(user_id=u.id, token_hash=ApiToken.digest(token),
                                expires_at=utcnow() + timedelta(hours=1)))
        tokens.append(token)
    db.session.commit()
    return tokens


def test_500_simultaneous_check_ins_are_all_recorded_exactly_once(app, live, world):
    live.roll_call("start")
    meeting_id, session_id = live.meeting.id, live.session.id
    tokens = add_delegates(live.meeting, DELEGATES)
    seq_before = db.session.execute(sa.select(sa.func.max(MeetingEvent.seq)).where(
        MeetingEvent.meeting_id == meeting_id)).scalar_one()
    db.session.commit()
    start = threading.Barrier(THREADS)
    local = threading.local()

    def check_in(token: str) -> tuple[int, bool]:
        if not hasattr(local, "client"):
            local.client = FlaskClient(app, app.response_class, use_cookies=False)  # a plain client per thread
            start.wait(timeout=60)  # every thread fires its first request at the same moment
        resp = local.client.post(f"/api/v1/meetings/{meeting_id}/attendance/check-in",
                                 headers={"Authorization": f"Bearer {token}"},
                                 json={"session_id": session_id, "method": "tablet"})
        return resp.status_code, (resp.json or {}).get("changed")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(check_in, [t for t in tokens for _ in range(2)]))

    assert [status for status, _ in results] == [200] * (2 * DELEGATES)
    assert sum(1 for _, changed in results if changed) == DELEGATES
    db.session.expire_all()
    present = db.session.execute(sa.select(sa.func.count()).select_from(Attendance).where(
        Attendance.session_id == session_id, Attendance.checked_in_at.is_not(None))).scalar_one()
    assert present == DELEGATES
    audits = db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.chain == chain_name(meeting_id), AuditEntry.action == "attendance.checked_in")).scalar_one()
    assert audits == DELEGATES
    seqs = list(db.session.execute(sa.select(MeetingEvent.seq).where(
        MeetingEvent.meeting_id == meeting_id, MeetingEvent.seq > seq_before).order_by(MeetingEvent.seq)).scalars())
    # attendance.updated + quorum.updated for the room, attendance.mine for the delegate: no gaps
    assert seqs == list(range(seq_before + 1, seq_before + 1 + 3 * DELEGATES))
    last_quorum = db.session.execute(sa.select(MeetingEvent.payload).where(
        MeetingEvent.meeting_id == meeting_id, MeetingEvent.type == "quorum.updated")
        .order_by(MeetingEvent.seq.desc()).limit(1)).scalar_one()
    assert last_quorum["present"] == DELEGATES and last_quorum["has_quorum"] is True
