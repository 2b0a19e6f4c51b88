from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from meetings.core.schemas import DecimalStr, Id, Input, InputTime, LocalTime, Name, Output, Short, Text

Role = Literal["chair", "secretary", "approver", "delegate", "guest"]
Action = Literal["submit", "reject", "approve", "publish", "start", "pause", "resume", "adjourn", "close", "archive"]
Weight = Annotated[Decimal, Field(gt=0, le=Decimal("10000"), max_digits=12, decimal_places=4)]


class MeetingCreate(Input):
    body_id: Id
    title: Name
    number: Annotated[str, StringConstraints(max_length=60)] = ""
    description: Text = ""
    place: Short = ""
    starts_at: InputTime | None = None
    ends_at: InputTime | None = None
    is_closed_session: bool = False


class MeetingPatch(Input):
    title: Name | None = None
    number: Annotated[str, StringConstraints(max_length=60)] | None = None
    description: Text | None = None
    place: Short | None = None
    starts_at: InputTime | None = None
    ends_at: InputTime | None = None
    is_closed_session: bool | None = None


class TransitionIn(Input):
    action: Action
    comment: Annotated[str, StringConstraints(max_length=5000)] = ""


class TransitionOut(Output):
    id: int
    action: str
    from_state: str
    to_state: str
    actor_id: int | None
    actor_name: str | None = None
    comment: str
    at: LocalTime


class MeetingOut(Output):
    id: int
    body_id: int
    body_name: str
    title: str
    number: str
    description: str
    place: str
    starts_at: LocalTime | None
    ends_at: LocalTime | None
    state: str
    is_closed_session: bool
    current_agenda_item_id: int | None
    last_seq: int
    created_at: LocalTime
    updated_at: LocalTime
    my_roles: list[str] = Field(description="The caller's effective roles in this meeting.")
    available_actions: list[str] = Field(description="Transitions the caller may perform now.")


class MeetingDetailOut(MeetingOut):
    transitions: list[TransitionOut]


class MeetingListQuery(Input):
    model_config = Input.model_config | {"strict": False}
    state: Literal["draft", "submitted", "approved", "published", "in_session", "paused", "adjourned", "closed",
                   "archived"] | None = None
    body_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    offset: Annotated[int, Field(ge=0)] = 0


class ParticipantIn(Input):
    user_id: Id
    role: Role
    can_vote: bool | None = Field(default=None, description="Defaults to true for chair and delegate.")
    vote_weight: Weight = Decimal(1)
    seat: Annotated[str, StringConstraints(max_length=20)] = ""


class ParticipantOut(Output):
    id: int
    user_id: int
    username: str
    full_name: str
    title: str
    role: str
    can_vote: bool
    vote_weight: DecimalStr
    seat: str


class ImportRowError(Output):
    row: int
    message: str


class ImportOut(Output):
    imported: int
    participants: list[ParticipantOut]


class SessionCreate(Input):
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]  # meeting_sessions.title is VARCHAR(200)
    starts_at: InputTime | None = None
    ends_at: InputTime | None = None


class SessionOut(Output):
    id: int
    position: int
    title: str
    starts_at: LocalTime | None
    ends_at: LocalTime | None
    state: str
    opened_at: LocalTime | None
    closed_at: LocalTime | None
