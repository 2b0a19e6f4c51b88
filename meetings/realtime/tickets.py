"""Socket tickets for pages: the browser has a session cookie, the socket wants ``auth: {token}``.

A page gets a signed, short-lived ticket naming the user and their session epoch, so logging out or being
deactivated voids it exactly like the cookie. API clients use their bearer token instead.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

PREFIX = "pt."
MAX_AGE = 12 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="socket-ticket")


def issue_ticket(user) -> str:
    return PREFIX + _serializer().dumps({"uid": user.id, "epoch": user.session_epoch})


def read_ticket(token: str) -> tuple[int, int] | None:
    if not token.startswith(PREFIX):
        return None
    try:
        data = _serializer().loads(token[len(PREFIX):], max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int) or not isinstance(data.get("epoch"), int):
        return None
    return data["uid"], data["epoch"]
