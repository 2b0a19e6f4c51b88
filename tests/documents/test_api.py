"""Documents over REST on SQLite and PostgreSQL: upload → intake → signature → versions → who may read them."""
from __future__ import annotations

import io

import pikepdf
import pytest
import sqlalchemy as sa

from meetings.core.events import MeetingEvent
from meetings.documents.models import Document, DocumentVersion
from meetings.extensions import db
from meetings.meeting.models import Participant
from tests.documents.corpus import js
from tests.fixtures.factories import audit_trail, row_counts
from tests.signing.pdfgen import sample_pdf

PDF = sample_pdf(2)


def pdf_with_javascript() -> bytes:
    pdf = pikepdf.open(io.BytesIO(sample_pdf(1)))
    pdf.Root.OpenAction = js(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    pdf = pikepdf.open(io.BytesIO(sample_pdf(1)))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="mat-khau", owner="chu", aes=True, R=6))
    return out.getvalue()


@pytest.fixture
def upload(client, token_for):
    tokens: dict[int, dict] = {}

    def headers(user) -> dict:
        if user.id not in tokens:
            tokens[user.id] = token_for(user)
        return tokens[user.id]

    def post(meeting, user, data: bytes = PDF, name: str = "bao-cao.pdf", **fields):
        form = {"file": (io.BytesIO(data), name), **{k: str(v) for k, v in fields.items()}}
        return client.post(f"/api/v1/meetings/{meeting.id}/documents", data=form, headers=headers(user),
                            content_type="multipart/form-data")
    post.headers = headers
    return post


def participant(meeting, user) -> Participant:
    return next(p for p in meeting.participants if p.user_id == user.id)


def test_secretary_uploads_a_signed_document_that_verifies(client, world, upload, token_for):
    meeting = world.meeting("published")
    resp = upload(meeting, world.secretary, title="Báo cáo kinh tế – xã hội", number="12/BC-UBND")
    assert resp.status_code == 201, resp.json
    doc = resp.json
    assert doc["title"] == "Báo cáo kinh tế – xã hội" and doc["current"]["pages"] == 2
    assert doc["current"]["original_sha256"] != doc["current"]["sha256"]  # cleaned and signed, not the upload
    stored = db.session.get(Document, doc["id"])
    assert stored.current_version.blob_sha256 == doc["current"]["sha256"]
    events = db.session.execute(sa.select(MeetingEvent).where(MeetingEvent.meeting_id == meeting.id)
                                .order_by(MeetingEvent.seq.desc())).scalars().first()
    assert events.type == "document.published" and events.payload["document_id"] == doc["id"]
    assert audit_trail(meeting.id)[-1].action == "document.add"
    file = client.get(doc["file_url"], headers=token_for(world.delegate))
    assert file.status_code == 200 and file.data.startswith(b"%PDF") and file.headers["ETag"] == f'"{doc["current"]["sha256"]}"'
    report = client.get(f"/api/v1/documents/{doc['id']}/verification", headers=token_for(world.delegate)).json
    assert report["verdict"] == "valid"
    assert report["signatures"][0]["intact"] and report["signatures"][0]["trusted"]


def test_active_content_is_removed_and_reported(world, upload):
    resp = upload(world.meeting("published"), world.secretary, data=pdf_with_javascript(), name="js.pdf")
    assert resp.status_code == 201
    assert resp.json["current"]["removed"] == [{"kind": "javascript", "where": "OpenAction"}]


@pytest.mark.parametrize("data, status, words", [
    (b"\x89PNG\r\n\x1a\n" + b"0" * 100, 415, "không phải là tài liệu PDF"),
    (b"%PDF-1.7\n garbage without an end", 422, ""),
    (None, 422, "mật khẩu"),
])
def test_hostile_uploads_are_refused_with_a_reason_and_write_nothing(world, upload, data, status, words):
    meeting = world.meeting("published")
    upload.headers(world.secretary)
    before = row_counts()
    resp = upload(meeting, world.secretary, data=data if data is not None else encrypted_pdf())
    assert resp.status_code == status, resp.json
    assert resp.mimetype == "application/problem+json" and words in resp.json["detail"]
    db.session.rollback()
    assert row_counts() == before


def test_oversized_upload_is_413(app, client, world, upload):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    app.config["MAX_UPLOAD_MB"] = 1
    meeting = world.meeting("published")
    # Encoded in memory: the test client would spool a 2 MB body to a temp file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(PDF + b"%" * (2 * 1024 * 1024)), "big.pdf")})
    resp = client.post(f"/api/v1/meetings/{meeting.id}/documents", data=body, headers=upload.headers(world.secretary),
                       content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    assert "1 MB" in resp.json["detail"]


def test_who_may_upload_and_when(world, upload, other_world):
    published, submitted = world.meeting("published"), world.meeting("submitted")
    for user in (world.delegate, world.chair, world.guest):
        assert upload(published, user).status_code == 403
    assert upload(published, world.outsider).status_code == 404
    assert upload(published, other_world.secretary).status_code == 404  # another body's meeting
    assert upload(submitted, world.secretary).status_code == 409  # under review: frozen


def test_confidential_documents_reach_only_their_audience(client, world, upload, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary, audience="participants",
                 participant_ids=participant(meeting, world.delegate).id).json
    by_role = upload(meeting, world.secretary, audience="roles", roles="chair").json
    public = upload(meeting, world.secretary).json

    def titles(user):
        return [d["id"] for d in client.get(f"/api/v1/meetings/{meeting.id}/documents",
                                            headers=token_for(user)).json["items"]]
    assert titles(world.delegate) == [doc["id"], public["id"]]
    assert titles(world.delegate2) == [public["id"]]
    assert titles(world.chair) == [by_role["id"], public["id"]]
    assert titles(world.secretary) == [doc["id"], by_role["id"], public["id"]]
    for path in (f"/api/v1/documents/{doc['id']}", f"/api/v1/documents/{doc['id']}/file",
                 f"/api/v1/documents/{doc['id']}/verification", f"/api/v1/documents/{doc['id']}/versions/1/file"):
        resp = client.get(path, headers=token_for(world.delegate2))
        assert resp.status_code == 404, path  # not 403: its existence is not revealed
    # the event went to its audience only
    seen = client.get(f"/api/v1/meetings/{meeting.id}/events?after=1", headers=token_for(world.delegate2)).json
    assert [e["document_id"] for e in seen["events"] if e["type"] == "document.published"] == [public["id"]]
    seen = client.get(f"/api/v1/meetings/{meeting.id}/events?after=1", headers=token_for(world.delegate)).json
    assert [e["document_id"] for e in seen["events"] if e["type"] == "document.published"] == [doc["id"], public["id"]]


def test_bad_audiences_are_refused(world, upload, other_world):
    meeting, other = world.meeting("published"), other_world.meeting("published")
    foreign = other.participants[0].id
    assert upload(meeting, world.secretary, audience="everyone").status_code == 400
    assert upload(meeting, world.secretary, audience="participants").status_code == 422
    assert upload(meeting, world.secretary, audience="participants", participant_ids=foreign).status_code == 422
    assert upload(meeting, world.secretary, audience="participants", participant_ids="1;2").status_code == 400
    assert upload(meeting, world.secretary, audience="roles", roles="king").status_code == 422
    assert upload(meeting, world.secretary, agenda_item_id=999999).status_code == 422


def test_etag_range_and_revalidation(client, world, upload, token_for):
    doc = upload(world.meeting("published"), world.secretary).json
    headers = token_for(world.delegate)
    full = client.get(doc["file_url"], headers=headers)
    size, etag = len(full.data), full.headers["ETag"]
    assert full.headers["Accept-Ranges"] == "bytes" and "private" in full.headers["Cache-Control"]
    assert int(full.headers["Content-Length"]) == size
    assert client.get(doc["file_url"], headers={**headers, "If-None-Match": etag}).status_code == 304
    part = client.get(doc["file_url"], headers={**headers, "Range": "bytes=10-29"})
    assert part.status_code == 206 and part.data == full.data[10:30]
    assert part.headers["Content-Range"] == f"bytes 10-29/{size}"
    tail = client.get(doc["file_url"], headers={**headers, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == full.data[-5:]
    stale = client.get(doc["file_url"], headers={**headers, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == full.data  # the range was of another version
    bad = client.get(doc["file_url"], headers={**headers, "Range": f"bytes={size + 10}-{size + 20}"})
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{size}"


def test_a_new_version_replaces_the_file_and_keeps_the_old_one_for_secretaries(client, world, upload, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary).json
    resp = client.post(f"/api/v1/documents/{doc['id']}/versions", headers=token_for(world.secretary),
                       data={"file": (io.BytesIO(sample_pdf(3)), "v2.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    assert resp.json["current"]["version_no"] == 2 and resp.json["current"]["pages"] == 3
    assert [v["version_no"] for v in resp.json["versions"]] == [1, 2]
    assert db.session.execute(sa.select(sa.func.count()).select_from(DocumentVersion)).scalar_one() == 2
    delegate = token_for(world.delegate)
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=delegate).json["versions"] is None
    assert client.get(f"/api/v1/documents/{doc['id']}/versions/1/file", headers=delegate).status_code == 403
    old = client.get(f"/api/v1/documents/{doc['id']}/versions/1/file", headers=token_for(world.secretary))
    assert old.status_code == 200 and old.headers["ETag"] == f'"{doc["current"]["sha256"]}"'
    last = db.session.execute(sa.select(MeetingEvent).where(MeetingEvent.meeting_id == meeting.id)
                              .order_by(MeetingEvent.seq.desc())).scalars().first()
    assert last.type == "document.updated" and last.payload["version"] == 2
    resp = client.post(f"/api/v1/documents/{doc['id']}/versions", headers=delegate,
                       data={"file": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 403
