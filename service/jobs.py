"""Fit jobs: submitted by the API, claimed and run by workers; all state lives in the database.

A worker claims the oldest queued fit (or a running one whose worker stopped heart-beating, e.g.
after SIGKILL) in one atomic statement, samples with the modelling library, and stores the
result and the posterior file in the same row. Running a job twice is harmless: a finished fit is
never claimed again, results are written in one transaction, and only by the worker holding the
claim (a stalled worker whose lease was taken over cannot overwrite its successor).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

import models
from service.tables import FitJob, Observation, now

log = logging.getLogger("bayescale.jobs")


def worker_name() -> str:
    """host:pid, recorded on the fits a worker runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_interval(lease_s: float) -> float:
    """How often a running fit proves its worker is alive: several beats per lease."""
    return min(5.0, lease_s / 4)


def claim(
    sessions: sessionmaker[Session], worker: str, lease_s: float, *, fit_id: str | None = None
) -> str | None:
    """Atomically take a fit to run: ``fit_id`` if it is runnable, else the oldest runnable one.

    Runnable means queued, or running with no heartbeat for ``lease_s`` (its worker died).
    Returns None when there is nothing to take.
    """
    stale = now() - timedelta(seconds=lease_s)
    runnable = or_(
        FitJob.status == "queued", (FitJob.status == "running") & (FitJob.heartbeat_at < stale)
    )
    if fit_id is not None:
        runnable = runnable & (FitJob.id == fit_id)
    with sessions() as session, session.begin():
        query = select(FitJob.id).where(runnable).order_by(FitJob.created_at).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
            fit_id = session.scalar(query)
            if fit_id is None:
                return None
            condition = FitJob.id == fit_id
        else:  # SQLite runs one writer at a time: the sub-select and update are one atomic step
            condition = FitJob.id == query.scalar_subquery()
        claimed = session.scalar(
            update(FitJob)
            .where(condition, runnable)
            .values(
                status="running",
                worker=worker,
                heartbeat_at=now(),
                attempts=FitJob.attempts + 1,
                started_at=now(),
            )
            .returning(FitJob.id)
        )
        return claimed


def release(sessions: sessionmaker[Session], fit_id: str, worker: str) -> bool:
    """Hand a running fit back to the queue (a worker shutting down cleanly); True if it did.

    The abandoned run can no longer store results: they are written only by the claim holder.
    """
    with sessions() as session, session.begin():
        released = session.scalar(
            update(FitJob)
            .where(FitJob.id == fit_id, FitJob.status == "running", FitJob.worker == worker)
            .values(status="queued", worker=None, heartbeat_at=None, enqueued_at=None)
            .returning(FitJob.id)
        )
    return released is not None


def load_data(session: Session, job: FitJob) -> models.ScalingData:
    """The observations a fit uses: its dataset up to the watermark, filtered as requested."""
    rows = session.scalars(
        select(Observation)
        .where(Observation.dataset_id == job.dataset_id, Observation.id <= job.watermark)
        .order_by(Observation.id)
    ).all()
    filters = job.spec.get("filters") or {}
    groups = set(filters.get("groups") or [])
    if groups:
        rows = [r for r in rows if (r.group or models.DEFAULT_GROUP) in groups]
    for name, limit in (filters.get("max") or {}).items():
        rows = [r for r in rows if getattr(r, name) is not None and getattr(r, name) <= limit]
    if not rows:
        raise models.DataError(
            "no observations match the fit's dataset and filters", field="filters"
        )
    inputs = {}
    for name in models.INPUTS:
        values = [getattr(r, name) for r in rows]
        if all(v is not None for v in values):
            inputs[name] = np.asarray(values, dtype=float)
    group = [r.group or models.DEFAULT_GROUP for r in rows]
    loss = np.asarray([r.loss for r in rows], dtype=float)
    # the CSV parser keeps a run column in meta as well: it is read, so not unused
    meta = pd.DataFrame([{k: v for k, v in (r.meta or {}).items() if k != "run"} for r in rows])
    return models.ScalingData(
        inputs,
        loss,
        group,
        run=[r.run for r in rows],
        unused=models.unused_columns(meta, inputs, group),
        pooled=models.pooled_columns(meta, inputs, loss, group),
    )


def run(
    sessions: sessionmaker[Session],
    fit_id: str,
    *,
    worker: str | None = None,
    heartbeat_s: float = 5.0,
    time_limit_s: float | None = None,
) -> None:
    """Run one fit claimed by ``worker`` (default: this process) and store the outcome.

    Never raises for bad input. A fit still sampling after ``time_limit_s`` (compilation
    included) is stopped and failed.
    """
    worker = worker or worker_name()
    with sessions() as session:
        job = session.get(FitJob, fit_id)
        if job is None or job.status != "running":
            return
        stored = dict(job.spec)
        try:
            data = load_data(session, job)
        except models.BayescaleError as exc:
            _finish(sessions, fit_id, worker, error={"reason": exc.message, "field": exc.field})
            return
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(sessions, fit_id, worker, stop, heartbeat_s), daemon=True
    )
    beat.start()
    scores = None
    try:
        spec = models.FitSpec.from_json(stored)
        run_kwargs: dict[str, Any] = {
            "progress": _progress_writer(sessions, fit_id),
            "time_limit_s": time_limit_s,
        }
        if stored.get("holdout"):  # a backtest: fit the training part, score the held-out runs
            backtest = models.backtest(
                data, spec, seed=spec.settings.seed, **stored["holdout"], **run_kwargs
            )
            result, scores = backtest.fit, _json_safe(backtest.to_dict())
        else:
            result = models.fit(data, spec, **run_kwargs)
    except models.BayescaleError as exc:
        _finish(sessions, fit_id, worker, error={"reason": exc.message, "field": exc.field})
        return
    except Exception as exc:  # a bug or a numerical failure: record it, never leave it running
        log.exception("fit %s failed", fit_id)
        _finish(sessions, fit_id, worker, error={"reason": failure_reason(exc)})
        return
    finally:
        stop.set()
    _finish(
        sessions,
        fit_id,
        worker,
        summary=_json_safe(result.summary((0.5, 0.9)).to_dict("records")),
        diagnostics=_json_safe(_diagnostics(result)),
        posterior=models.fit_to_bytes(result),
        n_observations=len(data),
        backtest=scores,
    )


def _diagnostics(result: models.Fit) -> dict[str, Any]:
    """Stored diagnostics; family auto's stacking report travels with them (no extra column)."""
    out = result.diagnostics.to_dict()
    if result.stacking is not None:
        out["stacking"] = result.stacking
    return out


def _finish(
    sessions: sessionmaker[Session],
    fit_id: str,
    worker: str,
    *,
    error: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    with sessions() as session, session.begin():
        session.execute(
            update(FitJob)
            .where(FitJob.id == fit_id, FitJob.status == "running", FitJob.worker == worker)
            .values(
                status="failed" if error else "succeeded",
                error=error,
                progress=1.0 if not error else FitJob.progress,
                finished_at=now(),
                **values,
            )
        )


def _heartbeat(
    sessions: sessionmaker[Session], fit_id: str, worker: str, stop: threading.Event, every: float
) -> None:
    while not stop.wait(every):
        try:
            with sessions() as session, session.begin():
                session.execute(
                    update(FitJob)
                    .where(FitJob.id == fit_id, FitJob.status == "running", FitJob.worker == worker)
                    .values(heartbeat_at=now())
                )
        except Exception:  # a database blip must not kill the fit; the next beat retries
            log.warning("heartbeat for fit %s failed", fit_id, exc_info=True)


def _progress_writer(sessions: sessionmaker[Session], fit_id: str) -> Callable[[float], None]:
    last = [0.0]

    def write(fraction: float) -> None:
        if time.monotonic() - last[0] < 1.0 and fraction < 1.0:
            return
        last[0] = time.monotonic()
        try:
            with sessions() as session, session.begin():
                session.execute(
                    update(FitJob).where(FitJob.id == fit_id).values(progress=round(fraction, 4))
                )
        except Exception:
            log.warning("progress for fit %s not written", fit_id, exc_info=True)

    return write


def _json_safe(value: Any) -> Any:
    """NaN/inf become null (JSON has no NaN; PostgreSQL's JSON type refuses it)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def work(
    sessions: sessionmaker[Session],
    *,
    lease_s: float,
    time_limit_s: float | None = None,
    stop: threading.Event | None = None,
    idle_s: float = 0.5,
) -> None:
    """Claim and run fits until ``stop`` is set (the loop of every in-process worker)."""
    me = worker_name()
    while stop is None or not stop.is_set():
        fit_id = claim(sessions, me, lease_s)
        if fit_id is None:
            time.sleep(idle_s)
            continue
        log.info("worker %s runs fit %s", me, fit_id)
        run(
            sessions,
            fit_id,
            worker=me,
            heartbeat_s=heartbeat_interval(lease_s),
            time_limit_s=time_limit_s,
        )


def failure_reason(exc: Exception, limit: int = 200) -> str:
    """One readable sentence for ``error.reason``: the message's first line, shortened.

    A sampler failure carries a Rust panic with its backtrace as the message; the whole of it
    is in the worker's log (``log.exception``), not in what the API shows.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else "no message"
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    return f"fit failed: {type(exc).__name__}: {first}"
