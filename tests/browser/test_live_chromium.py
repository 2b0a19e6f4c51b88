"""The live room in the real Chromium against the real server with the demo loaded.

chutoa (chair) runs the meeting from the console; daibieu1 follows on a tablet page in a second browser
context; a hall display opened with a display token (created by thuky through the API) follows in a third.
The chair starts, moves to agenda item 3 and pauses: the tablet and the display follow within seconds. Then
the tablet's Wi-Fi drops (Playwright's offline mode), the chair makes two more changes, the Wi-Fi comes back,
and the tablet catches up by itself, its connection indicator having gone offline → connected.
Assertions use data-* attributes, not translated text. Screenshots: test-output/browser/<test name>/.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.browser

PASSWORD = "demo-2026"
MEETING = 1
FOLLOW_MS = 5_000  # "within a few seconds"

# Records every value the connection indicator takes, so the test can see the way it went.
WATCH_STATUS = """() => {
  const node = document.querySelector('[data-testid=connection]');
  window.__statuses = [node.dataset.status];
  new MutationObserver(() => window.__statuses.push(node.dataset.status))
    .observe(node, {attributes: true, attributeFilter: ['data-status']});
}"""


class Screen:
    """One browser context and page; collects script errors and failed requests so the test can refuse them."""

    def __init__(self, browser, base_url: str, shots: Path, width: int, height: int):
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                           timezone_id="Asia/Ho_Chi_Minh")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.base = base_url
        self.shots = shots
        self.problems: list[str] = []
        self.page.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.request.method} {r.url}")
                     if r.status >= 400 else None)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / name))

    def login(self, username: str) -> None:
        page = self.page
        page.goto(self.base + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_url(self.base + "/")

    def wait(self, selector: str, timeout: int = FOLLOW_MS) -> None:
        self.page.wait_for_selector(selector, timeout=timeout)

    def attr(self, selector: str, name: str) -> str | None:
        return self.page.get_attribute(selector, name)

    def connected(self) -> None:
        self.wait("[data-testid=connection][data-status=connected]", timeout=15_000)

    def current_number(self) -> str:
        return self.attr("[data-testid=current-item]", "data-number")

    def current_in_view(self) -> bool:
        """The highlighted agenda row is inside the visible part of the page and of its scrolling list."""
        return self.page.evaluate("""() => {
          const row = document.querySelector('#live-agenda li.is-current > .live-row');
          const list = document.getElementById('live-agenda').getBoundingClientRect();
          const r = row.getBoundingClientRect();
          return r.top >= Math.max(0, list.top) - 1 && r.bottom <= Math.min(innerHeight, list.bottom) + 1;
        }""")


def api_login(base: str, username: str) -> dict[str, str]:
    resp = requests.post(base + "/api/v1/auth/login", json={"username": username, "password": PASSWORD}, timeout=30)
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def test_the_chair_leads_a_tablet_and_the_hall_display_follow_even_after_a_wifi_drop(browser, demo_server, shots):
    base = demo_server.url
    chair = Screen(browser, base, shots, 1280, 800)
    tablet = Screen(browser, base, shots, 1280, 800)

    # --- the chair opens the console from the meeting page, the delegate the tablet view ---------------------
    chair.login("chutoa")
    chair.page.goto(f"{base}/meetings/{MEETING}")
    chair.page.click("[data-testid=open-console]")
    chair.page.wait_for_url(f"{base}/meetings/{MEETING}/console")
    chair.connected()
    assert chair.page.locator("[data-testid=console-actions] button").evaluate_all(
        "bs => bs.map(b => b.dataset.action)") == ["start"]
    chair.shot("01-console-published.png")

    tablet.login("daibieu1")
    tablet.page.goto(f"{base}/meetings/{MEETING}")
    assert tablet.page.locator("[data-testid=open-console]").count() == 0
    tablet.page.click("[data-testid=open-live]")
    tablet.page.wait_for_url(f"{base}/meetings/{MEETING}/live")
    tablet.connected()
    assert tablet.attr("[data-testid=state-banner]", "data-state") == "published"
    assert tablet.page.locator("[data-testid=current-item] [data-now-empty]").is_visible()
    tablet.shot("02-tablet-published-landscape.png")

    # --- start: the tablet's banner changes ------------------------------------------------------------------
    chair.page.click("[data-testid=console-actions] button[data-action=start]")
    tablet.wait("[data-testid=state-banner][data-state=in_session]")
    chair.wait("[data-testid=console-actions] button[data-action=pause]")
    chair.page.click("[data-testid=live-sessions] [data-session-op=open] >> nth=0")
    tablet.wait("[data-testid=live-sessions] li[data-state=open]")

    # --- item 3: the tablet highlights it and brings it into view --------------------------------------------
    chair.page.click("#live-agenda li[data-number='3'] > .live-pick")
    tablet.wait("#live-agenda li.is-current[data-number='3']")
    item3 = tablet.attr("#live-agenda li[data-number='3']", "data-item-id")
    assert tablet.attr("#live", "data-current-item-id") == item3
    assert tablet.attr("#live-agenda li[data-number='3']", "aria-current") == "step"
    assert tablet.page.locator("#live-agenda li.is-current").count() == 1
    assert tablet.current_number() == "3"
    tablet.wait("[data-testid=item-timer]:not([hidden])")
    assert re.fullmatch(r"\d\d:\d\d", tablet.page.inner_text("[data-timer-elapsed]"))
    tablet.page.wait_for_function("() => document.querySelector('#live-agenda li.is-current')"
                                  ".getBoundingClientRect().top > 0")  # the smooth scroll has run
    tablet.page.wait_for_timeout(600)
    assert tablet.current_in_view()
    chair.wait("[data-testid=current-item][data-number='3']")
    chair.shot("03-console-item-3.png")
    tablet.shot("04-tablet-item-3-landscape.png")
    tablet.page.set_viewport_size({"width": 800, "height": 1280})
    tablet.page.evaluate("document.querySelector('#live-agenda li.is-current').scrollIntoView({block: 'center'})")
    assert tablet.current_in_view()
    tablet.shot("05-tablet-item-3-portrait.png")
    tablet.page.set_viewport_size({"width": 1280, "height": 800})

    # --- a hall display, opened with the link the secretary creates ------------------------------------------
    created = requests.post(f"{base}/api/v1/meetings/{MEETING}/displays", json={"label": "Máy chiếu hội trường"},
                            headers=api_login(base, "thuky"), timeout=30)
    assert created.status_code == 201, created.text
    display = Screen(browser, base, shots, 1920, 1080)
    display.page.goto(created.json()["url"])
    display.connected()
    display.wait("[data-testid=current-item][data-number='3']")
    assert display.attr("[data-testid=current-item]", "data-item-id") == item3
    assert display.page.inner_text("[data-now-title]") == tablet.page.inner_text("[data-now-title]")
    display.wait("[data-testid=item-timer]:not([hidden])")
    assert re.fullmatch(r"\d\d:\d\d", display.page.inner_text("[data-timer-elapsed]"))
    assert display.attr("[data-testid=item-timer]", "data-level") == "ok"  # 60 planned minutes, just begun
    assert re.fullmatch(r"\d\d:\d\d", display.page.inner_text("[data-testid=display-clock]"))
    assert display.attr("[data-testid=state-banner]", "data-state") == "in_session"
    display.shot("06-display-item-3.png")

    # --- pause: tablet and display show it -------------------------------------------------------------------
    chair.page.click("[data-testid=console-actions] button[data-action=pause]")
    tablet.wait("[data-testid=state-banner][data-state=paused]")
    display.wait("[data-testid=state-banner][data-state=paused]")
    chair.wait("[data-testid=console-actions] button[data-action=resume]")
    chair.shot("07-console-paused.png")
    tablet.shot("08-tablet-paused.png")
    display.shot("09-display-paused.png")

    # --- the tablet's Wi-Fi drops; the chair resumes and moves on; the Wi-Fi comes back ----------------------
    tablet.page.evaluate(WATCH_STATUS)
    seq_before = int(tablet.attr("#live", "data-last-seq"))
    tablet.context.set_offline(True)
    tablet.wait("[data-testid=connection][data-status=offline]", timeout=30_000)
    chair.page.click("[data-testid=console-actions] button[data-action=resume]")
    chair.wait("[data-testid=state-banner][data-state=in_session]")
    chair.page.click("#live-agenda li[data-number='4'] > .live-pick")
    chair.wait("[data-testid=current-item][data-number='4']")
    display.wait("[data-testid=current-item][data-number='4']")
    tablet.page.wait_for_timeout(1000)
    assert tablet.attr("[data-testid=state-banner]", "data-state") == "paused"  # it missed both changes
    assert tablet.current_number() == "3"
    tablet.shot("10-tablet-offline.png")

    tablet.context.set_offline(False)
    tablet.wait("[data-testid=connection][data-status=connected]", timeout=30_000)
    tablet.wait("[data-testid=state-banner][data-state=in_session]")
    tablet.wait("#live-agenda li.is-current[data-number='4']")
    assert tablet.current_number() == "4"
    statuses = tablet.page.evaluate("window.__statuses")
    assert "offline" in statuses and statuses[-1] == "connected", statuses
    assert statuses.index("offline") < len(statuses) - 1
    server_seq = requests.get(f"{base}/api/v1/meetings/{MEETING}", headers=api_login(base, "thuky"),
                              timeout=30).json()["last_seq"]
    tablet.page.wait_for_function(f"() => document.getElementById('live').dataset.lastSeq === '{server_seq}'")
    assert server_seq >= seq_before + 2
    tablet.page.wait_for_timeout(600)
    tablet.shot("11-tablet-caught-up.png")
    display.shot("12-display-item-4.png")
    chair.shot("13-console-item-4.png")

    # --- and it keeps following live afterwards ---------------------------------------------------------------
    chair.page.click("[data-testid=next-item]")
    tablet.wait("#live-agenda li.is-current[data-number='5']")
    display.wait("[data-testid=current-item][data-number='5']")

    for screen in (chair, tablet, display):
        assert screen.problems == []


# The seq rule of static/js/live/room.js, driven in Chromium with a scripted socket in place of socket.io.
ROOM_SCRIPT = """async () => {
  const handlers = {}; let onAny = null; const sent = []; const log = [];
  const socket = {
    connected: false, active: true,
    on(name, fn) { handlers[name] = fn; return socket; },
    onAny(fn) { onAny = fn; },
    connect() { socket.connected = true; handlers.connect(); return socket; },
    disconnect() { socket.connected = false; handlers.disconnect('io client disconnect'); return socket; },
    timeout() { return { emit: (name, data, cb) => sent.push({ name, data, cb }) }; },
  };
  window.io = () => socket;
  const { Room } = await import('/static/js/live/room.js');
  const item = (id) => ({ id, number: String(id), title: 'Item ' + id, presenter: '', planned_minutes: 10, children: [] });
  const room = new Room({
    meetingId: 7, token: 'pt.x',
    initial: { seq: 5, snapshot: { meeting: { state: 'in_session' }, sessions: [],
      agenda: { items: [item(1), item(2)], current_item_id: 1, current_item_started_at: null } } },
    onChange: (state, info) => log.push(['change', info.events ? info.events.map((e) => e.seq) : 'snapshot']),
    onStatus: (status) => log.push(['status', status]),
    onEnded: (reason) => log.push(['ended', reason]),
  });
  const ev = (seq, type, payload, meeting = 7) => onAny(type, { ...payload, meeting_id: meeting, seq });
  const answer = (ack) => sent[sent.length - 1].cb(null, ack);
  const view = () => ({ seq: room.lastSeq, state: room.state.meeting.state, current: room.state.agenda.current_item_id,
    sessions: room.state.sessions.length, joins: sent.map((s) => s.data.last_seq), status: room.status });
  const out = {};

  room.start();                                          // connect → join from the page's seq
  answer({ seq: 5, last_seq: 5, events: [] });
  out.joined = view();
  ev(6, 'agenda.current', { item_id: 2, started_at: null });
  ev(6, 'agenda.current', { item_id: 1, started_at: null });   // a duplicate: ignored
  ev(4, 'meeting.state', { state: 'paused' });                 // old: ignored
  ev(6, 'meeting.state', { state: 'paused' }, 8);              // another meeting: ignored
  out.next = view();
  ev(9, 'meeting.state', { state: 'paused' });                 // 7 and 8 missed: held, re-join with 6
  ev(10, 'agenda.current', { item_id: 2, started_at: null });  // arrives while the join is out: held
  out.gap = view();
  answer({ seq: 9, last_seq: 9, events: [
    { type: 'agenda.current', meeting_id: 7, seq: 7, item_id: 1, started_at: null },
    { type: 'session.state', meeting_id: 7, seq: 8, session_id: 3, title: 'S', state: 'open' },
    { type: 'meeting.state', meeting_id: 7, seq: 9, state: 'paused' }] });
  out.filled = view();
  ev(12, 'meeting.state', { state: 'in_session' });            // 11 was for another audience: a hole
  answer({ seq: 12, last_seq: 12, events: [{ type: 'meeting.state', meeting_id: 7, seq: 12, state: 'in_session' }] });
  out.hole = view();
  socket.connected = false; handlers.disconnect('transport close');   // the Wi-Fi drops
  out.dropped = view();
  socket.connect();                                      // back: re-join with the last seq
  answer({ seq: 40, last_seq: 40, snapshot: { meeting: { state: 'adjourned' }, sessions: [],
    agenda: { items: [item(1)], current_item_id: null, current_item_started_at: null } } });
  out.snapshot = view();
  onAny('meeting.left', { meeting_id: 8 });
  out.otherLeft = view();
  onAny('meeting.left', { meeting_id: 7 });
  out.left = view();
  out.log = log;
  return out;
}"""


def test_the_room_applies_events_in_seq_order_and_rejoins_after_a_gap(browser, demo_server):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(demo_server.url + "/login")
    out = page.evaluate(ROOM_SCRIPT)
    assert errors == []
    assert out["joined"] == {"seq": 5, "state": "in_session", "current": 1, "sessions": 0, "joins": [5],
                             "status": "connected"}
    assert out["next"] == {"seq": 6, "state": "in_session", "current": 2, "sessions": 0, "joins": [5],
                           "status": "connected"}
    assert out["gap"] == {"seq": 6, "state": "in_session", "current": 2, "sessions": 0, "joins": [5, 6],
                          "status": "connected"}
    assert out["filled"] == {"seq": 10, "state": "paused", "current": 2, "sessions": 1, "joins": [5, 6],
                             "status": "connected"}
    assert out["hole"] == {"seq": 12, "state": "in_session", "current": 2, "sessions": 1, "joins": [5, 6, 10],
                           "status": "connected"}
    assert out["dropped"]["status"] == "reconnecting"
    assert out["snapshot"] == {"seq": 40, "state": "adjourned", "current": None, "sessions": 0,
                               "joins": [5, 6, 10, 12], "status": "connected"}
    assert out["otherLeft"]["status"] == "connected"
    assert out["left"]["status"] == "ended"
    assert ["ended", "left"] in out["log"]
    changes = [c for kind, c in out["log"] if kind == "change"]
    assert changes == ["snapshot", [6], [7, 8, 9], [10], [12], "snapshot"]
    context.close()
