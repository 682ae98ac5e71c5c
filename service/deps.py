"""FastAPI dependencies: settings, a database session, and the project a key may access."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlalchemy.orm import Session

from service import security, store
from service.config import Settings, get_settings
from service.db import READ_ONLY
from service.errors import Forbidden, NotFound, Unauthorized, problems
from service.fit_store import FitCache
from service.security import Role, allows
from service.tables import Project

SettingsDep = Annotated[Settings, Depends(get_settings)]


def fit_cache(request: Request) -> FitCache:
    """The application's cache of loaded posteriors (built in its lifespan)."""
    cache: FitCache = request.app.state.fit_cache
    return cache


FitCacheDep = Annotated[FitCache, Depends(fit_cache)]

# What every route under /v1/projects/{project} may answer: the errors of `project_access`
# (401 no key, 403 role, 404 project, 429 rate limit), 404 of a lookup, 422 invalid input,
# 400 a body FastAPI cannot even decode (not UTF-8) before validating it, 503 database down.
PROJECT_ERRORS = problems(400, 401, 403, 404, 422, 429, 503)


async def raw_body(request: Request) -> bytes:
    """The request body, read on the event loop so the handler itself can stay synchronous.

    Handlers touching the database are plain ``def`` (FastAPI runs them in its thread pool); a
    blocking query inside ``async def`` would stall every other request.
    """
    return await request.body()


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    factory = request.app.state.sessions
    with factory() as session, session.begin():
        if request.method in ("GET", "HEAD"):
            # reads take no write lock on SQLite (see service.db.make_engine)
            session.connection(execution_options=READ_ONLY)
        yield session


# scope="function": commit before the response is sent. FastAPI's default closes a yield
# dependency after sending, so a client could get its 201 before the commit (and see a 404 on an
# immediate GET), or a 201 for a write whose commit then failed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def project_access(needed: Role) -> Callable[..., Project]:
    """Dependency: the path's project if the bearer key belongs to it with at least ``needed``."""

    def dependency(
        request: Request,
        session: SessionDep,
        project: Annotated[str, Path(description="project name")],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Project:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("send 'Authorization: Bearer <project key>'", field="Authorization")
        key = authorization.removeprefix("Bearer ").strip()
        found = store.authenticate(session, key)
        if found is None:
            raise Unauthorized("unknown or revoked API key", field="Authorization")
        proj, role = found
        # counted per key before any work; another project's key is limited like any other
        request.app.state.rate_limiter.check(security.parse_prefix(key) or key)
        if proj.name != project:
            # another project's key learns nothing about this one, not even that it exists
            raise NotFound(f"no project '{project}' for this key", field="project")
        if not allows(role, needed):
            raise Forbidden(
                f"this key's role '{role}' cannot do this (needs {needed})", field="Authorization"
            )
        return proj

    return dependency


ReadProject = Annotated[Project, Depends(project_access("read"))]
WriteProject = Annotated[Project, Depends(project_access("write"))]
AdminProject = Annotated[Project, Depends(project_access("admin"))]
