"""What every template may use: the current user and locale, time formatting in Vietnam time, labels."""
from __future__ import annotations

from datetime import datetime

from flask import Flask, g
from flask_babel import format_datetime, format_decimal, get_locale
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import default_exceptions

from meetings.core.db import VN_TZ
from meetings.core.i18n import ACTION_LABELS, ACTION_PAST, BODY_KIND_LABELS, ROLE_LABELS, STATE_LABELS

TIME_FORMATS = {
    "full": "EEEE, dd/MM/yyyy HH:mm",
    "date": "dd/MM/yyyy",
    "time": "HH:mm",
    "short": "HH:mm dd/MM/yyyy",
}


def local_time(value: datetime | str | None, fmt: str = "short") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # an API payload's ISO 8601 time
        value = datetime.fromisoformat(value)
    # Flask-Babel's default timezone is Asia/Ho_Chi_Minh: the value is shown in Vietnam time.
    return format_datetime(value, TIME_FORMATS.get(fmt, fmt))


def filesize(size: int) -> str:
    """245 KB, 1,4 MB (in the user's number format)."""
    if size < 1024 * 1024:
        return f"{format_decimal(max(1, round(size / 1024)))} KB"
    return f"{format_decimal(round(size / (1024 * 1024), 1))} MB"


def input_time(value: datetime | None) -> str:
    """The value of a ``datetime-local`` input, in Vietnam time."""
    return value.astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""


def stock_http_description(status: int) -> str | None:
    exc = default_exceptions.get(status)
    return exc.description if exc else None


def _current_user():
    if "actor" in g:
        return g.actor
    from meetings.auth.current import page_actor
    try:
        return page_actor()
    except SQLAlchemyError:
        # An error page after a database failure must still render.
        return None


def socket_ticket() -> str:
    """The ``auth.token`` a page's Socket.IO client connects with (see meetings.realtime.tickets)."""
    from meetings.realtime.tickets import issue_ticket
    user = _current_user()
    return issue_ticket(user) if user is not None else ""


def install_template_helpers(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(input_time, "input_time")
    app.add_template_filter(filesize, "filesize")
    app.add_template_global(stock_http_description, "stock_http_description")
    app.add_template_global(socket_ticket, "socket_ticket")

    @app.context_processor
    def _globals():
        return {
            "current_user": _current_user(),
            "current_locale": str(get_locale() or "vi"),
            "STATE_LABELS": STATE_LABELS, "ROLE_LABELS": ROLE_LABELS, "ACTION_LABELS": ACTION_LABELS,
            "ACTION_PAST": ACTION_PAST, "BODY_KIND_LABELS": BODY_KIND_LABELS,
        }
