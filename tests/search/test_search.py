"""Searching archived meetings, on SQLite (FTS5) and PostgreSQL (GIN tsvector): same answers on both."""
from __future__ import annotations

import html
from datetime import datetime

import pytest
import sqlalchemy as sa

from meetings.core.db import VN_TZ
from meetings.core.errors import Unprocessable
from meetings.core.tx import commit
from meetings.documents.models import Document
from meetings.extensions import db
from meetings.meeting.models import Meeting, Participant
from meetings.search.models import SearchEntry
from meetings.search.operations import SearchSource, index_meeting, search
from tests.pages.test_pages import PageClient, sign_in

MINUTES = ("Biên bản kỳ họp thứ 12 Hội đồng nhân dân tỉnh. Đại biểu thảo luận kế hoạch Đầu tư công trung hạn "
           "giai đoạn 2026–2030 và biểu quyết thông qua.")


def archive(world, meeting) -> Meeting:
    """The meeting as the archive sees it (the lifecycle up to archiving is tested elsewhere)."""
    meeting.state = "archived"
    commit()
    return meeting


def index(meeting, minutes: str | None = MINUTES, documents: list[tuple[int, str, str]] = ()) -> int:
    sources = [SearchSource("minutes", meeting.id, "Biên bản kỳ họp", minutes)] if minutes is not None else []
    sources += [SearchSource("document", ref, title, body) for ref, title, body in documents]
    count = index_meeting(meeting.id, sources)
    commit()
    return count


@pytest.fixture
def archived(world):
    meeting = world.meeting("published", title="Kỳ họp thứ 12")
    archive(world, meeting)
    index(meeting)
    return meeting


def marked(item: dict) -> list[str]:
    return [p["text"] for p in item["snippet"] if p["match"]]


def snippet_text(item: dict) -> str:
    return "".join(p["text"] for p in item["snippet"])


# --- finding ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["bien ban", "BIÊN BẢN", "biên bản", "Bien   Ban", "bien ba", "dau tu cong",
                                   "ĐẦU TƯ CÔNG", "đầu tư", "2026 2030"])
def test_words_are_found_with_or_without_diacritics(world, archived, query):
    result = search(query, actor=world.delegate)
    assert result["total"] == 1, query
    item = result["items"][0]
    assert item["meeting_id"] == archived.id and item["kind"] == "minutes" and item["ref_id"] == archived.id
    assert item["meeting_title"] == "Kỳ họp thứ 12" and item["title"] == "Biên bản kỳ họp"
    assert item["meeting_date"] == "2026-12-01T08:00:00+07:00"
    assert result["query"] == query.strip()


def test_the_snippet_marks_the_matched_words_in_the_original(world, archived):
    item = search("dau tu cong", actor=world.delegate)["items"][0]
    assert marked(item) == ["Đầu", "tư", "công"]
    assert "thảo luận kế hoạch Đầu tư công trung hạn" in snippet_text(item)
    item = search("BIEN BAN", actor=world.delegate)["items"][0]
    assert marked(item) == ["Biên", "bản"]
    assert snippet_text(item).startswith("Biên bản kỳ họp thứ 12")
    assert snippet_text(item).endswith(" …")  # the minutes go on beyond the thirty words shown


def test_every_word_must_occur(world, archived):
    assert search("bien ban xyzzy", actor=world.delegate) == {"items": [], "total": 0, "query": "bien ban xyzzy"}
    assert search("khongcotu", actor=world.delegate)["total"] == 0
    assert search("bien", actor=world.delegate)["total"] == 1


def test_documents_are_found_and_link_to_their_ids(world):
    meeting = archive(world, world.meeting("published"))
    index(meeting, minutes="Không có gì.", documents=[(501, "Tờ trình", "Tờ trình về dự toán ngân sách tỉnh"),
                                                      (502, "Nghị quyết", "Nghị quyết về ngân sách nhà nước")])
    result = search("ngan sach", actor=world.delegate)
    assert result["total"] == 2
    assert {(i["kind"], i["ref_id"], i["title"]) for i in result["items"]} == \
        {("document", 501, "Tờ trình"), ("document", 502, "Nghị quyết")}
    assert [i["ref_id"] for i in search("du toan", actor=world.delegate)["items"]] == [501]


def test_a_long_text_is_found_anywhere_and_the_snippet_stays_short(world):
    meeting = archive(world, world.meeting("published"))
    filler = " ".join(f"nội dung {i}" for i in range(60_000))
    index(meeting, minutes=filler + " Kết luận: giao Sở Tài chính thẩm định nguồn vốn. " + filler)
    item = search("tham dinh nguon von", actor=world.delegate)["items"][0]
    assert marked(item) == ["thẩm", "định", "nguồn", "vốn"]
    assert len(snippet_text(item).split()) <= 34 and snippet_text(item).startswith("… ")


def test_text_the_databases_dislike_is_cleaned(world):
    meeting = archive(world, world.meeting("published"))
    index(meeting, minutes="Biên\x00bản\x07 có ký tự lạ \ud800 và NFD: " + "Hội đồng".encode().decode() +
          " quy\u0301 vi\u0323")
    entry = db.session.execute(sa.select(SearchEntry)).scalar_one()
    assert "\x00" not in entry.text and len(entry.text) == len(entry.folded)
    assert search("bien ban", actor=world.delegate)["total"] == 1
    assert marked(search("quý vị", actor=world.delegate)["items"][0]) == ["quý", "vị"]


# --- who sees what ---------------------------------------------------------------------------------------------

def test_only_archived_meetings_are_searched(world):
    for state in ("published", "closed"):
        meeting = world.meeting(state if state == "published" else "published")
        meeting.state = state
        commit()
        index(meeting)
    for user in (world.admin, world.secretary, world.delegate):
        assert search("bien ban", actor=user)["total"] == 0


def test_people_who_cannot_see_the_meeting_find_nothing(world, other_world, archived):
    for user in (world.outsider, other_world.secretary, other_world.delegate):
        assert search("bien ban", actor=user)["total"] == 0
    for user in (world.admin, world.secretary, world.approver, world.chair, world.delegate, world.guest):
        assert search("bien ban", actor=user)["total"] == 1, user.full_name


def test_documents_outside_their_audience_are_not_found(world):
    meeting = archive(world, world.meeting("published"))
    chair_only = Document(meeting_id=meeting.id, title="Mật", audience="roles", audience_roles=["chair"])
    everyone = Document(meeting_id=meeting.id, title="Công khai", audience="all")
    db.session.add_all([chair_only, everyone])
    commit()
    index(meeting, minutes=None, documents=[(chair_only.id, "Mật", "phương án nhân sự"),
                                            (everyone.id, "Công khai", "phương án tổ chức")])

    def found(user):
        return sorted(i["ref_id"] for i in search("phuong an", actor=user)["items"])

    assert found(world.delegate) == [everyone.id]
    assert search("phuong an", actor=world.delegate)["total"] == 1
    assert found(world.chair) == found(world.secretary) == found(world.admin) == sorted([chair_only.id, everyone.id])


def test_guests_find_nothing_of_a_closed_session(world):
    meeting = world.meeting("published")
    meeting.is_closed_session = True
    archive(world, meeting)
    doc = Document(meeting_id=meeting.id, title="Tài liệu", audience="all")
    db.session.add(doc)
    commit()
    index(meeting, documents=[(doc.id, "Tài liệu", "biên bản kèm theo")])
    assert search("bien ban", actor=world.guest)["total"] == 0
    assert search("bien ban", actor=world.delegate)["total"] == 2


# --- the query -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "   ", '"', "*", "()", "- : ^", "NEAR(", "AND OR NOT", "x" * 201,
                                   " ".join(f"w{n}" for n in range(33))])  # 33 different words
def test_empty_or_too_long_queries_are_unprocessable(world, query):
    with pytest.raises(Unprocessable):
        search(query, actor=world.delegate)


HOSTILE = ['"abc', "a OR", "OR a", "*", "a*", "*a", "NEAR(", "NEAR(a b, 2)", "a NOT b", "a AND", "(a", "a)",
           "folded:bien", "search_fts:x", "{a b}", "^bien", "bien + ban", "a - b", "a:*", "a & b | !c", "a <-> b",
           "'a'", "a''", "\\", "%", "_", "\x00", "bien\u0301", "🙂 biên", "ｂｉｅｎ", "ب", "中文",
           "x" * 5000, "a " * 150, "bien " * 40, "1e5", "0x1f", "12/2024/NQ-HĐND", "'; DROP TABLE search_entries; --"]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_answered_or_refused_never_an_error(world, archived, client, token_for, query):
    headers = token_for(world.delegate)
    resp = client.get("/api/v1/search", query_string={"q": query}, headers=headers)
    assert resp.status_code in (200, 422), resp.get_data(as_text=True)[:300]
    if resp.status_code == 422:
        assert resp.mimetype == "application/problem+json" and resp.json["detail"]
    else:
        assert resp.json["total"] == len(resp.json["items"])
    assert client.get("/api/v1/search", query_string={"q": query, "offset": 3}, headers=headers).status_code \
        in (200, 422)


def test_queries_that_are_not_text_are_answered_or_refused(world, archived, client, token_for):
    headers = token_for(world.delegate)
    for raw in (b"q=%ED%A0%80", b"q=bien%FF%FEban", b"q=%C0%AF", b"q=bien&q=ban", b"q", b"q=%00bien"):
        resp = client.get("/api/v1/search?" + raw.decode(), headers=headers)
        assert resp.status_code in (200, 422), raw
    for query in ("\ud800", "bien\ud800 ban", "\udfff\x00"):
        try:
            assert search(query, actor=world.delegate)["total"] in (0, 1)
        except Unprocessable:
            pass


def test_bad_paging_parameters_are_400(world, client, token_for):
    headers = token_for(world.delegate)
    for params in ({"limit": 0}, {"limit": 51}, {"limit": "x"}, {"offset": -1}, {"offset": 2**31},
                   {"offset": 10**30}, {"unknown": 1}):
        resp = client.get("/api/v1/search", query_string={"q": "bien", **params}, headers=headers)
        assert resp.status_code == 400, params


# --- paging, re-indexing ---------------------------------------------------------------------------------------

def test_limit_and_offset_page_through_newest_first(world):
    meetings = []
    for day in range(5):
        meeting = world.meeting("published", title=f"Phiên {day}")
        meeting.starts_at = datetime(2026, 1, 1 + day, 8, tzinfo=VN_TZ)
        archive(world, meeting)
        index(meeting, minutes=f"Biên bản phiên {day}")
        meetings.append(meeting)
    seen = []
    for offset in (0, 2, 4):
        page = search("bien ban", actor=world.delegate, limit=2, offset=offset)
        assert page["total"] == 5
        seen += [i["meeting_id"] for i in page["items"]]
    assert seen == [m.id for m in reversed(meetings)]
    assert search("bien ban", actor=world.delegate, limit=2, offset=5)["items"] == []
    assert len(search("bien ban", actor=world.delegate, limit=1000)["items"]) == 5


def test_reindexing_replaces_the_entries(world, archived):
    assert index(archived, documents=[(1, "Tài liệu", "báo cáo thẩm tra")]) == 2
    assert index(archived, minutes="Biên bản đã sửa: quyết toán", documents=[(1, "Tài liệu", "báo cáo")]) == 2
    assert db.session.execute(sa.select(sa.func.count(SearchEntry.id))).scalar_one() == 2
    assert search("bien ban", actor=world.delegate)["total"] == 1
    assert search("quyet toan", actor=world.delegate)["total"] == 1
    assert search("tham tra", actor=world.delegate)["total"] == 0  # the old text is out of the index too
    assert search("dau tu cong", actor=world.delegate)["total"] == 0
    if db.engine.dialect.name == "sqlite":  # the triggers kept FTS5 in step with its content table
        db.session.execute(sa.text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
    assert index(archived, minutes=None) == 0
    assert search("bien", actor=world.delegate)["total"] == 0


def test_deleting_a_meeting_deletes_its_entries(world, archived):
    db.session.execute(sa.delete(Participant).where(Participant.meeting_id == archived.id))
    db.session.execute(sa.delete(Meeting).where(Meeting.id == archived.id))
    commit()
    assert db.session.execute(sa.select(sa.func.count(SearchEntry.id))).scalar_one() == 0
    if db.engine.dialect.name == "sqlite":
        db.session.execute(sa.text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def test_unknown_kinds_are_a_programming_error(world, archived):
    with pytest.raises(ValueError):
        index_meeting(archived.id, [SearchSource("agenda", 1, "x", "y")])
    db.session.rollback()


def test_the_full_text_index_answers_the_query(world, archived):
    """The statements search() runs can be answered by the full-text index: on PostgreSQL the GIN index on
    the same expression (sequential scans off: on a handful of rows the planner rightly prefers reading
    them), on SQLite FTS5."""
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "search_entries" in statement and ("MATCH" in statement or "@@" in statement):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert search("bien ban", actor=world.delegate)["total"] == 1
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert len(statements) == 2  # the count and the page
    connection = db.session.connection()
    for statement, parameters in statements:
        if db.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert "Bitmap Index Scan on ix_search_entries_fts" in plan, plan
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "SCAN search_fts VIRTUAL TABLE INDEX" in plan, plan
    db.session.rollback()


# --- the API and the page --------------------------------------------------------------------------------------

def test_the_api_answers_with_the_documented_shape(world, archived, client, token_for):
    assert client.get("/api/v1/search?q=bien").status_code == 401
    resp = client.get("/api/v1/search?q=bi%C3%AAn%20b%E1%BA%A3n&limit=5", headers=token_for(world.delegate))
    assert resp.status_code == 200
    body = resp.json
    assert body["total"] == 1 and body["query"] == "biên bản"
    item = body["items"][0]
    assert set(item) == {"meeting_id", "meeting_title", "meeting_date", "kind", "ref_id", "title", "snippet"}
    assert [p["text"] for p in item["snippet"] if p["match"]] == ["Biên", "bản"]
    resp = client.get("/api/v1/search?q=", headers=token_for(world.delegate))
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert "/api/v1/search" in client.get("/api/openapi.json").json["paths"]


@pytest.fixture
def page_client(app):
    def make(user):
        c = PageClient(app, app.response_class, use_cookies=True)
        sign_in(c, user)
        c.get("/lang/en?next=/login")
        return c
    return make


def test_the_page_shows_results_with_marks_and_escapes_the_text(world, page_client):
    meeting = archive(world, world.meeting("published", title="Kỳ họp <b>đặc biệt</b>"))
    doc = Document(meeting_id=meeting.id, title="Tờ trình <i>số 5</i>", audience="all")
    db.session.add(doc)
    commit()
    index(meeting, minutes='<script>alert("x")</script> Biên bản & kết luận',
          documents=[(doc.id, "Tờ trình <i>số 5</i>", "Dự thảo biên bản <img src=x onerror=alert(1)>")])
    resp = page_client(world.delegate).get("/search?q=bien+ban")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>đặc" not in page and "<i>số" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; <mark>Biên</mark> <mark>bản</mark> &amp; kết luận" in page
    assert "Dự thảo <mark>biên</mark> <mark>bản</mark> &lt;img src=x" in page
    assert f'href="/documents/{doc.id}/view"' in page and f'href="/meetings/{meeting.id}"' in page
    assert 'data-kind="minutes"' in page and 'data-kind="document"' in page
    assert 'data-total="2"' in page and "autofocus" in page
    assert "Kỳ họp &lt;b&gt;đặc biệt&lt;/b&gt;" in page


def test_the_page_says_when_nothing_is_found(world, archived, page_client):
    client = page_client(world.delegate)
    resp = client.get("/search?q=%3Cem%3Ekhongco%3C/em%3E")
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200 and 'data-testid="search-empty"' in page
    assert "No results for “<em>khongco</em>”" in page
    assert "<em>khongco</em>" not in resp.get_data(as_text=True)  # shown, not interpreted
    resp = client.get("/search")
    assert resp.status_code == 200 and "search-results" not in resp.get_data(as_text=True)
    resp = client.get("/search?q=***")
    assert resp.status_code == 422 and 'data-testid="search-error"' in resp.get_data(as_text=True)
    assert client.get("/search?q=bien&page=abc").status_code == 200
    assert client.get("/search?q=bien&page=99999999999999999999").status_code == 200
    assert client.get("/search?q=bien&page=" + "9" * 4400).status_code == 200  # beyond what int() takes


def test_the_page_needs_a_login_and_the_header_links_to_it(world, app, page_client):
    anonymous = PageClient(app, app.response_class, use_cookies=True)
    resp = anonymous.get("/search?q=bien")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    home = page_client(world.delegate).get("/").get_data(as_text=True)
    assert 'data-testid="nav-search"' in home and 'href="/search"' in home
