from __future__ import annotations

from meetings.auth.models import User
from meetings.core.api import ApiBlueprint
from meetings.search import operations as ops
from meetings.search.schemas import SearchOut, SearchQuery

bp = ApiBlueprint("search_api", __name__)


@bp.endpoint("/search", summary="Search the minutes and documents of the archived meetings the caller may see; "
                                "diacritics optional, every word must occur, newest meeting first",
             query=SearchQuery, response=SearchOut, errors=(422,))
def search(*, actor: User, query: SearchQuery):
    return SearchOut.model_validate(ops.search(query.q, actor=actor, limit=query.limit, offset=query.offset))
