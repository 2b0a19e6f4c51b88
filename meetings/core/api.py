"""The API pipeline every REST endpoint runs: authenticate → validate → operate → commit → serialize.

``ApiBlueprint.endpoint`` registers a handler with its input and output schemas. The wrapper does the
plumbing so handlers stay a few lines, and the schemas it records are what /api/openapi.json publishes.
"""
from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Response, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from meetings.core.errors import BadRequest, Conflict, UnsupportedMedia
from meetings.core.tx import begin_write, commit
from meetings.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class EndpointSpec:
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: bool = True
    multipart: dict[str, str] | None = None  # field name -> description
    errors: tuple[int, ...] = ()
    raw_response: str | None = None  # media type of a non-JSON response
    extra: dict = field(default_factory=dict)


def _readable(e: dict) -> str:
    """A translated sentence for the common validation failures (pydantic's own text is English)."""
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind == "missing":
        return _("this field is required")
    if kind == "extra_forbidden":
        return _("this field is not allowed here")
    if kind in ("string_type", "string_sub_type"):
        return _("must be text")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("must be a whole number")
    if kind in ("bool_type", "bool_parsing"):
        return _("must be true or false")
    if kind == "string_too_short":
        return _("must not be empty") if ctx.get("min_length") == 1 else \
            _("must be at least %(n)s characters long", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("must be at most %(n)s characters long", n=ctx.get("max_length"))
    if kind == "too_long":
        return _("has too many entries (at most %(n)s)", n=ctx.get("max_length"))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limit = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        return {"greater_than": _("must be greater than %(n)s", n=limit),
                "greater_than_equal": _("must be at least %(n)s", n=limit),
                "less_than": _("must be less than %(n)s", n=limit),
                "less_than_equal": _("must be at most %(n)s", n=limit)}[kind]
    if kind in ("literal_error", "enum"):
        return _("must be one of: %(values)s", values=ctx.get("expected", ""))
    if kind == "timezone_aware":
        return _("must include the time zone offset, e.g. 2026-12-01T08:00:00+07:00")
    if kind.startswith("datetime") or kind.startswith("date_"):
        return _("must be a date and time in ISO 8601 format, e.g. 2026-12-01T08:00:00+07:00")
    if kind.startswith("decimal"):
        return _("must be a decimal number with at most 4 decimal places")
    if kind == "string_pattern_mismatch":
        return _("contains characters that are not allowed")
    if kind == "list_type":
        return _("must be a list")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("must be an object")
    return e["msg"]


def _validation_detail(err: ValidationError) -> tuple[str, list[dict]]:
    errors = []
    for e in err.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in e["loc"]) or "body"
        errors.append({"field": loc, "message": _readable(e), "type": e["type"]})
    first = errors[0]
    detail = _("Invalid input in “%(field)s”: %(message)s", field=first["field"], message=first["message"])
    if len(errors) > 1:
        detail += " " + _("(and %(n)s more problem(s))", n=len(errors) - 1)
    return detail, errors


def parse_json_body(model: type[BaseModel]) -> BaseModel:
    if not request.mimetype or request.mimetype != "application/json":
        raise UnsupportedMedia(_("Send the request body as JSON (Content-Type: application/json)."))
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            raise BadRequest(_("The request body is not valid JSON."))
        detail, errors = _validation_detail(err)
        raise BadRequest(detail, extra={"errors": errors})


def parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate({k: v for k, v in request.args.items()})
    except ValidationError as err:
        detail, errors = _validation_detail(err)
        raise BadRequest(detail, extra={"errors": errors})


def json_response(payload: Any, status: int) -> Response:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    return Response(_json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


class AfterCommit:
    """A response built after the commit, so after the broadcast: a live action (the chair moving the meeting
    on) reaches the room before the request reads what it answers with."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Any]):
        self.build = build


class ApiBlueprint(Blueprint):
    def endpoint(self, rule: str, method: str = "GET", *, summary: str, body: type[BaseModel] | None = None,
                 query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
                 auth: bool = True, multipart: dict[str, str] | None = None, errors: tuple[int, ...] = (),
                 raw_response: str | None = None, late_write: bool = False) -> Callable:
        """``late_write``: the handler does slow work (an upload) before it writes, and calls
        ``meetings.core.tx.restart_as_writer()`` itself, so no writer lock is held meanwhile."""
        spec = EndpointSpec(method, summary, self.name.removesuffix("_api"), body, query, response, status, auth,
                            multipart, errors, raw_response)

        def decorator(handler: Callable) -> Callable:
            @wraps(handler)
            def view(**path_args):
                from meetings.auth.current import api_actor

                writing = method not in SAFE_METHODS
                try:
                    if writing and not late_write:
                        # Read the whole body first: reading the socket may yield (gevent), and nothing may
                        # yield between BEGIN IMMEDIATE and COMMIT longer than it must.
                        request.get_data(cache=True)
                        begin_write()
                    kwargs = dict(path_args)
                    if auth:
                        kwargs["actor"] = api_actor()
                    if body is not None:
                        kwargs["body"] = parse_json_body(body)
                    if query is not None:
                        kwargs["query"] = parse_query(query)
                    result = handler(**kwargs)
                    if writing:
                        commit()
                except IntegrityError:
                    # Operations check uniqueness first; only a concurrent twin gets here. Say so, don't 500.
                    db.session.rollback()
                    raise Conflict(_("This conflicts with a change made at the same moment. Reload and try again."))
                except BaseException:
                    # A refused or failed request writes nothing, not even what it had already flushed, and
                    # its queued effects are dropped. Not left to the app context's teardown: a context can
                    # outlive the request (tests, CLI, Socket.IO), and its next commit would publish the rows.
                    db.session.rollback()
                    raise
                if isinstance(result, AfterCommit):
                    result = result.build()
                if isinstance(result, Response):
                    return result
                if result is None:
                    return Response(status=204)
                return json_response(result, spec.status)

            view.openapi = spec  # type: ignore[attr-defined]
            self.add_url_rule(rule, handler.__name__, view, methods=[method])
            return handler

        return decorator
