"""Reporting of the speed benchmark: headline figures, tables, and the ``--check`` gates.

:mod:`benchmarks.speed` measures and calls these on its raw records; nothing here times
anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.common import Check, spread, table

# Resamples of the bootstrap baseline (Approach 3): speed.bootstrap_baseline draws them.
BOOTSTRAP_RESAMPLES = 1000
TARGETS = {"warm_fit_s": 1.0, "cold_fit_s": 20.0, "predict_100_points_4000_draws_ms": 2.0}


# Regression bounds for ``--check`` (CI); see BENCHMARKS.md "Scaling and memory" for why each.
BOUNDS = {
    # the example bound is 3 s; the standard problem's warm fit measured 3.8-5.2 s idle on
    # the AMD machine of 2026-11; on 2026-12-05 (an Intel Xeon machine) 10.1-10.9 s idle: the
    # Student-t default costs +33 % per fit (11.6 vs 8.7 s, same machine) and numba without
    # fastmath (reproducible draws across compile caches) +25 % (8.7 vs 7.0 s). With one BLAS
    # thread while sampling (models.multistart.single_threaded_blas) the CI gate measured 5.9 s
    # on an AMD EPYC machine under load (same evening); 12 s keeps room for the slower Intel
    # machines CI also runs on (a backstop; steps/draw and the overhead ratio below catch
    # algorithmic regressions on any machine)
    "warm_fit_s": 12.0,
    "warm_fit_over_sampling": 1.35,  # everything but NUTS: data swap, LOO, R-hat/ESS
    # posterior geometry, machine-independent: 287-319 measured non-centred, 127-151 with the
    # partial centring of 2026-12-06 (data seeds 1-6); a return to ~290 fails
    "steps_per_draw": 220.0,
    "min_ess_bulk": 400.0,  # the library's own convergence floor for 4 chains
    "cold_fit_s": 40.0,  # 2x the 20 s target: compile time is the most load-sensitive figure
    # 5.4 ms in the CI gate of 2026-12-05 (AMD, loaded), 8.5-9.8 ms on Intel before the
    # discrepancy fast path; 30 ms is 3x the slower machine's
    "predict_100_points_4000_draws_ms": 30.0,
}


_COLD_LABELS = {
    "warm": "warm disk caches",
    "store off": "compile store off",
    "empty": "empty disk caches",
}


def _cold_kind(record: dict[str, Any]) -> str:
    """How a cold fit's process found the disk caches (records before the store: on)."""
    if record["empty_disk_cache"]:
        return "empty"
    return "warm" if record.get("compile_store", True) else "store off"


def _share(value: float | None) -> str | None:
    """Share of the machine other processes used during a measurement, e.g. ``3%``."""
    return None if value is None else f"{value:.0%}"


def summarize(
    first: dict[str, Any],
    warm: list[dict[str, Any]],
    cold: list[dict[str, Any]],
    pymc_default: list[dict[str, Any]],
    pymc_native: list[dict[str, Any]],
    predict: dict[str, Any],
) -> dict[str, Any]:
    """Headline figures, ratios and target checks."""
    cold_s = spread([c["wall_s"] for c in cold if _cold_kind(c) == "warm"])
    empty = [c["wall_s"] for c in cold if _cold_kind(c) == "empty"]
    cold_empty_s = spread(empty) if empty else None
    store_off = [c["wall_s"] for c in cold if _cold_kind(c) == "store off"]
    warm_s = spread([w["wall_s"] for w in warm])
    ref_warm = warm[0]  # same dataset as the cold fit and the PyMC runs
    pred4000 = predict["4000"]["timings"][0]["ms"]
    ratios = {}
    for name, runs in (("pymc_default", pymc_default), ("pymc_native", pymc_native)):
        if not runs:
            continue
        ratios[name] = {
            "resolved_sampler": runs[0]["resolved_sampler"],
            "first_call_over_cold_fit": runs[0]["wall_s"] / cold_s["median"],
            "second_call_over_warm_fit": (
                runs[1]["wall_s"] / ref_warm["wall_s"] if len(runs) > 1 else None
            ),
            "ess_per_s_bayescale_warm_over_pymc_first": (
                ref_warm["ess_bulk_per_s"] / runs[0]["ess_bulk_per_s"]
            ),
        }
    targets = {
        "warm_fit_s": (TARGETS["warm_fit_s"], warm_s["median"]),
        "cold_fit_s": (TARGETS["cold_fit_s"], cold_s["median"]),
        "predict_100_points_4000_draws_ms": (
            TARGETS["predict_100_points_4000_draws_ms"],
            pred4000["median"],
        ),
    }
    if cold_empty_s is not None:
        targets["cold_fit_s (empty disk cache)"] = (TARGETS["cold_fit_s"], cold_empty_s["median"])
    return {
        "headline": {
            "cold_fit_s": cold_s,
            "cold_fit_empty_disk_cache_s": cold_empty_s,
            # PyTensor's cache as found, nutpie's C functions compiled: every cold fit before
            # models.compile_store
            "cold_fit_compile_store_off_s": spread(store_off) if store_off else None,
            "cold_process_total_s": spread([c["process_total_s"] for c in cold]),
            "warm_fit_s": warm_s,
            "warm_sample_s": spread([w["phases_s"]["sample"] for w in warm]),
            "warm_ess_bulk_per_s": spread([w["ess_bulk_per_s"] for w in warm]),
            "warm_divergences": [w["divergences"] for w in warm],
            "compile_fit_s": first["wall_s"],
            "compiles": first["compiles_during_warm_phase"],
            "predict_100_points_4000_draws_ms": pred4000,
            "predict_100_points_1000_draws_ms": predict["1000"]["timings"][0]["ms"],
        },
        "targets": {
            name: {"target": goal, "measured_median": got, "met": got <= goal}
            for name, (goal, got) in targets.items()
        },
        "ratios": ratios,
    }


def report(result: dict[str, Any]) -> str:
    """The printed tables."""
    raw, head = result["raw"], result["headline"]
    fits = [("compile fit (in-process)", raw["compile_fit"])]
    fits += [
        (f"cold #{i + 1} ({_COLD_LABELS[_cold_kind(c)]})", c) for i, c in enumerate(raw["cold"])
    ]
    fits += [(f"warm #{i + 1}", w) for i, w in enumerate(raw["warm"])]
    rows = [
        [
            label,
            r["data_seed"],
            r["wall_s"],
            r.get("process_total_s"),
            r["phases_s"].get("get_model"),
            r["phases_s"].get("sample"),
            r["phases_s"].get("diagnostics"),
            r["ess_bulk_min"],
            r["ess_bulk_per_s"],
            r["divergences"],
            r["r_hat_max"],
            r.get("mean_leapfrog_steps"),
            r.get("approx_us_per_leapfrog_step"),
            _share(r.get("other_cpu_share")),
            r.get("attempts"),
        ]
        for label, r in fits
    ]
    out = [
        table(
            [
                "fit",
                "data",
                "fit s",
                "process s",
                "compile/swap s",
                "sample s",
                "diag s",
                "min ESS",
                "ESS/s",
                "div",
                "R-hat",
                "steps/draw",
                "~us/step",
                "others' CPU",
                "tries",
            ],
            rows,
            "Fits (4 groups x 25 points, 4 chains x (500 tune + 1000 draws))",
        )
    ]
    pm_rows = [
        [
            f"pm.sample({r['requested']}) #{r['call']}",
            r["resolved_sampler"],
            r["wall_s"],
            r["ess_bulk_min"],
            r["ess_bulk_per_s"],
            r["divergences"],
            r.get("mean_leapfrog_steps"),
            _share(r.get("other_cpu_share_process")),
        ]
        for r in raw["pymc_default"] + raw["pymc_native"]
    ]
    ref = raw["warm"][0]
    pm_rows.append(
        [
            "bayescale warm (same data)",
            "nutpie",
            ref["wall_s"],
            ref["ess_bulk_min"],
            ref["ess_bulk_per_s"],
            ref["divergences"],
            ref.get("mean_leapfrog_steps"),
            _share(ref.get("other_cpu_share")),
        ]
    )
    out.append(
        table(
            ["run", "sampler", "wall s", "min ESS", "ESS/s", "div", "steps/draw", "others' CPU"],
            pm_rows,
            "\nPyMC pm.sample on the same model and data (cores=2)",
        )
    )
    ratio_rows = [
        [
            name,
            r["resolved_sampler"],
            r["first_call_over_cold_fit"],
            r["second_call_over_warm_fit"],
            r["ess_per_s_bayescale_warm_over_pymc_first"],
        ]
        for name, r in result["ratios"].items()
    ]
    out.append(
        table(
            ["pm.sample", "sampler", "1st call / cold", "2nd call / warm", "ESS/s warm / pm"],
            ratio_rows,
            "\nRatios (time: PyMC / bayescale; ESS/s: bayescale / PyMC)",
        )
    )
    pred_rows = []
    for label, block in raw["predict"].items():
        for t in block["timings"]:
            ms = t["ms"]
            pred_rows.append([label, t["group"], ms["median"], ms["p90"], ms["min"], ms["n"]])
    out.append(
        table(
            ["draws", "group", "median ms", "p90 ms", "min ms", "repeats"],
            pred_rows,
            "\nfit.predict: 100 points",
        )
    )
    versus = [
        [
            label,
            block["previous_vs_today"]["previous_ms"]["median"],
            block["previous_vs_today"]["today_ms"]["median"],
            block["previous_vs_today"]["mean_curve_max_rel_diff"],
            block["previous_vs_today"]["new_run_max_diff_over_90_width"],
        ]
        for label, block in raw["predict"].items()
        if "previous_vs_today" in block
    ]
    out.append(
        table(
            ["draws", "previous ms", "today ms", "curve rel diff", "new-run diff / 90% width"],
            versus,
            "\nfit.predict (population) before and after the one-sort summary, same run",
        )
    )
    busy = result.get("predict_contention", {})
    if busy.get("other_cpu_share") is not None:
        out.append(f"(other processes used {busy['other_cpu_share']:.0%} of the machine meanwhile)")
    steps = raw["predict"]["4000"]["breakdown"]
    step_rows = [[k, v] for k, v in {**steps["steps_ms"], **steps["detail_ms"]}.items()]
    step_rows.append(["sum of steps", steps["sum_of_steps_ms"]])
    out.append(table(["step (4000 draws)", "median ms"], step_rows, "\nWhere predict's time goes"))
    if result.get("bootstrap"):
        out.append(bootstrap_report(result["bootstrap"], result["bootstrap_ratios"]))
    else:
        out.append("\nBootstrap baseline: not timed in quick mode (full mode only)")
    target_rows = [
        [name, t["target"], t["measured_median"], t["met"]] for name, t in result["targets"].items()
    ]
    out.append(table(["target", "goal", "measured", "met"], target_rows, "\nTargets"))
    if result["sensitivity"]:
        seeds = result["sensitivity"][0]["data_seeds"]
        rows = [
            [
                v["settings"],
                v["wall_s_median"],
                v["sample_s_median"],
                v["mean_leapfrog_steps_median"],
                v["ess_bulk_min"],
                v["ess_bulk_per_s_median"],
                v["divergences_total"],
                v["r_hat_max"],
                v["all_converged"],
            ]
            for v in result["sensitivity"]
        ]
        out.append(
            table(
                [
                    "warm fit with",
                    "wall s",
                    "sample s",
                    "steps/draw",
                    "min ESS",
                    "ESS/s",
                    "div",
                    "R-hat",
                    "converged",
                ],
                rows,
                f"\nSampler-setting sensitivity (warm fits, datasets {seeds})",
            )
        )
    out.append(f"\ncompiles during warm phase: {head['compiles']}")
    return "\n".join(out)


def bootstrap_ratios(boot: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap baseline's full-case time over bayescale's warm and cold fit medians."""
    head = result["headline"]
    return {
        "full_case_s": boot["full_case_s"],
        "projected": boot["projected"],
        "over_warm_fit": boot["full_case_s"] / head["warm_fit_s"]["median"],
        "over_cold_fit": boot["full_case_s"] / head["cold_fit_s"]["median"],
    }


def bootstrap_report(boot: dict[str, Any], ratios: dict[str, Any]) -> str:
    """Table of the bootstrap baseline's timings and its ratio to bayescale's fits."""
    rows = [
        [
            r["group"],
            r["n_points"],
            r["resamples"],
            r["resamples_kept"],
            r["point_fit_s"],
            r["bootstrap_s"],
            r["interval_s"],
            r["total_s"],
            _share(r["other_cpu_share"]),
        ]
        for r in boot["rows"]
    ]
    text = table(
        [
            "group",
            "points",
            "resamples",
            "kept",
            "point fit s",
            "bootstrap s",
            "interval s",
            "total s",
            "others' CPU",
        ],
        rows,
        "\nBootstrap baseline producing its interval (Chinchilla Approach 3, same data)",
    )
    how = "projected from the rows above" if boot["projected"] else "measured"
    return text + (
        f"\n{boot['groups_total']} groups x {BOOTSTRAP_RESAMPLES} resamples: "
        f"{boot['full_case_s']:.1f} s ({how}) = {ratios['over_warm_fit']:.1f}x the warm fit, "
        f"{ratios['over_cold_fit']:.1f}x the cold fit"
    )


def checks(result: dict[str, Any], quick: bool) -> list[Check]:
    """The speed figures held to :data:`BOUNDS` by ``python -m benchmarks --check``."""
    del quick
    warm = result["raw"]["warm"]
    cold = [c for c in result["raw"]["cold"] if _cold_kind(c) == "warm"]
    head = result["headline"]
    best = min(warm, key=lambda w: w["wall_s"])

    def check(name: str, measured: float | None, key: str, why: str, upper: bool = True) -> Check:
        limit = "upper" if upper else "lower"
        return Check("speed", name, measured, BOUNDS[key], limit, why)  # type: ignore[arg-type]

    return [
        check(
            "warm fit s (best of the warm fits)",
            best["wall_s"],
            "warm_fit_s",
            "cached-model fit of the standard problem (the issue's 3 s example is not met here)",
        ),
        check(
            "warm fit / its sampling time (median)",
            float(np.median([w["wall_s"] / w["phases_s"]["sample"] for w in warm])),
            "warm_fit_over_sampling",
            "a ratio: what a fit adds to NUTS, independent of the machine's speed",
        ),
        check(
            "leapfrog steps per draw (median, warm)",
            float(np.median([w["mean_leapfrog_steps"] for w in warm])),
            "steps_per_draw",
            "posterior geometry; the same on any machine",
        ),
        check(
            "min bulk ESS (warm fits)",
            float(min(w["ess_bulk_min"] for w in warm)),
            "min_ess_bulk",
            "a faster fit must not buy speed with fewer effective draws",
            upper=False,
        ),
        check(
            "cold fit s (best)",
            min(c["wall_s"] for c in cold) if cold else None,
            "cold_fit_s",
            "first fit in a fresh process, compile included",
        ),
        check(
            "predict 100 points x 4000 draws ms (median)",
            head["predict_100_points_4000_draws_ms"]["median"],
            "predict_100_points_4000_draws_ms",
            "the interactive path",
        ),
    ]
