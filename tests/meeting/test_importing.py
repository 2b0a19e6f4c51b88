"""Participant rosters from CSV and XLSX: parsing (pure), the all-or-nothing operation, REST and the CLI."""
from __future__ import annotations

import io
import unicodedata
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from meetings.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.importing import MAX_ROWS, RosterError, parse_roster
from meetings.meeting.models import Participant
from meetings.meeting.operations import import_participants
from tests.fixtures.factories import assert_refused, audit_trail, row_counts

VI_HEADER = "Tên đăng nhập;Vai trò;Biểu quyết;Trọng số;Ghế"


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(lines: list[str], *, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


# --- parsing (no app) --------------------------------------------------------------------------------------

def test_csv_with_bom_semicolons_and_vietnamese_headers_and_roles():
    rows = parse_roster(csv_bytes([VI_HEADER, "daibieu1;Đại biểu;có;1,5;A-01", "chutoa;Chủ tọa;;;",
                                   "khach;Khách mời;không;;B-2", "thuky2;thư ký;;;"]), "danh-sach.csv")
    assert [(r.row, r.username, r.role, r.can_vote, r.vote_weight, r.seat, r.errors) for r in rows] == [
        (2, "daibieu1", "delegate", True, Decimal("1.5"), "A-01", []),
        (3, "chutoa", "chair", None, Decimal(1), "", []),
        (4, "khach", "guest", False, Decimal(1), "B-2", []),
        (5, "thuky2", "secretary", None, Decimal(1), "", []),
    ]


def test_decomposed_unicode_headers_and_roles_are_recognised():
    """Files saved on macOS often carry NFD text: "Vai trò" as "Vai tro" + combining grave."""
    header = unicodedata.normalize("NFD", "tên đăng nhập,vai trò")
    rows = parse_roster(csv_bytes([header, unicodedata.normalize("NFD", "an,Đại biểu")], bom=False), "x.csv")
    assert [(r.username, r.role, r.errors) for r in rows] == [("an", "delegate", [])]


def test_english_headers_commas_and_default_role():
    rows = parse_roster(csv_bytes(["username,role,can_vote,vote_weight", "a,,yes,2", "b,guest,no,"], bom=False),
                        "roster.CSV")
    assert [(r.username, r.role, r.can_vote, r.vote_weight) for r in rows] == [
        ("a", "delegate", True, Decimal(2)), ("b", "guest", False, Decimal(1))]


def test_blank_rows_keep_the_spreadsheet_row_numbers():
    rows = parse_roster(csv_bytes(["username;role", "a;delegate", ";", "", "b;nonsense"]), "x.csv")
    assert [(r.row, r.username) for r in rows] == [(2, "a"), (5, "b")]
    assert rows[1].errors  # reported as row 5, where the secretary will look for it


def test_xlsx_with_vietnamese_headers_numbers_and_blank_rows():
    data = xlsx([["Tên đăng nhập", "Vai trò", "Biểu quyết", "Trọng số", "Ghế"],
                 ["daibieu1", "Đại biểu", "Có", 2, 12],
                 [None, None, None, None, None],
                 ["khach", "Khách mời", False, None, None],
                 ["daibieu2", "đại biểu", True, 1.25, "C3"]])
    rows = parse_roster(data, "danh sách.xlsx")
    assert [(r.row, r.username, r.role, r.can_vote, r.vote_weight, r.seat, r.errors) for r in rows] == [
        (2, "daibieu1", "delegate", True, Decimal(2), "12", []),
        (4, "khach", "guest", False, Decimal(1), "", []),
        (5, "daibieu2", "delegate", True, Decimal("1.25"), "C3", []),
    ]


def test_xlsx_rows_below_a_long_blank_stretch_are_not_dropped():
    wb = Workbook()
    sheet = wb.active
    sheet.append(["username", "role"])
    sheet.append(["a", "delegate"])
    sheet.cell(row=MAX_ROWS + 500, column=1, value="late")
    out = io.BytesIO()
    wb.save(out)
    rows = parse_roster(out.getvalue(), "gap.xlsx")
    assert [(r.row, r.username) for r in rows] == [(2, "a"), (MAX_ROWS + 500, "late")]


def test_xlsx_with_too_many_people_is_refused_not_cut():
    data = xlsx([["username"]] + [[f"u{i}"] for i in range(MAX_ROWS + 1)])
    with pytest.raises(RosterError):
        parse_roster(data, "many.xlsx")


@pytest.mark.parametrize("cells, fragment", [
    ("a;sếp", "role"), ("a;delegate;maybe", "can_vote"), ("a;delegate;;0", "vote_weight"),
    ("a;delegate;;-1", "vote_weight"), ("a;delegate;;abc", "vote_weight"), ("a;delegate;;1.23456", "vote_weight"),
    ("a;delegate;;NaN", "vote_weight"), ("a;delegate;;Infinity", "vote_weight"), ("a;delegate;;10001", "vote_weight"),
    (";delegate", "username"),
])
def test_bad_cells_are_row_errors(cells, fragment):
    rows = parse_roster(csv_bytes(["username;role;can_vote;vote_weight", cells]), "x.csv")
    assert len(rows) == 1 and rows[0].row == 2
    assert len(rows[0].errors) == 1 and fragment in rows[0].errors[0][0]


@pytest.mark.parametrize("data, name", [
    (b"", "x.csv"), (b"\r\n;;\r\n", "x.csv"), ("họ tên;vai trò\nA;B\n".encode(), "x.csv"),
    (b"username\nabc\n", "roster.pdf"), ("username\nnguyễn\n".encode("utf-16"), "x.csv"),
    (bytes(range(256)) * 4, "roster.csv"), (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "roster.xlsx"),
    (b"PK\x03\x04" + b"\x00" * 200, "roster.csv"), (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "roster.csv"),
    (b"username,role\n" + b"a" * 200_000 + b",delegate\n", "big.csv"),
    (("username\n" + "u\n" * (MAX_ROWS + 1)).encode(), "many.csv"),
])
def test_unreadable_files_are_one_clear_error(data, name):
    with pytest.raises(RosterError) as err:
        parse_roster(data, name)
    assert str(err.value).strip()


def test_damaged_xlsx_is_a_roster_error():
    data = xlsx([["username"], ["a"]])
    with pytest.raises(RosterError):
        parse_roster(data[: len(data) // 2], "cut.xlsx")


# --- the operation -----------------------------------------------------------------------------------------

@pytest.fixture
def roster_users(make_user):
    return [make_user(f"nhap{i}", full_name=f"Người nhập {i}") for i in range(1, 5)]


def test_import_adds_every_row_and_audits(world, roster_users):
    meeting = world.meeting("draft")
    data = csv_bytes([VI_HEADER, "nhap1;Đại biểu;có;2;A1", "NHAP2;Chủ tọa;;;", "nhap3;Khách mời;không;;",
                      "nhap4;đại biểu;không;;"])
    imported = import_participants(meeting.id, data, "ds.csv", actor=world.secretary)
    commit()
    rows = {p.user_id: p for p in db.session.execute(
        sa.select(Participant).where(Participant.meeting_id == meeting.id)).scalars()}
    u = roster_users
    assert [(rows[x.id].role, rows[x.id].can_vote, rows[x.id].vote_weight, rows[x.id].seat) for x in u] == [
        ("delegate", True, Decimal(2), "A1"), ("chair", True, Decimal(1), ""), ("guest", False, Decimal(1), ""),
        ("delegate", False, Decimal(1), "")]
    entry = audit_trail(meeting.id)[-1]
    assert (entry.action, entry.actor_id) == ("participant.import", world.secretary.id)
    assert entry.data == {"filename": "ds.csv", "count": 4, "participant_ids": [p.id for p in imported]}


def test_a_file_with_bad_rows_imports_nothing_and_lists_every_bad_row(world, roster_users, make_user):
    meeting = world.meeting("draft")
    gone = make_user("nghi.viec")
    gone.active = False
    commit()
    data = csv_bytes([VI_HEADER,
                      "nhap1;Đại biểu;;;",            # 2 fine
                      "khong.ton.tai;Đại biểu;;;",    # 3 unknown user
                      "nhap2;Trưởng thôn;;;",         # 4 unknown role
                      "NHAP1;Khách mời;;;",           # 5 duplicate of row 2
                      "nhap3;Đại biểu;;-2;",          # 6 bad weight
                      "nhap4;Khách mời;có;;",         # 7 a guest cannot vote
                      f"{world.delegate.username};Đại biểu;;;",  # 8 already a participant
                      "nghi.viec;Đại biểu;;;"])       # 9 deactivated
    err = assert_refused(Unprocessable, import_participants, meeting.id, data, "ds.csv", actor=world.secretary)
    assert sorted({e["row"] for e in err.extra["errors"]}) == [3, 4, 5, 6, 7, 8, 9]
    assert all(e["message"].strip() for e in err.extra["errors"])
    assert str(len(err.extra["errors"])) in err.detail


def test_import_refusals(world, other_world, roster_users):
    data = csv_bytes(["username", "nhap1"])
    meeting = world.meeting("draft")
    assert_refused(Forbidden, import_participants, meeting.id, data, "a.csv", actor=world.approver)
    assert_refused(NotFound, import_participants, meeting.id, data, "a.csv", actor=other_world.secretary)
    assert_refused(NotFound, import_participants, 987654, data, "a.csv", actor=None)
    assert_refused(Unprocessable, import_participants, meeting.id, b"\xff\xfe\x00garbage", "a.csv",
                   actor=world.secretary)
    world.advance(meeting, "submitted")
    assert_refused(Conflict, import_participants, meeting.id, data, "a.csv", actor=world.secretary)


# --- REST --------------------------------------------------------------------------------------------------

def post_file(client, meeting_id, data: bytes, filename: str, headers):
    return client.post(f"/api/v1/meetings/{meeting_id}/participants/import", headers=headers,
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_rest_import_of_an_xlsx_file(client, world, roster_users, token_for):
    meeting = world.meeting("draft")
    data = xlsx([["Tên đăng nhập", "Vai trò", "Trọng số"], ["nhap1", "Đại biểu", 3], ["nhap2", "Khách mời", None]])
    resp = post_file(client, meeting.id, data, "danh sách.xlsx", token_for(world.secretary))
    assert resp.status_code == 201, resp.json
    assert resp.json["imported"] == 2
    assert [(p["username"], p["role"], p["vote_weight"], p["can_vote"]) for p in resp.json["participants"]] == [
        ("nhap1", "delegate", "3", True), ("nhap2", "guest", "1", False)]
    listed = client.get(f"/api/v1/meetings/{meeting.id}/participants", headers=token_for(world.secretary)).json
    assert {"nhap1", "nhap2"} <= {p["username"] for p in listed["items"]}


def test_rest_import_with_bad_rows_is_422_listing_rows(client, world, roster_users, token_for):
    meeting = world.meeting("draft")
    headers = token_for(world.secretary)
    before = row_counts()
    data = xlsx([["username", "role", "can_vote"], ["nhap1", "delegate", "yes"], ["ai.do", "delegate", None],
                 ["nhap2", "guest", "yes"]])
    resp = post_file(client, meeting.id, data, "x.xlsx", headers)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert [e["row"] for e in resp.json["errors"]] == [3, 4]
    assert resp.json["detail"]
    assert row_counts() == before


@pytest.mark.parametrize("data, name", [(bytes(range(256)) * 8, "roster.csv"), (b"%PDF-1.4 binary", "roster.xlsx"),
                                        (b"MZ\x90\x00" + b"\x00" * 500, "roster.xlsx"), (b"", "empty.csv"),
                                        (b"username\na\n", "roster.docx")])
def test_rest_import_of_garbage_is_422_with_a_message(client, world, token_for, data, name):
    meeting = world.meeting("draft")
    headers = token_for(world.secretary)
    before = row_counts()
    resp = post_file(client, meeting.id, data, name, headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json" and resp.json["detail"].strip()
    assert row_counts() == before


def test_rest_import_over_the_upload_limit_is_413(app, client, world, roster_users, token_for):
    meeting = world.meeting("draft")
    headers = token_for(world.secretary)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    before = row_counts()
    resp = post_file(client, meeting.id, csv_bytes(["username"] + ["nhap1"] * 1000), "big.csv", headers)
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json" and resp.json["detail"]
    assert row_counts() == before


def test_rest_import_without_a_file_is_400(client, world, token_for):
    meeting = world.meeting("draft")
    resp = client.post(f"/api/v1/meetings/{meeting.id}/participants/import", headers=token_for(world.secretary),
                       data={"other": "x"}, content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


# --- command line ------------------------------------------------------------------------------------------

def test_cli_import_reports_each_bad_row_and_exits_non_zero(runner, world, roster_users, tmp_path):
    meeting = world.meeting("draft")
    path = tmp_path / "ds.csv"
    path.write_bytes(csv_bytes([VI_HEADER, "nhap1;Đại biểu;;;", "vo.danh;Đại biểu;;;", "nhap2;Khách mời;có;;"]))
    before = row_counts()
    result = runner.invoke(args=["import-participants", str(meeting.id), str(path)])
    assert result.exit_code != 0
    assert "row 3" in result.output and "row 4" in result.output and "vo.danh" in result.output
    assert "row 2" not in result.output
    db.session.rollback()
    assert row_counts() == before


def test_cli_import_of_a_good_file(runner, world, roster_users, tmp_path):
    meeting = world.meeting("draft")
    path = tmp_path / "ds.xlsx"
    path.write_bytes(xlsx([["username", "role"], ["nhap1", "delegate"], ["nhap2", "guest"]]))
    result = runner.invoke(args=["import-participants", str(meeting.id), str(path)])
    assert result.exit_code == 0, result.output
    assert "2" in result.output
    db.session.rollback()
    assert {p.user.username for p in db.session.execute(sa.select(Participant).where(
        Participant.meeting_id == meeting.id)).scalars()} >= {"nhap1", "nhap2"}


def test_cli_import_of_garbage_and_unknown_meeting(runner, world, tmp_path):
    meeting = world.meeting("draft")
    path = tmp_path / "ds.xlsx"
    path.write_bytes(b"this is not a spreadsheet")
    result = runner.invoke(args=["import-participants", str(meeting.id), str(path)])
    assert result.exit_code != 0 and "error:" in result.output
    result = runner.invoke(args=["import-participants", "987654", str(path)])
    assert result.exit_code != 0 and "987654" in result.output
