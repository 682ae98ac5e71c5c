"""10⁵ rows: a fit of training-run trajectories, thinned by default and with every row.

Issue 18 asks for a documented figure at 10⁵ rows. The rows that reach that size in practice are
checkpoints: 100 runs of one configuration logged 1,000 times each. They are simulated here with
:func:`models.simulate.simulate_runs` (``power_law`` over steps, every run shifted on log loss by
its own offset, checkpoints log-spaced from 10² to 10⁵ steps) and fitted twice with the library
defaults (Student-t, 4 × (1000 tune + 1000 draws), the run model):

* **thinned** (the default ``max_per_run`` = 30: ten log-spaced checkpoints per decade per run,
  :mod:`models.runs`): 3,000 rows are fitted;
* **every row** (``max_per_run=None``): all 10⁵.

Both are warm: the model is compiled first on a small dataset of the same structure. Reported per
case: rows fitted, wall time, leapfrog steps per draw, R-hat, bulk ESS, divergences, whether it
converged and which reruns it took, the run-offset scale recovered against the simulated one,
and the process's peak resident memory.
Quick mode (CI-sized): 10 runs × 1,000 checkpoints (10⁴ rows), 2 × (300 + 300) draws.

Run: ``python -m benchmarks large [--quick]``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    contention,
    contention_note,
    header,
    sampler_stats,
    table,
    write_json,
)
from benchmarks.memory import read_status

FAMILY, X = "power_law", "steps"
TRUTH = {"E": 2.0, "A": 20.0, "alpha": 0.4}
SIGMA_RUN, NOISE = 0.05, 0.005
CHECKPOINTS = 1_000
RUNS = {"full": 100, "quick": 10}
TIME_LIMIT_S = 3_600.0
CASES: dict[str, int | None] = {"thinned (max_per_run 30)": 30, "every row": None}
# Diagnostics fields that record a second run (models.extension), by the name the table shows
RERUN_RECORDS = {
    "non_centred": "non_centred",
    "deeper": "deeper_tree",
    "careful": "smaller_steps",
    "extension": "longer_run",
}


def trajectories(n_runs: int, checkpoints: int = CHECKPOINTS, seed: int = 0) -> Any:
    """``n_runs`` simulated runs of ``checkpoints`` log-spaced checkpoints each."""
    import models
    from models.simulate import simulate_runs

    law = models.get_family(FAMILY, x=X)
    steps = {"steps": np.geomspace(1e2, 1e5, checkpoints)}
    data, _ = simulate_runs(
        law, TRUTH, steps, n_runs=n_runs, sigma_run=SIGMA_RUN, noise=NOISE, seed=seed
    )
    return data


def _settings(quick: bool) -> Any:
    import models

    if quick:
        return models.SamplerSettings(draws=300, tune=300, chains=2, seed=1)
    return models.SamplerSettings(seed=1)


def one(data: Any, max_per_run: int | None, settings: Any) -> dict[str, Any]:
    """Fit and summarise one case (a fit that raises is a row with its error)."""
    import models

    start = time.perf_counter()
    try:
        fit = models.fit(
            data,
            FAMILY,
            family_options={"x": X},
            max_per_run=max_per_run,
            settings=settings,
            time_limit_s=TIME_LIMIT_S,
        )
    except models.BayescaleError as exc:
        return {"error": str(exc), "wall_s": time.perf_counter() - start}
    wall = time.perf_counter() - start
    d = fit.diagnostics
    draws = fit.draws
    sigma_run = float(np.median(draws["sigma_run"])) if "sigma_run" in draws else None
    return {
        "rows": len(fit.data),
        "wall_s": wall,
        "steps_per_draw": sampler_stats(fit.trace).get("mean_leapfrog_steps"),
        "r_hat_max": d.r_hat_max,
        "ess_bulk_min": d.ess_bulk_min,
        "divergences": d.divergences,
        "converged": d.converged,
        "reruns": [name for field, name in RERUN_RECORDS.items() if getattr(d, field)],
        "sigma_run_median": sigma_run,
        # the process's peak RSS so far (thinned runs first, so the whole fit's is its own)
        "peak_rss_mb": read_status().get("VmHWM"),
    }


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Both cases, warm; prints the table."""
    print(header("large", quick), flush=True)
    settings = _settings(quick)
    n_runs = RUNS["quick" if quick else "full"]
    one(trajectories(4, checkpoints=40, seed=100), None, settings)  # compile: warm timings
    data = trajectories(n_runs, checkpoints=CHECKPOINTS)
    rows: dict[str, dict[str, Any]] = {}
    with contention() as busy:
        for name, max_per_run in CASES.items():
            rows[name] = one(data, max_per_run, settings)
            print(f"  {name}: {rows[name]['wall_s']:.1f} s", flush=True)
    headers = [
        "case", "rows fitted", "wall s", "steps/draw", "R-hat", "min ESS", "div", "converged",
        "reruns", "sigma_run (true 0.05)", "peak RSS MB",
    ]  # fmt: skip
    body = [
        [
            name,
            r.get("rows"),
            r["wall_s"],
            r.get("steps_per_draw"),
            r.get("r_hat_max"),
            r.get("ess_bulk_min"),
            r.get("divergences"),
            r.get("converged", r.get("error")),
            ", ".join(r.get("reruns", [])),
            r.get("sigma_run_median"),
            r.get("peak_rss_mb"),
        ]
        for name, r in rows.items()
    ]
    title = f"\n{n_runs} runs x {CHECKPOINTS} checkpoints ({n_runs * CHECKPOINTS} rows), warm"
    print(table(headers, body, title))
    print(contention_note(busy))
    result = {
        "runs": n_runs,
        "checkpoints": CHECKPOINTS,
        "rows": rows,
        "settings": settings.to_dict(),
        "contention": dict(busy),
    }
    write_json(out_dir, "large", result)
    return result
