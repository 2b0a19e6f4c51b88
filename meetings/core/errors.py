"""One error type for every rule broken, mapped to problem+json in one place (and to an ack dict on sockets)."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE_BASE = "https://phonghop.example/problems/"


class DomainError(Exception):
    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        body = {"type": PROBLEM_TYPE_BASE + self.kind, "title": self.title, "status": self.status, "detail": self.detail}
        body.update(self.extra)
        return body


class BadRequest(DomainError):
    status, kind, title = 400, "bad-request", "Bad request"


class NotAuthenticated(DomainError):
    status, kind, title = 401, "not-authenticated", "Not logged in"


class Forbidden(DomainError):
    status, kind, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, kind, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, kind, title = 409, "conflict", "State conflict"


class TooLarge(DomainError):
    status, kind, title = 413, "too-large", "Too large"


class UnsupportedMedia(DomainError):
    status, kind, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(DomainError):
    status, kind, title = 422, "unprocessable", "Semantically invalid"


class RateLimited(DomainError):
    status, kind, title = 429, "rate-limited", "Too many requests"


def problem_response(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    from flask import render_template

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        if wants_problem_json():
            return problem_response(err.to_dict(), err.status, err.headers)
        return render_template("error.html", status=err.status, title=err.title, detail=err.detail), err.status

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        if wants_problem_json():
            body = {"type": PROBLEM_TYPE_BASE + (err.name or "error").lower().replace(" ", "-"),
                    "title": err.name, "status": status, "detail": err.description}
            return problem_response(body, status)
        return render_template("error.html", status=status, title=err.name, detail=err.description), status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unhandled error")
        if wants_problem_json():
            body = {"type": PROBLEM_TYPE_BASE + "internal", "title": "Internal error", "status": 500,
                    "detail": "An unexpected error occurred; it has been logged."}
            return problem_response(body, 500)
        return render_template("error.html", status=500, title="Internal error", detail=""), 500
