"""Vote operations: create, open (eligibility snapshot), close (result), receipts. Casting, the hot path, is
in meetings.voting.casting."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import gettext as _

from meetings.attendance.models import Attendance, Proxy, RollCall
from meetings.attendance.operations import current_session, quorum
from meetings.auth.models import User
from meetings.core.audit import record_audit
from meetings.core.db import to_local_iso, utcnow
from meetings.core.errors import Conflict, NotFound, Unprocessable
from meetings.core.events import emit_event
from meetings.core.tx import begin_write
from meetings.extensions import db
from meetings.meeting.access import load_meeting, participant_of, require_role
from meetings.meeting.models import Meeting, Participant
from meetings.voting.models import DEFAULT_OPTIONS, Ballot, Poll, PollRight, SecretChoice, SecretVoter

PREPARE = ("chair", "secretary")
RUN = ("chair",)
LIVE = ("in_session", "paused")


# --- creating -----------------------------------------------------------------------------------------------

def create_poll(meeting_id: int, *, title: str, secret: bool, rule: str | None, options: list[str] | None,
                max_choices: int, agenda_item_id: int | None, duration_seconds: int | None, allow_change: bool,
                actor: User) -> Poll:
    from meetings.agenda.models import AgendaItem

    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, PREPARE)
    if meeting.state not in ("draft", "published", *LIVE):
        raise Conflict(_("Polls are prepared before or during the meeting."))
    if agenda_item_id is not None:
        item = db.session.get(AgendaItem, agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            raise Unprocessable(_("Agenda item %(id)s is not on this meeting's agenda.", id=agenda_item_id))
    if options:
        labels = [o.strip() for o in options]
        if len(set(labels)) != len(labels) or any(not label for label in labels):
            raise Unprocessable(_("Each option needs a name, and no two options may have the same name."))
        opts = [{"key": f"o{n}", "label": label} for n, label in enumerate(labels, 1)]
        if max_choices > len(opts):
            raise Unprocessable(_("One may choose at most as many options as there are (%(n)s).", n=len(opts)))
    else:
        opts = DEFAULT_OPTIONS
        if max_choices != 1:
            raise Unprocessable(_("A yes / no / abstain vote has one choice."))
    poll = Poll(meeting_id=meeting.id, agenda_item_id=agenda_item_id, title=title, secret=secret, options=opts,
                max_choices=max_choices, rule=rule or meeting.body.default_vote_rule, duration_seconds=duration_seconds,
                allow_change=allow_change, created_by_id=actor.id)
    db.session.add(poll)
    db.session.flush()
    record_audit("poll.create", actor_id=actor.id, meeting_id=meeting.id,
                 data={"poll_id": poll.id, "title": title, "secret": secret, "rule": poll.rule, "options": opts})
    return poll


def load_poll(meeting: Meeting, poll_id: int, *, for_update: bool = False) -> Poll:
    stmt = sa.select(Poll).where(Poll.id == poll_id)
    if for_update:
        stmt = stmt.with_for_update()
    poll = db.session.execute(stmt).scalar_one_or_none()
    if poll is None or poll.meeting_id != meeting.id:
        raise NotFound(_("Poll %(id)s does not exist in this meeting.", id=poll_id))
    return poll


# --- opening: the eligibility snapshot --------------------------------------------------------------------

def _rights(meeting: Meeting) -> tuple[list[PollRight], dict[str, Any] | None]:
    """Who may vote now: voting members present in the open session (all voting members when attendance is
    not taken), and for each absent member whose proxy holder is present, a right cast by the holder."""
    voters = [p for p in meeting.participants if p.can_vote]
    session = current_session(meeting)
    taking_attendance = session is not None and session.state == "open" and db.session.execute(
        sa.select(RollCall.id).where(RollCall.session_id == session.id)).first() is not None
    if not taking_attendance:
        return [PollRight(for_participant_id=p.id, caster_participant_id=p.id, weight=p.vote_weight)
                for p in voters], None
    present = set(db.session.execute(sa.select(Attendance.participant_id).where(
        Attendance.session_id == session.id, Attendance.checked_in_at.is_not(None),
        Attendance.checked_out_at.is_(None))).scalars())
    by_id = {p.id: p for p in voters}
    rights = [PollRight(for_participant_id=p.id, caster_participant_id=p.id, weight=p.vote_weight)
              for p in voters if p.id in present]
    proxies = db.session.execute(sa.select(Proxy).where(Proxy.session_id == session.id,
                                                        Proxy.ended_at.is_(None))).scalars()
    for proxy in proxies:
        giver = by_id.get(proxy.giver_id)
        if giver is not None and giver.id not in present and proxy.holder_id in present:
            rights.append(PollRight(for_participant_id=giver.id, caster_participant_id=proxy.holder_id,
                                    weight=giver.vote_weight))
    return rights, quorum(meeting, session)


def open_poll(meeting_id: int, poll_id: int, *, actor: User) -> tuple[Poll, list[str]]:
    """Open a draft poll (chair): the snapshot of who may vote is taken now. Returns the poll and warnings."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, RUN)
    poll = load_poll(meeting, poll_id, for_update=True)
    if poll.state != "draft":
        raise Conflict(_("Only a draft poll can be opened."), extra={"state": poll.state})
    if meeting.state != "in_session":
        raise Conflict(_("Votes are taken while the meeting is in session."), extra={"state": meeting.state})
    if db.session.execute(sa.select(Poll.id).where(Poll.meeting_id == meeting.id, Poll.state == "open")).first():
        raise Conflict(_("Another poll is open; close it first."))
    rights, quorum_now = _rights(meeting)
    warnings = []
    if quorum_now is not None and not quorum_now["has_quorum"]:
        if not meeting.body.polls_without_quorum:
            raise Conflict(_("The meeting has no quorum (%(counted)s of %(required)s needed): the vote cannot be "
                             "opened.", counted=quorum_now["counted"], required=quorum_now["required"]))
        warnings.append(_("The meeting has no quorum (%(counted)s of %(required)s needed).",
                          counted=quorum_now["counted"], required=quorum_now["required"]))
    if not rights:
        raise Conflict(_("Nobody may vote: no voting member is present."))
    for right in rights:
        right.poll_id = poll.id
    db.session.add_all(rights)
    members = [p for p in meeting.participants if p.can_vote]
    now = utcnow()
    poll.state, poll.opened_at = "open", now
    poll.closes_at = now + timedelta(seconds=poll.duration_seconds) if poll.duration_seconds else None
    session = current_session(meeting)
    poll.session_id = session.id if session is not None and session.state == "open" else None
    poll.eligible_count, poll.eligible_weight = len(rights), sum((r.weight for r in rights), Decimal(0))
    poll.members_count, poll.members_weight = len(members), sum((p.vote_weight for p in members), Decimal(0))
    db.session.flush()
    record_audit("poll.open", actor_id=actor.id, meeting_id=meeting.id,
                 data={"poll_id": poll.id, "eligible": [[r.for_participant_id, r.caster_participant_id, str(r.weight)]
                                                        for r in rights], "warnings": warnings})
    emit_event(meeting.id, "poll.opened", {**poll_payload(poll), "rights": rights_payload(poll)})
    return poll, warnings


# --- closing and the result ---------------------------------------------------------------------------------

def _ballot_rows(poll: Poll) -> list[tuple[list[str], Decimal, str, int | None]]:
    if poll.secret:
        return [(c.choices, c.weight, c.receipt, None) for c in db.session.execute(
            sa.select(SecretChoice).where(SecretChoice.poll_id == poll.id).order_by(SecretChoice.receipt)).scalars()]
    return [(b.choices, b.weight, b.receipt, b.for_participant_id) for b in db.session.execute(
        sa.select(Ballot).where(Ballot.poll_id == poll.id).order_by(Ballot.for_participant_id)).scalars()]


def tally(poll: Poll) -> dict[str, Any]:
    """Counts and weights per option, and whether the motion passed under the poll's rule."""
    rows = _ballot_rows(poll)
    counts = {k: 0 for k in poll.option_keys}
    weights = {k: Decimal(0) for k in poll.option_keys}
    for choices, weight, _receipt, _who in rows:
        for choice in choices:
            counts[choice] += 1
            weights[choice] += weight
    result: dict[str, Any] = {"counts": counts, "weights": {k: format(v.normalize(), "f") for k, v in weights.items()},
                              "rule": poll.rule, "eligible": poll.eligible_count, "cast": len(rows),
                              "eligible_weight": format(poll.eligible_weight.normalize(), "f"),
                              "members": poll.members_count,
                              "members_weight": format(poll.members_weight.normalize(), "f")}
    result["passed"] = passed(poll.rule, weights, poll) if poll.option_keys == ["yes", "no", "abstain"] else None
    return result


def passed(rule: str, weights: dict[str, Decimal], poll: Poll) -> bool:
    yes, no = weights.get("yes", Decimal(0)), weights.get("no", Decimal(0))
    if rule == "simple":
        return yes > no
    if rule == "majority_present":
        return yes * 2 > poll.eligible_weight
    if rule == "majority_all":
        return yes * 2 > poll.members_weight
    if rule == "two_thirds_all":
        return yes * 3 >= poll.members_weight * 2
    raise ValueError(rule)


def close_poll(meeting_id: int, poll_id: int, *, actor: User | None) -> Poll:
    """Close an open poll (the chair, or the clock when its time is up): the result is final."""
    if actor is not None:
        meeting, roles = load_meeting(meeting_id, actor, for_update=True)
        require_role(roles, RUN)
    else:
        meeting = db.session.execute(sa.select(Meeting).where(Meeting.id == meeting_id).with_for_update()).scalar_one()
    poll = load_poll(meeting, poll_id, for_update=True)  # waits for the casts under way (FOR SHARE)
    if poll.state != "open":
        raise Conflict(_("Only an open poll can be closed."), extra={"state": poll.state})
    poll.state, poll.closed_at = "closed", utcnow()
    poll.result = tally(poll)
    if poll.secret:
        _rewrite_in_key_order(poll)
    seal = hashlib.sha256(json.dumps([[r[2], r[0], str(r[1]), r[3]] for r in _ballot_rows(poll)],
                                     sort_keys=True).encode()).hexdigest()
    poll.result = {**poll.result, "ballots_sha256": seal}
    db.session.flush()
    record_audit("poll.close", actor_id=actor.id if actor else None, meeting_id=meeting.id,
                 data={"poll_id": poll.id, "result": poll.result, "by": "chair" if actor else "clock"})
    emit_event(meeting.id, "poll.closed", {**poll_payload(poll), "result": poll.result})
    return poll


def _rewrite_in_key_order(poll: Poll) -> None:
    """Secret ballots: rewrite both tables' rows in key order, so their physical order says nothing."""
    voters = list(db.session.execute(sa.select(SecretVoter).where(SecretVoter.poll_id == poll.id)).scalars())
    choices = list(db.session.execute(sa.select(SecretChoice).where(SecretChoice.poll_id == poll.id)).scalars())
    rows_v = sorted(((v.for_participant_id, v.key_hash, v.sealed_receipt) for v in voters))
    rows_c = sorted(((c.receipt, c.choices, c.weight) for c in choices))
    for row in (*voters, *choices):
        db.session.expunge(row)
    db.session.execute(sa.delete(SecretVoter).where(SecretVoter.poll_id == poll.id))
    db.session.execute(sa.delete(SecretChoice).where(SecretChoice.poll_id == poll.id))
    for pid, key_hash, sealed in rows_v:
        db.session.execute(sa.insert(SecretVoter).values(poll_id=poll.id, for_participant_id=pid, key_hash=key_hash,
                                                         sealed_receipt=sealed))
    for receipt, chosen, weight in rows_c:
        db.session.execute(sa.insert(SecretChoice).values(receipt=receipt, poll_id=poll.id, choices=chosen,
                                                          weight=weight))


def close_due_polls() -> list[tuple[int, int]]:
    """Close every open poll whose time is up (the sweeper calls this); returns (meeting_id, poll_id) closed."""
    due = list(db.session.execute(sa.select(Poll.meeting_id, Poll.id).where(
        Poll.state == "open", Poll.closes_at.is_not(None), Poll.closes_at <= utcnow())).all())
    closed = []
    db.session.rollback()
    for meeting_id, poll_id in due:
        try:
            begin_write()
            close_poll(meeting_id, poll_id, actor=None)
            db.session.commit()
            closed.append((meeting_id, poll_id))
        except Conflict:
            db.session.rollback()  # closed by the chair or another worker meanwhile
    return closed


# --- reading ------------------------------------------------------------------------------------------------

def poll_payload(poll: Poll) -> dict[str, Any]:
    return {"poll_id": poll.id, "title": poll.title, "secret": poll.secret, "options": poll.options,
            "max_choices": poll.max_choices, "rule": poll.rule, "state": poll.state,
            "agenda_item_id": poll.agenda_item_id, "allow_change": poll.allow_change,
            "opened_at": to_local_iso(poll.opened_at), "closes_at": to_local_iso(poll.closes_at),
            "closed_at": to_local_iso(poll.closed_at), "eligible": poll.eligible_count}


def rights_payload(poll: Poll, caster_user_id: int | None = None) -> list[dict[str, Any]]:
    """Who casts which ballot in an open poll (public: who may vote is no secret), so a tablet knows its own;
    with ``caster_user_id``, only the ballots that user casts (a tablet's snapshot: 500 tablets joining at once
    would otherwise each read all 500 rights)."""
    caster = sa.orm.aliased(Participant)
    owner = sa.orm.aliased(Participant)
    stmt = sa.select(owner.user_id, User.full_name, caster.user_id).select_from(PollRight) \
        .join(owner, owner.id == PollRight.for_participant_id) \
        .join(caster, caster.id == PollRight.caster_participant_id) \
        .join(User, User.id == owner.user_id) \
        .where(PollRight.poll_id == poll.id).order_by(owner.user_id)
    if caster_user_id is not None:
        stmt = stmt.where(caster.user_id == caster_user_id)
    rows = db.session.execute(stmt).all()
    return [{"for_user_id": o, "full_name": name, "caster_user_id": c} for o, name, c in rows]


def polls_payload(meeting: Meeting, user_id: int) -> list[dict[str, Any]]:
    """For a tablet's snapshot: the open poll (with the viewer's ballots) and the closed ones with results."""
    out = []
    for poll in db.session.execute(sa.select(Poll).where(Poll.meeting_id == meeting.id, Poll.state != "draft")
                                   .order_by(Poll.id)).scalars():
        item = poll_payload(poll)
        if poll.state == "open":
            item.update(rights=rights_payload(poll, caster_user_id=user_id), progress={"cast": cast_count(poll), "eligible": poll.eligible_count,
                        **({"counts": tally(poll)["counts"]} if not poll.secret else {})},
                        my_ballots=my_rights(poll, user_id) if user_id else [])
        else:
            item["result"] = poll.result
        out.append(item)
    return out


def cast_count(poll: Poll) -> int:
    table = SecretVoter if poll.secret else Ballot
    return db.session.execute(sa.select(sa.func.count()).select_from(table).where(table.poll_id == poll.id)).scalar_one()


def live_tally(poll: Poll) -> dict[str, Any]:
    """While open: the count of ballots; for named polls also the running counts per option."""
    payload = {"poll_id": poll.id, "cast": cast_count(poll), "eligible": poll.eligible_count}
    if not poll.secret:
        payload["counts"] = tally(poll)["counts"]
    return payload


def named_list(poll: Poll) -> list[dict[str, Any]]:
    """After a named poll closes: who chose what."""
    rows = db.session.execute(sa.select(Ballot, Participant).join(Participant, Participant.id == Ballot.for_participant_id)
                              .where(Ballot.poll_id == poll.id)).all()
    return sorted(({"user_id": p.user_id, "full_name": p.user.full_name, "choices": b.choices,
                    "weight": format(b.weight.normalize(), "f"),
                    "by_proxy": b.cast_by_participant_id != b.for_participant_id} for b, p in rows),
                  key=lambda r: r["full_name"])


def receipts(poll: Poll) -> list[dict[str, Any]]:
    """After a poll closes: every receipt and its choices (sorted by receipt), for everyone to check theirs."""
    return [{"receipt": r[2], "choices": r[0]} for r in sorted(_ballot_rows(poll), key=lambda r: r[2])]


def my_rights(poll: Poll, user_id: int) -> list[dict[str, Any]]:
    """The ballots this user casts in an open poll (their own, and proxies), and whether each is cast."""
    me = participant_of(poll.meeting_id, user_id)
    if me is None:
        return []
    rights = db.session.execute(sa.select(PollRight).where(PollRight.poll_id == poll.id,
                                                           PollRight.caster_participant_id == me.id)).scalars()
    out = []
    for right in rights:
        owner = db.session.get(Participant, right.for_participant_id)
        table = SecretVoter if poll.secret else Ballot
        done = db.session.execute(sa.select(sa.literal(1)).select_from(table).where(
            table.poll_id == poll.id, table.for_participant_id == owner.id)).first() is not None
        out.append({"for_user_id": owner.user_id, "full_name": owner.user.full_name, "proxy": owner.id != me.id,
                    "cast": done})
    return out
