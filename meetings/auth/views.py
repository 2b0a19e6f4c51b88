"""Login, logout and the language switch."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from meetings.auth.current import log_in_session, page_actor
from meetings.auth.operations import authenticate
from meetings.core.errors import RateLimited
from meetings.core.tx import begin_write, commit

bp = Blueprint("auth", __name__)


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if page_actor() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("meetings.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if page_actor() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()[:80]
    password = request.form.get("password", "")[:1024]
    if not username or not password:
        flash(_("Enter your username and password."), "error")
        return render_template("login.html", next=request.form.get("next", ""), username=username), 400
    begin_write()
    try:
        user = authenticate(username, password, ip=request.remote_addr or "?")
    except RateLimited as err:
        flash(err.detail, "error")
        return render_template("login.html", next=request.form.get("next", ""), username=username), 429
    commit()
    if user is None:
        flash(_("Wrong username or password."), "error")
        return render_template("login.html", next=request.form.get("next", ""), username=username), 401
    lang = session.get("lang")
    log_in_session(user)
    if lang:
        session["lang"] = lang
    g.actor = user
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
