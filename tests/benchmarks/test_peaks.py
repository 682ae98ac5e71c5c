"""The peak-location benchmark's scoring (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest

import models
from benchmarks.peaks import LABEL_NOISE_VARIANT, Curve, observed_peak, score, summary
from tests.models.test_peaks import STEEP, dd_fit


def test_observed_peak_is_the_parabola_vertex_on_uneven_spacing() -> None:
    x = np.exp(np.array([0.0, 0.3, 0.5, 1.1, 1.4, 2.0]))
    loss = np.exp(-((np.log(x) - 0.9) ** 2)) * np.exp(-0.1 * np.log(x))
    expected = 0.9 - 0.05  # vertex of -(u - 0.9)^2 - 0.1 u
    assert np.log(observed_peak(x[::-1], loss[::-1])) == pytest.approx(expected, abs=1e-9)


def test_no_interior_maximum_is_none() -> None:
    x = np.geomspace(1, 100, 10)
    assert observed_peak(x, 1 / x) is None
    assert observed_peak(x, x) is None


def test_score_and_summary_on_a_known_peak() -> None:
    fit = dd_fit(STEEP, chains=2, draws=200, spread=0.01)
    n = np.geomspace(10.0, 1000.0, 30)
    true_max = models.curve_peak(fit, "params", {"data": 100.0}).median
    covered = Curve("hit", "params", {"data": 100.0}, n, np.exp(-((np.log(n / true_max)) ** 2)))
    missed = Curve("miss", "params", {"data": 100.0}, n, np.exp(-((np.log(n / 300.0)) ** 2)))
    flat = Curve("flat", "params", {"data": 100.0}, n, 1 / n)
    records = [{"family": "double_descent"} | score(fit, c) for c in (covered, missed, flat)]
    hit, miss, none = records
    assert hit["maximum_covers"] and not miss["maximum_covers"]
    assert miss["maximum_ratio"] == pytest.approx(true_max / 300.0, rel=0.02)
    # the bump's centre kappa * D = 100 lies above the maximum (~85): it misses the true maximum
    assert hit["centre_median"] == pytest.approx(100.0, rel=0.02) and not hit["centre_covers"]
    assert none["excluded"] and "maximum_covers" not in none
    fits = [
        {"family": "double_descent", "converged": True},
        {"family": LABEL_NOISE_VARIANT, "converged": False},
    ]
    variant = {**hit, "family": LABEL_NOISE_VARIANT}
    out = summary([*records, variant], fits)
    assert out["all"]["curves"] == 2 and out["all"]["excluded"] == 1
    assert out["all"]["maximum_coverage"] == 0.5
    # the variant counts in its own row and in the aggregate that puts it in random_features' place
    assert out[LABEL_NOISE_VARIANT]["curves"] == 1
    assert out["all, label-noise variant"]["curves"] == 3
    assert out["all, label-noise variant"]["maximum_coverage"] == pytest.approx(2 / 3)
    assert out["converged_fits, all"] == "1 of 1"
    assert out["converged_fits, all, label-noise variant"] == "1 of 2"
