"""Stacking weights, the stacked posterior and the stacked law (no MCMC)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import optimize, special

import models
from models.diagnostics import Diagnostics, FitWarning
from models.stacking import (
    Stacked,
    prefix,
    reweighted_stacking_weights,
    stacked_diagnostics,
    stacked_posterior,
    stacking_weights,
    weight_intervals,
)
from tests.utils import fake_fit


def _objective(w: np.ndarray, lpd: np.ndarray) -> float:
    return float(special.logsumexp(lpd + np.log(w)[:, None], axis=0).sum())


def test_weights_reach_the_optimum_of_the_stacking_objective():
    rng = np.random.default_rng(0)
    lpd = rng.normal(0, 1, (3, 40)) + np.array([[0.5], [0.0], [-1.0]])
    w = stacking_weights(lpd)
    assert np.isclose(w.sum(), 1.0) and np.all(w >= 0)
    # brute force over the simplex (softmax parametrisation) agrees
    best = optimize.minimize(
        lambda v: -_objective(special.softmax(np.r_[0.0, v]), lpd),
        np.zeros(2),
        method="Nelder-Mead",
    )
    assert _objective(w, lpd) >= -best.fun - 1e-6


def test_a_law_that_predicts_every_row_better_takes_all_the_weight():
    lpd = np.vstack([np.full(30, -1.0), np.full(30, -5.0)])
    np.testing.assert_allclose(stacking_weights(lpd), [1.0, 0.0], atol=1e-6)


def test_complementary_laws_share_the_weight():
    # each law predicts half the rows well: a selection would lose half, stacking keeps both
    good, bad = np.full(20, 0.0), np.full(20, -8.0)
    lpd = np.vstack([np.r_[good, bad], np.r_[bad, good]])
    np.testing.assert_allclose(stacking_weights(lpd), [0.5, 0.5], atol=1e-3)


def test_weight_intervals_are_narrow_where_the_rows_decide_and_wide_where_they_do_not():
    rng = np.random.default_rng(3)
    clear = np.vstack([rng.normal(-1.0, 0.3, 80), rng.normal(-4.0, 0.3, 80)])
    np.testing.assert_allclose(weight_intervals(clear), [[1.0, 1.0], [0.0, 0.0]], atol=1e-3)
    # two laws that predict alike up to noise: the rows cannot choose, the intervals say so
    alike = np.vstack([rng.normal(-1.0, 0.5, 80), rng.normal(-1.0, 0.5, 80)])
    (lo0, hi0), (lo1, hi1) = weight_intervals(alike)
    assert hi0 - lo0 > 0.5 and hi1 - lo1 > 0.5
    w = stacking_weights(alike)
    assert lo0 <= w[0] <= hi0 and lo1 <= w[1] <= hi1


def test_weight_intervals_are_reproducible_and_depend_on_the_seed():
    rng = np.random.default_rng(4)
    lpd = rng.normal(0.0, 1.0, (3, 60)) + np.array([[0.3], [0.0], [-0.2]])
    a, b = weight_intervals(lpd, seed=7), weight_intervals(lpd, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, weight_intervals(lpd, seed=8))
    assert np.all((a >= 0) & (a <= 1)) and np.all(a[:, 0] <= a[:, 1])


def test_reweighted_weights_solve_each_replicate_s_stacking_problem():
    # all replicates share one EM; each must reach its own optimum: unit row weights give the
    # point estimate, and a weight of 2 counts a row twice
    rng = np.random.default_rng(5)
    lpd = rng.normal(0.0, 1.0, (3, 50)) + np.array([[0.4], [0.0], [-0.5]])
    twice = np.r_[np.full(25, 2.0), np.zeros(25)]
    w = reweighted_stacking_weights(lpd, np.vstack([np.ones(50), twice]), tol=1e-12)
    np.testing.assert_allclose(w[0], stacking_weights(lpd), atol=1e-4)
    doubled = np.hstack([lpd[:, :25], lpd[:, :25]])
    np.testing.assert_allclose(w[1], stacking_weights(doubled), atol=1e-4)


def test_one_law_or_no_scored_row():
    np.testing.assert_array_equal(weight_intervals(np.zeros((1, 5))), [[1.0, 1.0]])
    np.testing.assert_array_equal(weight_intervals(np.zeros((2, 0))), [[0.5, 0.5], [0.5, 0.5]])


def test_stacked_posterior_follows_the_weights_and_keeps_each_members_noise():
    a = fake_fit(seed=1, noise=0.01).posterior
    b = fake_fit(seed=2, noise=0.05).posterior
    post, member = stacked_posterior([a, b], np.array([0.25, 0.75]), 400, seed=0)
    assert post.sizes["draw"] == 400
    assert abs((member == 0).sum() - 100) <= 1
    sigma = post["sigma"].values[0]
    own_a = post[prefix(0) + "sigma"].values[0]
    own_b = post[prefix(1) + "sigma"].values[0]
    np.testing.assert_array_equal(sigma[member == 0], own_a[member == 0])
    np.testing.assert_array_equal(sigma[member == 1], own_b[member == 1])
    _again, member2 = stacked_posterior([a, b], np.array([0.25, 0.75]), 400, seed=0)
    np.testing.assert_array_equal(member, member2)  # seeded


def test_stacked_law_evaluates_each_draws_member():
    pl = models.get_family("power_law", x="params")
    law = Stacked([models.get_family("chinchilla"), pl])
    assert law.inputs == ("params", "data")
    x = {
        "params": np.array([[2.0]]),
        "log_params": np.log([[2.0]]),
        "data": np.array([[3.0]]),
        "log_data": np.log([[3.0]]),
    }
    p = {
        "member": np.array([[0.0, 1.0]]),
        prefix(0) + "E": np.array([[1.0, 1.0]]),
        prefix(0) + "A": np.array([[1.0, 1.0]]),
        prefix(0) + "B": np.array([[1.0, 1.0]]),
        prefix(0) + "alpha": np.array([[1.0, 1.0]]),
        prefix(0) + "beta": np.array([[1.0, 1.0]]),
        prefix(1) + "E": np.array([[2.0, 2.0]]),
        prefix(1) + "A": np.array([[4.0, 4.0]]),
        prefix(1) + "alpha": np.array([[2.0, 2.0]]),
    }
    out = law.curve(np, x, p)
    np.testing.assert_allclose(out, [[1 + 1 / 2 + 1 / 3, 2 + 4 / 4]])


def test_derived_compute_for_laws_over_compute():
    law = Stacked(
        [models.get_family("power_law", x="compute")], compute_k=6.0, compute_offset=np.log(6.0)
    )
    assert law.inputs == ("params", "data")
    x = {
        "params": np.array([2.0]),
        "log_params": np.log([2.0]),
        "data": np.array([5.0]),
        "log_data": np.log([5.0]),
    }
    p = {
        "member": np.zeros(1),
        prefix(0) + "E": np.ones(1),
        prefix(0) + "A": np.ones(1),
        prefix(0) + "alpha": np.ones(1),
    }
    assert law.curve(np, x, p)[0] == pytest.approx(1 + 1 / 60)


def test_stacked_diagnostics_are_the_worst_member_s() -> None:
    base = Diagnostics(
        converged=True, r_hat_max=1.004, ess_bulk_min=900.0, ess_tail_min=800.0, divergences=0,
        bfmi_min=0.9, elpd_loo=None, elpd_loo_se=None, p_loo=None, pareto_k_max=None,
        pareto_k_bad=None, chains=4, draws=1000, tree_depth_share=0.0,
    )  # fmt: skip
    slow = replace(
        base,
        converged=False,
        r_hat_max=1.3,
        ess_bulk_min=20.0,
        divergences=2,
        reasons=("max R-hat 1.300",),
        warnings=(FitWarning("deeper_tree", "sampled again deeper"),),
        tree_depth_share=0.4,
    )
    unknown = replace(base, tree_depth_share=None)
    d = stacked_diagnostics([base, slow, unknown], ["a", "b", "c"], np.array([0.5, 0.3, 0.2]))
    assert not d.converged and d.r_hat_max == 1.3 and d.ess_bulk_min == 20.0
    assert d.divergences == 2 and d.reasons == ("b: max R-hat 1.300",)
    assert [(w.code, w.message) for w in d.warnings] == [("deeper_tree", "b: sampled again deeper")]
    assert d.tree_depth_share == 0.4
    assert stacked_diagnostics([unknown], ["c"], np.array([1.0])).tree_depth_share is None


def test_a_stacked_fit_s_summary_has_each_law_s_parameters_and_no_member_index():
    """The member index is bookkeeping: its 'median' (0) and 'interval' (0-1) mean nothing."""
    from models.auto import combine
    from models.discrepancy import Discrepancy, log10_ranges

    members = [fake_fit(seed=0), fake_fit(seed=1)]
    for m in members:
        m.discrepancy = Discrepancy(
            log10_ranges(m.data.inputs, ["params", "data"]), np.array([0.1]), np.array([1.0])
        )
    settings = models.SamplerSettings(draws=200, chains=2)
    stacked = combine(members, np.array([0.6, 0.4]), members[0].data, None, settings)
    assert "member" in stacked.family.param_names
    names = set(stacked.summary()["parameter"])
    assert "member" not in names and {"m0__E", "m1__E"} <= names
