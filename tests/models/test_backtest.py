"""Backtest split and scoring on hand-made numbers; the fit itself is replaced (no NUTS)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import models
from models import DataError, PredictionError, ScalingData
from models.backtesting import (
    CALIBRATION_PROBS,
    backtest,
    holdout_split,
    score,
    score_fit,
    score_groups,
    split,
)
from models.predict import Prediction
from models.simulate import simulate
from tests.utils import CHINCHILLA_TRUTH, chinchilla_inputs, fake_fit, replace_fit


def hand_data() -> ScalingData:
    return ScalingData(
        {"params": [4.0, 1.0, 3.0, 2.0, 10.0, 30.0, 20.0], "data": [9, 9, 9, 1, 5, 5, 50]},
        loss=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        group=["a", "a", "a", "a", "b", "b", "b"],
    )


def prediction(median, intervals) -> Prediction:
    n = len(median)
    return Prediction(
        points=pd.DataFrame({"params": np.arange(1.0, n + 1)}),
        group="g",
        population=False,
        probs=tuple(intervals),
        median=np.asarray(median, dtype=float),
        mean=np.asarray(median, dtype=float),
        mean_interval={p: (np.asarray(lo), np.asarray(hi)) for p, (lo, hi) in intervals.items()},
        new_run_interval={p: (np.asarray(lo), np.asarray(hi)) for p, (lo, hi) in intervals.items()},
        region=["interpolation"] * n,
        distance=np.zeros(n),
    )


class TestSplit:
    def test_below_needs_every_named_input_under_its_threshold(self):
        train, test = split(hand_data(), below={"params": 5.0, "data": 9.0})
        assert sorted(train.loss.tolist()) == [1.0, 2.0, 3.0, 4.0]
        assert sorted(test.loss.tolist()) == [5.0, 6.0, 7.0]
        train, _ = split(hand_data(), below={"params": 25.0, "data": 5.0})
        assert sorted(train.loss.tolist()) == [4.0, 5.0]

    def test_fraction_takes_the_start_of_each_groups_curve(self):
        train, test = split(hand_data(), fraction=0.5)  # ordered by params
        # group a by params: 1 (2.0), 2 (4.0) | 3 (3.0), 4 (1.0); group b: 10 (5.0), 20 (7.0) | 30
        assert sorted(train.loss.tolist()) == [2.0, 4.0, 5.0, 7.0]
        assert sorted(test.loss.tolist()) == [1.0, 3.0, 6.0]
        train, _ = split(hand_data(), fraction=0.25, by="data")
        # a: data 1 (4.0) first; b: round(0.75) = 1 row, data 5 (ties keep row order: 5.0)
        assert sorted(train.loss.tolist()) == [4.0, 5.0]
        train, test = split(hand_data(), fraction=0.01)  # at least one row each side
        assert len(train) == 2 and len(test) == 5

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({}, "below"),
            ({"below": {"params": 1.0}, "fraction": 0.5}, "below"),
            ({"below": {"steps": 1.0}}, "steps"),
            ({"below": {"params": 100.0}}, "below"),  # nothing left to test
            ({"below": {"params": 0.5}}, "below"),  # nothing to train on
            ({"fraction": 1.0}, "fraction"),
            ({"fraction": 0.5, "by": "steps"}, "by"),
        ],
    )
    def test_bad_splits_are_refused(self, kwargs, field):
        with pytest.raises(DataError) as err:
            split(hand_data(), **kwargs)
        assert err.value.field == field


class TestScore:
    def test_scores_on_hand_made_numbers(self):
        e = math.e
        y = np.array([1.0, 1.0, 1.0, 1.0])
        pred = prediction(
            [1.0, e, 1 / e, 1.0],
            {
                0.5: ([0.5, 2.0, 0.2, 0.9], [2.0, 3.0, 0.5, 1.1]),
                0.9: ([0.5, 0.5, 0.2, 0.5], [2.0, 3.0, 2.0, 2.0]),
            },
        )
        s = score(pred, y, probs=(0.5, 0.9))
        assert s.n == 4
        assert s.rmse_log == pytest.approx(math.sqrt(2 / 4))  # log errors 0, 1, -1, 0
        assert s.mean_log_error == pytest.approx(0.0)
        assert s.mare == pytest.approx((0 + (e - 1) + (1 - 1 / e) + 0) / 4)
        assert s.coverage == {0.5: 0.5, 0.9: 1.0}
        widths = np.log([2.0 / 0.5, 3.0 / 2.0, 0.5 / 0.2, 1.1 / 0.9])
        assert s.width_log[0.5] == pytest.approx(widths.mean())
        # misses at 0.5: point 2 below lo by log 2, point 3 above hi by log 2; 2/alpha = 4
        assert s.interval_score[0.5] == pytest.approx(widths.mean() + 4 * 2 * math.log(2) / 4)
        assert s.calibration == ((0.5, 0.5), (0.9, 1.0))
        out = json.loads(json.dumps(s.to_dict(), allow_nan=False))
        assert out["coverage"] == {"50": 0.5, "90": 1.0}

    def test_interval_score_prefers_the_calibrated_interval(self):
        """A proper score: neither an over-wide nor an over-narrow interval beats the truth."""
        rng = np.random.default_rng(0)
        y = np.exp(rng.standard_normal(4000))
        med = np.ones_like(y)

        def s(z):
            return score(prediction(med, {0.9: (med * np.exp(-z), med * np.exp(z))}), y, (0.9,))

        right = s(1.6449)
        assert right.coverage[0.9] == pytest.approx(0.9, abs=0.015)
        assert right.interval_score[0.9] < s(1.0).interval_score[0.9]
        assert right.interval_score[0.9] < s(2.5).interval_score[0.9]

    def test_missing_level_or_length_is_refused(self):
        pred = prediction([1.0], {0.9: ([0.5], [2.0])})
        with pytest.raises(PredictionError) as err:
            score(pred, [1.0], probs=(0.5,))
        assert err.value.field == "prob"
        with pytest.raises(PredictionError) as err:
            score(pred, [1.0, 2.0], probs=(0.9,))
        assert err.value.field == "loss"

    def test_score_fit_is_calibrated_on_data_from_its_own_law(self):
        fit = fake_fit(spread=0.002, draws=500)
        test = simulate(
            fit.family, CHINCHILLA_TRUTH, chinchilla_inputs(2000, seed=7), noise=0.02, seed=7
        )
        # predict seed 5: see test_planning (fake_fit's jitter stream is default_rng(seed + 1))
        s = score_fit(fit, test, seed=5)
        assert [p for p, _ in s.calibration] == list(CALIBRATION_PROBS)
        for nominal, empirical in s.calibration:  # 2000 points: binomial sd <= 0.011
            assert empirical == pytest.approx(nominal, abs=0.045)
        assert s.rmse_log == pytest.approx(0.02, rel=0.1)


class TestBacktest:
    def test_backtest_fits_the_training_part_and_scores_each_group(self, monkeypatch):
        groups = ["a", "b"]
        truth = {**CHINCHILLA_TRUTH, "E": [1.7, 1.9]}
        data = simulate(
            models.get_family("chinchilla"), truth, chinchilla_inputs(30), groups=groups
        )
        calls = []

        def fake(train, spec, **kwargs):
            calls.append((train, spec, kwargs))
            return fake_fit(truth=truth, groups=groups, spread=0.005)

        replace_fit(monkeypatch, fake)
        settings = models.SamplerSettings(draws=10)
        res = backtest(data, "chinchilla", below={"params": 3e8}, settings=settings, seed=5)
        ((train, spec, kwargs),) = calls
        assert np.all(train.inputs["params"] <= 3e8) and spec.settings == settings and not kwargs
        assert res.n_train == len(train) and res.n_train + res.n_test == len(data)
        assert set(res.groups) == {"a", "b"}
        n_test = sum(s.n for s in res.groups.values())
        assert res.overall.n == n_test == res.n_test
        assert res.overall.rmse_log < 0.05 and res.overall.coverage[0.95] > 0.8
        out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
        assert out["split"] == {"below": {"params": 3e8}} and out["family"] == "chinchilla"

    def test_fraction_split_defaults_to_the_familys_first_input(self, monkeypatch):
        data = simulate(models.get_family("chinchilla"), CHINCHILLA_TRUTH, chinchilla_inputs(20))
        replace_fit(monkeypatch, lambda train, family, **kw: fake_fit())
        res = backtest(data, "chinchilla", fraction=0.75)
        assert res.split == {"fraction": 0.75, "by": "params"} and res.n_test == 5

    def test_the_halves_around_the_fit_give_what_backtest_gives(self, monkeypatch):
        """holdout_split + score_groups (what a fit job runs) equal backtest's own answer."""
        data = simulate(
            models.get_family("chinchilla"), CHINCHILLA_TRUTH, chinchilla_inputs(20), groups=["a"]
        )
        replace_fit(monkeypatch, lambda train, family, **kw: fake_fit())
        res = backtest(data, "chinchilla", fraction=0.75, seed=3)
        train, test, how = holdout_split(data, "chinchilla", fraction=0.75)
        assert how == res.split and (len(train), len(test)) == (res.n_train, res.n_test)
        overall, groups = score_groups(res.fit, test, seed=3)
        assert overall == res.overall and groups == dict(res.groups)
        with pytest.raises(DataError) as err:  # the family's inputs are checked before splitting
            holdout_split(data, "power_law", family_options={"x": "steps"}, fraction=0.5)
        assert err.value.field == "steps"
