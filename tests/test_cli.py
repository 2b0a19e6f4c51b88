"""Flask commands: create-user and seed-demo (import-participants is tested with the roster import)."""
from __future__ import annotations

import sqlalchemy as sa

from meetings.agenda.models import AgendaItem
from meetings.auth.models import User
from meetings.auth.passwords import verify_password
from meetings.bodies.models import Body, BodyMember
from meetings.demo import AGENDA, BODY_NAME, PASSWORD, PEOPLE
from meetings.extensions import db
from meetings.meeting.models import Meeting, MeetingSession, Participant
from tests.fixtures.factories import audit_trail, row_counts


def users_named(username: str) -> list[User]:
    db.session.rollback()
    return list(db.session.execute(sa.select(User).where(User.username == username)).scalars())


def test_create_user_with_password_from_stdin_as_admin(runner):
    result = runner.invoke(args=["create-user", "--username", "quantri", "--full-name", "Quản trị viên",
                                 "--title", "Cán bộ CNTT", "--admin", "--password-stdin"], input="mật-khẩu-rất-dài\n")
    assert result.exit_code == 0, result.output
    assert "quantri" in result.output
    [user] = users_named("quantri")
    assert (user.full_name, user.title, user.is_admin, user.active) == ("Quản trị viên", "Cán bộ CNTT", True, True)
    assert verify_password(user.password_hash, "mật-khẩu-rất-dài")  # the newline is not part of the password
    assert audit_trail(None)[-1].action == "user.create"


def test_create_user_without_a_password_cannot_log_in_yet(runner):
    result = runner.invoke(args=["create-user", "--username", "daibieu9", "--full-name", "Đại biểu 9"])
    assert result.exit_code == 0, result.output
    [user] = users_named("daibieu9")
    assert user.password_hash is None and user.is_admin is False


def test_duplicate_username_is_a_clear_error(runner, make_user):
    make_user("thuky")
    before = row_counts()
    result = runner.invoke(args=["create-user", "--username", "ThuKy", "--full-name", "Trùng tên"])
    assert result.exit_code != 0
    assert "Error:" in result.output and "ThuKy" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a crash
    db.session.rollback()
    assert row_counts() == before


def test_invalid_input_is_a_clear_error(runner):
    before = row_counts()
    for args, stdin in ((["--username", "có dấu cách", "--full-name", "X"], None),
                        (["--username", "ngan", "--full-name", "X", "--password-stdin"], "ngan\n"),
                        (["--username", "khongten", "--full-name", ""], None)):
        result = runner.invoke(args=["create-user", *args], input=stdin)
        assert result.exit_code != 0, args
        assert "Error:" in result.output, result.output
        assert isinstance(result.exception, SystemExit), result.exception
    db.session.rollback()
    assert row_counts() == before


def demo_meetings() -> list[Meeting]:
    body = db.session.execute(sa.select(Body).where(Body.name == BODY_NAME)).scalar_one()
    return list(db.session.execute(sa.select(Meeting).where(Meeting.body_id == body.id)
                                   .order_by(Meeting.id)).scalars())


def test_seed_demo_loads_a_published_meeting_and_is_idempotent(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert PASSWORD in result.output
    for username, *_rest in PEOPLE:
        assert username in result.output
    db.session.rollback()
    counts = row_counts()

    published, draft, example = demo_meetings()
    assert published.state == "published" and draft.state == "draft"
    # The finished example: held, minutes signed by the secretary, the chair and the seal, archived and intact.
    assert example.state == "archived"
    from meetings.minutes.archiving import check_meeting_report
    from meetings.minutes.models import Minutes, MinutesSignature
    minutes = db.session.get(Minutes, example.id)
    assert minutes.state == "signed"
    assert [s.step for s in db.session.execute(sa.select(MinutesSignature).where(
        MinutesSignature.meeting_id == example.id).order_by(MinutesSignature.id)).scalars()] == [
        "secretary", "chair", "seal"]
    report = check_meeting_report(example, minutes)
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]
    assert [t.action for t in published.transitions] == ["submit", "approve", "publish"]
    items = db.session.execute(sa.select(AgendaItem).where(AgendaItem.meeting_id == published.id)).scalars().all()
    top = sorted((i for i in items if i.parent_id is None), key=lambda i: i.position)
    assert [i.title for i in top] == [title for title, *_ in AGENDA]
    assert len(items) == len(AGENDA) + sum(len(children) for *_, children in AGENDA)
    roles = {p.user.username: (p.role, p.can_vote) for p in published.participants}
    assert roles["chutoa"] == ("chair", True) and roles["khachmoi"] == ("guest", False)
    assert roles["thuky"][0] == "secretary"
    assert sum(1 for r, _ in roles.values() if r == "delegate") == 4
    assert db.session.execute(sa.select(sa.func.count()).select_from(MeetingSession)
                              .where(MeetingSession.meeting_id == published.id)).scalar_one() == 2
    standing = {m.user.username: m.role for m in db.session.execute(sa.select(BodyMember)).scalars()}
    assert standing["thuky"] == "secretary" and standing["lanhdao"] == "approver"
    admin = db.session.execute(sa.select(User).where(User.username == "admin")).scalar_one()
    assert admin.is_admin and verify_password(admin.password_hash, PASSWORD)

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert PASSWORD in again.output  # the logins are printed again
    db.session.rollback()
    assert row_counts() == counts


def test_demo_logins_work_over_rest(runner, client):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.rollback()
    resp = client.post("/api/v1/auth/login", json={"username": "daibieu1", "password": PASSWORD})
    assert resp.status_code == 200
    listed = client.get("/api/v1/meetings", headers={"Authorization": f"Bearer {resp.json['token']}"}).json
    # A delegate sees the published meeting and the archived example, not the draft.
    assert sorted(m["state"] for m in listed["items"]) == ["archived", "published"]
    assert db.session.execute(sa.select(sa.func.count()).select_from(Participant)).scalar_one() >= 8
