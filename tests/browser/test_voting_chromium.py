"""Votes in the real Chromium against the real server with the demo loaded.

The chair (chutoa) prepares and opens a named vote from the console; daibieu1 and daibieu2 (two tablets, two
browser contexts) get the ballot panel over their page and vote yes and no. Each tablet shows "recorded" only
once the server's acknowledgement has come: daibieu1's acknowledgement is held back on the wire for a while, and
the tablet stays at "sending" all that time. The projector follows the count with the running bars; the chair
closes; the projector shows the bar chart and the verdict. Then a secret vote: no running counts anywhere while
it is open, and after closing daibieu1 looks up the receipt kept by the tablet and finds the choice counted.
No roll call is taken, so all five voting members of the demo may vote. Screenshots: test-output/browser/<name>/.
"""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser.test_live_chromium import Screen, api_login

pytestmark = pytest.mark.browser

MEETING = 1
FOLLOW_MS = 5_000
MEMBERS = 5  # chutoa and daibieu1 … daibieu4 vote in the demo

# Records every state the (first) ballot panel goes through, and whether it said "recorded" in that state.
WATCH_BALLOT = """() => {
  const list = document.querySelector('[data-testid=ballot-overlay] [data-testid=ballots]');
  window.__ballot = [];
  const note = () => {
    const panel = list.querySelector('[data-testid=ballot]');
    if (!panel) return;
    const seen = [panel.dataset.state, Boolean(panel.querySelector('[data-testid=ballot-recorded]'))];
    const last = window.__ballot[window.__ballot.length - 1];
    if (!last || last[0] !== seen[0] || last[1] !== seen[1]) window.__ballot.push(seen);
  };
  note();
  new MutationObserver(note).observe(list, {childList: true, subtree: true, attributes: true});
}"""


class AckGate:
    """Sits on a tablet's Socket.IO websocket and, while holding, keeps the server's acknowledgements back."""

    def __init__(self):
        self.holding = False
        self.held: list[str] = []
        self.page_side = None

    def route(self, ws) -> None:
        server = ws.connect_to_server()
        self.page_side = ws

        def from_server(message):
            if self.holding and isinstance(message, str) and message.startswith("43"):  # engine.io 4 + socket.io ACK
                self.held.append(message)
            else:
                ws.send(message)
        server.on_message(from_server)

    def release(self) -> None:
        self.holding = False
        for message in self.held:
            self.page_side.send(message)
        self.held.clear()


def prepare(chair: Screen, title: str, *, secret: bool, rule: str, shot: str | None = None) -> str:
    """Prepare a vote from the console's form; returns its poll id."""
    page = chair.page
    page.click("[data-testid=poll-prepare] > summary")
    page.fill("[data-testid=poll-title]", title)
    page.check("[data-testid=poll-secret]" if secret else "[data-testid=poll-named]")
    page.select_option("[data-testid=poll-rule]", rule)
    if shot:
        page.locator("[data-testid=polls]").evaluate("n => n.scrollIntoView({block: 'start'})")
        chair.shot(shot)
    before = page.locator("[data-testid=poll]").count()
    page.click("[data-testid=poll-create]")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=poll]').length === {before + 1}",
                           timeout=FOLLOW_MS)
    row = page.locator("[data-testid=poll][data-state=draft]").last
    return row.get_attribute("data-poll-id")


def vote(tablet: Screen, poll_id: str, choice: str) -> None:
    """Tap a choice on the ballot panel and wait for "recorded"."""
    panel = f"[data-testid=ballot-overlay] [data-testid=ballot][data-poll-id='{poll_id}']"
    tablet.wait(f"{panel}[data-state=ready]", timeout=FOLLOW_MS)
    tablet.page.evaluate(WATCH_BALLOT)
    tablet.page.click(f"{panel} [data-testid=ballot-choice][data-choice={choice}]")
    tablet.wait(f"{panel}[data-state=recorded]", timeout=FOLLOW_MS)


def console_shot(chair: Screen, poll_id: str, name: str) -> None:
    """The console's side column scrolls: bring the poll's row to the top of it first."""
    chair.page.locator(f"[data-testid=poll][data-poll-id='{poll_id}']").evaluate("n => n.scrollIntoView({block: 'start'})")
    chair.shot(name)


def states_seen(tablet: Screen) -> list:
    return tablet.page.evaluate("window.__ballot")


def bar_counts(screen: Screen, scope: str) -> dict[str, int]:
    return screen.page.locator(f"{scope} [data-testid=poll-bar]").evaluate_all(
        "bars => Object.fromEntries(bars.map(b => [b.dataset.choice, Number(b.dataset.count)]))")


def test_a_named_and_a_secret_vote_from_the_console_to_the_tablets_and_the_projector(browser, demo_server, shots):
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
    assert display.page.locator("[data-testid=polls]").is_hidden()

    gate = AckGate()
    first = Screen(browser, base, shots, 1280, 800)
    first.page.route_web_socket(re.compile(r"/socket\.io/"), gate.route)
    first.login("daibieu1")
    first.page.goto(f"{base}/meetings/{MEETING}/live")
    first.connected()
    second = Screen(browser, base, shots, 800, 1280)
    second.login("daibieu2")
    second.page.goto(f"{base}/meetings/{MEETING}/live")
    second.connected()
    assert first.page.locator("[data-testid=ballot-overlay]").is_hidden()

    # --- a named vote: prepared and opened from the console ------------------------------------------------
    named = prepare(chair, "Thông qua Nghị quyết về dự toán ngân sách địa phương năm 2027", secret=False,
                    rule="simple", shot="00-console-prepare-form.png")
    console_shot(chair, named, "01-console-named-prepared.png")
    chair.page.click(f"[data-testid=poll][data-poll-id='{named}'] [data-testid=poll-open]")
    chair.wait(f"[data-testid=poll][data-poll-id='{named}'][data-state=open]", timeout=FOLLOW_MS)
    display.wait(f"[data-testid=polls][data-poll-id='{named}'][data-state=open]", timeout=FOLLOW_MS)
    assert display.attr("[data-testid=polls] [data-testid=poll-progress]", "data-eligible") == str(MEMBERS)
    assert display.page.locator("[data-testid=current-item]").is_hidden()  # the vote takes the screen

    # daibieu1: the acknowledgement is held back on the wire; the tablet says "sending" until it comes.
    first.wait(f"[data-testid=ballot-overlay] [data-testid=ballot][data-poll-id='{named}'][data-state=ready]",
               timeout=FOLLOW_MS)
    first.shot("02-tablet-ballot-panel.png")
    first.page.evaluate(WATCH_BALLOT)
    gate.holding = True
    first.page.click("[data-testid=ballot-overlay] [data-testid=ballot-choice][data-choice=yes]")
    first.wait("[data-testid=ballot-overlay] [data-testid=ballot][data-state=sending]", timeout=FOLLOW_MS)
    display.wait("[data-testid=polls] [data-testid=poll-progress][data-cast='1']", timeout=FOLLOW_MS)  # counted
    first.page.wait_for_timeout(800)
    assert gate.held, "the acknowledgement did not come over the socket"
    assert first.attr("[data-testid=ballot-overlay] [data-testid=ballot]", "data-state") == "sending"
    assert first.page.locator("[data-testid=ballot-recorded]").count() == 0
    first.shot("03-tablet-sending.png")
    gate.release()
    first.wait("[data-testid=ballot-overlay] [data-testid=ballot][data-state=recorded]", timeout=FOLLOW_MS)
    assert states_seen(first) == [["ready", False], ["sending", False], ["recorded", True]]
    receipt = first.attr("[data-testid=ballot-receipt]", "data-receipt")
    assert re.fullmatch(r"[0-9a-f]{20}", receipt)
    first.shot("04-tablet-recorded.png")
    first.page.click("[data-testid=ballot-done]")
    assert first.page.locator("[data-testid=ballot-overlay]").is_hidden()
    first.wait("[data-testid=poll-now] [data-testid=poll-mine][data-state=recorded]")

    vote(second, named, "no")
    assert states_seen(second) == [["ready", False], ["sending", False], ["recorded", True]]
    second.shot("05-tablet-portrait-recorded.png")

    display.wait("[data-testid=polls] [data-testid=poll-progress][data-cast='2']", timeout=FOLLOW_MS)
    display.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=polls] [data-testid=poll-bar]').length === 3")
    assert bar_counts(display, "[data-testid=polls]") == {"yes": 1, "no": 1, "abstain": 0}
    display.shot("06-display-named-progress.png")
    chair.wait(f"[data-testid=poll][data-poll-id='{named}'] [data-testid=poll-progress][data-cast='2']",
               timeout=FOLLOW_MS)
    assert bar_counts(chair, f"[data-testid=poll][data-poll-id='{named}']") == {"yes": 1, "no": 1, "abstain": 0}
    # The chair votes too: their own ballot is on the console.
    chair.wait(f"[data-testid=poll][data-poll-id='{named}'] [data-testid=ballot][data-state=ready]")
    console_shot(chair, named, "07-console-named-open.png")

    # --- the chair closes: the chart and the verdict --------------------------------------------------------
    chair.page.once("dialog", lambda dialog: dialog.accept())  # "Only 2 of 5 have voted. Close now?"
    chair.page.click(f"[data-testid=poll][data-poll-id='{named}'] [data-testid=poll-close]")
    chair.wait(f"[data-testid=poll][data-poll-id='{named}'][data-state=closed]", timeout=FOLLOW_MS)
    display.wait(f"[data-testid=polls][data-poll-id='{named}'][data-state=closed]", timeout=FOLLOW_MS)
    assert display.attr("[data-testid=polls] [data-testid=poll-verdict]", "data-passed") == "false"  # 1 yes, 1 no
    assert display.attr("[data-testid=polls] [data-testid=poll-bars]", "data-final") == "true"
    assert bar_counts(display, "[data-testid=polls]") == {"yes": 1, "no": 1, "abstain": 0}
    display.shot("08-display-named-result.png")
    console_shot(chair, named, "09-console-named-closed.png")
    second.wait(f"[data-testid=poll-list] [data-testid=poll][data-poll-id='{named}'] [data-testid=poll-verdict]")
    assert second.page.locator("[data-testid=ballot-overlay]").is_hidden()
    ballots = requests.get(f"{base}/api/v1/meetings/{MEETING}/polls/{named}/result", headers=api_login(base, "chutoa"),
                           timeout=30).json()["ballots"]
    assert {b["full_name"]: b["choices"] for b in ballots} == {"Phạm Thị Lan": ["yes"], "Hoàng Văn Nam": ["no"]}

    # --- a secret vote: only the number of ballots while open -------------------------------------------------
    secret = prepare(chair, "Tán thành chủ trương đầu tư Dự án đường tỉnh 435", secret=True, rule="simple")
    chair.page.click(f"[data-testid=poll][data-poll-id='{secret}'] [data-testid=poll-open]")
    display.wait(f"[data-testid=polls][data-poll-id='{secret}'][data-state=open][data-secret=true]",
                 timeout=FOLLOW_MS)
    vote(first, secret, "yes")
    assert states_seen(first) == [["ready", False], ["sending", False], ["recorded", True]]
    secret_receipt = first.attr("[data-testid=ballot-receipt]", "data-receipt")
    vote(second, secret, "yes")
    display.wait("[data-testid=polls] [data-testid=poll-progress][data-cast='2']", timeout=FOLLOW_MS)
    assert display.page.locator("[data-testid=polls] [data-testid=poll-bar]").count() == 0
    assert display.page.locator("[data-testid=polls] [data-testid=poll-bars]").is_hidden()
    display.shot("10-display-secret-progress.png")
    chair.wait(f"[data-testid=poll][data-poll-id='{secret}'] [data-testid=poll-progress][data-cast='2']",
               timeout=FOLLOW_MS)
    assert chair.page.locator(f"[data-testid=poll][data-poll-id='{secret}'] [data-testid=poll-bar]").count() == 0
    for tablet in (first, second):
        assert tablet.page.locator("[data-testid=poll-now] [data-testid=poll-bar]").count() == 0

    chair.page.once("dialog", lambda dialog: dialog.accept())
    chair.page.click(f"[data-testid=poll][data-poll-id='{secret}'] [data-testid=poll-close]")
    display.wait(f"[data-testid=polls][data-poll-id='{secret}'][data-state=closed]", timeout=FOLLOW_MS)
    assert display.attr("[data-testid=polls] [data-testid=poll-verdict]", "data-passed") == "true"  # 2 yes, 0 no
    assert bar_counts(display, "[data-testid=polls]") == {"yes": 2, "no": 0, "abstain": 0}
    display.shot("11-display-secret-result.png")

    # --- daibieu1 checks the receipt the tablet kept ---------------------------------------------------------
    row = f"[data-testid=poll-list] [data-testid=poll][data-poll-id='{secret}']"
    first.wait(f"{row} [data-testid=receipt-check][data-receipt='{secret_receipt}']", timeout=FOLLOW_MS)
    first.page.locator(f"{row} [data-testid=receipt-check]").scroll_into_view_if_needed()
    first.page.click(f"{row} [data-testid=receipt-check]")
    first.wait(f"{row} [data-testid=receipt-result][data-counted=true]", timeout=FOLLOW_MS)
    assert "Tán thành" in first.page.inner_text(f"{row} [data-testid=receipt-result]")
    first.shot("12-tablet-receipt-checked.png")
    kept = first.page.evaluate(f"JSON.parse(localStorage.getItem('phonghop.ballots.' + "
                               f"JSON.parse(document.getElementById('live-data').textContent).userId + '.{secret}'))")
    assert [r["receipt"] for r in kept.values()] == [secret_receipt]
    assert len(requests.get(f"{base}/api/v1/meetings/{MEETING}/polls/{secret}/receipts",
                            headers=api_login(base, "chutoa"), timeout=30).json()["items"]) == 2

    for screen in (chair, display, first, second):
        assert not screen.problems, screen.problems


def test_an_election_with_two_choices_and_a_proxy_ballot_on_one_tablet(browser, demo_server, shots):
    """Attendance is taken: chutoa, daibieu1 and daibieu3 are present, daibieu2 gave the proxy to daibieu1.
    The chair prepares an election (three options, choose up to two, five minutes) from the console; daibieu1's
    tablet shows two ballots, their own first, then the proxy; the display counts down, and after closing shows
    the results without a verdict."""
    base = demo_server.url
    chair_api = api_login(base, "chutoa")
    meeting = f"{base}/api/v1/meetings/{MEETING}"
    assert requests.post(f"{meeting}/transitions", json={"action": "start"}, headers=chair_api,
                         timeout=30).status_code == 200
    session = requests.get(f"{meeting}/sessions", headers=chair_api, timeout=30).json()["items"][0]["id"]
    assert requests.post(f"{meeting}/sessions/{session}/open", headers=chair_api, timeout=30).status_code == 200
    assert requests.post(f"{meeting}/sessions/{session}/roll-calls/start/open", headers=chair_api,
                         timeout=30).status_code == 200
    for username in ("chutoa", "daibieu1", "daibieu3"):
        assert requests.post(f"{meeting}/attendance/check-in", json={"session_id": session, "method": "tablet"},
                             headers=api_login(base, username), timeout=30).status_code == 200
    holder = requests.get(f"{base}/api/v1/auth/me", headers=api_login(base, "daibieu1"), timeout=30).json()["id"]
    giver_api = api_login(base, "daibieu2")
    giver = requests.get(f"{base}/api/v1/auth/me", headers=giver_api, timeout=30).json()["id"]
    assert requests.post(f"{meeting}/proxies", json={"session_id": session, "holder_user_id": holder},
                         headers=giver_api, timeout=30).status_code == 201
    display_url = requests.post(f"{meeting}/displays", json={"label": "Máy chiếu"},
                                headers=api_login(base, "thuky"), timeout=30).json()["url"]

    chair = Screen(browser, base, shots, 1280, 1000)
    chair.login("chutoa")
    chair.page.goto(f"{base}/meetings/{MEETING}/console")
    chair.connected()
    display = Screen(browser, base, shots, 1920, 1080)
    display.page.goto(display_url)
    display.connected()
    tablet = Screen(browser, base, shots, 1280, 800)
    tablet.login("daibieu1")
    tablet.page.goto(f"{base}/meetings/{MEETING}/live")
    tablet.connected()

    page = chair.page
    page.click("[data-testid=poll-prepare] > summary")
    page.fill("[data-testid=poll-title]", "Chọn hai công trình trọng điểm của tỉnh năm 2027")
    page.click(".poll-more > summary")
    page.fill("[data-testid=poll-options]", "Đường tỉnh 435\nBệnh viện Đa khoa tỉnh\nTrường THPT chuyên Hoàng Văn Thụ")
    page.fill("[data-testid=poll-max]", "2")
    page.fill("[data-testid=poll-minutes]", "5")
    page.click("[data-testid=poll-create]")
    # The demo has prepared votes of its own: take the one just made.
    mine = page.locator("[data-testid=poll][data-state=draft]", has_text="Chọn hai công trình trọng điểm")
    mine.wait_for(timeout=FOLLOW_MS)
    poll_id = mine.get_attribute("data-poll-id")
    page.click(f"[data-testid=poll][data-poll-id='{poll_id}'] [data-testid=poll-open]")
    display.wait(f"[data-testid=polls][data-poll-id='{poll_id}'][data-state=open]", timeout=FOLLOW_MS)
    assert display.attr("[data-testid=polls] [data-testid=poll-progress]", "data-eligible") == "4"  # 3 + 1 proxy
    display.page.wait_for_function(
        "() => /\\d\\d:\\d\\d/.test(document.querySelector('[data-testid=polls] [data-testid=poll-countdown]').textContent)")

    # daibieu1's two ballots: their own, then daibieu2's by proxy.
    overlay = "[data-testid=ballot-overlay]"
    tablet.wait(f"{overlay} [data-testid=ballot][data-state=ready] >> nth=1", timeout=FOLLOW_MS)
    panels = tablet.page.locator(f"{overlay} [data-testid=ballot]")
    assert panels.evaluate_all("ps => ps.map(p => Number(p.dataset.forUserId))") == [holder, giver]
    assert "Hoàng Văn Nam" in panels.nth(1).inner_text()
    own, proxy = panels.nth(0), panels.nth(1)
    own.locator("[data-testid=ballot-option][value=o1]").check()
    assert own.locator("[data-testid=ballot-confirm]").is_enabled()
    own.locator("[data-testid=ballot-option][value=o3]").check()
    assert own.locator("[data-testid=ballot-option][value=o2]").is_disabled()  # two chosen: the third waits
    proxy.locator("[data-testid=ballot-option][value=o2]").check()
    tablet.shot("01-tablet-election-two-ballots.png")
    own.locator("[data-testid=ballot-confirm]").click()
    tablet.wait(f"{overlay} [data-testid=ballot][data-for-user-id='{holder}'][data-state=recorded]", timeout=FOLLOW_MS)
    assert tablet.page.locator(f"{overlay} [data-testid=ballot-done]").is_hidden()  # the proxy is still waiting
    proxy_panel = tablet.page.locator(f"{overlay} [data-testid=ballot][data-for-user-id='{giver}']")
    assert proxy_panel.locator("[data-testid=ballot-option][value=o2]").is_checked()  # kept across the redraw
    proxy_panel.locator("[data-testid=ballot-confirm]").click()
    tablet.wait(f"{overlay} [data-testid=ballot][data-for-user-id='{giver}'][data-state=recorded]", timeout=FOLLOW_MS)
    tablet.wait(f"{overlay} [data-testid=ballot-done]:visible")
    tablet.shot("02-tablet-election-recorded.png")

    display.wait("[data-testid=polls] [data-testid=poll-progress][data-cast='2']", timeout=FOLLOW_MS)
    display.shot("03-display-election-open.png")
    chair.page.once("dialog", lambda dialog: dialog.accept())
    chair.page.click(f"[data-testid=poll][data-poll-id='{poll_id}'] [data-testid=poll-close]")
    display.wait(f"[data-testid=polls][data-poll-id='{poll_id}'][data-state=closed]", timeout=FOLLOW_MS)
    assert display.page.locator("[data-testid=polls] [data-testid=poll-verdict]").is_hidden()  # no verdict
    assert bar_counts(display, "[data-testid=polls]") == {"o1": 1, "o2": 1, "o3": 1}
    display.shot("04-display-election-result.png")
    assert tablet.page.locator(overlay).is_hidden()

    for screen in (chair, display, tablet):
        assert not screen.problems, screen.problems
