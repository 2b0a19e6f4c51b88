"""Agenda operations: add, edit, delete, reorder, and the chair's current item."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from meetings.agenda.models import MAX_DEPTH, AgendaItem
from meetings.agenda.schemas import AgendaItemCreate, AgendaItemPatch, AgendaOrderIn
from meetings.agenda.tree import OrderError, build_tree, flatten, plan_order
from meetings.auth.models import User
from meetings.core.audit import record_audit
from meetings.core.db import prebuilt, to_local_iso, utcnow, write_columns
from meetings.core.errors import Conflict, NotFound, Unprocessable
from meetings.core.events import emit_event
from meetings.extensions import db
from meetings.meeting.access import load_meeting, require_role
from meetings.meeting.models import Meeting

PREPARE = ("secretary",)


def agenda_items(meeting_id: int) -> list[AgendaItem]:
    return list(db.session.execute(sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                                   .order_by(AgendaItem.position, AgendaItem.id)).scalars())


def agenda_payload(meeting: Meeting) -> dict:
    def node(n):
        i = n.item
        return {"id": i.id, "number": n.number, "title": i.title, "presenter": i.presenter,
                "planned_minutes": i.planned_minutes, "children": [node(c) for c in n.children]}
    return {"items": [node(n) for n in build_tree(agenda_items(meeting.id))],
            "current_item_id": meeting.current_agenda_item_id,
            "current_item_started_at": to_local_iso(meeting.current_item_started_at),
            "current_item_paused_seconds": meeting.current_item_paused_seconds}


def _load_item(meeting: Meeting, item_id: int) -> AgendaItem:
    item = db.session.execute(prebuilt(("agenda.item",), lambda: sa.select(AgendaItem).where(
        AgendaItem.id == sa.bindparam("item"))), {"item": item_id}).scalar_one_or_none()
    if item is None or item.meeting_id != meeting.id:
        raise NotFound(_("Agenda item %(id)s is not on this meeting's agenda.", id=item_id))
    return item


def _depth(item: AgendaItem) -> int:
    depth = 1
    while item.parent_id is not None:
        item = db.session.get(AgendaItem, item.parent_id)
        depth += 1
    return depth


def _check_presenter(user_id: int | None) -> None:
    if user_id is not None and db.session.get(User, user_id) is None:
        raise Unprocessable(_("User %(id)s does not exist.", id=user_id))


def add_agenda_item(meeting_id: int, data: AgendaItemCreate, *, actor: User) -> AgendaItem:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    _check_presenter(data.presenter_user_id)
    if data.parent_id is not None:
        parent = _load_item(meeting, data.parent_id)
        if _depth(parent) >= MAX_DEPTH:
            raise Unprocessable(_("The agenda can be nested at most %(n)s levels deep.", n=MAX_DEPTH))
    position = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(AgendaItem.position), 0)).where(
            AgendaItem.meeting_id == meeting.id,
            AgendaItem.parent_id.is_(None) if data.parent_id is None else AgendaItem.parent_id == data.parent_id)
    ).scalar_one() + 1
    item = AgendaItem(meeting_id=meeting.id, position=position, **data.model_dump())
    db.session.add(item)
    db.session.flush()
    record_audit("agenda.add", actor_id=actor.id, meeting_id=meeting.id,
                 data={"item_id": item.id, "title": item.title, "parent_id": item.parent_id})
    emit_event(meeting.id, "agenda.updated", agenda_payload(meeting))
    return item


def update_agenda_item(meeting_id: int, item_id: int, data: AgendaItemPatch, *, actor: User) -> AgendaItem:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    item = _load_item(meeting, item_id)
    changes = data.model_dump(exclude_unset=True)
    for nullable in ("presenter_user_id", "planned_minutes"):
        changes.setdefault(nullable, getattr(item, nullable))
    changes = {k: v for k, v in changes.items() if v is not None or k in ("presenter_user_id", "planned_minutes")}
    _check_presenter(changes.get("presenter_user_id"))
    for key, value in changes.items():
        setattr(item, key, value)
    db.session.flush()
    record_audit("agenda.update", actor_id=actor.id, meeting_id=meeting.id,
                 data={"item_id": item.id, "fields": sorted(data.model_fields_set)})
    emit_event(meeting.id, "agenda.updated", agenda_payload(meeting))
    return item


def delete_agenda_item(meeting_id: int, item_id: int, *, actor: User) -> None:
    """Delete an item and its sub-items."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    item = _load_item(meeting, item_id)
    subtree = {item.id}
    for node in flatten(build_tree(agenda_items(meeting.id))):
        if node.item.parent_id in subtree:
            subtree.add(node.item.id)
    if meeting.current_agenda_item_id in subtree:
        if meeting.state in ("in_session", "paused"):
            raise Conflict(_("The item under discussion cannot be deleted; move to another item first."))
        meeting.current_agenda_item_id = None
        meeting.current_item_started_at = None
    # Children first, so no row ever points at a deleted parent (no reliance on ON DELETE CASCADE order).
    for node in reversed([n for n in flatten(build_tree(agenda_items(meeting.id))) if n.item.id in subtree]):
        db.session.delete(node.item)
        db.session.flush()
    _renumber(meeting.id, item.parent_id)
    record_audit("agenda.delete", actor_id=actor.id, meeting_id=meeting.id,
                 data={"item_id": item_id, "title": item.title, "deleted_ids": sorted(subtree)})
    emit_event(meeting.id, "agenda.updated", agenda_payload(meeting))


def _renumber(meeting_id: int, parent_id: int | None) -> None:
    siblings = [i for i in agenda_items(meeting_id) if i.parent_id == parent_id]
    for position, sibling in enumerate(sorted(siblings, key=lambda i: (i.position, i.id)), start=1):
        sibling.position = position
    db.session.flush()


def reorder_agenda(meeting_id: int, data: AgendaOrderIn, *, actor: User) -> None:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    meeting.ensure_editable()
    items = {i.id: i for i in agenda_items(meeting.id)}
    try:
        placement = plan_order([n.model_dump() for n in data.items], set(items), MAX_DEPTH)
    except OrderError as err:
        raise Unprocessable(_("The new order is not valid: %(reason)s.", reason=_(err.msgid, **err.params)))
    for item_id, (parent_id, position) in placement.items():
        items[item_id].parent_id = parent_id
        items[item_id].position = position
    db.session.flush()
    record_audit("agenda.reorder", actor_id=actor.id, meeting_id=meeting.id,
                 data={"order": {str(k): [v[0], v[1]] for k, v in sorted(placement.items())}})
    emit_event(meeting.id, "agenda.updated", agenda_payload(meeting))


def set_current_item(meeting_id: int, item_id: int | None, *, actor: User) -> Meeting:
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, ("chair",))
    if meeting.state not in ("in_session", "paused"):
        raise Conflict(_("The current item can only be set while the meeting is in session."),
                       extra={"state": meeting.state})
    if item_id is not None:
        _load_item(meeting, item_id)
    if item_id != meeting.current_agenda_item_id:
        now = utcnow()
        # The chair's most frequent action: one Core UPDATE instead of the unit of work (see write_columns).
        write_columns(meeting, current_agenda_item_id=item_id,
                      current_item_started_at=now if item_id is not None else None, current_item_paused_seconds=0,
                      # chosen during a pause: the item's clock starts when the meeting resumes
                      paused_at=now if meeting.paused_at is not None else None)
    record_audit("agenda.current", actor_id=actor.id, meeting_id=meeting.id, data={"item_id": item_id})
    emit_event(meeting.id, "agenda.current",
               {"item_id": item_id, "started_at": to_local_iso(meeting.current_item_started_at),
                "paused_at": to_local_iso(meeting.paused_at),
                "paused_seconds": meeting.current_item_paused_seconds})
    return meeting
