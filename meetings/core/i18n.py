"""Labels for domain values, translated at render time (Vietnamese is the default locale)."""
from flask_babel import lazy_gettext as _l

STATE_LABELS = {
    "draft": _l("Draft"), "submitted": _l("Awaiting approval"), "approved": _l("Approved"),
    "published": _l("Published"), "in_session": _l("In session"), "paused": _l("Paused"),
    "adjourned": _l("Adjourned"), "closed": _l("Closed"), "archived": _l("Archived"),
}
ROLE_LABELS = {
    "chair": _l("Chair"), "secretary": _l("Secretary"), "approver": _l("Approver"),
    "delegate": _l("Delegate"), "guest": _l("Guest"), "admin": _l("Administrator"),
}
ACTION_LABELS = {
    "submit": _l("Submit for approval"), "reject": _l("Return for changes"), "approve": _l("Approve"),
    "publish": _l("Publish"), "start": _l("Start the meeting"), "pause": _l("Pause"), "resume": _l("Resume"),
    "adjourn": _l("Adjourn"), "close": _l("Close"), "archive": _l("Archive"),
}
ACTION_PAST = {
    "submit": _l("submitted for approval"), "reject": _l("returned for changes"), "approve": _l("approved"),
    "publish": _l("published"), "start": _l("started"), "pause": _l("paused"), "resume": _l("resumed"),
    "adjourn": _l("adjourned"), "close": _l("closed"), "archive": _l("archived"),
}
# Whole sentences: Vietnamese needs "đã được …" after "Cuộc họp" but "đã …" after a person (ACTION_PAST).
ACTION_DONE = {
    "submit": _l("The meeting was submitted for approval."), "reject": _l("The meeting was returned for changes."),
    "approve": _l("The meeting was approved."), "publish": _l("The meeting was published to its participants."),
    "start": _l("The meeting has started."), "pause": _l("The meeting was paused."),
    "resume": _l("The meeting has resumed."), "adjourn": _l("The meeting was adjourned."),
    "close": _l("The meeting was closed."), "archive": _l("The meeting was archived."),
}
BODY_KIND_LABELS = {
    "council": _l("People's Council"), "committee": _l("People's Committee"), "board": _l("Board"),
    "assembly": _l("Assembly"), "other": _l("Other"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
