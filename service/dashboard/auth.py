"""Dashboard sessions: a random session id in an HttpOnly cookie, and a CSRF token per login.

The cookie holds only a server-side session id (:mod:`service.sessions`): never the API key.
Every request checks the session's expiry and its key (revoking a key ends its sessions at
once) and counts against the key's rate limit as the JSON API does. The CSRF token is derived
from the secret session id: a page can embed it, another site cannot compute it, and each login
gets a fresh one. Write forms must send it back (``SameSite=Strict`` alone is not honoured by
older browsers).

The login form itself is protected against login CSRF (another site posting its own key so the
victim works in the attacker's project): the POST must come from this host (``Origin``, else
``Referer``) and carry the pre-session token that ``GET /login`` put both in the form and in a
SameSite=Strict cookie, which a cross-site post cannot send.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from service import sessions
from service.errors import Forbidden
from service.security import Role, allows
from service.tables import Project

SESSION_COOKIE = "bayescale_session"
LOGIN_COOKIE = "bayescale_login"  # the pre-session token of the login form


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


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",  # never sent back over plain http
        path="/",
    )


def login_token(request: Request) -> str:
    """The login form's pre-session token: the browser's own, or a new one."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return token if len(token) == 43 else secrets.token_urlsafe(32)  # token_urlsafe(32)


def remember_login_token(response: Response, request: Request, token: str) -> None:
    """Set the pre-session token as a cookie (an hour: time enough to paste a key)."""
    _cookie(response, request, LOGIN_COOKIE, token, 3600)


def check_login_post(request: Request, token: str) -> None:
    """Raise :class:`Forbidden` for a login posted by another site (login CSRF)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is not None and urlsplit(source).netloc != request.headers.get("host"):
        raise Forbidden("login posted from another site", field="origin")
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not token or not hmac.compare_digest(cookie, token):
        raise Forbidden(
            "the login form's token is missing or stale: reload the login page and try again",
            field="csrf",
        )


def open_session(response: Response, request: Request, session_id: str, ttl_s: float) -> None:
    """Set the session cookie (``Secure`` over https) and drop the login form's token."""
    _cookie(response, request, SESSION_COOKIE, session_id, int(ttl_s))
    response.delete_cookie(LOGIN_COOKIE, path="/", httponly=True, samesite="strict")


def close_session(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def current_viewer(request: Request, session: DbSession) -> Viewer:
    """Dependency: the logged-in viewer, or :class:`LoginRequired`."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    login = sessions.find_session(session, session_id)
    if login is None:
        raise LoginRequired
    request.app.state.rate_limiter.check(login.key_prefix)
    return Viewer(login.project, login.role, sessions.csrf_token(session_id))


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


async def posted_form_viewer(request: Request, viewer: CurrentViewer) -> Viewer:
    """Dependency of every write form: the viewer, once the form's CSRF token checks out."""
    form = await request.form()
    token = form.get("csrf")
    viewer.check_csrf(token if isinstance(token, str) else None)
    return viewer


FormViewer = Annotated[Viewer, Depends(posted_form_viewer)]
