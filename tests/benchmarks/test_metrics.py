"""Sample-based scores: CRPS against its closed form, intervals against models.backtest."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.metrics import crps, mean_over_tasks, score_samples
from models.backtesting import score_arrays


def test_crps_matches_the_gaussian_closed_form() -> None:
    """CRPS(N(0, s), y=0) = s (2 phi(0) - 1/sqrt(pi)); at y = s it is larger."""
    rng = np.random.default_rng(0)
    s = 0.3
    samples = rng.normal(0.0, s, (2, 20000))
    got = crps(samples, np.array([0.0, 0.0]))
    assert got == pytest.approx(s * (2 / np.sqrt(2 * np.pi) - 1 / np.sqrt(np.pi)), rel=0.02)
    assert crps(samples, np.array([s, s])) > got


def test_crps_of_a_point_mass_is_the_absolute_error() -> None:
    samples = np.full((3, 50), 1.0)
    assert crps(samples, np.array([1.0, 1.5, 0.0])) == pytest.approx((0 + 0.5 + 1.0) / 3)


def test_calibrated_samples_cover_at_nominal_rates() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.5, 1.5, 3000)
    # each point's predictive is N(mu, 0.1) and the observation is a draw from it
    mu = truth + 0.1 * rng.standard_normal(3000)
    samples = mu[:, None] + 0.1 * rng.standard_normal((3000, 1000))
    out = score_samples(samples, np.exp(truth))
    for level, value in out["coverage"].items():
        assert value == pytest.approx(int(level) / 100, abs=0.03)
    assert out["rmse_log"] == pytest.approx(0.1, rel=0.05)
    assert out["width_log"]["90"] == pytest.approx(2 * 1.645 * 0.1, rel=0.03)
    assert len(out["calibration"]) == 19


def test_scores_equal_the_products_backtest_scoring() -> None:
    """Median and intervals are sample quantiles of log loss, scored by score_arrays."""
    rng = np.random.default_rng(2)
    samples = rng.normal(1.0, 0.2, (7, 400))
    y = np.exp(rng.normal(1.0, 0.2, 7))
    out = score_samples(samples, y, probs=(0.5, 0.9))
    q = np.exp(np.quantile(samples, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1))
    ref = score_arrays(q[2], {0.5: (q[1], q[3]), 0.9: (q[0], q[4])}, y, (0.5, 0.9)).to_dict()
    for key in ("rmse_log", "mare", "mean_log_error"):
        assert out[key] == pytest.approx(ref[key])
    assert out["coverage"] == pytest.approx(ref["coverage"])
    assert out["interval_score"] == pytest.approx(ref["interval_score"])


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="do not match 3 observed"):
        score_samples(np.zeros((2, 10)), np.ones(3))


def test_mean_over_tasks_weights_tasks_equally() -> None:
    rng = np.random.default_rng(3)
    a = score_samples(rng.normal(0, 0.1, (4, 200)), np.ones(4))
    b = score_samples(rng.normal(0.5, 0.1, (40, 200)), np.ones(40))
    mean = mean_over_tasks([a, b])
    assert mean["rmse_log"] == pytest.approx((a["rmse_log"] + b["rmse_log"]) / 2)
    assert mean["coverage"]["90"] == pytest.approx((a["coverage"]["90"] + b["coverage"]["90"]) / 2)
    assert mean["n_tasks"] == 2


def test_point_prediction_is_the_median_of_the_curve_samples() -> None:
    """With curve samples given, the median ignores run-to-run noise (as Fit.predict's does)."""
    rng = np.random.default_rng(4)
    curve = np.full((3, 100), np.log(2.0))
    noisy = np.log(2.0) + 0.3 + 0.1 * rng.standard_normal((3, 100))  # shifted on purpose
    y = np.full(3, 2.0)
    assert score_samples(noisy, y, log_curve=curve)["rmse_log"] == pytest.approx(0.0, abs=1e-12)
    assert score_samples(noisy, y)["rmse_log"] == pytest.approx(0.3, abs=0.05)
