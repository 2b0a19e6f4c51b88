"""Document pages through the Flask test client, on SQLite and PostgreSQL: the list (upload box for the
secretary only, reads for secretary and chair), the pdf.js viewer with its badge, the signature report in
plain words, the tablet's document list — and nobody sees a document outside its audience by any page."""
from __future__ import annotations

import html
import io

import pytest

from meetings.documents import verification
from tests.documents.test_api import participant, upload  # noqa: F401 — the upload fixture
from tests.pages.test_pages import PageClient, sign_in
from tests.signing.pdfgen import sample_pdf


@pytest.fixture
def new_client(app):
    def make(user=None, *, english: bool = True) -> PageClient:
        c = PageClient(app, app.response_class, use_cookies=True)
        if user is not None:
            sign_in(c, user)
        if english:
            c.get("/lang/en?next=/login")
        return c
    return make


@pytest.fixture(autouse=True)
def _fresh_reports():
    verification.clear_cache()  # reports are cached per file hash; each test has its own trust roots
    yield
    verification.clear_cache()


def page(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def test_secretary_gets_the_upload_box_delegates_only_the_list(new_client, world, upload):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary, title="Tờ trình số 7", number="7/TTr-UBND").json
    secretary = page(new_client(world.secretary).get(f"/meetings/{meeting.id}/documents"))
    assert 'data-testid="upload-card"' in secretary and 'data-testid="upload-input"' in secretary
    assert "Tờ trình số 7" in secretary and "7/TTr-UBND" in secretary
    assert 'data-verdict="valid"' in secretary and "Verified signature" in secretary
    assert "Opened by 0 of" in secretary  # read tracking

    delegate = page(new_client(world.delegate).get(f"/meetings/{meeting.id}/documents"))
    assert "Tờ trình số 7" in delegate and 'data-testid="upload-card"' not in delegate
    assert "Opened by" not in delegate and 'data-testid="new-version-input"' not in delegate
    assert f'/documents/{doc["id"]}/view' in delegate

    chair = page(new_client(world.chair).get(f"/meetings/{meeting.id}/documents"))
    assert "Opened by 0 of" in chair and 'data-testid="upload-card"' not in chair


def test_no_upload_box_once_the_meeting_is_over(new_client, world, upload):
    meeting = world.meeting("adjourned")
    resp = new_client(world.secretary).get(f"/meetings/{meeting.id}/documents")
    assert resp.status_code == 200 and 'data-testid="upload-card"' not in page(resp)


def test_confidential_documents_are_invisible_on_every_page(new_client, world, upload, other_world):
    meeting = world.meeting("published")
    only_a = participant(meeting, world.delegate).id
    secret = upload(meeting, world.secretary, title="Tài liệu mật", audience="participants",
                    participant_ids=only_a).json
    for path in (f"/meetings/{meeting.id}/documents", f"/meetings/{meeting.id}/documents/list",
                 f"/meetings/{meeting.id}/documents/list?mode=tablet"):
        assert "Tài liệu mật" in page(new_client(world.delegate).get(path))
        assert "Tài liệu mật" not in page(new_client(world.delegate2).get(path)), path
    for path in (f"/documents/{secret['id']}/view", f"/documents/{secret['id']}/signatures"):
        assert new_client(world.delegate).get(path).status_code == 200
        for who in (world.delegate2, world.guest, world.outsider, other_world.secretary):
            assert new_client(who).get(path).status_code == 404, (path, who.full_name)
    assert new_client(world.outsider).get(f"/meetings/{meeting.id}/documents").status_code == 404
    assert new_client().get(f"/meetings/{meeting.id}/documents").status_code in (302, 401)


def test_viewer_page_loads_pdfjs_with_the_file_and_the_badge(new_client, world, upload):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary, title="Dự thảo nghị quyết").json
    body = page(new_client(world.delegate).get(f"/documents/{doc['id']}/view"))
    assert f'data-file-url="/api/v1/documents/{doc["id"]}/file"' in body
    assert "vendor/pdfjs/pdf.worker.min.mjs" in body and "js/documents/viewer.js" in body
    assert 'data-testid="sig-badge"' in body and 'data-verdict="valid"' in body


def test_signature_report_in_plain_words(new_client, world, upload):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary).json
    body = page(new_client(world.delegate).get(f"/documents/{doc['id']}/signatures"))
    assert 'data-testid="verdict" data-verdict="valid"' in body
    assert "Signature valid" in body and "The signed content is intact" in body
    assert "Nothing was changed after signing" in body and "The whole document" in body
    vietnamese = page(new_client(world.delegate, english=False).get(f"/documents/{doc['id']}/signatures"))
    assert "Chữ ký hợp lệ" in vietnamese and "Nội dung đã ký còn nguyên vẹn" in vietnamese


def test_tablet_page_lists_documents_without_upload_actions(new_client, world, upload):
    meeting = world.meeting("published")
    upload(meeting, world.secretary, title="Báo cáo thẩm tra")
    body = page(new_client(world.secretary).get(f"/meetings/{meeting.id}/live"))
    assert 'data-testid="live-documents"' in body and "Báo cáo thẩm tra" in body
    assert 'data-testid="new-version-input"' not in body
    assert "/documents/list?mode=tablet" in body


def test_meeting_pages_link_to_the_documents(new_client, world):
    meeting = world.meeting("draft")
    assert 'data-testid="open-documents"' in page(new_client(world.secretary).get(f"/meetings/{meeting.id}"))
    published = world.meeting("published")
    assert 'data-testid="open-documents"' in page(new_client(world.delegate).get(f"/meetings/{published.id}"))


def test_verify_page_form(new_client, world):
    body = page(new_client(world.delegate).get("/verify"))
    assert 'data-testid="verify-form"' in body and 'enctype="multipart/form-data"' in body
    assert new_client().get("/verify").status_code in (302, 401)


def test_verify_page_checks_an_unsigned_pdf_and_refuses_non_pdf(new_client, world):
    client = new_client(world.delegate)
    resp = client.form("/verify", {"file": (io.BytesIO(sample_pdf(1)), "khong-ky.pdf")}, page="/verify")
    assert resp.status_code == 200
    body = page(resp)
    assert 'data-verdict="unsigned"' in body and "khong-ky.pdf" in body
    resp = client.form("/verify", {"file": (io.BytesIO(b"hello, not a pdf"), "note.txt")}, page="/verify")
    assert resp.status_code == 415 and 'data-testid="verify-error"' in page(resp)
    resp = client.form("/verify", {}, page="/verify")
    assert resp.status_code == 400 and 'data-testid="verify-error"' in page(resp)


def test_verify_page_confirms_a_document_downloaded_from_the_meeting(new_client, world, upload, client, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary, title="Nghị quyết").json
    signed = client.get(doc["file_url"], headers=token_for(world.delegate)).data
    resp = new_client(world.delegate).form("/verify", {"file": (io.BytesIO(signed), "nghi-quyet.pdf")}, page="/verify")
    body = page(resp)
    assert resp.status_code == 200 and 'data-testid="verdict" data-verdict="valid"' in body
    assert doc["current"]["sha256"] in body  # the page names the exact file it checked
    # One byte inside the signed range (the binary comment after the header): the report turns red.
    tampered = signed[:10] + bytes([signed[10] ^ 0x01]) + signed[11:]
    resp = new_client(world.delegate).form("/verify", {"file": (io.BytesIO(tampered), "sua.pdf")}, page="/verify")
    assert 'data-testid="verdict" data-verdict="invalid"' in page(resp)
