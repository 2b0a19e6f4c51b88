from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meetings.core.schemas import Id, Input, LocalTime, Output

Kind = Literal["speech", "question", "point_of_order"]


class SpeakerRequestIn(Input):
    kind: Kind
    agenda_item_id: Id | None = Field(
        default=None, description="The agenda item to speak on. Omitted: the item under discussion; null: none.")


class SpeakerOrderIn(Input):
    request_ids: Annotated[list[Id], Field(max_length=1000, description="Every waiting request, in the new order.")]


class WithdrawQuery(Input):
    model_config = Input.model_config | {"strict": False}
    kind: Kind | None = Field(default=None, description="Withdraw only the request of this kind.")


class SpeakerRequestOut(Output):
    """A request as events and the queue carry it (``speakers.updated``)."""

    id: int
    participant_id: int
    user_id: int
    full_name: str
    kind: str
    agenda_item_id: int | None
    position: int = Field(description="Place in the queue (1 = next); 0 for the current speaker.")
    state: str = Field(description="waiting | speaking | done | withdrawn")
    requested_at: LocalTime
    granted_at: LocalTime | None
    limit_seconds: int = Field(description="Speaking time for this kind; the countdown runs from granted_at.")


class SpeakerHistoryOut(SpeakerRequestOut):
    finished_at: LocalTime | None
    duration_seconds: int | None


class SpeakerLimits(Output):
    speech: int
    question: int
    point_of_order: int


class SpeakersOut(Output):
    current: SpeakerRequestOut | None
    queue: list[SpeakerRequestOut]
    history: list[SpeakerHistoryOut] = Field(description="Who spoke, in the order they were given the floor.")
    limits: SpeakerLimits = Field(description="The body's speaking time per kind, in seconds.")
