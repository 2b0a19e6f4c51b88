"""``ballot.cast {poll_id, choice | choices, idempotency_key, for_user_id?}`` over Socket.IO: the same operation as
the REST endpoint, acknowledged with ``{receipt, choices, repeated}`` after the commit, or ``{error}``."""
from __future__ import annotations

from flask_socketio import SocketIO

from meetings.core.errors import Forbidden
from meetings.extensions import db
from meetings.voting import operations as ops
from meetings.voting.api import choices_of
from meetings.voting.models import Poll
from meetings.voting.schemas import BallotSocketIn


def register_ballot_handlers(sio: SocketIO) -> None:
    from flask_babel import gettext as _

    from meetings.core.errors import NotFound
    from meetings.realtime.server import DisplayCaller, socket_event

    @sio.on("ballot.cast")
    @socket_event(sio, BallotSocketIn, writes=True)
    def on_ballot(data: BallotSocketIn, *, actor):
        if isinstance(actor, DisplayCaller):
            raise Forbidden(_("A hall display only shows; it cannot vote."))
        poll = db.session.get(Poll, data.poll_id)
        if poll is None:
            raise NotFound(_("Poll %(id)s does not exist in this meeting.", id=data.poll_id))
        cast = ops.cast_ballot(poll.meeting_id, poll.id, choices_of(data), data.idempotency_key, actor=actor,
                               for_user_id=data.for_user_id)
        return {"poll_id": cast.poll_id, "receipt": cast.receipt, "choices": cast.choices,
                "repeated": not cast.changed}
