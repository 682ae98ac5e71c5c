"""A dataset's page: its observations a page at a time, and the CSV upload."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service import fit_store, store
from service.dashboard import column_map
from service.dashboard.auth import CurrentViewer, DbSession, FormViewer, Viewer
from service.dashboard.forms import form_fields
from service.dashboard.render import DashboardRoute, page
from service.deps import SettingsDep
from service.errors import Invalid, TooLarge, UnsupportedMediaType
from service.store import INPUT_COLUMNS
from service.submissions import append_upload

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
PAGE_ROWS = 50
FormFields = Annotated[dict[str, str], Depends(form_fields)]


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
    """First step of an upload: the mapping page, each column with its guessed field.

    Nothing is stored yet; a file that is not a readable CSV re-renders the dataset page.
    """
    viewer.require("write")
    store.get_dataset(session, viewer.project, name)  # 404 before reading the file
    body = csv_file.file.read(settings.max_body_bytes + 1)  # one byte over: refused as too large
    try:
        if len(body) > settings.max_body_bytes:
            raise TooLarge(f"file over {settings.max_body_bytes} bytes", field="body")
        columns = column_map.columns_of(body)
    except (Invalid, TooLarge) as exc:
        request.state.failed = True
        return _render(request, viewer, session, name, upload_error=exc, status=exc.status)
    return _mapping_page(request, viewer, name, body.decode("utf-8-sig"), columns)


@router.post("/datasets/{name}/upload/mapped", response_model=None)
def upload_mapped(
    name: str,
    request: Request,
    viewer: FormViewer,
    session: DbSession,
    settings: SettingsDep,
    fields: FormFields,
) -> Response:
    """Store the file under the confirmed mapping, as ``POST …/observations`` with CSV does.

    A rejected file or mapping re-renders the mapping page with every bad row and field;
    nothing is stored.
    """
    viewer.require("write")
    text = fields.get("csv_text", "")
    names = [fields.get(f"column_{i}", "") for i in range(len(fields))]
    roles = {c: fields.get(f"as_{i}", column_map.META) for i, c in enumerate(names) if c}
    try:
        body = column_map.remapped(text.encode(), roles)
        batch, _ = append_upload(session, settings, viewer.project, name, body, "text/csv")
    except (Invalid, TooLarge, UnsupportedMediaType) as exc:
        request.state.failed = True
        columns = [column_map.Column(c.name, c.samples, roles.get(c.name, c.role)) for c in
                   _columns_or_none(text)]  # fmt: skip
        return _mapping_page(request, viewer, name, text, columns, error=exc, status=exc.status)
    mapped = "&".join(f"as={quote(f'{c}:{r}')}" for c, r in roles.items())
    return RedirectResponse(f"/datasets/{name}?uploaded={batch.rows}&{mapped}", status_code=303)


def _columns_or_none(text: str) -> list[column_map.Column]:
    try:
        return column_map.columns_of(text.encode())
    except Invalid:
        return []


def _mapping_page(
    request: Request,
    viewer: Viewer,
    name: str,
    text: str,
    columns: list[column_map.Column],
    *,
    error: Exception | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "upload_map.html",
        status=status,
        viewer=viewer,
        dataset_name=name,
        csv_text=text,
        columns=columns,
        roles=column_map.ROLES,
        upload_error=error,
    )


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
        mapped=[m.partition(":")[::2] for m in request.query_params.getlist("as")],
    )
