"""Registers the page blueprints (server-rendered, Vietnamese first) and what their templates share."""
from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


def register_views(app: Flask) -> None:
    from meetings.attendance.views import bp as attendance_pages
    from meetings.auth.views import bp as auth_pages
    from meetings.documents.views import bp as document_pages
    from meetings.meeting.views import bp as meeting_pages
    from meetings.minutes.views import bp as minutes_pages
    from meetings.realtime.views import bp as live_pages
    from meetings.search.views import bp as search_pages
    from meetings.web.templating import install_template_helpers

    app.register_blueprint(auth_pages)
    app.register_blueprint(meeting_pages)
    app.register_blueprint(live_pages)
    app.register_blueprint(document_pages)
    app.register_blueprint(attendance_pages)
    app.register_blueprint(minutes_pages)
    app.register_blueprint(search_pages)
    install_template_helpers(app)

    @app.errorhandler(CSRFError)
    def _csrf_refused(_err: CSRFError):
        # Only page forms reach here (the API blueprints are exempt and check the header themselves).
        # Flask-WTF's own reason is English jargon; the user needs to know what to do.
        return render_template("error.html", status=400, title=_("The form has expired"),
                               detail=_("The security token of the page is missing or has expired. "
                                        "Go back, reload the page and try again.")), 400
