"""The demo installation: a People's Council, a user for every role, and a published meeting."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Callable

import sqlalchemy as sa

from meetings.agenda.operations import add_agenda_item
from meetings.agenda.schemas import AgendaItemCreate
from meetings.auth.models import User
from meetings.auth.operations import create_user
from meetings.auth.schemas import UserCreate
from meetings.bodies.models import Body
from meetings.bodies.operations import add_body_member, create_body
from meetings.bodies.schemas import BodyCreate, BodyMemberIn
from meetings.core.db import VN_TZ
from meetings.core.tx import begin_write, commit
from meetings.extensions import db
from meetings.meeting.operations import (add_participant, create_meeting, create_session, transition_meeting,
                                         update_meeting)
from meetings.meeting.schemas import MeetingCreate, MeetingPatch, ParticipantIn, SessionCreate

BODY_NAME = "Hội đồng nhân dân tỉnh Hòa Bình (demo)"
PASSWORD = "demo-2026"

# username, full name, title, standing role in the body, role in the demo meeting
PEOPLE = [
    ("admin", "Quản trị hệ thống", "Cán bộ công nghệ thông tin", None, None),
    ("thuky", "Nguyễn Thị Thu", "Chuyên viên Văn phòng HĐND", "secretary", "secretary"),
    ("lanhdao", "Trần Văn Đức", "Chánh Văn phòng HĐND", "approver", "approver"),
    ("chutoa", "Lê Minh Hoàng", "Chủ tịch HĐND tỉnh", "member", "chair"),
    ("daibieu1", "Phạm Thị Lan", "Đại biểu HĐND tỉnh", "member", "delegate"),
    ("daibieu2", "Hoàng Văn Nam", "Đại biểu HĐND tỉnh", "member", "delegate"),
    ("daibieu3", "Vũ Thị Hương", "Đại biểu HĐND tỉnh", "member", "delegate"),
    ("daibieu4", "Đặng Quốc Việt", "Đại biểu HĐND tỉnh", "member", "delegate"),
    ("khachmoi", "Bùi Thanh Sơn", "Giám đốc Sở Tài chính", None, "guest"),
]

AGENDA = [
    ("Khai mạc kỳ họp", "Chủ tịch HĐND tỉnh", 10, []),
    ("Báo cáo tình hình kinh tế – xã hội năm 2026", "Chủ tịch UBND tỉnh", 45,
     ["Thẩm tra của Ban Kinh tế – Ngân sách", "Thảo luận tại hội trường"]),
    ("Xem xét, thông qua Nghị quyết về dự toán ngân sách năm 2027", "Giám đốc Sở Tài chính", 60, []),
    ("Chất vấn và trả lời chất vấn", "Các đại biểu", 90, []),
    ("Bế mạc kỳ họp", "Chủ tịch HĐND tỉnh", 10, []),
]


def seed_demo(echo: Callable[[str], None] = print) -> None:
    begin_write()
    if db.session.execute(sa.select(Body.id).where(Body.name == BODY_NAME)).first() is not None:
        echo("The demo is already loaded.")
        _print_logins(echo)
        return
    body = create_body(BodyCreate(name=BODY_NAME, short_name="HĐND tỉnh", kind="council"), actor=None)
    users: dict[str, User] = {}
    for username, full_name, title, standing, _role in PEOPLE:
        existing = db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
        users[username] = existing or create_user(UserCreate(
            username=username, full_name=full_name, title=title, password=PASSWORD, is_admin=username == "admin"),
            actor=None)
        if standing:
            add_body_member(body, BodyMemberIn(user_id=users[username].id, role=standing), actor=None)

    secretary, approver = users["thuky"], users["lanhdao"]
    day = (datetime.now(VN_TZ) + timedelta(days=7)).date()
    starts = datetime.combine(day, time(8, 0), VN_TZ)
    meeting = create_meeting(MeetingCreate(
        body_id=body.id, title="Kỳ họp thứ Mười hai, HĐND tỉnh khóa XVII", number="Kỳ họp thứ 12",
        description="Kỳ họp thường lệ cuối năm: kinh tế – xã hội, dự toán ngân sách, chất vấn.",
        place="Hội trường tầng 3, Trụ sở HĐND tỉnh, Hòa Bình", starts_at=starts,
        ends_at=starts + timedelta(hours=9)),
        actor=secretary)
    for username, _name, _title, _standing, role in PEOPLE:
        if role and role != "secretary":
            add_participant(meeting.id, ParticipantIn(user_id=users[username].id, role=role), actor=secretary)
    for title, presenter, minutes, children in AGENDA:
        item = add_agenda_item(meeting.id, AgendaItemCreate(title=title, presenter=presenter, planned_minutes=minutes),
                               actor=secretary)
        for child in children:
            add_agenda_item(meeting.id, AgendaItemCreate(title=child, parent_id=item.id), actor=secretary)
    create_session(meeting.id, SessionCreate(title="Phiên buổi sáng", starts_at=starts,
                                             ends_at=starts + timedelta(hours=3, minutes=30)), actor=secretary)
    create_session(meeting.id, SessionCreate(title="Phiên buổi chiều", starts_at=starts + timedelta(hours=5, minutes=30),
                                             ends_at=starts + timedelta(hours=9)), actor=secretary)
    _add_documents(meeting, secretary)
    kiosk_token = _add_cards_and_kiosk(body, users)
    _add_polls(meeting, secretary)
    transition_meeting(meeting.id, "submit", actor=secretary)
    transition_meeting(meeting.id, "approve", comment="Đồng ý.", actor=approver)
    transition_meeting(meeting.id, "publish", actor=secretary)

    # A second meeting still in preparation, so the secretary's editor has something to work on.
    draft = create_meeting(MeetingCreate(
        body_id=body.id, title="Phiên họp chuyên đề về đầu tư công", place="Phòng họp số 2",
        starts_at=starts + timedelta(days=14)), actor=secretary)
    update_meeting(draft.id, MeetingPatch(description="Dự thảo – đang chuẩn bị."), actor=secretary)
    commit()
    signing = _add_signing(body, users)
    archived = _hold_finished_example(body, users, starts - timedelta(days=30)) if signing else None
    echo(f"Demo loaded: body “{BODY_NAME}”, a published meeting (id {meeting.id}) and a draft (id {draft.id}).")
    if archived is not None:
        echo(f"A finished example (id {archived}): held, closed, minutes signed by thuky, chutoa and the seal, "
             "archived — open it for the archive and its verification.")
        echo(f"thuky and chutoa have signing certificates on the server; their passphrase is {PASSWORD}.")
    else:
        echo("No demo signing certificates: this installation signs with its own ORG_P12_PATH.")
    echo(f"Door card reader token (shown once): {kiosk_token}; staff cards 04A1B2C301 … 04A1B2C305 "
         "belong to chutoa, daibieu1 … daibieu4.")
    _print_logins(echo)


DOCUMENTS = [
    # title, number, agenda item title, lines of the first page[, lines of each further page]
    ("Báo cáo tình hình kinh tế – xã hội năm 2026", "245/BC-UBND", "Báo cáo tình hình kinh tế – xã hội năm 2026",
     ["ỦY BAN NHÂN DÂN TỈNH HÒA BÌNH", "BÁO CÁO", "Tình hình kinh tế – xã hội năm 2026,",
      "phương hướng, nhiệm vụ năm 2027", "", "Tổng sản phẩm trên địa bàn tăng 7,8% so với năm trước.",
      "Thu ngân sách nhà nước đạt 112% dự toán được giao."]),
    ("Báo cáo thẩm tra của Ban Kinh tế – Ngân sách", "58/BC-KTNS", "Thẩm tra của Ban Kinh tế – Ngân sách",
     ["HỘI ĐỒNG NHÂN DÂN TỈNH HÒA BÌNH", "BAN KINH TẾ – NGÂN SÁCH", "BÁO CÁO THẨM TRA",
      "Báo cáo tình hình kinh tế – xã hội năm 2026", "", "Ban cơ bản thống nhất với nội dung báo cáo."]),
    ("Dự thảo Nghị quyết về dự toán ngân sách năm 2027", "",
     "Xem xét, thông qua Nghị quyết về dự toán ngân sách năm 2027",
     ["HỘI ĐỒNG NHÂN DÂN TỈNH HÒA BÌNH", "DỰ THẢO", "NGHỊ QUYẾT", "Về dự toán ngân sách địa phương năm 2027",
      "", "Điều 1. Thông qua dự toán thu, chi ngân sách địa phương năm 2027."],
     # Six pages, one article each: enough to lead the room through it ("follow me").
     [["Điều 2. Tổng thu ngân sách nhà nước trên địa bàn.", "Thu nội địa, thu từ hoạt động xuất nhập khẩu."],
      ["Điều 3. Tổng chi ngân sách địa phương.", "Chi đầu tư phát triển, chi thường xuyên, chi dự phòng."],
      ["Điều 4. Bội chi và vay của ngân sách địa phương."],
      ["Điều 5. Giải pháp điều hành dự toán ngân sách."],
      ["Điều 6. Tổ chức thực hiện.", "Ủy ban nhân dân tỉnh tổ chức thực hiện Nghị quyết này."]]),
]


CARD_HOLDERS = ("chutoa", "daibieu1", "daibieu2", "daibieu3", "daibieu4")


def _add_polls(meeting, secretary: User) -> None:
    """Two votes prepared for the chair to open: a named one on the budget resolution, a secret election."""
    from meetings.agenda.models import AgendaItem
    from meetings.voting.operations import create_poll

    item = db.session.execute(sa.select(AgendaItem.id).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.title.like("Xem xét, thông qua Nghị quyết%"))).scalar()
    create_poll(meeting.id, title="Thông qua Nghị quyết về dự toán ngân sách địa phương năm 2027", secret=False,
                rule="majority_all", options=None, max_choices=1, agenda_item_id=item, duration_seconds=None,
                allow_change=False, actor=secretary)
    create_poll(meeting.id, title="Bầu bổ sung Ủy viên Ủy ban nhân dân tỉnh (bỏ phiếu kín)", secret=True,
                rule="majority_all", options=["Nguyễn Văn An", "Trần Thị Bình"], max_choices=1,
                agenda_item_id=None, duration_seconds=None, allow_change=False, actor=secretary)


def _add_cards_and_kiosk(body, users: dict[str, User]) -> str:
    """Electronic staff cards for the chair and the delegates, and a card reader at the hall's door."""
    from meetings.attendance.operations import create_kiosk, register_card

    for n, username in enumerate(CARD_HOLDERS, 1):
        register_card(users[username].id, f"04A1B2C3{n:02d}", "Thẻ công chức điện tử", actor=users["admin"])
    token, _kiosk = create_kiosk(body.id, "Cửa hội trường tầng 3", actor=users["admin"])
    return token


def _add_documents(meeting, secretary: User) -> None:
    """Signed documents on the agenda, made and uploaded exactly as a secretary's would be."""
    import tempfile
    from pathlib import Path

    from meetings.agenda.models import AgendaItem
    from meetings.documents.operations import add_document, prepare_upload
    from meetings.documents.textpdf import make_pdf

    items = {i.title: i.id for i in db.session.execute(
        sa.select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).scalars()}
    for title, number, item_title, first, *more in DOCUMENTS:
        pages = [first, *(more[0] if more else [[title, "Trang 2"]])]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tai-lieu.pdf"
            path.write_bytes(make_pdf(pages))
            prepared = prepare_upload(path, f"{title}.pdf", org_name=meeting.body.name, doc_number=number)
        add_document(meeting.id, prepared, title=title, number=number, agenda_item_id=items.get(item_title),
                     audience="all", participant_ids=[], roles=[], actor=secretary)


def _add_signing(body, users: dict[str, User]) -> bool:
    """Personal certificates (from the installation's test CA) for the secretary and the chair, their signature
    images and the body's seal — what the minutes' signatures need. Not with a real organisation certificate:
    the demo must never mint certificates that look like a real CA's."""
    from flask import current_app

    from meetings.documents.org_signer import org_signer, test_root_ca
    from meetings.minutes.operations import save_credential, set_body_seal
    from meetings.signing.images import demo_seal_png, demo_signature_png
    from meetings.signing.pki import issue_personal_certificate, write_pkcs12

    org_signer()
    root = test_root_ca(current_app)
    if root is None:
        return False
    for username in ("thuky", "chutoa"):
        user = users[username]
        identity = issue_personal_certificate(root, user.full_name, organisation="HĐND tỉnh Hòa Bình (demo)",
                                              title=user.title[:64] or None)
        save_credential(actor=user, p12=write_pkcs12(identity, PASSWORD), passphrase=PASSWORD,
                        signature_png=demo_signature_png(user.full_name, seed=user.id))
        commit()  # each upload is its own write (the file is checked before the transaction starts)
    begin_write()
    set_body_seal(body.id, demo_seal_png(body.name.replace(" (demo)", "")), actor=users["admin"])
    commit()
    return True


def _hold_finished_example(body, users: dict[str, User], starts: datetime) -> int:
    """A meeting already held from start to finish, its minutes signed in order and archived."""
    from meetings.minutes.example import Script, hold_meeting
    from meetings.minutes.operations import finalize_minutes, save_draft, sign_minutes
    from meetings.voting.operations import create_poll

    secretary, chair = users["thuky"], users["chutoa"]
    begin_write()
    meeting = create_meeting(MeetingCreate(
        body_id=body.id, title="Kỳ họp chuyên đề (thứ Mười một), HĐND tỉnh khóa XVII", number="Kỳ họp thứ 11",
        description="Kỳ họp chuyên đề về đầu tư công trung hạn.",
        place="Hội trường tầng 3, Trụ sở HĐND tỉnh, Hòa Bình",
        starts_at=starts, ends_at=starts + timedelta(hours=4)), actor=secretary)
    for username, _name, _title, _standing, role in PEOPLE:
        if role and role != "secretary":
            add_participant(meeting.id, ParticipantIn(user_id=users[username].id, role=role), actor=secretary)
    items = [add_agenda_item(meeting.id, AgendaItemCreate(title=t, presenter=p, planned_minutes=m), actor=secretary)
             for t, p, m in (("Khai mạc kỳ họp", "Chủ tịch HĐND tỉnh", 10),
                             ("Xem xét, thông qua Nghị quyết điều chỉnh kế hoạch đầu tư công trung hạn",
                              "Giám đốc Sở Kế hoạch và Đầu tư", 60),
                             ("Bế mạc kỳ họp", "Chủ tịch HĐND tỉnh", 10))]
    create_session(meeting.id, SessionCreate(title="Phiên buổi sáng", starts_at=starts,
                                             ends_at=starts + timedelta(hours=4)), actor=secretary)
    poll = create_poll(meeting.id, title="Thông qua Nghị quyết điều chỉnh kế hoạch đầu tư công trung hạn",
                       secret=False, rule="majority_all", options=None, max_choices=1, agenda_item_id=items[1].id,
                       duration_seconds=None, allow_change=False, actor=secretary)
    transition_meeting(meeting.id, "submit", actor=secretary)
    transition_meeting(meeting.id, "approve", comment="Đồng ý.", actor=users["lanhdao"])
    transition_meeting(meeting.id, "publish", actor=secretary)
    for field, item, text in (
            ("notes", items[1], "Đại biểu Phạm Thị Lan đề nghị ưu tiên vốn cho các dự án giao thông kết nối."),
            ("conclusions", items[1], "Hội đồng nhân dân tỉnh thông qua Nghị quyết điều chỉnh kế hoạch đầu tư "
                                      "công trung hạn giai đoạn 2026–2030.\nGiao Ủy ban nhân dân tỉnh tổ chức "
                                      "thực hiện.")):
        version = 0 if field == "notes" else 1
        save_draft(meeting.id, agenda_item_id=item.id, field=field, text=text, base_version=version, actor=secretary)
    save_draft(meeting.id, agenda_item_id=None, field="number", text="11/BB-HĐND", base_version=0, actor=secretary)
    commit()
    voters = [users[u] for u in ("daibieu1", "daibieu2", "daibieu3", "daibieu4")]
    hold_meeting(meeting, chair=chair, secretary=secretary, voters=voters, script=Script(
        absent={users["daibieu4"].id: "Đi công tác theo quyết định của Thường trực HĐND"},
        speakers={items[1].id: [users["daibieu1"].id, users["daibieu2"].id]},
        votes={poll.id: {users["daibieu3"].id: "abstain"}}))
    finalize_minutes(meeting.id, actor=secretary)
    commit()
    sign_minutes(meeting.id, actor=secretary, passphrase=PASSWORD)
    commit()
    sign_minutes(meeting.id, actor=chair, passphrase=PASSWORD)
    commit()
    sign_minutes(meeting.id, actor=secretary, step="seal")
    commit()
    begin_write()
    transition_meeting(meeting.id, "archive", actor=secretary)
    commit()
    return meeting.id


def _print_logins(echo: Callable[[str], None]) -> None:
    echo(f"Demo logins (password for all: {PASSWORD}):")
    roles = {"admin": "administrator", "secretary": "secretary (thư ký)", "approver": "approver (lãnh đạo duyệt)",
             "chair": "chair (chủ tọa)", "delegate": "delegate (đại biểu)", "guest": "guest (khách mời)"}
    for username, full_name, _title, _standing, role in PEOPLE:
        echo(f"  {username:<10} {full_name:<22} {roles[role or 'admin']}")
