"""What a tablet that was away receives: the events it missed, or a snapshot when it is too far behind.

Shared by the Socket.IO ``join`` and ``GET /api/v1/meetings/{id}/events`` so both resync the same way.
"""
from __future__ import annotations

from typing import Any

from meetings.core.events import events_after
from meetings.meeting.models import Meeting

MAX_MISSED = 500


def audience_allows(audience: dict | None, user_id: int, roles: frozenset[str]) -> bool:
    if not audience:
        return True
    if user_id in audience.get("user_ids", ()):
        return True
    return bool(roles & set(audience.get("roles", ())))


def snapshot(meeting: Meeting, user_id: int, roles: frozenset[str]) -> dict[str, Any]:
    """The meeting as this viewer may see it (``user_id`` 0 and roles {"display"} for a hall display)."""
    from meetings.agenda.operations import agenda_payload
    from meetings.attendance.operations import snapshot_part
    from meetings.documents.operations import current_view, documents_payload
    from meetings.meeting.operations import meeting_state_payload, session_payload
    from meetings.speakers.operations import speakers_payload
    from meetings.voting.operations import polls_payload

    return {"meeting": meeting_state_payload(meeting), "agenda": agenda_payload(meeting),
            "sessions": [session_payload(s) for s in meeting.sessions],
            "documents": documents_payload(meeting, user_id, roles),
            "view": current_view(meeting, user_id, roles),
            "speakers": speakers_payload(meeting),
            "polls": polls_payload(meeting, user_id),
            **snapshot_part(meeting, user_id)}


def catch_up(meeting: Meeting, after: int, user_id: int, roles: frozenset[str]) -> dict[str, Any]:
    """``{last_seq, events}`` with every missed event the caller may see, or ``{last_seq, snapshot}``.

    A snapshot when the caller has nothing yet (``after`` 0: a tablet opening the meeting needs its state,
    not its history), is too far behind, or claims a seq the meeting never reached.
    """
    if after == 0 or meeting.last_seq - after > MAX_MISSED or after > meeting.last_seq:
        return {"last_seq": meeting.last_seq, "snapshot": snapshot(meeting, user_id, roles)}
    events = [e.message() | {"type": e.type} for e in events_after(meeting.id, after, MAX_MISSED)
              if audience_allows(e.audience, user_id, roles)]
    return {"last_seq": meeting.last_seq, "events": events}
