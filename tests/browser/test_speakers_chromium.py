"""The speakers' queue in the real Chromium against the real server with the demo loaded.

Three delegates ask for the floor from their tablets (a speech, a question, a point of order); the chair's
console lists the point of order first; the chair gives the floor three times in turn; the projector shows
the current speaker with a countdown that runs, and the next ones; the speaker's tablet shows the big
countdown. A delegate's tablet offers no "give the floor". Screenshots: test-output/browser/<test name>/.
"""
from __future__ import annotations

import pytest
import requests

from tests.browser.test_live_chromium import Screen, api_login

pytestmark = pytest.mark.browser

MEETING = 1
FOLLOW_MS = 5_000


def test_three_speakers_get_the_floor_with_running_countdowns(browser, demo_server, shots):
    base = demo_server.url
    assert requests.post(f"{base}/api/v1/meetings/{MEETING}/transitions", json={"action": "start"},
                         headers=api_login(base, "chutoa"), timeout=30).status_code == 200
    display_url = requests.post(f"{base}/api/v1/meetings/{MEETING}/displays", json={"label": "Máy chiếu"},
                                headers=api_login(base, "thuky"), timeout=30).json()["url"]
    chair = Screen(browser, base, shots, 1280, 1000)
    chair.login("chutoa")
    chair.page.goto(f"{base}/meetings/{MEETING}/console")
    chair.connected()
    display = Screen(browser, base, shots, 1920, 1080)
    display.page.goto(display_url)
    display.connected()

    tablets = {}
    for username, kind in (("daibieu1", "speech"), ("daibieu2", "question"), ("daibieu3", "point_of_order")):
        tablet = Screen(browser, base, shots, 1280, 800)
        tablet.login(username)
        tablet.page.goto(f"{base}/meetings/{MEETING}/live")
        tablet.connected()
        assert tablet.page.locator("[data-testid=speaker-grant]").count() == 0  # a delegate cannot grant
        tablet.page.click(f"[data-testid=speaker-request-{kind}]")
        tablet.wait("[data-testid=speaker-mine] li", timeout=FOLLOW_MS)
        tablets[username] = tablet

    queue = "[data-testid=speakers] [data-testid=speaker-queue] [data-testid=speaker-row]"
    chair.page.wait_for_function(f"() => document.querySelectorAll('{queue}').length === 3", timeout=FOLLOW_MS)
    kinds = chair.page.locator(queue).evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["point_of_order", "speech", "question"]
    chair.shot("01-console-queue.png")

    spoken = []
    for turn in range(3):
        chair.page.locator(queue).first.locator("[data-testid=speaker-grant]").click()
        chair.wait("[data-testid=speakers][data-current-id]:not([data-current-id=''])", timeout=FOLLOW_MS)
        current = chair.attr("[data-testid=speakers]", "data-current-id")
        display.wait(f"[data-testid=speakers][data-current-id='{current}']", timeout=FOLLOW_MS)
        speaker = next(name for name, tablet in tablets.items()
                       if tablet.page.locator("[data-testid=speaker-mine-now]").is_visible())
        spoken.append(speaker)
        first = display.page.inner_text("[data-testid=speaker-countdown] [data-countdown-time]")
        display.page.wait_for_timeout(2200)
        second = display.page.inner_text("[data-testid=speaker-countdown] [data-countdown-time]")
        assert first != second, "the countdown does not run"
        mine = tablets[speaker].page.inner_text("[data-testid=speaker-my-countdown] [data-countdown-time]")
        assert mine.count(":") == 1
        if turn == 0:
            display.shot("02-display-speaker-and-next.png")
            tablets[speaker].shot("03-speaker-tablet-countdown.png")
        chair.page.click("[data-testid=speaker-finish]")
        chair.wait("[data-testid=speakers][data-current-id='']", timeout=FOLLOW_MS)
    assert spoken == ["daibieu3", "daibieu1", "daibieu2"]  # the point of order first, then in order of asking
    chair.shot("04-console-after-three-speakers.png")
    history = requests.get(f"{base}/api/v1/meetings/{MEETING}/speakers", headers=api_login(base, "chutoa"),
                           timeout=30).json()["history"]
    assert len(history) == 3 and all(h["duration_seconds"] >= 2 for h in history)

    for screen in (chair, display, *tablets.values()):
        assert not screen.problems, screen.problems
