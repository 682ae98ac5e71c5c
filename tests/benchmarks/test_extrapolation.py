"""The extrapolation runner without NUTS: bayescale's samples, ratios, bounds, plots, splits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import models
from benchmarks import extrapolation as ex
from benchmarks.common import DEFAULT_DATA_DIR
from benchmarks.metrics import score_samples
from benchmarks.tasks import TASKS, sim_double_descent
from models.backtesting import score_groups
from models.discrepancy import Discrepancy, log10_ranges
from models.simulate import simulate
from tests.utils import CHINCHILLA_TRUTH, chinchilla_inputs, fake_fit


def test_bayescale_samples_score_like_the_products_backtest() -> None:
    """Samples drawn as Fit.predict draws them give models.backtest's scores, per group too."""
    groups = ["a", "b"]
    fit = fake_fit(groups=groups, pooling="partial", seed=3)
    test = simulate(
        models.get_family("chinchilla"),
        CHINCHILLA_TRUTH,
        chinchilla_inputs(9, seed=5),
        groups=["b", "new"],
        seed=6,
    )
    curve, samples = ex.bayescale_samples(fit, test)
    ours = score_samples(samples, test.loss[ex.test_order(test)], log_curve=curve)
    product, _ = score_groups(fit, test)
    # predict's quantiles read float32 order statistics (relative error < 1e-7)
    assert ours["rmse_log"] == pytest.approx(product.rmse_log, rel=1e-6)
    assert ours["coverage"]["90"] == pytest.approx(product.coverage[0.9])
    assert ours["interval_score"]["50"] == pytest.approx(product.interval_score[0.5])
    assert samples.shape == curve.shape == (18, 400)


def test_widths_inside_the_training_range_are_compared_with_the_reference() -> None:
    """The fitted rows' 90 % new-run width, which the discrepancy leaves alone (distance 0)."""
    fit = fake_fit(groups=["a", "b"], pooling="partial", seed=3)
    fit.discrepancy = Discrepancy.from_prior(log10_ranges(fit.data.inputs, fit.family.inputs))
    width = ex.width_in_range(fit, fit.data)
    _, samples = ex.bayescale_samples(fit, fit.data)
    low, high = np.quantile(samples, [0.05, 0.95], axis=1)
    assert width == pytest.approx(float(np.mean(high - low))) and width > 0
    far = fit.data.subset(np.arange(len(fit.data)) < 5)
    far.inputs["params"] = far.inputs["params"] * 1e3  # three decades beyond the data
    widened = ex.width_in_range(fit, far)
    fit.discrepancy = None
    assert ex.width_in_range(fit, fit.data) == pytest.approx(width)
    assert widened > 2 * ex.width_in_range(fit, far)

    def methods(ours: float, ref: float | None) -> dict[str, Any]:
        out: dict[str, Any] = {"bayescale": {"width90_in_range": ours}, "m2": {"scores": {}}}
        out[ex.REFERENCE] = {"error": "boom"} if ref is None else {"width90_in_range": ref}
        return out

    assert ex.in_range_width_ratio(methods(0.21, 0.2)) == pytest.approx(1.05)
    assert ex.in_range_width_ratio(methods(0.21, None)) is None
    result = {
        "tasks": {"t1": {"methods": methods(0.21, 0.2)}, "t2": {"methods": methods(0.3, 0.2)}}
    }
    rows = ex.in_range_rows(result)
    assert [r[0] for r in rows] == ["t1", "t2"] and [r[-1] for r in rows] == ["yes", "no"]
    assert rows[1][3] == pytest.approx(1.5)


def _record(name: str, rmse: float, cov90: float = 0.9, r_hat: float = 1.0) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    scores = score_samples(rng.normal(0, 0.1, (5, 100)), np.ones(5))
    scores["rmse_log"], scores["coverage"]["90"] = rmse, cov90
    out: dict[str, Any] = {"scores": scores, "wall_s": 1.0}
    if name == "bayescale":
        out["diagnostics"] = {"r_hat_max": r_hat, "divergences": 0}
    return out


def _result(simulated: bool, bayes_rmse: float, cov90: float, r_hat: float = 1.0) -> dict[str, Any]:
    methods = {
        "bayescale": _record("bayescale", bayes_rmse, cov90, r_hat),
        "approach3": _record("approach3", 0.2),
        "m2": _record("m2", 0.1),
        "bnsl": {"error": "ValueError: boom"},
    }
    task = {"simulated": simulated, "methods": methods, "ratio": ex.ratios(methods)}
    return {"tasks": {"sim_double_descent": task}}


def test_ratio_is_against_the_best_baseline_that_ran() -> None:
    ratio = _result(True, 0.05, 0.9)["tasks"]["sim_double_descent"]["ratio"]
    assert ratio["rmse_log"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("cov90", "rmse", "r_hat", "expected"),
    [
        (0.9, 0.05, 1.0, []),
        (0.6, 0.05, 1.0, ["90 % new-run coverage"]),
        (0.9, 0.2, 1.0, ["RMSE log ratio"]),
        (0.9, 0.05, 1.2, ["max R-hat"]),
    ],
)
def test_checks_flag_each_documented_bound(
    cov90: float, rmse: float, r_hat: float, expected: list[str]
) -> None:
    result = _result(True, rmse, cov90, r_hat)
    assert len(ex.checks(result)) == 3
    failed = ex.violations(result)
    assert len(failed) == len(expected)
    for text, v in zip(expected, failed, strict=True):
        assert text in v


def test_progress_lines_carry_coverage_and_convergence() -> None:
    """A full run's log must say enough to read a run that was stopped before its tables."""
    bayes = _record("bayescale", 0.05, 0.85, 1.02)
    bayes["diagnostics"] |= {"ess_bulk_min": 310.0, "converged": False}
    line = ex.progress_note(bayes)
    assert "RMSE log 0.0500" in line and "cov90 0.85" in line
    assert "R-hat 1.020" in line and "ESS 310" in line and "converged False" in line
    assert "R-hat" not in ex.progress_note(_record("m2", 0.1))
    assert ex.progress_note({"error": "ValueError: boom"}) == "ValueError: boom"


def test_each_finished_task_is_written_before_the_next_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = [sim_double_descent(tmp_path), sim_double_descent(tmp_path, seed=12)]
    object.__setattr__(tasks[1], "name", "second")
    seen: list[list[str]] = []

    def fake_task(task: Any, mode: str, plot_dir: Any) -> dict[str, Any]:
        partial = tmp_path / "out" / "extrapolation-quick-partial.json"
        if partial.exists():
            import json

            seen.append(list(json.loads(partial.read_text())["tasks"]))
        record = _result(True, 0.05, 0.9)["tasks"]["sim_double_descent"]
        for name in ex.METHODS:
            record["methods"].setdefault(name, _record(name, 0.1))
        return record

    monkeypatch.setattr(ex, "load_tasks", lambda *a, **k: tasks)
    monkeypatch.setattr(ex, "run_task", fake_task)
    monkeypatch.setattr(ex, "markdown", lambda result: "")
    monkeypatch.setattr(ex, "report", lambda result: "")
    ex.run(tmp_path, tmp_path / "out", quick=True, plot_dir=None)
    assert seen == [["sim_double_descent"]]
    assert (tmp_path / "out" / "extrapolation.json").exists()


def test_a_sampler_seed_replaces_every_tasks_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = [sim_double_descent(tmp_path)]
    seeds: list[int] = []

    def fake_task(task: Any, mode: str, plot_dir: Any) -> dict[str, Any]:
        seeds.append(task.sampler_seed)
        record = _result(True, 0.05, 0.9)["tasks"]["sim_double_descent"]
        for name in ex.METHODS:
            record["methods"].setdefault(name, _record(name, 0.1))
        return record

    monkeypatch.setattr(ex, "load_tasks", lambda *a, **k: list(tasks))
    monkeypatch.setattr(ex, "run_task", fake_task)
    monkeypatch.setattr(ex, "markdown", lambda result: "")
    monkeypatch.setattr(ex, "report", lambda result: "")
    own = ex.run(tmp_path, tmp_path / "a", quick=True, plot_dir=None)
    other = ex.run(tmp_path, tmp_path / "b", quick=True, plot_dir=None, sampler_seed=7)
    assert seeds == [tasks[0].sampler_seed, 7] and tasks[0].sampler_seed != 7
    assert own["sampler_seed"] is None and other["sampler_seed"] == 7


def test_a_failed_bayescale_fit_fails_its_checks() -> None:
    """A fit that could not run has no measurement, and a missing measurement is no pass."""
    result = _result(True, 0.05, 0.9)
    result["tasks"]["sim_double_descent"]["methods"]["bayescale"] = {"error": "FitTimeoutError: x"}
    result["tasks"]["sim_double_descent"]["ratio"] = ex.ratios(
        result["tasks"]["sim_double_descent"]["methods"]
    )
    assert len(ex.violations(result)) == 3


def test_plot_task_writes_a_png(tmp_path: Path) -> None:
    task = sim_double_descent(tmp_path)
    rng = np.random.default_rng(0)
    log_y = np.log(task.test.loss)[:, None]
    samples = {m: log_y + 0.05 * rng.standard_normal((len(log_y), 50)) for m in ("a", "b")}
    path = ex.plot_task(task, samples, tmp_path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulated_double_descent_split_straddles_nothing() -> None:
    task = sim_double_descent(Path("."))
    assert task.train.inputs["params"].max() <= 2000 < task.test.inputs["params"].min()
    assert (len(task.train), len(task.test)) == (40, 20)


def require_shared_data() -> None:
    """The real datasets (``BAYESCALE_BENCH_DATA`` or ``../shared/data``); required under CI."""
    if not DEFAULT_DATA_DIR.exists():
        message = f"shared data not at {DEFAULT_DATA_DIR} (set BAYESCALE_BENCH_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("epoch_chinchilla", (217, 23)),
        ("porian_rsld", (1173, 572)),
        ("misfitting_li2025", (3631, 35)),
        ("bnsl_4digit_addition", (14, 3)),
        ("nslpfn_nanogpt_width", (72, 12)),
    ],
)
def test_real_task_splits(name: str, sizes: tuple[int, int]) -> None:
    """The documented splits: row counts, and every held-out group was seen in training."""
    require_shared_data()
    task = TASKS[name][0](DEFAULT_DATA_DIR)
    assert (len(task.train), len(task.test)) == sizes
    assert set(task.test.groups) <= set(task.train.groups)


def test_markdown_rows_have_every_column_even_for_a_failed_method() -> None:
    result = _result(True, 0.05, 0.9)
    result["overall_ratio"] = {
        k: None for k in ("rmse_log", "mare", "crps_log", "interval_score_90")
    }
    lines = [line for line in ex.markdown(result).splitlines() if line.startswith("| sim")]
    per_method = [line for line in lines if line.count("|") == 11]
    assert len(per_method) == 4  # bayescale, approach3, m2 and the failed bnsl
    assert any("failed: ValueError: boom" in line for line in per_method)
