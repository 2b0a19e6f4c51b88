"""Meeting operations: meetings, the lifecycle, participants and sessions (meetings.meeting.operations)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from meetings.agenda.models import AgendaItem
from meetings.core.db import VN_TZ
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import TRANSITIONS, Meeting, MeetingSession, Participant
from meetings.meeting.operations import (add_participant, close_session, create_meeting, create_session,
                                         open_session, remove_participant, transition_meeting, update_meeting)
from meetings.meeting.schemas import MeetingCreate, MeetingPatch, ParticipantIn, SessionCreate
from tests.fixtures.factories import assert_events_gap_free, assert_refused, audit_trail, event_log, sign_minutes

START = datetime(2026, 12, 10, 8, 0, tzinfo=VN_TZ)


def last_audit(meeting_id):
    return audit_trail(meeting_id)[-1]


def reload(meeting: Meeting) -> Meeting:
    db.session.expire_all()
    return db.session.get(Meeting, meeting.id)


# --- create_meeting ----------------------------------------------------------------------------------------

def test_create_meeting_stores_it_with_its_secretary_and_audits(world):
    meeting = create_meeting(MeetingCreate(body_id=world.body.id, title="Kỳ họp thứ 5", number="05/KH",
                                           description="Thường lệ", place="Hội trường A", starts_at=START,
                                           ends_at=START + timedelta(hours=3), is_closed_session=True),
                             actor=world.secretary)
    commit()
    meeting = reload(meeting)
    assert (meeting.body_id, meeting.title, meeting.number, meeting.description, meeting.place, meeting.state,
            meeting.is_closed_session, meeting.created_by_id) == (
        world.body.id, "Kỳ họp thứ 5", "05/KH", "Thường lệ", "Hội trường A", "draft", True, world.secretary.id)
    assert meeting.starts_at == START and meeting.ends_at == START + timedelta(hours=3)
    assert meeting.starts_at.utcoffset() == timedelta(0)  # stored and returned as UTC
    assert [(p.user_id, p.role, p.can_vote) for p in meeting.participants] == [(world.secretary.id, "secretary", False)]
    entries = audit_trail(meeting.id)
    assert [(e.action, e.actor_id, e.data) for e in entries] == [
        ("meeting.create", world.secretary.id, {"title": "Kỳ họp thứ 5", "body_id": world.body.id})]


def test_admin_may_create_a_meeting_for_any_body(world):
    meeting = create_meeting(MeetingCreate(body_id=world.body.id, title="Của quản trị"), actor=world.admin)
    assert meeting.id and meeting.state == "draft"


def test_create_meeting_is_for_the_bodys_secretaries(world):
    for who in ("approver", "chair", "delegate", "outsider"):
        assert_refused(Forbidden, create_meeting, MeetingCreate(body_id=world.body.id, title="X"),
                       actor=getattr(world, who))


def test_create_meeting_for_another_or_unknown_body_is_refused(world, other_world):
    assert_refused(Forbidden, create_meeting, MeetingCreate(body_id=other_world.body.id, title="X"),
                   actor=world.secretary)
    assert_refused(Forbidden, create_meeting, MeetingCreate(body_id=987654, title="X"), actor=world.secretary)


def test_create_meeting_refuses_an_end_before_the_start(world):
    assert_refused(Unprocessable, create_meeting,
                   MeetingCreate(body_id=world.body.id, title="X", starts_at=START, ends_at=START),
                   actor=world.secretary)


# --- update_meeting ----------------------------------------------------------------------------------------

def test_update_meeting_changes_given_fields_audits_and_tells_tablets(world):
    meeting = world.meeting("draft")
    seq = meeting.last_seq
    update_meeting(meeting.id, MeetingPatch(title="Tên mới", place="Phòng 2", ends_at=None), actor=world.secretary)
    commit()
    meeting = reload(meeting)
    assert (meeting.title, meeting.place, meeting.ends_at, meeting.number) == ("Tên mới", "Phòng 2", None, "")
    entry = last_audit(meeting.id)
    assert (entry.action, entry.actor_id, entry.data) == ("meeting.update", world.secretary.id,
                                                          {"fields": ["ends_at", "place", "title"]})
    events = assert_events_gap_free(meeting.id)
    assert events[-1].seq == seq + 1 and events[-1].type == "meeting.state"
    assert events[-1].payload["title"] == "Tên mới" and events[-1].payload["ends_at"] is None


def test_update_meeting_while_published_is_allowed(world):
    meeting = world.meeting("published")
    update_meeting(meeting.id, MeetingPatch(place="Đổi phòng"), actor=world.secretary)
    assert meeting.place == "Đổi phòng"


def test_update_meeting_is_for_the_secretary(world):
    meeting = world.meeting("published")
    for who, error in (("approver", Forbidden), ("chair", Forbidden), ("delegate", Forbidden), ("guest", Forbidden),
                       ("admin", Forbidden), ("outsider", NotFound)):
        assert_refused(error, update_meeting, meeting.id, MeetingPatch(title="X"), actor=getattr(world, who))


def test_update_meeting_in_a_frozen_state_is_a_conflict(world):
    meeting = world.meeting("submitted")
    for state in ("submitted", "approved", "adjourned", "closed", "archived"):
        world.advance(meeting, state)
        err = assert_refused(Conflict, update_meeting, meeting.id, MeetingPatch(title="X"), actor=world.secretary)
        assert err.extra["state"] == state


def test_update_meeting_refuses_an_end_before_the_start(world):
    meeting = world.meeting("draft")
    assert_refused(Unprocessable, update_meeting, meeting.id,
                   MeetingPatch(ends_at=meeting.starts_at - timedelta(minutes=1)), actor=world.secretary)


# --- transitions -------------------------------------------------------------------------------------------

ACTOR = {"submit": "secretary", "reject": "approver", "approve": "approver", "publish": "secretary",
         "start": "chair", "pause": "chair", "resume": "chair", "adjourn": "chair", "close": "chair",
         "archive": "secretary"}
CASES = [(action, source) for action, t in TRANSITIONS.items() for source in t.sources]


def test_every_action_is_covered():
    assert set(ACTOR) == set(TRANSITIONS)
    for action, role in ACTOR.items():
        assert role in TRANSITIONS[action].roles


@pytest.mark.parametrize("action, source", CASES)
def test_transition_moves_records_audits_and_tells_tablets(world, action, source):
    meeting = world.meeting(source)
    actor = getattr(world, ACTOR[action])
    if action == "archive":
        sign_minutes(meeting.id, secretary=world.secretary, chair=world.chair)  # what archiving requires
        meeting = reload(meeting)
    history = len(meeting.transitions)
    transition_meeting(meeting.id, action, comment=" Ý kiến ", actor=actor)
    commit()
    meeting = reload(meeting)
    target = TRANSITIONS[action].target
    assert meeting.state == target
    last = meeting.transitions[-1]
    assert len(meeting.transitions) == history + 1
    assert (last.action, last.from_state, last.to_state, last.actor_id, last.comment) == (
        action, source, target, actor.id, "Ý kiến")
    entry = last_audit(meeting.id)
    assert (entry.action, entry.actor_id, entry.data) == (
        f"meeting.{action}", actor.id, {"from": source, "to": target, "comment": "Ý kiến"})
    events = assert_events_gap_free(meeting.id)
    assert events[-1].type == "meeting.state" and events[-1].payload["state"] == target


def test_publish_may_also_be_done_by_the_approver_and_close_by_the_secretary(world):
    meeting = world.meeting("approved")
    transition_meeting(meeting.id, "publish", actor=world.approver)
    world.advance(meeting, "adjourned")
    transition_meeting(meeting.id, "close", actor=world.secretary)
    assert meeting.state == "closed"


@pytest.fixture
def meeting_in(world):
    """meeting_in(state): one meeting per state, built on first use (refused transitions leave it unchanged)."""
    built = {}

    def get(state):
        if state not in built:
            built[state] = world.meeting(state)
        return built[state]
    return get


WRONG_ROLE = [("submit", "draft", "approver"), ("submit", "draft", "admin"),
              ("reject", "submitted", "secretary"), ("approve", "submitted", "secretary"),
              ("approve", "submitted", "admin"), ("publish", "approved", "admin"),
              ("start", "published", "secretary"), ("start", "published", "delegate"),
              ("pause", "in_session", "secretary"), ("resume", "paused", "delegate"),
              ("adjourn", "in_session", "guest"), ("close", "adjourned", "delegate"),
              ("close", "adjourned", "approver"), ("archive", "closed", "chair")]
INVISIBLE = [("publish", "approved", "chair"), ("submit", "draft", "delegate"), ("start", "published", "outsider")]


def test_transition_by_a_wrong_role_is_forbidden_or_not_found(world, meeting_in):
    for cases, error in ((WRONG_ROLE, Forbidden), (INVISIBLE, NotFound)):
        for action, state, who in cases:
            meeting = meeting_in(state)
            assert_refused(error, transition_meeting, meeting.id, action, comment="x", actor=getattr(world, who))
            assert reload(meeting).state == state, (action, who)


WRONG_STATE = [("submit", "published"), ("reject", "draft"), ("reject", "approved"), ("approve", "draft"),
               ("publish", "draft"), ("publish", "published"), ("start", "in_session"), ("start", "closed"),
               ("pause", "paused"), ("resume", "in_session"), ("adjourn", "published"), ("close", "in_session"),
               ("archive", "adjourned"), ("archive", "archived")]


def test_every_action_has_a_wrong_state_case():
    assert {action for action, _state in WRONG_STATE} == set(TRANSITIONS)


def test_transition_from_a_wrong_state_is_a_conflict(world, meeting_in):
    for action, state in WRONG_STATE:
        meeting = meeting_in(state)
        err = assert_refused(Conflict, transition_meeting, meeting.id, action, comment="x",
                             actor=getattr(world, ACTOR[action]))
        assert err.extra == {"state": state, "action": action}
        assert reload(meeting).state == state


def test_reject_needs_a_comment(world):
    meeting = world.meeting("submitted")
    for comment in ("", "   "):
        assert_refused(Unprocessable, transition_meeting, meeting.id, "reject", comment=comment, actor=world.approver)
    assert reload(meeting).state == "submitted"


def test_a_wrong_state_is_reported_before_a_missing_comment_or_an_empty_agenda(world):
    """409 says "not now" whatever the input; 422 is only for a request that could succeed with better input."""
    draft = world.meeting("draft")
    assert_refused(Conflict, transition_meeting, draft.id, "reject", comment="", actor=world.approver)
    published = world.meeting("published")
    db.session.execute(sa.delete(AgendaItem).where(AgendaItem.meeting_id == published.id))
    commit()
    assert_refused(Conflict, transition_meeting, published.id, "submit", actor=world.secretary)


def test_submit_with_an_empty_agenda_or_no_start_time_is_unprocessable(world):
    meeting = world.meeting("draft", items=0)
    err = assert_refused(Unprocessable, transition_meeting, meeting.id, "submit", actor=world.secretary)
    assert len(err.extra["problems"]) == 1
    update_meeting(meeting.id, MeetingPatch(starts_at=None, ends_at=None), actor=world.secretary)
    commit()
    err = assert_refused(Unprocessable, transition_meeting, meeting.id, "submit", actor=world.secretary)
    assert len(err.extra["problems"]) == 2
    assert reload(meeting).state == "draft"


def test_submit_without_a_chair_is_unprocessable(world):
    meeting = world.meeting("draft")
    chair = db.session.execute(sa.select(Participant).where(
        Participant.meeting_id == meeting.id, Participant.role == "chair")).scalar_one()
    remove_participant(meeting.id, chair.id, actor=world.secretary)
    commit()
    err = assert_refused(Unprocessable, transition_meeting, meeting.id, "submit", actor=world.secretary)
    assert err.extra["problems"] == ["chưa phân công chủ tọa"]  # Vietnamese is the default locale
    assert reload(meeting).state == "draft"


def test_unknown_action_is_unprocessable(world):
    meeting = world.meeting("draft")
    assert_refused(Unprocessable, transition_meeting, meeting.id, "explode", actor=world.secretary)


def test_rejected_meeting_goes_back_to_draft_and_can_be_resubmitted(world):
    meeting = world.meeting("submitted")
    transition_meeting(meeting.id, "reject", comment="Bổ sung tài liệu", actor=world.approver)
    commit()
    assert meeting.state == "draft"
    update_meeting(meeting.id, MeetingPatch(description="Đã bổ sung"), actor=world.secretary)
    transition_meeting(meeting.id, "submit", actor=world.secretary)
    commit()
    meeting = reload(meeting)
    assert [(t.action, t.comment) for t in meeting.transitions] == [
        ("submit", "ok"), ("reject", "Bổ sung tài liệu"), ("submit", "")]


# --- participants ------------------------------------------------------------------------------------------

def test_add_participant_stores_it_and_audits(world, make_user):
    meeting = world.meeting("draft")
    user = make_user(full_name="Đại biểu C")
    participant = add_participant(meeting.id, ParticipantIn(user_id=user.id, role="delegate",
                                                            vote_weight=Decimal("2.5"), seat="A-12"),
                                  actor=world.secretary)
    commit()
    db.session.expire_all()
    stored = db.session.get(Participant, participant.id)
    assert (stored.meeting_id, stored.user_id, stored.role, stored.can_vote, stored.vote_weight, stored.seat) == (
        meeting.id, user.id, "delegate", True, Decimal("2.5"), "A-12")
    entry = last_audit(meeting.id)
    assert (entry.action, entry.data) == ("participant.add", {
        "participant_id": participant.id, "user_id": user.id, "role": "delegate", "can_vote": True,
        "vote_weight": "2.5"})


def test_add_participant_vote_defaults(world, make_user):
    meeting = world.meeting("draft")
    for role, can_vote, expected in (("chair", None, True), ("delegate", None, True), ("delegate", False, False),
                                     ("guest", None, False), ("approver", None, False), ("secretary", False, False)):
        participant = add_participant(meeting.id, ParticipantIn(user_id=make_user().id, role=role,
                                                                can_vote=can_vote), actor=world.secretary)
        assert participant.can_vote is expected, (role, can_vote)


def test_add_participant_refusals(world, make_user):
    meeting = world.meeting("draft")
    user = make_user()
    data = ParticipantIn(user_id=user.id, role="delegate")
    assert_refused(Forbidden, add_participant, meeting.id, data, actor=world.approver)
    assert_refused(NotFound, add_participant, meeting.id, data, actor=world.delegate)  # a draft is invisible to them
    assert_refused(Unprocessable, add_participant, meeting.id, ParticipantIn(user_id=999999, role="delegate"),
                   actor=world.secretary)
    assert_refused(Unprocessable, add_participant, meeting.id,
                   ParticipantIn(user_id=user.id, role="guest", can_vote=True), actor=world.secretary)
    assert_refused(Conflict, add_participant, meeting.id, ParticipantIn(user_id=world.delegate.id, role="guest"),
                   actor=world.secretary)
    user.active = False
    commit()
    assert_refused(Unprocessable, add_participant, meeting.id, data, actor=world.secretary)


def test_add_participant_in_a_frozen_state_is_a_conflict(world, make_user):
    meeting = world.meeting("submitted")
    user = make_user()
    for state in ("submitted", "approved", "adjourned", "closed", "archived"):
        world.advance(meeting, state)
        assert_refused(Conflict, add_participant, meeting.id, ParticipantIn(user_id=user.id, role="guest"),
                       actor=world.secretary)


def participant_id(meeting, user) -> int:
    return db.session.execute(sa.select(Participant.id).where(
        Participant.meeting_id == meeting.id, Participant.user_id == user.id)).scalar_one()


def test_remove_participant_deletes_and_audits(world):
    meeting = world.meeting("published")
    pid = participant_id(meeting, world.guest)
    remove_participant(meeting.id, pid, actor=world.secretary)
    commit()
    assert db.session.get(Participant, pid) is None
    entry = last_audit(meeting.id)
    assert (entry.action, entry.data) == ("participant.remove",
                                          {"participant_id": pid, "user_id": world.guest.id, "role": "guest"})


def test_remove_participant_refusals(world):
    meeting = world.meeting("draft")
    other = world.meeting("draft")
    pid = participant_id(meeting, world.guest)
    assert_refused(Forbidden, remove_participant, meeting.id, pid, actor=world.approver)
    assert_refused(NotFound, remove_participant, other.id, pid, actor=world.secretary)  # another meeting's
    assert_refused(NotFound, remove_participant, meeting.id, 999999, actor=world.secretary)
    assert_refused(Conflict, remove_participant, meeting.id, participant_id(meeting, world.secretary),
                   actor=world.secretary)
    world.advance(meeting, "submitted")
    assert_refused(Conflict, remove_participant, meeting.id, pid, actor=world.secretary)


# --- sessions ----------------------------------------------------------------------------------------------

def test_create_session_numbers_sessions_audits_and_tells_tablets(world):
    meeting = world.meeting("draft")
    first = create_session(meeting.id, SessionCreate(title="Buổi sáng", starts_at=START,
                                                     ends_at=START + timedelta(hours=4)), actor=world.secretary)
    second = create_session(meeting.id, SessionCreate(title="Buổi chiều"), actor=world.secretary)
    commit()
    db.session.expire_all()
    rows = db.session.execute(sa.select(MeetingSession).where(MeetingSession.meeting_id == meeting.id)
                              .order_by(MeetingSession.position)).scalars().all()
    assert [(s.id, s.position, s.title, s.state) for s in rows] == [
        (first.id, 1, "Buổi sáng", "planned"), (second.id, 2, "Buổi chiều", "planned")]
    assert rows[0].starts_at == START
    assert last_audit(meeting.id).action == "session.create"
    events = assert_events_gap_free(meeting.id)
    assert events[-1].type == "session.state" and events[-1].payload["session_id"] == second.id


def test_create_session_refusals(world):
    meeting = world.meeting("draft")
    assert_refused(Forbidden, create_session, meeting.id, SessionCreate(title="X"), actor=world.approver)
    assert_refused(Unprocessable, create_session, meeting.id,
                   SessionCreate(title="X", starts_at=START, ends_at=START - timedelta(hours=1)), actor=world.secretary)
    world.advance(meeting, "submitted")
    assert_refused(Conflict, create_session, meeting.id, SessionCreate(title="X"), actor=world.secretary)


@pytest.fixture
def running(world):
    """A meeting in session with two planned sessions."""
    meeting = world.meeting("published")
    s1 = create_session(meeting.id, SessionCreate(title="Phiên 1"), actor=world.secretary)
    s2 = create_session(meeting.id, SessionCreate(title="Phiên 2"), actor=world.secretary)
    commit()
    world.advance(meeting, "in_session")
    return meeting, s1, s2


def test_open_and_close_session(world, running):
    meeting, s1, _s2 = running
    open_session(meeting.id, s1.id, actor=world.chair)
    commit()
    db.session.expire_all()
    stored = db.session.get(MeetingSession, s1.id)
    assert stored.state == "open" and stored.opened_at is not None and stored.closed_at is None
    assert (last_audit(meeting.id).action, last_audit(meeting.id).data) == ("session.open", {"session_id": s1.id})
    assert event_log(meeting.id)[-1].payload["state"] == "open"

    transition_meeting(meeting.id, "pause", actor=world.chair)  # a session may be closed while paused
    close_session(meeting.id, s1.id, actor=world.chair)
    commit()
    db.session.expire_all()
    stored = db.session.get(MeetingSession, s1.id)
    assert stored.state == "closed" and stored.closed_at >= stored.opened_at
    assert last_audit(meeting.id).action == "session.close"
    events = assert_events_gap_free(meeting.id)
    assert events[-1].type == "session.state" and events[-1].payload["state"] == "closed"


def test_open_session_refusals(world, running):
    meeting, s1, s2 = running
    assert_refused(Forbidden, open_session, meeting.id, s1.id, actor=world.secretary)
    assert_refused(Forbidden, open_session, meeting.id, s1.id, actor=world.delegate)
    other = world.meeting("draft")
    other_session = create_session(other.id, SessionCreate(title="Khác"), actor=world.secretary)
    commit()
    assert_refused(NotFound, open_session, meeting.id, other_session.id, actor=world.chair)
    open_session(meeting.id, s1.id, actor=world.chair)
    commit()
    assert_refused(Conflict, open_session, meeting.id, s2.id, actor=world.chair)  # another one is open
    assert_refused(Conflict, open_session, meeting.id, s1.id, actor=world.chair)  # already open
    close_session(meeting.id, s1.id, actor=world.chair)
    commit()
    assert_refused(Conflict, open_session, meeting.id, s1.id, actor=world.chair)  # closed sessions stay closed


def test_open_session_outside_in_session_is_a_conflict(world):
    meeting = world.meeting("published")
    session = create_session(meeting.id, SessionCreate(title="Phiên"), actor=world.secretary)
    commit()
    for state in ("published", "paused", "adjourned", "closed"):
        world.advance(meeting, state)
        err = assert_refused(Conflict, open_session, meeting.id, session.id, actor=world.chair)
        assert err.extra["state"] == state


def test_adjourning_with_an_open_session_is_a_conflict(world, running):
    """Once adjourned, a session can no longer be closed: the chair closes it first."""
    meeting, s1, _s2 = running
    open_session(meeting.id, s1.id, actor=world.chair)
    commit()
    assert_refused(Conflict, transition_meeting, meeting.id, "adjourn", actor=world.chair)
    transition_meeting(meeting.id, "pause", actor=world.chair)
    commit()
    assert_refused(Conflict, transition_meeting, meeting.id, "adjourn", actor=world.chair)
    close_session(meeting.id, s1.id, actor=world.chair)
    transition_meeting(meeting.id, "adjourn", actor=world.chair)
    commit()
    assert reload(meeting).state == "adjourned"


def test_close_session_refusals(world, running):
    meeting, s1, s2 = running
    assert_refused(Conflict, close_session, meeting.id, s1.id, actor=world.chair)  # not open yet
    open_session(meeting.id, s1.id, actor=world.chair)
    commit()
    assert_refused(Forbidden, close_session, meeting.id, s1.id, actor=world.approver)
    close_session(meeting.id, s1.id, actor=world.chair)
    commit()
    assert_refused(Conflict, close_session, meeting.id, s1.id, actor=world.chair)  # closed already
    transition_meeting(meeting.id, "adjourn", actor=world.chair)
    commit()
    assert_refused(Conflict, close_session, meeting.id, s2.id, actor=world.chair)  # the meeting is over
