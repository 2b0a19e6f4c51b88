from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meetings.core.schemas import Input, Output
from meetings.search.operations import MAX_LIMIT, MAX_QUERY, MAX_TERMS


class SearchQuery(Input):
    model_config = Input.model_config | {"strict": False}
    # No length limit here: an empty or too long query is a 422 with a sentence that says what to do.
    q: str = Field(default="", description=f"The words to find (at most {MAX_QUERY} characters, {MAX_TERMS} "
                                           "words). Diacritics are optional: “bien ban” finds “biên bản”. Every "
                                           "word must occur; the last one may be the beginning of a word.")
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 20
    offset: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class SnippetPart(Output):
    text: str
    match: bool = Field(description="A word of the query (to highlight).")


class SearchHit(Output):
    meeting_id: int
    meeting_title: str
    meeting_date: str | None = Field(description="When the meeting started (ISO 8601, +07:00).")
    kind: Literal["minutes", "document"]
    ref_id: int = Field(description="The document's id, or the meeting's id for its minutes.")
    title: str
    snippet: list[SnippetPart] = Field(description="About thirty words of the original text around the first "
                                                   "place where the query's words occur, in order.")


class SearchOut(Output):
    items: list[SearchHit]
    total: int
    query: str
