from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import Field, StringConstraints

from meetings.core.errors import BadRequest
from meetings.core.schemas import Id, Input

Rule = Literal["simple", "majority_present", "majority_all", "two_thirds_all"]
IdempotencyKey = Annotated[str, StringConstraints(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
Choice = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class PollIn(Input):
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    secret: bool = False
    agenda_item_id: Id | None = None
    options: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=200)]],
                       Field(min_length=2, max_length=100)] | None = Field(
        default=None, description="Custom options (an election); default: yes / no / abstain")
    max_choices: Annotated[int, Field(ge=1, le=100)] = 1
    rule: Rule | None = Field(default=None, description="Default: the body's rule")
    duration_seconds: Annotated[int, Field(ge=10, le=24 * 3600)] | None = None
    allow_change: bool = False


class BallotIn(Input):
    choice: Choice | None = Field(default=None, description="yes | no | abstain, or an option key (o1, o2 …)")
    choices: Annotated[list[Choice], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="Several options (elections with “choose up to k”)")
    idempotency_key: IdempotencyKey = Field(description="Random, 16–100 characters, made by the device per "
                                                        "ballot; a retry with the same key gets the same receipt")
    for_user_id: Id | None = Field(default=None, description="The member whose proxy the caller holds")

    def choice_list(self) -> list[str]:
        """The choices, from exactly one of ``choice`` and ``choices``."""
        if (self.choice is None) == (self.choices is None):
            raise BadRequest(_("Send either “choice” or “choices”."))
        return [self.choice] if self.choice is not None else list(self.choices)


class BallotSocketIn(BallotIn):
    poll_id: Id
