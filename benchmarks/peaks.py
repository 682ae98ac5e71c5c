"""Peak location: is the observed double-descent peak inside the fitted interval? (issue 17)

Pre-registered in BENCHMARKS.md ("Peak location: the curve's maximum"): twelve model-wise
random-feature sweeps fitted with ``double_descent`` and with ``random_features`` (and, since
2026-12-07, pre-registered there too, with ``random_features`` and ``label_noise="fitted"`` and
with ``double_descent`` and ``noise="variance"``), and four gradient-flow experiments (five
epoch-wise trajectories each) fitted with ``scale_time``; product defaults otherwise. Per curve,
the observed peak (highest interior local maximum of the observed losses, refined by a parabola
in log-log) is checked against the 90 % interval of

* the curve's maximum (:meth:`models.Fit.peak`; what bayescale reports now), and
* the bump's centre (κ·D or c·T; what it reported before), where the family has one.

Run ``python -m benchmarks peaks [--quick]``; ``--quick`` fits 2 chains x 500 draws and only
the first curve of each kind (a smoke run, not the figures).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import diagnostics_record, header, progress, table, write_json

PROB = 0.9
# Each sweep's fits: label -> (family, options). The label-noise variant was added on 2026-12-07
# (BENCHMARKS.md, "Random features with a label-noise variance term"), pre-registered.
LABEL_NOISE_VARIANT = "random_features, label_noise"
# double_descent's variance option, added the same day (BENCHMARKS.md, "double_descent with the
# label-noise variance term"), pre-registered.
VARIANCE_VARIANT = "double_descent, variance"
SWEEP_FITS: dict[str, tuple[str, dict[str, str]]] = {
    "double_descent": ("double_descent", {}),
    "random_features": ("random_features", {}),
    LABEL_NOISE_VARIANT: ("random_features", {"label_noise": "fitted"}),
    VARIANCE_VARIANT: ("double_descent", {"noise": "variance"}),
}
# Coverage over several labels: "all" as first registered, with random_features' variant in
# place of its default, and with both families' variants in place of their defaults.
AGGREGATES = {
    "all": ("double_descent", "random_features", "scale_time"),
    "all, label-noise variant": ("double_descent", LABEL_NOISE_VARIANT, "scale_time"),
    "all, both variants": (VARIANCE_VARIANT, LABEL_NOISE_VARIANT, "scale_time"),
}
RIDGES = (1e-6, 1e-5, 1e-4)
LABEL_NOISES = (0.0, 0.1)
SWEEP_SEEDS = (1, 2)
FLOW_SEEDS = (1, 2, 3, 4)
T_TRAIN = 100
SAMPLER_SEED = 1


@dataclass(frozen=True)
class Curve:
    """One swept curve of one dataset: its rows, the axis and the other inputs' values."""

    name: str
    axis: str
    at: dict[str, float]
    x: np.ndarray
    loss: np.ndarray


def observed_peak(x: np.ndarray, loss: np.ndarray) -> float | None:
    """Highest interior local maximum of ``loss`` along ascending ``x``, refined by a parabola.

    The vertex of the parabola through the best point and its two neighbours in
    (log x, log loss) (uneven spacing allowed), kept inside the neighbours. None: no interior
    local maximum.
    """
    order = np.argsort(x)
    lx, ly = np.log(x[order]), np.log(loss[order])
    inner = [i for i in range(1, len(lx) - 1) if ly[i] >= ly[i - 1] and ly[i] > ly[i + 1]]
    if not inner:
        return None
    i = max(inner, key=lambda j: ly[j])
    coef = np.polyfit(lx[i - 1 : i + 2], ly[i - 1 : i + 2], 2)
    vertex = -coef[1] / (2 * coef[0]) if coef[0] < 0 else lx[i]
    return float(np.exp(np.clip(vertex, lx[i - 1], lx[i + 1])))


def sweep_datasets(quick: bool) -> Iterator[tuple[str, Any, list[Curve]]]:
    """The pre-registered random-feature sweeps (one curve each)."""
    from tests.experiments.random_features import run as rf_run

    n = np.unique(np.round(np.geomspace(T_TRAIN / 10, 10 * T_TRAIN, 25))).astype(int)
    for ridge in RIDGES:
        for noise in LABEL_NOISES:
            for seed in SWEEP_SEEDS:
                data = rf_run(
                    n,
                    np.full(len(n), T_TRAIN),
                    m_latent=400,
                    ridge=ridge,
                    label_noise=noise,
                    seeds=10,
                    n_test=0,
                    seed=seed,
                )
                name = f"rf ridge={ridge:g} noise={noise:g} seed={seed}"
                curve = Curve(name, "params", {"data": float(T_TRAIN)}, n.astype(float), data.loss)
                yield name, data, [curve]
                if quick:
                    return


def flow_datasets(quick: bool) -> Iterator[tuple[str, Any, list[Curve]]]:
    """The pre-registered gradient-flow experiments (one curve per model size)."""
    from tests.experiments.gradient_flow import run as flow_run

    for seed in FLOW_SEEDS:
        data = flow_run(seed=seed)
        curves = []
        for size in np.unique(data.inputs["params"]):
            rows = data.inputs["params"] == size
            curves.append(
                Curve(
                    f"flow seed={seed} params={size:.3g}",
                    "steps",
                    {"params": float(size)},
                    data.inputs["steps"][rows],
                    data.loss[rows],
                )
            )
        yield f"flow seed={seed}", data, curves
        if quick:
            return


def centre_draws(fit: Any, curve: Curve) -> np.ndarray | None:
    """The bump's centre along the curve's axis per draw (None: the family has none)."""
    name = fit.family.name
    if name == "double_descent":
        return np.asarray(fit.summary_draws("kappa")) * curve.at["data"]
    if name == "random_features":
        return np.asarray(fit.summary_draws("c")) * curve.at["data"]
    return None


def inside(draws: np.ndarray, value: float) -> bool:
    """``value`` inside the equal-tailed PROB interval of the finite ``draws`` (none: False)."""
    located = draws[np.isfinite(draws)]
    if not located.size:
        return False
    lo, hi = np.quantile(located, [(1 - PROB) / 2, (1 + PROB) / 2])
    return bool(lo <= value <= hi)


def score(fit: Any, curve: Curve) -> dict[str, Any]:
    """One curve's record: observed peak, fitted maximum and centre, and their coverage."""
    import models

    seen = observed_peak(curve.x, curve.loss)
    bracket = (float(curve.x.min()), float(curve.x.max()))
    peak = models.curve_peak(fit, curve.axis, curve.at, bracket=bracket, probs=(PROB,))
    centre = centre_draws(fit, curve)
    record: dict[str, Any] = {
        "curve": curve.name,
        "observed": seen,
        "probability": peak.probability,
        "maximum_median": peak.median,
        "maximum_interval": peak.interval(PROB),
        "centre_median": None if centre is None else float(np.median(centre)),
    }
    if seen is None:
        return record | {"excluded": "no interior local maximum observed"}
    record["maximum_covers"] = inside(peak.draws, seen)
    record["maximum_ratio"] = None if peak.median is None else peak.median / seen
    if centre is not None:
        record["centre_covers"] = inside(centre, seen)
        record["centre_ratio"] = float(np.median(centre)) / seen
    return record


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Fit every pre-registered dataset, score its curves, print the tables, write JSON."""
    import models

    print(header("peaks", quick), flush=True)
    draws, chains = (500, 2) if quick else (1000, 4)
    settings = models.SamplerSettings(draws=draws, tune=draws, chains=chains, seed=SAMPLER_SEED)
    plan = [(label, *how, ds) for ds in sweep_datasets(quick) for label, how in SWEEP_FITS.items()]
    plan += [("scale_time", "scale_time", {}, ds) for ds in flow_datasets(quick)]
    fits, curves = [], []
    for label, family, options, (name, data, dataset_curves) in plan:
        progress(f"peaks: {label} on {name}")
        start = time.perf_counter()
        fit = models.fit(data, family, family_options=options, settings=settings)
        wall = time.perf_counter() - start
        fits.append(
            {"family": label, "dataset": name, "wall_s": wall} | diagnostics_record(fit.diagnostics)
        )
        curves += [{"family": label} | score(fit, c) for c in dataset_curves]
    result = {"prob": PROB, "quick": quick, "fits": fits, "curves": curves}
    result["summary"] = summary(curves, fits)
    print_tables(result)
    write_json(out_dir, "peaks", result)
    return result


def summary(curves: list[dict[str, Any]], fits: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage of the maximum and the centre per family and overall."""
    out: dict[str, Any] = {}
    groups = {label: (label,) for label in dict.fromkeys(c["family"] for c in curves)}
    for family, labels in (groups | AGGREGATES).items():
        mine = [c for c in curves if c["family"] in labels]
        rows = [c for c in mine if "maximum_covers" in c]
        centred = [c for c in rows if "centre_covers" in c]
        ratios = [c["maximum_ratio"] for c in rows if c.get("maximum_ratio") is not None]
        out[family] = {
            "curves": len(rows),
            "excluded": sum(1 for c in mine if "excluded" in c),
            "maximum_coverage": float(np.mean([c["maximum_covers"] for c in rows]))
            if rows
            else None,
            "centre_coverage": (
                float(np.mean([c["centre_covers"] for c in centred])) if centred else None
            ),
            "median_maximum_ratio": float(np.median(ratios)) if ratios else None,
        }
    for name, labels in AGGREGATES.items():
        mine = [f for f in fits if f["family"] in labels]
        out[f"converged_fits, {name}"] = f"{sum(f['converged'] for f in mine)} of {len(mine)}"
    return out


def print_tables(result: dict[str, Any]) -> None:
    """Per-curve and summary tables."""

    def fmt(bounds: Any) -> str:
        return "-" if not bounds else f"[{bounds[0]:.4g}, {bounds[1]:.4g}]"

    rows = [
        [
            c["family"],
            c["curve"],
            "-" if c["observed"] is None else f"{c['observed']:.4g}",
            fmt(c["maximum_interval"]),
            f"{c['probability']:.2f}",
            c.get("maximum_covers", c.get("excluded")),
            "-" if c["centre_median"] is None else f"{c['centre_median']:.4g}",
            c.get("centre_covers", "-"),
        ]
        for c in result["curves"]
    ]
    headers = ["family", "curve", "observed peak", "90 % maximum", "P(peak)", "covered"]
    print(table([*headers, "centre median", "centre covers"], rows, "per curve"))
    fit_rows = [
        [f["family"], f["dataset"], f"{f['wall_s']:.1f}", f["converged"], f["r_hat_max"]]
        for f in result["fits"]
    ]
    print(table(["family", "dataset", "wall s", "converged", "R-hat max"], fit_rows, "fits"))
    summ = result["summary"]
    figures = ("curves", "excluded", "maximum_coverage", "centre_coverage", "median_maximum_ratio")
    sum_rows = [[k, *(v[f] for f in figures)] for k, v in summ.items() if isinstance(v, dict)]
    print(
        table(
            ["family", "curves", "excluded", "maximum cov90", "centre cov90", "median fit/obs"],
            sum_rows,
            "summary (converged fits: "
            + "; ".join(f"{k}: {summ[f'converged_fits, {k}']}" for k in AGGREGATES)
            + ")",
        )
    )
