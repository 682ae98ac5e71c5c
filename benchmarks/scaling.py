"""Growth: fit time and ESS/s versus observations and groups; predict latency versus size.

Observations: the speed benchmark's standard problem (hierarchical ``chinchilla``, the four
architectures of :func:`models.simulate.example_dataset`, default pooling) with 25, 250 and 2500
points per architecture (10², 10³, 10⁴ rows). Groups: 1 to 100 architectures of 25 points each,
every parameter partially pooled, each architecture's truth drawn around the example's values
(:func:`grouped_dataset`). Every size starts from an empty compile cache: its first fit compiles
(cold; PyTensor's disk cache as earlier runs left it) and the following fits swap other data of
the same size into the compiled model (warm). A fit that raises, runs past the grid's time limit
or does not converge is reported as such in the table, never dropped.

Prediction: :meth:`models.Fit.predict` (population, two interval levels) for 1 to 10 000 points
from 500 to 4000 draws, taken from the standard problem's last warm fit. Latency depends on array
shapes only, so when a grid asks for more draws than the fit holds (quick mode) its draws are
repeated (:func:`with_draws`) and the row says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    REPO_ROOT,
    Check,
    contention,
    contention_note,
    fit_phases,
    header,
    progress,
    quietest,
    repeat_times,
    sampler_stats,
    spread,
    table,
    timed,
    write_json,
)

FAMILY = "chinchilla"
# every size sampled once: no longer (max_draws) or deeper (deeper_tree_depth) second run
ONE_RUN: dict[str, Any] = {"max_draws": None, "deeper_tree_depth": None}
POINTS_PER_GROUP = 25
PLOT_DIR = REPO_ROOT / "docs" / "benchmarks"
# Per-architecture scatter of the truth around the example's transformer (log scale for E, A, B).
TRUTH_JITTER = {"E": 0.03, "A": 0.15, "B": 0.15, "alpha": 0.015, "beta": 0.015}
# Bounds checked by ``--check`` (ratios of two sizes measured in the same run, so a uniformly
# slower or busier machine does not move them; 10x more work at linear cost is a ratio of 10).
# 1000 vs 100 rows: 9.7-10.5 with the Normal likelihood (2026-11), 14.5 and 15.6 with the
# Student-t default (2026-12-05; its per-row log density costs more, and the larger sweep takes
# more steps): 18 keeps the gate a regression backstop at today's default.
MAX_WARM_FIT_RATIO_10X_OBSERVATIONS = 18.0
MAX_PREDICT_RATIO_10X_POINTS = 15.0


@dataclass(frozen=True)
class Grid:
    """The sizes one run measures."""

    observations: tuple[int, ...]
    groups: tuple[int, ...]
    points: tuple[int, ...]
    draws: tuple[int, ...]
    warm_repeats: int
    tries: int
    settings: Any  # models.SamplerSettings
    time_limit_s: float  # per fit, compile included; a fit over it is reported as failed


def grid(quick: bool) -> Grid:
    """Full grid (the speed benchmark's sampler settings) or the quick CI grid."""
    from benchmarks.speed import default_settings

    if quick:
        return Grid(
            observations=(100, 1_000),
            groups=(1, 10),
            points=(1, 100, 1_000),
            draws=(1_000, 4_000),
            warm_repeats=1,
            tries=1,
            # one run per size (no longer or deeper second run): the growth of sampling with
            # rows and groups, not mixed with whether a size's first run converged
            # (models.extension)
            settings=default_settings().with_(chains=2, draws=250, tune=250, **ONE_RUN),
            time_limit_s=300.0,
        )
    return Grid(
        observations=(100, 1_000, 10_000),
        groups=(1, 3, 10, 30, 100),
        points=(1, 10, 100, 1_000, 10_000),
        draws=(500, 1_000, 4_000),
        warm_repeats=2,
        tries=3,
        settings=default_settings().with_(**ONE_RUN),
        time_limit_s=1800.0,
    )


# -- data ----------------------------------------------------------------------------------------


def observations_dataset(n_rows: int, seed: int) -> Any:
    """The standard problem's four architectures with ``n_rows`` rows in total."""
    from models.simulate import EXAMPLE_ARCHITECTURES, example_dataset

    return example_dataset(seed, points_per_group=max(n_rows // len(EXAMPLE_ARCHITECTURES), 1))


def grouped_dataset(n_groups: int, seed: int, points_per_group: int = POINTS_PER_GROUP) -> Any:
    """``n_groups`` architectures, each with its own N/D sweep and a truth near the example's.

    Parameters
    ----------
    n_groups
        Number of architectures (``g000``, ``g001``, ...).
    seed
        Seeds the truths, the sweeps and the noise.
    points_per_group
        Runs per architecture.

    Returns
    -------
    models.ScalingData
        1.5 % log-normal noise, as in :func:`models.simulate.example_dataset`.
    """
    from models import ScalingData, get_family
    from models.simulate import EXAMPLE_ARCHITECTURES, simulate

    rng = np.random.default_rng(seed)
    family = get_family(FAMILY)
    names = ("E", "A", "B", "alpha", "beta")
    base = dict(zip(names, EXAMPLE_ARCHITECTURES["transformer"], strict=True))
    parts = []
    for i in range(n_groups):
        z = {k: rng.standard_normal() * sd for k, sd in TRUTH_JITTER.items()}
        truth = {k: base[k] * np.exp(z[k]) if k in ("E", "A", "B") else base[k] + z[k] for k in z}
        n_params = np.exp(rng.uniform(np.log(2e7), np.log(2e9), points_per_group))
        n_tokens = n_params * np.exp(rng.uniform(np.log(5.0), np.log(60.0), points_per_group))
        parts.append(
            simulate(
                family,
                truth,
                {"params": n_params, "data": n_tokens},
                groups=[f"g{i:03d}"],
                noise=0.015,
                seed=seed * 1000 + i,
            )
        )
    return ScalingData(
        {k: np.concatenate([p.inputs[k] for p in parts]) for k in ("params", "data")},
        np.concatenate([p.loss for p in parts]),
        np.concatenate([p.group for p in parts]),
    )


# -- fits ----------------------------------------------------------------------------------------


def fit_once(
    data: Any, settings: Any, pooling: str | None, time_limit_s: float | None = None
) -> tuple[dict[str, Any], Any]:
    """Fit ``data`` with phase timings; a failure (or timeout) becomes a record with ``error``.

    Returns
    -------
    tuple
        The record and the fit (None when it failed).
    """
    import models

    error = None
    with contention() as busy, fit_phases() as phases:
        try:
            fit, wall = timed(
                partial(
                    models.fit,
                    data,
                    FAMILY,
                    pooling=pooling,
                    settings=settings,
                    time_limit_s=time_limit_s,
                )
            )
        except Exception as exc:  # reported in the table, not hidden
            error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        return {
            "error": error,
            "n_observations": len(data),
            "phases_s": dict(phases),
            "other_cpu_share": busy.get("other_cpu_share"),
        }, None
    d = fit.diagnostics
    sample_s = phases.get("sample")
    record = {
        "n_observations": len(data),
        "n_groups": len(fit.groups),
        "wall_s": wall,
        "phases_s": dict(phases),
        "ess_bulk_min": d.ess_bulk_min,
        "ess_bulk_per_s": d.ess_bulk_min / wall,
        "ess_bulk_per_sample_s": d.ess_bulk_min / sample_s if sample_s else None,
        "divergences": d.divergences,
        "r_hat_max": d.r_hat_max,
        "converged": d.converged,
        "reasons": list(d.reasons),
        "other_cpu_share": busy.get("other_cpu_share"),
        **sampler_stats(fit.trace),
    }
    return record, fit


def size_runs(
    axis: str,
    size: int,
    make_data: Callable[[int], Any],
    g: Grid,
    pooling: str | None,
) -> tuple[dict[str, Any], Any]:
    """The cold fit and ``g.warm_repeats`` warm fits of one size, from an empty compile cache.

    Returns
    -------
    tuple
        The size's record (cold, warm, compiles) and its last successful fit (or None).
    """
    import models

    cache = models.COMPILE_CACHE
    cache.clear()
    before = cache.compiles
    progress(f"scaling: {axis} = {size}: cold fit")
    cold, last = fit_once(make_data(0), g.settings, pooling, g.time_limit_s)
    warm = []
    for seed in range(1, g.warm_repeats + 1):
        progress(f"scaling: {axis} = {size}: warm fit {seed}/{g.warm_repeats}")
        measure = partial(fit_once, make_data(seed), g.settings, pooling, g.time_limit_s)
        record, fit = quietest(measure, g.tries)
        warm.append(record)
        last = fit if fit is not None else last
    return {
        "axis": axis,
        "size": size,
        "cold": cold,
        "warm": warm,
        "compiles": cache.compiles - before,
    }, last


def growth(g: Grid) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    """Fits versus observations and versus groups; also the standard problem's last fit."""
    by_obs, standard = [], None
    for n in g.observations:
        record, fit = size_runs("observations", n, partial(observations_dataset, n), g, None)
        by_obs.append(record)
        if n == min(g.observations):
            standard = fit
    by_groups = [
        size_runs("groups", k, partial(grouped_dataset, k), g, "partial")[0] for k in g.groups
    ]
    return by_obs, by_groups, standard


# -- prediction ----------------------------------------------------------------------------------


def with_draws(fit: Any, total: int) -> Any:
    """The fit with ``total`` posterior draws: a prefix of every chain, cycled when too short."""
    import xarray as xr

    posterior = fit.posterior
    chains, have = posterior.sizes["chain"], posterior.sizes["draw"]
    per_chain = max(total // chains, 1)
    index = np.arange(per_chain) % have
    ds = posterior.isel(draw=index).assign_coords(draw=np.arange(per_chain))
    return replace(fit, trace=xr.DataTree.from_dict({"posterior": ds}))


def predict_latency(
    fit: Any, points: Sequence[int], draws: Sequence[int], budget_s: float = 1.0
) -> list[dict[str, Any]]:
    """Median latency of ``fit.predict`` for every (points, draws) pair.

    Each pair is called once untimed; then as many timed calls as fit in ``budget_s`` (3 to 200).
    """
    from benchmarks.speed import prediction_points

    have = int(fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"])
    rows = []
    for total in draws:
        f = with_draws(fit, total)
        for n in points:
            progress(f"scaling: predict {n} points x {total} draws")
            at = prediction_points(n)
            call = partial(f.predict, at)
            first = timed(call)[1]
            repeats = int(np.clip(budget_s / max(first, 1e-6), 3, 200))
            times = repeat_times(call, repeats, warmup=0) * 1e3
            rows.append(
                {
                    "points": n,
                    "draws": int(f.draws["sigma"].shape[0]),
                    "draws_repeated": total > have,
                    "ms": spread(times),
                }
            )
    return rows


# -- driver --------------------------------------------------------------------------------------


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Run the growth benchmark, print its tables, write ``scaling.json`` and the plot.

    Parameters
    ----------
    data_dir
        Unused (simulated data only); accepted for a uniform interface.
    out_dir
        Where ``scaling.json`` goes (and the plot in quick mode).
    quick
        10² and 10³ rows, 1 and 10 groups, 2 chains x (250 tune + 250 draws), one warm fit per
        size, predict for 1-1000 points from 1000 and 4000 draws, 300 s per fit at most (full:
        the speed benchmark's settings, two warm fits per size, 1800 s per fit at most). The
        full grid's plot goes to ``docs/benchmarks/scaling.png``; a quick run's to
        ``out_dir/scaling-quick.png`` so a CI run never rewrites the committed figure.

    Returns
    -------
    dict
        The figures written to the JSON file.
    """
    del data_dir
    print(header("scaling", quick), flush=True)
    g = grid(quick)
    with contention() as busy:
        by_obs, by_groups, standard = growth(g)
        predict = [] if standard is None else predict_latency(standard, g.points, g.draws)
    result: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "settings": g.settings.to_dict(),
        "points_per_group": POINTS_PER_GROUP,
        "observations": by_obs,
        "groups": by_groups,
        "predict": predict,
        "contention": busy,
    }
    print(report(result))
    print(contention_note(busy))
    plot_path = (out_dir / "scaling-quick.png") if quick else (PLOT_DIR / "scaling.png")
    result["plot"] = plot(result, plot_path)
    path = write_json(out_dir, "scaling", result)
    print(f"\nwrote {path} and {plot_path}")
    return result


def _median(records: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in records if r.get(key) is not None]
    return float(np.median(values)) if values else None


def _warm_phase(records: list[dict[str, Any]], phase: str) -> float | None:
    values = [r["phases_s"][phase] for r in records if phase in r.get("phases_s", {})]
    return float(np.median(values)) if values else None


def size_row(record: dict[str, Any]) -> list[Any]:
    """One table row: the size's cold fit and the median of its warm fits."""
    cold, warm = record["cold"], record["warm"]
    fits = [cold, *warm]
    ok = [r for r in fits if "error" not in r]
    errors = sorted({r["error"] for r in fits if "error" in r})
    shares = [r["other_cpu_share"] for r in fits if r.get("other_cpu_share") is not None]
    return [
        fits[0].get("n_observations"),
        ok[0]["n_groups"] if ok else None,
        cold.get("wall_s"),
        cold.get("phases_s", {}).get("get_model"),
        _median(warm, "wall_s"),
        _warm_phase(warm, "sample"),
        _median(warm, "ess_bulk_per_s"),
        min((r["ess_bulk_min"] for r in ok), default=None),
        sum(r["divergences"] for r in ok) if ok else None,
        max((r["r_hat_max"] for r in ok), default=None),
        _median(warm, "mean_leapfrog_steps"),
        f"{sum(r['converged'] for r in ok)}/{len(fits)}",
        f"{max(shares):.0%}" if shares else None,
        "; ".join(errors) or None,
    ]


SIZE_HEADERS = [
    "rows",
    "groups",
    "cold s",
    "compile s",
    "warm s",
    "warm sample s",
    "warm ESS/s",
    "min ESS",
    "div",
    "max R-hat",
    "steps/draw",
    "converged",
    "others' CPU",
    "error",
]


def report(result: dict[str, Any]) -> str:
    """The printed tables."""
    s = result["settings"]
    sampler = f"{s['chains']} chains x ({s['tune']} tune + {s['draws']} draws)"
    out = [
        table(
            SIZE_HEADERS,
            [size_row(r) for r in result["observations"]],
            f"Fit versus observations (4 architectures, default pooling; {sampler})",
        ),
        table(
            SIZE_HEADERS,
            [size_row(r) for r in result["groups"]],
            f"\nFit versus groups ({result['points_per_group']} points each, partial pooling; "
            f"{sampler})",
        ),
    ]
    if result["predict"]:
        draws = sorted({r["draws"] for r in result["predict"]})
        points = sorted({r["points"] for r in result["predict"]})
        cell = {(r["points"], r["draws"]): r for r in result["predict"]}
        rows = [[n, *(cell[(n, d)]["ms"]["median"] for d in draws)] for n in points]
        repeated = sorted({r["draws"] for r in result["predict"] if r["draws_repeated"]})
        note = f" (draws repeated for {repeated})" if repeated else ""
        out.append(
            table(
                ["points", *(f"{d} draws ms" for d in draws)],
                rows,
                f"\nfit.predict median latency (population, 2 interval levels){note}",
            )
        )
    else:
        out.append("\nfit.predict: not measured (the standard problem's fits failed)")
    return "\n".join(out)


def plot(result: dict[str, Any], path: Path) -> str:
    """Fit time versus rows and groups, predict latency versus points; a PNG at ``path``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, key, xlabel in (
        (axes[0], "observations", "observations (4 architectures)"),
        (axes[1], "groups", f"groups ({result['points_per_group']} points each)"),
    ):
        records = result[key]
        sizes = [r["size"] for r in records]
        cold = [r["cold"].get("wall_s", np.nan) for r in records]
        warm = [_median(r["warm"], "wall_s") or np.nan for r in records]
        ax.plot(sizes, cold, "o-", label="cold (compile + sample)")
        ax.plot(sizes, warm, "s-", label="warm (compiled model cached)")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="fit wall time (s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    ax = axes[2]
    for d in sorted({r["draws"] for r in result["predict"]}):
        rows = sorted((r for r in result["predict"] if r["draws"] == d), key=lambda r: r["points"])
        ax.plot([r["points"] for r in rows], [r["ms"]["median"] for r in rows], "o-", label=f"{d}")
    ax.set(xscale="log", yscale="log", xlabel="points predicted", ylabel="predict latency (ms)")
    ax.grid(True, which="both", alpha=0.3)
    if result["predict"]:
        ax.legend(title="posterior draws")
    s = result["settings"]
    fig.suptitle(
        f"bayescale growth ({result['mode']} mode): chinchilla, {s['chains']} chains x "
        f"({s['tune']} + {s['draws']}) draws"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return str(path)


# -- regression checks ---------------------------------------------------------------------------


def checks(result: dict[str, Any], quick: bool) -> list[Check]:
    """Bounds on the growth figures (see BENCHMARKS.md, "Scaling and memory").

    Every fit must run (an exception is a failure; non-convergence is reported, not checked: the
    quick grid's short chains do not converge by design). Cost ratios between two sizes of the
    same run must stay near linear.
    """
    del quick
    fits = [f for r in result["observations"] + result["groups"] for f in (r["cold"], *r["warm"])]
    out = [
        Check(
            "scaling",
            "fits that raised",
            float(sum("error" in f for f in fits)),
            0.0,
            why="every size must fit; an exception is a regression",
        )
    ]
    obs = {r["size"]: _median(r["warm"], "wall_s") for r in result["observations"]}
    for small in sorted(obs):
        if 10 * small in obs:
            ratio = _ratio(obs[10 * small], obs[small])
            out.append(
                Check(
                    "scaling",
                    f"warm fit {10 * small} rows / {small} rows",
                    ratio,
                    MAX_WARM_FIT_RATIO_10X_OBSERVATIONS,
                    why="10x the rows should cost at most ~10x (gradient is linear in rows)",
                )
            )
    ms = {(r["points"], r["draws"]): r["ms"]["median"] for r in result["predict"]}
    top = max((d for _, d in ms), default=None)
    for points, draws in sorted(ms):
        if draws == top and points >= 100 and (10 * points, draws) in ms:
            out.append(
                Check(
                    "scaling",
                    f"predict {10 * points} / {points} points ({draws} draws)",
                    _ratio(ms[(10 * points, draws)], ms[(points, draws)]),
                    MAX_PREDICT_RATIO_10X_POINTS,
                    why="predict is linear in points once fixed costs are amortised",
                )
            )
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b
