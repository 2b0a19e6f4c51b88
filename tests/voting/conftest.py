from __future__ import annotations

import secrets

import pytest

from tests.attendance.conftest import Live


class Votes(Live):
    """A live meeting (session open) plus REST helpers for polls."""

    def create(self, by=None, **fields):
        body = {"title": "Thông qua Nghị quyết về dự toán ngân sách năm 2027", **fields}
        return self.client.post(f"{self.base}/polls", headers=self.headers(by or self.world.secretary), json=body)

    def open(self, poll_id, by=None):
        return self.client.post(f"{self.base}/polls/{poll_id}/open", headers=self.headers(by or self.world.chair))

    def close(self, poll_id, by=None):
        return self.client.post(f"{self.base}/polls/{poll_id}/close", headers=self.headers(by or self.world.chair))

    def cast(self, poll_id, user, choice="yes", key=None, **extra):
        body = {"idempotency_key": key or secrets.token_hex(12), **extra}
        if choice is not None:
            body["choice"] = choice
        return self.client.post(f"{self.base}/polls/{poll_id}/ballots", headers=self.headers(user), json=body)

    def opened_poll(self, **fields) -> int:
        poll = self.create(**fields)
        assert poll.status_code == 201, poll.json
        opened = self.open(poll.json["poll_id"])
        assert opened.status_code == 200, opened.json
        return poll.json["poll_id"]


@pytest.fixture
def votes(world, client, token_for):
    return Votes(world, client, token_for)
