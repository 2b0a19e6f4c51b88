"""Turning meetings into their API shapes for a given caller (what they see depends on their roles)."""
from __future__ import annotations

from meetings.meeting.access import meeting_roles
from meetings.meeting.models import TRANSITIONS, Meeting, MeetingTransition, Participant
from meetings.meeting.schemas import MeetingDetailOut, MeetingOut, ParticipantOut, TransitionOut


def allowed_actions(meeting: Meeting, roles: frozenset[str]) -> list[str]:
    return [a for a in meeting.available_actions() if roles & set(TRANSITIONS[a].roles)]


def meeting_out(meeting: Meeting, actor, *, detail: bool = False, roles: frozenset[str] | None = None):
    roles = roles if roles is not None else meeting_roles(meeting, actor)
    fields = {c: getattr(meeting, c) for c in MeetingOut.model_fields
              if c not in ("body_name", "my_roles", "available_actions")}
    base = dict(fields, body_name=meeting.body.name, my_roles=sorted(roles),
                available_actions=allowed_actions(meeting, roles))
    if detail:
        return MeetingDetailOut(**base, transitions=[transition_out(t) for t in meeting.transitions])
    return MeetingOut(**base)


def transition_out(t: MeetingTransition) -> TransitionOut:
    out = TransitionOut.model_validate(t)
    out.actor_name = t.actor.full_name if t.actor else None
    return out


def participant_out(p: Participant) -> ParticipantOut:
    return ParticipantOut(id=p.id, user_id=p.user_id, username=p.user.username, full_name=p.user.full_name,
                          title=p.user.title, role=p.role, can_vote=p.can_vote, vote_weight=p.vote_weight, seat=p.seat)
