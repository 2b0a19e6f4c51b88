"""Prepare a fresh database for the fleet benchmark: the demo plus N delegates of its published meeting.

Run by run.py in its own process, with DATA_DIR (and DATABASE_URL for PostgreSQL) in the environment.
Everything goes through the app's own operations: migrations, ``seed_demo``, ``create_user`` (no password:
these accounts cannot log in, they only hold tokens), ``add_participant`` (as the demo's secretary) and
``issue_token`` (one API token per delegate, instead of N argon2 logins). Writes a JSON file:

    {"meeting_id", "chair_token", "tokens": [...N...], "item_ids": [...top-level agenda items...]}

Usage: python bench/fleet/setup_db.py --clients 500 --out /tmp/x/fleet.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.monotonic()

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from meetings import create_app
    from meetings.agenda.operations import agenda_items
    from meetings.auth.models import User
    from meetings.auth.operations import create_user, issue_token
    from meetings.auth.schemas import UserCreate
    from meetings.core.tx import begin_write, commit
    from meetings.demo import seed_demo
    from meetings.extensions import db
    from meetings.meeting.models import Meeting
    from meetings.meeting.operations import add_participant
    from meetings.meeting.schemas import ParticipantIn

    app = create_app()
    with app.app_context():
        upgrade()
        seed_demo(echo=lambda _line: None)
        begin_write()
        meeting = db.session.execute(
            sa.select(Meeting).where(Meeting.state == "published").order_by(Meeting.id)).scalars().first()
        if meeting is None:
            raise SystemExit("the demo has no published meeting")
        users = {u.username: u for u in db.session.execute(
            sa.select(User).where(User.username.in_(("thuky", "chutoa")))).scalars()}
        secretary, chair = users["thuky"], users["chutoa"]
        tokens = []
        for i in range(1, args.clients + 1):
            user = create_user(UserCreate(username=f"bench{i:04d}", full_name=f"Đại biểu thử nghiệm {i:04d}",
                                          title="Đại biểu (benchmark)"), actor=None)
            add_participant(meeting.id, ParticipantIn(user_id=user.id, role="delegate"), actor=secretary)
            tokens.append(issue_token(user)[0])
        chair_token = issue_token(chair)[0]
        item_ids = [item.id for item in agenda_items(meeting.id) if item.parent_id is None]
        commit()
        meeting_id = meeting.id
        db.engine.dispose()
    args.out.write_text(json.dumps({"meeting_id": meeting_id, "chair_token": chair_token, "tokens": tokens,
                                    "item_ids": item_ids}))
    print(f"setup: demo + {args.clients} delegates of meeting {meeting_id} in {time.monotonic() - started:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
