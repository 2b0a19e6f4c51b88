"""Who is calling: a bearer token (API clients, tablets) or the page session cookie (browser)."""
from __future__ import annotations

from flask import g, request, session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from meetings.auth.models import User
from meetings.auth.operations import user_for_token
from meetings.core.errors import BadRequest, NotAuthenticated
from meetings.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def user_from_session() -> User | None:
    user_id = session.get("uid")
    if not isinstance(user_id, int):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or session.get("epoch") != user.session_epoch:
        session.clear()
        return None
    return user


def api_actor() -> User:
    """The caller of an API endpoint, or 401. Cookie-authenticated writes must carry the CSRF header."""
    token = bearer_token()
    if token is not None:
        user = user_for_token(token)
        if user is None:
            raise NotAuthenticated(_("The token is invalid, expired or revoked. Please log in again."))
        g.actor = user
        return user
    user = user_from_session()
    if user is None:
        raise NotAuthenticated(_("Please log in."))
    if request.method not in SAFE_METHODS:
        try:
            validate_csrf(request.headers.get("X-CSRFToken"))
        except (ValidationError, CSRFError):
            raise BadRequest(_("The security token of the page has expired. Reload the page and try again."))
    g.actor = user
    return user


def page_actor() -> User | None:
    if "actor" not in g:
        g.actor = user_from_session()
    return g.actor


def log_in_session(user: User) -> None:
    session.clear()
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session.permanent = True
