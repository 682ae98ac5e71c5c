"""The gemstones and ColPret extrapolation splits: thresholds, no leaks, valid inputs.

Loader tests read ``../shared/data``; without it they skip, except under ``CI=true``, where the
data is provisioned and its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import models
from benchmarks import tasks as t
from benchmarks.colpret import (
    AT_CUT_RTOL,
    GPT3_PARAMS,
    OPT_PARAMS,
    PILE_T5_PARAMS,
    after_fraction,
    log_spaced,
)
from benchmarks.common import DEFAULT_DATA_DIR
from models.data import ScalingData

# name -> (train rows, test rows), the documented split sizes
SIZES = {
    "gemstones": (140, 3),
    "colpret_datablations": (384, 16),
    "colpret_gpt3": (105, 10),
    # 65 in the runs before 2026-12-06: one 6.7B checkpoint exactly at the warm-up cut fell an
    # ulp below it on CPUs with AVX-512 pow (see benchmarks.colpret.after_fraction)
    "colpret_opt": (64, 10),
    "colpret_pile_t5": (45, 10),
}
LARGEST = {
    "colpret_gpt3": GPT3_PARAMS["175b"],
    "colpret_opt": OPT_PARAMS["175b"],
    "colpret_pile_t5": PILE_T5_PARAMS["xxl"],
}


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not DEFAULT_DATA_DIR.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data required under CI=true, not found at {DEFAULT_DATA_DIR}")
        pytest.skip(f"shared data not present at {DEFAULT_DATA_DIR}")
    return DEFAULT_DATA_DIR


def _rows(data: ScalingData, names: tuple[str, ...]) -> set[tuple[float, ...]]:
    return set(zip(*(data.inputs[n].tolist() for n in names), strict=True))


@pytest.mark.parametrize("name", list(SIZES))
def test_split_is_valid_for_every_method(name: str, data_dir: Path) -> None:
    """Positive inputs, a family the registry knows, the baselines' inputs, no held-out row seen."""
    task = t.TASKS[name][0](data_dir)
    assert (len(task.train), len(task.test)) == SIZES[name]
    assert not t.TASKS[name][1], "new real tasks stay out of the CI quick run"
    family = models.get_family(task.family, **task.family_options)
    # every check models.fit makes before sampling passes, with no warning
    _, warnings = models.validate_fit(
        task.train, family, family_options=task.family_options, pooling=task.pooling
    )
    assert warnings == []
    needed = {*family.inputs, *task.approach3_inputs, task.single_input, task.plot_x}
    for part in (task.train, task.test):
        assert needed <= set(part.inputs)
        for values in (*part.inputs.values(), part.loss):
            assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert set(task.test.groups) <= set(task.train.groups)
    assert not _rows(task.train, family.inputs) & _rows(task.test, family.inputs)
    # every split extrapolates in model size
    assert task.test.inputs["params"].min() > task.train.inputs["params"].max()


def test_gemstones_split_respects_its_thresholds(data_dir: Path) -> None:
    task = t.gemstones(data_dir)
    assert task.train.inputs["params"].max() <= 5e8
    assert task.train.inputs["data"].max() <= 1.01e11  # the 100B checkpoint is 100.03B tokens
    assert np.unique(task.train.inputs["params"]).size == 14
    assert np.all(task.test.inputs["params"] >= 1.9e9)
    assert np.allclose(task.test.inputs["data"], 350.1e9, rtol=1e-3)


@pytest.mark.parametrize("name", list(LARGEST))
def test_colpret_family_holds_out_the_late_largest_model(name: str, data_dir: Path) -> None:
    """Train: the smaller models, warm-up dropped; test: the largest model's second half."""
    task = t.TASKS[name][0](data_dir)
    assert np.all(task.test.inputs["params"] == LARGEST[name])
    test_tokens = task.test.inputs["data"]
    assert test_tokens.min() >= t.COLPRET_LATE_FRACTION * test_tokens.max()
    for n in np.unique(task.train.inputs["params"]):
        tokens = task.train.inputs["data"][task.train.inputs["params"] == n]
        assert tokens.size <= t.COLPRET_FIT_CHECKPOINTS
        # OPT's 6.7B checkpoint sits at the cut, up to the CPU's rounding (after_fraction)
        assert tokens.min() >= t.COLPRET_WARMUP_FRACTION * tokens.max() * (1 - AT_CUT_RTOL)


def test_colpret_datablations_predicts_every_8b7_run_from_repeated_data(data_dir: Path) -> None:
    task = t.colpret_datablations(data_dir)
    assert task.family == "data_constrained"
    assert set(np.unique(task.train.inputs["params"])) == {2.8e9, 4.2e9}
    assert np.all(task.test.inputs["params"] == 8.7e9)
    # one final loss per (dataset, unique-token budget), 1 to 44 epochs
    budgets = zip(task.test.group, task.test.inputs["unique_data"], strict=True)
    assert len(set(budgets)) == 16
    epochs = task.test.inputs["data"] / task.test.inputs["unique_data"]
    assert epochs.min() == pytest.approx(1.0) and epochs.max() == pytest.approx(44.0, rel=1e-3)
    assert (task.train.inputs["data"] / task.train.inputs["unique_data"]).max() > 4


def test_log_spaced_keeps_endpoints_and_thins_each_curve_evenly_in_log() -> None:
    """Rows are kept unchanged, at most k per curve, first and last included, log-even spacing."""
    x = np.arange(1, 5001, dtype=float)
    frame = pd.DataFrame(
        {"curve": np.repeat(["a", "b"], x.size), "x": np.tile(x, 2), "y": np.tile(1 / x, 2)}
    )
    thin = log_spaced(frame, ["curve"], "x", 12)
    for _, rows in thin.groupby("curve"):
        xs = np.sort(rows["x"].to_numpy())
        assert xs.size == 12
        assert (xs[0], xs[-1]) == (1.0, 5000.0)
        ratios = np.diff(np.log(xs))
        assert np.allclose(ratios[3:], np.log(5000) / 11, rtol=0.05)  # integer x rounds early
    merged = thin.merge(frame, on=["curve", "x"], suffixes=("", "_orig"))
    assert np.array_equal(merged["y"], merged["y_orig"])


def test_log_spaced_keeps_short_curves_whole() -> None:
    frame = pd.DataFrame({"curve": ["a"] * 5, "x": [1.0, 2.0, 4.0, 8.0, 16.0]})
    assert log_spaced(frame, ["curve"], "x", 12)["x"].tolist() == [1.0, 2.0, 4.0, 8.0, 16.0]


# Round 5 (pre-registered): name -> (train rows, test rows, groups, inputs every row carries,
# the scale axis the held-out rows lie beyond, per group; None: extrapolates in architecture)
ROUND5 = {
    "colpret_olmo": (45, 30, 3, {"data"}, "data"),
    "colpret_k2": (15, 10, 1, {"data"}, "data"),
    "gemstones_trajectories": (154, 220, 22, {"data"}, "data"),
    "misfitting_trajectories": (199, 200, 20, {"data"}, "data"),
    "colpret_gzip": (100, 50, 5, {"params", "data", "compute"}, "params"),
    "openclip_imagenet": (18, 11, 3, {"data", "compute"}, None),
    "obsscaling_mmlu": (79, 43, 1, {"params", "data", "compute"}, "compute"),
    "llama2_long_context": (29, 28, 4, {"data"}, "data"),
    "nslpfn_nanogpt_min_loss": (60, 24, 12, {"params"}, "params"),
}


@pytest.mark.parametrize("name", list(ROUND5))
def test_round5_loader_returns_the_documented_split(name: str, data_dir: Path) -> None:
    """Non-empty train/test of the documented sizes and inputs; held-out rows beyond the fit."""
    n_train, n_test, n_groups, inputs, axis = ROUND5[name]
    loader, quick = t.TASKS[name]
    assert not quick, "round-5 tasks are full mode only"
    task = loader(data_dir)
    assert task.name == name
    assert (len(task.train), len(task.test), len(task.train.groups)) == (n_train, n_test, n_groups)
    family = models.get_family(task.family, **task.family_options)
    models.validate_fit(
        task.train, family, family_options=task.family_options, pooling=task.pooling
    )
    needed = {*family.inputs, *task.approach3_inputs, task.single_input, task.plot_x}
    assert needed <= inputs
    for part in (task.train, task.test):
        assert set(part.inputs) == inputs
        for values in (*part.inputs.values(), part.loss):
            assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert set(task.test.groups) <= set(task.train.groups)
    if axis is not None:
        for g in task.test.groups:
            train_max = task.train.inputs[axis][task.train.group == g].max()
            assert task.test.inputs[axis][task.test.group == g].min() > train_max


@pytest.mark.parametrize(
    "name", ["colpret_olmo", "colpret_k2", "gemstones_trajectories", "misfitting_trajectories"]
)
def test_trajectory_tasks_fit_early_and_predict_late_within_each_run(
    name: str, data_dir: Path
) -> None:
    """Per run: fit rows within 10-30 % of the last held-out token count, held out from 60 %."""
    task = t.TASKS[name][0](data_dir)
    for g in task.train.groups:
        fit = task.train.inputs["data"][task.train.group == g]
        held = task.test.inputs["data"][task.test.group == g]
        final = held.max()  # the run's last checkpoint is always kept by the thinning
        assert fit.size <= t.TRAJECTORY_FIT_CHECKPOINTS
        assert held.size <= t.TRAJECTORY_PREDICT_CHECKPOINTS
        assert fit.min() >= t.TRAJECTORY_WARMUP_FRACTION * final
        assert fit.max() <= t.TRAJECTORY_FIT_UNTIL * final
        assert held.min() >= t.TRAJECTORY_PREDICT_FROM * final


def test_error_rate_tasks_turn_accuracy_into_error(data_dir: Path) -> None:
    """OpenCLIP and MMLU report accuracy; the tasks score the error 1 - accuracy (< 1)."""
    for name in ("openclip_imagenet", "obsscaling_mmlu"):
        task = t.TASKS[name][0](data_dir)
        assert np.all(np.concatenate([task.train.loss, task.test.loss]) < 1)
    mmlu = t.obsscaling_mmlu(data_dir)
    assert mmlu.test.inputs["data"].max() < 1e14  # the mis-scaled btlm row is gone


def test_a_checkpoint_exactly_at_the_cut_is_kept_whatever_the_rounding():
    """The warm-up cut keeps a row at the fraction, one ulp below it included (CPU-independent)."""
    final = 10.0**11.447158031342219  # OPT 6.7B's last checkpoint, from log10 tokens
    at_cut = np.nextafter(0.1 * final, 0.0)  # one ulp below the exact cut
    frame = pd.DataFrame({"run": ["a"] * 3, "data": [0.05 * final, at_cut, final]})
    kept = after_fraction(frame, ["run"], "data", 0.1)
    assert kept.tolist() == [False, True, True]
