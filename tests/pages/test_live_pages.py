"""The live pages (chair console, delegate tablet, hall display) through the Flask test client, on both databases.

Who may open which page, what each page embeds for its script (the meeting id, the snapshot and its seq, a
socket token that really connects), the links into the live room, and no 500 for bad ids or tokens.
"""
from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest

from meetings.bodies.operations import add_body_member
from meetings.bodies.schemas import BodyMemberIn
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import Meeting
from meetings.meeting.operations import add_participant, transition_meeting
from meetings.meeting.schemas import ParticipantIn
from meetings.realtime.tickets import read_ticket
from tests.pages.test_pages import PageClient, sign_in

LIVE_DATA = re.compile(r'<script type="application/json" id="live-data">(.*?)</script>', re.S)


@pytest.fixture
def new_client(app):
    app.test_client_class = PageClient

    def make(user=None) -> PageClient:
        client = app.test_client()
        return sign_in(client, user) if user is not None else client
    return make


def live_data(resp) -> dict:
    found = LIVE_DATA.search(resp.get_data(as_text=True))
    assert found, "the page has no live-data block"
    return json.loads(found.group(1))


def page(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def last_seq(meeting_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Meeting, meeting_id).last_seq


# --- who may open which page -------------------------------------------------------------------------------

def test_only_the_chair_opens_the_console(new_client, world):
    meeting = world.meeting("published")
    assert new_client(world.chair).get(f"/meetings/{meeting.id}/console").status_code == 200
    for who in (world.delegate, world.guest, world.secretary, world.approver, world.admin):
        resp = new_client(who).get(f"/meetings/{meeting.id}/console")
        assert resp.status_code == 403, who.full_name
        assert 'data-testid="error"' in page(resp)
    assert new_client(world.outsider).get(f"/meetings/{meeting.id}/console").status_code == 404
    resp = new_client().get(f"/meetings/{meeting.id}/console")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")


def test_every_participant_opens_the_tablet_view(new_client, world):
    meeting = world.meeting("in_session")
    for who in (world.chair, world.delegate, world.delegate2, world.guest, world.secretary, world.approver):
        resp = new_client(who).get(f"/meetings/{meeting.id}/live")
        assert resp.status_code == 200, who.full_name
        assert 'data-testid="live-tablet"' in page(resp)
    assert new_client(world.outsider).get(f"/meetings/{meeting.id}/live").status_code == 404
    resp = new_client().get(f"/meetings/{meeting.id}/live")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")


def test_a_meeting_that_is_not_live_has_no_live_pages(new_client, world):
    draft = world.meeting("draft")
    for path in (f"/meetings/{draft.id}/live", f"/meetings/{draft.id}/console"):
        assert new_client(world.delegate).get(path).status_code == 404  # a draft is invisible to a delegate
        assert new_client(world.chair).get(path).status_code == 404
        assert new_client(world.secretary).get(path).status_code == 409  # visible to its secretary, not live
    closed = world.meeting("closed")
    assert new_client(world.delegate).get(f"/meetings/{closed.id}/live").status_code == 409
    assert new_client(world.chair).get(f"/meetings/{closed.id}/console").status_code == 409
    adjourned = world.meeting("adjourned")  # the room still shows how the meeting ended
    assert new_client(world.delegate).get(f"/meetings/{adjourned.id}/live").status_code == 200
    assert new_client(world.chair).get(f"/meetings/{adjourned.id}/console").status_code == 200


def test_bad_ids_and_tokens_are_404_never_500(new_client, world):
    world.meeting("published")
    client = new_client(world.chair)
    for path in ("/meetings/0/live", "/meetings/0/console", "/meetings/2147483648/live",
                 "/meetings/99999999999999/console", "/meetings/abc/live", "/meetings/%D9%A1/console",
                 "/meetings/424242/live", "/meetings/424242/console",
                 "/display/", "/display/dt.", "/display/dt.not-a-token", "/display/pt.abc", "/display/%00",
                 "/display/dt." + "x" * 5000):
        assert client.get(path).status_code == 404, path
        assert new_client().get(path).status_code in (302, 404), path


# --- what the pages embed -----------------------------------------------------------------------------------

def test_the_pages_embed_the_meeting_a_snapshot_and_a_socket_ticket(app, new_client, world):
    meeting = world.meeting("in_session", items=3)
    for user, path in ((world.chair, f"/meetings/{meeting.id}/console"), (world.delegate, f"/meetings/{meeting.id}/live")):
        resp = new_client(user).get(path)
        assert resp.headers["Cache-Control"] == "no-store"
        data = live_data(resp)
        assert data["meetingId"] == meeting.id
        assert f'data-meeting-id="{meeting.id}"' in page(resp)
        assert data["initial"]["seq"] == last_seq(meeting.id)
        snapshot = data["initial"]["snapshot"]
        assert snapshot["meeting"]["state"] == "in_session"
        assert [i["title"] for i in snapshot["agenda"]["items"]] == ["Nội dung 1", "Nội dung 2", "Nội dung 3"]
        assert data["token"].startswith("pt.") and read_ticket(data["token"])[0] == user.id
        assert data["serverNow"] and data["ticketUrl"] == "/live/ticket"

        # The ticket opens the socket and joins the room; a join from the page's seq misses nothing.
        socket = app.extensions["socketio"].test_client(app, auth={"token": data["token"]})
        assert socket.is_connected()
        ack = socket.emit("join", {"meeting_id": meeting.id, "last_seq": data["initial"]["seq"]}, callback=True)
        assert ack["seq"] == data["initial"]["seq"] and ack["events"] == []
        socket.disconnect()


def test_the_console_offers_only_the_transitions_the_server_allows(new_client, world):
    meeting = world.meeting("published")
    actions = live_data(new_client(world.chair).get(f"/meetings/{meeting.id}/console"))["actionsByState"]
    assert actions["published"] == ["start"]
    assert actions["in_session"] == ["pause", "adjourn"]
    assert actions["paused"] == ["resume", "adjourn"]
    assert actions["adjourned"] == [] and actions["draft"] == []


def test_a_page_left_open_gets_a_fresh_ticket(new_client, world):
    client = new_client(world.delegate)
    resp = client.get("/live/ticket")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert read_ticket(resp.json["token"])[0] == world.delegate.id
    resp = new_client().get("/live/ticket")
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"


# --- the hall display ---------------------------------------------------------------------------------------

def test_a_hall_display_opens_with_its_token_until_revoked(new_client, world):
    meeting = world.meeting("in_session")
    secretary = new_client(world.secretary)
    page_path = f"/meetings/{meeting.id}"
    resp = secretary.api("POST", f"/api/v1/meetings/{meeting.id}/displays", {"label": "Máy chiếu"}, page=page_path)
    assert resp.status_code == 201, resp.json
    token, display_id = resp.json["token"], resp.json["id"]

    anonymous = new_client()
    resp = anonymous.get(f"/display/{token}")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    data = live_data(resp)
    assert data["meetingId"] == meeting.id and data["token"] == token
    assert data["initial"]["snapshot"]["meeting"]["title"] == meeting.title
    assert 'data-testid="display"' in page(resp) and meeting.title in page(resp)

    assert secretary.api("DELETE", f"/api/v1/meetings/{meeting.id}/displays/{display_id}",
                         page=page_path).status_code == 204
    assert anonymous.get(f"/display/{token}").status_code == 404
    assert anonymous.get(f"/display/{token[:-2]}").status_code == 404


# --- links into the live room -------------------------------------------------------------------------------

def test_the_meeting_page_links_to_the_live_room(new_client, world):
    meeting = world.meeting("published")
    chair = page(new_client(world.chair).get(f"/meetings/{meeting.id}"))
    assert f'href="/meetings/{meeting.id}/console"' in chair and f'href="/meetings/{meeting.id}/live"' in chair
    delegate = page(new_client(world.delegate).get(f"/meetings/{meeting.id}"))
    assert 'data-testid="live-links"' in delegate
    assert f'href="/meetings/{meeting.id}/live"' in delegate and "/console" not in delegate
    assert 'data-testid="display-box"' not in delegate and 'data-testid="display-box"' not in chair

    secretary = page(new_client(world.secretary).get(f"/meetings/{meeting.id}"))  # the editor
    assert 'id="editor"' in secretary
    assert 'data-testid="display-box"' in secretary and "js/live/displays.js" in secretary
    assert f'href="/meetings/{meeting.id}/live"' in secretary

    transition_meeting(meeting.id, "start", actor=world.chair)
    commit()
    home = page(new_client(world.delegate).get("/"))
    assert 'data-testid="live-shortcut"' in home and f'href="/meetings/{meeting.id}/live"' in home

    draft = world.meeting("draft")
    assert 'data-testid="live-links"' not in page(new_client(world.secretary).get(f"/meetings/{draft.id}"))
    approved = world.meeting("approved")  # the secretary reads it (frozen) and may already prepare the projector
    view = page(new_client(world.secretary).get(f"/meetings/{approved.id}"))
    assert 'id="editor"' not in view and 'data-testid="display-box"' in view


def test_the_console_shows_the_display_box_only_to_a_chair_who_is_also_secretary(new_client, world):
    meeting = world.meeting("published")
    assert 'data-testid="display-box"' not in page(new_client(world.chair).get(f"/meetings/{meeting.id}/console"))
    # A body's secretary who chairs this meeting: participant role chair plus the standing secretary role.
    add_participant(meeting.id, ParticipantIn(user_id=world.outsider.id, role="chair", vote_weight=Decimal(1)),
                    actor=world.secretary)
    add_body_member(world.body, BodyMemberIn(user_id=world.outsider.id, role="secretary"), actor=None)
    commit()
    resp = new_client(world.outsider).get(f"/meetings/{meeting.id}/console")
    assert resp.status_code == 200 and 'data-testid="display-box"' in page(resp)
