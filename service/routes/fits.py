"""Fits: submit (202), poll, list, predict, diagnostics, posterior download, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

import models
from service import fit_store, store
from service.deps import (
    PROJECT_ERRORS,
    FitCacheDep,
    ReadProject,
    SessionDep,
    SettingsDep,
    WriteProject,
)
from service.errors import Conflict, problems
from service.schemas import (
    FitRequest,
    FitResponse,
    FitsResponse,
    PeakRequest,
    PeakResponse,
    PredictRequest,
    PredictResponse,
)
from service.submissions import queue_fit
from service.tables import FitJob

router = APIRouter(prefix="/v1/projects/{project}", tags=["fits"], responses=PROJECT_ERRORS)


def _response(job: FitJob) -> FitResponse:
    diagnostics = job.diagnostics or {}
    return FitResponse(
        id=job.id,
        dataset_id=job.dataset_id,
        name=job.name,
        tags=list(job.tags or []),
        family=job.family,
        spec=job.spec,
        status=job.status,
        progress=job.progress,
        attempts=job.attempts,
        worker=job.worker,
        n_observations=job.n_observations,
        watermark=job.watermark,
        error=job.error,
        converged=diagnostics.get("converged"),
        warnings=list(diagnostics.get("warnings", [])),
        parameters=job.summary,
        diagnostics=diagnostics or None,
        stacking=diagnostics.get("stacking"),
        backtest=job.backtest,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.post("/fits", status_code=202, response_model=FitResponse)
def create_fit(
    body: FitRequest,
    request: Request,
    response: Response,
    project: WriteProject,
    session: SessionDep,
    settings: SettingsDep,
) -> FitResponse:
    """Queue a fit; poll the ``Location`` until ``status`` is succeeded or failed."""
    job = queue_fit(session, settings, project, body)
    # commit before the message goes out: a fast worker must find the row
    session.commit()
    request.app.state.enqueue(job.id)
    response.headers["Location"] = f"/v1/projects/{project.name}/fits/{job.id}"
    response.headers["Retry-After"] = "2"
    return _response(job)


@router.get("/fits", response_model=FitsResponse)
def list_fits(
    project: ReadProject,
    session: SessionDep,
    dataset: str | None = None,
    family: str | None = None,
    status: Annotated[str | None, Query(pattern="^(queued|running|succeeded|failed)$")] = None,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FitsResponse:
    """Fits of the project, newest first, filtered by dataset, family, status or tag."""
    target = store.get_dataset(session, project, dataset) if dataset else None
    rows = fit_store.listing(
        session, project, dataset=target, family=family, status=status, tag=tag, limit=limit
    )
    return FitsResponse(data=[_response(r) for r in rows], count=len(rows))


@router.get("/fits/{fit_id}", response_model=FitResponse)
def read_fit(
    fit_id: str, project: ReadProject, session: SessionDep, response: Response
) -> FitResponse:
    """A fit: status and progress, then parameters, diagnostics and warnings."""
    job = fit_store.get(session, project, fit_id)
    if job.status in ("queued", "running"):
        response.headers["Retry-After"] = "2"
    return _response(job)


@router.get("/datasets/{dataset}/fits/latest", response_model=FitResponse)
def latest_fit(
    dataset: str,
    project: ReadProject,
    session: SessionDep,
    family: str = models.DEFAULT_FAMILY,
) -> FitResponse:
    """The newest successful fit of ``family`` (default: the default family) on the dataset."""
    return _response(
        fit_store.latest(session, project, store.get_dataset(session, project, dataset), family)
    )


@router.get("/fits/{fit_id}/diagnostics", responses=problems(409))
def read_diagnostics(fit_id: str, project: ReadProject, session: SessionDep) -> dict[str, Any]:
    """R-hat, ESS, divergences, BFMI, LOO with Pareto k, thresholds, warnings."""
    job = fit_store.get(session, project, fit_id)
    if job.diagnostics is None:
        raise Conflict(
            f"fit is {job.status}; diagnostics come with a succeeded fit", field="fit_id"
        )
    return job.diagnostics


@router.get("/fits/{fit_id}/posterior", response_class=Response, responses=problems(409))
def download_posterior(fit_id: str, project: ReadProject, session: SessionDep) -> Response:
    """The posterior draws as the netCDF file of ``models.io`` (``models.load_fit`` reads it)."""
    job = fit_store.get(session, project, fit_id, with_posterior=True)
    if job.posterior is None:
        raise Conflict(f"fit is {job.status}; no posterior yet", field="fit_id")
    headers = {"Content-Disposition": f'attachment; filename="fit-{job.id}.nc"'}
    return Response(job.posterior, media_type="application/x-netcdf", headers=headers)


@router.post("/fits/{fit_id}/predict", response_model=PredictResponse, responses=problems(409, 413))
def predict_fit(
    fit_id: str,
    body: PredictRequest,
    project: ReadProject,
    session: SessionDep,
    settings: SettingsDep,
    cache: FitCacheDep,
) -> PredictResponse:
    """Posterior predictive loss at new points, from stored draws (no compilation)."""
    prediction = fit_store.predict(session, settings, project, fit_id, body, cache)
    return PredictResponse(
        fit_id=fit_id,
        group=prediction.group,
        population=prediction.population,
        interval_kind=prediction.interval_kind,
        warnings=list(prediction.warnings),
        predictions=prediction.to_records(),
    )


@router.post("/fits/{fit_id}/peak", response_model=PeakResponse, responses=problems(409))
def peak_of_fit(
    fit_id: str, body: PeakRequest, project: ReadProject, session: SessionDep, cache: FitCacheDep
) -> PeakResponse:
    """Posterior of where the fitted curve peaks along one input (double descent's peak)."""
    peak = fit_store.peak(session, project, fit_id, body, cache)
    return PeakResponse(fit_id=fit_id, **peak.to_record())


@router.delete("/fits/{fit_id}", status_code=204, response_class=Response, responses=problems(409))
def delete_fit(
    fit_id: str, project: WriteProject, session: SessionDep, cache: FitCacheDep
) -> Response:
    """Delete a finished or queued fit and its posterior."""
    fit_store.delete(session, fit_store.get(session, project, fit_id), cache)
    return Response(status_code=204)
