"""The server-rendered pages, through the Flask test client, on SQLite and PostgreSQL.

Form posts carry the real CSRF token scraped from the page (as a browser does), and the editor's REST calls
carry it in X-CSRFToken (as static/js/http.js does), so the tests also prove the CSRF wiring. Assertions
on text switch the session to English first, so they survive the Vietnamese catalog; everything else is
asserted through ids and data-* attributes.
"""
from __future__ import annotations

import html
import io
import json
import re
from datetime import datetime, timezone

import pytest

from tests.fixtures.clients import RequestScopedClient

from meetings.bodies.operations import add_body_member
from meetings.bodies.schemas import BodyMemberIn
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import Meeting

PASSWORD = "mat-khau-2026"
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class PageClient(RequestScopedClient):
    """The browser's view: forms carry the page's CSRF token, API calls the X-CSRFToken header."""

    def csrf(self, path: str = "/login") -> str:
        return META_CSRF.search(self.get(path).get_data(as_text=True)).group(1)

    def form(self, path: str, data: dict, *, page: str | None = None):
        """POST a form with the token of the page it is on (``page``, default the same path)."""
        token = self.csrf(page or path)
        return self.post(path, data={**data, "csrf_token": token})

    def api(self, method: str, path: str, payload=None, *, page: str):
        """What static/js/http.js does: the session cookie plus the page's token in X-CSRFToken."""
        token = self.csrf(page)
        return self.open(path, method=method, json=payload, headers={"X-CSRFToken": token})


@pytest.fixture
def new_client(app):
    app.test_client_class = PageClient

    def make() -> PageClient:
        return app.test_client()
    return make


@pytest.fixture
def client(new_client):
    return new_client()


def sign_in(client: PageClient, user) -> PageClient:
    """Log in without a password (factory users have none), the way the login view does it."""
    with client.session_transaction() as session:
        session["uid"] = user.id
        session["epoch"] = user.session_epoch
    return client


def log_in(client: PageClient, username: str, password: str = PASSWORD):
    return client.form("/login", {"username": username, "password": password})


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def state_of(meeting_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Meeting, meeting_id).state


def english(client: PageClient) -> PageClient:
    client.get("/lang/en?next=/login")
    return client


# --- login, language, CSRF --------------------------------------------------------------------------------

def test_login_page_is_vietnamese_by_default_and_english_on_request(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    page = text(resp)
    assert '<html lang="vi">' in page
    assert 'lang="vi" hreflang="vi"\n           aria-current="true"' in page
    assert 'name="csrf-token"' in page and 'name="csrf_token"' in page

    resp = client.get("/lang/en?next=/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    page = text(client.get("/login"))
    assert '<html lang="en">' in page
    assert "Log in" in page and "Username" in page and "Password" in page


def test_language_switch_refuses_foreign_redirects(client):
    resp = client.get("/lang/en?next=https://evil.example/")
    assert resp.headers["Location"] == "/"


def test_wrong_password_shows_an_error(client, make_user):
    make_user("nguyenvana", password=PASSWORD)
    resp = log_in(client, "nguyenvana", "sai-mat-khau")
    assert resp.status_code == 401
    assert 'role="alert"' in text(resp)

    resp = log_in(english(client), "nguyenvana", "sai-mat-khau")
    assert "Wrong username or password." in text(resp)
    assert client.get("/").status_code == 302  # still not logged in


def test_login_and_logout(client, make_user):
    make_user("tranthib", full_name="Trần Thị B", password=PASSWORD)
    resp = log_in(client, "tranthib")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    home = text(client.get("/"))
    assert "Trần Thị B" in home and 'data-testid="logout"' in home

    resp = client.form("/logout", {}, page="/")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_pages_require_login(client, world):
    meeting = world.meeting("published")
    for path in ("/", "/meetings/new", f"/meetings/{meeting.id}"):
        resp = client.get(path)
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/login?next=")


def test_a_post_without_csrf_token_is_refused(client, world):
    meeting = world.meeting("draft")
    resp = client.post("/login", data={"username": "x", "password": "y"})
    assert resp.status_code == 400
    assert 'data-testid="error"' in text(resp)

    sign_in(client, world.secretary)
    resp = client.post(f"/meetings/{meeting.id}/transition", data={"action": "submit"})
    assert resp.status_code == 400
    assert state_of(meeting.id) == "draft"

    # The editor's API calls with the session cookie need the token in the header too.
    resp = client.post(f"/api/v1/meetings/{meeting.id}/agenda", json={"title": "Không có mã"})
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"


# --- the whole preparation through the pages -------------------------------------------------------------

@pytest.fixture
def people(make_user, make_body):
    """A body whose secretary and approver have passwords, and a delegate, for logging in through the form."""
    body = make_body(name="Hội đồng nhân dân tỉnh Thử nghiệm", short_name="HĐND tỉnh")
    secretary = make_user("thuky", full_name="Nguyễn Thị Thu", password=PASSWORD)
    approver = make_user("lanhdao", full_name="Trần Văn Đức", password=PASSWORD)
    delegate = make_user("daibieu", full_name="Phạm Thị Lan", password=PASSWORD)
    add_body_member(body, BodyMemberIn(user_id=secretary.id, role="secretary"), actor=None)
    add_body_member(body, BodyMemberIn(user_id=approver.id, role="approver"), actor=None)
    commit()
    return body, secretary, approver, delegate


def test_full_lifecycle_through_the_pages(new_client, people, make_user):
    body, _secretary, _approver, delegate = people
    chair = make_user("chutoa", full_name="Lê Minh Hoàng")
    sec, apr, dlg = new_client(), new_client(), new_client()
    for client, username in ((sec, "thuky"), (apr, "lanhdao"), (dlg, "daibieu")):
        assert log_in(client, username).status_code == 302

    # The secretary creates the meeting.
    home = text(sec.get("/"))
    assert 'data-testid="new-meeting"' in home
    assert 'data-testid="no-meetings"' in home
    resp = sec.form("/meetings/new", {"body_id": str(body.id), "title": "Kỳ họp thứ Mười ba",
                                      "number": "Kỳ họp 13", "place": "Hội trường tầng 3",
                                      "starts_at": "2026-12-01T08:00", "ends_at": "2026-12-01T11:30",
                                      "description": "Kỳ họp thường lệ."})
    assert resp.status_code == 302
    meeting_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    meeting = db.session.get(Meeting, meeting_id)
    assert meeting.state == "draft"
    # The datetime-local value is Vietnam time: 08:00 +07:00 is 01:00 UTC.
    assert meeting.starts_at == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    page = f"/meetings/{meeting_id}"
    editor = text(sec.get(page))
    assert 'id="editor"' in editor and 'data-testid="details-form"' in editor
    assert 'value="2026-12-01T08:00"' in editor

    # The editor's script adds the agenda (one sub-item) and the delegate through the API.
    first = sec.api("POST", f"/api/v1/meetings/{meeting_id}/agenda", {"title": "Khai mạc", "planned_minutes": 10},
                    page=page)
    assert first.status_code == 201, first.json
    sec.api("POST", f"/api/v1/meetings/{meeting_id}/agenda", {"title": "Báo cáo kinh tế – xã hội"}, page=page)
    sec.api("POST", f"/api/v1/meetings/{meeting_id}/agenda",
            {"title": "Thẩm tra của Ban Kinh tế", "parent_id": first.json["id"]}, page=page)
    resp = sec.api("POST", f"/api/v1/meetings/{meeting_id}/participants",
                   {"user_id": delegate.id, "role": "delegate", "can_vote": True}, page=page)
    assert resp.status_code == 201, resp.json

    # Without a chair the meeting is not ready for approval: the page says so and nothing changes.
    resp = sec.form(f"{page}/transition", {"action": "submit"}, page=page)
    assert resp.status_code == 302 and state_of(meeting_id) == "draft"
    assert "chưa phân công chủ tọa" in text(sec.get(page)).lower()
    resp = sec.api("POST", f"/api/v1/meetings/{meeting_id}/participants",
                   {"user_id": chair.id, "role": "chair"}, page=page)
    assert resp.status_code == 201, resp.json
    data = json.loads(re.search(r'id="editor-data">(.*?)</script>', sec.get(page).get_data(as_text=True)).group(1))
    assert [i["title"] for i in data["agenda"]["items"]] == ["Khai mạc", "Báo cáo kinh tế – xã hội"]
    assert data["agenda"]["items"][0]["children"][0]["number"] == "1.1"
    assert "daibieu" in {p["username"] for p in data["participants"]}

    # The delegate cannot see the draft yet.
    assert dlg.get(page).status_code == 404

    # Submit; the approver finds it waiting and returns it with a comment.
    resp = sec.form(f"{page}/transition", {"action": "submit"}, page=page)
    assert resp.status_code == 302 and state_of(meeting_id) == "submitted"
    assert 'data-testid="readonly-notice"' in text(sec.get(page))
    assert f'data-meeting-id="{meeting_id}"' in home_groups(text(apr.get("/")))["approval"]
    review = text(apr.get(page))
    assert 'data-testid="review-panel"' in review and "Thẩm tra của Ban Kinh tế" in review

    resp = apr.form(f"{page}/transition", {"action": "reject", "comment": ""}, page=page)
    assert resp.status_code == 302 and state_of(meeting_id) == "submitted"  # a comment is required
    assert 'class="alert alert-error"' in text(apr.get(page))

    comment = "Bổ sung báo cáo thẩm tra của Ban Pháp chế."
    apr.form(f"{page}/transition", {"action": "reject", "comment": comment}, page=page)
    assert state_of(meeting_id) == "draft"
    shown = text(sec.get(page))
    assert 'data-testid="rejection"' in shown and comment in shown
    assert 'id="editor"' in shown  # back in the editor

    # Resubmit, approve, publish.
    sec.form(f"{page}/transition", {"action": "submit"}, page=page)
    assert state_of(meeting_id) == "submitted"
    apr.form(f"{page}/transition", {"action": "approve", "comment": "Đồng ý."}, page=page)
    assert state_of(meeting_id) == "approved"
    assert 'data-action="publish"' in text(sec.get(page))
    sec.form(f"{page}/transition", {"action": "publish"}, page=page)
    assert state_of(meeting_id) == "published"
    history = text(sec.get(page))
    assert [m for m in re.findall(r'class="timeline-item timeline-(\w+)"', history)] == \
        ["publish", "approve", "submit", "reject", "submit"]

    # The delegate sees it on the home page and reads it.
    upcoming = home_groups(text(dlg.get("/")))["upcoming"]
    assert f'data-meeting-id="{meeting_id}" data-state="published"' in upcoming
    view = text(dlg.get(page))
    assert 'id="editor"' not in view and 'data-testid="review-panel"' not in view
    numbers = re.findall(r'data-item-id="\d+" data-number="([\d.]+)"', view)
    assert numbers == ["1", "1.1", "2"]
    for title in ("Khai mạc", "Thẩm tra của Ban Kinh tế", "Báo cáo kinh tế – xã hội", "Hội trường tầng 3"):
        assert title in view
    assert 'data-username="daibieu"' in view
    assert 'data-testid="history"' not in view  # the review history is for those who prepare


# --- visibility -------------------------------------------------------------------------------------------

def test_a_delegate_cannot_see_a_draft_meeting(client, world):
    meeting = world.meeting("draft")
    resp = sign_in(client, world.delegate).get(f"/meetings/{meeting.id}")
    assert resp.status_code == 404
    page = text(resp)
    assert 'data-testid="error"' in page and 'data-status="404"' in page
    assert f'data-meeting-id="{meeting.id}"' not in text(client.get("/"))


def test_an_outsider_gets_404(client, world):
    meeting = world.meeting("published")
    sign_in(client, world.outsider)
    resp = client.get(f"/meetings/{meeting.id}")
    assert resp.status_code == 404 and 'data-status="404"' in text(resp)
    assert client.get("/meetings/999999").status_code == 404
    resp = client.form(f"/meetings/{meeting.id}/transition", {"action": "start"}, page="/")
    assert resp.status_code == 404
    assert state_of(meeting.id) == "published"


def test_unknown_pages_render_the_friendly_404(client, world):
    resp = english(sign_in(client, world.delegate)).get("/no/such/page")
    assert resp.status_code == 404
    page = text(resp)
    assert "The page does not exist, or it is not visible to you." in page
    assert "requested URL was not found" not in page  # Werkzeug's stock text gives way


def home_groups(page: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'data-group="(\w+)"(.*?)</section>', page, re.S)}


ROLE_USERS = ("secretary", "approver", "chair", "delegate", "guest", "admin", "outsider")


@pytest.mark.parametrize("state", ["draft", "submitted", "approved", "published", "in_session", "closed"])
def test_every_role_gets_its_page_in_every_state(new_client, world, state):
    meeting = world.meeting(state, items=2)
    preparing = state in ("draft", "submitted", "approved")
    for role in ROLE_USERS:
        client = sign_in(new_client(), getattr(world, role))
        resp = client.get(f"/meetings/{meeting.id}")
        if role == "outsider" or (preparing and role in ("chair", "delegate", "guest")):
            assert resp.status_code == 404, role
            continue
        assert resp.status_code == 200, (role, resp.status_code)
        page = text(resp)
        assert f'data-state="{state}"' in page
        editable = state in ("draft", "published", "in_session")
        assert ('id="editor"' in page) == (role == "secretary" and editable), role
        assert ('data-testid="review-panel"' in page) == (role == "approver" and state == "submitted"), role
        assert ('data-testid="readonly-notice"' in page) == (
            role in ("secretary", "approver", "admin") and (not editable or (state == "draft" and role != "secretary"))
        ), role
        assert client.get("/").status_code == 200


def test_home_groups_meetings_by_what_to_do(new_client, world):
    waiting = world.meeting("submitted", title="Chờ duyệt")
    draft = world.meeting("draft", title="Đang soạn")
    published = world.meeting("published", title="Đã công bố")

    approver_home = text(sign_in(new_client(), world.approver).get("/"))
    groups = home_groups(approver_home)
    assert f'data-meeting-id="{waiting.id}"' in groups["approval"]
    assert f'data-meeting-id="{draft.id}"' in groups["preparing"]
    assert f'data-meeting-id="{published.id}"' in groups["upcoming"]
    assert 'data-testid="new-meeting"' not in approver_home

    secretary_home = text(sign_in(new_client(), world.secretary).get("/"))
    assert 'data-group="approval"' not in secretary_home
    assert 'data-testid="new-meeting"' in secretary_home
    assert 'data-role="secretary"' in secretary_home

    delegate_home = text(sign_in(new_client(), world.delegate).get("/"))
    assert f'data-meeting-id="{published.id}"' in delegate_home
    assert f'data-meeting-id="{draft.id}"' not in delegate_home
    assert f'data-meeting-id="{waiting.id}"' not in delegate_home
    assert 'data-testid="new-meeting"' not in delegate_home

    # The admin may create meetings for any body.
    assert 'data-testid="new-meeting"' in text(sign_in(new_client(), world.admin).get("/"))


# --- forms: rules broken never become a 500 ---------------------------------------------------------------

def test_details_form_saves_and_reports_bad_input(client, world):
    meeting = world.meeting("draft")
    page = f"/meetings/{meeting.id}"
    english(sign_in(client, world.secretary))
    resp = client.form(f"{page}/details", {"title": "Kỳ họp bất thường", "number": "", "place": "Phòng 2",
                                           "description": "", "starts_at": "2026-12-02T14:00",
                                           "ends_at": "2026-12-02T17:00", "is_closed_session": "1"}, page=page)
    assert resp.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Meeting, meeting.id)
    assert (saved.title, saved.place, saved.is_closed_session) == ("Kỳ họp bất thường", "Phòng 2", True)
    assert saved.starts_at == datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)
    assert "The details were saved." in text(client.get(page))

    for bad, message in (({"title": ""}, "must not be empty"),
                         ({"title": "x", "starts_at": "không phải ngày"}, "is not a valid date and time"),
                         ({"title": "x", "starts_at": "2026-12-02T14:00", "ends_at": "2026-12-02T13:00"},
                          "The end time must be after the start time.")):
        resp = client.form(f"{page}/details", bad, page=page)
        assert resp.status_code == 302
        assert message in text(client.get(page)), bad
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).title == "Kỳ họp bất thường"


def test_submitting_an_unready_meeting_explains_why(client, world):
    meeting = world.meeting("draft", items=0)
    page = f"/meetings/{meeting.id}"
    english(sign_in(client, world.secretary))
    client.form(f"{page}/transition", {"action": "submit"}, page=page)
    assert state_of(meeting.id) == "draft"
    assert "the agenda is empty" in text(client.get(page))


def test_a_transition_the_role_may_not_perform_is_refused_with_a_message(client, world):
    meeting = world.meeting("draft")
    page = f"/meetings/{meeting.id}"
    english(sign_in(client, world.approver))
    resp = client.form(f"{page}/transition", {"action": "submit"}, page=page)
    assert resp.status_code == 302
    assert state_of(meeting.id) == "draft"
    assert "Only these roles may do this" in text(client.get(page))
    client.form(f"{page}/transition", {"action": "dance"}, page=page)
    assert "is not valid" in text(client.get(page))


def test_new_meeting_page_for_someone_who_is_no_secretary(client, world):
    english(sign_in(client, world.delegate))
    assert "You are not the secretary of any body" in text(client.get("/meetings/new"))
    resp = client.form("/meetings/new", {"body_id": str(world.body.id), "title": "Lén lút"}, page="/")
    assert resp.status_code == 422
    assert "You may only create meetings for a body whose secretary you are." in text(resp)
    assert db.session.query(Meeting).count() == 0


def test_new_meeting_keeps_the_input_when_invalid(client, world):
    english(sign_in(client, world.secretary))
    resp = client.form("/meetings/new", {"body_id": str(world.body.id), "title": "", "place": "Phòng họp số 5"},
                       page="/meetings/new")
    assert resp.status_code == 422
    page = text(resp)
    assert "must not be empty" in page and 'value="Phòng họp số 5"' in page


def test_editor_shows_import_errors_the_way_the_api_reports_them(client, world):
    """The editor's import report reads {detail, errors: [{row, message}]} from a 422."""
    meeting = world.meeting("draft")
    page = f"/meetings/{meeting.id}"
    sign_in(client, world.secretary)
    token = client.csrf(page)
    resp = client.post(f"{page.replace('/meetings', '/api/v1/meetings')}/participants/import",
                       data={"file": (io.BytesIO("username,role\nkhongco,delegate\n".encode()), "ds.csv")},
                       headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert resp.json["detail"] and resp.json["errors"][0]["row"] == 2 and resp.json["errors"][0]["message"]
    assert 'data-testid="import-report"' in text(client.get(page))


def test_api_docs_page(client):
    page = text(client.get("/api/docs"))
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in page and "/api/openapi.json" in page
    assert 'href="/"' in page
    assert 'href="/api/docs"' in text(client.get("/login"))  # linked from every page's footer


def test_the_item_under_discussion_is_highlighted(client, world):
    from meetings.agenda.operations import agenda_items, set_current_item

    meeting = world.meeting("in_session", items=3)
    second = agenda_items(meeting.id)[1]
    set_current_item(meeting.id, second.id, actor=world.chair)
    commit()
    page = text(sign_in(client, world.delegate).get(f"/meetings/{meeting.id}"))
    current = re.findall(r'<li class="outline-item depth-1 is-current"\s+data-item-id="(\d+)"', page)
    assert current == [str(second.id)]
    assert 'aria-current="step"' in page
