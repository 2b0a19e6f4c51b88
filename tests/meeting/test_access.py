"""Who sees which meeting (meetings.meeting.access): by load, by list, and over REST."""
from __future__ import annotations

import pytest

from meetings.core.errors import NotFound
from meetings.extensions import db
from meetings.meeting.access import load_meeting, meeting_roles, visible_meetings_stmt
from meetings.meeting.models import PUBLIC_STATES, STATES

ALWAYS = ("secretary", "approver", "admin")
FROM_PUBLISHED = ("chair", "delegate", "delegate2", "guest")


@pytest.fixture
def meetings_by_state(world):
    return {state: world.meeting(state) for state in STATES}


def visible_ids(user) -> set[int]:
    return {m.id for m in db.session.execute(visible_meetings_stmt(user)).scalars()}


def test_visibility_matrix(world, other_world, meetings_by_state):
    for who in ALWAYS + FROM_PUBLISHED + ("outsider",):
        user = getattr(world, who)
        expected = {m.id for state, m in meetings_by_state.items()
                    if who in ALWAYS or (who in FROM_PUBLISHED and state in PUBLIC_STATES)}
        assert visible_ids(user) == expected, who
        for state, meeting in meetings_by_state.items():
            if meeting.id in expected:
                assert load_meeting(meeting.id, user)[0] is meeting
            else:
                with pytest.raises(NotFound):
                    load_meeting(meeting.id, user)
    # Another body's staff see none of this body's meetings, and this body's staff none of theirs.
    assert visible_ids(other_world.secretary) == set()
    theirs = other_world.meeting("published")
    assert theirs.id not in visible_ids(world.secretary) | visible_ids(world.approver) | visible_ids(world.delegate)
    assert theirs.id in visible_ids(world.admin)


def test_effective_roles(world):
    meeting = world.meeting("published")
    assert meeting_roles(meeting, world.secretary) == {"secretary"}
    assert meeting_roles(meeting, world.approver) == {"approver"}
    assert meeting_roles(meeting, world.chair) == {"chair"}
    assert meeting_roles(meeting, world.admin) == {"admin"}
    assert meeting_roles(meeting, world.outsider) == frozenset()


def test_list_endpoint_is_filtered_and_paged(client, world, other_world, token_for, meetings_by_state):
    other_world.meeting("published")
    resp = client.get("/api/v1/meetings?limit=3", headers=token_for(world.delegate))
    assert resp.status_code == 200
    assert resp.json["total"] == len(PUBLIC_STATES)
    assert len(resp.json["items"]) == 3
    public_ids = {meetings_by_state[s].id for s in PUBLIC_STATES}
    every = client.get("/api/v1/meetings", headers=token_for(world.delegate)).json["items"]
    assert {m["id"] for m in every} == public_ids
    assert all(m["my_roles"] == ["delegate"] for m in every)

    resp = client.get("/api/v1/meetings?state=draft", headers=token_for(world.secretary))
    assert [m["id"] for m in resp.json["items"]] == [meetings_by_state["draft"].id]
    assert resp.json["items"][0]["available_actions"] == ["submit"]
    resp = client.get(f"/api/v1/meetings?body_id={other_world.body.id}", headers=token_for(world.secretary))
    assert resp.json == {"items": [], "total": 0}
    assert client.get("/api/v1/meetings", headers=token_for(world.outsider)).json == {"items": [], "total": 0}
    assert client.get("/api/v1/meetings", headers=token_for(world.admin)).json["total"] == len(STATES) + 1


def test_available_actions_depend_on_the_callers_roles(client, world, token_for):
    meeting = world.meeting("submitted")
    get = lambda who: client.get(f"/api/v1/meetings/{meeting.id}", headers=token_for(getattr(world, who))).json  # noqa: E731
    assert get("approver")["available_actions"] == ["reject", "approve"]
    assert get("secretary")["available_actions"] == []
    world.advance(meeting, "in_session")
    assert get("chair")["available_actions"] == ["pause", "adjourn"]
    assert get("delegate")["available_actions"] == []


def test_roles_by_meeting_agrees_with_meeting_roles_for_everyone(world, other_world):
    from meetings.meeting.access import meeting_roles, roles_by_meeting

    meetings = [world.meeting("draft"), world.meeting("published"), other_world.meeting("submitted")]
    people = [world.secretary, world.approver, world.chair, world.delegate, world.guest, world.outsider,
              world.admin, other_world.secretary]
    for user in people:
        batched = roles_by_meeting(meetings, user)
        assert batched == {m.id: meeting_roles(m, user) for m in meetings}, user.full_name
    assert roles_by_meeting(meetings, world.secretary)[meetings[0].id] == {"secretary"}
    assert roles_by_meeting(meetings, world.admin)[meetings[2].id] == {"admin"}
    assert roles_by_meeting([], world.chair) == {}
