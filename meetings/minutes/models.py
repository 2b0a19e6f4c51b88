"""The minutes of a meeting: the secretary's draft with its history, the finalized PDF, its signatures.

``Minutes`` moves ``draft → finalized → signed``. While a draft, the secretary writes notes and conclusions
per agenda item (``MinutesEntry``); every save appends a ``MinutesRevision``, so who changed what and when is
never lost. Finalizing freezes the record (attendance, votes, speakers, documents, notes, the audit chain's
head) into a PDF/A with all signature fields; ``MinutesSignature`` rows then follow the fixed order secretary →
chair → seal, each pointing at the PDF it produced (content-addressed in the blob store).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from meetings.core.db import Base, UTCDateTime, utcnow

STEPS = ("secretary", "chair", "seal")
EDITABLE_FIELDS = ("notes", "conclusions")
GENERAL_FIELDS = ("number", "general_notes", "closing_text")


class Minutes(Base):
    __tablename__ = "minutes"
    __table_args__ = (sa.CheckConstraint("state IN ('draft', 'finalized', 'signed')", name="state"),)

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(10), default="draft")
    number: Mapped[str] = mapped_column(sa.String(60), default="")  # số biên bản, e.g. "12/BB-HĐND"
    general_notes: Mapped[str] = mapped_column(sa.Text, default="")
    closing_text: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=0)  # of the general fields (optimistic concurrency)
    secretary_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    chair_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalized_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    record_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    audit_length: Mapped[int | None] = mapped_column()
    audit_head: Mapped[str | None] = mapped_column(sa.String(64))
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))  # the latest PDF: fields only, then each signature
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MinutesEntry(Base):
    """Notes and conclusions (kết luận) of one agenda item."""

    __tablename__ = "minutes_entries"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "agenda_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    agenda_item_id: Mapped[int] = mapped_column(sa.ForeignKey("agenda_items.id", ondelete="CASCADE"), index=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    conclusions: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=0)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MinutesRevision(Base):
    """One saved change: the new text of one field, by whom, when (the history the chair can read)."""

    __tablename__ = "minutes_revisions"
    __table_args__ = (sa.Index("ix_minutes_revisions_meeting_item", "meeting_id", "agenda_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_items.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MinutesSignature(Base):
    __tablename__ = "minutes_signatures"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "step"),
                      sa.CheckConstraint("step IN ('secretary', 'chair', 'seal')", name="step"),
                      sa.CheckConstraint("method IN ('server', 'external')", name="method"))

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(sa.String(10))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    signer_name: Mapped[str] = mapped_column(sa.String(300))
    certificate_sha256: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(10))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64))  # the PDF this signature produced


class ExternalSigningRequest(Base):
    """A signature being made on the signer's own device: what the server must keep between the two calls."""

    __tablename__ = "minutes_external_requests"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)  # random, unguessable
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(sa.String(10))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    base_pdf_sha256: Mapped[str] = mapped_column(sa.String(64))  # the PDF it was prepared on
    state: Mapped[str] = mapped_column(sa.Text)  # ExternalRequest.to_json()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SigningCredential(Base):
    """A signing official's PKCS#12, uploaded once.

    The file stays protected by its own passphrase, which is asked at signing time and never stored, and is
    additionally encrypted at rest with a key derived from SECRET_KEY (a stolen database alone is two locks
    away from the key). The certificate's public facts are kept in clear for the signing page.
    """

    __tablename__ = "signing_credentials"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    p12_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    subject: Mapped[str] = mapped_column(sa.String(300))
    issuer: Mapped[str] = mapped_column(sa.String(300))
    certificate_sha256: Mapped[str] = mapped_column(sa.String(64))
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    signature_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # the handwritten signature, blue
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BodySeal(Base):
    """The body's seal image (red, transparent PNG) drawn by the organisation's signature on the minutes."""

    __tablename__ = "body_seals"

    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), primary_key=True)
    seal_png: Mapped[bytes] = mapped_column(sa.LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
