"""One error type for every rule broken, mapped to problem+json in one place (and to an ack dict on sockets)."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from flask_babel import gettext as _
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
        title, detail = http_error_text(status, err)
        if wants_problem_json():
            body = {"type": PROBLEM_TYPE_BASE + (err.name or "error").lower().replace(" ", "-"),
                    "title": title, "status": status, "detail": detail}
            return problem_response(body, status, {"Allow": err.response.headers["Allow"]} if status == 405
                                    and err.response is not None and "Allow" in err.response.headers else None)
        # Pages explain each status in words of their own (templates/error.html).
        return render_template("error.html", status=status, title=title, detail=""), status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        app.logger.exception("unhandled error")
        title, detail = _("Internal error"), _("An unexpected error occurred; it has been logged.")
        if wants_problem_json():
            body = {"type": PROBLEM_TYPE_BASE + "internal", "title": title, "status": 500, "detail": detail}
            return problem_response(body, 500)
        return render_template("error.html", status=500, title=title, detail=detail), 500


def http_error_text(status: int, err: HTTPException) -> tuple[str, str]:
    """Translated title and detail for Werkzeug's errors (its own texts are English)."""
    from flask import current_app

    texts = {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Not logged in"), _("Please log in.")),
        403: (_("Not allowed"), _("You are not allowed to do this.")),
        404: (_("Not found"), _("This address does not exist, or what it names is not visible to you.")),
        405: (_("Method not allowed"), _("This address does not accept the %(method)s method.",
                                          method=request.method)),
        413: (_("Too large"), _("The upload is larger than the limit of %(mb)s MB.",
                                mb=current_app.config.get("MAX_UPLOAD_MB"))),
        415: (_("Unsupported media type"), _("This kind of content is not accepted here.")),
        429: (_("Too many requests"), _("Too many requests. Please wait a moment and try again.")),
    }
    title, detail = texts.get(status, (err.name, err.description))
    if status == 400 and err.description and "CSRF" in err.description:
        detail = _("The security token of the page has expired. Reload the page and try again.")
    return str(title), str(detail)
