"""Reading a participant roster from CSV or XLSX (pure: bytes in, rows and row errors out).

Columns (header row, Vietnamese or English names): username (required), role, can_vote, vote_weight, seat.
Resolving usernames against the database happens in the operation; this module only parses.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MAX_ROWS = 2000

HEADER_ALIASES = {
    "username": "username", "tên đăng nhập": "username", "ten dang nhap": "username", "tài khoản": "username",
    "role": "role", "vai trò": "role", "vai tro": "role",
    "can_vote": "can_vote", "biểu quyết": "can_vote", "bieu quyet": "can_vote", "quyền biểu quyết": "can_vote",
    "vote_weight": "vote_weight", "trọng số": "vote_weight", "trong so": "vote_weight",
    "seat": "seat", "ghế": "seat", "chỗ ngồi": "seat", "cho ngoi": "seat",
    "full_name": "full_name", "họ và tên": "full_name", "họ tên": "full_name", "ho va ten": "full_name",
}
ROLE_ALIASES = {
    "chair": "chair", "chủ tọa": "chair", "chủ toạ": "chair", "chu toa": "chair",
    "secretary": "secretary", "thư ký": "secretary", "thu ky": "secretary",
    "approver": "approver", "lãnh đạo duyệt": "approver", "duyệt": "approver", "lanh dao duyet": "approver",
    "delegate": "delegate", "đại biểu": "delegate", "dai bieu": "delegate",
    "guest": "guest", "khách mời": "guest", "khach moi": "guest", "khách": "guest",
}
TRUE_WORDS = {"1", "yes", "true", "x", "có", "co", "y"}
FALSE_WORDS = {"0", "no", "false", "không", "khong", "n", ""}


def N_(msgid: str) -> str:
    """Marks a message for extraction; the operation translates it with its parameters."""
    return msgid


class RosterError(Exception):
    """The file as a whole cannot be read (wrong format, no header, too many rows)."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params


@dataclass
class RosterRow:
    row: int  # 1-based line number as the secretary sees it in the spreadsheet (header is row 1)
    username: str
    role: str
    can_vote: bool | None
    vote_weight: Decimal
    seat: str
    errors: list[tuple[str, dict]] = field(default_factory=list)  # (msgid, params)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", str(text or "")).strip().lower()


def _cells_from_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(N_("The CSV file is not UTF-8 encoded. Save it as “CSV UTF-8” and try again."))
    # The delimiter is the one the header row uses. (csv.Sniffer gives up on the ragged rows spreadsheets
    # write, where trailing empty cells are left out, and then a semicolon file would read as one column.)
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=header_line.count)
    try:
        return [row for row in csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)]
    except csv.Error:  # e.g. a field over the csv module's size limit: not a roster anyone typed
        raise RosterError(N_("The CSV file could not be read. Is it a valid .csv file?"))


def _cells_from_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for damaged archives
        raise RosterError(N_("The Excel file could not be read. Is it a valid .xlsx file?"))
    try:
        sheet = workbook.worksheets[0]
        rows, filled = [], 0
        for values in sheet.iter_rows(values_only=True):
            row = ["" if v is None else (format(v, "g") if isinstance(v, float) else str(v)) for v in values]
            rows.append(row)
            # Only rows with content count towards the limit: stopping after so many rows of any kind would
            # silently drop the people listed below a stretch of blank rows.
            filled += any(c.strip() for c in row)
            if filled > MAX_ROWS + 1:
                break
        return rows
    except RosterError:
        raise
    except Exception:  # the sheets are read lazily: a damaged one fails only now
        raise RosterError(N_("The Excel file could not be read. Is it a valid .xlsx file?"))
    finally:
        workbook.close()


def parse_roster(data: bytes, filename: str) -> list[RosterRow]:
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        cells = _cells_from_xlsx(data)
    elif name.endswith((".csv", ".txt")):
        cells = _cells_from_csv(data)
    else:
        raise RosterError(N_("Only .csv and .xlsx files can be imported."))
    # Blank rows are skipped but keep their place: a row is reported by the number the spreadsheet shows.
    numbered = [(line_no, r) for line_no, r in enumerate(cells, start=1) if any(str(c).strip() for c in r)]
    if not numbered:
        raise RosterError(N_("The file is empty."))
    header = [HEADER_ALIASES.get(_norm(c)) for c in numbered[0][1]]
    if "username" not in header:
        raise RosterError(N_("The first row must be a header with a “username” (tên đăng nhập) column."))
    if len(numbered) - 1 > MAX_ROWS:
        raise RosterError(N_("At most %(max)s rows can be imported at once."), max=MAX_ROWS)
    rows: list[RosterRow] = []
    for line_no, raw in numbered[1:]:
        values = {key: str(raw[i]).strip() if i < len(raw) else "" for i, key in enumerate(header) if key}
        errors: list[tuple[str, dict]] = []
        username = values.get("username", "")
        if not username:
            errors.append((N_("the username is empty"), {}))
        role_text = _norm(values.get("role", "")) or "delegate"
        role = ROLE_ALIASES.get(role_text, "")
        if not role:
            errors.append((N_("unknown role “%(value)s”"), {"value": values.get("role")}))
        vote_text = _norm(values.get("can_vote", ""))
        can_vote: bool | None = None
        if vote_text in TRUE_WORDS:
            can_vote = True
        elif vote_text and vote_text in FALSE_WORDS:
            can_vote = False
        elif vote_text:
            errors.append((N_("can_vote must be yes or no, not “%(value)s”"), {"value": values.get("can_vote")}))
        weight = Decimal(1)
        weight_text = values.get("vote_weight", "").replace(",", ".")
        if weight_text:
            try:
                weight = Decimal(weight_text)
                if not weight.is_finite() or weight <= 0 or weight > 10000 or weight.as_tuple().exponent < -4:
                    raise InvalidOperation
            except InvalidOperation:
                errors.append((N_("vote_weight must be a positive number, not “%(value)s”"),
                               {"value": values.get("vote_weight")}))
                weight = Decimal(1)
        seat = values.get("seat", "")[:20]
        rows.append(RosterRow(line_no, username, role, can_vote, weight, seat, errors))
    return rows
