"""Is a socket's credential still good? One rule for the per-event check, the ballot batches and the sweeper.

A socket was opened with an API token (its digest is kept) or with a page ticket (the user's session epoch at
login is kept). It stays good while the user is active and, respectively, the token is neither revoked nor
expired, or the user has not logged out everywhere since (which moves the epoch).
"""
from __future__ import annotations

from typing import Any, Container, Iterable

import sqlalchemy as sa

from meetings.auth.models import ApiToken
from meetings.core.db import one_of, utcnow
from meetings.extensions import db


def live_api_tokens(digests: Iterable[str | None]) -> set[str]:
    """The digests among these whose tokens are neither revoked nor expired (one query, none for no digest)."""
    wanted = {d for d in digests if d}
    if not wanted:
        return set()
    return set(db.session.execute(sa.select(ApiToken.token_hash).where(
        one_of(ApiToken.token_hash, wanted), ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())).scalars())


def credential_ok(user: Any, epoch: int | None, token_digest: str | None, live_tokens: Container[str]) -> bool:
    """``user``: the socket's user (an entity or a row with ``active`` and ``session_epoch``), or None."""
    if user is None or not user.active:
        return False
    return epoch == user.session_epoch if epoch is not None else token_digest in live_tokens
