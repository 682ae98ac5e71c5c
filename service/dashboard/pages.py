"""Login, logout, the project overview, new projects, and the stylesheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import fit_store, sessions, store
from service.admin_token import check_admin_token
from service.dashboard.auth import (
    SESSION_COOKIE,
    CurrentViewer,
    DbSession,
    FormViewer,
    check_login_post,
    close_session,
    login_token,
    open_session,
    remember_login_token,
)
from service.dashboard.forms import form_fields, validated
from service.dashboard.render import DashboardRoute, page
from service.deps import SettingsDep
from service.errors import ServiceError
from service.schemas import DatasetCreateRequest, ProjectCreateRequest

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
_CSS = (Path(__file__).parent / "static" / "dashboard.css").read_bytes()
_PROGRESS_JS = (Path(__file__).parent / "static" / "fit_progress.js").read_bytes()
RECENT_FITS = 20


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    """The one stylesheet (no build step)."""
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


def _login_page(request: Request, *, status: int = 200, error: str | None = None) -> Response:
    token = login_token(request)
    response = page(request, "login.html", status=status, error=error, login_token=token)
    remember_login_token(response, request, token)
    return response


@router.get("/static/fit_progress.js")
def progress_script() -> Response:
    """The fit page's progress poller (a file: the CSP allows no inline script)."""
    return Response(
        _PROGRESS_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
    )


@router.get("/login", response_model=None)
def login_form(request: Request) -> Response:
    """The login page: paste an API key (the form carries a pre-session token)."""
    return _login_page(request)


@router.post("/login", response_model=None)
def login(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    key: Annotated[str, Form()] = "",
    login_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the key like the API does; on success open a server-side session."""
    check_login_post(request, login_token)
    session_id = sessions.open_session(session, key.strip(), settings.session_ttl_s)
    if session_id is None:
        return _login_page(request, status=401, error="unknown or revoked API key")
    response = RedirectResponse("/", status_code=303)
    open_session(response, request, session_id, settings.session_ttl_s)
    return response


@router.post("/logout")
def logout(request: Request, viewer: FormViewer, session: DbSession) -> RedirectResponse:
    """End the session: its row is deleted (the key itself stays valid)."""
    sessions.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    close_session(response)
    return response


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, viewer: CurrentViewer, session: DbSession) -> HTMLResponse:
    """The key's project: datasets with sizes, recent fits, and its keys for an admin."""
    datasets = store.list_datasets(session, viewer.project)
    counts = store.count_observations(session, [d.id for d in datasets])
    fits = fit_store.listing(session, viewer.project, limit=RECENT_FITS)
    names = {d.id: d.name for d in datasets}
    keys = store.list_keys(session, viewer.project) if viewer.role == "admin" else None
    return page(
        request,
        "overview.html",
        viewer=viewer,
        datasets=[(d, counts.get(d.id, 0)) for d in datasets],
        fits=[(f, names.get(f.dataset_id, "?")) for f in fits],
        keys=keys,
    )


@router.post("/datasets")
def create_dataset(
    viewer: FormViewer,
    session: DbSession,
    fields: Annotated[dict[str, str], Depends(form_fields)],
) -> RedirectResponse:
    """Create an empty dataset (write role) and open its page."""
    viewer.require("write")
    body = validated(DatasetCreateRequest, fields)
    store.create_dataset(session, viewer.project, body.name, body.description)
    return RedirectResponse(f"/datasets/{body.name}", status_code=303)


@router.get("/projects/new", response_class=HTMLResponse)
def new_project_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Ask for a project name and the server's admin token (or say how to enable it)."""
    return page(request, "project_new.html", enabled=settings.admin_token is not None)


@router.post("/projects/new", response_model=None)
def create_project(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    admin_token: Annotated[str, Form()] = "",
) -> Response:
    """Create a project with the admin token and show its first admin key once.

    No CSRF token: the admin token in the form is the credential, and no cookie is used.
    """
    enabled = settings.admin_token is not None
    try:
        check_admin_token(settings, admin_token)
        body = validated(ProjectCreateRequest, {"name": name})
        project, key = store.create_project(session, body.name)
    except ServiceError as exc:
        request.state.failed = True
        return page(
            request, "project_new.html", status=exc.status, enabled=enabled, error=exc, name=name
        )
    return page(request, "project_created.html", status=201, project=project, key=key)
