"""Empirical-Bayes prior of the extrapolation discrepancy's tau, from public studies.

For every benchmark task, on its *training rows only* (the held-out rows are never read), family
auto's leave-future-out machinery is run as a fit would run it: the candidate laws are refitted
below each cut and score the rows above. Per task and law this gives the log likelihood of tau
on :data:`models.discrepancy.TAU_GRID` as :func:`models.discrepancy.tau_posterior` scores it
(each group's rows above a cut sharing one discrepancy draw), and the law's stacking weight.
Across the public tasks (the simulated ``sim_`` ones are profiled and reported, not used), each
law's tau ~ LogNormal(m, s): (m, s) maximise the weighted marginal likelihood
``sum_t sum_k w_tk log sum_g exp(l_tk(tau_g)) N(log tau_g; m, s)`` (grid weights normalised).
The result is what ``models.discrepancy.TAU_PRIOR`` ships (BENCHMARKS.md, "Extrapolation
discrepancy prior"). Each finished task is written at once to ``discrepancy_prior-partial.json``;
``--from FILE`` refits the prior from such a file without refitting any law.

Run: ``python -m benchmarks.discrepancy_prior [--data-dir DIR] [--task NAME ...] [--from FILE]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import DEFAULT_DATA_DIR, DEFAULT_OUT_DIR, write_json
from benchmarks.tasks import TASKS


def task_profile(train: Any, pooling: str | None, seed: int = 1) -> dict[str, Any]:
    """Each candidate law's log likelihood of tau (on the grid) from leave-future-out in ``train``.

    Scored as a fit scores it (:func:`models.discrepancy.tau_posterior`: each group's rows above
    a cut share one discrepancy draw), with the stacking weight auto gives the law.
    """
    import models
    from models.auto import candidates, score_candidates
    from models.discrepancy import TAU_GRID, cut_log_density, log10_ranges, tau_posterior
    from models.lfo import axis_of, cuts
    from models.stacking import stacking_weights

    found, work, _ = candidates(train)
    splits = cuts(work, axis_of(work, list(train.inputs)))
    spec = models.FitSpec(
        family=models.AUTO, pooling=pooling, settings=models.SamplerSettings(seed=seed)
    )
    scored, skipped = score_candidates(found, work, splits, spec, measured=list(train.inputs))
    ranges = log10_ranges(work.inputs, list(train.inputs))
    # auto's weights, under the TAU_PRIOR shipped when this runs (the 2026-12-06 fit: the
    # previous prior's)
    per_row = np.vstack([tau_posterior(s.records, ranges)[1] for s in scored])
    weights = stacking_weights(per_row)
    laws = []
    for s, w in zip(scored, weights, strict=True):
        curve = sum(cut_log_density(r, TAU_GRID) for r in s.records)
        laws.append(
            {
                "law": s.candidate.label(),
                "weight": float(w),
                "loglik": [float(v) for v in curve],
                "tau_mle": float(TAU_GRID[int(np.argmax(curve))]),
            }
        )
    top = max(laws, key=lambda law: law["weight"])
    return {
        "laws": laws,
        "rows": int(per_row.shape[1]),
        "cuts": len(scored[0].records),
        "skipped": skipped,
        "tau_mle": top["tau_mle"],  # of the law with the largest weight
    }


# The search: m over the tau grid's range, s up to 6 (a first run's bound of 2.5 was hit).
M_GRID = np.linspace(np.log(1e-4), np.log(1.0), 185)
S_GRID = np.linspace(0.2, 6.0, 59)


def fit_prior(tasks: list[list[dict[str, Any]]]) -> dict[str, float]:
    """(m, s) of log tau ~ N(m, s) maximising the marginal likelihood over tasks (grid search).

    Every law of a task is an observation of tau, counted with its stacking weight: a fit gives
    each law its own tau, and a law auto gives no weight says nothing about the taus it uses.
    """
    from scipy import special

    from models.discrepancy import TAU_GRID

    log_tau = np.log(TAU_GRID)
    curves = np.array([law["loglik"] for laws in tasks for law in laws])
    weights = np.array([law["weight"] for laws in tasks for law in laws])
    best = (-np.inf, 0.0, 0.0)
    for m in M_GRID:
        for s in S_GRID:
            logw = -0.5 * ((log_tau - m) / s) ** 2
            logw -= special.logsumexp(logw)
            total = float(weights @ special.logsumexp(curves + logw, axis=1))
            if total > best[0]:
                best = (total, float(m), float(s))
    at_bound = best[2] == S_GRID[-1] or best[1] in (M_GRID[0], M_GRID[-1])
    return {
        "log_marginal": best[0],
        "mu": best[1],
        "sigma": best[2],
        "median": float(np.exp(best[1])),
        "at_search_bound": bool(at_bound),
    }


def public(name: str) -> bool:
    """The prior is fitted on public measurements only: not on the simulated ``sim_`` tasks."""
    return not name.startswith("sim_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--task", action="append", help="task name (repeatable; default all)")
    parser.add_argument("--from", dest="source", type=Path, help="a written JSON: refit only")
    args = parser.parse_args(argv)
    names = args.task or list(TASKS)
    tasks: dict[str, Any] = {}
    if args.source is not None:
        tasks = json.loads(args.source.read_text())["tasks"]
        names = []
    for name in names:
        start = time.perf_counter()
        try:
            task = TASKS[name][0](args.data_dir)
            tasks[name] = task_profile(task.train, task.pooling)
        except Exception as exc:  # a task that cannot be profiled is reported, not fatal
            tasks[name] = {"error": f"{type(exc).__name__}: {exc}"}
        tasks[name]["wall_s"] = round(time.perf_counter() - start, 1)
        laws = ", ".join(
            f"{law['law']} w {law['weight']:.2f} tau* {law['tau_mle']:.4f}"
            for law in tasks[name].get("laws", [])
        )
        print(f"{name}: {tasks[name].get('error') or laws} ({tasks[name]['wall_s']} s)", flush=True)
        write_json(args.out, "discrepancy_prior-partial", {"tasks": tasks})
    used = [t["laws"] for n, t in tasks.items() if "laws" in t and public(n)]
    prior = fit_prior(used) if used else {}
    print(f"prior: {prior}")
    write_json(args.out, "discrepancy_prior", {"tasks": tasks, "prior": prior})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
