"""The search page (tra cứu): a box, and the archived minutes and documents that contain the words."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from meetings.auth.current import page_actor
from meetings.auth.views import login_required
from meetings.core.errors import Unprocessable
from meetings.search import operations as ops

bp = Blueprint("search", __name__)

PER_PAGE = 20
MAX_PAGE = 500


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:  # int() refuses more than 4300 digits
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


@bp.get("/search")
@login_required
def index():
    query = request.args.get("q", "").strip()
    page = _page_number()
    result, error = None, None
    if query:
        try:
            result = ops.search(query, actor=page_actor(), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        except Unprocessable as err:
            error = err.detail
    pages = -(-result["total"] // PER_PAGE) if result else 0
    return render_template("search/index.html", query=query, result=result, error=error, page=page,
                           pages=pages, per_page=PER_PAGE, max_query=ops.MAX_QUERY), 422 if error else 200
