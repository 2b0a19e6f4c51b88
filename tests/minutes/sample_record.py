"""A realistic minutes record (schema ``phonghop-minutes/1``) of any size, for tests and benchmarks.

Deterministic: the same arguments always give the same record, so a rendered PDF can be compared across runs.
"""
from __future__ import annotations

import hashlib
import random

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
            "Ngô", "Dương", "Lý"]
MIDDLE_NAMES = ["Thị", "Văn", "Đức", "Minh", "Hồng", "Quốc", "Thanh", "Ngọc", "Xuân", "Hữu", "Thị Thu", "Văn Quang"]
GIVEN_NAMES = ["Nhung", "Thắng", "Hương", "Dũng", "Lan", "Tuấn", "Hải", "Phương", "Quỳnh", "Khánh", "Nghĩa",
               "Thủy", "Đạt", "Yến", "Lộc", "Bình", "Tâm", "Trường"]
ROLE_LABELS = ["Đại biểu HĐND tỉnh", "Phó Chủ tịch UBND tỉnh", "Giám đốc Sở Tài chính", "Trưởng ban Pháp chế",
               "Đại biểu HĐND tỉnh", "Phó Trưởng ban Kinh tế - Ngân sách", "Đại biểu HĐND tỉnh"]
STATUS_LABELS = {"present": "Có mặt", "late": "Đến muộn", "left_early": "Về sớm",
                 "absent_excused": "Vắng có lý do", "absent_unexcused": "Vắng không lý do"}
ATTENDING = ("present", "late", "left_early")
ITEM_TITLES = [
    "Tờ trình về dự toán ngân sách nhà nước tỉnh năm 2027",
    "Báo cáo tình hình thực hiện kế hoạch phát triển kinh tế - xã hội năm 2026",
    "Dự thảo Nghị quyết về giá đất điều chỉnh trên địa bàn tỉnh",
    "Đề án sắp xếp đơn vị hành chính cấp xã giai đoạn 2026 - 2030",
    "Kế hoạch đầu tư công trung hạn giai đoạn 2026 - 2030",
    "Báo cáo kết quả giải quyết ý kiến, kiến nghị của cử tri",
]
SPEAKER_KINDS = ["Phát biểu", "Chất vấn", "Trả lời chất vấn", "Giải trình"]

CHAIR = {"full_name": "Trần Đức Thắng", "title": "Chủ tịch Hội đồng nhân dân tỉnh"}
SECRETARY = {"full_name": "Nguyễn Thị Hồng Nhung", "title": "Chánh Văn phòng Đoàn ĐBQH và HĐND tỉnh"}


def _names(count: int) -> list[str]:
    """Distinct names: the chair and the secretary first, then every combination in a fixed shuffled order."""
    names = [CHAIR["full_name"], SECRETARY["full_name"]]
    combos = [f"{s} {m} {g}" for g in GIVEN_NAMES for m in MIDDLE_NAMES for s in SURNAMES]
    random.Random(7).shuffle(combos)
    taken = set(names)
    for name in combos:
        if len(names) >= count:
            break
        if name not in taken:
            taken.add(name)
            names.append(name)
    n = 2
    while len(names) < count:  # more people than combinations: number the namesakes, as a register would
        names.append(f"{combos[len(names) % len(combos)]} ({n})")
        n += 1
    return names[:count]


# A few fixed places, so that even a small record has every kind of attendance.
FIXED_STATUSES = {3: "absent_excused", 5: "late", 7: "absent_unexcused", 9: "left_early", 11: "absent_excused"}


def _status(rng: random.Random, index: int) -> str:
    if index < 2:  # the chair and the secretary are there: someone has to run the meeting
        return "present"
    if index in FIXED_STATUSES:
        return FIXED_STATUSES[index]
    roll = rng.random()
    for status, upto in (("late", 0.04), ("left_early", 0.07), ("absent_excused", 0.12),
                         ("absent_unexcused", 0.15)):
        if roll < upto:
            return status
    return "present"


def _session(title: str, opened: str, closed: str, names: list[str], seed: int) -> dict:
    rng = random.Random(seed)
    rows: list[dict] = []
    proxies = 0
    for i, name in enumerate(names):
        status = _status(rng, i)
        note = ""
        if status == "late":
            note = f"Đến lúc {opened.split(' ')[0]} giờ {rng.randint(10, 45)} phút"
        elif status == "left_early":
            note = "Xin phép về trước để giải quyết công việc"
        elif status == "absent_excused":
            note = rng.choice(["Đi công tác", "Ốm", "Việc gia đình"])
            if i == 3 or rng.random() < 0.5:
                note += f"; ủy quyền cho {names[0] if i % 2 else names[1]}"
                proxies += 1
        role = "Chủ tọa" if i == 0 else "Thư ký" if i == 1 else ROLE_LABELS[i % len(ROLE_LABELS)]
        rows.append({"full_name": name, "role_label": role, "status": status, "status_label": STATUS_LABELS[status],
                     "note": note})
    count = {s: sum(r["status"] == s for r in rows) for s in STATUS_LABELS}
    present = sum(count[s] for s in ATTENDING)
    quorum = "Đủ số lượng đại biểu theo quy định" if present * 2 > len(rows) else "Không đủ số lượng đại biểu"
    return {"title": title, "opened_at_text": opened, "closed_at_text": closed,
            "summary": {"members": len(rows), "present": present, "late": count["late"],
                        "left_early": count["left_early"], "absent_excused": count["absent_excused"],
                        "absent_unexcused": count["absent_unexcused"], "proxies": proxies,
                        "quorum_text": f"{quorum} ({present}/{len(rows)} đại biểu có mặt)."},
            "rows": rows}


def _poll(poll_id: int, title: str, voters: list[str], members: int, rng: random.Random) -> dict:
    secret = poll_id % 2 == 0  # alternate, so any record with two polls or more has both kinds
    cast = len(voters) - rng.randint(0, max(0, len(voters) // 20))
    no = rng.randint(0, max(0, cast // 6))
    abstain = rng.randint(0, max(0, cast // 12))
    if poll_id % 5 == 4:  # now and then a motion fails
        no, abstain = cast // 2, cast // 10
    yes = max(0, cast - no - abstain)
    counts = [("yes", "Tán thành", yes), ("no", "Không tán thành", no), ("abstain", "Không biểu quyết", abstain)]
    options = []
    start = 0
    for choice, label, n in counts:
        names = [] if secret else voters[start:start + n]
        start += n
        options.append({"choice": choice, "label": label, "count": n, "weight": str(n), "names": names})
    passed = yes * 2 > members
    return {"id": poll_id, "title": title, "secret": secret, "rule_label": "Quá nửa tổng số đại biểu",
            "eligible": len(voters), "cast": cast, "options": options, "passed": passed,
            "verdict_label": "Thông qua" if passed else "Không thông qua"}


def sample_record(participants: int = 12, items: int = 3, polls_per_item: int = 1, *,
                  polls: int | None = None) -> dict:
    """A record with ``participants`` people in each of two sessions and ``items`` agenda items.

    ``polls`` (a total, spread over the items as evenly as possible) overrides ``polls_per_item``.
    """
    rng = random.Random(participants * 7919 + items)
    names = _names(participants)
    sessions = [
        _session("Phiên họp buổi sáng", "08 giờ 00 phút", "11 giờ 30 phút", names, seed=participants),
        _session("Phiên họp buổi chiều", "14 giờ 00 phút", "16 giờ 45 phút", names, seed=participants + 1),
    ]
    voters = [r["full_name"] for r in sessions[0]["rows"] if r["status"] in ATTENDING]
    total_polls = polls if polls is not None else items * polls_per_item
    poll_id = 0
    agenda = []
    for i in range(items):
        title = ITEM_TITLES[i % len(ITEM_TITLES)]
        doc_no = 120 + i
        documents = [
            {"number": f"{doc_no}/TTr-UBND", "title": title, "version": 1 + i % 3,
             "sha256": hashlib.sha256(f"to-trinh-{i}".encode()).hexdigest(), "filename": f"to-trinh-{doc_no}.pdf"},
            {"number": f"{doc_no}/NQ-HĐND (dự thảo)", "title": f"Dự thảo Nghị quyết kèm theo Tờ trình số {doc_no}",
             "version": 1, "sha256": hashlib.sha256(f"du-thao-{i}".encode()).hexdigest(),
             "filename": f"du-thao-nghi-quyet-{doc_no}.docx.pdf"},
        ]
        speakers = [{"full_name": names[(i * 3 + k) % len(names)], "kind_label": SPEAKER_KINDS[(i + k) % 4],
                     "duration_text": f"{rng.randint(1, 9):02d}:{rng.randint(0, 59):02d}"} for k in range(3)]
        item_polls = []
        for _ in range(total_polls // items + (1 if i < total_polls % items else 0)):
            poll_id += 1
            item_polls.append(_poll(poll_id, f"Biểu quyết thông qua nội dung số {poll_id}: {title.lower()}",
                                    voters, participants, rng))
        agenda.append({
            "number": str(i + 1), "title": title, "presenter": "Ông Lê Văn Hải, Giám đốc Sở Tài chính",
            "documents": documents, "speakers": speakers, "polls": item_polls,
            "notes": "Các đại biểu thảo luận, góp ý về căn cứ pháp lý, số liệu và tính khả thi của nội dung trình.",
            "conclusions": ("1. Thống nhất với nội dung tờ trình và dự thảo nghị quyết.\n"
                            "2. Giao Ủy ban nhân dân tỉnh tiếp thu ý kiến đại biểu, hoàn thiện hồ sơ.\n"
                            f"3. Thường trực HĐND tỉnh giám sát việc triển khai thực hiện nội dung số {i + 1}."),
        })
    return {
        "format": "phonghop-minutes/1",
        "body": {"name": "Hội đồng nhân dân tỉnh Hòa Bình", "parent_name": ""},
        "meeting": {"id": 42, "title": "Kỳ họp thứ mười hai, Hội đồng nhân dân tỉnh khóa XVII, nhiệm kỳ 2021 - 2026",
                    "number": "12", "place": "Hội trường Trung tâm Hội nghị tỉnh, số 1 đường Trần Hưng Đạo",
                    "minutes_number": "15/BB-HĐND", "starts_at_text": "08 giờ 00 phút, ngày 21 tháng 11 năm 2026",
                    "ends_at_text": "16 giờ 45 phút, ngày 21 tháng 11 năm 2026"},
        "place_date": "Hòa Bình, ngày 21 tháng 11 năm 2026",
        "chair": dict(CHAIR),
        "secretary": dict(SECRETARY),
        "sessions": sessions,
        "agenda": agenda,
        "general_notes": ("Biên bản được lập thành 02 bản có giá trị như nhau.\n"
                          "Các đại biểu vắng mặt được gửi toàn văn tài liệu kỳ họp."),
        "closing_text": "Kỳ họp bế mạc lúc 16 giờ 45 phút cùng ngày.",
        "audit_head": {"length": 1200 + 7 * participants,
                       "hash": hashlib.sha256(f"audit-{participants}-{items}".encode()).hexdigest()},
        "finalized_at_text": "17 giờ 05 phút, ngày 21 tháng 11 năm 2026",
    }
