"""Memory: resident set size of a fit worker over many successive fits.

A fresh Python process (:func:`worker_child`) runs what an in-process or Dramatiq worker runs
for every job (:func:`service.jobs.run`): load the observations from the database, fit, summarise,
serialise the posterior and store it, on its own SQLite file. Each fit gets a new dataset
(:func:`models.simulate.example_dataset` with another seed, the speed benchmark's structure), so
the compiled model is reused as in a long-lived worker. After each fit the child reads its
``VmRSS`` and ``VmHWM`` (peak) from ``/proc/self/status`` and prints one JSON line, which the
parent streams.

The bound (``--check``): RSS may grow by at most :data:`MAX_GROWTH_MB` from fit ``warmup`` to
the last fit, and its least-squares slope over those fits may be at most
:data:`MAX_SLOPE_MB_PER_FIT`. The first fits are excluded: the compile, imports and allocator
arenas reach their working size there. ``trace=True`` adds :mod:`tracemalloc` snapshots at the
first and last measured fits and reports the source lines whose Python allocations grew most
(to find a leak; it slows the worker).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    REPO_ROOT,
    Check,
    contention,
    contention_note,
    header,
    progress,
    table,
    write_json,
)

MAX_GROWTH_MB = 100.0
MAX_SLOPE_MB_PER_FIT = 2.0
_MARKER = "MEMORY_RECORD "


def full_settings() -> dict[str, Any]:
    """Sampler settings of the full run: the speed benchmark's (4 x (500 tune + 1000 draws)).

    Every fit does the same work (``max_draws`` and ``deeper_tree_depth`` None: no second run,
    longer or deeper), so RSS measures what a worker retains, not the size of the largest fit so
    far: with longer runs on, the
    quick run's fits that mixed slowly (6 of 16) sampled 2x the draws, the allocator's heap
    grew to their peak (643 -> 686 MB) and RSS followed it (slope 2.07 MB/fit over the window);
    with every fit the same size the slope was 0.06 MB/fit (CI gate of 2026-12-06).
    """
    return {
        "draws": 1000, "tune": 500, "chains": 4, "target_accept": 0.95, "seed": 1,
        "max_draws": None, "deeper_tree_depth": None,
    }  # fmt: skip


def quick_settings() -> dict[str, Any]:
    """Quick run: 4 chains x 500 draws (a posterior of the same shape, 2000 draws), 200 tune."""
    return {**full_settings(), "draws": 500, "tune": 200}


def read_status(path: Path = Path("/proc/self/status")) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of a process in MB, from ``/proc/<pid>/status``."""
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # kB
    return out


# -- the worker process ------------------------------------------------------------------------


def worker_child(n_fits: int, settings: dict[str, Any], db_dir: str, trace: bool = False) -> None:
    """Subprocess entry point: ``n_fits`` jobs through :func:`service.jobs.run`, RSS after each.

    Parameters
    ----------
    n_fits
        Number of successive fits.
    settings
        Sampler settings of every fit (``SamplerSpec`` fields).
    db_dir
        Directory for the SQLite database.
    trace
        Take :mod:`tracemalloc` snapshots after fit 2 and after the last fit and print the 10
        source lines whose allocations grew most.
    """
    for record in worker_fits(n_fits, settings, Path(db_dir), trace=trace):
        print(_MARKER + json.dumps(record), flush=True)


def worker_fits(
    n_fits: int, settings: dict[str, Any], db_dir: Path, *, trace: bool = False
) -> Iterator[dict[str, Any]]:
    """Run ``n_fits`` fit jobs the way a worker does; yield one record per fit."""
    import tracemalloc

    import models
    from models.simulate import example_dataset
    from service import fit_store, jobs, migrate, store
    from service.db import make_engine, session_factory, transaction
    from service.schemas import FitRequest
    from service.submissions import fit_spec
    from service.tables import FitJob

    engine = make_engine(f"sqlite:///{db_dir / 'memory.db'}")
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        project, _ = store.create_project(session, "memory")
    worker = jobs.worker_name()
    snapshot = None
    for i in range(1, n_fits + 1):
        rows = example_dataset(i).to_frame()
        with transaction(sessions) as session:
            dataset = store.create_dataset(session, project, f"runs-{i}", "")
            store.append_observations(
                session,
                dataset,
                [
                    {"params": r.params, "data": r.data, "loss": r.loss, "group": r.group}
                    for r in rows.itertuples()
                ],
                idempotency_key=None,
                request_digest=f"memory-{i}",
            )
            # the standard problem: one named law (auto would fit several and compile each)
            body = FitRequest.model_validate(
                {"dataset": dataset.name, "family": "chinchilla", "sampler": settings}
            )
            spec = fit_spec(body)
            filters = body.filters.model_dump()
            fit_id = fit_store.submit(session, project, dataset, spec, filters=filters).id
        start = time.perf_counter()
        claimed = jobs.claim(sessions, worker, lease_s=600, fit_id=fit_id)
        assert claimed == fit_id, f"fit {fit_id} was not claimable"
        jobs.run(sessions, fit_id, worker=worker)
        wall = time.perf_counter() - start
        with sessions() as session:
            job = session.get(FitJob, fit_id)
            assert job is not None
            status, error = job.status, job.error
        if trace and i == 2:
            tracemalloc.start(10)
            snapshot = tracemalloc.take_snapshot()
        record: dict[str, Any] = {
            "fit": i,
            "status": status,
            "error": error,
            "wall_s": wall,
            **read_status(),
            "gc_objects": len(gc.get_objects()),
            "compiles": models.COMPILE_CACHE.compiles,
        }
        if trace and snapshot is not None and i == n_fits:
            stats = tracemalloc.take_snapshot().compare_to(snapshot, "lineno")
            record["tracemalloc_top"] = [str(s) for s in stats[:10]]
        yield record


# -- parent ------------------------------------------------------------------------------------


def run_worker(
    n_fits: int, settings: dict[str, Any], *, trace: bool = False
) -> list[dict[str, Any]]:
    """Start :func:`worker_child` in a new interpreter and collect its per-fit records."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        call = f"worker_child({n_fits}, {settings!r}, {tmp!r}, trace={trace!r})"
        code = f"from benchmarks.memory import worker_child; {call}"
        records = []
        # stderr to a file: a pipe nobody drains while we stream stdout could fill and block
        with (
            open(Path(tmp) / "stderr.txt", "w+") as err,
            subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            ) as proc,
        ):
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(_MARKER):
                    record = json.loads(line[len(_MARKER) :])
                    records.append(record)
                    progress(
                        f"memory: fit {record['fit']}/{n_fits} {record['status']} in "
                        f"{record['wall_s']:.1f} s, RSS {record['VmRSS']:.0f} MB"
                    )
            proc.wait()
            err.seek(0)
            stderr = err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"memory worker exited with {proc.returncode}:\n{stderr[-3000:]}")
    return records


def growth(records: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    """Peak RSS, growth and slope of RSS over the fits from ``warmup`` on.

    Parameters
    ----------
    records
        Per-fit records (``fit``, ``VmRSS``, ``VmHWM`` in MB).
    warmup
        First fit of the measured window (1-based); earlier fits are excluded.

    Returns
    -------
    dict
        ``peak_rss_mb`` (VmHWM at the end), ``rss_first_mb``, ``rss_at_warmup_mb``,
        ``rss_last_mb``, ``growth_mb`` (last minus warmup), ``slope_mb_per_fit`` (least squares
        over the window; None with fewer than 2 fits) and the window.
    """
    window = [r for r in records if r["fit"] >= warmup]
    if not window:
        raise ValueError(f"warmup {warmup} leaves no fit of {len(records)} to measure")
    fits = np.array([r["fit"] for r in window], dtype=float)
    rss = np.array([r["VmRSS"] for r in window], dtype=float)
    slope = float(np.polyfit(fits, rss, 1)[0]) if len(window) >= 2 else None
    return {
        "window": [int(fits[0]), int(fits[-1])],
        "peak_rss_mb": max(r["VmHWM"] for r in records),
        "rss_first_mb": records[0]["VmRSS"],
        "rss_at_warmup_mb": float(rss[0]),
        "rss_last_mb": float(rss[-1]),
        "growth_mb": float(rss[-1] - rss[0]),
        "max_minus_warmup_mb": float(rss.max() - rss[0]),
        "slope_mb_per_fit": slope,
    }


def run(data_dir: Path, out_dir: Path, quick: bool, *, trace: bool = False) -> dict[str, Any]:
    """Run the memory benchmark, print its table and write ``memory.json``.

    Parameters
    ----------
    data_dir
        Unused (simulated data only).
    out_dir
        Where ``memory.json`` goes.
    quick
        16 fits with :func:`quick_settings` (window from fit 5: before, allocator arenas still
        settle and a 10-fit window from fit 3 measured noise, BENCHMARKS.md) instead of 50 with
        :func:`full_settings` (window from fit 5).
    trace
        Also report :mod:`tracemalloc`'s top growing allocation sites (slower).

    Returns
    -------
    dict
        The figures written to the JSON file.
    """
    del data_dir
    print(header("memory", quick), flush=True)
    n_fits, warmup = (16, 5) if quick else (50, 5)
    settings = quick_settings() if quick else full_settings()
    with contention() as busy:
        records = run_worker(n_fits, settings, trace=trace)
    result = {
        "mode": "quick" if quick else "full",
        "n_fits": n_fits,
        "warmup": warmup,
        "settings": settings,
        "summary": growth(records, warmup),
        "failed_fits": [r["fit"] for r in records if r["status"] != "succeeded"],
        "records": records,
        "contention": busy,
    }
    print(report(result))
    print(contention_note(busy))
    path = write_json(out_dir, "memory", result)
    print(f"\nwrote {path}")
    return result


def report(result: dict[str, Any]) -> str:
    """The printed tables: RSS after every fit, then the summary."""
    s = result["summary"]
    rows = [
        [r["fit"], r["status"], r["wall_s"], r["VmRSS"], r["VmHWM"], r["gc_objects"]]
        for r in result["records"]
    ]
    st = result["settings"]
    out = [
        table(
            ["fit", "status", "wall s", "RSS MB", "peak MB", "gc objects"],
            rows,
            f"Worker RSS after each fit (service.jobs.run; {st['chains']} chains x "
            f"({st['tune']} tune + {st['draws']} draws))",
        ),
        table(
            ["measure", "value"],
            [
                ["peak RSS (VmHWM) MB", s["peak_rss_mb"]],
                ["RSS after fit 1 MB", s["rss_first_mb"]],
                [f"RSS after fit {s['window'][0]} MB", s["rss_at_warmup_mb"]],
                [f"RSS after fit {s['window'][1]} MB", s["rss_last_mb"]],
                [f"growth fit {s['window'][0]} -> {s['window'][1]} MB", s["growth_mb"]],
                ["slope MB/fit (least squares over the window)", s["slope_mb_per_fit"]],
                ["failed fits", len(result["failed_fits"])],
            ],
            "\nSummary",
        ),
    ]
    top = result["records"][-1].get("tracemalloc_top")
    if top:
        out.append("\ntracemalloc, largest growth since fit 2:\n" + "\n".join(top))
    return "\n".join(out)


def checks(result: dict[str, Any], quick: bool) -> list[Check]:
    """RSS growth and slope bounds; every fit must succeed."""
    del quick
    s = result["summary"]
    window = f"fit {s['window'][0]} -> {s['window'][1]}"
    return [
        Check(
            "memory",
            f"RSS growth MB, {window}",
            s["growth_mb"],
            MAX_GROWTH_MB,
            why="a worker runs fits for days; retained posteriors would show here",
        ),
        Check(
            "memory",
            f"RSS slope MB/fit, {window}",
            s["slope_mb_per_fit"],
            MAX_SLOPE_MB_PER_FIT,
            why="2 MB per fit is 2 GB after 1000 fits: a leak to fix",
        ),
        Check("memory", "failed fits", float(len(result["failed_fits"])), 0.0),
    ]
