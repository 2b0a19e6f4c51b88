from __future__ import annotations

from meetings.agenda import operations as ops
from meetings.agenda.schemas import (AgendaItemCreate, AgendaItemOut, AgendaItemPatch, AgendaOrderIn, AgendaOut,
                                     CurrentItemIn)
from meetings.agenda.tree import Node, build_tree, flatten
from meetings.auth.models import User
from meetings.core.api import AfterCommit, ApiBlueprint
from meetings.meeting.access import load_meeting
from meetings.meeting.models import Meeting

bp = ApiBlueprint("agenda_api", __name__)


def _node_out(node: Node) -> AgendaItemOut:
    i = node.item
    return AgendaItemOut(id=i.id, parent_id=i.parent_id, position=i.position, number=node.number, title=i.title,
                         description=i.description, presenter=i.presenter, presenter_user_id=i.presenter_user_id,
                         planned_minutes=i.planned_minutes, children=[_node_out(c) for c in node.children])


def agenda_out(meeting: Meeting) -> AgendaOut:
    tree = build_tree(ops.agenda_items(meeting.id))
    return AgendaOut(meeting_id=meeting.id, current_item_id=meeting.current_agenda_item_id,
                     items=[_node_out(n) for n in tree], total=len(flatten(tree)))


def item_out(meeting_id: int, item_id: int) -> AgendaItemOut:
    for node in flatten(build_tree(ops.agenda_items(meeting_id))):
        if node.item.id == item_id:
            return _node_out(node)
    raise LookupError(item_id)


@bp.endpoint("/meetings/<int:meeting_id>/agenda", summary="The agenda as a numbered tree", response=AgendaOut,
             errors=(404,))
def get_agenda(meeting_id: int, *, actor: User):
    meeting, _roles = load_meeting(meeting_id, actor)
    return agenda_out(meeting)


@bp.endpoint("/meetings/<int:meeting_id>/agenda", "POST", summary="Add an agenda item", body=AgendaItemCreate,
             response=AgendaItemOut, status=201, errors=(403, 404, 409, 422))
def add_item(meeting_id: int, *, actor: User, body: AgendaItemCreate):
    item = ops.add_agenda_item(meeting_id, body, actor=actor)
    return item_out(meeting_id, item.id)


@bp.endpoint("/meetings/<int:meeting_id>/agenda/<int:item_id>", "PATCH", summary="Edit an agenda item",
             body=AgendaItemPatch, response=AgendaItemOut, errors=(403, 404, 409, 422))
def patch_item(meeting_id: int, item_id: int, *, actor: User, body: AgendaItemPatch):
    ops.update_agenda_item(meeting_id, item_id, body, actor=actor)
    return item_out(meeting_id, item_id)


@bp.endpoint("/meetings/<int:meeting_id>/agenda/<int:item_id>", "DELETE",
             summary="Delete an agenda item and its sub-items", errors=(403, 404, 409))
def delete_item(meeting_id: int, item_id: int, *, actor: User):
    ops.delete_agenda_item(meeting_id, item_id, actor=actor)


@bp.endpoint("/meetings/<int:meeting_id>/agenda/order", "PUT",
             summary="Reorder and re-nest the whole agenda", body=AgendaOrderIn, response=AgendaOut,
             errors=(403, 404, 409, 422))
def reorder(meeting_id: int, *, actor: User, body: AgendaOrderIn):
    ops.reorder_agenda(meeting_id, body, actor=actor)
    meeting, _roles = load_meeting(meeting_id, actor)
    return agenda_out(meeting)


@bp.endpoint("/meetings/<int:meeting_id>/agenda/current", "PUT", summary="Set the item under discussion (chair)",
             body=CurrentItemIn, response=AgendaOut, errors=(403, 404, 409))
def set_current(meeting_id: int, *, actor: User, body: CurrentItemIn):
    meeting = ops.set_current_item(meeting_id, body.item_id, actor=actor)
    return AfterCommit(lambda: agenda_out(meeting))
