"""Read tracking: who opened which document, first and last — seen by the secretary and the chair only."""
from __future__ import annotations

import sqlalchemy as sa

from meetings.documents import operations as ops
from meetings.documents.models import DocumentRead
from meetings.extensions import db
from tests.documents.test_api import participant, upload  # noqa: F401 — the upload fixture


def reads_of(client, doc_id, headers):
    return client.get(f"/api/v1/documents/{doc_id}/reads", headers=headers)


def by_user(resp) -> dict[int, dict]:
    return {r["user_id"]: r for r in resp.json["items"]}


def test_opening_a_document_is_recorded_once_per_reading(client, world, upload, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary, title="Tờ trình").json
    delegate = token_for(world.delegate)
    before = by_user(reads_of(client, doc["id"], token_for(world.secretary)))
    assert before[world.delegate.id]["first_opened_at"] is None and before[world.delegate.id]["opens"] == 0

    assert client.get(doc["file_url"], headers=delegate).status_code == 200
    # pdf.js then fetches ranges, and a reload revalidates: all the same reading.
    assert client.get(doc["file_url"], headers={**delegate, "Range": "bytes=100-199"}).status_code == 206
    assert client.get(doc["file_url"], headers={**delegate, "Range": "bytes=0-99"}).status_code == 206
    etag = f'"{doc["current"]["sha256"]}"'
    assert client.get(doc["file_url"], headers={**delegate, "If-None-Match": etag}).status_code == 304

    after = by_user(reads_of(client, doc["id"], token_for(world.chair)))
    mine = after[world.delegate.id]
    assert mine["opens"] == 1 and mine["first_opened_at"] == mine["last_opened_at"] is not None
    assert after[world.delegate2.id]["opens"] == 0  # has not opened it

    # A reading later than READ_COALESCE counts again and moves "last", never "first".
    row = db.session.get(DocumentRead, (doc["id"], participant(meeting, world.delegate).id))
    row.first_opened_at -= ops.READ_COALESCE * 3
    row.last_opened_at -= ops.READ_COALESCE * 2
    db.session.commit()
    client.get(doc["file_url"], headers={**delegate, "Range": "bytes=0-1023"})
    again = by_user(reads_of(client, doc["id"], token_for(world.secretary)))[world.delegate.id]
    assert again["opens"] == 2 and again["last_opened_at"] > again["first_opened_at"]
    assert again["first_opened_at"] < mine["first_opened_at"]  # what we moved back: the reading did not touch it


def test_a_later_range_alone_is_not_an_opening(client, world, upload, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary).json
    client.get(doc["file_url"], headers={**token_for(world.delegate), "Range": "bytes=500-"})
    assert db.session.execute(sa.select(sa.func.count()).select_from(DocumentRead)).scalar_one() == 0


def test_only_secretary_and_chair_see_reads(client, world, upload, token_for, other_world):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary).json
    for user in (world.delegate, world.guest, world.approver):
        resp = reads_of(client, doc["id"], token_for(user))
        assert resp.status_code == 403, (user.full_name, resp.json)
    assert reads_of(client, doc["id"], token_for(world.outsider)).status_code == 404
    assert reads_of(client, doc["id"], token_for(other_world.secretary)).status_code == 404
    assert reads_of(client, 99999, token_for(world.secretary)).status_code == 404
    assert client.get(f"/api/v1/documents/{doc['id']}/reads").status_code == 401


def test_reads_list_the_documents_audience_only(client, world, upload, token_for):
    meeting = world.meeting("published")
    only_a = participant(meeting, world.delegate).id
    doc = upload(meeting, world.secretary, audience="participants", participant_ids=only_a).json
    readers = by_user(reads_of(client, doc["id"], token_for(world.secretary)))
    assert world.delegate.id in readers and world.delegate2.id not in readers and world.guest.id not in readers
    # Someone outside the audience cannot leave a trace either: they get 404 and nothing is written.
    assert client.get(doc["file_url"], headers=token_for(world.delegate2)).status_code == 404
    assert db.session.execute(sa.select(sa.func.count()).select_from(DocumentRead)).scalar_one() == 0


def test_admin_outside_the_meeting_leaves_no_trace(client, world, upload, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary).json
    assert client.get(doc["file_url"], headers=token_for(world.admin)).status_code == 200
    assert db.session.execute(sa.select(sa.func.count()).select_from(DocumentRead)).scalar_one() == 0
    assert ops.read_counts(meeting.id) == {}
    client.get(doc["file_url"], headers=token_for(world.delegate))
    assert ops.read_counts(meeting.id) == {doc["id"]: 1}


def test_removing_a_participant_removes_their_reads(client, world, upload, token_for):
    meeting = world.meeting("published")
    doc = upload(meeting, world.secretary).json
    client.get(doc["file_url"], headers=token_for(world.delegate))
    pid = participant(meeting, world.delegate).id
    resp = client.delete(f"/api/v1/meetings/{meeting.id}/participants/{pid}", headers=token_for(world.secretary))
    assert resp.status_code in (200, 204), resp.json
    assert db.session.get(DocumentRead, (doc["id"], pid)) is None
