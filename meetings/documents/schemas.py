from __future__ import annotations

from pydantic import Field

from meetings.core.schemas import LocalTime, Output


class VersionOut(Output):
    version_no: int
    filename: str
    sha256: str = Field(description="sha256 of the signed file that tablets receive")
    original_sha256: str
    size: int
    pages: int
    removed: list[dict] = Field(description="Active content removed at intake: [{kind, where}]")
    signed_by: str
    uploaded_at: LocalTime


class DocumentOut(Output):
    id: int
    meeting_id: int
    agenda_item_id: int | None
    title: str
    number: str
    audience: str
    audience_participant_ids: list[int]
    audience_roles: list[str]
    current: VersionOut | None
    versions: list[VersionOut] | None = Field(default=None, description="All versions: secretaries only")
    file_url: str
    updated_at: LocalTime


class ReaderOut(Output):
    participant_id: int
    user_id: int
    full_name: str
    role: str
    first_opened_at: LocalTime | None = Field(description="First time the participant opened the document")
    last_opened_at: LocalTime | None
    opens: int = Field(description="Readings (openings at least five minutes apart)")
