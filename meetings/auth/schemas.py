from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from meetings.core.schemas import Input, LocalTime, Output

Username = Annotated[str, StringConstraints(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
NewPassword = Annotated[str, StringConstraints(min_length=8, max_length=1024)]


class LoginIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    password: Password


class UserOut(Output):
    id: int
    username: str
    full_name: str
    title: str
    email: str | None
    is_admin: bool
    active: bool
    created_at: LocalTime


class LoginOut(Output):
    token: str
    expires_at: LocalTime
    user: UserOut


class UserCreate(Input):
    username: Username
    full_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    title: Annotated[str, StringConstraints(max_length=200)] = ""
    email: Annotated[str, StringConstraints(max_length=200)] | None = None
    password: NewPassword | None = Field(default=None, description="Omit to create an account that cannot log in yet.")
    is_admin: bool = False


class UserPatch(Input):
    full_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: Annotated[str, StringConstraints(max_length=200)] | None = None
    password: NewPassword | None = None
    is_admin: bool | None = None
    active: bool | None = Field(default=None, description="false deactivates the user and revokes every token.")
    locale: Literal["vi", "en"] | None = None
