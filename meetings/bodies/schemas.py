from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from meetings.core.schemas import Id, Input, LocalTime, Output

BodyKind = Literal["council", "committee", "board", "assembly", "other"]
QuorumRule = Literal["more_than_half", "two_thirds", "fixed"]
VoteRule = Literal["simple", "majority_present", "majority_all", "two_thirds_all"]
BodyRole = Literal["secretary", "approver", "member"]
BodyName = Annotated[str, StringConstraints(min_length=1, max_length=200)]  # bodies.name is VARCHAR(200)


class BodyCreate(Input):
    name: BodyName
    short_name: Annotated[str, StringConstraints(max_length=50)] = ""
    kind: BodyKind = "other"
    quorum_rule: QuorumRule = "more_than_half"
    quorum_fixed: Annotated[int, Field(ge=1, le=100000)] | None = None
    default_vote_rule: VoteRule = "majority_all"


class BodyPatch(Input):
    name: BodyName | None = None
    short_name: Annotated[str, StringConstraints(max_length=50)] | None = None
    kind: BodyKind | None = None
    quorum_rule: QuorumRule | None = None
    quorum_fixed: Annotated[int, Field(ge=1, le=100000)] | None = None
    default_vote_rule: VoteRule | None = None


class BodyMemberIn(Input):
    user_id: Id
    role: BodyRole


class BodyMemberOut(Output):
    id: int
    user_id: int
    role: str
    full_name: str


class BodyOut(Output):
    id: int
    name: str
    short_name: str
    kind: str
    quorum_rule: str
    quorum_fixed: int | None
    default_vote_rule: str
    created_at: LocalTime
    members: list[BodyMemberOut] = []
