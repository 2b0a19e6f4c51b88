"""Follow me (view.follow → view.page) through Flask-SocketIO's test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from meetings.extensions import db
from meetings.meeting.models import Meeting
from tests.documents.test_api import participant, upload  # noqa: F401 — the upload fixture
from tests.fixtures.factories import audit_actions
from tests.realtime.test_socket_events import connect, received, sio  # noqa: F401 — fixtures
from tests.signing.pdfgen import sample_pdf

SIX_PAGES = sample_pdf(6)


def joined(client, meeting, last_seq=0):
    ack = client.emit("join", {"meeting_id": meeting.id, "last_seq": last_seq}, callback=True)
    assert "error" not in ack, ack
    client.get_received()
    return ack


def last_seq(meeting_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Meeting, meeting_id).last_seq


@pytest.fixture
def room(world, upload):
    meeting = world.meeting("in_session")
    doc = upload(meeting, world.secretary, data=SIX_PAGES, title="Dự toán ngân sách").json
    return meeting, doc


def test_the_chair_leads_and_tablets_follow_page_by_page(world, connect, room):
    meeting, doc = room
    chair, tablet = connect(world.chair), connect(world.delegate)
    joined(chair, meeting)
    joined(tablet, meeting)
    ack = chair.emit("view.follow", {"meeting_id": meeting.id, "document_id": doc["id"], "page": 5}, callback=True)
    assert ack["view"] == {"document_id": doc["id"], "page": 5, "title": "Dự toán ngân sách", "pages": 6,
                           "version": 1}
    assert ack["seq"] == last_seq(meeting.id)
    events = [(name, data) for name, data in received(tablet) if name == "view.page"]
    assert len(events) == 1
    assert events[0][1] == {"meeting_id": meeting.id, "seq": ack["seq"], "at": events[0][1]["at"], **ack["view"]}

    # The contract's short form: the meeting follows from the document.
    ack = chair.emit("view.follow", {"document_id": doc["id"], "page": 6}, callback=True)
    assert ack["view"]["page"] == 6

    # A tablet that opens the meeting now starts on the same page (snapshot), and so does one that resyncs.
    late = connect(world.delegate2)
    snap = late.emit("join", {"meeting_id": meeting.id}, callback=True)["snapshot"]
    assert snap["view"]["document_id"] == doc["id"] and snap["view"]["page"] == 6
    assert [d["document_id"] for d in snap["documents"]] == [doc["id"]]

    # Showing what is shown changes nothing; stopping is an event too.
    before = last_seq(meeting.id)
    assert chair.emit("view.follow", {"document_id": doc["id"], "page": 6}, callback=True)["seq"] == before
    ack = chair.emit("view.follow", {"meeting_id": meeting.id, "document_id": None}, callback=True)
    assert ack["view"] == {"document_id": None, "page": None} and ack["seq"] == before + 1
    assert [d for n, d in received(tablet) if n == "view.page"][-1]["document_id"] is None
    # Presenting and stopping are audited, turning pages is not.
    assert [a for a in audit_actions(meeting.id) if a.startswith("view.")] == ["view.present", "view.stop"]


@pytest.mark.parametrize("who", ["delegate", "guest", "approver"])
def test_only_chair_and_secretary_lead(world, connect, room, who):
    meeting, doc = room
    client = connect(getattr(world, who))
    joined(client, meeting)
    before = last_seq(meeting.id)
    ack = client.emit("view.follow", {"meeting_id": meeting.id, "document_id": doc["id"], "page": 2}, callback=True)
    assert ack["error"]["status"] == 403
    assert last_seq(meeting.id) == before
    assert "error" not in connect(world.secretary).emit(
        "view.follow", {"meeting_id": meeting.id, "document_id": doc["id"], "page": 2}, callback=True)


def test_bad_follow_requests_get_clear_errors(world, other_world, connect, room, upload):
    meeting, doc = room
    foreign = upload(other_world.meeting("in_session"), other_world.secretary).json
    chair = connect(world.chair)
    before = last_seq(meeting.id)
    cases = [
        ({"meeting_id": meeting.id, "document_id": foreign["id"], "page": 1}, 404),  # another meeting's document
        ({"document_id": foreign["id"], "page": 1}, 404),  # its meeting is not the chair's
        ({"document_id": 999999, "page": 1}, 404),
        ({"meeting_id": meeting.id, "document_id": doc["id"], "page": 7}, 422),  # past the last page
        ({"meeting_id": meeting.id, "document_id": doc["id"], "page": 0}, 400),
        ({"meeting_id": meeting.id, "document_id": doc["id"], "page": "2"}, 400),
        ({"meeting_id": meeting.id, "document_id": None}, None),  # stopping when nothing is shown: fine
        ({"document_id": None}, 400),  # …but which meeting?
        ({"meeting_id": meeting.id, "document_id": doc["id"], "page": 1, "extra": 1}, 400),
    ]
    for payload, status in cases:
        ack = chair.emit("view.follow", payload, callback=True)
        if status is None:
            assert "error" not in ack, (payload, ack)
        else:
            assert ack.get("error", {}).get("status") == status, (payload, ack)
    assert last_seq(meeting.id) == before
    assert chair.emit("view.follow", ["not", "an", "object"], callback=True)["error"]["status"] == 400
    draft = world.meeting("draft")
    draft_doc = upload(draft, world.secretary).json
    ack = chair.emit("view.follow", {"document_id": draft_doc["id"], "page": 1}, callback=True)
    assert ack["error"]["status"] in (404, 409)  # the chair does not see a draft (404), or it is not live (409)


def test_a_confidential_document_is_shown_only_to_its_audience(world, connect, upload):
    meeting = world.meeting("in_session")
    only_a = participant(meeting, world.delegate).id
    secret = upload(meeting, world.secretary, data=SIX_PAGES, title="Mật", audience="participants",
                    participant_ids=only_a).json
    chair, insider, outsider = connect(world.chair), connect(world.delegate), connect(world.delegate2)
    for client in (chair, insider, outsider):
        joined(client, meeting)
    ack = chair.emit("view.follow", {"meeting_id": meeting.id, "document_id": secret["id"], "page": 3}, callback=True)
    assert "error" not in ack, ack
    assert [d["page"] for n, d in received(insider) if n == "view.page"] == [3]
    seen = received(outsider)
    assert all(n != "view.page" for n, _ in seen)
    assert ("seq.skip", {"meeting_id": meeting.id, "seq": ack["seq"]}) in seen
    snap = connect(world.delegate2).emit("join", {"meeting_id": meeting.id}, callback=True)["snapshot"]
    assert snap["view"] == {"document_id": None, "page": None}
    assert secret["id"] not in [d["document_id"] for d in snap["documents"]]
    snap = connect(world.delegate).emit("join", {"meeting_id": meeting.id}, callback=True)["snapshot"]
    assert snap["view"]["document_id"] == secret["id"]


def test_a_display_follows_but_cannot_lead(app, world, connect, room):
    from meetings.meeting.operations import create_display
    meeting, doc = room
    token = create_display(meeting.id, "Hội trường", actor=world.secretary)[0]
    db.session.commit()
    display = connect(auth={"token": token})
    joined(display, meeting)
    ack = display.emit("view.follow", {"meeting_id": meeting.id, "document_id": doc["id"], "page": 1}, callback=True)
    assert ack["error"]["status"] == 403
