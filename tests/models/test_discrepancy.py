"""Extrapolation discrepancy: zero inside the data, growing beyond it, tau learned from LFO."""

from __future__ import annotations

import numpy as np
import pytest

import models
from models.discrepancy import (
    FAR_DECADES,
    NEGLIGIBLE_TAU,
    TAU_GRID,
    Discrepancy,
    LFORecord,
    cut_log_density,
    distance,
    log10_ranges,
    point_log_density,
    tau_posterior,
)
from models.stacking import StackedDiscrepancy
from tests.utils import fake_fit

RANGES = {"params": (7.0, 9.0), "data": (9.0, 11.0)}


def test_distance_is_zero_inside_and_sums_squared_decades_per_input():
    x = {"params": np.array([1e8, 1e10, 1e10, 1e6]), "data": np.array([1e10, 1e10, 1e13, 1e10])}
    z = distance(x, RANGES, 2.0)
    np.testing.assert_allclose(z, [0.0, 1.0, 1.0 + 4.0, 1.0])
    # broadcasting shapes are kept (planning evaluates grids)
    grid = {"params": np.geomspace(1e6, 1e11, 6)[:, None], "data": np.full((1, 3), 1e10)}
    assert distance(grid, RANGES).shape == (6, 3)


def test_the_product_of_n_and_d_is_an_axis_and_compute_is_not_measured_twice():
    n = np.array([1e7, 1e8, 1e9, 1e7, 1e9])
    d = np.array([1e9, 1e10, 1e11, 1e11, 1e9])
    ranges = log10_ranges(
        {"params": n, "data": d, "compute": 6 * n * d}, ["params", "data", "compute"]
    )
    assert set(ranges) == {"params", "data", "params*data"}
    assert ranges["params*data"] == pytest.approx((16.0, 20.0))
    # N and steps: the same, for scale-time data
    steps = log10_ranges({"params": n, "steps": d}, ["params", "steps"])
    assert set(steps) == {"params", "steps", "params*steps"}
    # a lone compute (no N and D) stays an input of its own
    assert set(log10_ranges({"compute": n}, ["compute"])) == {"compute"}


def test_the_product_axis_sees_a_budget_beyond_the_data_inside_the_box():
    # a sweep whose largest model was not trained on the most data: N*D peaks at 1e19
    ranges = {**RANGES, "params*data": (16.0, 19.0)}
    x = {
        # inside everything; inside the box, 1 decade beyond the largest N*D; 1 decade beyond in
        # N alone (N*D inside); 1 decade beyond in N and D (3 in N*D)
        "params": np.array([1e8, 1e9, 1e10, 1e10]),
        "data": np.array([1e10, 1e11, 1e9, 1e12]),
    }
    np.testing.assert_allclose(distance(x, ranges, 2.0), [0.0, 1.0, 1.0, 9.0])
    np.testing.assert_allclose(distance(x, ranges, 1.0, combine=np.maximum), [0, 1, 1, 3])
    # a point with one factor only is measured along that factor
    np.testing.assert_allclose(distance({"params": np.array([1e10])}, ranges), [1.0])


def test_a_trained_point_widens_every_range_it_lies_outside():
    """What a planned run does to the discrepancy (value of information): the product axis
    moves with N and D, a factor the point lacks stays, tau's posterior is kept."""
    ranges = {**RANGES, "params*data": (16.0, 19.0)}
    before = Discrepancy(ranges, TAU_GRID, np.full(len(TAU_GRID), 1 / len(TAU_GRID)))
    after = before.extended({"params": 1e10, "data": 1e10})
    assert after.log10_ranges == {
        "params": (7.0, 10.0),
        "data": (9.0, 11.0),
        "params*data": (16.0, 20.0),
    }
    assert after.extended({"params": 1e6}).log10_ranges["params"] == (6.0, 10.0)
    np.testing.assert_array_equal(after.weights, before.weights)
    assert before.log10_ranges == ranges  # unchanged
    stacked = StackedDiscrepancy([before, before], np.array([0, 1, 1]))
    wider = stacked.extended({"params": 1e10, "data": 1e10})
    assert all(m.log10_ranges == after.log10_ranges for m in wider.members)
    np.testing.assert_array_equal(wider.member, stacked.member)


def test_leave_future_out_and_prediction_measure_the_same_distance():
    """A user's compute column must not enter the distance LFO learns tau at when predictions,
    asked at N and D only, cannot see it (until 2026-12-06 they differed)."""
    rng = np.random.default_rng(0)
    n, d = 10 ** rng.uniform(7, 9, 40), 10 ** rng.uniform(9, 11, 40)
    ranges = log10_ranges(
        {"params": n, "data": d, "compute": 6 * n * d}, ["params", "data", "compute"]
    )
    tn, td = 10 ** rng.uniform(6, 10, 30), 10 ** rng.uniform(8, 12, 30)
    as_lfo = distance({"params": tn, "data": td, "compute": 6 * tn * td}, ranges)
    as_predict = distance({"params": tn, "data": td}, ranges)
    np.testing.assert_array_equal(as_lfo, as_predict)
    assert (as_predict > 0).any()


def test_shift_vanishes_inside_the_data_and_grows_linearly_with_decades():
    disc = Discrepancy.from_prior(RANGES)
    x = {"params": np.array([1e8, 1e10, 1e11, 1e13]), "data": np.full(4, 1e10)}
    delta = disc.shift(x, 4000, seed=3)
    assert np.all(delta[0] == 0.0)
    sd = delta.std(axis=1)
    # one eta per draw: the shift is the same random function at every point, scaled by sqrt(Z)
    np.testing.assert_allclose(sd[2] / sd[1], 2.0, rtol=1e-9)
    np.testing.assert_allclose(sd[3] / sd[1], 4.0, rtol=1e-9)
    np.testing.assert_array_equal(disc.shift(x, 4000, seed=3), delta)  # seeded


def _records(tau: float, n_rows: int, seed: int, cuts: int = 1) -> list[LFORecord]:
    """Cuts whose held-out rows share one error eta * tau * decades (what the model assumes)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(cuts):
        z = rng.uniform(0.05, 1.0, n_rows) ** 2
        truth = rng.normal(0.0, 1.0) * tau * np.sqrt(z)
        mu = np.zeros((100, n_rows))
        sigma = np.full(100, 0.005)
        out.append(LFORecord(mu, sigma, None, truth + rng.normal(0, 0.005, n_rows), z))
    return out


@pytest.mark.parametrize("tau", [0.01, 0.1])
def test_tau_is_learned_from_leave_future_out_errors(tau):
    disc, per_row = tau_posterior(_records(tau, 20, seed=1, cuts=40), RANGES)
    s = disc.summary()
    # within one grid step (6 %) of the posterior's 90 % interval
    assert s["tau_lo_90"] / 1.08 < tau < s["tau_hi_90"] * 1.08
    assert s["tau_hi_90"] / s["tau_lo_90"] < 2.0  # 40 cuts pin it
    assert disc.source == "lfo" and per_row.shape == (800,)
    assert np.isclose(disc.weights.sum(), 1.0)


def test_the_rows_of_one_cut_are_one_observation_of_the_discrepancy():
    """300 rows above one cut pin their shared shift, not tau: the posterior stays wide."""
    disc, _ = tau_posterior(_records(0.05, 300, seed=3), RANGES)
    s = disc.summary()
    assert s["tau_hi_90"] / s["tau_lo_90"] > 10.0
    several, _ = tau_posterior(_records(0.05, 300, seed=3, cuts=20), RANGES)
    t = several.summary()
    assert t["tau_hi_90"] / t["tau_lo_90"] < s["tau_hi_90"] / s["tau_lo_90"] / 5


def test_cut_density_is_the_exact_marginal_of_a_shared_shift():
    """One draw, Normal noise: the rows are jointly N(0, sigma^2 I + tau^2 r r^T), r = sqrt(z)."""
    from scipy import stats

    rng = np.random.default_rng(4)
    for n, shift, sigma in [(5, 0.02, 0.01), (200, 0.05, 0.005), (200, -0.3, 0.002)]:
        z = rng.uniform(0.05, 1.0, n) ** 2
        r = np.sqrt(z)
        y = shift * r + rng.normal(0, sigma, n)
        got = cut_log_density(LFORecord(np.zeros((1, n)), np.array([sigma]), None, y, z), TAU_GRID)
        want = np.array(
            [
                stats.multivariate_normal(
                    np.zeros(n), sigma**2 * np.eye(n) + t**2 * np.outer(r, r)
                ).logpdf(y)
                for t in TAU_GRID
            ]
        )
        bulk = want > want.max() - 30  # where the posterior has mass
        np.testing.assert_allclose(got[bulk], want[bulk], atol=0.05)
        assert np.all(got[~bulk] < want.max() - 25)


def test_cut_density_of_a_student_t_mixture_matches_dense_quadrature():
    from scipy import special

    from models.discrepancy import _row_log_density_at_shifts

    rng = np.random.default_rng(5)
    n = 40
    z = rng.uniform(0.05, 1.0, n) ** 2
    mu = rng.normal(0, 0.01, (100, 1)) * np.sqrt(z)[None, :]
    y = 0.05 * np.sqrt(z) + 0.01 * rng.standard_t(3.0, n)
    rec = LFORecord(mu, np.full(100, 0.01), np.full(100, 3.0), y, z)
    taus = TAU_GRID[40:]  # above ~2e-3, where a uniform grid resolves the Gaussian
    got = cut_log_density(rec, taus)
    c = np.linspace(-6, 6, 120001)
    dense = np.concatenate(
        [_row_log_density_at_shifts(rec, c[i : i + 4000]).sum(1) for i in range(0, len(c), 4000)]
    )
    want = np.array(
        [
            special.logsumexp(dense - 0.5 * (c / t) ** 2)
            + np.log((c[1] - c[0]) / t)
            - 0.5 * np.log(2 * np.pi)
            for t in taus
        ]
    )
    bulk = want > want.max() - 30
    np.testing.assert_allclose(got[bulk], want[bulk], atol=0.05)


def test_each_group_above_a_cut_has_its_own_shift():
    """Two recipes off in opposite directions: one eta each explains them, a shared one cannot."""
    rng = np.random.default_rng(6)
    n = 60
    z = np.tile(rng.uniform(0.05, 1.0, n // 2) ** 2, 2)
    group = np.repeat(np.array(["a", "b"], dtype=object), n // 2)
    y = np.where(group == "a", 0.1, -0.1) * np.sqrt(z) + rng.normal(0, 0.005, n)
    mu, sigma = np.zeros((50, n)), np.full(50, 0.005)
    per_group = LFORecord(mu, sigma, None, y, z, group)
    assert [len(r.y) for r in per_group.by_group()] == [30, 30]
    tau_hat = TAU_GRID[np.argmax(cut_log_density(per_group, TAU_GRID))]
    assert 0.05 < tau_hat < 0.3
    one = cut_log_density(LFORecord(mu, sigma, None, y, z), TAU_GRID)
    assert one.max() < cut_log_density(per_group, TAU_GRID).max() - 100
    # a record of one group is scored as before
    alone = LFORecord(mu[:, :30], sigma, None, y[:30], z[:30], group[:30])
    np.testing.assert_array_equal(
        cut_log_density(alone, TAU_GRID),
        cut_log_density(LFORecord(mu[:, :30], sigma, None, y[:30], z[:30]), TAU_GRID),
    )


def test_a_cut_with_no_row_beyond_the_data_says_nothing_about_tau():
    rec = LFORecord(np.zeros((10, 3)), np.full(10, 0.01), None, np.zeros(3), np.zeros(3))
    assert np.all(cut_log_density(rec, TAU_GRID) == 0.0)


def test_without_records_the_prior_is_used():
    disc, per_row = tau_posterior([], RANGES)
    assert disc.source == "prior" and per_row.size == 0
    assert TAU_GRID[0] < disc.summary()["tau_median"] < TAU_GRID[-1]


def test_round_trip():
    disc, _ = tau_posterior(_records(0.05, 50, seed=2), RANGES)
    again = Discrepancy.from_dict(disc.to_dict())
    np.testing.assert_array_equal(again.weights, disc.weights)
    assert again.log10_ranges == disc.log10_ranges


def test_predictions_widen_beyond_the_data_only():
    fit = fake_fit(seed=1)
    inside = {
        "params": [fit.data.inputs["params"].mean()],
        "data": [fit.data.inputs["data"].mean()],
    }
    bare = fit.predict(inside, probs=(0.9,))
    fit.discrepancy = Discrepancy(
        log10_ranges(fit.data.inputs, ["params", "data"]), np.array([0.1]), np.array([1.0])
    )
    widened = fit.predict(inside, probs=(0.9,))
    for a, b in zip(bare.new_run_interval[0.9], widened.new_run_interval[0.9], strict=True):
        np.testing.assert_array_equal(a, b)  # interpolation: as sharp as without the term
    far = {k: [v[0] * 1e4] for k, v in inside.items()}
    fit.discrepancy = None
    narrow = fit.predict(far, probs=(0.9,))
    fit.discrepancy = Discrepancy(
        log10_ranges(fit.data.inputs, ["params", "data"]), np.array([0.1]), np.array([1.0])
    )
    wide = fit.predict(far, probs=(0.9,))
    width = lambda p: np.log(p.new_run_interval[0.9][1] / p.new_run_interval[0.9][0])  # noqa: E731
    assert width(wide)[0] > width(narrow)[0] + 0.2
    assert wide.decades[0] > FAR_DECADES and wide.warnings
    assert "decades beyond the data" in wide.warnings[0]
    assert wide.to_records()[0]["decades_beyond"] == pytest.approx(wide.decades[0])


def test_prediction_adds_exactly_the_shift_on_points_beyond_and_nothing_inside():
    """``Fit.predict`` adds ``Discrepancy.shift`` only where it is non-zero: same draws."""
    from models.build import scaled_inputs
    from models.posterior import group_draws, noise_draws
    from models.predict import predict_draws

    fit = fake_fit(seed=1)
    mid = {k: fit.data.inputs[k].mean() for k in ("params", "data")}
    points = {k: np.array([v, v * 1e3, v, v * 30.0]) for k, v in mid.items()}
    disc = Discrepancy(
        log10_ranges(fit.data.inputs, ["params", "data"]),
        np.array([0.05, 0.2]),
        np.array([0.5, 0.5]),
    )
    fit.discrepancy = disc
    got = fit.predict(points, probs=(0.9,), seed=5)
    params = group_draws(fit.draws, fit.family, fit.config.pooling, fit.groups, None, seed=5)
    x = scaled_inputs(points, fit.family.inputs, fit.scales)
    log_mean, log_new = predict_draws(
        fit.family.curve, x, params, noise_draws(fit.draws), fit.scales.loss, seed=6
    )
    shift = disc.shift(points, log_mean.shape[1], 7)
    assert (shift[[0, 2]] == 0).all() and (shift[[1, 3]] != 0).all()
    want = np.exp(np.quantile(log_new + shift, [0.05, 0.95], axis=1))
    np.testing.assert_allclose(got.new_run_interval[0.9], want, rtol=1e-6)
    draws = disc.tau_draws(log_mean.shape[1], 7)
    assert disc.tau_draws(log_mean.shape[1], 7) is draws and not draws.flags.writeable


def test_named_family_fits_carry_the_prior_discrepancy(mock_sampler):
    data = models.ScalingData(
        {"data": np.geomspace(1e8, 1e10, 20)},
        2.0 + 5 * np.geomspace(1e8, 1e10, 20) ** -0.2,
        np.array(["a"] * 20),
    )
    fit = models.fit(
        data,
        "power_law",
        family_options={"x": "data"},
        settings=models.SamplerSettings(draws=50, tune=50, chains=2),
    )
    assert fit.discrepancy is not None and fit.discrepancy.source == "prior"
    again = models.load_fit(models.fit_to_bytes(fit))
    assert again.discrepancy.to_dict() == fit.discrepancy.to_dict()


def test_rows_are_scored_over_taus_posterior_leaving_out_only_negligible_grid_values():
    from scipy import special

    records = _records(0.05, 15, seed=2, cuts=6)
    disc, per_row = tau_posterior(records, RANGES)
    assert np.sum(disc.weights < NEGLIGIBLE_TAU * disc.weights.max()) > 10  # some are skipped
    every = np.concatenate([point_log_density(r, TAU_GRID) for r in records], axis=1)
    with np.errstate(divide="ignore"):  # weights that underflowed to 0
        exact = special.logsumexp(every + np.log(disc.weights)[:, None], axis=0)
    np.testing.assert_allclose(per_row, exact, rtol=0, atol=1e-7)


def test_a_rows_density_is_the_mean_over_draws_without_overflow():
    # draws whose densities differ by ~1e5 nats: the largest sets the shift, nothing overflows
    mu = np.array([[0.0], [0.0], [5.0]])
    rec = LFORecord(mu, np.full(3, 0.01), None, np.zeros(1), np.zeros(1))
    normal = -0.5 * np.log(2 * np.pi * 0.01**2)
    np.testing.assert_allclose(point_log_density(rec, np.array([1e-4]))[0], normal + np.log(2 / 3))
