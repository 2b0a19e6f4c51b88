"""The roll call in the real Chromium against the real server with the demo loaded.

The chair (chutoa) starts the meeting, opens the morning session and its start roll call from the console;
the hall display shows the rotating code as digits and as a QR code; daibieu1 types the code on the tablet
and daibieu2 taps "I am present"; the console's quorum goes from red to green. Then the end roll call:
daibieu1 confirms, daibieu2 has left; the attendance sheet shows present / left early / absent, and its
exports download. Screenshots: test-output/browser/<test name>/.
"""
from __future__ import annotations

import pytest
import requests

from tests.browser.test_live_chromium import Screen, api_login

pytestmark = pytest.mark.browser

MEETING = 1
FOLLOW_MS = 5_000


def test_a_roll_call_with_the_room_code_the_tablet_and_the_sheet(browser, demo_server, shots):
    base = demo_server.url
    chair_api = api_login(base, "chutoa")
    assert requests.post(f"{base}/api/v1/meetings/{MEETING}/transitions", json={"action": "start"},
                         headers=chair_api, timeout=30).status_code == 200
    sessions = requests.get(f"{base}/api/v1/meetings/{MEETING}/sessions", headers=chair_api, timeout=30).json()
    morning = sessions["items"][0]["id"]
    assert requests.post(f"{base}/api/v1/meetings/{MEETING}/sessions/{morning}/open", headers=chair_api,
                         timeout=30).status_code == 200
    created = requests.post(f"{base}/api/v1/meetings/{MEETING}/displays", json={"label": "Máy chiếu"},
                            headers=api_login(base, "thuky"), timeout=30).json()

    chair = Screen(browser, base, shots, 1280, 900)
    chair.login("chutoa")
    chair.page.goto(f"{base}/meetings/{MEETING}/console")
    chair.connected()
    display = Screen(browser, base, shots, 1920, 1080)
    display.page.goto(created["url"])
    display.connected()
    first = Screen(browser, base, shots, 1280, 800)
    first.login("daibieu1")
    first.page.goto(f"{base}/meetings/{MEETING}/live")
    first.connected()
    second = Screen(browser, base, shots, 800, 1280)
    second.login("daibieu2")
    second.page.goto(f"{base}/meetings/{MEETING}/live")
    second.connected()

    quorum = "[data-testid=console-attendance] [data-testid=quorum]"
    chair.wait(f"{quorum}[data-has-quorum=false]")
    assert display.page.locator("[data-testid=display-rollcall]").is_hidden()

    # --- the chair opens the start roll call --------------------------------------------------------------
    chair.page.click("[data-roll-call=start-open]")
    display.wait("[data-testid=display-rollcall][data-code]", timeout=FOLLOW_MS)
    code = display.attr("[data-testid=display-rollcall]", "data-code")
    assert len(code) == 6 and code.isdigit()
    assert display.page.inner_text("[data-testid=room-code]").replace(" ", "") == code
    assert display.attr("[data-testid=qr-image]", "src").startswith("data:image/svg+xml")
    display.shot("01-display-room-code.png")
    first.wait("[data-testid=attendance][data-state=needed-start]", timeout=FOLLOW_MS)
    first.shot("02-tablet-roll-call-open.png")

    # --- daibieu1 types the code, daibieu2 taps "I am present" -------------------------------------------
    first.page.fill("[data-testid=code-input]", code)
    first.page.click("[data-testid=code-form] button[type=submit]")
    first.wait("[data-testid=attendance][data-state=present]", timeout=FOLLOW_MS)
    first.shot("03-tablet-present.png")
    second.wait("[data-testid=attendance][data-state=needed-start]", timeout=FOLLOW_MS)
    second.page.click("[data-testid=check-in]")
    second.wait("[data-testid=attendance][data-state=present]", timeout=FOLLOW_MS)
    chair.page.wait_for_function(
        "() => document.querySelector('[data-testid=console-attendance] [data-q-counted]').textContent === '2'",
        timeout=FOLLOW_MS)
    chair.shot("04-console-two-present.png")

    # A wrong code is refused with a reason, and nothing changes.
    third = Screen(browser, base, shots, 1280, 800)
    third.login("daibieu3")
    third.page.goto(f"{base}/meetings/{MEETING}/live")
    third.connected()
    wrong = "000000" if code != "000000" else "111111"
    third.page.fill("[data-testid=code-input]", wrong)
    third.page.click("[data-testid=code-form] button[type=submit]")
    third.wait("[data-att-message][data-kind=error]", timeout=FOLLOW_MS)
    assert third.attr("[data-testid=attendance]", "data-state") == "needed-start"
    third.problems = [p for p in third.problems if "422" not in p]  # the refusal we caused on purpose

    # --- the chair checks in too: the demo body needs more than half of its 5 voting members ---------------
    chair_tablet = Screen(browser, base, shots, 1280, 800)
    chair_tablet.login("chutoa")
    chair_tablet.page.goto(f"{base}/meetings/{MEETING}/live")
    chair_tablet.connected()
    chair_tablet.page.click("[data-testid=check-in]")
    chair.wait(f"{quorum}[data-has-quorum=true]", timeout=FOLLOW_MS)
    display.wait(".display-quorum[data-has-quorum=true]", timeout=FOLLOW_MS)
    chair.shot("05-console-quorum.png")

    # --- the start roll call closes; daibieu2 leaves; the end roll call; daibieu1 confirms -----------------
    chair.page.click("[data-roll-call=start-close]")
    display.page.wait_for_selector("[data-testid=display-rollcall]", state="hidden", timeout=FOLLOW_MS)
    second.page.click("[data-testid=check-out]")
    second.wait("[data-testid=attendance][data-state=left]", timeout=FOLLOW_MS)
    chair.page.click("[data-roll-call=end-open]")
    first.wait("[data-testid=attendance][data-state=needed-end]", timeout=FOLLOW_MS)
    first.page.click("[data-testid=check-in]")
    first.wait("[data-testid=attendance][data-state=present]", timeout=FOLLOW_MS)
    chair.page.click("[data-roll-call=end-close]")
    display.page.wait_for_selector("[data-testid=display-rollcall]", state="hidden", timeout=FOLLOW_MS)

    # --- the attendance sheet --------------------------------------------------------------------------------
    chair.page.click("[data-testid=attendance-sheet-link]")
    chair.wait("[data-testid=attendance-sheet]")
    status = {row.get_attribute("data-user-id"): row.get_attribute("data-status")
              for row in chair.page.locator("[data-testid=attendance-row]").all()}
    ids = {u: requests.get(f"{base}/api/v1/auth/me", headers=api_login(base, u), timeout=30).json()["id"]
           for u in ("daibieu1", "daibieu2", "daibieu4")}
    assert status[str(ids["daibieu1"])] == "present"
    assert status[str(ids["daibieu2"])] == "left_early"
    assert status[str(ids["daibieu4"])] == "pending"  # the session is still open
    chair.shot("06-attendance-sheet.png")
    with chair.page.expect_download() as download:
        chair.page.click("[data-testid=export-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")

    for screen in (chair, display, first, second, third, chair_tablet):
        assert not screen.problems, screen.problems
