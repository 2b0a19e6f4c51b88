"""/api/openapi.json and the browsable API docs page (Swagger UI from npm, served from static/vendor)."""
from flask import Blueprint, current_app, jsonify, render_template

from meetings.core.openapi import build_openapi

bp = Blueprint("docs", __name__)


@bp.get("/api/openapi.json")
def openapi_json():
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = build_openapi(current_app)
    return jsonify(current_app.extensions["openapi"])


@bp.get("/api/docs")
def api_docs():
    return render_template("api_docs.html")
