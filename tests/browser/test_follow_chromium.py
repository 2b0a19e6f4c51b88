"""Follow me in the real Chromium against the real server with the demo loaded.

The chair (chutoa) moves to agenda item 3, taps its document (the six-page draft resolution) in the console
and turns to page 5; a delegate's tablet (daibieu1, a second browser context) highlights item 3 and shows the
same document at page 5 by itself. The delegate reads on their own (page 2), the chair turns to page 6, the
tablet stays on page 2 and offers to follow again; one tap and it is on page 6. The chair stops showing and
the tablet's panel closes. A tablet that opens the page while a document is shown starts on it.
Screenshots: test-output/browser/<test name>/.
"""
from __future__ import annotations

import pytest

from tests.browser.test_live_chromium import Screen

pytestmark = pytest.mark.browser

MEETING = 1
RESOLUTION = "Dự thảo Nghị quyết về dự toán ngân sách năm 2027"
FOLLOW_MS = 5_000


def shows(screen: Screen, page: int) -> None:
    screen.wait(f"[data-testid=live-viewer]:not([hidden])[data-ready=true][data-rendered-page='{page}']",
                timeout=FOLLOW_MS + 10_000)


def test_a_tablet_follows_the_chair_to_page_5(browser, demo_server, shots):
    base = demo_server.url
    chair = Screen(browser, base, shots, 1280, 800)
    tablet = Screen(browser, base, shots, 1280, 800)
    chair.login("chutoa")
    chair.page.goto(f"{base}/meetings/{MEETING}/console")
    chair.connected()
    tablet.login("daibieu1")
    tablet.page.goto(f"{base}/meetings/{MEETING}/live")
    tablet.connected()
    assert tablet.page.locator("[data-testid=live-viewer]").is_hidden()

    chair.page.click("[data-testid=console-actions] button[data-action=start]")
    tablet.wait("[data-testid=state-banner][data-state=in_session]")
    chair.page.click("#live-agenda li[data-number='3'] > .live-pick")
    tablet.wait("#live-agenda li.is-current[data-number='3']")

    # --- the chair shows the resolution and turns to page 5 -------------------------------------------------
    chair.page.locator("[data-testid=live-documents] [data-testid=document]", has_text=RESOLUTION) \
        .locator("[data-testid=open-document]").click()
    shows(chair, 1)
    chair.wait("[data-testid=live-viewer][data-presenting=true]")
    shows(tablet, 1)
    for _ in range(4):
        chair.page.click("[data-testid=live-viewer] [data-testid=next-page]")
    shows(chair, 5)
    shows(tablet, 5)
    assert tablet.attr("[data-testid=live-viewer]", "data-following") == "true"
    assert tablet.page.inner_text("[data-testid=live-viewer] [data-viewer-title]") == RESOLUTION
    assert tablet.page.inner_text("[data-testid=live-viewer] [data-testid=page-count]") == "6"
    chair.shot("01-console-shows-page-5.png")
    tablet.shot("02-tablet-follows-page-5.png")

    # --- the delegate reads on their own; the chair moves on; one tap to follow again ----------------------
    tablet.page.fill("[data-testid=live-viewer] [data-testid=page-input]", "2")
    tablet.page.press("[data-testid=live-viewer] [data-testid=page-input]", "Enter")
    shows(tablet, 2)
    tablet.wait("[data-testid=live-viewer][data-following=false]")
    chair.page.click("[data-testid=live-viewer] [data-testid=next-page]")
    shows(chair, 6)
    tablet.page.wait_for_timeout(1500)  # the chair's page 6 has reached the tablet, which must stay on page 2
    assert tablet.attr("[data-testid=live-viewer]", "data-rendered-page") == "2"
    assert tablet.page.locator("[data-testid=follow-rejoin]").is_visible()
    tablet.shot("03-tablet-reads-on-its-own.png")
    tablet.page.click("[data-testid=follow-rejoin]")
    shows(tablet, 6)
    assert tablet.attr("[data-testid=live-viewer]", "data-following") == "true"

    # --- a tablet that opens now starts on the chair's page ------------------------------------------------
    late = Screen(browser, base, shots, 800, 1280)
    late.login("daibieu2")
    late.page.goto(f"{base}/meetings/{MEETING}/live")
    shows(late, 6)
    late.shot("04-late-tablet-portrait-page-6.png")

    # --- the chair stops showing: the panels close -------------------------------------------------------
    chair.page.click("[data-testid=present-stop]")
    for screen in (tablet, late, chair):
        screen.page.wait_for_selector("[data-testid=live-viewer]", state="hidden", timeout=FOLLOW_MS)
    tablet.shot("05-tablet-after-stop.png")

    for screen in (chair, tablet, late):
        assert not screen.problems, screen.problems
