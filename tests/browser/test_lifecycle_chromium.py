"""The whole preparation of a meeting in the real Chromium against the real server with the demo loaded.

thuky (secretary) creates a meeting, adds three agenda items (one reorder by drag-and-drop, one nesting with
the keyboard), appoints chutoa as chair, invites daibieu1 and submits; lanhdao (approver) approves; thuky publishes; daibieu1 reads it.
Assertions use data-* attributes and ids, not translated text. Screenshots of every step go to
test-output/browser/<test name>/.
"""
from __future__ import annotations

import contextlib

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "demo-2026"
ITEMS = ["Khai mạc phiên họp", "Báo cáo tiến độ giải ngân vốn đầu tư công", "Thảo luận và kết luận"]


class Tablet:
    """One browser page with helpers; collects script errors and failed requests so the test can refuse them."""

    def __init__(self, browser, base_url: str, shots: Path):
        self.context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN",
                                           timezone_id="Asia/Ho_Chi_Minh")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.base = base_url
        self.shots = shots
        self.problems: list[str] = []
        self.page.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))
        self.page.on("console", lambda msg: self.problems.append(f"console: {msg.text}") if msg.type == "error" else None)
        self.page.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.request.method} {r.url}")
                     if r.status >= 400 else None)

    def shot(self, name: str, *, full_page: bool = True) -> None:
        if full_page:
            # From the top, or the editor's sticky section bar is pictured over the middle of the page.
            self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(self.shots / name), full_page=full_page)

    def login(self, username: str) -> None:
        page = self.page
        page.goto(self.base + "/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_url(self.base + "/")
        assert page.locator("[data-testid=current-user]").count() == 1

    def logout(self) -> None:
        self.page.click("[data-testid=logout]")
        self.page.wait_for_url(re.compile(r".*/login$"))

    def open_meeting(self, meeting_id: int) -> None:
        self.page.click(f"a[data-meeting-id='{meeting_id}']")
        self.page.wait_for_url(f"{self.base}/meetings/{meeting_id}")

    def state(self) -> str:
        return self.page.get_attribute("[data-testid=meeting-head]", "data-state")

    def transition(self, action: str, expected_state: str) -> None:
        self.page.click(f"button[data-action='{action}']")
        self.page.wait_for_selector(f"[data-testid=meeting-head][data-state='{expected_state}']")

    def expect_agenda(self, expected: list[tuple[str, str]]) -> None:
        """Wait until the editor shows exactly this outline (it redraws when the server has answered)."""
        script = """exp => JSON.stringify([...document.querySelectorAll('#agenda-tree .agenda-row')].map(r => [
            r.querySelector('[data-testid=agenda-number]').textContent.replace(/[.]$/, ''),
            r.querySelector('[data-testid=agenda-title]').textContent])) === JSON.stringify(exp)"""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        # On a timeout the assertion below shows what the editor does show.
        with contextlib.suppress(PlaywrightTimeout):
            self.page.wait_for_function(script, arg=[list(pair) for pair in expected], timeout=5_000)
        assert self.agenda() == expected

    def agenda(self) -> list[tuple[str, str]]:
        """(number, title) of every item, in document order."""
        rows = self.page.locator("#agenda-tree .agenda-row")
        return [(rows.nth(i).locator("[data-testid=agenda-number]").inner_text().rstrip("."),
                 rows.nth(i).locator("[data-testid=agenda-title]").inner_text()) for i in range(rows.count())]


def drag(page, source, target, *, at: float = 0.3) -> None:
    """Drag with small mouse steps: SortableJS (pointer fallback, as on a tablet) needs real movement.

    The target is measured only once the drag has started, because the empty sub-lists open up as drop
    zones then and move everything below them.
    """
    source.evaluate("e => e.closest('section').scrollIntoView()")  # the mouse cannot reach off-screen
    box = source.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 8, steps=4)
    goal = target.bounding_box()
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] * at, steps=30)
    page.mouse.up()


def test_prepare_approve_publish_and_read(browser, demo_server, shots):
    tab = Tablet(browser, demo_server.url, shots)
    page = tab.page

    # --- the secretary prepares the meeting -------------------------------------------------------------
    page.goto(tab.base + "/login")
    assert page.get_attribute("html", "lang") == "vi"
    tab.shot("01-login.png")
    tab.login("thuky")
    tab.shot("02-home-secretary.png")

    page.click("[data-testid=new-meeting]")
    page.wait_for_selector("[data-testid=new-meeting-form]")
    page.fill("#f-title", "Phiên họp chuyên đề về giải ngân vốn đầu tư công")
    page.fill("#f-number", "Phiên chuyên đề 03")
    page.fill("#f-place", "Phòng họp số 1, Trụ sở HĐND tỉnh")
    page.fill("#f-starts_at", "2026-12-15T08:00")
    page.fill("#f-ends_at", "2026-12-15T11:30")
    page.fill("#f-description", "Đánh giá tiến độ giải ngân và đề xuất giải pháp cho quý IV.")
    tab.shot("03-new-meeting.png")
    page.click("[data-testid=create-meeting]")
    page.wait_for_url(re.compile(r".*/meetings/\d+$"))
    meeting_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#editor[data-ready=true]")
    assert tab.state() == "draft"
    tab.shot("04-editor-empty.png")

    for n, title in enumerate(ITEMS, start=1):
        page.click("[data-testid=agenda-add]")
        page.fill("#item-title", title)
        page.fill("#item-presenter", "Chủ tọa" if n != 2 else "Giám đốc Sở Kế hoạch và Đầu tư")
        page.fill("#item-minutes", str(10 * n))
        if n == 2:
            tab.shot("05-agenda-dialog.png", full_page=False)
        page.click("[data-testid=item-save]")
        page.wait_for_function("n => document.querySelectorAll('#agenda-tree li.agenda-node').length === n", arg=n)
    assert page.locator("#item-dialog[open]").count() == 0
    tab.expect_agenda([("1", ITEMS[0]), ("2", ITEMS[1]), ("3", ITEMS[2])])

    # Drag the last item to the top.
    handles = page.locator("#agenda-tree [data-testid=drag-handle]")
    with page.expect_response(lambda r: r.url.endswith("/agenda/order") and r.request.method == "PUT") as reorder:
        drag(page, handles.nth(2), page.locator("#agenda-tree > li > .agenda-row").first)
    assert reorder.value.status == 200
    tab.expect_agenda([("1", ITEMS[2]), ("2", ITEMS[0]), ("3", ITEMS[1])])

    # Drag the last item into the drop zone under the first: it becomes item 1.1.
    with page.expect_response(lambda r: r.url.endswith("/agenda/order")):
        drag(page, handles.nth(2), page.locator("#agenda-tree > li > ol").first, at=0.5)
    tab.expect_agenda([("1", ITEMS[2]), ("1.1", ITEMS[1]), ("2", ITEMS[0])])
    tab.shot("06-agenda-nested.png")

    # With the keyboard on its handle: out of the nest (←), then one place down (↓).
    with page.expect_response(lambda r: r.url.endswith("/agenda/order")):
        page.locator("#agenda-tree li.depth-2 [data-testid=drag-handle]").press("ArrowLeft")
    tab.expect_agenda([("1", ITEMS[2]), ("2", ITEMS[1]), ("3", ITEMS[0])])
    with page.expect_response(lambda r: r.url.endswith("/agenda/order")):
        page.keyboard.press("ArrowDown")  # the handle keeps the focus across the redraw
    tab.expect_agenda([("1", ITEMS[2]), ("2", ITEMS[0]), ("3", ITEMS[1])])

    # Appoint the chair (a meeting cannot be submitted without one) and invite the delegate.
    for username, role in (("chutoa", "chair"), ("daibieu1", "delegate")):
        page.fill("#participant-search", username)
        assert page.locator("#participant-user option").count() == 1
        page.select_option("#participant-role", role)
        page.click("[data-testid=participant-add]")
        page.wait_for_selector(f"#participants-body tr[data-username={username}]")
    page.locator("#participants").scroll_into_view_if_needed()
    tab.shot("07-editor-ready.png")

    # The editor on a 10-inch tablet, landscape and portrait.
    page.evaluate("window.scrollTo(0, 0)")
    tab.shot("08-editor-tablet-landscape-1280x800.png", full_page=False)
    page.set_viewport_size({"width": 800, "height": 1280})
    tab.shot("09-editor-tablet-portrait-800x1280.png", full_page=False)
    tab.shot("10-editor-tablet-portrait-full.png")
    page.set_viewport_size({"width": 1280, "height": 800})

    tab.transition("submit", "submitted")
    assert page.locator("[data-testid=readonly-notice]").count() == 1
    tab.shot("11-submitted-secretary.png")
    tab.logout()

    # --- the approver approves --------------------------------------------------------------------------
    tab.login("lanhdao")
    assert page.locator(f"[data-group=approval] a[data-meeting-id='{meeting_id}']").count() == 1
    tab.shot("12-home-approver.png")
    tab.open_meeting(meeting_id)
    assert page.locator("[data-testid=review-panel]").count() == 1
    assert [t for _n, t in tab_outline(page)] == [ITEMS[2], ITEMS[0], ITEMS[1]]
    page.fill("#approve-comment", "Đồng ý, trình xuất bản.")
    tab.shot("13-review.png")
    tab.transition("approve", "approved")
    tab.shot("14-approved.png")
    tab.logout()

    # --- the secretary publishes ------------------------------------------------------------------------
    tab.login("thuky")
    tab.open_meeting(meeting_id)
    tab.transition("publish", "published")
    tab.shot("15-published-secretary.png")
    tab.logout()

    # --- the delegate reads it --------------------------------------------------------------------------
    tab.login("daibieu1")
    card = page.locator(f"[data-group=upcoming] a[data-meeting-id='{meeting_id}']")
    assert card.get_attribute("data-state") == "published"
    tab.shot("16-home-delegate.png")
    tab.open_meeting(meeting_id)
    assert tab.state() == "published"
    assert page.get_attribute("html", "lang") == "vi"
    assert page.locator(".badge[data-state=published]").count() == 1
    assert tab_outline(page) == [("1", ITEMS[2]), ("2", ITEMS[0]), ("3", ITEMS[1])]
    assert page.locator("[data-testid=participants] li[data-username=daibieu1]").count() == 1
    assert page.locator("#editor").count() == 0  # a delegate never gets the editor
    tab.shot("17-meeting-delegate.png")

    assert tab.problems == [], "the pages reported errors:\n" + "\n".join(tab.problems)
    tab.context.close()


def tab_outline(page) -> list[tuple[str, str]]:
    items = page.locator("[data-testid=agenda-outline] li.outline-item")
    return [(items.nth(i).get_attribute("data-number"),
             items.nth(i).locator(":scope > .outline-row .outline-title").inner_text()) for i in range(items.count())]


def test_editor_edits_deletes_imports_and_plans_sessions(browser, demo_server, shots, tmp_path):
    """The rest of the editor on the demo's draft: every failure is shown where the user is looking."""
    tab = Tablet(browser, demo_server.url, shots)
    page = tab.page
    page.on("dialog", lambda dialog: dialog.accept())  # the delete / remove confirmations
    tab.login("thuky")
    draft = page.locator("[data-group=preparing] a[data-state=draft]").first
    meeting_id = int(draft.get_attribute("data-meeting-id"))
    tab.open_meeting(meeting_id)
    page.wait_for_selector("#editor[data-ready=true]")

    # An item, a sub-item, an edit and a delete.
    page.click("[data-testid=agenda-add]")
    page.click("[data-testid=item-save]")  # no title: refused in the dialog, which stays open
    assert page.locator("[data-messages=item-dialog] .alert-error").count() == 1
    page.fill("#item-title", "Báo cáo kế hoạch đầu tư công trung hạn")
    page.click("[data-testid=item-save]")
    tab.expect_agenda([("1", "Báo cáo kế hoạch đầu tư công trung hạn")])
    page.click("#agenda-tree li[data-depth='1'] button[data-op=add-sub]")
    page.fill("#item-title", "Ý kiến của Ban Kinh tế – Ngân sách")
    page.fill("#item-minutes", "15")
    page.click("[data-testid=item-save]")
    tab.expect_agenda([("1", "Báo cáo kế hoạch đầu tư công trung hạn"), ("1.1", "Ý kiến của Ban Kinh tế – Ngân sách")])
    page.click("#agenda-tree li[data-depth='2'] button[data-op=edit]")
    assert page.input_value("#item-minutes") == "15"
    page.fill("#item-title", "Ý kiến thẩm tra của Ban Kinh tế – Ngân sách")
    page.fill("#item-minutes", "99999")  # out of range: the API says so, the dialog shows it
    page.click("[data-testid=item-save]")
    page.wait_for_selector("[data-messages=item-dialog] .alert-error")
    tab.shot("01-item-dialog-error.png", full_page=False)
    page.fill("#item-minutes", "20")
    page.click("[data-testid=item-save]")
    tab.expect_agenda([("1", "Báo cáo kế hoạch đầu tư công trung hạn"),
                       ("1.1", "Ý kiến thẩm tra của Ban Kinh tế – Ngân sách")])
    page.click("#agenda-tree li[data-depth='2'] button[data-op=delete]")
    tab.expect_agenda([("1", "Báo cáo kế hoạch đầu tư công trung hạn")])

    # A roster with a bad row is refused with a per-row report; a good one is imported.
    bad = tmp_path / "danh-sach-loi.csv"
    bad.write_text("username,role\ndaibieu2,delegate\nkhongtontai,delegate\ndaibieu3,thu-ky\n", encoding="utf-8")
    page.click(".import-box summary")
    page.set_input_files("#import-file", str(bad))
    page.click("[data-testid=import-submit]")
    page.wait_for_selector("[data-testid=import-report]:not([hidden])")
    rows = page.locator("[data-testid=import-report] tbody tr")
    assert rows.count() >= 2
    assert {rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())} >= {"3", "4"}
    assert page.locator("[data-messages=import] .alert-error").count() == 1
    assert page.locator("#participants-body tr[data-username=daibieu2]").count() == 0
    page.locator("#participants").evaluate("e => e.scrollIntoView()")
    tab.shot("02-import-report.png", full_page=False)
    good = tmp_path / "danh-sach.csv"
    good.write_text("username,role,can_vote\ndaibieu2,delegate,1\nkhachmoi,guest,0\n", encoding="utf-8")
    page.set_input_files("#import-file", str(good))
    page.click("[data-testid=import-submit]")
    page.wait_for_selector("#participants-body tr[data-username=khachmoi]")
    assert page.locator("[data-testid=import-report]").is_hidden()

    # Removing oneself as the secretary is refused by the server and explained; removing a guest works.
    page.click("#participants-body tr[data-username=thuky] button[data-op=remove]")
    page.wait_for_selector("[data-messages=participants] .alert-error")
    assert page.locator("#participants-body tr[data-username=thuky]").count() == 1
    page.click("#participants-body tr[data-username=khachmoi] button[data-op=remove]")
    page.wait_for_selector("#participants-body tr[data-username=khachmoi]", state="detached")

    # A session.
    page.fill("#session-title", "Phiên buổi sáng")
    page.fill("#session-starts", "2026-12-20T08:00")
    page.fill("#session-ends", "2026-12-20T11:30")
    page.click("[data-testid=session-add]")
    page.wait_for_selector("#sessions-list li[data-state=planned]")
    assert "08:00 20/12/2026" in page.inner_text("#sessions-list")
    tab.shot("03-editor-after-edits.png")

    # Everything above was saved: a reload shows the same.
    page.reload()
    page.wait_for_selector("#editor[data-ready=true]")
    tab.expect_agenda([("1", "Báo cáo kế hoạch đầu tư công trung hạn")])
    assert page.locator("#participants-body tr[data-username=daibieu2]").count() == 1
    assert page.locator("#sessions-list li").count() == 1

    assert not [p for p in tab.problems if p.startswith("script error")], tab.problems
    tab.context.close()
