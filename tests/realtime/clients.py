"""Real Socket.IO clients (python-socketio over a real WebSocket) for the live-server tests."""
from __future__ import annotations

import threading
import time

import requests
import socketio


def login(base: str, username: str, password: str = "demo-2026") -> str:
    resp = requests.post(base + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=30)
    resp.raise_for_status()
    return resp.json()["token"]


def api(base: str, method: str, path: str, token: str, json=None) -> requests.Response:
    return requests.request(method, base + path, json=json, headers={"Authorization": f"Bearer {token}"}, timeout=30)


class Tablet:
    """A tablet: connects with a token, records every event it receives, in order."""

    def __init__(self, base: str, token: str, **connect_kwargs):
        self.received: list[tuple[str, dict]] = []
        self.disconnected = threading.Event()
        self._cond = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record)
        self.client.on("disconnect", lambda *a: self.disconnected.set())
        self.client.connect(base, auth={"token": token}, transports=["websocket"], wait_timeout=10, **connect_kwargs)

    def _record(self, event: str, data: dict) -> None:
        with self._cond:
            self.received.append((event, data))
            self._cond.notify_all()

    def call(self, event: str, data) -> dict:
        return self.client.call(event, data, timeout=10)

    def wait_for(self, predicate, timeout: float = 5.0) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; received: {self.received}")
                self._cond.wait(left)
            return list(self.received)

    def events(self, meeting_id: int | None = None) -> list[tuple[str, dict]]:
        return [(e, d) for e, d in self.received if meeting_id is None or d.get("meeting_id") == meeting_id]

    def close(self) -> None:
        # Not the graceful disconnect: it waits ~3 s for the server to close the TCP connection, which gevent's
        # pywsgi keeps open after a WebSocket ends (noted for the real-time issue); the server copes either way.
        if self.client.connected:
            self.client.eio.disconnect(abort=True)
