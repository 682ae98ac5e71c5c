"""Chain initialisation: nutpie's jittered start against ``multistart`` (``models.multistart``).

Two problems, every fit twice (``init="jitter"`` and ``init="multistart"``, same seed):

* ``sim_scale_time`` — the extrapolation benchmark's simulated scale-time fit split (sizes
  1e5-1e7 x 20 times, 2 % noise), which has a local optimum ~26 nats below the main one;
  sampler seeds 1-4 (quick: 1-2).
* ``standard`` — the speed benchmark's hierarchical ``chinchilla`` problem (4 architectures x 25
  points, one optimum basin); data seeds 1-3 (quick: 1).

Sampler: the speed benchmark's settings (4 chains x (500 tune + 1000 draws)). A chain is
**trapped** when its mean log density is more than ``KEEP_NATS`` below the best chain's: it sits
in another mode. Reported per fit: trapped chains, max R-hat, min bulk ESS, divergences, wall
time, and multistart's report (optima found, chains moved, search time); for ``standard``,
whether both inits gave the same draws (multistart moves no chain there, so it must).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    Check,
    contention,
    contention_note,
    header,
    progress,
    table,
    timed,
    write_json,
)

INITS = ("jitter", "multistart")


def problems(data_dir: Path, quick: bool) -> list[tuple[str, Any, str, int, int]]:
    """(problem, data, family, data seed, sampler seed) for every fit pair."""
    from benchmarks.scaling import observations_dataset
    from benchmarks.tasks import sim_scale_time

    scale_time = sim_scale_time(data_dir).train
    seeds = (1, 2) if quick else (1, 2, 3, 4)
    out = [("sim_scale_time", scale_time, "scale_time", 12, s) for s in seeds]
    for seed in (1,) if quick else (1, 2, 3):
        out.append(("standard", observations_dataset(100, seed), "chinchilla", seed, 1))
    return out


def trapped_chains(fit: Any) -> int:
    """Chains whose mean log density is more than KEEP_NATS below the best chain's."""
    from models.multistart import KEEP_NATS

    logp = fit.trace["sample_stats"]["logp"].values.mean(axis=1)
    return int(np.sum(logp < logp.max() - KEEP_NATS))


def fit_pair(data: Any, family: str, seed: int) -> dict[str, Any]:
    """Both inits on one problem; records and whether the draws are identical."""
    import models
    from benchmarks.speed import default_settings

    records: dict[str, Any] = {}
    draws = {}
    for init in INITS:
        settings = default_settings().with_(seed=seed, init=init)
        fit, wall = timed(lambda s=settings: models.fit(data, family, settings=s))
        d = fit.diagnostics
        records[init] = {
            "wall_s": wall,
            "trapped_chains": trapped_chains(fit),
            "r_hat_max": d.r_hat_max,
            "ess_bulk_min": d.ess_bulk_min,
            "divergences": d.divergences,
            "init": d.init,
        }
        draws[init] = fit.trace["posterior"].to_dataset()
    records["same_draws"] = bool(draws["jitter"].equals(draws["multistart"]))
    return records


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Run every pair, print the table, write ``init.json``."""
    import models

    print(header("init", quick), flush=True)
    rows = []
    cases = problems(data_dir, quick)
    # Compile every family outside the timings (the first fit of each would carry it).
    warmup = models.SamplerSettings(draws=10, tune=10, chains=1)
    for family, data in {family: data for _, data, family, _, _ in cases}.items():
        models.fit(data, family, settings=warmup)
    with contention() as busy:
        for problem, data, family, data_seed, sampler_seed in cases:
            progress(f"init: {problem}, data seed {data_seed}, sampler seed {sampler_seed}")
            pair = fit_pair(data, family, sampler_seed)
            rows.append({"problem": problem, "data_seed": data_seed, "seed": sampler_seed} | pair)
    result = {"mode": "quick" if quick else "full", "fits": rows, "contention": busy}
    print(report(result))
    print(contention_note(busy))
    print(f"\nwrote {write_json(out_dir, 'init', result)}")
    return result


def report(result: dict[str, Any]) -> str:
    """One row per fit and init."""
    lines = []
    for r in result["fits"]:
        for init in INITS:
            f = r[init]
            found = f["init"] or {}
            optima = found.get("optima")
            lines.append(
                [
                    r["problem"],
                    r["data_seed"],
                    r["seed"],
                    init,
                    f["trapped_chains"],
                    f["r_hat_max"],
                    f["ess_bulk_min"],
                    f["divergences"],
                    f["wall_s"],
                    "-" if optima is None else " / ".join(f"{v:.1f}" for v in optima[:3]),
                    found.get("moved", "-"),
                    found.get("seconds", "-"),
                    "yes" if r["same_draws"] else "no",
                ]
            )
    headers = [
        "problem",
        "data seed",
        "seed",
        "init",
        "trapped chains",
        "max R-hat",
        "min bulk ESS",
        "div",
        "wall s",
        "optima (best 3)",
        "moved",
        "search s",
        "same draws",
    ]
    return table(headers, lines, "\nChain initialisation")


def checks(result: dict[str, Any], quick: bool) -> list[Check]:
    """Multistart traps no chain on the scale-time task and leaves the standard draws alone."""
    del quick
    fits = result["fits"]
    trapped = [r["multistart"]["trapped_chains"] for r in fits if r["problem"] == "sim_scale_time"]
    same = [r["same_draws"] for r in fits if r["problem"] == "standard"]
    return [
        Check(
            "init",
            "sim_scale_time: chains trapped in the minor mode (multistart)",
            float(sum(trapped)) if trapped else None,
            0.0,
            why="the minor mode 26 nats down must hold no chain",
        ),
        Check(
            "init",
            "standard problem: fits whose draws differ from jitter's",
            float(sum(not s for s in same)) if same else None,
            0.0,
            why="no chain is trapped there, so multistart must not move any",
        ),
    ]
