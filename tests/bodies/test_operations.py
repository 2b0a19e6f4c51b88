"""Bodies and their standing members (meetings.bodies.operations) and the /bodies endpoints."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from meetings.bodies.models import Body, BodyMember
from meetings.bodies.operations import add_body_member, create_body, load_body, remove_body_member, update_body
from meetings.bodies.schemas import BodyCreate, BodyMemberIn, BodyPatch
from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import commit
from meetings.extensions import db
from tests.fixtures.factories import assert_refused as refused, audit_trail


def last_entry():
    return audit_trail(None)[-1]


# --- create_body -------------------------------------------------------------------------------------------

def test_create_body_stores_it_and_audits(world):
    body = create_body(BodyCreate(name="Ủy ban nhân dân tỉnh", short_name="UBND", kind="committee",
                                  quorum_rule="fixed", quorum_fixed=12, default_vote_rule="simple"),
                       actor=world.admin)
    commit()
    db.session.expire_all()
    stored = db.session.get(Body, body.id)
    assert (stored.name, stored.short_name, stored.kind, stored.quorum_rule, stored.quorum_fixed,
            stored.default_vote_rule) == ("Ủy ban nhân dân tỉnh", "UBND", "committee", "fixed", 12, "simple")
    assert (last_entry().action, last_entry().actor_id, last_entry().data) == (
        "body.create", world.admin.id, {"body_id": body.id, "name": "Ủy ban nhân dân tỉnh"})


def test_create_body_is_for_admins(world):
    refused(Forbidden, create_body, BodyCreate(name="Ban mới"), actor=world.secretary)


def test_create_body_refuses_a_duplicate_name_in_any_case(world):
    refused(Conflict, create_body, BodyCreate(name=world.body.name.upper()), actor=world.admin)


def test_fixed_quorum_needs_a_number(world):
    refused(Unprocessable, create_body, BodyCreate(name="Ban X", quorum_rule="fixed"), actor=world.admin)


# --- update_body -------------------------------------------------------------------------------------------

def test_update_body_changes_only_the_given_fields(world):
    update_body(world.body, BodyPatch(short_name="HĐND", quorum_rule="two_thirds"), actor=world.admin)
    commit()
    db.session.expire_all()
    body = db.session.get(Body, world.body.id)
    assert (body.short_name, body.quorum_rule, body.kind) == ("HĐND", "two_thirds", "other")
    assert (last_entry().action, last_entry().data) == (
        "body.update", {"body_id": body.id, "fields": ["quorum_rule", "short_name"]})


def test_update_body_is_for_admins(world):
    refused(Forbidden, update_body, world.body, BodyPatch(short_name="X"), actor=world.secretary)


def test_update_body_refuses_another_bodys_name_and_a_fixed_quorum_without_number(world, other_world):
    refused(Conflict, update_body, world.body, BodyPatch(name=other_world.body.name), actor=world.admin)
    refused(Unprocessable, update_body, world.body, BodyPatch(quorum_rule="fixed"), actor=world.admin)
    update_body(world.body, BodyPatch(name=world.body.name), actor=world.admin)  # its own name is fine


# --- members -----------------------------------------------------------------------------------------------

def test_add_body_member_stores_it_and_audits(world):
    member = add_body_member(world.body, BodyMemberIn(user_id=world.delegate.id, role="member"), actor=world.admin)
    commit()
    stored = db.session.get(BodyMember, member.id)
    assert (stored.body_id, stored.user_id, stored.role) == (world.body.id, world.delegate.id, "member")
    assert (last_entry().action, last_entry().data) == (
        "body.member_add", {"body_id": world.body.id, "user_id": world.delegate.id, "role": "member"})


def test_add_body_member_refusals(world):
    refused(Forbidden, add_body_member, world.body, BodyMemberIn(user_id=world.delegate.id, role="member"),
            actor=world.secretary)
    refused(Unprocessable, add_body_member, world.body, BodyMemberIn(user_id=99999, role="member"),
            actor=world.admin)
    refused(Conflict, add_body_member, world.body, BodyMemberIn(user_id=world.secretary.id, role="approver"),
            actor=world.admin)


def test_remove_body_member_deletes_it_and_audits(world):
    member = db.session.execute(sa.select(BodyMember).where(BodyMember.user_id == world.approver.id)).scalar_one()
    remove_body_member(world.body, member.id, actor=world.admin)
    commit()
    assert db.session.get(BodyMember, member.id) is None
    assert (last_entry().action, last_entry().data) == (
        "body.member_remove", {"body_id": world.body.id, "user_id": world.approver.id, "role": "approver"})
    # Losing the standing role takes the approver's access to the body's drafts with it.
    meeting = world.meeting("draft")
    with pytest.raises(NotFound):
        load_body(world.body.id, actor=world.approver)
    from meetings.meeting.access import load_meeting
    with pytest.raises(NotFound):
        load_meeting(meeting.id, world.approver)


def test_remove_body_member_refusals(world, other_world):
    member = db.session.execute(sa.select(BodyMember).where(BodyMember.user_id == world.approver.id)).scalar_one()
    refused(Forbidden, remove_body_member, world.body, member.id, actor=world.secretary)
    refused(NotFound, remove_body_member, other_world.body, member.id, actor=world.admin)  # not that body's
    refused(NotFound, remove_body_member, world.body, 999999, actor=world.admin)


# --- REST --------------------------------------------------------------------------------------------------

def test_bodies_list_shows_only_the_callers_bodies(client, world, other_world, token_for):
    resp = client.get("/api/v1/bodies", headers=token_for(world.secretary))
    assert resp.status_code == 200
    assert [b["id"] for b in resp.json["items"]] == [world.body.id] and resp.json["total"] == 1
    members = {(m["user_id"], m["role"]) for m in resp.json["items"][0]["members"]}
    assert members == {(world.secretary.id, "secretary"), (world.approver.id, "approver")}
    assert client.get("/api/v1/bodies", headers=token_for(world.delegate)).json == {"items": [], "total": 0}
    assert client.get("/api/v1/bodies", headers=token_for(world.admin)).json["total"] == 2
    assert client.get(f"/api/v1/bodies/{other_world.body.id}", headers=token_for(world.secretary)).status_code == 404
    assert client.get(f"/api/v1/bodies/{world.body.id}", headers=token_for(world.secretary)).status_code == 200


def test_bodies_rest_round_trip(client, world, token_for):
    admin = token_for(world.admin)
    resp = client.post("/api/v1/bodies", json={"name": "Hội đồng quản trị", "kind": "board"}, headers=admin)
    assert resp.status_code == 201
    body_id = resp.json["id"]
    resp = client.patch(f"/api/v1/bodies/{body_id}", json={"quorum_rule": "fixed", "quorum_fixed": 4}, headers=admin)
    assert resp.status_code == 200 and resp.json["quorum_fixed"] == 4
    resp = client.post(f"/api/v1/bodies/{body_id}/members", json={"user_id": world.chair.id, "role": "member"},
                       headers=admin)
    assert resp.status_code == 201 and [m["user_id"] for m in resp.json["members"]] == [world.chair.id]
    member_id = resp.json["members"][0]["id"]
    # A standing member who is not admin can read the body but not change it.
    chair = token_for(world.chair)
    assert client.get(f"/api/v1/bodies/{body_id}", headers=chair).status_code == 200
    assert client.patch(f"/api/v1/bodies/{body_id}", json={"kind": "other"}, headers=chair).status_code == 403
    assert client.delete(f"/api/v1/bodies/{body_id}/members/{member_id}", headers=chair).status_code == 403
    assert client.delete(f"/api/v1/bodies/{body_id}/members/{member_id}", headers=admin).status_code == 204
    assert db.session.get(BodyMember, member_id) is None
