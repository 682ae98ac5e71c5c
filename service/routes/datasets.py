"""Datasets and their observations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from service import store
from service.deps import (
    PROJECT_ERRORS,
    ReadProject,
    SessionDep,
    SettingsDep,
    WriteProject,
    raw_body,
)
from service.errors import problems
from service.parsing import csv_columns
from service.schemas import (
    BatchResponse,
    DatasetCreateRequest,
    DatasetResponse,
    DatasetsResponse,
    ObservationPage,
    ObservationResponse,
)
from service.submissions import append_upload
from service.tables import MAX_ROW_ID, Dataset

router = APIRouter(
    prefix="/v1/projects/{project}/datasets", tags=["datasets"], responses=PROJECT_ERRORS
)


def _response(dataset: Dataset, count: int) -> DatasetResponse:
    return DatasetResponse(
        id=dataset.id,
        name=dataset.name,
        description=dataset.description,
        created_at=dataset.created_at,
        observations=count,
    )


@router.post("", status_code=201, response_model=DatasetResponse, responses=problems(409))
def create_dataset(
    body: DatasetCreateRequest, project: WriteProject, session: SessionDep
) -> DatasetResponse:
    """Create an empty dataset."""
    return _response(store.create_dataset(session, project, body.name, body.description), 0)


@router.get("", response_model=DatasetsResponse)
def list_datasets(project: ReadProject, session: SessionDep) -> DatasetsResponse:
    """Datasets of the project with their sizes."""
    datasets = store.list_datasets(session, project)
    counts = store.count_observations(session, [d.id for d in datasets])
    data = [_response(d, counts.get(d.id, 0)) for d in datasets]
    return DatasetsResponse(data=data, count=len(data))


@router.get("/{dataset}", response_model=DatasetResponse)
def read_dataset(dataset: str, project: ReadProject, session: SessionDep) -> DatasetResponse:
    """One dataset, by id or name."""
    found = store.get_dataset(session, project, dataset)
    return _response(found, store.count_observations(session, [found.id]).get(found.id, 0))


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ObservationBatchRequest"}
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/{dataset}/observations",
    status_code=201,
    response_model=BatchResponse,
    openapi_extra=_BODY_DOC,
    responses={
        200: {"model": BatchResponse, "description": "replay of an idempotent request"},
        **problems(409, 413),
    },
)
def append_observations(
    dataset: str,
    body: Annotated[bytes, Depends(raw_body)],
    request: Request,
    response: Response,
    project: WriteProject,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    group_col: Annotated[
        str | None, Query(max_length=200, description="CSV: the column read as `group`")
    ] = None,
    run_col: Annotated[
        str | None, Query(max_length=200, description="CSV: the column read as `run`")
    ] = None,
    maps: Annotated[
        list[str] | None,
        Query(
            alias="map",
            max_length=200,
            description="CSV: `FIELD=COLUMN` reads COLUMN as an input, `loss`, `group` or "
            "`run` (repeatable)",
        ),
    ] = None,
) -> BatchResponse:
    """Append a batch (JSON ``{"rows": [...]}`` or CSV): every row is valid or none is stored.

    CSV columns are the canonical names (``params``, ``data``, ``steps``, ``compute``,
    ``label_noise``, ``epochs``, ``unique_data``), ``loss``, ``group`` and ``run``; other
    columns become metadata. ``group_col``, ``run_col`` and ``map`` read columns of other names
    as those fields (a column already named like such a field is kept as metadata, as
    ``<name>_``). With an ``Idempotency-Key`` a retried request stores nothing and returns the
    original batch (status 200).
    """
    batch, replayed = append_upload(
        session,
        settings,
        project,
        dataset,
        body,
        request.headers.get("content-type", ""),
        idempotency_key=idempotency_key,
        columns=csv_columns(group_col, run_col, maps or ()),
    )
    if replayed:
        response.status_code = 200
    return BatchResponse(
        batch_id=batch.id,
        rows=batch.rows,
        first_id=batch.first_id,
        last_id=batch.last_id,
        replayed=replayed,
    )


@router.get("/{dataset}/observations", response_model=ObservationPage)
def list_observations(
    dataset: str,
    project: ReadProject,
    session: SessionDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_ROW_ID, description="return ids greater than this")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ObservationPage:
    """Page through observations, oldest first."""
    target = store.get_dataset(session, project, dataset)
    rows, next_after = store.page_observations(session, target, after=after, limit=limit)
    data = [ObservationResponse.model_validate(r, from_attributes=True) for r in rows]
    return ObservationPage(data=data, next_after=next_after)
