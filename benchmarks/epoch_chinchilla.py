"""Epoch AI's Chinchilla replication (Besiroglu et al. 2024) with a Bayesian chinchilla fit.

Data: ``<data-dir>/epoch_chinchilla/svg_extracted_data.csv`` (Chinchilla Fig. 4, digitised).
D = C / (6 N); the 5 highest-loss points are dropped as Epoch did. One group, default priors,
fixed seed. The posterior medians are checked against Epoch's 95 % bootstrap intervals, and a
fit-small/predict-large split checks extrapolation to the largest-compute runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    contention,
    contention_note,
    diagnostics_record,
    header,
    sampler_stats,
    table,
    timed,
    write_json,
)

CSV = Path("epoch_chinchilla") / "svg_extracted_data.csv"
MAPPING = {"params": "Model Size", "compute": "Training FLOP"}
N_OUTLIERS = 5
SPLIT_COMPUTE = 1e21
CHINCHILLA_BUDGET = 5.76e23  # Gopher/Chinchilla training compute (Hoffmann et al. 2022)
SEED = 1
CHECK_SEEDS = (2, 3)  # full mode: is the normal fit's verdict stable across sampler seeds?
PARAMS = ("E", "A", "B", "alpha", "beta", "a")
# Epoch's 95 % bootstrap CIs and point estimates (data_analysis.ipynb, /work/shared/data/README.md)
EPOCH_CI = {
    "E": (1.769, 1.871),
    "A": (285.2, 743.6),
    "B": (1042.4, 5810.3),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}
EPOCH_ESTIMATE = {
    "E": 1.8169,
    "A": 482.01,
    "B": 2085.43,
    "alpha": 0.3478,
    "beta": 0.3659,
    "a": 0.513,
}
MUST_CONTAIN = ("E", "alpha", "beta")


def load(data_dir: Path) -> tuple[Any, pd.DataFrame]:
    """Epoch's points without the 5 highest-loss outliers, as ``ScalingData`` and a frame."""
    import models

    frame = pd.read_csv(data_dir / CSV)
    kept = frame.drop(index=frame["loss"].nlargest(N_OUTLIERS).index).reset_index(drop=True)
    data = models.ScalingData.from_frame(kept, MAPPING, flops_per_param_token=6)
    return data, kept


def fit_once(data: Any, likelihood: str, seed: int = SEED) -> tuple[Any, float, bool]:
    """Single-group chinchilla, default priors and settings; returns fit, seconds, compiled?"""
    import models

    settings = models.SamplerSettings(seed=seed)
    before = models.COMPILE_CACHE.compiles
    fit, wall = timed(
        lambda: models.fit(data, "chinchilla", likelihood=likelihood, settings=settings)
    )
    return fit, wall, models.COMPILE_CACHE.compiles > before


def replication(fit: Any, wall: float, compiled: bool, likelihood: str) -> dict[str, Any]:
    """Posterior medians and 95 % intervals against Epoch's CIs, diagnostics, acceptance."""
    summary = fit.summary(probs=(0.95,)).set_index("parameter")
    params = {}
    for name in PARAMS:
        row = summary.loc[name]
        ci = EPOCH_CI.get(name)
        median = float(row["median"])
        params[name] = {
            "median": median,
            "lo_95": float(row["lo_95"]),
            "hi_95": float(row["hi_95"]),
            "epoch_estimate": EPOCH_ESTIMATE[name],
            "epoch_ci_95": ci,
            "median_in_epoch_ci": None if ci is None else bool(ci[0] <= median <= ci[1]),
        }
    d = fit.diagnostics
    diagnostics = diagnostics_record(d, "pareto_k_bad")
    checks = {
        "r_hat_le_1.01": d.r_hat_max <= 1.01,
        "no_divergences": d.divergences == 0,
        **{f"{n}_median_in_ci": params[n]["median_in_epoch_ci"] for n in MUST_CONTAIN},
    }
    noise = summary[summary["kind"] == "noise"]["median"].to_dict()
    return {
        "allocation": allocation(fit),
        "likelihood": likelihood,
        "n_points": len(fit.data),
        "wall_s": wall,
        "compiled": compiled,
        "settings": fit.settings.to_dict(),
        "sampler": sampler_stats(fit.trace),
        "params": params,
        "noise_median": {str(k): float(v) for k, v in noise.items()},
        "diagnostics": diagnostics,
        "checks": checks,
        "accepted": all(checks.values()),
    }


def allocation(fit: Any) -> dict[str, Any]:
    """Compute-optimal allocation at Chinchilla's budget: a = β/(α+β), N*, D*, L* (90 %)."""
    import models

    plan = models.compute_optimal(fit, CHINCHILLA_BUDGET, probs=(0.9,)).to_dict()
    budget = plan["budgets"][0]

    def interval(d: dict[str, Any]) -> dict[str, Any]:
        return {
            "median": d["median"],
            "lo_90": d["interval"]["90"][0],
            "hi_90": d["interval"]["90"][1],
        }

    return {
        "budget_flops": CHINCHILLA_BUDGET,
        "a": interval(plan["exponents"]["a"]),
        "b": interval(plan["exponents"]["b"]),
        "params": interval(budget["params"]),
        "data": interval(budget["data"]),
        "loss": interval(budget["loss"]),
        "expected_optimal_params": budget["expected_optimal"]["params"],
        "point_estimate_params": budget["point_estimate"]["params"],
        "regret": budget["regret"],
    }


def split(data: Any, likelihood: str) -> dict[str, Any]:
    """Fit on C <= 1e21, predict the held-out larger runs: RMSE of log loss, coverage."""
    small = np.asarray(data.inputs["compute"] <= SPLIT_COMPUTE)
    train, test = data.subset(small), data.subset(~small)
    fit, wall, compiled = fit_once(train, likelihood)
    pred = fit.predict({"params": test.inputs["params"], "data": test.inputs["data"]})
    err = np.log(pred.median) - np.log(test.loss)
    coverage = {}
    for p in pred.probs:
        lo, hi = pred.new_run_interval[p]
        coverage[f"new_run_{round(p * 100)}"] = float(
            np.mean((test.loss >= lo) & (test.loss <= hi))
        )
        lo, hi = pred.mean_interval[p]
        coverage[f"mean_curve_{round(p * 100)}"] = float(
            np.mean((test.loss >= lo) & (test.loss <= hi))
        )
    return {
        "likelihood": likelihood,
        "train_points": len(train),
        "test_points": len(test),
        "test_compute_range": [
            float(test.inputs["compute"].min()),
            float(test.inputs["compute"].max()),
        ],
        "wall_s": wall,
        "compiled": compiled,
        "r_hat_max": fit.diagnostics.r_hat_max,
        "divergences": fit.diagnostics.divergences,
        "converged": fit.diagnostics.converged,
        "rmse_log_loss": float(np.sqrt(np.mean(err**2))),
        "mean_log_error": float(np.mean(err)),
        "max_abs_log_error": float(np.max(np.abs(err))),
        "coverage": coverage,
        "extrapolation_points": int(sum(r == "extrapolation" for r in pred.region)),
    }


def seed_check(data: Any, seed: int) -> dict[str, Any]:
    """The normal fit with another sampler seed: medians of E, alpha, beta and the verdict."""
    rep = replication(*fit_once(data, "normal", seed), "normal")
    return {
        "seed": seed,
        "medians": {n: rep["params"][n]["median"] for n in MUST_CONTAIN},
        "r_hat_max": rep["diagnostics"]["r_hat_max"],
        "divergences": rep["diagnostics"]["divergences"],
        "accepted": rep["accepted"],
    }


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Run the replication and the split, print tables and write ``epoch_chinchilla.json``.

    Parameters
    ----------
    data_dir
        Folder holding ``epoch_chinchilla/svg_extracted_data.csv``.
    out_dir
        Where ``epoch_chinchilla.json`` goes.
    quick
        Skip the ``student_t`` fit (unless the normal fit fails acceptance) and the seed check.
        In full mode the normal likelihood, ``student_t`` and two more sampler seeds run.

    Returns
    -------
    dict
        The figures written to the JSON file.
    """
    print(header("epoch_chinchilla", quick), flush=True)
    data, kept = load(data_dir)
    with contention() as busy:
        fits, splits, seeds = _measure(data, quick)
    result = {
        "mode": "quick" if quick else "full",
        "data": {
            "file": str(data_dir / CSV),
            "rows_used": len(kept),
            "outliers_dropped": N_OUTLIERS,
            "tokens": "D = C / (6 N)",
            "seed": SEED,
        },
        "fits": fits,
        "splits": splits,
        "seed_check": seeds,
        "accepted": any(f["accepted"] for f in fits),
        "contention": busy,
    }
    print(report(result))
    print(contention_note(busy))
    path = write_json(out_dir, "epoch_chinchilla", result)
    print(f"\nwrote {path}")
    return result


def _measure(data: Any, quick: bool) -> tuple[list[Any], list[Any], list[Any]]:
    fits = [replication(*fit_once(data, "normal"), "normal")]
    if not quick or not fits[0]["accepted"]:
        fits.append(replication(*fit_once(data, "student_t"), "student_t"))
    splits = [split(data, f["likelihood"]) for f in fits]
    seeds = [] if quick else [seed_check(data, seed) for seed in CHECK_SEEDS]
    return fits, splits, seeds


def report(result: dict[str, Any]) -> str:
    """The printed tables."""
    out = []
    for f in result["fits"]:
        rows = []
        for name, p in f["params"].items():
            ci = p["epoch_ci_95"]
            rows.append(
                [
                    name,
                    p["median"],
                    p["lo_95"],
                    p["hi_95"],
                    p["epoch_estimate"],
                    "-" if ci is None else f"{ci[0]:g}-{ci[1]:g}",
                    p["median_in_epoch_ci"],
                ]
            )
        d = f["diagnostics"]
        out.append(
            table(
                ["param", "median", "2.5%", "97.5%", "Epoch", "Epoch 95% CI", "inside"],
                rows,
                f"\nEpoch Chinchilla, likelihood={f['likelihood']} ({f['n_points']} points, "
                f"{f['wall_s']:.1f} s{' incl. compile' if f['compiled'] else ''})",
            )
        )
        a = f["allocation"]
        out.append(
            table(
                ["quantity", "median", "5%", "95%"],
                [
                    [name, a[key]["median"], a[key]["lo_90"], a[key]["hi_90"]]
                    for name, key in (
                        ("a = beta/(alpha+beta)", "a"),
                        ("N* (params)", "params"),
                        ("D* (tokens)", "data"),
                        ("L*", "loss"),
                    )
                ],
                f"compute-optimal allocation at C = {a['budget_flops']:.3g} FLOPs (C = 6 N D); "
                f"E[L]-optimal N {a['expected_optimal_params']:.3g}, point-estimate N "
                f"{a['point_estimate_params']:.3g}, regret {a['regret']:.2g}",
            )
        )
        out.append(
            f"max R-hat {d['r_hat_max']:.4f}, min bulk ESS {d['ess_bulk_min']:.0f}, "
            f"min tail ESS {d['ess_tail_min']:.0f}, divergences {d['divergences']}, "
            f"converged {d['converged']}, warnings {d['warnings']}; "
            f"adaptation {f['sampler'].get('adaptation')}, tune {f['settings']['tune']}; "
            f"ACCEPTED: {'yes' if f['accepted'] else 'no'}"
        )
    rows = [
        [
            s["likelihood"],
            s["train_points"],
            s["test_points"],
            s["rmse_log_loss"],
            s["mean_log_error"],
            s["coverage"]["new_run_50"],
            s["coverage"]["new_run_90"],
            s["r_hat_max"],
            s["divergences"],
        ]
        for s in result["splits"]
    ]
    out.append(
        table(
            [
                "likelihood",
                "train",
                "test",
                "RMSE log",
                "bias log",
                "cov 50",
                "cov 90",
                "R-hat",
                "div",
            ],
            rows,
            f"\nFit C <= {SPLIT_COMPUTE:g}, predict the larger runs (new-run intervals)",
        )
    )
    if result["seed_check"]:
        rows = [
            [s["seed"], *s["medians"].values(), s["r_hat_max"], s["divergences"], s["accepted"]]
            for s in result["seed_check"]
        ]
        out.append(
            table(
                ["seed", *MUST_CONTAIN, "R-hat", "div", "accepted"],
                rows,
                "\nNormal likelihood, other sampler seeds",
            )
        )
    return "\n".join(out)
