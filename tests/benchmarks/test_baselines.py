"""Baselines on synthetic data with a known truth: gradients, recovery, interval coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from benchmarks import m4
from benchmarks.baselines import (
    BASELINES,
    broken_power_law,
    epoch_grid,
    fit_baseline,
    sum_of_powers,
)

CHINCHILLA = {"E": 1.8, "A": 480.0, "alpha": 0.34, "B": 2000.0, "beta": 0.36}


def chinchilla_loss(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    c = CHINCHILLA
    return c["E"] + c["A"] * n ** -c["alpha"] + c["B"] * d ** -c["beta"]


@pytest.mark.parametrize(
    ("curve", "theta", "k"),
    [
        (sum_of_powers, np.array([0.6, 6.2, 0.35, 7.7, 0.37]), 2),
        (sum_of_powers, np.array([-0.5, 1.0, 0.5]), 1),
        (broken_power_law, np.array([-1.0, 0.3, 0.2, 1.5, 0.4, np.log(0.3)]), 1),
        (broken_power_law, np.array([-2.0, 0.1, 0.5, -0.7, -0.3, np.log(2.0)]), 1),
        (m4.log_loss, np.array([np.log(0.5), 0.5, 0.8, 0.3, 3.0]), 1),
        (m4.log_loss, np.array([1.0, 1.2, 2.5, 0.05, 1.0]), 1),
        (m4.log_loss, np.array([-0.5, 0.4, 0.0, 0.2, 1.0]), 1),
    ],
)
def test_jacobian_matches_finite_differences(curve, theta, k) -> None:  # type: ignore[no-untyped-def]
    """The analytic Jacobians L-BFGS relies on agree with central differences."""
    rng = np.random.default_rng(0)
    log_x = rng.normal(0.0, 1.5, (25, k))
    _, jac = curve(theta, log_x)
    for row in range(0, 25, 6):
        numeric = approx_fprime(theta, lambda t, row=row: curve(t, log_x)[0][row], 1e-7)
        np.testing.assert_allclose(jac[row], numeric, rtol=1e-4, atol=1e-6)


def test_epoch_grid_has_epochs_4500_starts_for_two_inputs() -> None:
    assert epoch_grid(np.zeros((3, 2)), np.zeros(3)).shape == (4500, 5)
    assert epoch_grid(np.zeros((3, 1)), np.zeros(3)).shape == (150, 3)


def test_approach3_recovers_chinchilla_parameters() -> None:
    rng = np.random.default_rng(1)
    n = np.exp(rng.uniform(np.log(5e7), np.log(1e10), 150))
    d = n * np.exp(rng.uniform(np.log(3), np.log(100), 150))
    loss = chinchilla_loss(n, d) * np.exp(0.003 * rng.standard_normal(150))
    fitted = fit_baseline("approach3", np.column_stack([n, d]), loss, n_boot=30)
    e, _, alpha, _, beta = fitted.theta
    assert np.exp(e) == pytest.approx(CHINCHILLA["E"], rel=0.05)
    assert alpha == pytest.approx(CHINCHILLA["alpha"], abs=0.03)
    assert beta == pytest.approx(CHINCHILLA["beta"], abs=0.03)
    assert fitted.boot.shape == (30, 5)


def test_m2_recovers_a_power_law_with_floor() -> None:
    rng = np.random.default_rng(2)
    x = np.geomspace(1e3, 1e7, 40)
    loss = (2.0 + 50.0 * x**-0.4) * np.exp(0.002 * rng.standard_normal(40))
    fitted = fit_baseline("m2", x[:, None], loss, n_boot=20)
    np.testing.assert_allclose(fitted.point(np.array([[1e9]])), 2.0 + 50.0 * 1e9**-0.4, rtol=0.01)
    # centred inputs: exponent unchanged, floor in loss units
    assert fitted.theta[2] == pytest.approx(0.4, abs=0.03)
    assert np.exp(fitted.theta[0]) == pytest.approx(2.0, rel=0.02)


def test_bnsl_follows_a_sharp_break_a_power_law_cannot() -> None:
    """The 4-digit-addition shape: plateau, then a drop; BNSL extrapolates it, M2 does not."""
    x = np.geomspace(100, 2000, 30)

    def truth(x: np.ndarray) -> np.ndarray:
        return 0.05 + 3.0 * x**-0.05 * (1 + (x / 600) ** (1 / 0.1)) ** (-2.0 * 0.1)

    rng = np.random.default_rng(3)
    loss = truth(x) * np.exp(0.005 * rng.standard_normal(30))
    train = x <= 1200
    bnsl = fit_baseline("bnsl", x[train, None], loss[train], n_boot=10)
    m2 = fit_baseline("m2", x[train, None], loss[train], n_boot=10)
    far = x[~train, None]
    err_bnsl = np.abs(np.log(bnsl.point(far) / truth(far[:, 0])))
    err_m2 = np.abs(np.log(m2.point(far) / truth(far[:, 0])))
    assert err_bnsl.max() < 0.05
    assert err_m2.max() > 3 * err_bnsl.max()


def test_new_run_interval_coverage_is_near_nominal_in_range() -> None:
    """Bootstrap parameters + resampled residuals: a new run inside the data range is covered."""
    rng = np.random.default_rng(4)
    x = np.geomspace(1e3, 1e6, 80)
    curve = 1.5 + 30.0 * x**-0.3
    loss = curve * np.exp(0.05 * rng.standard_normal(80))
    fitted = fit_baseline("m2", x[:, None], loss, n_boot=200)
    x_new = np.geomspace(1e3, 1e6, 400)
    y_new = (1.5 + 30.0 * x_new**-0.3) * np.exp(0.05 * rng.standard_normal(400))
    samples = fitted.predictive_samples(x_new[:, None], seed=5)
    lo, hi = np.quantile(samples, [0.05, 0.95], axis=1)
    coverage = np.mean((lo <= np.log(y_new)) & (np.log(y_new) <= hi))
    assert 0.83 <= coverage <= 0.97
    assert samples.shape == (400, 800)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="m2 takes one input"):
        fit_baseline("m2", np.ones((5, 2)), np.ones(5))
    with pytest.raises(ValueError, match="must be > 0"):
        fit_baseline("approach3", np.zeros((5, 1)), np.ones(5))
    with pytest.raises(ValueError, match="m4 takes one input"):
        fit_baseline("m4", np.ones((5, 2)), np.ones(5))
    assert set(BASELINES) == {"approach3", "m2", "bnsl", "m4"}


def test_failed_bootstrap_refits_are_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every group hands over n_boot draws even when some refits fail (BNSL on 6 OpenCLIP rows).

    The runner stacks the groups' samples: 197 draws in one group and 200 in another crashed it.
    """
    import benchmarks.baselines as b

    calls = {"n": 0}
    real = b.refine

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        theta, value = real(*args, **kwargs)
        return (theta * np.nan, np.nan) if calls["n"] % 3 == 0 else (theta, value)

    x = np.geomspace(1e3, 1e6, 12)
    loss = 1.5 + 30.0 * x**-0.3
    point = fit_baseline("m2", x[:, None], loss, n_boot=1)
    monkeypatch.setattr(b, "best_of_grid", lambda *a, **k: point.theta)  # only refits are flaky
    monkeypatch.setattr(b, "refine", flaky)
    fitted = fit_baseline("m2", x[:, None], loss, n_boot=20)
    assert fitted.boot.shape == (20, 3)
    assert np.isfinite(fitted.boot).all()
    monkeypatch.setattr(b, "refine", lambda *a, **k: (np.full(3, np.nan), np.nan))
    with pytest.raises(ValueError, match="only 0 of 100 bootstrap refits converged"):
        fit_baseline("m2", x[:, None], loss, n_boot=20)


# -- M4 (Alabdulmohsin et al. 2022) --------------------------------------------------------------

M4_TRUTH = np.array([np.log(0.5), 0.5, 0.8, 0.3, 3.0])  # log beta, c, alpha, e_inf, e_0


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0, 3.0])
def test_m4_prediction_solves_the_implicit_equation(alpha: float) -> None:
    """(L - e_inf)/(e_0 - L)^alpha = beta x^-c at every x, plateau and floor included.

    alpha = 0 is M2 (L = e_inf + beta x^-c), which may pass e_0, as in the published code.
    """
    theta = np.array([0.2, 0.6, alpha, 0.1, 2.0])
    # L within ~1e-7 of either asymptote: closer, L - e_inf or e_0 - L recomputed from L would
    # be mostly rounding (the solver itself keeps both without cancellation)
    log_x = np.linspace(-8.0, 30.0, 77)[:, None]
    loss = np.exp(m4.log_loss(theta, log_x)[0])
    assert np.all(loss > 0.1) and (alpha == 0 or np.all(loss <= 2.0))
    lhs = np.log(loss - 0.1) - (alpha * np.log(2.0 - loss) if alpha > 0 else 0.0)
    np.testing.assert_allclose(lhs, 0.2 - 0.6 * log_x[:, 0], rtol=1e-9, atol=1e-7)


def test_m4_objective_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    log_x = rng.normal(0.0, 2.0, (20, 1))
    log_y = m4.log_loss(M4_TRUTH, log_x)[0] + 0.01 * rng.standard_normal(20)
    theta = M4_TRUTH + np.array([0.1, -0.05, 0.1, -0.02, 0.3])
    _, grad = m4.m4_objective(theta, log_x, log_y)
    numeric = approx_fprime(theta, lambda t: m4.m4_objective(t, log_x, log_y)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def test_m4_recovers_the_parameters_of_its_own_equation() -> None:
    """Data from the M4 equation (plateau at 3, floor 0.3): the paper's fit finds them again."""
    rng = np.random.default_rng(6)
    x = np.geomspace(1.0, 1e6, 30)
    centred = np.log(x)[:, None] - np.log(x).mean()  # fit_baseline centres the log input
    loss = np.exp(m4.log_loss(M4_TRUTH, centred)[0] + 0.002 * rng.standard_normal(30))
    fitted = fit_baseline("m4", x[:, None], loss, n_boot=20)
    np.testing.assert_allclose(fitted.theta, M4_TRUTH, rtol=0.05, atol=0.02)
    assert fitted.boot.shape == (20, 5)
    # the bootstrap refits stay in the feasible set: e_inf <= min loss, e_0 >= max loss
    assert np.all(fitted.boot[:, 3] < loss.min()) and np.all(fitted.boot[:, 4] > loss.max())
    far = np.array([[1e9]])
    truth_far = np.exp(m4.log_loss(M4_TRUTH, np.log(far) - np.log(x).mean())[0])
    np.testing.assert_allclose(fitted.point(far), truth_far, rtol=0.02)


def test_m4_starts_from_the_papers_initial_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """c = 0.5, beta = 1, alpha = 0, e_inf = min L - 1e-3, e_0 = max L + 1e-3 (or the given e_0)."""
    seen: list[np.ndarray] = []

    def first_round(s_x, y, e_inf, e_0):  # type: ignore[no-untyped-def]
        seen.append(np.array([e_inf, e_0]))
        raise StopIteration

    monkeypatch.setattr(m4, "_least_squares", first_round)
    log_y = np.log(np.array([2.0, 1.5, 1.0, 0.8]))
    log_x = np.arange(4.0)[:, None]
    for e_0, expected in ((None, [0.799, 2.001]), (5.0, [0.799, 5.0])):
        with pytest.raises(StopIteration):
            m4.fit_m4(log_x, log_y, e_0=e_0)
        np.testing.assert_allclose(seen[-1], expected)
