"""Document pages: the meeting's documents (upload for the secretary, reading for everyone), the pdf.js
viewer with its signature badge, and the verification pages in plain words.

Uploads go from the page to the REST API (static/js/documents/upload.js shows the progress); these views only
read, except the "verify any PDF" form, which checks the file in the sandbox and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from meetings.agenda.operations import agenda_items
from meetings.agenda.tree import build_tree, flatten
from meetings.auth.current import page_actor
from meetings.auth.views import login_required
from meetings.core.errors import DomainError
from meetings.documents import operations as ops
from meetings.documents.models import Document
from meetings.documents.verification import describe, version_report
from meetings.meeting.access import load_meeting
from meetings.meeting.models import ROLES, Meeting

bp = Blueprint("documents", __name__)


@dataclass
class Group:
    key: str
    number: str
    title: str
    documents: list[Document] = field(default_factory=list)


def _groups(meeting: Meeting, docs: list[Document]) -> list[Group]:
    """Documents per agenda item, in agenda order; the meeting's own documents first."""
    groups = [Group("meeting", "", _("Documents of the meeting"))]
    by_item: dict[int, Group] = {}
    for node in flatten(build_tree(agenda_items(meeting.id))):
        by_item[node.item.id] = Group(f"item-{node.item.id}", node.number, node.item.title)
        groups.append(by_item[node.item.id])
    for doc in docs:
        (by_item.get(doc.agenda_item_id) or groups[0]).documents.append(doc)
    return [g for g in groups if g.documents]


def _badges(docs: list[Document]) -> dict[int, dict]:
    badges = {}
    for doc in docs:
        if doc.current_version is not None:
            plain = describe(version_report(doc.current_version))
            badges[doc.id] = {"tone": plain["tone"], "headline": plain["headline"], "verdict": plain["verdict"]}
    return badges


def list_context(meeting: Meeting, roles: frozenset[str], *, manage: bool = True) -> dict:
    """What documents/_list.html needs; ``manage=False`` (the live tablet page) leaves out the upload actions."""
    actor = page_actor()
    docs = ops.visible_documents(meeting, actor, roles)
    sees_reads = bool(roles & set(ops.SEE_READS))
    readers = {}
    if sees_reads:
        for doc in docs:
            _doc, audience = ops.document_readers(doc.id, actor=actor)
            readers[doc.id] = audience
    return {"meeting": meeting, "roles": sorted(roles), "groups": _groups(meeting, docs), "badges": _badges(docs),
            "readers": readers, "can_upload": manage and "secretary" in roles and meeting.state in ops.UPLOAD_STATES,
            "is_staff": bool(roles & ops.SEE_EVERYTHING)}


@bp.get("/meetings/<int:meeting_id>/documents")
@login_required
def meeting_documents(meeting_id: int):
    meeting, roles = load_meeting(meeting_id, page_actor())
    context = list_context(meeting, roles)
    items = flatten(build_tree(agenda_items(meeting.id)))
    return render_template("documents/index.html", items=items, participants=meeting.participants,
                           all_roles=ROLES, max_upload_mb=_max_mb(), **context)


@bp.get("/meetings/<int:meeting_id>/documents/list")
@login_required
def meeting_documents_list(meeting_id: int):
    """The list alone, for pages that refresh it after an upload or a ``document.*`` event."""
    meeting, roles = load_meeting(meeting_id, page_actor())
    manage = request.args.get("mode") != "tablet"
    return render_template("documents/_list.html", **list_context(meeting, roles, manage=manage))


@bp.get("/documents/<int:document_id>/view")
@login_required
def viewer(document_id: int):
    doc, meeting, roles = ops.load_document(document_id, actor=page_actor())
    report = describe(version_report(doc.current_version)) if doc.current_version else None
    return render_template("documents/viewer.html", doc=doc, meeting=meeting, roles=sorted(roles), report=report,
                           file_url=url_for("documents_api.get_file", document_id=doc.id),
                           viewer_i18n=viewer_labels())


@bp.get("/documents/<int:document_id>/signatures")
@login_required
def signatures(document_id: int):
    doc, meeting, roles = ops.load_document(document_id, actor=page_actor())
    report = describe(version_report(doc.current_version)) if doc.current_version else None
    return render_template("documents/signatures.html", doc=doc, meeting=meeting, report=report)


def _max_mb() -> int:
    from flask import current_app
    return current_app.config["MAX_UPLOAD_MB"]


@bp.route("/verify", methods=["GET", "POST"])
@login_required
def verify_any():
    """Anyone logged in checks any PDF's signatures; the file is checked in the sandbox and not kept."""
    if request.method == "GET":
        return render_template("documents/verify.html", max_upload_mb=_max_mb())
    from meetings.signing.api import check_upload

    try:
        checked = check_upload().model_dump(mode="json")
    except DomainError as err:
        return render_template("documents/verify.html", max_upload_mb=_max_mb(), error=err.detail), err.status
    return render_template("documents/verify.html", max_upload_mb=_max_mb(), filename=checked["filename"],
                           report=describe(checked), sha256=checked["sha256"])


def viewer_labels() -> dict[str, str]:
    """The pdf.js viewer's texts (static/js/documents/pdfview.js), for every page that embeds it."""
    return {
        "failed": _("The document could not be opened. Check the connection and reload the page."),
        "loading": _("Opening the document… %(pct)s%%", pct="{pct}"),
    }
