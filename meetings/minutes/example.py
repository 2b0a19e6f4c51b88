"""Hold a published meeting from start to close through the real operations — for the demo's finished example,
the tests of the minutes and the benchmark. Every step is what the chair, the secretary and the delegates do
from their screens; nothing is written around the operations.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from meetings.agenda.models import AgendaItem
from meetings.agenda.operations import set_current_item
from meetings.attendance.operations import check_in_self, mark, open_roll_call
from meetings.auth.models import User
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import Meeting, MeetingSession
from meetings.meeting.operations import close_session, open_session, transition_meeting
from meetings.speakers.operations import finish_speaker, grant_floor, request_floor
from meetings.voting.models import Poll
from meetings.voting.casting import cast_ballot
from meetings.voting.operations import close_poll, open_poll


@dataclass
class Script:
    """What happens: who is absent (with a reason), who speaks on which item, how each poll goes."""

    absent: dict[int, str] = field(default_factory=dict)  # user id → reason (excused)
    speakers: dict[int, list[int]] = field(default_factory=dict)  # agenda item id → user ids, in order
    votes: dict[int, dict[int, str]] = field(default_factory=dict)  # poll id → user id → choice key
    commit_every_step: bool = True


def _step(script: Script) -> None:
    if script.commit_every_step:
        commit()


def hold_meeting(meeting: Meeting, *, chair: User, secretary: User, voters: list[User], script: Script) -> None:
    """published → in_session → (every session: roll calls, agenda, speakers, polls) → adjourned → closed."""
    transition_meeting(meeting.id, "start", actor=chair)
    _step(script)
    sessions = list(db.session.execute(sa.select(MeetingSession).where(MeetingSession.meeting_id == meeting.id)
                                       .order_by(MeetingSession.position)).scalars())
    items = list(db.session.execute(sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                                                AgendaItem.parent_id.is_(None))
                                    .order_by(AgendaItem.position)).scalars())
    polls = list(db.session.execute(sa.select(Poll).where(Poll.meeting_id == meeting.id, Poll.state == "draft")
                                    .order_by(Poll.id)).scalars())
    per_session = max(1, -(-len(items) // max(1, len(sessions))))
    for n, session in enumerate(sessions):
        open_session(meeting.id, session.id, actor=chair)
        open_roll_call(meeting.id, session.id, "start", actor=chair)
        for user in voters + [chair]:
            if user.id in script.absent:
                mark(meeting.id, session.id, user.id, "absent", actor=secretary, absence="excused",
                     reason=script.absent[user.id])
            else:
                check_in_self(meeting.id, session.id, "tablet", actor=user)
        _step(script)
        for item in items[n * per_session:(n + 1) * per_session]:
            set_current_item(meeting.id, item.id, actor=chair)
            for user_id in script.speakers.get(item.id, []):
                speaker = db.session.get(User, user_id)
                req, _created = request_floor(meeting.id, "speech", agenda_item_id=item.id, actor=speaker)
                grant_floor(meeting.id, req.id, actor=chair)
                finish_speaker(meeting.id, req.id, actor=chair)
            for poll in [p for p in polls if p.agenda_item_id == item.id]:
                _run_poll(meeting, poll, chair, voters + [chair], script)
            _step(script)
        if n == len(sessions) - 1:
            for poll in [p for p in polls if p.agenda_item_id is None or p.agenda_item_id not in
                         {i.id for i in items}]:
                _run_poll(meeting, poll, chair, voters + [chair], script)
        open_roll_call(meeting.id, session.id, "end", actor=chair)
        for user in voters + [chair]:
            if user.id not in script.absent:
                check_in_self(meeting.id, session.id, "tablet", actor=user)  # confirms presence at the end
        close_session(meeting.id, session.id, actor=chair)
        _step(script)
    transition_meeting(meeting.id, "adjourn", actor=chair)
    transition_meeting(meeting.id, "close", actor=chair)
    _step(script)


def _run_poll(meeting: Meeting, poll: Poll, chair: User, voters: list[User], script: Script) -> None:
    open_poll(meeting.id, poll.id, actor=chair)
    plan = script.votes.get(poll.id, {})
    for user in voters:
        if user.id in script.absent:
            continue
        choice = plan.get(user.id, poll.option_keys[0])
        if choice:
            cast_ballot(meeting.id, poll.id, [choice], f"example-{poll.id}-{user.id}", actor=user)
    close_poll(meeting.id, poll.id, actor=chair)
