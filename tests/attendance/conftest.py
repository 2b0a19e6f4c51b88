from __future__ import annotations

import pytest

from meetings.core.tx import commit
from meetings.meeting.operations import create_session, open_session
from meetings.meeting.schemas import SessionCreate


class Live:
    """A meeting in session with its morning session open, and REST helpers for attendance."""

    def __init__(self, world, client, token_for):
        self.world, self.client = world, client
        self.meeting = world.meeting("in_session")
        self.session = create_session(self.meeting.id, SessionCreate(title="Phiên buổi sáng"), actor=world.secretary)
        commit()
        open_session(self.meeting.id, self.session.id, actor=world.chair)
        commit()
        self._tokens = {}
        self._token_for = token_for
        self.base = f"/api/v1/meetings/{self.meeting.id}"

    def headers(self, user) -> dict:
        if user.id not in self._tokens:
            self._tokens[user.id] = self._token_for(user)
        return self._tokens[user.id]

    def roll_call(self, kind: str, op: str = "open", user=None):
        return self.client.post(f"{self.base}/sessions/{self.session.id}/roll-calls/{kind}/{op}",
                                headers=self.headers(user or self.world.chair))

    def check_in(self, user, method: str = "tablet", **extra):
        return self.client.post(f"{self.base}/attendance/check-in", headers=self.headers(user),
                                json={"session_id": self.session.id, "method": method, **extra})

    def check_out(self, user):
        return self.client.post(f"{self.base}/attendance/check-out", headers=self.headers(user),
                                json={"session_id": self.session.id})

    def attendance(self, user=None):
        return self.client.get(f"{self.base}/attendance?session_id={self.session.id}",
                               headers=self.headers(user or self.world.secretary))

    def row(self, user) -> dict:
        return next(r for r in self.attendance().json["roster"] if r["user_id"] == user.id)


@pytest.fixture
def live(world, client, token_for):
    return Live(world, client, token_for)
