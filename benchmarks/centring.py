"""Partial centring by rows per group (``models.centring``) against the two fixed forms.

The standard problem's four architectures (``chinchilla``, every parameter partially pooled) at
a growing number of rows per architecture, each fit three times: every pooled parameter
non-centred (``lambda = 0``), centred (``lambda = 1``), and with the per-group ``lambda`` that
``models.centring.choose`` picks (the library default). Library default sampler settings
(Student-t, 4 chains x (1000 tune + 1000 draws)); the structure is compiled before the timings
(one compiled model serves all three forms: ``lambda`` is data). Reported per fit: leapfrog
steps per draw (independent of the machine's load), max R-hat, min bulk ESS, divergences,
converged, wall time, and the chosen ``lambda``'s range.

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

FORMS = ("non-centred", "centred", "chosen")
ROWS = {"quick": (100, 500), "full": (100, 250, 500, 1000, 2500)}
SEEDS = {"quick": (1,), "full": (1, 2)}
FIXED = {"non-centred": 0.0, "centred": 1.0}


@contextmanager
def forced(form: str) -> Iterator[None]:
    """Every fit in the block samples its pooled parameters in ``form``.

    ``non-centred``/``centred`` replace ``models.centring.choose`` (where
    ``models.sampling`` calls it) by a constant ``lambda``; ``chosen`` leaves it alone.
    """
    import models.centring

    choose = models.centring.choose
    if form in FIXED:

        def constant(density: Any, layout: Any, pooled: Any, prior: Any, seed: int) -> Any:
            return {
                name: np.full(len(layout.indices(f"{b.name}_raw")) // len(b.params), FIXED[form])
                for b in pooled
                for name in b.params
            }

        models.centring.choose = constant
    try:
        yield
    finally:
        models.centring.choose = choose


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
        "lambda_range": _lambda_range(fit.diagnostics.centring),
        "wall_s": wall,
        "steps_per_draw": steps_per_draw(fit),
        "r_hat_max": d.r_hat_max,
        "ess_bulk_min": d.ess_bulk_min,
        "divergences": d.divergences,
        "converged": d.converged,
    }


def _lambda_range(centring: dict[str, list[float]] | None) -> list[float] | None:
    """Smallest and largest lambda over pooled parameters and groups."""
    if not centring:
        return None
    values = [v for lam in centring.values() for v in lam]
    return [min(values), max(values)]


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Every (rows, seed, form) fit; prints the table, writes ``centring.json``."""
    import models
    from models.simulate import example_dataset

    mode = "quick" if quick else "full"
    print(header("centring", quick), flush=True)
    models.fit(  # compile outside the timings: every form is the same structure
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
        "lambda range",
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
            "-" if not f.get("lambda_range") else "{:.2f}-{:.2f}".format(*f["lambda_range"]),
            f["wall_s"],
        ]
        for f in result["fits"]
    ]
    return table(headers, rows, title="Partial centring by rows per group")
