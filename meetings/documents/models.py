from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.core.db import Base, UTCDateTime, utcnow

AUDIENCES = ("all", "participants", "roles")


class Document(Base):
    """A document of a meeting (tài liệu); its file is the current version, signed by the body."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_items.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(300))
    number: Mapped[str] = mapped_column(sa.String(100), default="")  # số, ký hiệu
    audience: Mapped[str] = mapped_column(sa.String(20), default="all")
    # audience "participants": participant ids; "roles": meeting roles. Secretaries always see everything.
    audience_participant_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    audience_roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("document_versions.id", ondelete="SET NULL", use_alter=True))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.version_no",
        foreign_keys="DocumentVersion.document_id", cascade="all, delete-orphan")
    current_version: Mapped[DocumentVersion | None] = relationship(foreign_keys=[current_version_id],
                                                                   post_update=True)


class DocumentVersion(Base):
    """One upload: the original's hash (never served), the sanitized and signed file that tablets receive."""

    __tablename__ = "document_versions"
    __table_args__ = (sa.UniqueConstraint("document_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    version_no: Mapped[int]
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    original_sha256: Mapped[str] = mapped_column(sa.String(64))
    original_size: Mapped[int] = mapped_column(sa.BigInteger)
    blob_sha256: Mapped[str] = mapped_column(sa.String(64))  # the signed file
    size: Mapped[int] = mapped_column(sa.BigInteger)
    pages: Mapped[int]
    removed: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # active content taken out
    signed_by: Mapped[str] = mapped_column(sa.String(300), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="versions", foreign_keys=[document_id])


class DocumentRead(Base):
    """When a participant first and last opened a document (read tracking for the secretary and the chair).

    One row per (document, participant), whatever the version: "has the delegate opened the budget report"
    is the question; a new version does not reset it (the secretary sees the upload time next to it).
    """

    __tablename__ = "document_reads"

    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id", ondelete="CASCADE"),
                                                primary_key=True, index=True)
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opens: Mapped[int] = mapped_column(default=1)  # openings at least READ_COALESCE apart
