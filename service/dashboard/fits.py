"""Fit pages: new-fit form, status, parameters, diagnostics, plots, predict and plan forms."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

import models
import plots
from models import ScalingLaw, allocation_problem
from service import fit_store, plotting, store
from service.dashboard.auth import CurrentViewer, DbSession, FormViewer, Viewer
from service.dashboard.checks import diagnostic_checks, pareto_advice
from service.dashboard.forms import fit_request, form_fields, plan_request, predict_request
from service.dashboard.render import DashboardRoute, page
from service.deps import FitCacheDep, SettingsDep
from service.errors import ServiceError
from service.fit_store import FitCache
from service.schemas import SamplerSpec
from service.submissions import queue_fit
from service.tables import Dataset

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
FormFields = Annotated[dict[str, str], Depends(form_fields)]
# drawn on the fit page; every other kind that applies to the family is a link
SHOWN_PLOTS = ("fit", "residuals")


@router.get("/fits/new", response_class=HTMLResponse)
def new_fit_form(
    request: Request, viewer: CurrentViewer, session: DbSession, dataset: str = ""
) -> HTMLResponse:
    """The new-fit form with the API's defaults filled in."""
    return _new_fit_page(request, viewer, session, {"dataset": dataset})


@router.post("/fits", response_model=None)
def create_fit(
    request: Request,
    viewer: FormViewer,
    session: DbSession,
    settings: SettingsDep,
    fields: FormFields,
) -> Response:
    """Queue a fit like ``POST …/fits`` and open its page; errors re-render the form."""
    viewer.require("write")
    try:
        job = queue_fit(session, settings, viewer.project, fit_request(fields))
    except (ServiceError, models.BayescaleError) as exc:
        request.state.failed = True
        return _new_fit_page(request, viewer, session, fields, error=exc)
    session.commit()  # before the message goes out: a fast worker must find the row
    request.app.state.enqueue(job.id)
    return RedirectResponse(f"/fits/{job.id}", status_code=303)


@router.get("/fits/{fit_id}", response_class=HTMLResponse)
def fit_page(
    fit_id: str, request: Request, viewer: CurrentViewer, session: DbSession, cache: FitCacheDep
) -> HTMLResponse:
    """Status (live while queued or running), parameters, diagnostics, plots, predict and plan."""
    return _fit_page(request, viewer, session, fit_id, cache)


@router.get("/fits/{fit_id}/status")
def fit_status(fit_id: str, viewer: CurrentViewer, session: DbSession) -> JSONResponse:
    """Status and progress for the fit page's polling script."""
    job = fit_store.get(session, viewer.project, fit_id)
    return JSONResponse({"status": job.status, "progress": job.progress})


@router.post("/fits/{fit_id}/predict", response_class=HTMLResponse)
def predict(
    fit_id: str,
    request: Request,
    viewer: FormViewer,
    session: DbSession,
    settings: SettingsDep,
    fields: FormFields,
    cache: FitCacheDep,
) -> HTMLResponse:
    """Predict at the form's points (read role), shown under the form."""
    shown = partial(_fit_page, request, viewer, session, fit_id, cache, form=fields)
    try:
        body = predict_request(fields)
        prediction = fit_store.predict(session, settings, viewer.project, fit_id, body, cache)
    except (ServiceError, models.BayescaleError) as exc:
        return shown(status=_status(exc), predict_error=exc)
    return shown(prediction=prediction)


@router.post("/fits/{fit_id}/plan", response_class=HTMLResponse)
def plan(
    fit_id: str,
    request: Request,
    viewer: FormViewer,
    session: DbSession,
    fields: FormFields,
    cache: FitCacheDep,
) -> HTMLResponse:
    """Compute-optimal allocation per budget (and the compute for a target), under the form."""
    shown = partial(_fit_page, request, viewer, session, fit_id, cache, form=fields)
    try:
        body = plan_request(fields)
        allocation, reach = fit_store.plan(session, viewer.project, fit_id, body, cache)
    except (ServiceError, models.BayescaleError) as exc:
        return shown(status=_status(exc), plan_error=exc)
    answer = {"plan": allocation.to_dict(), "reach": None if reach is None else reach.to_dict()}
    return shown(plan=answer)


@router.get("/fits/{fit_id}/plots/{kind}.{fmt}")
def plot(
    fit_id: str,
    kind: str,
    fmt: str,
    viewer: CurrentViewer,
    session: DbSession,
    settings: SettingsDep,
    cache: FitCacheDep,
    group: str | None = None,
) -> Response:
    """A plot of the fit, as the API's plot route renders it (cookie instead of header auth)."""
    image, media_type = plotting.render_fit_plot(
        session, settings, viewer.project, fit_id, kind, fmt, {"group": group}, cache
    )
    return Response(image, media_type=media_type, headers={"Cache-Control": "private"})


def _plot_kinds(family: ScalingLaw) -> list[str]:
    """The plot kinds that apply to ``family`` and need no option.

    A stacked (auto) law has no chains of its own to diagnose: those kinds are left out.
    """
    stacked = family.name == models.AUTO
    return [
        name
        for name, spec in plots.KINDS.items()
        if (spec.families is None or family.name in spec.families)
        and spec.needs_inputs <= set(family.inputs)
        and not (stacked and name in plots.CHAIN_KINDS)
    ]


def _status(exc: Exception) -> int:
    """The HTTP status the JSON API would answer for ``exc``."""
    return exc.status if isinstance(exc, ServiceError) else 422


def _new_fit_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    values: dict[str, str],
    *,
    error: Exception | None = None,
) -> HTMLResponse:
    defaults = {name: str(field.default) for name, field in SamplerSpec.model_fields.items()}
    return page(
        request,
        "fit_new.html",
        status=200 if error is None else _status(error),
        viewer=viewer,
        datasets=store.list_datasets(session, viewer.project),
        families=[models.describe_auto(), *models.list_families()],
        values=defaults
        | {"family": models.DEFAULT_FAMILY, "likelihood": models.DEFAULT_LIKELIHOOD}
        | values,
        error=error,
    )


def _law(session: Session, viewer: Viewer, job: Any, cache: FitCache) -> ScalingLaw | None:
    """The fit's law: the named family, or for auto the stacked law once the fit succeeded."""
    if job.family != models.AUTO:
        return models.get_family(job.family, **(job.spec.get("family_options") or {}))
    if job.status != "succeeded":
        return None
    return fit_store.loaded(session, viewer.project, job.id, cache).family


def _fit_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    fit_id: str,
    cache: FitCache,
    *,
    form: dict[str, str] | None = None,
    status: int = 200,
    **results: Any,
) -> HTMLResponse:
    job = fit_store.get(session, viewer.project, fit_id)
    dataset = session.get(Dataset, job.dataset_id)
    family = _law(session, viewer, job, cache)
    groups = sorted({p["group"] for p in job.summary or [] if p.get("group")})
    checks = diagnostic_checks(job.diagnostics) if job.diagnostics else []
    return page(
        request,
        "fit.html",
        status=status,
        viewer=viewer,
        job=job,
        dataset=dataset,
        inputs=family.inputs if family else (),
        groups=groups,
        checks=checks,
        pareto_advice=pareto_advice(job.diagnostics or {}, checks),
        # a one-input fit (power_law) has no size/data split to plan: no Plan form, say why
        plan_problem=(
            allocation_problem(family) if family else "family auto picks its laws when it runs"
        ),
        shown_plots=SHOWN_PLOTS,
        plot_kinds=_plot_kinds(family) if family else [],
        form=form or {},
        **results,
    )
