"""Agenda operations (meetings.agenda.operations): add, edit, delete, reorder, and the current item."""
from __future__ import annotations

import pytest

from meetings.core.db import to_local_iso
import sqlalchemy as sa

from meetings.agenda.models import MAX_DEPTH, AgendaItem
from meetings.agenda.operations import (add_agenda_item, delete_agenda_item, reorder_agenda, set_current_item,
                                        update_agenda_item)
from meetings.agenda.schemas import AgendaItemCreate, AgendaItemPatch, AgendaOrderIn
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import Meeting
from meetings.meeting.operations import transition_meeting
from tests.fixtures.factories import assert_events_gap_free, assert_refused, audit_trail


def items_of(meeting_id: int) -> list[tuple[int, int | None, int, str]]:
    """(id, parent_id, position, title) of every item, fresh from the database."""
    db.session.expire_all()
    return [(i.id, i.parent_id, i.position, i.title) for i in db.session.execute(
        sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.id)).scalars()]


def add(meeting, title, parent=None, **fields):
    item = add_agenda_item(meeting.id, AgendaItemCreate(title=title, parent_id=parent.id if parent else None,
                                                        **fields), actor=meeting._world.secretary)
    commit()
    return item


@pytest.fixture
def draft(world):
    meeting = world.meeting("draft", items=0)
    meeting._world = world
    return meeting


def last_event(meeting_id):
    return assert_events_gap_free(meeting_id)[-1]


def titles(payload_items) -> list:
    return [(n["number"], n["title"], titles(n["children"])) for n in payload_items]


# --- add ---------------------------------------------------------------------------------------------------

def test_add_item_appends_nests_audits_and_tells_tablets(world, draft):
    first = add(draft, "Khai mạc", presenter="Chủ tịch", planned_minutes=10, presenter_user_id=world.chair.id,
                description="Phát biểu khai mạc")
    second = add(draft, "Báo cáo")
    child = add(draft, "Thẩm tra", parent=second)
    grandchild = add(draft, "Ý kiến Ban", parent=child)
    assert items_of(draft.id) == [(first.id, None, 1, "Khai mạc"), (second.id, None, 2, "Báo cáo"),
                                  (child.id, second.id, 1, "Thẩm tra"), (grandchild.id, child.id, 1, "Ý kiến Ban")]
    stored = db.session.get(AgendaItem, first.id)
    assert (stored.presenter, stored.planned_minutes, stored.presenter_user_id, stored.description) == (
        "Chủ tịch", 10, world.chair.id, "Phát biểu khai mạc")
    entry = audit_trail(draft.id)[-1]
    assert (entry.action, entry.actor_id, entry.data) == (
        "agenda.add", world.secretary.id, {"item_id": grandchild.id, "title": "Ý kiến Ban", "parent_id": child.id})
    event = last_event(draft.id)
    assert event.type == "agenda.updated"
    assert titles(event.payload["items"]) == [
        ("1", "Khai mạc", []), ("2", "Báo cáo", [("2.1", "Thẩm tra", [("2.1.1", "Ý kiến Ban", [])])])]


def test_add_item_deeper_than_the_maximum_is_unprocessable(draft):
    parent = None
    for depth in range(1, MAX_DEPTH + 1):
        parent = add(draft, f"Cấp {depth}", parent=parent)
    assert_refused(Unprocessable, add_agenda_item, draft.id, AgendaItemCreate(title="Quá sâu", parent_id=parent.id),
                   actor=draft._world.secretary)


def test_add_item_refusals(world, draft, other_world):
    data = AgendaItemCreate(title="X")
    assert_refused(Forbidden, add_agenda_item, draft.id, data, actor=world.approver)
    assert_refused(NotFound, add_agenda_item, draft.id, data, actor=world.delegate)
    assert_refused(NotFound, add_agenda_item, draft.id, data, actor=other_world.secretary)
    assert_refused(Unprocessable, add_agenda_item, draft.id, AgendaItemCreate(title="X", presenter_user_id=999999),
                   actor=world.secretary)
    other = world.meeting("draft")
    foreign_item = db.session.execute(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == other.id)).scalar_one()
    assert_refused(NotFound, add_agenda_item, draft.id, AgendaItemCreate(title="X", parent_id=foreign_item),
                   actor=world.secretary)


def test_add_item_in_a_frozen_state_is_a_conflict(world):
    meeting = world.meeting("submitted")
    for state in ("submitted", "approved", "adjourned", "closed", "archived"):
        world.advance(meeting, state)
        assert_refused(Conflict, add_agenda_item, meeting.id, AgendaItemCreate(title="X"), actor=world.secretary)


def test_published_meeting_agenda_can_still_change_but_only_by_the_secretary(world):
    meeting = world.meeting("published")
    assert_refused(Forbidden, add_agenda_item, meeting.id, AgendaItemCreate(title="X"), actor=world.delegate)
    assert_refused(Forbidden, add_agenda_item, meeting.id, AgendaItemCreate(title="X"), actor=world.chair)
    item = add_agenda_item(meeting.id, AgendaItemCreate(title="Bổ sung"), actor=world.secretary)
    assert item.position == 2


# --- update ------------------------------------------------------------------------------------------------

def test_update_item_changes_given_fields_and_clears_nullable_ones(world, draft):
    item = add(draft, "Cũ", presenter="A", planned_minutes=30, presenter_user_id=world.chair.id)
    update_agenda_item(draft.id, item.id, AgendaItemPatch(title="Mới", planned_minutes=None), actor=world.secretary)
    commit()
    db.session.expire_all()
    stored = db.session.get(AgendaItem, item.id)
    assert (stored.title, stored.presenter, stored.planned_minutes, stored.presenter_user_id) == (
        "Mới", "A", None, world.chair.id)
    entry = audit_trail(draft.id)[-1]
    assert (entry.action, entry.data) == ("agenda.update", {"item_id": item.id, "fields": ["planned_minutes", "title"]})
    assert titles(last_event(draft.id).payload["items"]) == [("1", "Mới", [])]


def test_update_item_refusals(world, draft):
    item = add(draft, "Mục")
    patch = AgendaItemPatch(title="X")
    assert_refused(Forbidden, update_agenda_item, draft.id, item.id, patch, actor=world.approver)
    assert_refused(Unprocessable, update_agenda_item, draft.id, item.id, AgendaItemPatch(presenter_user_id=999999),
                   actor=world.secretary)
    other = world.meeting("draft")
    assert_refused(NotFound, update_agenda_item, other.id, item.id, patch, actor=world.secretary)
    assert_refused(NotFound, update_agenda_item, draft.id, 999999, patch, actor=world.secretary)
    world.advance(draft, "submitted")
    assert_refused(Conflict, update_agenda_item, draft.id, item.id, patch, actor=world.secretary)


# --- delete ------------------------------------------------------------------------------------------------

def test_delete_item_takes_its_sub_items_and_renumbers_siblings(world, draft):
    a = add(draft, "A")
    b = add(draft, "B")
    b1 = add(draft, "B1", parent=b)
    b1x = add(draft, "B1x", parent=b1)
    b2 = add(draft, "B2", parent=b)
    c = add(draft, "C")
    delete_agenda_item(draft.id, b.id, actor=world.secretary)
    commit()
    assert items_of(draft.id) == [(a.id, None, 1, "A"), (c.id, None, 2, "C")]
    entry = audit_trail(draft.id)[-1]
    assert (entry.action, entry.data) == ("agenda.delete", {"item_id": b.id, "title": "B",
                                                            "deleted_ids": sorted([b.id, b1.id, b1x.id, b2.id])})
    assert titles(last_event(draft.id).payload["items"]) == [("1", "A", []), ("2", "C", [])]


def test_delete_sub_item_renumbers_its_siblings_only(world, draft):
    a = add(draft, "A")
    a1, a2, a3 = add(draft, "A1", parent=a), add(draft, "A2", parent=a), add(draft, "A3", parent=a)
    delete_agenda_item(draft.id, a1.id, actor=world.secretary)
    commit()
    assert items_of(draft.id) == [(a.id, None, 1, "A"), (a2.id, a.id, 1, "A2"), (a3.id, a.id, 2, "A3")]


def test_delete_item_refusals(world, draft):
    item = add(draft, "Mục")
    assert_refused(Forbidden, delete_agenda_item, draft.id, item.id, actor=world.approver)
    other = world.meeting("draft")
    assert_refused(NotFound, delete_agenda_item, other.id, item.id, actor=world.secretary)
    world.advance(draft, "approved")
    assert_refused(Conflict, delete_agenda_item, draft.id, item.id, actor=world.secretary)


def test_the_item_under_discussion_cannot_be_deleted(world):
    meeting = world.meeting("published")
    parent = db.session.execute(sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).scalar_one()
    child = add_agenda_item(meeting.id, AgendaItemCreate(title="Con", parent_id=parent.id), actor=world.secretary)
    commit()
    world.advance(meeting, "in_session")
    set_current_item(meeting.id, child.id, actor=world.chair)
    commit()
    for target in (child.id, parent.id):  # the item itself, or the item it belongs to
        assert_refused(Conflict, delete_agenda_item, meeting.id, target, actor=world.secretary)
    set_current_item(meeting.id, None, actor=world.chair)
    delete_agenda_item(meeting.id, parent.id, actor=world.secretary)
    commit()
    assert items_of(meeting.id) == []


# --- reorder -----------------------------------------------------------------------------------------------

def test_reorder_moves_and_renests_items(world, draft):
    a, b, c = add(draft, "A"), add(draft, "B"), add(draft, "C")
    b1 = add(draft, "B1", parent=b)
    order = AgendaOrderIn(items=[{"id": c.id, "children": [{"id": a.id, "children": [{"id": b1.id}]}]},
                                 {"id": b.id}])
    reorder_agenda(draft.id, order, actor=world.secretary)
    commit()
    assert items_of(draft.id) == [(a.id, c.id, 1, "A"), (b.id, None, 2, "B"), (c.id, None, 1, "C"),
                                  (b1.id, a.id, 1, "B1")]
    entry = audit_trail(draft.id)[-1]
    assert entry.action == "agenda.reorder"
    assert entry.data["order"][str(b1.id)] == [a.id, 1]
    assert titles(last_event(draft.id).payload["items"]) == [
        ("1", "C", [("1.1", "A", [("1.1.1", "B1", [])])]), ("2", "B", [])]


def test_reorder_keeps_a_full_depth_outline(world, draft):
    """An agenda already nested to the maximum can still be reordered."""
    a = add(draft, "A")
    a1 = add(draft, "A1", parent=a)
    a1x = add(draft, "A1x", parent=a1)
    b = add(draft, "B")
    order = AgendaOrderIn(items=[{"id": b.id}, {"id": a.id, "children": [
        {"id": a1.id, "children": [{"id": a1x.id, "children": []}]}]}])
    reorder_agenda(draft.id, order, actor=world.secretary)
    commit()
    assert items_of(draft.id)[-1] == (b.id, None, 1, "B")


def bad_orders(ids, foreign):
    a, b, c = ids
    return {
        "missing": [{"id": a}, {"id": b}],
        "unknown": [{"id": a}, {"id": b}, {"id": c}, {"id": 999999}],
        "foreign": [{"id": a}, {"id": b}, {"id": c}, {"id": foreign}],
        "twice": [{"id": a}, {"id": b}, {"id": c, "children": [{"id": a}]}],
        "too deep": [{"id": a, "children": [{"id": b, "children": [{"id": c, "children": [{"id": a}]}]}]}],
        "empty": [],
    }


def test_reorder_refuses_invalid_orders(world, draft):
    ids = [add(draft, t).id for t in "ABC"]
    other = world.meeting("draft")
    foreign = db.session.execute(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == other.id)).scalar_one()
    before = items_of(draft.id)
    for case, order in bad_orders(ids, foreign).items():
        err = assert_refused(Unprocessable, reorder_agenda, draft.id, AgendaOrderIn(items=order),
                             actor=world.secretary)
        assert err.detail, case
        assert items_of(draft.id) == before, case


def test_reorder_with_four_levels_is_refused(world, draft):
    a, b, c, d = (add(draft, t) for t in "ABCD")
    order = [{"id": a.id, "children": [{"id": b.id, "children": [{"id": c.id, "children": [{"id": d.id}]}]}]}]
    assert_refused(Unprocessable, reorder_agenda, draft.id, AgendaOrderIn(items=order), actor=world.secretary)


def test_reorder_refusals(world, draft):
    item = add(draft, "A")
    order = AgendaOrderIn(items=[{"id": item.id}])
    assert_refused(Forbidden, reorder_agenda, draft.id, order, actor=world.approver)
    world.advance(draft, "submitted")
    assert_refused(Conflict, reorder_agenda, draft.id, order, actor=world.secretary)


# --- current item ------------------------------------------------------------------------------------------

def test_chair_sets_the_current_item(world):
    meeting = world.meeting("in_session", items=2)
    first, second = [i[0] for i in items_of(meeting.id)]
    set_current_item(meeting.id, second, actor=world.chair)
    commit()
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).current_agenda_item_id == second
    entry = audit_trail(meeting.id)[-1]
    assert (entry.action, entry.actor_id, entry.data) == ("agenda.current", world.chair.id, {"item_id": second})
    event = last_event(meeting.id)
    started = db.session.get(Meeting, meeting.id).current_item_started_at
    assert started is not None  # the console's and projector's timer run from here, across reconnects
    assert (event.type, event.payload) == ("agenda.current", {"item_id": second, "started_at": to_local_iso(started),
                                                              "paused_at": None, "paused_seconds": 0})
    set_current_item(meeting.id, second, actor=world.chair)  # the same item again: its timer keeps running
    commit()
    assert db.session.get(Meeting, meeting.id).current_item_started_at == started
    transition_meeting(meeting.id, "pause", actor=world.chair)  # still possible while paused
    set_current_item(meeting.id, None, actor=world.chair)
    commit()
    reloaded = db.session.get(Meeting, meeting.id)
    assert reloaded.current_agenda_item_id is None and reloaded.current_item_started_at is None


def test_set_current_item_refusals(world):
    meeting = world.meeting("in_session")
    item = items_of(meeting.id)[0][0]
    for who in ("secretary", "delegate", "approver"):
        assert_refused(Forbidden, set_current_item, meeting.id, item, actor=getattr(world, who))
    other = world.meeting("in_session")
    assert_refused(NotFound, set_current_item, meeting.id, items_of(other.id)[0][0], actor=world.chair)
    assert_refused(NotFound, set_current_item, meeting.id, 999999, actor=world.chair)


def test_set_current_item_outside_a_session_is_a_conflict(world):
    meeting = world.meeting("published")
    item = items_of(meeting.id)[0][0]
    for state in ("published", "adjourned", "closed", "archived"):
        world.advance(meeting, state)
        err = assert_refused(Conflict, set_current_item, meeting.id, item, actor=world.chair)
        assert err.extra["state"] == state


def test_pauses_do_not_count_against_the_current_items_time(world):
    from datetime import timedelta

    meeting = world.meeting("in_session", items=2)
    first, second = [i[0] for i in items_of(meeting.id)]
    set_current_item(meeting.id, first, actor=world.chair)
    transition_meeting(meeting.id, "pause", actor=world.chair)
    commit()
    stored = db.session.get(Meeting, meeting.id)
    assert stored.paused_at is not None
    stored.paused_at -= timedelta(seconds=90)  # as if the pause had lasted a minute and a half
    commit()
    transition_meeting(meeting.id, "resume", actor=world.chair)
    commit()
    stored = db.session.get(Meeting, meeting.id)
    assert stored.paused_at is None and 90 <= stored.current_item_paused_seconds <= 92
    assert last_event(meeting.id).payload["current_item_paused_seconds"] == stored.current_item_paused_seconds
    set_current_item(meeting.id, second, actor=world.chair)  # a new item starts with a clean clock
    commit()
    assert db.session.get(Meeting, meeting.id).current_item_paused_seconds == 0
