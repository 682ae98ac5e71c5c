"""Login, logout, the project overview, new projects, and the stylesheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import fit_store, store
from service.admin_token import check_admin_token
from service.dashboard.auth import (
    CurrentViewer,
    DbSession,
    FormViewer,
    close_session,
    open_session,
)
from service.dashboard.forms import form_fields, validated
from service.dashboard.render import DashboardRoute, page
from service.deps import SettingsDep
from service.errors import ServiceError
from service.schemas import DatasetCreateRequest, ProjectCreateRequest

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
_CSS = (Path(__file__).parent / "static" / "dashboard.css").read_bytes()
RECENT_FITS = 20


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    """The one stylesheet (no build step)."""
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    """The login page: paste an API key."""
    return page(request, "login.html", error=None)


@router.post("/login", response_model=None)
def login(request: Request, session: DbSession, key: Annotated[str, Form()] = "") -> Response:
    """Check the key like the API does; on success set the session cookie."""
    if store.authenticate(session, key.strip()) is None:
        return page(request, "login.html", status=401, error="unknown or revoked API key")
    response = RedirectResponse("/", status_code=303)
    open_session(response, request, key.strip())
    return response


@router.post("/logout")
def logout(viewer: FormViewer) -> RedirectResponse:
    """End the session (the key itself stays valid)."""
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
