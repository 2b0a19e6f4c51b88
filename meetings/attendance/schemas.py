from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from meetings.core.schemas import Id, Input

Method = Literal["tablet", "qr", "card", "manual"]
RollCallKind = Literal["start", "end"]


class CheckIn(Input):
    session_id: Id
    method: Method
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        default=None, description="qr: the 6 digits shown on the hall screen")
    card_uid: Annotated[str, StringConstraints(min_length=4, max_length=64)] | None = Field(
        default=None, description="card: the card's UID in hex (the kiosk authenticates with its device token)")
    user_id: Id | None = Field(default=None, description="manual: whom the secretary marks present")


class CheckOut(Input):
    session_id: Id
    method: Literal["tablet", "card"] = "tablet"
    card_uid: Annotated[str, StringConstraints(min_length=4, max_length=64)] | None = None


class Mark(Input):
    session_id: Id
    user_id: Id
    status: Literal["present", "absent"]
    absence: Literal["excused", "unexcused"] | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class ProxyIn(Input):
    session_id: Id
    holder_user_id: Id
    giver_user_id: Id | None = Field(default=None, description="secretary only: record a proxy given on paper")


class KioskIn(Input):
    label: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CardIn(Input):
    uid: Annotated[str, StringConstraints(min_length=4, max_length=64)]
    label: Annotated[str, StringConstraints(max_length=100)] = ""


class AttendanceQuery(Input):
    model_config = Input.model_config | {"strict": False}  # query strings are text
    session_id: Id | None = None


class ExportQuery(AttendanceQuery):
    format: Literal["csv", "xlsx"] = "csv"


class RecordedOut(BaseModel):
    session_id: int
    participant_id: int
    changed: bool = Field(description="false: it was already recorded; nothing changed")
    result: str = Field(description="checked_in | confirmed | checked_out | returned | marked_absent | unchanged")
    message: str
    checked_in_at: str | None
    checked_out_at: str | None
    confirmed_at: str | None


class QrOut(BaseModel):
    session_id: int
    code: str
    expires_in: int = Field(description="seconds until the code changes")
    step: int
    url: str = Field(description="what the QR code encodes: the check-in page with the code")
    svg: str = Field(description="the QR code as an SVG data URI, for the hall screen")
