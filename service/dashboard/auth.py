"""Dashboard sessions: an API key in an HttpOnly cookie, and a CSRF token per login.

The cookie holds ``<nonce>.<api key>``; every request authenticates the key exactly as the JSON
API does (``store.authenticate``, the per-key rate limit), so revoking a key ends its dashboard
sessions at once. The CSRF token is an HMAC of the login's random nonce keyed by the API key:
a page can embed it, another site cannot compute it, and each login gets a fresh one. Write
forms must send it back (``SameSite=Strict`` alone is not honoured by older browsers).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from service import security, store
from service.errors import Forbidden
from service.security import Role, allows
from service.tables import Project

SESSION_COOKIE = "bayescale_session"


class LoginRequired(Exception):
    """No valid session: the dashboard answers with a redirect to the login page."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the key's project and role, and the session's CSRF token."""

    project: Project
    role: str
    csrf: str

    def require(self, needed: Role) -> None:
        """Raise :class:`Forbidden` unless the key's role allows ``needed``."""
        if not allows(self.role, needed):
            raise Forbidden(
                f"this key's role '{self.role}' cannot do this (needs {needed})", field="role"
            )

    def check_csrf(self, token: str | None) -> None:
        """Raise :class:`Forbidden` unless ``token`` is this session's CSRF token."""
        if not token or not hmac.compare_digest(token, self.csrf):
            raise Forbidden(
                "the form's CSRF token is missing or stale: reload the page and submit again",
                field="csrf",
            )


def db_session(request: Request) -> Iterator[Session]:
    """A session committed after the page rendered, rolled back when it rendered an error.

    Dashboard handlers turn errors into HTML pages instead of raising them out of the route
    (see ``render.DashboardRoute``), so the outcome is read from ``request.state.failed``.
    """
    with request.app.state.sessions() as session:
        yield session
        if getattr(request.state, "failed", False):
            session.rollback()
        else:
            session.commit()


# "function" scope: committed before the response goes out, so the page a redirect leads to
# (a separate request the browser may send at once) sees the write
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def open_session(response: Response, request: Request, key: str) -> None:
    """Set the session cookie for ``key`` (``Secure`` when the request came over https)."""
    response.set_cookie(
        SESSION_COOKIE,
        f"{secrets.token_urlsafe(16)}.{key}",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def close_session(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def current_viewer(request: Request, session: DbSession) -> Viewer:
    """Dependency: the logged-in viewer, or :class:`LoginRequired`."""
    nonce, _, key = request.cookies.get(SESSION_COOKIE, "").partition(".")
    found = store.authenticate(session, key) if nonce and key else None
    if found is None:
        raise LoginRequired
    request.app.state.rate_limiter.check(security.parse_prefix(key) or key)
    project, role = found
    csrf = hmac.new(key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()
    return Viewer(project, role, csrf)


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


async def posted_form_viewer(request: Request, viewer: CurrentViewer) -> Viewer:
    """Dependency of every write form: the viewer, once the form's CSRF token checks out."""
    form = await request.form()
    token = form.get("csrf")
    viewer.check_csrf(token if isinstance(token, str) else None)
    return viewer


FormViewer = Annotated[Viewer, Depends(posted_form_viewer)]
