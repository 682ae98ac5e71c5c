import json
import platform
import sys

import numpy as np
import pytest

import models
import models.predict as predict_module
from models import PredictionError, Scales, allocator
from models.build import scaled_inputs
from models.discrepancy import Discrepancy, log10_ranges
from models.predict import predict_draws, summarize_draws
from tests.utils import CHINCHILLA_TRUTH, fake_fit

GROUPS = ["a", "b", "c"]
HIER_TRUTH = {
    "E": [1.7, 1.8, 1.9],
    "A": 480.0,
    "B": 2000.0,
    "alpha": [0.3, 0.34, 0.38],
    "beta": 0.36,
}
POINTS = {"params": np.geomspace(1e8, 1e11, 7), "data": np.geomspace(2e9, 2e12, 7)}


@pytest.fixture(scope="module")
def single():
    # posterior narrower than the 2 % run-to-run noise, as with a well-measured law
    return fake_fit(spread=0.005)


@pytest.fixture(scope="module")
def hierarchical():
    return fake_fit(truth=HIER_TRUTH, groups=GROUPS)


def true_loss(params, data, t=CHINCHILLA_TRUTH):
    return t["E"] + t["A"] * params ** -t["alpha"] + t["B"] * data ** -t["beta"]


class TestIntervals:
    def test_median_tracks_the_true_curve(self, single):
        """Prediction must reproduce the law it was fitted with (units, scales, log inputs)."""
        pred = single.predict(POINTS)
        np.testing.assert_allclose(
            pred.median, true_loss(POINTS["params"], POINTS["data"]), rtol=0.03
        )

    def test_intervals_nest_and_new_run_is_wider(self, single):
        """A new run adds observation noise, so its interval must contain the mean curve's."""
        pred = single.predict(POINTS, probs=(0.5, 0.9))
        for p in (0.5, 0.9):
            lo, hi = pred.mean_interval[p]
            nlo, nhi = pred.new_run_interval[p]
            assert np.all(lo <= pred.median) and np.all(pred.median <= hi)
            assert np.all(nhi - nlo > hi - lo)
        assert np.all(
            np.diff(pred.mean_interval[0.9], axis=0) > np.diff(pred.mean_interval[0.5], axis=0)
        )
        assert pred.interval_kind == "equal-tailed"

    def test_student_t_noise_gives_heavier_new_run_tails(self):
        """The robust likelihood's new-run draws come from a Student-t, not a Normal."""
        fam = models.get_family("power_law")
        x = scaled_inputs({"params": np.array([1.0])}, fam.inputs, Scales({"params": 1.0}, 1.0))
        params = {"E": np.full(20000, 1.0), "A": np.full(20000, 1.0), "alpha": np.full(20000, 0.5)}
        sigma = np.full(20000, 0.1)
        _, normal = predict_draws(fam.curve, x, params, {"sigma": sigma}, 1.0, seed=1)
        _, heavy = predict_draws(
            fam.curve, x, params, {"sigma": sigma, "nu": np.full(20000, 3.0)}, 1.0, seed=1
        )
        q = lambda d: np.subtract(*np.quantile(d[0], [0.975, 0.025]))  # noqa: E731
        assert q(heavy) > 1.2 * q(normal)
        assert q(normal) == pytest.approx(2 * 1.96 * 0.1, rel=0.05)

    def test_summaries_are_numpys_quantiles(self):
        """One sort per array reads off what np.quantile (linear) gives, level by level."""
        rng = np.random.default_rng(4)
        log_mean = rng.normal(0.5, 0.1, (6, 1001))
        log_new = log_mean + rng.normal(0.0, 0.05, (6, 1001))
        log_mean[2, 7] = np.nan  # an invalid draw makes its point NaN, as np.quantile does
        median, mean, mean_iv, new_iv = summarize_draws(log_mean, log_new, (0.5, 0.9))
        with np.errstate(invalid="ignore"):
            want = lambda d, q: np.exp(np.quantile(d, q, axis=1))  # noqa: E731
            np.testing.assert_allclose(median, want(log_mean, 0.5), rtol=1e-6)
            np.testing.assert_allclose(mean, np.exp(log_mean).mean(axis=1), rtol=1e-6)
            for p in (0.5, 0.9):
                for got, ends in ((mean_iv[p], log_mean), (new_iv[p], log_new)):
                    np.testing.assert_allclose(got[0], want(ends, (1 - p) / 2), rtol=1e-6)
                    np.testing.assert_allclose(got[1], want(ends, (1 + p) / 2), rtol=1e-6)
        assert np.isnan(median[2]) and np.isnan(mean_iv[0.9][0][2])
        assert np.isfinite(np.delete(median, 2)).all()

    def test_new_run_noise_is_one_variate_per_draw(self):
        """Draw s adds one scaled variate at every point: S variates, exact marginals."""
        fam = models.get_family("power_law")
        x = scaled_inputs(
            {"params": np.geomspace(1e8, 1e10, 5)}, fam.inputs, Scales({"params": 1e9}, 1.0)
        )
        s = 3000
        params = {"E": np.full(s, 1.0), "A": np.full(s, 1.0), "alpha": np.full(s, 0.5)}
        sigma = np.linspace(0.05, 0.15, s)
        log_mean, log_new = predict_draws(fam.curve, x, params, {"sigma": sigma}, 2.0, seed=3)
        eps = (log_new - log_mean) / sigma
        np.testing.assert_allclose(eps, np.broadcast_to(eps[0], eps.shape), atol=1e-12)
        assert abs(eps[0].mean()) < 0.1 and eps[0].std() == pytest.approx(1.0, abs=0.05)
        _, again = predict_draws(fam.curve, x, params, {"sigma": sigma}, 2.0, seed=3)
        np.testing.assert_array_equal(again, log_new)

    def test_same_seed_same_answer(self, hierarchical):
        """Predictions are reproducible: population and noise draws are seeded."""
        a = hierarchical.predict(POINTS, seed=3).to_frame()
        b = hierarchical.predict(POINTS, seed=3).to_frame()
        assert a.equals(b)


class TestGroups:
    def test_new_group_draws_from_population_and_is_wider(self, hierarchical):
        """An unseen architecture borrows from the population with honest, wider intervals."""
        seen = hierarchical.predict(POINTS, group="b", probs=(0.9,))
        new = hierarchical.predict(POINTS, probs=(0.9,))
        assert not seen.population and seen.group == "b"
        assert new.population and new.group is None
        w = lambda p: p.mean_interval[0.9][1] - p.mean_interval[0.9][0]  # noqa: E731
        assert np.all(w(new) > w(seen))

    def test_unseen_name_is_refused_unless_a_new_group_is_asked_for(self, hierarchical):
        """A typo must not silently answer for the population (issue 15, item 10)."""
        with pytest.raises(PredictionError, match="unknown group 'brand-new'") as exc:
            hierarchical.predict(POINTS, group="brand-new")
        assert exc.value.field == "group"
        pred = hierarchical.predict(POINTS, group="brand-new", new_group=True)
        assert pred.population and pred.group == "brand-new"

    def test_groups_differ_where_their_floors_differ(self, hierarchical):
        """Per-group parameters reach prediction: each group follows its own law."""
        for i, g in enumerate(GROUPS):
            truth = {k: (v[i] if isinstance(v, list) else v) for k, v in HIER_TRUTH.items()}
            pred = hierarchical.predict(POINTS, group=g).median
            np.testing.assert_allclose(
                pred, true_loss(POINTS["params"], POINTS["data"], truth), rtol=0.03
            )

    def test_independent_parameters_cannot_predict_a_new_group(self):
        """No population exists for an independent parameter; say so instead of guessing."""
        fit = fake_fit(truth=HIER_TRUTH, groups=GROUPS, pooling={"E": "independent"})
        with pytest.raises(PredictionError, match="'E' is fitted independently") as exc:
            fit.predict(POINTS, group="unseen", new_group=True)
        assert exc.value.field == "group"


class TestExtrapolationLabels:
    def test_inside_observed_range_is_interpolation(self, single):
        obs = single.data.inputs
        mid = {k: [float(np.exp(np.log(v).mean()))] for k, v in obs.items()}
        pred = single.predict(mid)
        assert pred.region == ["interpolation"] and pred.distance[0] == 0.0

    def test_distance_is_in_units_of_the_observed_log_range(self, single):
        obs = single.data.inputs
        lo, hi = np.log(obs["params"].min()), np.log(obs["params"].max())
        point = {
            "params": [float(np.exp(hi + 0.5 * (hi - lo)))],
            "data": [float(np.exp(np.log(obs["data"]).mean()))],
        }
        pred = single.predict(point)
        assert pred.region == ["extrapolation"]
        assert pred.distance[0] == pytest.approx(0.5)

    def test_a_budget_beyond_the_data_inside_the_box_is_extrapolation(self, single):
        """N and D each inside their ranges, N*D beyond the largest: labelled, and the
        discrepancy measures it too."""
        obs = single.data.inputs
        product = np.log(obs["params"]) + np.log(obs["data"])
        point = {"params": [float(obs["params"].max())], "data": [float(obs["data"].max())]}
        assert np.log(point["params"][0]) + np.log(point["data"][0]) > product.max()
        pred = single.predict(point)
        assert pred.region == ["extrapolation"] and pred.distance[0] > 0
        disc = Discrepancy.from_prior(log10_ranges(obs, ["params", "data"]))
        assert disc.decades(point)[0] > 0 and disc.distance(point)[0] > 0


class TestRequests:
    @pytest.mark.parametrize(
        ("points", "field"),
        [
            ({"params": [1e9]}, "data"),
            ({"params": [-1.0], "data": [1e10]}, "params"),
            ({"params": [1e9], "data": [float("nan")]}, "data"),
            ({"params": [0.0], "data": [1e10]}, "params"),
            ([{"params": 1e9, "data": "lots"}], "data"),
            ([{"params": 1e9, "data": 1e10}, {"params": 2e9}], "data"),
            ([{"params": None, "data": 1e10}], "params"),
            ({"params": [], "data": []}, "points"),
        ],
    )
    def test_bad_points_name_the_field(self, single, points, field):
        with pytest.raises(PredictionError) as exc:
            single.predict(points)
        assert exc.value.field == field

    @pytest.mark.parametrize("probs", [(), (0.0,), (1.0,), (1.5,)])
    def test_bad_probabilities(self, single, probs):
        with pytest.raises(PredictionError, match="probabilities"):
            single.predict(POINTS, probs=probs)

    def test_accepts_frames_and_record_lists(self, single):
        import pandas as pd

        records = [{"params": 1e9, "data": 2e10}, {"params": 2e9, "data": 4e10}]
        a = single.predict(records).median
        b = single.predict(pd.DataFrame(records)).median
        np.testing.assert_array_equal(a, b)

    def test_records_are_json_ready(self, single):
        rows = single.predict(POINTS, probs=(0.5, 0.9)).to_records()
        text = json.dumps(rows)
        assert '"mean_interval": {"50": [' in text and '"90"' in text
        assert rows[0]["region"] in ("interpolation", "extrapolation")


class TestSpeedups:
    """Threads and the allocator setting change how fast a prediction is, never what it says."""

    def test_threaded_and_serial_predictions_are_identical(self, monkeypatch):
        fit = fake_fit(chains=4, draws=1000)
        rng = np.random.default_rng(3)
        n = np.exp(rng.uniform(np.log(2e7), np.log(2e10), 100))
        points = {"params": n, "data": n * 20}
        threaded = fit.predict(points)
        assert 100 * 4000 >= predict_module._PARALLEL_MIN  # this call took the threaded path
        monkeypatch.setattr(predict_module, "_PARALLEL_MIN", 10**12)
        serial = fit.predict(points)
        np.testing.assert_array_equal(threaded.median, serial.median)
        np.testing.assert_array_equal(threaded.mean, serial.mean)
        for p in threaded.probs:
            for a, b in zip(threaded.new_run_interval[p], serial.new_run_interval[p], strict=True):
                np.testing.assert_array_equal(a, b)
            for a, b in zip(threaded.mean_interval[p], serial.mean_interval[p], strict=True):
                np.testing.assert_array_equal(a, b)

    def test_allocator_tuning_can_be_switched_off(self, monkeypatch):
        monkeypatch.setattr(allocator, "_done", None)
        monkeypatch.setenv("BAYESCALE_MALLOC_TUNING", "0")
        assert allocator.keep_large_blocks() is False
        assert allocator.keep_large_blocks() is False  # decided once per process

    @pytest.mark.skipif(
        not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
        reason="mallopt is glibc's",
    )
    def test_allocator_tuning_is_applied_on_glibc(self, monkeypatch):
        monkeypatch.setattr(allocator, "_done", None)
        monkeypatch.delenv("BAYESCALE_MALLOC_TUNING", raising=False)
        assert allocator.keep_large_blocks() is True


def test_a_forked_process_predicts_on_its_own_threads():
    """A worker forked after its parent predicted gets threads of its own (else it would hang)."""
    import multiprocessing

    fit = fake_fit(chains=4, draws=1000)
    points = {"params": np.geomspace(1e8, 1e10, 100), "data": np.geomspace(1e9, 1e11, 100)}
    expected = fit.predict(points).median  # the parent's executor exists now
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_median_in_child, (fit, points)).get(timeout=60)
    np.testing.assert_array_equal(got, expected)


def _median_in_child(fit, points):
    return fit.predict(points).median
