"""Meeting pages: my meetings, the secretary's editor, the approver's review, the delegate's view."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for

from meetings.auth.views import login_required

bp = Blueprint("meetings", __name__)


@bp.get("/")
@login_required
def home():
    return redirect(url_for("docs.api_docs"))
