"""Phòng Họp — a self-hosted paperless meeting room server."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, g, has_request_context, request, session
from werkzeug.routing import IntegerConverter

from meetings.config import load_config
from meetings.extensions import babel, csrf, db, migrate

ROOT = Path(__file__).resolve().parent.parent


MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    regex = r"[0-9]{1,12}"  # ASCII digits only; the range is checked in _ids_in_range (a 404, not a 405)


def _ids_in_range() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            abort(404)


def select_locale() -> str:
    if not has_request_context():
        return "vi"  # command line, tests, background work: messages still need a language
    lang = session.get("lang")
    if lang in ("vi", "en"):
        return lang
    actor = g.get("actor")
    if actor is not None and actor.locale in ("vi", "en"):
        return actor.locale
    return "vi"


def _quiet_libraries() -> None:
    import logging
    # pyHanko logs a full traceback for every signature whose chain is not trusted; our verifier reports
    # that in the verdict, and the log would fill with one per verification of a foreign document.
    logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=str(ROOT / "instance"))
    app.config.update(load_config(config))
    _quiet_libraries()
    # Ids in URLs are ASCII digits within 1..2^31-1 (Werkzeug's own int also takes "١٢" and 20-digit numbers,
    # which SQLite cannot bind): anything else names nothing, so it is a 404 before any code runs.
    if app.config["BEHIND_NGINX"]:
        # nginx sets X-Forwarded-For/-Proto: the rate limit must see the tablet's address, not nginx's.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.url_map.converters["int"] = IdConverter
    app.before_request(_ids_in_range)

    # Models must be imported before the metadata is used (migrations, create_all).
    from meetings import models  # noqa: F401
    from meetings.core.tx import install_sqlite_pragmas

    db.init_app(app)
    with app.app_context():
        install_sqlite_pragmas(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale, default_timezone="Asia/Ho_Chi_Minh")
    csrf.init_app(app)

    from meetings.core.errors import register_error_handlers
    register_error_handlers(app)

    from meetings.agenda.api import bp as agenda_api
    from meetings.attendance.api import bp as attendance_api
    from meetings.auth.api import bp as auth_api
    from meetings.auth.api import users_bp as users_api
    from meetings.bodies.api import bp as bodies_api
    from meetings.docs import bp as docs_bp
    from meetings.documents.api import bp as documents_api
    from meetings.meeting.api import bp as meetings_api
    from meetings.minutes.api import bp as minutes_api
    from meetings.search.api import bp as search_api
    from meetings.signing.api import bp as signing_api
    from meetings.speakers.api import bp as speakers_api
    from meetings.voting.api import bp as voting_api
    for api_bp in (auth_api, users_api, bodies_api, meetings_api, agenda_api, documents_api, signing_api,
                   attendance_api, speakers_api, voting_api, minutes_api, search_api):
        csrf.exempt(api_bp)  # the API checks CSRF itself, and only for cookie-authenticated writes
        app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(docs_bp)

    from meetings.views import register_views
    register_views(app)

    from meetings.realtime.server import init_realtime
    init_realtime(app)

    from meetings.cli import register_cli
    register_cli(app)

    @app.after_request
    def _security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith("/api/docs"):
            resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return resp

    return app
