"""A dataset's page: its observations a page at a time, and the CSV upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service import fit_store, store
from service.dashboard.auth import CurrentViewer, DbSession, FormViewer, Viewer
from service.dashboard.render import DashboardRoute, page
from service.deps import SettingsDep
from service.errors import Invalid, TooLarge, UnsupportedMediaType
from service.store import INPUT_COLUMNS
from service.submissions import append_upload

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
PAGE_ROWS = 50


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset_page(
    name: str,
    request: Request,
    viewer: CurrentViewer,
    session: DbSession,
    after: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Observations (``PAGE_ROWS`` a page, oldest first), the upload form and the dataset's fits."""
    return _render(request, viewer, session, name, after=after)


@router.post("/datasets/{name}/upload", response_model=None)
def upload(
    name: str,
    request: Request,
    viewer: FormViewer,
    session: DbSession,
    settings: SettingsDep,
    csv_file: Annotated[UploadFile, File()],
) -> Response:
    """Append a CSV file exactly as ``POST …/observations`` with ``text/csv`` does.

    A rejected file re-renders the page with every bad row and field; nothing is stored.
    """
    viewer.require("write")
    body = csv_file.file.read(settings.max_body_bytes + 1)  # one byte over: refused as too large
    try:
        batch, _ = append_upload(session, settings, viewer.project, name, body, "text/csv")
    except (Invalid, TooLarge, UnsupportedMediaType) as exc:
        request.state.failed = True
        return _render(request, viewer, session, name, upload_error=exc, status=exc.status)
    return RedirectResponse(f"/datasets/{name}?uploaded={batch.rows}", status_code=303)


def _render(
    request: Request,
    viewer: Viewer,
    session: Session,
    name: str,
    *,
    after: int = 0,
    upload_error: Exception | None = None,
    status: int = 200,
) -> HTMLResponse:
    dataset = store.get_dataset(session, viewer.project, name)
    rows, next_after = store.page_observations(session, dataset, after=after, limit=PAGE_ROWS)
    total = store.count_observations(session, [dataset.id]).get(dataset.id, 0)
    # only the input columns some row on this page has, so a one-input sweep stays narrow
    columns = [c for c in INPUT_COLUMNS if any(getattr(r, c) is not None for r in rows)]
    return page(
        request,
        "dataset.html",
        status=status,
        viewer=viewer,
        dataset=dataset,
        rows=rows,
        columns=columns,
        has_runs=any(r.run is not None for r in rows),
        total=total,
        after=after,
        next_after=next_after,
        fits=fit_store.listing(session, viewer.project, dataset=dataset, limit=20),
        upload_error=upload_error,
        uploaded=request.query_params.get("uploaded"),
    )
