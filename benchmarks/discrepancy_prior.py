"""Empirical-Bayes prior of the extrapolation discrepancy's tau, from public studies.

For every benchmark task, on its *training rows only* (the held-out rows are never read), family
auto's leave-future-out machinery is run as a fit would run it: the candidate laws are refitted
below each cut and score the rows above. Per task this gives a profile log-likelihood of tau on
:data:`models.discrepancy.TAU_GRID`: each candidate's log likelihood of tau as
:func:`models.discrepancy.tau_posterior` scores it (each group's rows above a cut sharing one
discrepancy draw), averaged over the candidates with the weights auto stacks them by at that
tau (row by row).
Across the public tasks (the simulated ``sim_`` ones are profiled and reported, not used), log
tau_t ~ Normal(m, s): (m, s) maximise the marginal likelihood
``sum_t log sum_g exp(l_t(tau_g)) N(log tau_g; m, s)`` (grid weights normalised). The result is
what ``models.discrepancy.TAU_PRIOR`` ships (BENCHMARKS.md, "Extrapolation discrepancy prior").

Run: ``python -m benchmarks.discrepancy_prior [--data-dir DIR] [--task NAME ...]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import DEFAULT_DATA_DIR, DEFAULT_OUT_DIR, write_json
from benchmarks.tasks import TASKS


def task_profile(train: Any, pooling: str | None, seed: int = 1) -> dict[str, Any]:
    """Profile log-likelihood of tau (on the grid) from leave-future-out within ``train``."""
    import models
    from models.auto import candidates, score_candidates
    from models.discrepancy import TAU_GRID, cut_log_density, point_log_density
    from models.lfo import axis_of, cuts
    from models.stacking import stacking_weights

    found, work, _ = candidates(train)
    splits = cuts(work, axis_of(work, list(train.inputs)))
    spec = models.FitSpec(
        family=models.AUTO, pooling=pooling, settings=models.SamplerSettings(seed=seed)
    )
    scored, skipped = score_candidates(found, work, splits, spec, measured=list(train.inputs))
    # (K, G, n): each candidate's log density of every held-out row at every tau (stacking)
    lp = np.stack(
        [
            np.concatenate([point_log_density(r, TAU_GRID) for r in s.records], axis=1)
            for s in scored
        ]
    )
    # (K, G): each candidate's log likelihood of tau, every cut's rows scored jointly (one eta
    # per group and cut), as its posterior in a fit scores them (tau_posterior)
    joint = np.stack([sum(cut_log_density(r, TAU_GRID) for r in s.records) for s in scored])
    # Each law has its own tau in a fit; the task's profile averages the laws' log likelihoods
    # by their stacking weights at that tau. (A mixture of the joint densities instead would be
    # ruled by whichever law fits best after a free shift, whatever its weight: hundreds of rows
    # separate laws by hundreds of nats.)
    profile = np.empty(len(TAU_GRID))
    for g in range(len(TAU_GRID)):
        w = stacking_weights(lp[:, g, :], iterations=500)
        profile[g] = float(w @ joint[:, g])
    return {
        "profile": profile.tolist(),
        "rows": int(lp.shape[2]),
        "cuts": len(scored[0].records),
        "candidates": [s.candidate.family.key() for s in scored],
        "skipped": skipped,
        "tau_mle": float(TAU_GRID[int(np.argmax(profile))]),
    }


# The search: m over the tau grid's range, s up to 6 (a first run's bound of 2.5 was hit).
M_GRID = np.linspace(np.log(1e-4), np.log(1.0), 185)
S_GRID = np.linspace(0.2, 6.0, 59)


def fit_prior(profiles: list[np.ndarray]) -> dict[str, float]:
    """(m, s) of log tau ~ N(m, s) maximising the marginal likelihood over tasks (grid search)."""
    from scipy import special

    from models.discrepancy import TAU_GRID

    log_tau = np.log(TAU_GRID)
    best = (-np.inf, 0.0, 0.0)
    for m in M_GRID:
        for s in S_GRID:
            logw = -0.5 * ((log_tau - m) / s) ** 2
            logw -= special.logsumexp(logw)
            total = sum(float(special.logsumexp(p + logw)) for p in profiles)
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
    args = parser.parse_args(argv)
    names = args.task or list(TASKS)
    tasks: dict[str, Any] = {}
    for name in names:
        start = time.perf_counter()
        try:
            task = TASKS[name][0](args.data_dir)
            tasks[name] = task_profile(task.train, task.pooling)
        except Exception as exc:  # a task that cannot be profiled is reported, not fatal
            tasks[name] = {"error": f"{type(exc).__name__}: {exc}"}
        tasks[name]["wall_s"] = round(time.perf_counter() - start, 1)
        note = tasks[name].get("error") or f"tau MLE {tasks[name]['tau_mle']:.4f}"
        print(f"{name}: {note} ({tasks[name]['wall_s']} s)", flush=True)
    profiles = [np.asarray(t["profile"]) for n, t in tasks.items() if "profile" in t and public(n)]
    prior = fit_prior(profiles) if profiles else {}
    print(f"prior: {prior}")
    write_json(args.out, "discrepancy_prior", {"tasks": tasks, "prior": prior})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
