"""Server-side dashboard sessions: the cookie holds a random id, never the API key.

The id is 256 random bits (``secrets.token_urlsafe(32)``); the table stores only its SHA-256
(a leaked database row does not log anyone in), the key it was opened with and its expiry.
Every request re-checks the key (revoked keys end their sessions even before the rows go) and
the expiry; logout and key revocation delete the rows. No HTTP here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service import security
from service.tables import ApiKey, DashboardSession, Project, now


@dataclass(frozen=True)
class Login:
    """A live session: the key's project and role, and what the rate limit counts by."""

    project: Project
    role: str
    key_prefix: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, key: str, ttl_s: float) -> str | None:
    """A new session id for a valid, unrevoked ``key`` (None otherwise); expired rows go."""
    prefix = security.parse_prefix(key)
    query = select(ApiKey).where(ApiKey.prefix == prefix)
    api_key = None if prefix is None else session.scalar(query)
    if api_key is None:
        security.matches(key, "0" * 64)  # same work whether or not the prefix exists
        return None
    if not security.matches(key, api_key.digest) or api_key.revoked_at is not None:
        return None
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at < now()))
    session_id = secrets.token_urlsafe(32)
    created = now()
    session.add(
        DashboardSession(
            digest=_digest(session_id),
            key_id=api_key.id,
            created_at=created,
            expires_at=created + timedelta(seconds=ttl_s),
        )
    )
    session.flush()
    return session_id


def find_session(session: Session, session_id: str) -> Login | None:
    """The live session of ``session_id``: unexpired, its key unrevoked; else None."""
    if not session_id:
        return None
    row = session.execute(
        select(DashboardSession, ApiKey, Project)
        .join(ApiKey, ApiKey.id == DashboardSession.key_id)
        .join(Project, Project.id == ApiKey.project_id)
        .where(DashboardSession.digest == _digest(session_id))
    ).first()
    if row is None:
        return None
    stored, api_key, project = row
    if api_key.revoked_at is not None or _aware(stored.expires_at) <= now():
        return None
    return Login(project, api_key.role, api_key.prefix)


def close_session(session: Session, session_id: str) -> None:
    """Delete the session (logout); an unknown id is a no-op."""
    session.execute(delete(DashboardSession).where(DashboardSession.digest == _digest(session_id)))


def close_sessions_of(session: Session, api_key: ApiKey) -> None:
    """Delete every session opened with ``api_key`` (on revocation)."""
    session.execute(delete(DashboardSession).where(DashboardSession.key_id == api_key.id))


def csrf_token(session_id: str) -> str:
    """The session's CSRF token (a page embeds it; another site cannot compute it)."""
    return hashlib.sha256(f"csrf:{session_id}".encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored as UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
