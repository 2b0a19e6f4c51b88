"""The POST pipeline of the pages and the parsing of HTML form values into schema input.

A page form post runs like an API write: writer transaction first, then the caller, then one operation,
then one commit. A broken rule never becomes a 500: the operation's message is flashed and the user is
sent back to the page they came from.
"""
from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Callable

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError

from meetings.auth.current import page_actor
from meetings.core.db import VN_TZ
from meetings.core.errors import BadRequest, DomainError, NotFound
from meetings.core.tx import begin_write, commit
from meetings.extensions import db


def field_label(name: str) -> str:
    """Form field names as the user reads them next to the inputs."""
    labels = {
        "title": _("Title"), "number": _("Number"), "place": _("Place"), "description": _("Description"),
        "starts_at": _("Starts"), "ends_at": _("Ends"), "body_id": _("Body"), "action": _("Action"),
        "comment": _("Comment"), "is_closed_session": _("Closed session"),
    }
    return labels.get(name, name)


def validation_message(err: ValidationError) -> str:
    problems = []
    for e in err.errors(include_url=False, include_input=False):
        field = str(e["loc"][0]) if e["loc"] else ""
        if e["type"] == "string_too_short":
            problems.append(_("“%(field)s” must not be empty.", field=field_label(field)))
        elif e["type"] == "string_too_long":
            problems.append(_("“%(field)s” is too long (at most %(n)s characters).", field=field_label(field),
                              n=e.get("ctx", {}).get("max_length", "?")))
        else:
            problems.append(_("“%(field)s” is not valid.", field=field_label(field)))
    return " ".join(problems)


def form_text(name: str) -> str:
    return request.form.get(name, "").strip()


def form_datetime(name: str) -> datetime | None:
    """A ``datetime-local`` value, which the user typed in Vietnam time."""
    raw = form_text(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(_("“%(field)s” is not a valid date and time.", field=field_label(name)))
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value


def page_action(back: str | Callable[..., str]):
    """Wrap a form POST view: ``view(actor=…, **url_args)`` runs one operation and returns a redirect.

    ``back`` is the endpoint (called with the URL arguments) the user returns to when a rule is broken.
    """
    def decorator(view):
        @wraps(view)
        def wrapper(**kwargs):
            # The writer lock is taken before the first read (the session user), see meetings.core.tx.
            begin_write()
            actor = page_actor()
            if actor is None:
                db.session.rollback()  # give up the writer lock at once
                return redirect(url_for("auth.login"))
            target = back(**kwargs) if callable(back) else url_for(back, **kwargs)
            try:
                response = view(actor=actor, **kwargs)
                commit()
                return response
            except NotFound:
                db.session.rollback()
                raise
            except DomainError as err:
                db.session.rollback()
                flash(err.detail, "error")
            except ValidationError as err:
                db.session.rollback()
                flash(validation_message(err), "error")
            return redirect(target)
        return wrapper
    return decorator
