from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from meetings.core.schemas import Id, Input, Name, Output, Text

Minutes = Annotated[int, Field(ge=1, le=24 * 60)]
Presenter = Annotated[str, StringConstraints(max_length=200)]  # agenda_items.presenter is VARCHAR(200)


class AgendaItemCreate(Input):
    title: Name
    description: Text = ""
    presenter: Presenter = ""
    presenter_user_id: Id | None = None
    planned_minutes: Minutes | None = None
    parent_id: Id | None = Field(default=None, description="Nest under this item; appended as its last child.")


class AgendaItemPatch(Input):
    title: Name | None = None
    description: Text | None = None
    presenter: Presenter | None = None
    presenter_user_id: Id | None = None
    planned_minutes: Minutes | None = None


class OrderNode(Input):
    id: Id
    children: list[OrderNode] = []


class AgendaOrderIn(Input):
    items: Annotated[list[OrderNode], Field(max_length=1000)]


class CurrentItemIn(Input):
    item_id: Id | None


class AgendaItemOut(Output):
    id: int
    parent_id: int | None
    position: int
    number: str = Field(description="Outline number, e.g. 2.1")
    title: str
    description: str
    presenter: str
    presenter_user_id: int | None
    planned_minutes: int | None
    children: list[AgendaItemOut] = []


class AgendaOut(Output):
    meeting_id: int
    current_item_id: int | None
    items: list[AgendaItemOut]
    total: int
