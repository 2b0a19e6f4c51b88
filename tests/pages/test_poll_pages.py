"""Votes on the live pages through the Flask test client, on both databases: what each page carries for
static/js/live/polls.js (the block, its API address and translations), the chair's form only on the console,
and the snapshot a tablet starts from: the open poll with who casts which ballot and the viewer's own ballots,
and for a secret poll the number of ballots only."""
from __future__ import annotations

import html
import json
import re

import pytest

from meetings.core.tx import commit
from meetings.meeting.operations import create_display
from meetings.voting import operations as ops
from tests.pages.test_live_pages import live_data
from tests.pages.test_pages import PageClient, english, sign_in

I18N = re.compile(r'<script type="application/json" data-polls-i18n>(.*?)</script>', re.S)
RULES = ("simple", "majority_present", "majority_all", "two_thirds_all")


@pytest.fixture
def new_client(app):
    app.test_client_class = PageClient

    def make(user=None) -> PageClient:
        client = app.test_client()
        if user is not None:
            sign_in(client, user)
        return english(client)
    return make


def page(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return html.unescape(resp.get_data(as_text=True))


def polls_i18n(text: str) -> dict:
    found = I18N.findall(text)
    assert len(found) == 1, "one polls block with its translations per page"
    return json.loads(found[0])


def open_poll(meeting, world, *, secret: bool) -> int:
    poll = ops.create_poll(meeting.id, title="Thông qua Nghị quyết", secret=secret, rule="simple", options=None,
                           max_choices=1, agenda_item_id=None, duration_seconds=None, allow_change=False,
                           actor=world.chair)
    ops.open_poll(meeting.id, poll.id, actor=world.chair)
    commit()
    return poll.id


def test_the_console_carries_the_form_the_list_and_the_translations(new_client, world):
    meeting = world.meeting("in_session")
    text = page(new_client(world.chair).get(f"/meetings/{meeting.id}/console"))
    assert 'data-testid="polls" data-mode="console"' in text
    assert f'data-url="/api/v1/meetings/{meeting.id}/polls"' in text
    assert f'data-user-id="{world.chair.id}"' in text and 'data-can-run="true"' in text
    assert 'data-testid="poll-form"' in text and 'data-testid="poll-list"' in text
    for rule in RULES:
        assert f'<option value="{rule}">' in text
    t = polls_i18n(text)
    assert set(t["rules"]) == set(RULES)
    assert t["rules"]["two_thirds_all"] == "Two thirds of all delegates"
    assert t["passed"] == "PASSED" and t["rejected"] == "NOT PASSED"
    assert "{cast}" in t["progress"] and "{eligible}" in t["progress"] and "{name}" in t["proxyBallot"]


def test_the_tablet_has_the_ballot_panel_and_no_form(new_client, world):
    meeting = world.meeting("in_session")
    for who in (world.delegate, world.guest):
        text = page(new_client(who).get(f"/meetings/{meeting.id}/live"))
        assert 'data-testid="polls" data-mode="tablet"' in text
        assert 'data-testid="ballot-overlay"' in text and 'data-testid="poll-card"' in text
        assert 'data-testid="poll-form"' not in text and 'data-testid="poll-open"' not in text
        assert f'data-user-id="{who.id}"' in text
        assert polls_i18n(text)["recorded"] == "Recorded"


def test_the_display_has_the_poll_block_hidden_until_a_vote(new_client, world):
    meeting = world.meeting("in_session")
    token, _display = create_display(meeting.id, "Máy chiếu", actor=world.secretary)
    commit()
    text = page(new_client().get(f"/display/{token}"))
    block = re.search(r'<section class="display-polls polls"[^>]*>', text).group(0)
    assert 'data-mode="display"' in block and " hidden" in block
    assert 'data-testid="poll-verdict"' in text and 'data-testid="poll-bars"' in text
    assert "PASSED" in json.dumps(polls_i18n(text))


def test_a_tablet_starts_with_the_open_poll_and_its_own_ballot(new_client, world):
    meeting = world.meeting("in_session")
    poll_id = open_poll(meeting, world, secret=False)
    polls = live_data(new_client(world.delegate).get(f"/meetings/{meeting.id}/live"))["initial"]["snapshot"]["polls"]
    assert [p["poll_id"] for p in polls] == [poll_id]
    poll = polls[0]
    assert poll["state"] == "open" and [o["key"] for o in poll["options"]] == ["yes", "no", "abstain"]
    assert poll["rights"] == [{"for_user_id": world.delegate.id, "full_name": world.delegate.full_name,
                               "caster_user_id": world.delegate.id}]  # the snapshot carries only its own
    assert poll["my_ballots"] == [{"for_user_id": world.delegate.id, "full_name": world.delegate.full_name,
                                   "proxy": False, "cast": False}]
    assert poll["progress"] == {"cast": 0, "eligible": 3, "counts": {"yes": 0, "no": 0, "abstain": 0}}
    guest = live_data(new_client(world.guest).get(f"/meetings/{meeting.id}/live"))["initial"]["snapshot"]["polls"]
    assert guest[0]["my_ballots"] == []  # a guest follows the vote, with no ballot to cast


def test_a_secret_poll_shows_only_the_number_of_ballots(new_client, world):
    meeting = world.meeting("in_session")
    open_poll(meeting, world, secret=True)
    for who, path in ((world.delegate, f"/meetings/{meeting.id}/live"), (world.chair, f"/meetings/{meeting.id}/console")):
        poll = live_data(new_client(who).get(path))["initial"]["snapshot"]["polls"][0]
        assert poll["secret"] is True and poll["progress"] == {"cast": 0, "eligible": 3}
