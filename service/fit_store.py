"""Fit records: submit, read, list, delete, and the loaded-posterior cache for prediction."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

import models
from service import jobs
from service.config import Settings
from service.errors import Conflict, Invalid, NotFound, TooLarge
from service.schemas import PeakRequest, PlanRequest, PredictRequest
from service.tables import Dataset, FitJob, Observation, Project


def submit(
    session: Session,
    project: Project,
    dataset: Dataset,
    spec: models.FitSpec,
    *,
    filters: dict[str, Any] | None = None,
    holdout: dict[str, Any] | None = None,
    name: str = "",
    tags: Sequence[str] = (),
) -> FitJob:
    """Validate a fit request against the data it would use, then queue it.

    The job stores ``spec.to_json()`` with the request's ``filters`` and ``holdout`` beside it.
    The snapshot is the dataset's newest observation id: later appends never change this fit.
    """
    watermark = session.scalar(
        select(func.max(Observation.id)).where(Observation.dataset_id == dataset.id)
    )
    if watermark is None:
        raise Invalid(f"dataset '{dataset.name}' has no observations", field="dataset")
    stored = spec.to_json() | {"filters": filters or {}} | ({"holdout": holdout} if holdout else {})
    job = FitJob(
        project_id=project.id,
        dataset_id=dataset.id,
        name=name,
        tags=list(tags),
        family=spec.family_name,
        spec=stored,
        watermark=watermark,
    )
    data = jobs.load_data(session, job)
    models.validate_fit(data, spec)
    if holdout:
        # the worker fits the training part: it must be fittable and leave something to score
        try:
            train, _, _ = models.holdout_split(
                data, spec.family, family_options=spec.family_options, **holdout
            )
            models.validate_fit(train, spec)
        except models.BayescaleError as exc:
            raise Invalid(f"holdout: {exc.message}", field="holdout") from None
    job.n_observations = len(data)
    session.add(job)
    session.flush()
    return job


def get(session: Session, project: Project, fit_id: str, *, with_posterior: bool = False) -> FitJob:
    """A fit of the project (404 otherwise)."""
    query = select(FitJob).where(FitJob.project_id == project.id, FitJob.id == fit_id)
    if with_posterior:
        query = query.options(undefer(FitJob.posterior))
    job = session.scalar(query)
    if job is None:
        raise NotFound(f"no fit '{fit_id}' in this project", field="fit_id")
    return job


def listing(
    session: Session,
    project: Project,
    *,
    dataset: Dataset | None = None,
    family: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    limit: int = 100,
) -> Sequence[FitJob]:
    """Fits of the project, newest first, filtered."""
    query = select(FitJob).where(FitJob.project_id == project.id)
    if dataset is not None:
        query = query.where(FitJob.dataset_id == dataset.id)
    if family is not None:
        query = query.where(FitJob.family == family)
    if status is not None:
        query = query.where(FitJob.status == status)
    rows = session.scalars(
        query.order_by(FitJob.created_at.desc()).limit(limit if tag is None else 10_000)
    ).all()
    if tag is not None:
        rows = [r for r in rows if tag in (r.tags or [])][:limit]
    return rows


def latest(session: Session, project: Project, dataset: Dataset, family: str) -> FitJob:
    """The newest successful fit of a family on a dataset (what pipelines query)."""
    job = session.scalar(
        select(FitJob)
        .where(
            FitJob.project_id == project.id,
            FitJob.dataset_id == dataset.id,
            FitJob.family == family,
            FitJob.status == "succeeded",
        )
        .order_by(FitJob.finished_at.desc())
        .limit(1)
    )
    if job is None:
        raise NotFound(f"no successful '{family}' fit of dataset '{dataset.name}'", field="family")
    return job


def delete(session: Session, job: FitJob, cache: FitCache) -> None:
    """Delete a fit that is not running (and forget its loaded posterior)."""
    if job.status == "running":
        raise Conflict("the fit is running; delete it when it has finished", field="fit_id")
    session.delete(job)
    cache.pop(job.id)


class FitCache:
    """Loaded posteriors by fit id, least recently used first out; safe across threads.

    One per application, built in its lifespan and sized by ``Settings.fit_cache_size``.
    """

    def __init__(self, size: int) -> None:
        self.size, self._items, self._lock = size, OrderedDict[str, models.Fit](), threading.Lock()

    def get(self, key: str) -> models.Fit | None:
        """The fit, marked as recently used; None when not loaded."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, value: models.Fit) -> None:
        """Keep a loaded fit, dropping the least recently used beyond ``size``."""
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        """Forget a fit (deleted)."""
        with self._lock:
            self._items.pop(key, None)


def loaded(session: Session, project: Project, fit_id: str, cache: FitCache) -> models.Fit:
    """The fit's posterior, parsed once per process (prediction never compiles anything)."""
    cached = cache.get(fit_id)
    if cached is not None:
        get(session, project, fit_id)  # access check even when cached
        return cached
    job = get(session, project, fit_id, with_posterior=True)
    if job.status != "succeeded" or job.posterior is None:
        raise Conflict(
            f"fit is {job.status}; predictions and plans need a succeeded fit", field="fit_id"
        )
    result = models.load_fit(job.posterior)
    cache.put(fit_id, result)
    return result


def predict(
    session: Session,
    settings: Settings,
    project: Project,
    fit_id: str,
    body: PredictRequest,
    cache: FitCache,
) -> models.Prediction:
    """A stored fit's prediction at the request's points (API and dashboard: one code path)."""
    if len(body.points) > settings.max_predict_points:
        raise TooLarge(f"at most {settings.max_predict_points} points", field="points")
    result = loaded(session, project, fit_id, cache)
    return result.predict(
        body.points, group=body.group, probs=body.probs, seed=body.seed, new_group=body.new_group
    )


def peak(
    session: Session, project: Project, fit_id: str, body: PeakRequest, cache: FitCache
) -> models.Peak:
    """Where a stored fit's curve peaks along the request's axis."""
    return models.curve_peak(
        loaded(session, project, fit_id, cache),
        body.axis,
        {str(k): v for k, v in body.at.items()},
        group=body.group,
        new_group=body.new_group,
        bracket=body.bracket,
        probs=body.probs,
        seed=body.seed,
    )


def plan(
    session: Session, project: Project, fit_id: str, body: PlanRequest, cache: FitCache
) -> tuple[models.ComputePlan, models.TargetCompute | None]:
    """A stored fit's compute plan for the request (API and dashboard: one code path)."""
    return models.plan(
        loaded(session, project, fit_id, cache),
        body.budgets,
        target=body.target,
        q=body.q,
        new_run=body.new_run,
        group=body.group,
        **body.allocation_kwargs(),
    )
