"""What the new defaults cost on the standard problem: Student-t vs Normal, auto vs one family.

The standard hierarchical problem of the speed benchmark (``example_dataset``: chinchilla, 4
groups x 25 runs, 4 x 1000 draws) is fitted, warm (every model compiled first, on another data
seed), side by side in one run for each data seed:

* ``chinchilla`` with the Normal likelihood (the previous default),
* ``chinchilla`` with Student-t (today's default likelihood),
* ``auto`` (today's default family: leave-future-out refits, stacking, full fits of the kept
  laws).

Reported per configuration: wall time, min bulk ESS, max R-hat, divergences, and the mean width
of the 90 % new-run interval at the fitted points (interpolation: what the robust likelihood
costs where the data are clean); and the ratio of auto's wall time to the single family's.

Run: ``python -m benchmarks defaults [--quick]`` (quick: one data seed, 2 x 500 draws).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import header, table, write_json

COMPILE_SEED = 100
DATA_SEEDS = (1, 2, 3)
CONFIGS: dict[str, dict[str, Any]] = {
    "chinchilla, normal": {"family": "chinchilla", "likelihood": "normal"},
    "chinchilla, student_t": {"family": "chinchilla", "likelihood": "student_t"},
    "auto (student_t)": {"family": "auto"},
}


def _settings(quick: bool) -> Any:
    import models

    if quick:
        return models.SamplerSettings(draws=500, tune=500, chains=2, seed=1)
    return models.SamplerSettings(seed=1)


def one(config: dict[str, Any], data: Any, settings: Any) -> dict[str, Any]:
    """Fit, time and summarise one configuration."""
    import models

    start = time.perf_counter()
    fit = models.fit(data, settings=settings, **config)
    wall = time.perf_counter() - start
    x = {n: data.inputs[n] for n in ("params", "data")}
    widths = []
    for g in data.groups:
        rows = data.group == g
        p = fit.predict({n: v[rows] for n, v in x.items()}, group=g, probs=(0.9,))
        lo, hi = p.new_run_interval[0.9]
        widths.append(np.log(hi / lo))
    d = fit.diagnostics
    out: dict[str, Any] = {
        "wall_s": wall,
        "ess_bulk_min": d.ess_bulk_min,
        "r_hat_max": d.r_hat_max,
        "divergences": d.divergences,
        "converged": d.converged,
        "width90_log": float(np.mean(np.concatenate(widths))),
    }
    if fit.stacking is not None:
        out["weights"] = {c["family"]: c["weight"] for c in fit.stacking["candidates"]}
    return out


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Every configuration on every data seed, warm; prints the table."""
    from models.simulate import example_dataset

    print(header("defaults", quick), flush=True)
    settings = _settings(quick)
    seeds = DATA_SEEDS[:1] if quick else DATA_SEEDS
    warmup = example_dataset(COMPILE_SEED)
    for config in CONFIGS.values():  # compile every model first: warm timings only
        one(config, warmup, settings)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    for seed in seeds:
        data = example_dataset(seed)
        for name, config in CONFIGS.items():
            rows[name].append(one(config, data, settings))
            print(f"  seed {seed} {name}: {rows[name][-1]['wall_s']:.1f} s", flush=True)
    summary = []
    for name, records in rows.items():
        summary.append(
            [
                name,
                float(np.median([r["wall_s"] for r in records])),
                min(r["ess_bulk_min"] for r in records),
                max(r["r_hat_max"] for r in records),
                sum(r["divergences"] for r in records),
                float(np.mean([r["width90_log"] for r in records])),
            ]
        )
    single = np.array([r["wall_s"] for r in rows["chinchilla, student_t"]])
    auto = np.array([r["wall_s"] for r in rows["auto (student_t)"]])
    ratio = float(np.median(auto / single))
    print(
        table(
            ["configuration", "wall s (median)", "min ESS", "max R-hat", "divergences", "width90"],
            summary,
            "\nstandard problem, warm, side by side",
        )
    )
    print(f"\nauto / single-family wall time (median over seeds): {ratio:.2f}")
    result = {"rows": rows, "auto_over_single": ratio, "settings": settings.to_dict()}
    write_json(out_dir, "defaults", result)
    return result
