"""Minutes benchmark: a meeting of 500 delegates, 2 sessions, 20 agenda items and 50 polls, held through the
real operations; then its minutes are assembled, rendered (PDF/A), given their fields and signed by the
secretary, the chair and the seal — three times. Prints the time of every step.

    .venv/bin/python bench/minutes/run.py [--delegates 500] [--items 20] [--polls 50] [--rounds 3]
                                          [--database-url postgresql+psycopg://…]
Target (issue 7): assemble + render + sign three times in ≤ 3 s in all (the per-round total is printed).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Minh", "Đức", "Thu", "Hồng", "Quốc", "Thanh", "Ngọc", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan", "Linh", "Long", "Nam",
         "Nhung", "Phúc", "Quân", "Sơn", "Thắng", "Thảo", "Trang", "Tuấn", "Việt", "Yến"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delegates", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from meetings import create_app
    from meetings.core.tx import begin_write, commit

    data_dir = Path(tempfile.mkdtemp(prefix="bench-minutes-"))
    config = {"DATA_DIR": str(data_dir), "SECRET_KEY": "bench"}
    if args.database_url:
        config["SQLALCHEMY_DATABASE_URI"] = args.database_url
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        t0 = time.perf_counter()
        begin_write()
        meeting, people = _prepare(args)
        commit()
        print(f"prepared the meeting ({args.delegates} delegates, {args.items} items, {args.polls} polls) "
              f"in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        from meetings.minutes.example import Script, hold_meeting
        hold_meeting(meeting, chair=people["chair"], secretary=people["secretary"], voters=people["delegates"],
                     script=Script(absent={u.id: "Đi công tác" for u in people["delegates"][::25]}))
        print(f"held it through the operations in {time.perf_counter() - t0:.1f} s")
        _measure(meeting, people, args.rounds)


def _prepare(args):
    from meetings.agenda.operations import add_agenda_item
    from meetings.agenda.schemas import AgendaItemCreate
    from meetings.auth.models import User
    from meetings.bodies.operations import add_body_member, create_body
    from meetings.bodies.schemas import BodyCreate, BodyMemberIn
    from meetings.core.db import VN_TZ
    from meetings.extensions import db
    from meetings.meeting.models import Participant
    from meetings.meeting.operations import create_meeting, create_session, transition_meeting
    from meetings.meeting.schemas import MeetingCreate, SessionCreate
    from meetings.voting.operations import create_poll

    def user(username: str, full_name: str, title: str = "") -> User:
        u = User(username=username, full_name=full_name, title=title)
        db.session.add(u)
        return u

    body = create_body(BodyCreate(name="Quốc hội (thử tải)", short_name="QH", kind="council"), actor=None)
    secretary = user("thuky", "Nguyễn Thị Thư", "Thư ký kỳ họp")
    chair = user("chutoa", "Trần Văn Chủ", "Chủ tịch")
    approver = user("duyet", "Lê Văn Duyệt")
    delegates = [user(f"db{i:03d}", f"{SURNAMES[i % 14]} {MIDDLE[i % 10]} {GIVEN[i % 23]} {i:03d}",
                      "Đại biểu") for i in range(args.delegates)]
    db.session.flush()
    add_body_member(body, BodyMemberIn(user_id=secretary.id, role="secretary"), actor=None)
    add_body_member(body, BodyMemberIn(user_id=approver.id, role="approver"), actor=None)
    starts = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
    meeting = create_meeting(MeetingCreate(body_id=body.id, title="Kỳ họp thứ Mười (thử tải)", place="Hội trường, Hà Nội",
                                           starts_at=starts, ends_at=starts + timedelta(hours=9)), actor=secretary)
    db.session.add(Participant(meeting_id=meeting.id, user_id=chair.id, role="chair", can_vote=True))
    db.session.add_all(Participant(meeting_id=meeting.id, user_id=d.id, role="delegate", can_vote=True)
                       for d in delegates)
    items = [add_agenda_item(meeting.id, AgendaItemCreate(title=f"Nội dung {i + 1}: xem xét dự thảo nghị quyết"),
                             actor=secretary) for i in range(args.items)]
    for title in ("Phiên buổi sáng", "Phiên buổi chiều"):
        create_session(meeting.id, SessionCreate(title=title), actor=secretary)
    for n in range(args.polls):
        create_poll(meeting.id, title=f"Biểu quyết số {n + 1}", secret=n % 2 == 1, rule="majority_all", options=None,
                    max_choices=1, agenda_item_id=items[n % len(items)].id, duration_seconds=None,
                    allow_change=False, actor=secretary)
    transition_meeting(meeting.id, "submit", actor=secretary)
    transition_meeting(meeting.id, "approve", actor=approver)
    transition_meeting(meeting.id, "publish", actor=secretary)
    return meeting, {"secretary": secretary, "chair": chair, "delegates": delegates}


def _measure(meeting, people, rounds: int) -> None:
    from meetings.core.audit import AuditChain, chain_name
    from meetings.core.db import utcnow
    from meetings.documents.org_signer import org_signer, test_root_ca
    from meetings.extensions import db
    from meetings.minutes.models import Minutes
    from meetings.minutes.record import assemble_record
    from meetings.minutes.render import render_minutes
    from meetings.signing.forms import OfficialSignature, SealSignature
    from meetings.signing.images import demo_seal_png, demo_signature_png
    from meetings.signing.pades import prepare_fields, sign_field
    from meetings.signing.pki import issue_personal_certificate
    from flask import current_app

    org = org_signer().identity
    root = test_root_ca(current_app)
    officials = {step: (issue_personal_certificate(root, people[step].full_name, organisation="Quốc hội"),
                        demo_signature_png(people[step].full_name, seed=i))
                 for i, step in enumerate(("secretary", "chair"))}
    seal = demo_seal_png("Quốc hội")
    minutes = Minutes(meeting_id=meeting.id, number="10/BB-QH", general_notes="", closing_text="", state="draft",
                      version=0, chair_user_id=people["chair"].id, secretary_user_id=people["secretary"].id)
    head = db.session.get(AuditChain, chain_name(meeting.id))
    totals = []
    for n in range(rounds):
        times = {}
        t = time.perf_counter()
        record = assemble_record(meeting, minutes, audit_length=head.length, audit_head=head.head,
                                 finalized_at=utcnow())
        times["assemble"] = time.perf_counter() - t
        t = time.perf_counter()
        rendered = render_minutes(record)
        times["render"] = time.perf_counter() - t
        t = time.perf_counter()
        pdf = prepare_fields(rendered.pdf, rendered.fields)
        times["fields"] = time.perf_counter() - t
        for step in ("secretary", "chair", "seal"):
            t = time.perf_counter()
            now = utcnow()
            if step == "seal":
                pdf = sign_field(pdf, "seal", signer=org, signing_time=now,
                                 appearance=SealSignature(org_name="Quốc hội", signing_time=now, image_png=seal))
            else:
                identity, image = officials[step]
                pdf = sign_field(pdf, step, signer=identity, signing_time=now, appearance=OfficialSignature(
                    full_name=people[step].full_name, title=people[step].title, signing_time=now, image_png=image))
            times[f"sign {step}"] = time.perf_counter() - t
        total = sum(times.values())
        totals.append(total)
        print(f"round {n + 1}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in times.items())
              + f" | total {total:.2f} s, {len(pdf) // 1024} KB")
    print(f"all {rounds} rounds: {sum(totals):.2f} s; per round median {sorted(totals)[len(totals) // 2]:.2f} s")


if __name__ == "__main__":
    main()
