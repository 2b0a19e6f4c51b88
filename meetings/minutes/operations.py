"""Minutes operations: the live draft, finalizing into a PDF/A, signing in order, archiving.

Order of the signatures is the law's, not a preference: the secretary, then the chair, then the organisation's
seal (applied by the secretary acting as clerk). Each person signs only their own step, only when it is next.
Rendering and signing take a second or so; they run outside the write lock (``late_write`` endpoints), and the
write that follows re-checks that nothing moved meanwhile — a concurrent signer gets a 409, never a fork.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _

from meetings.agenda.models import AgendaItem
from meetings.auth.models import User
from meetings.core.audit import AuditChain, chain_name, record_audit
from meetings.core.chain import GENESIS
from meetings.core.db import to_local_iso, utcnow
from meetings.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from meetings.core.i18n import state_label
from meetings.core.events import emit_event
from meetings.core.tx import restart_as_writer
from meetings.documents.operations import blob_store, configured_timestamper
from meetings.documents.org_signer import org_signer
from meetings.extensions import db
from meetings.meeting.access import load_meeting, require_role
from meetings.meeting.models import Meeting
from meetings.minutes.models import (EDITABLE_FIELDS, GENERAL_FIELDS, STEPS, BodySeal, ExternalSigningRequest,
                                     Minutes, MinutesEntry, MinutesRevision, MinutesSignature, SigningCredential)
from meetings.minutes.record import assemble_record, record_sha256
from meetings.signing.pki import CertificateError, SignerIdentity, name_attribute, read_pkcs12

EDIT = ("secretary",)
READ_DRAFT = ("secretary", "chair", "approver", "admin")
# Notes may be taken from publication until the meeting closes; a closed meeting is read-only but for signing.
DRAFT_STATES = ("published", "in_session", "paused", "adjourned")
MAX_TEXT = 100_000
EXTERNAL_TTL = dt.timedelta(minutes=15)
STEP_ROLE = {"secretary": "secretary", "chair": "chair", "seal": "secretary"}


def step_label(step: str) -> str:
    return {"secretary": _("the secretary"), "chair": _("the chair"), "seal": _("the organisation's seal")}[step]


def step_name(step: str) -> str:
    """The signature's name as a list shows it ("Chủ tọa"); a field the minutes do not define keeps its own."""
    return {"secretary": _("Secretary"), "chair": _("Chair"), "seal": _("Organisation's seal")}.get(step, step)


# --- the draft ----------------------------------------------------------------------------------------------

def minutes_of(meeting: Meeting, *, create: bool = False) -> Minutes | None:
    minutes = db.session.get(Minutes, meeting.id)
    if minutes is None and create:
        minutes = Minutes(meeting_id=meeting.id, state="draft", number="", general_notes="", closing_text="",
                          version=0, updated_at=utcnow())
        db.session.add(minutes)
        db.session.flush()
    return minutes


def _ensure_draft(meeting: Meeting, minutes: Minutes | None) -> None:
    if minutes is not None and minutes.state != "draft":
        raise Conflict(_("The minutes are finalized and can no longer be changed."), extra={"state": minutes.state})
    if meeting.state not in DRAFT_STATES:
        raise Conflict(_("Minutes can be written from publication until the meeting is closed."),
                       extra={"state": meeting.state})


@dataclass(frozen=True)
class Saved:
    agenda_item_id: int | None
    field: str
    text: str
    version: int
    updated_at: dt.datetime
    updated_by: str


def save_draft(meeting_id: int, *, agenda_item_id: int | None, field: str, text: str, base_version: int,
               actor: User) -> Saved:
    """Autosave one field. ``base_version`` is the version the editor started from: a save over someone else's
    newer text is a 409 carrying that text, so no one's words are silently lost."""
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    require_role(roles, EDIT)
    minutes = minutes_of(meeting, create=True)
    _ensure_draft(meeting, minutes)
    if len(text) > MAX_TEXT:
        raise Unprocessable(_("The text is too long (at most %(n)s characters).", n=MAX_TEXT))
    text = text.replace("\r\n", "\n")
    now = utcnow()
    if agenda_item_id is None:
        if field not in GENERAL_FIELDS:
            raise Unprocessable(_("Without an agenda item the field must be one of: %(f)s.", f=", ".join(GENERAL_FIELDS)))
        if field == "number" and len(text) > 60:
            raise Unprocessable(_("The minutes number is at most 60 characters."))
        current, version = getattr(minutes, field), minutes.version
        target: Any = minutes
    else:
        if field not in EDITABLE_FIELDS:
            raise Unprocessable(_("The field must be one of: %(f)s.", f=", ".join(EDITABLE_FIELDS)))
        item = db.session.get(AgendaItem, agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            raise NotFound(_("Agenda item %(id)s is not part of this meeting.", id=agenda_item_id))
        target = db.session.execute(sa.select(MinutesEntry).where(
            MinutesEntry.meeting_id == meeting.id, MinutesEntry.agenda_item_id == item.id)).scalar_one_or_none()
        if target is None:
            target = MinutesEntry(meeting_id=meeting.id, agenda_item_id=item.id, notes="", conclusions="", version=0)
            db.session.add(target)
        current, version = getattr(target, field), target.version
    if base_version != version:
        last = _last_revision(meeting.id, agenda_item_id)
        raise Conflict(_("Someone else changed the minutes meanwhile; their text is shown, yours is kept below it."),
                       extra={"version": version, "field": field, "current": _current_texts(target, agenda_item_id),
                              "updated_by": last[0] if last else "", "updated_at": to_local_iso(last[1]) if last else None})
    if text == current:
        return Saved(agenda_item_id, field, text, version, minutes.updated_at, actor.full_name)
    setattr(target, field, text)
    target.version = version + 1
    if agenda_item_id is not None:
        target.updated_by_id, target.updated_at = actor.id, now
    minutes.updated_at = now
    db.session.add(MinutesRevision(meeting_id=meeting.id, agenda_item_id=agenda_item_id, field=field, text=text,
                                   version=version + 1, actor_id=actor.id, at=now))
    db.session.flush()
    emit_event(meeting.id, "minutes.updated", {"agenda_item_id": agenda_item_id, "field": field, "text": text,
                                               "version": version + 1, "updated_by": actor.full_name,
                                               "updated_at": to_local_iso(now)},
               audience={"roles": ["chair", "secretary"]})
    return Saved(agenda_item_id, field, text, version + 1, now, actor.full_name)


def _current_texts(target: Any, agenda_item_id: int | None) -> dict[str, str]:
    fields = GENERAL_FIELDS if agenda_item_id is None else EDITABLE_FIELDS
    return {f: getattr(target, f) for f in fields}


def _last_revision(meeting_id: int, agenda_item_id: int | None) -> tuple[str, dt.datetime] | None:
    row = db.session.execute(
        sa.select(User.full_name, MinutesRevision.at).join(User, User.id == MinutesRevision.actor_id, isouter=True)
        .where(MinutesRevision.meeting_id == meeting_id, MinutesRevision.agenda_item_id.is_(None)
               if agenda_item_id is None else MinutesRevision.agenda_item_id == agenda_item_id)
        .order_by(MinutesRevision.id.desc()).limit(1)).first()
    return (row[0] or "", row[1]) if row else None


def revisions(meeting_id: int, *, actor: User, agenda_item_id: int | None = None, limit: int = 200) -> list[dict]:
    meeting, roles = load_meeting(meeting_id, actor)
    require_role(roles, READ_DRAFT)
    stmt = (sa.select(MinutesRevision, User.full_name).join(User, User.id == MinutesRevision.actor_id, isouter=True)
            .where(MinutesRevision.meeting_id == meeting.id))
    if agenda_item_id is not None:
        stmt = stmt.where(MinutesRevision.agenda_item_id == agenda_item_id)
    rows = db.session.execute(stmt.order_by(MinutesRevision.id.desc()).limit(limit)).all()
    return [{"id": r.id, "agenda_item_id": r.agenda_item_id, "field": r.field, "text": r.text, "version": r.version,
             "by": name or "", "at": to_local_iso(r.at)} for r, name in rows]


# --- reading ------------------------------------------------------------------------------------------------

def next_step(meeting_id: int) -> str | None:
    done = set(db.session.execute(sa.select(MinutesSignature.step).where(
        MinutesSignature.meeting_id == meeting_id)).scalars())
    return next((s for s in STEPS if s not in done), None)


def signatures_payload(meeting_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(sa.select(MinutesSignature).where(MinutesSignature.meeting_id == meeting_id)).scalars()
    by_step = {r.step: r for r in rows}
    return [{"step": s, "signed": s in by_step, "signer": by_step[s].signer_name if s in by_step else None,
             "method": by_step[s].method if s in by_step else None,
             "signed_at": to_local_iso(by_step[s].signed_at) if s in by_step else None} for s in STEPS]


def signer_user_id(minutes: Minutes, step: str) -> int | None:
    return {"secretary": minutes.secretary_user_id, "chair": minutes.chair_user_id}.get(step)


def minutes_view(meeting_id: int, *, actor: User) -> dict[str, Any]:
    meeting, roles = load_meeting(meeting_id, actor)
    minutes = minutes_of(meeting)
    state = minutes.state if minutes else "draft"
    if state == "draft":
        require_role(roles, READ_DRAFT)
    entries = {e.agenda_item_id: e for e in db.session.execute(
        sa.select(MinutesEntry).where(MinutesEntry.meeting_id == meeting.id)).scalars()}
    from meetings.agenda.operations import agenda_items
    from meetings.agenda.tree import build_tree, flatten
    items = [{"agenda_item_id": n.item.id, "number": n.number, "title": n.item.title, "depth": n.depth,
              "notes": entries[n.item.id].notes if n.item.id in entries else "",
              "conclusions": entries[n.item.id].conclusions if n.item.id in entries else "",
              "version": entries[n.item.id].version if n.item.id in entries else 0}
             for n in flatten(build_tree(agenda_items(meeting.id)))]
    step = next_step(meeting.id) if state != "draft" else None
    my_step = step if minutes is not None and step is not None and may_sign(minutes, step, actor, roles) else None
    return {"meeting_id": meeting.id, "meeting_state": meeting.state, "state": state,
            "number": minutes.number if minutes else "", "general_notes": minutes.general_notes if minutes else "",
            "closing_text": minutes.closing_text if minutes else "", "version": minutes.version if minutes else 0,
            "items": items if state == "draft" or roles & set(READ_DRAFT) else [],
            "editable": state == "draft" and meeting.state in DRAFT_STATES and bool(roles & set(EDIT)),
            "can_finalize": state == "draft" and meeting.state == "closed" and bool(roles & set(EDIT)),
            "finalized_at": to_local_iso(minutes.finalized_at) if minutes else None,
            "audit_head": {"length": minutes.audit_length, "hash": minutes.audit_head}
            if minutes and minutes.audit_head else None,
            "pdf_sha256": minutes.pdf_sha256 if minutes else None,
            "signatures": signatures_payload(meeting.id), "next_step": step, "my_step": my_step,
            "can_sign": my_step is not None,
            "can_archive": state == "signed" and meeting.state == "closed" and bool(roles & {"secretary"})}


def may_sign(minutes: Minutes, step: str, actor: User, roles: frozenset[str]) -> bool:
    if step == "seal":
        return "secretary" in roles
    return signer_user_id(minutes, step) == actor.id


# --- finalizing ---------------------------------------------------------------------------------------------

def _chain_head(meeting_id: int) -> tuple[int, str]:
    head = db.session.get(AuditChain, chain_name(meeting_id))
    return (head.length, head.head) if head is not None else (0, GENESIS)


def _draft_fingerprint(meeting_id: int) -> tuple:
    return db.session.execute(sa.select(sa.func.count(MinutesRevision.id), sa.func.max(MinutesRevision.id)).where(
        MinutesRevision.meeting_id == meeting_id)).one()


def _people(meeting: Meeting) -> tuple[int | None, int | None]:
    chair = next((p.user_id for p in meeting.participants if p.role == "chair"), None)
    secretary = next((p.user_id for p in meeting.participants if p.role == "secretary"), None)
    return chair, secretary


def finalize_minutes(meeting_id: int, *, actor: User) -> Minutes:
    """Freeze the record into the PDF/A with its three empty signature fields (a ``late_write`` operation: the
    rendering runs before the write transaction starts)."""
    from meetings.minutes.render import render_minutes
    from meetings.signing.pades import SigningError, prepare_fields

    meeting, roles = load_meeting(meeting_id, actor)
    require_role(roles, EDIT)
    if meeting.state != "closed":
        raise Conflict(_("The minutes are finalized after the meeting is closed."), extra={"state": meeting.state})
    minutes = minutes_of(meeting) or Minutes(meeting_id=meeting.id, number="", general_notes="", closing_text="",
                                             state="draft", version=0)
    if minutes.state != "draft":
        raise Conflict(_("The minutes are already finalized."), extra={"state": minutes.state})
    chair_id, secretary_id = _people(meeting)
    secretary_id = secretary_id or actor.id  # the body's secretary who wrote them, when none is a participant
    if chair_id is None:
        raise Conflict(_("The meeting needs a chair among its participants to sign the minutes."))
    fingerprint = _draft_fingerprint(meeting.id)
    length, head = _chain_head(meeting.id)
    now = utcnow()
    minutes.chair_user_id, minutes.secretary_user_id = chair_id, secretary_id
    record = assemble_record(meeting, minutes, audit_length=length, audit_head=head, finalized_at=now)
    rendered = render_minutes(record)
    try:
        pdf = prepare_fields(rendered.pdf, rendered.fields)
    except SigningError as err:
        raise Unprocessable(str(err)) from None
    sha = blob_store().put(pdf)

    restart_as_writer()
    meeting, roles = load_meeting(meeting_id, actor, for_update=True)
    minutes = minutes_of(meeting, create=True)
    if minutes.state != "draft" or meeting.state != "closed" or _draft_fingerprint(meeting.id) != fingerprint:
        raise Conflict(_("The minutes changed while they were being finalized. Please try again."))
    minutes.state, minutes.finalized_at, minutes.finalized_by_id = "finalized", now, actor.id
    minutes.chair_user_id, minutes.secretary_user_id = chair_id, secretary_id
    minutes.record_sha256, minutes.audit_length, minutes.audit_head = record_sha256(record), length, head
    minutes.pdf_sha256, minutes.updated_at = sha, now
    db.session.flush()
    record_audit("minutes.finalize", actor_id=actor.id, meeting_id=meeting.id,
                 data={"record_sha256": minutes.record_sha256, "pdf_sha256": sha,
                       "audit_head": {"length": length, "hash": head}})
    emit_event(meeting.id, "minutes.finalized", {"pdf_sha256": sha, "next_step": STEPS[0]})
    return minutes


# --- signing ------------------------------------------------------------------------------------------------

def _credential_key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"phonghop-signing-credential",
                info=b"pkcs12-at-rest").derive(current_app.config["SECRET_KEY"].encode("utf-8"))


def _seal_p12(data: bytes, user_id: int) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_credential_key()).encrypt(nonce, data, str(user_id).encode())


def _open_p12(blob: bytes, user_id: int) -> bytes:
    try:
        return AESGCM(_credential_key()).decrypt(blob[:12], blob[12:], str(user_id).encode())
    except Exception:  # InvalidTag: another SECRET_KEY, or the row was tampered with
        raise Conflict(_("Your stored certificate cannot be read with this server's key; please upload it again.")) \
            from None


def _cert_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


P12_MAX_BYTES = 200_000
PASSPHRASE_MAX = 1000


def save_credential(*, actor: User, p12: bytes, passphrase: str, signature_png: bytes | None) -> SigningCredential:
    """Store a signing official's PKCS#12 (checked with the passphrase, which is then forgotten). A ``late_write``
    operation: the file is opened (its key derivation can be slow, and the uploader chose it) before the write
    transaction starts."""
    from meetings.signing.images import check_png

    if not p12:
        raise BadRequest(_("Choose the PKCS#12 (.p12 / .pfx) file of your certificate."))
    if len(p12) > P12_MAX_BYTES:
        raise Unprocessable(_("This file is too large to be a PKCS#12 certificate file."))
    if len(passphrase) > PASSPHRASE_MAX:
        raise BadRequest(_("The passphrase is too long."))
    try:
        identity = read_pkcs12(p12, passphrase)
        identity.ensure_usable(utcnow())
    except CertificateError as err:
        raise Unprocessable(_("The certificate cannot be used: %(reason)s", reason=str(err))) from None
    if signature_png is not None:
        try:
            signature_png = check_png(signature_png)
        except ValueError as err:
            raise Unprocessable(_("The signature image cannot be used: %(reason)s", reason=str(err))) from None
    restart_as_writer()
    cred = db.session.get(SigningCredential, actor.id)
    if cred is None:
        cred = SigningCredential(user_id=actor.id)
        db.session.add(cred)
    elif signature_png is None:
        signature_png = cred.signature_png
    cert = identity.certificate
    cred.p12_encrypted = _seal_p12(p12, actor.id)
    cred.subject = identity.common_name[:300]
    cred.issuer = (name_attribute(cert.issuer, x509.NameOID.COMMON_NAME) or "")[:300]
    cred.certificate_sha256 = _cert_sha256(cert)
    cred.not_after = cert.not_valid_after_utc
    cred.signature_png = signature_png
    cred.updated_at = utcnow()
    db.session.flush()
    record_audit("signing.credential", actor_id=actor.id, data={"certificate_sha256": cred.certificate_sha256,
                                                                "subject": cred.subject})
    return cred


def credential_payload(user_id: int) -> dict[str, Any] | None:
    cred = db.session.get(SigningCredential, user_id)
    if cred is None:
        return None
    return {"subject": cred.subject, "issuer": cred.issuer, "certificate_sha256": cred.certificate_sha256,
            "not_after": to_local_iso(cred.not_after), "has_signature_image": cred.signature_png is not None}


def set_body_seal(body_id: int, png: bytes, *, actor: User) -> BodySeal:
    from meetings.bodies.models import Body, BodyMember
    from meetings.signing.images import check_png

    body = db.session.get(Body, body_id)
    if body is None:
        raise NotFound(_("Body %(id)s does not exist.", id=body_id))
    staff = db.session.execute(sa.select(BodyMember.id).where(
        BodyMember.body_id == body_id, BodyMember.user_id == actor.id, BodyMember.role == "secretary")).first()
    if not actor.is_admin and staff is None:
        raise Forbidden(_("Only an administrator or a secretary of the body may set its seal."))
    try:
        png = check_png(png)
    except ValueError as err:
        raise Unprocessable(_("The seal image cannot be used: %(reason)s", reason=str(err))) from None
    seal = db.session.get(BodySeal, body_id) or BodySeal(body_id=body_id)
    seal.seal_png, seal.updated_at = png, utcnow()
    db.session.add(seal)
    db.session.flush()
    record_audit("body.seal", actor_id=actor.id, data={"body_id": body_id,
                                                       "sha256": hashlib.sha256(png).hexdigest()})
    return seal


@dataclass(frozen=True)
class _SigningContext:
    meeting: Meeting
    minutes: Minutes
    step: str
    base_sha: str


def _signing_context(meeting_id: int, actor: User, step: str | None) -> _SigningContext:
    meeting, roles = load_meeting(meeting_id, actor)
    minutes = minutes_of(meeting)
    if minutes is None or minutes.state == "draft":
        raise Conflict(_("The minutes must be finalized before they are signed."))
    if meeting.state != "closed":
        raise Conflict(_("Minutes are signed while the meeting is closed (it is “%(state)s”).",
                         state=state_label(meeting.state)), extra={"state": meeting.state})
    due = next_step(meeting.id)
    if due is None:
        raise Conflict(_("The minutes already carry every signature."))
    step = step or _own_step(minutes, actor, roles, due)
    if step not in STEPS:
        raise Unprocessable(_("Unknown signing step “%(step)s”.", step=step))
    wanted_role = STEP_ROLE[step]
    if step == "seal":
        if "secretary" not in roles:
            raise Forbidden(_("Only the meeting's secretary applies the organisation's seal."))
    elif signer_user_id(minutes, step) != actor.id:
        raise Forbidden(_("This signature belongs to %(who)s named in the minutes, not to you.", who=step_label(step)))
    if step != due:
        done = STEPS.index(step) < STEPS.index(due)
        raise Conflict(_("This signature is already there.") if done else
                       _("It is not your turn: %(who)s signs first.", who=step_label(due)),
                       extra={"next_step": due, "role": wanted_role})
    return _SigningContext(meeting, minutes, step, minutes.pdf_sha256 or "")


def _own_step(minutes: Minutes, actor: User, roles: frozenset[str], due: str) -> str:
    """The step the caller signs when they do not say: the one that is due if it is theirs, else their own."""
    if may_sign(minutes, due, actor, roles):
        return due
    for step in STEPS:
        if step != "seal" and signer_user_id(minutes, step) == actor.id:
            return step
    raise Forbidden(_("Only the secretary and the chair named in the minutes sign them."))


def _appearance(ctx: _SigningContext, user: User | None, signing_time: dt.datetime):
    from meetings.signing.forms import OfficialSignature, SealSignature

    if ctx.step == "seal":
        seal = db.session.get(BodySeal, ctx.meeting.body_id)
        return SealSignature(org_name=ctx.meeting.body.name, signing_time=signing_time,
                             image_png=seal.seal_png if seal else None)
    cred = db.session.get(SigningCredential, user.id) if user else None
    title = user.title if user and user.title else {"secretary": "Thư ký", "chair": "Chủ tọa"}[ctx.step]
    return OfficialSignature(full_name=user.full_name if user else "", title=title, signing_time=signing_time,
                             image_png=cred.signature_png if cred else None)


def sign_minutes(meeting_id: int, *, actor: User, step: str | None = None, passphrase: str | None = None) \
        -> MinutesSignature:
    """Sign the next step on the server: an official with their stored PKCS#12 (passphrase given now), the seal
    with the body's certificate. A ``late_write`` operation."""
    from meetings.signing.pades import SigningError, sign_field

    ctx = _signing_context(meeting_id, actor, step)
    now = utcnow()
    if ctx.step == "seal":
        identity: SignerIdentity = org_signer().identity
    else:
        cred = db.session.get(SigningCredential, actor.id)
        if cred is None:
            raise Conflict(_("You have no signing certificate on this server: upload your PKCS#12 file first, "
                             "or sign with your own device (signing client)."))
        if not passphrase:
            raise Unprocessable(_("Enter the passphrase of your certificate."))
        try:
            identity = read_pkcs12(_open_p12(cred.p12_encrypted, actor.id), passphrase)
        except CertificateError:
            raise Unprocessable(_("Wrong passphrase for your certificate.")) from None
    appearance = _appearance(ctx, actor, now)
    try:
        signed = sign_field(blob_store().read(ctx.base_sha), ctx.step, signer=identity, signing_time=now, appearance=appearance,
                            timestamper=configured_timestamper(), reason=_signing_reason(ctx.step),
                            location=ctx.meeting.place or None)
    except (SigningError, CertificateError) as err:
        raise Unprocessable(_("The minutes could not be signed: %(reason)s", reason=str(err))) from None
    return _record_signature(ctx, meeting_id, actor, signed, identity.certificate, "server", now)


def _signing_reason(step: str) -> str:
    return {"secretary": "Thư ký ký biên bản", "chair": "Chủ tọa ký biên bản",
            "seal": "Đóng dấu cơ quan, tổ chức"}[step]


def _record_signature(ctx: _SigningContext, meeting_id: int, actor: User, signed: bytes, cert: x509.Certificate,
                      method: str, signed_at: dt.datetime) -> MinutesSignature:
    sha = blob_store().put(signed)
    restart_as_writer()
    meeting, _roles = load_meeting(meeting_id, actor, for_update=True)
    minutes = minutes_of(meeting)
    if minutes is None or minutes.pdf_sha256 != ctx.base_sha or next_step(meeting.id) != ctx.step:
        raise Conflict(_("Someone signed the minutes at the same moment. Reload and try again."))
    signer_name = name_attribute(cert.subject, x509.NameOID.COMMON_NAME) or actor.full_name
    sig = MinutesSignature(meeting_id=meeting.id, step=ctx.step, user_id=actor.id, signer_name=signer_name[:300],
                           certificate_sha256=_cert_sha256(cert), method=method, signed_at=signed_at,
                           pdf_sha256=sha)
    db.session.add(sig)
    minutes.pdf_sha256, minutes.updated_at = sha, utcnow()
    if ctx.step == STEPS[-1]:
        minutes.state = "signed"
    db.session.flush()
    record_audit("minutes.sign", actor_id=actor.id, meeting_id=meeting.id,
                 data={"step": ctx.step, "method": method, "signer": sig.signer_name,
                       "certificate_sha256": sig.certificate_sha256, "pdf_sha256": sha})
    emit_event(meeting.id, "minutes.signed", {"step": ctx.step, "signer": sig.signer_name,
                                              "signed_at": to_local_iso(signed_at),
                                              "next_step": next_step(meeting.id), "state": minutes.state})
    return sig


def start_external_signature(meeting_id: int, *, actor: User, certificate_pem: str) -> tuple[ExternalSigningRequest, Any]:
    """Prepare the caller's signature for their own device: the digest to sign goes out, the key never comes in."""
    from meetings.signing.external import prepare_external
    from meetings.signing.pades import SigningError
    from meetings.signing.pki import load_certificates

    ctx = _signing_context(meeting_id, actor, None)
    try:
        certs = load_certificates(certificate_pem.encode("utf-8"))
    except CertificateError as err:
        raise Unprocessable(_("The certificate cannot be read: %(reason)s", reason=str(err))) from None
    if not issued_by_trusted_root(certs, org_signer().trust_roots):
        raise Unprocessable(_("This certificate is not issued by an authority this server trusts: the minutes "
                              "would carry a signature no one can rely on."))
    if ctx.step == "seal":
        raise Conflict(_("The organisation's seal is applied on the server, not with a personal device."))
    now = utcnow()
    try:
        prepared = prepare_external(blob_store().read(ctx.base_sha), ctx.step, certificates=certs, signing_time=now,
                                    appearance=_appearance(ctx, actor, now), reason=_signing_reason(ctx.step),
                                    location=ctx.meeting.place or None, timestamper=configured_timestamper())
    except (SigningError, CertificateError) as err:
        raise Unprocessable(_("The minutes could not be prepared for signing: %(reason)s", reason=str(err))) from None
    restart_as_writer()
    load_meeting(meeting_id, actor, for_update=True)
    req = ExternalSigningRequest(id=secrets.token_urlsafe(24), meeting_id=meeting_id, step=ctx.step, user_id=actor.id,
                                 base_pdf_sha256=ctx.base_sha, state=prepared.to_json(), created_at=now,
                                 expires_at=now + EXTERNAL_TTL)
    db.session.add(req)
    db.session.flush()
    return req, prepared


def issued_by_trusted_root(certs: list[x509.Certificate], roots: list[x509.Certificate]) -> bool:
    """The leaf (first) certificate leads, through the others given, to one issued by (or equal to) a root."""
    if not certs:
        return False
    pool, current = list(certs[1:]), certs[0]
    for _hop in range(len(certs) + 1):
        for root in roots:
            if current == root or _issued(current, root):
                return True
        issuer = next((c for c in pool if _issued(current, c)), None)
        if issuer is None:
            return False
        pool.remove(issuer)
        current = issuer
    return False


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def complete_external_signature(meeting_id: int, request_id: str, *, actor: User, signature: bytes) -> MinutesSignature:
    from meetings.signing.external import ExternalRequest, finish_external
    from meetings.signing.pades import SigningError

    req = db.session.get(ExternalSigningRequest, request_id)
    if req is None or req.meeting_id != meeting_id or req.user_id != actor.id:
        raise NotFound(_("This signing request does not exist (or is not yours)."))
    if req.expires_at <= utcnow():
        raise Conflict(_("This signing request has expired; start again."))
    ctx = _signing_context(meeting_id, actor, req.step)
    if ctx.base_sha != req.base_pdf_sha256:
        raise Conflict(_("The minutes changed since this signature was prepared; start again."))
    try:
        prepared = ExternalRequest.from_json(req.state)
        signed = finish_external(prepared, signature, timestamper=configured_timestamper())
    except SigningError as err:
        raise Unprocessable(_("The signature cannot be used: %(reason)s", reason=str(err))) from None
    sig = _record_signature(ctx, meeting_id, actor, signed, prepared.certificate, "external", prepared.signing_time)
    db.session.execute(sa.delete(ExternalSigningRequest).where(ExternalSigningRequest.id == request_id))
    return sig


def minutes_pdf(meeting_id: int, *, actor: User) -> tuple[str, Minutes]:
    """The current PDF's blob id: anyone who sees the meeting reads the finalized minutes."""
    meeting, _roles = load_meeting(meeting_id, actor)
    minutes = minutes_of(meeting)
    if minutes is None or minutes.pdf_sha256 is None:
        raise NotFound(_("The minutes of this meeting are not finalized yet."))
    return minutes.pdf_sha256, minutes
