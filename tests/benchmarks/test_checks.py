"""``python -m benchmarks --check``: bounds, the exit status, and the speed benchmark's bounds."""

from __future__ import annotations

import json
import math
import sys
import types

import pytest

import benchmarks.__main__ as bench_main
from benchmarks import speed, speed_report
from benchmarks.common import Check


@pytest.mark.parametrize(
    ("measured", "limit", "passed"),
    [
        (2.9, "upper", True),
        (3.0, "upper", True),
        (3.1, "upper", False),
        (3.1, "lower", True),
        (2.9, "lower", False),
        (None, "upper", False),
        (math.nan, "upper", False),
        (math.inf, "lower", False),
    ],
)
def test_check_verdict(measured, limit, passed) -> None:
    assert Check("b", "x", measured, 3.0, limit).passed is passed


def fake_benchmark(measured: float) -> types.ModuleType:
    module = types.ModuleType("benchmarks.fake")
    module.run = lambda data_dir, out_dir, quick: {"warm": measured, "quick": quick}
    module.checks = lambda result, quick: [Check("fake", "warm fit s", result["warm"], 3.0)]
    return module


@pytest.mark.parametrize(("measured", "status"), [(2.0, 0), (4.4, 1)])
def test_check_mode_exit_status(monkeypatch, tmp_path, capsys, measured, status) -> None:
    monkeypatch.setitem(sys.modules, "benchmarks.fake", fake_benchmark(measured))
    monkeypatch.setattr(bench_main, "BENCHMARKS", ("fake",))
    assert bench_main.main(["fake", "--quick", "--check", "--out", str(tmp_path)]) == status
    saved = json.loads((tmp_path / "checks.json").read_text())
    assert [c["passed"] for c in saved["checks"]] == [status == 0]
    out = capsys.readouterr()
    assert ("check failed: fake: warm fit s = 4.4" in out.out) is (status == 1)
    assert "benchmark 1/1: fake (quick)" in out.err  # progress on stderr


def test_without_check_a_regression_does_not_fail(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "benchmarks.fake", fake_benchmark(99.0))
    monkeypatch.setattr(bench_main, "BENCHMARKS", ("fake",))
    assert bench_main.main(["fake", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "checks.json").exists()


def test_check_with_no_bounds_fails(tmp_path) -> None:
    """A gate that checked nothing must not pass silently."""
    assert bench_main.report_checks([], tmp_path) == 1


def test_selected_names() -> None:
    assert bench_main.selected([]) == bench_main.BENCHMARKS
    assert bench_main.selected(["all"]) == bench_main.BENCHMARKS
    assert bench_main.selected(["memory", "speed", "memory"]) == ("memory", "speed")
    with pytest.raises(SystemExit):
        bench_main.parse_args(["nonsense"])


def speed_result(warm_s: float, sample_s: float, steps: float = 290.0) -> dict:
    warm = {
        "wall_s": warm_s,
        "phases_s": {"sample": sample_s},
        "mean_leapfrog_steps": steps,
        "ess_bulk_min": 700.0,
    }
    return {
        "raw": {"warm": [warm, {**warm, "wall_s": warm_s + 1}], "cold": []},
        "headline": {"predict_100_points_4000_draws_ms": {"median": 30.0}},
    }


def test_speed_checks_flag_a_slow_warm_fit() -> None:
    fast = {c.name: c for c in speed.checks(speed_result(2.5, 2.2), quick=True)}
    over = speed_report.BOUNDS["warm_fit_s"] * 1.2
    slow = {c.name: c for c in speed.checks(speed_result(over, over - 0.4), quick=True)}
    key = "warm fit s (best of the warm fits)"
    assert fast[key].passed and fast[key].measured == 2.5  # the best, not the median
    assert not slow[key].passed
    # no cold fit measured: a missing figure fails rather than passes
    assert not fast["cold fit s (best)"].passed


def test_the_cold_fit_bound_reads_only_processes_that_found_the_disk_caches_warm() -> None:
    """A cold fit with the compile store off or with empty caches measures something else
    (what every cold fit cost before the store; a new machine): the gate's bound skips them."""
    result = speed_result(2.5, 2.2)
    base = {"empty_disk_cache": False, "wall_s": 7.0}
    result["raw"]["cold"] = [
        {**base, "compile_store": False, "wall_s": 16.0},
        {**base, "empty_disk_cache": True, "wall_s": 45.0},
    ]
    key = "cold fit s (best)"
    assert not {c.name: c for c in speed.checks(result, quick=True)}[key].passed  # none counts
    result["raw"]["cold"].append(base)  # store on, caches as found
    check = {c.name: c for c in speed.checks(result, quick=True)}[key]
    assert check.passed and check.measured == 7.0
    labels = [speed_report._COLD_LABELS[speed_report._cold_kind(c)] for c in result["raw"]["cold"]]
    assert labels == ["compile store off", "empty disk caches", "warm disk caches"]


def test_speed_checks_flag_overhead_and_geometry_regressions() -> None:
    checks = {c.name: c for c in speed.checks(speed_result(4.0, 2.0, steps=600), quick=True)}
    assert not checks["warm fit / its sampling time (median)"].passed  # 2x: overhead regressed
    assert not checks["leapfrog steps per draw (median, warm)"].passed
    assert checks["min bulk ESS (warm fits)"].passed


def test_bootstrap_timing_splits_point_fit_and_resamples(monkeypatch) -> None:
    """Time in best_of_grid is the point fit; the rest of fit_baseline is the bootstrap."""
    import numpy as np

    from benchmarks import baselines

    calls = []

    class FakeFit:
        boot = np.zeros((7, 5))

        def predictive_samples(self, x):
            return np.zeros((len(x), 28))

    def fake_fit_baseline(name, x, loss, *, n_boot, seed):
        calls.append((name, x.shape, n_boot))
        baselines.best_of_grid()  # looked up at call time, as fit_baseline does
        return FakeFit()

    def stub():
        return None

    monkeypatch.setattr(baselines, "best_of_grid", stub)
    monkeypatch.setattr(baselines, "fit_baseline", fake_fit_baseline)
    result = speed.bootstrap_baseline(n_groups=2, n_boot=10)
    assert calls == [("approach3", (25, 2), 10)] * 2
    assert result["projected"] and result["groups_total"] == 4
    rows = result["rows"]
    assert [r["resamples_kept"] for r in rows] == [7, 7]
    assert all(r["point_fit_s"] >= 0 and r["bootstrap_s"] >= 0 for r in rows)
    per_group = [r["point_fit_s"] + r["bootstrap_s"] * 100 + r["interval_s"] for r in rows]
    assert result["full_case_s"] == pytest.approx(np.mean(per_group) * 4)
    assert baselines.best_of_grid is stub  # the timing wrapper is removed afterwards


def test_bootstrap_report_labels_a_projection() -> None:
    row = {
        "group": "mamba",
        "n_points": 25,
        "resamples": 10,
        "resamples_kept": 10,
        "point_fit_s": 2.0,
        "bootstrap_s": 1.0,
        "interval_s": 0.01,
        "total_s": 3.01,
        "other_cpu_share": 0.02,
    }
    boot = {"rows": [row], "groups_total": 4, "full_case_s": 408.0, "projected": True}
    result = {"headline": {"warm_fit_s": {"median": 4.0}, "cold_fit_s": {"median": 12.0}}}
    ratios = speed_report.bootstrap_ratios(boot, result)
    assert ratios["over_warm_fit"] == pytest.approx(102.0)
    text = speed_report.bootstrap_report(boot, ratios)
    assert "4 groups x 1000 resamples: 408.0 s (projected from the rows above)" in text
    assert "102.0x the warm fit, 34.0x the cold fit" in text
