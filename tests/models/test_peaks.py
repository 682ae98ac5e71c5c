"""The location of the fitted curve's maximum (models.peaks), on fake posteriors (no MCMC)."""

from __future__ import annotations

import numpy as np
import pytest

import models
from models.errors import PredictionError
from models.peaks import curve_peak, interior_maximum
from tests.utils import fake_fit

# A steep base law (E small) under a wide bump: the curve's maximum lies ~17 % below kappa * D.
STEEP = {"E": 0.01, "A": 1.0, "alpha": 1.0, "kappa": 1.0, "h0": 1.0, "w": 0.5}
D = 100.0


def dd_fit(truth: dict[str, float], **kwargs: object) -> models.Fit:
    n = np.geomspace(10.0, 1000.0, 30)
    return fake_fit(
        "double_descent",
        truth,
        inputs={"params": n, "data": np.full(len(n), D)},
        **kwargs,  # type: ignore[arg-type]
    )


def brute_force_maximum(truth: dict[str, float], lo: float, hi: float) -> float:
    fam = models.get_family("double_descent")
    n = np.geomspace(lo, hi, 400_001)
    x = {"params": n, "data": np.full_like(n, D), "log_params": np.log(n)}
    x["log_data"] = np.log(x["data"])
    curve = np.log(fam.curve(np, x, truth))
    inner = (curve[1:-1] >= curve[:-2]) & (curve[1:-1] > curve[2:])
    (i,) = np.flatnonzero(inner)
    return float(n[i + 1])


def test_vertex_of_a_parabola_is_exact_between_grid_points() -> None:
    log_x = np.linspace(0.0, 1.0, 11)
    peaks = np.array([0.437, 0.5, 0.61])
    log_y = -((log_x[:, None] - peaks[None, :]) ** 2)
    assert np.log(interior_maximum(log_x, log_y)) == pytest.approx(peaks, abs=1e-12)


def test_no_interior_maximum_is_nan_and_the_highest_of_two_wins() -> None:
    log_x = np.linspace(0.0, 1.0, 21)
    falling = -log_x  # maximum at the left end: not a peak
    rising = log_x
    two = np.maximum(-50 * (log_x - 0.25) ** 2, 0.5 - 50 * (log_x - 0.75) ** 2)
    out = interior_maximum(log_x, np.stack([falling, rising, two], axis=1))
    assert np.isnan(out[0]) and np.isnan(out[1])
    assert np.log(out[2]) == pytest.approx(0.75, abs=1e-9)


def test_peak_is_the_curves_maximum_not_the_bump_centre() -> None:
    truth_max = brute_force_maximum(STEEP, 10.0, 1000.0)
    assert truth_max < 0.9 * STEEP["kappa"] * D  # the premise: centre and maximum differ
    fit = dd_fit(STEEP, chains=2, draws=200, spread=1e-6)
    peak = curve_peak(fit, "params", {"data": D})
    assert peak.probability == 1.0 and not peak.population
    assert peak.median == pytest.approx(truth_max, rel=2e-3)
    lo, hi = peak.interval(0.9)
    assert lo <= peak.median <= hi
    record = peak.to_record()
    assert record["axis"] == "params" and record["at"] == {"data": D}
    assert record["bracket"] == [10.0, 1000.0] and set(record["intervals"]) == {"50", "90"}


def test_posterior_spread_of_the_peak_follows_the_draws() -> None:
    tight = curve_peak(dd_fit(STEEP, chains=2, draws=300, spread=0.005), "params", {"data": D})
    wide = curve_peak(dd_fit(STEEP, chains=2, draws=300, spread=0.05), "params", {"data": D})

    def width(peak: models.Peak) -> float:
        lo, hi = peak.interval(0.9)
        return float(np.log(hi / lo))

    assert width(wide) > 3 * width(tight) > 0


def test_a_monotone_law_has_no_peak() -> None:
    fit = fake_fit("chinchilla", chains=2, draws=100)
    peak = curve_peak(fit, "params", {"data": 1e10})
    assert peak.probability == 0.0 and peak.median is None and peak.interval(0.9) is None
    assert peak.to_record()["intervals"] == {"50": None, "90": None}


def test_bracket_excluding_the_peak_finds_none() -> None:
    fit = dd_fit(STEEP, chains=2, draws=50, spread=1e-6)
    assert curve_peak(fit, "params", {"data": D}, bracket=(200.0, 1000.0)).probability == 0.0


def test_new_group_peak_draws_from_the_population() -> None:
    fit = dd_fit(STEEP, chains=2, draws=200, groups=["a", "b"], spread=0.01)
    own = curve_peak(fit, "params", {"data": D}, group="a")
    new = curve_peak(fit, "params", {"data": D})
    assert not own.population and new.population and new.group is None
    assert np.isfinite(new.draws).mean() > 0.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"axis": "steps", "at": {"data": D}}, "axis"),
        ({"axis": "params", "at": {}}, "at"),
        ({"axis": "params", "at": {"data": D, "steps": 3.0}}, "at"),
        ({"axis": "params", "at": {"data": 0.0}}, "at"),
        ({"axis": "params", "at": {"data": float("nan")}}, "at"),
        ({"axis": "params", "at": {"data": D}, "bracket": (5.0, 1.0)}, "bracket"),
        ({"axis": "params", "at": {"data": D}, "bracket": (0.0, 1.0)}, "bracket"),
        ({"axis": "params", "at": {"data": D}, "group": "nope"}, "group"),
        ({"axis": "data", "at": {"params": 50.0}}, "bracket"),  # D never varies
    ],
)
def test_bad_requests_name_the_field(kwargs: dict[str, object], field: str) -> None:
    fit = dd_fit(STEEP, chains=2, draws=20)
    with pytest.raises(PredictionError) as err:
        curve_peak(fit, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_stacked_fit_peaks_in_its_double_descent_members_share_of_draws() -> None:
    """Family auto: the mixture's draws come from each law by its weight; only the
    double-descent member's curves peak, at that member's maximum."""
    from models.auto import combine
    from models.discrepancy import Discrepancy, log10_ranges

    n = np.geomspace(10.0, 1000.0, 30)
    inputs = {"params": n, "data": np.full(len(n), D)}
    members = [
        dd_fit(STEEP, chains=2, draws=500, spread=1e-6),
        fake_fit("chinchilla", inputs=inputs, chains=2, draws=500),
    ]
    for m in members:
        m.discrepancy = Discrepancy.from_prior(log10_ranges(m.data.inputs, m.family.inputs))
    stacked = combine(members, np.array([0.6, 0.4]), members[0].data, None, members[0].settings)
    peak = curve_peak(stacked, "params", {"data": D})
    assert peak.probability == pytest.approx(0.6, abs=0.03)
    assert peak.median == pytest.approx(brute_force_maximum(STEEP, 10.0, 1000.0), rel=2e-3)
