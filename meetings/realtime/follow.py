"""Follow me: the chair shows a document page and every tablet in follow mode shows the same page.

``view.follow {meeting_id, document_id, page}`` (``document_id`` null: stop showing) runs the operation
``documents.operations.set_view``, which stores the view on the meeting and appends a ``view.page`` event
for the document's audience; the ack comes after the commit, with the view and the event's seq.
"""
from __future__ import annotations

from typing import Annotated

from flask_babel import gettext as _
from flask_socketio import SocketIO
from pydantic import Field

from meetings.core.errors import BadRequest, Forbidden, NotFound
from meetings.core.schemas import Id, Input
from meetings.documents import operations as ops
from meetings.documents.models import Document
from meetings.extensions import db
from meetings.meeting.models import Meeting


class FollowIn(Input):
    # DESIGN.md's contract is {document_id, page}; the meeting follows from the document. To stop showing
    # (document_id null) the meeting must be named.
    meeting_id: Id | None = None
    document_id: Id | None
    page: Annotated[int, Field(ge=1, le=100_000)] = 1


def register_follow_handlers(sio: SocketIO) -> None:
    from meetings.realtime.server import DisplayCaller, socket_event

    @sio.on("view.follow")
    @socket_event(sio, FollowIn, writes=True)
    def on_follow(data: FollowIn, *, actor):
        if isinstance(actor, DisplayCaller):
            raise Forbidden(_("A hall display only shows; it cannot lead."))
        meeting_id = data.meeting_id
        if meeting_id is None:
            if data.document_id is None:
                raise BadRequest(_("Name the meeting (“meeting_id”) or the document to show."))
            doc = db.session.get(Document, data.document_id)
            if doc is None:
                raise NotFound(_("Document %(id)s does not exist or is not visible to you.", id=data.document_id))
            meeting_id = doc.meeting_id
        view = ops.set_view(meeting_id, data.document_id, data.page, actor=actor)
        db.session.flush()
        seq = db.session.get(Meeting, meeting_id).last_seq
        return {"view": view, "seq": seq}
