"""Schema base classes: strict, closed input models; output models that read ORM objects.

The same classes validate requests and generate /api/openapi.json, so the docs cannot drift from the code.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from meetings.core.db import to_local_iso

T = TypeVar("T")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


LocalTime = Annotated[datetime, PlainSerializer(to_local_iso, return_type=str)]
DecimalStr = Annotated[Decimal, PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Short = Annotated[str, StringConstraints(max_length=300)]
Text = Annotated[str, StringConstraints(max_length=20000)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
InputTime = AwareDatetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
