"""BNSL's 4-digit addition task (Caballero et al. 2022, Fig. 4 left): one break vs a power law.

Data: ``<data-dir>/bnsl_4digit_addition/4_digit_addition_test_ce_vs_dataset_size.csv``; the 14
``fit`` rows (training-set sizes 160-736) are fitted, the 3 ``extrapolate`` rows (800-928)
predicted. The loss sits on a plateau and then drops sharply near 550 examples, a shape one power
law cannot follow. Both families use their default priors, one group, the same sampler seed.
Reported per family: RMSE of log loss and mean absolute relative error of the posterior-median
prediction, coverage of the 50 % and 90 % new-run (and mean-curve) intervals on the held-out
points, and the convergence diagnostics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import diagnostics_record, header, table, timed, write_json

CSV = Path("bnsl_4digit_addition") / "4_digit_addition_test_ce_vs_dataset_size.csv"
MAPPING = {"data": "train_dataset_size", "loss": "test_cross_entropy"}
FAMILIES = (("broken_power_law", {"x": "data", "breaks": "1"}), ("power_law", {"x": "data"}))
PROBS = (0.5, 0.9)
SEED = 1


def load(data_dir: Path) -> tuple[Any, Any]:
    """The ``fit`` and ``extrapolate`` rows as two ``ScalingData``."""
    import models

    frame = pd.read_csv(data_dir / CSV)
    parts = [frame[frame["split"] == s].drop(columns="split") for s in ("fit", "extrapolate")]
    train, test = (models.ScalingData.from_frame(p, MAPPING) for p in parts)
    return train, test


def evaluate(
    train: Any, test: Any, family: str, options: dict[str, str], quick: bool
) -> dict[str, Any]:
    """Fit one family on the fit rows and score its predictions of the held-out rows."""
    import models

    settings = (
        models.SamplerSettings(draws=300, tune=300, chains=2, seed=SEED)
        if quick
        else models.SamplerSettings(seed=SEED)
    )
    fit, wall = timed(lambda: models.fit(train, family, family_options=options, settings=settings))
    pred = fit.predict({"data": test.inputs["data"]}, probs=PROBS)
    err = np.log(pred.median) - np.log(test.loss)
    coverage = {}
    for p in PROBS:
        for kind, intervals in (
            ("new_run", pred.new_run_interval),
            ("mean_curve", pred.mean_interval),
        ):
            lo, hi = intervals[p]
            coverage[f"{kind}_{round(p * 100)}"] = float(
                np.mean((test.loss >= lo) & (test.loss <= hi))
            )
    d = fit.diagnostics
    summary = fit.summary((0.9,))
    params = {
        str(r.parameter): {"median": r.median, "lo_90": r.lo_90, "hi_90": r.hi_90}
        for r in summary.itertuples()
    }
    return {
        "family": fit.family.key(),
        "wall_s": wall,
        "settings": {"draws": settings.draws, "tune": settings.tune, "chains": settings.chains},
        "rmse_log_loss": float(np.sqrt(np.mean(err**2))),
        "mean_abs_rel_error": float(np.mean(np.abs(pred.median / test.loss - 1))),
        "per_point": [
            {"data": float(x), "observed": float(y), "median": float(m), "region": r}
            for x, y, m, r in zip(
                test.inputs["data"], test.loss, pred.median, pred.region, strict=True
            )
        ],
        "coverage": coverage,
        "diagnostics": diagnostics_record(d),
        "params": params,
    }


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Fit both families, print the comparison and write ``bnsl_addition.json``."""
    print(header("bnsl_addition", quick), flush=True)
    train, test = load(data_dir)
    results = [evaluate(train, test, name, opts, quick) for name, opts in FAMILIES]
    result = {
        "mode": "quick" if quick else "full",
        "data": {"file": str(data_dir / CSV), "fit_rows": len(train), "held_out_rows": len(test)},
        "seed": SEED,
        "fits": results,
    }
    print(report(result))
    path = write_json(out_dir, "bnsl_addition", result)
    print(f"\nwrote {path}")
    return result


def report(result: dict[str, Any]) -> str:
    """The printed tables: extrapolation scores, then per-point medians."""
    rows = []
    for f in result["fits"]:
        c, d = f["coverage"], f["diagnostics"]
        rows.append(
            [
                f["family"],
                f["rmse_log_loss"],
                f["mean_abs_rel_error"],
                c["new_run_50"],
                c["new_run_90"],
                c["mean_curve_90"],
                d["r_hat_max"],
                d["ess_bulk_min"],
                d["divergences"],
                d["converged"],
                f["wall_s"],
            ]
        )
    headers = ["family", "RMSE log", "ARE", "cov50", "cov90", "mean cov90", "R-hat"]
    out = [
        table(
            [*headers, "ESS bulk", "div", "converged", "wall s"],
            rows,
            "\nFit 14 points (x <= 736), predict 3 (x = 800-928); new-run intervals",
        )
    ]
    points = [
        [p["data"], p["observed"], *(f["per_point"][i]["median"] for f in result["fits"])]
        for i, p in enumerate(result["fits"][0]["per_point"])
    ]
    names = [f["family"] for f in result["fits"]]
    out.append(table(["x", "observed", *names], points, "\nHeld-out medians"))
    warnings = {f["family"]: f["diagnostics"]["warnings"] for f in result["fits"]}
    out.append(f"warnings: {warnings}")
    return "\n".join(out)
