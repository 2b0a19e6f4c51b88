"""Registers the page blueprints (server-rendered, Vietnamese first)."""
from flask import Flask


def register_views(app: Flask) -> None:
    from meetings.auth.views import bp as auth_pages
    from meetings.meeting.views import bp as meeting_pages

    app.register_blueprint(auth_pages)
    app.register_blueprint(meeting_pages)
