"""Planning on a succeeded fit: allocation, target probabilities, comparison, trade-off, VOI.

Each route validates its schema, calls one ``models.planning`` function on the posterior the
predict route also uses (loaded once per process), and returns that function's ``to_dict``.
Read role, like predict: planning never changes anything.
"""

from __future__ import annotations

from fastapi import APIRouter

import models
from service import fit_store
from service.deps import PROJECT_ERRORS, FitCacheDep, ReadProject, SessionDep, SettingsDep
from service.errors import TooLarge, problems
from service.schemas import (
    CompareRequest,
    CompareResponse,
    PlanRequest,
    PlanResponse,
    ProbabilityRequest,
    ProbabilityResponse,
    SuggestRequest,
    SuggestResponse,
    TradeoffRequest,
    TradeoffResponse,
)

# every planning route needs a succeeded fit (409 otherwise)
router = APIRouter(
    prefix="/v1/projects/{project}/fits/{fit_id}",
    tags=["planning"],
    responses={**PROJECT_ERRORS, **problems(409)},
)


@router.post("/plan", response_model=PlanResponse)
def plan_fit(
    fit_id: str, body: PlanRequest, project: ReadProject, session: SessionDep, cache: FitCacheDep
) -> PlanResponse:
    """N*, D*, L* per budget under C = k N D; with ``target``, also the compute that reaches it."""
    plan, reach = fit_store.plan(session, project, fit_id, body, cache)
    return PlanResponse(
        fit_id=fit_id,
        **plan.to_dict(),
        target_compute=None if reach is None else reach.to_dict(),
    )


@router.post("/probability", response_model=ProbabilityResponse, responses=problems(413))
def probability_fit(
    fit_id: str,
    body: ProbabilityRequest,
    project: ReadProject,
    session: SessionDep,
    settings: SettingsDep,
    cache: FitCacheDep,
) -> ProbabilityResponse:
    """``P(L < target)`` at each point, for a new run (default) or the mean curve."""
    if len(body.points) > settings.max_predict_points:
        raise TooLarge(f"at most {settings.max_predict_points} points", field="points")
    result = fit_store.loaded(session, project, fit_id, cache)
    answer = models.probability_below(
        result, body.points, body.target, group=body.group, new_run=body.new_run, seed=body.seed
    )
    return ProbabilityResponse(fit_id=fit_id, **answer.to_dict())


@router.post("/compare", response_model=CompareResponse)
def compare_fit(
    fit_id: str,
    body: CompareRequest,
    project: ReadProject,
    session: SessionDep,
    cache: FitCacheDep,
) -> CompareResponse:
    """P(L*_a(C) < L*_b(C)): which group is better when each is allocated optimally."""
    result = fit_store.loaded(session, project, fit_id, cache)
    answer = models.compare_groups(result, body.a, body.b, body.budget, **body.allocation_kwargs())
    return CompareResponse(fit_id=fit_id, **answer.to_dict())


@router.post("/tradeoff", response_model=TradeoffResponse)
def tradeoff_fit(
    fit_id: str,
    body: TradeoffRequest,
    project: ReadProject,
    session: SessionDep,
    cache: FitCacheDep,
) -> TradeoffResponse:
    """Steps each model size needs to reach ``target`` (``scale_time`` fits), cheapest size."""
    result = fit_store.loaded(session, project, fit_id, cache)
    answer = models.scale_time_tradeoff(result, body.target, **body.model_dump(exclude={"target"}))
    return TradeoffResponse(fit_id=fit_id, **answer.to_dict())


@router.post("/suggest", response_model=SuggestResponse)
def suggest_fit(
    fit_id: str,
    body: SuggestRequest,
    project: ReadProject,
    session: SessionDep,
    cache: FitCacheDep,
) -> SuggestResponse:
    """Candidate runs ranked by how much they would narrow the prediction at ``target``."""
    result = fit_store.loaded(session, project, fit_id, cache)
    fields = body.model_dump()
    answer = models.suggest(result, fields.pop("candidates"), fields.pop("target"), **fields)
    return SuggestResponse(fit_id=fit_id, **answer.to_dict())
