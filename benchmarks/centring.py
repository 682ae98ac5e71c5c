"""Centred or non-centred hierarchy by rows per group (``models.config.centred_for``).

The standard problem's four architectures (``chinchilla``, every parameter partially pooled) at
a growing number of rows per architecture, each fit twice: partially pooled parameters sampled
non-centred (``theta_g = inv_link(mu + sigma * offset_g)``) and centred (``theta_link_g ~
Normal(mu, sigma)``), whatever ``models.config.CENTRED_MIN_ROWS`` would choose. Library default
sampler settings (Student-t, 4 chains x (1000 tune + 1000 draws)); every structure is compiled
before the timings. Reported per fit: leapfrog steps per draw (independent of the machine's
load), max R-hat, min bulk ESS, divergences, converged, wall time.

Full mode: 100, 250, 500, 1000 and 2500 rows per architecture, data seeds 1 and 2 (the
non-centred 2,500-row fits take tens of minutes each: run by hand). Quick: 100 and 500, seed 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import contention, contention_note, header, progress, table, write_json

FORMS = ("non-centred", "centred")
ROWS = {"quick": (100, 500), "full": (100, 250, 500, 1000, 2500)}
SEEDS = {"quick": (1,), "full": (1, 2)}


# The rule models.fitting.fit applies (models.config.centred_for), replaced inside `forced`.
RULE = "centred_for"


@contextmanager
def forced(form: str) -> Iterator[None]:
    """Every fit in the block samples its pooled parameters in ``form``, whatever the rows."""
    import models.fitting

    rule = getattr(models.fitting, RULE)
    setattr(models.fitting, RULE, lambda rows: form == "centred")
    try:
        yield
    finally:
        setattr(models.fitting, RULE, rule)


def steps_per_draw(fit: Any) -> float:
    """Mean leapfrog steps per draw over every chain."""
    return float(np.mean(fit.trace["sample_stats"]["n_steps"].values))


def one_fit(rows_per_group: int, seed: int, form: str) -> dict[str, Any]:
    """Fit the standard problem at ``rows_per_group`` in ``form``; its record."""
    import models
    from benchmarks.common import timed
    from models.simulate import example_dataset

    data = example_dataset(seed, points_per_group=rows_per_group)
    with forced(form):
        fit, wall = timed(lambda: models.fit(data, "chinchilla"))
    d = fit.diagnostics
    return {
        "rows_per_group": rows_per_group,
        "seed": seed,
        "form": form,
        "centred": fit.config.centred,
        "wall_s": wall,
        "steps_per_draw": steps_per_draw(fit),
        "r_hat_max": d.r_hat_max,
        "ess_bulk_min": d.ess_bulk_min,
        "divergences": d.divergences,
        "converged": d.converged,
    }


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Every (rows, seed, form) fit; prints the table, writes ``centring.json``."""
    import models
    from models.simulate import example_dataset

    mode = "quick" if quick else "full"
    print(header("centring", quick), flush=True)
    for form in FORMS:  # compile both structures outside the timings
        with forced(form):
            models.fit(
                example_dataset(0, points_per_group=25),
                "chinchilla",
                settings=models.SamplerSettings(draws=10, tune=10, chains=1),
            )
    fits = []
    with contention() as busy:
        for n in ROWS[mode]:
            for seed in SEEDS[mode]:
                for form in FORMS:
                    progress(f"centring: {n} rows per group, seed {seed}, {form}")
                    fits.append(one_fit(n, seed, form))
    result = {"mode": mode, "fits": fits, "contention": busy}
    print(report(result))
    print(contention_note(busy))
    print(f"\nwrote {write_json(out_dir, 'centring', result)}")
    return result


def report(result: dict[str, Any]) -> str:
    """One row per fit."""
    headers = [
        "rows/group",
        "seed",
        "form",
        "steps/draw",
        "max R-hat",
        "min bulk ESS",
        "div",
        "converged",
        "wall s",
    ]
    rows = [
        [
            f["rows_per_group"],
            f["seed"],
            f["form"],
            f["steps_per_draw"],
            f["r_hat_max"],
            f["ess_bulk_min"],
            f["divergences"],
            "yes" if f["converged"] else "no",
            f["wall_s"],
        ]
        for f in result["fits"]
    ]
    return table(headers, rows, title="Centred or non-centred by rows per group")
