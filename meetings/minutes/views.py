"""Pages: the minutes (editor while drafting, then signing and archiving), the caller's signing certificate."""
from __future__ import annotations

from flask import Blueprint, render_template

from meetings.auth.current import page_actor
from meetings.auth.views import login_required
from meetings.meeting.access import load_meeting
from meetings.minutes import archiving
from meetings.minutes import operations as ops

bp = Blueprint("minutes_pages", __name__)


@bp.get("/meetings/<int:meeting_id>/minutes")
@login_required
def minutes_page(meeting_id: int):
    actor = page_actor()
    meeting, roles = load_meeting(meeting_id, actor)
    view = ops.minutes_view(meeting_id, actor=actor)
    check = archiving.check_meeting_report(meeting, ops.minutes_of(meeting)) if meeting.state == "archived" else None
    return render_template("minutes/page.html", meeting=meeting, roles=sorted(roles), view=view, check=check,
                           credential=ops.credential_payload(actor.id), my_step=view["my_step"])


@bp.get("/me/signing")
@login_required
def signing_page():
    return render_template("minutes/signing.html", credential=ops.credential_payload(page_actor().id))
