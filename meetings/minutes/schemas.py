from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from meetings.core.schemas import Id, Input, Output

Step = Literal["secretary", "chair", "seal"]
FieldName = Literal["notes", "conclusions", "number", "general_notes", "closing_text"]


class DraftIn(Input):
    model_config = Input.model_config | {"str_strip_whitespace": False}  # the secretary's line breaks are content
    agenda_item_id: Id | None = Field(default=None, description="The agenda item; null for the general fields.")
    field: FieldName = Field(description="notes / conclusions of an item; number / general_notes / closing_text "
                                         "of the minutes")
    text: Annotated[str, StringConstraints(max_length=100_000)]
    base_version: Annotated[int, Field(ge=0, le=2**31 - 1, description="The version the editor started from; a stale one is "
                                                         "409 with the current text.")]


class SavedOut(Output):
    agenda_item_id: int | None
    field: str
    text: str
    version: int
    updated_at: str
    updated_by: str


class RevisionOut(Output):
    id: int
    agenda_item_id: int | None
    field: str
    text: str
    version: int
    by: str
    at: str


class RevisionsQuery(Input):
    model_config = Input.model_config | {"strict": False}
    agenda_item_id: Id | None = None


class MinutesItemOut(Output):
    agenda_item_id: int
    number: str
    title: str
    depth: int
    notes: str
    conclusions: str
    version: int


class SignatureStepOut(Output):
    step: Step
    signed: bool
    signer: str | None
    method: str | None
    signed_at: str | None


class AuditHeadOut(Output):
    length: int
    hash: str


class MinutesOut(Output):
    meeting_id: int
    meeting_state: str
    state: Literal["draft", "finalized", "signed"]
    number: str
    general_notes: str
    closing_text: str
    version: int
    items: list[MinutesItemOut]
    editable: bool
    can_finalize: bool
    finalized_at: str | None
    audit_head: AuditHeadOut | None
    pdf_sha256: str | None
    signatures: list[SignatureStepOut]
    next_step: Step | None
    my_step: Step | None = Field(description="The step the caller may sign now, if any.")
    can_sign: bool
    can_archive: bool


class SignIn(Input):
    step: Step | None = Field(default=None, description="Defaults to the caller's step when it is due.")
    passphrase: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="The passphrase of the caller's stored PKCS#12 (never stored); not for the seal.")


class ExternalStartIn(Input):
    certificate_pem: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] = Field(
        description="The signer's certificate, then its issuing chain, PEM.")


class ExternalStartOut(Output):
    request_id: str
    field: str
    to_sign: str = Field(description="Base64 of the DER signed attributes to sign (hash-and-sign, SHA-256).")
    mechanism: str
    digest_algorithm: str
    expires_at: str


class ExternalFinishIn(Input):
    signature: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] = Field(
        description="Base64 of the signature value over to_sign.")


class CredentialOut(Output):
    subject: str
    issuer: str
    certificate_sha256: str
    not_after: str
    has_signature_image: bool


class CheckOut(Output):
    name: str
    ok: bool
    detail: str


class ArchiveCheckOut(Output):
    ok: bool
    checks: list[CheckOut]
