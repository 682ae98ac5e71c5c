r"""The field's point-estimate baselines, each with a bootstrap new-run predictive interval.

Four baselines, fitted per group (no pooling) on the same training rows as bayescale:

* :func:`approach3` — Chinchilla Approach 3 as replicated by Epoch AI (Besiroglu et al. 2024,
  arXiv:2404.10102): ``log L = LSE(a_1 - α_1 log x_1, ..., e)`` (``L = E + Σ A_i x_i^-α_i``),
  Huber loss (δ = 1e-3) on log residuals, L-BFGS from Epoch's grid of initial values (e in
  {-1, -.5, ..., 1}, a_i in {0, 5, ..., 25}, α_i in {0, .5, ..., 2}: 4,500 starts for two
  inputs), best start kept. Every grid point is scored first (vectorised) and L-BFGS runs from
  the ``n_starts`` best of them: with 16 of 4,500 the optimum found on Epoch's data matches
  Epoch's published fit (tests), at a 300th of the cost.
* :func:`power_law_m2` — a single power law with a floor, ``L = E + A x^-α`` over one input
  (M2 of Alabdulmohsin et al. 2022, arXiv:2209.06640), least squares on log loss.
* :func:`bnsl` — a smoothly broken power law with one break (Caballero et al. 2022,
  arXiv:2210.14891, Eq. 1), ``L = a + b x^-c0 (1 + (x/d1)^(1/f1))^(-c1 f1)``, least squares on
  log loss: a grid search over all six parameters, then L-BFGS refinement from the best grid
  points, as in the paper's code.

* :func:`benchmarks.m4.fit_m4` — M4 of Alabdulmohsin, Neyshabur & Zhai 2022 (arXiv:2209.06640),
  ``(L - ε∞)/(ε0 - L)^α = β x^-c`` over one input: a plateau at ``ε0``, a power-law approach to
  ``ε∞``. Fitted as the paper does (its initial values; least squares for ``(β, c, α)``
  alternating with gradient then Newton steps for ``(ε∞, ε0)`` on the log of the equation),
  finished by L-BFGS-B on the same objective; see :mod:`benchmarks.m4`.

Intervals (the same for all four, so coverage is comparable with bayescale's *new-run*
intervals): a nonparametric case bootstrap refits the model on ``n_boot`` resamples of the
training rows (L-BFGS from the point estimate); each refit predicts the held-out points and a
training residual of the point fit, drawn with replacement, is added in log space, so the
samples carry both parameter uncertainty and run-to-run scatter. Quantiles of these samples are
the intervals.

Inputs are natural logs of the raw inputs (Epoch's convention); M2, BNSL and M4 centre them on
the training mean first (a reparametrisation that only helps L-BFGS's conditioning).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from benchmarks import m4

HUBER_DELTA = 1e-3
N_STARTS = 16
# L-BFGS iteration caps: a flat direction (a floor the data cannot see, a break outside the
# data) otherwise runs to thousands of iterations without changing predictions in range.
MAX_ITER = 300
BOOT_MAX_ITER = 100
BOOT_ATTEMPTS = 5  # resamples drawn per bootstrap draw at most, when refits fail
# Curve: (theta, log_x (n, k)) -> (log prediction (n,), Jacobian (n, p))
Curve = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# -- curves in log space with analytic Jacobians ---------------------------------------------


def sum_of_powers(theta: np.ndarray, log_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(exp(e) + Σ_i exp(a_i - α_i log x_i))``; ``theta = (e, a_1, α_1, a_2, α_2, ...)``."""
    k = log_x.shape[1]
    terms = np.empty((log_x.shape[0], k + 1))
    terms[:, 0] = theta[0]
    for i in range(k):
        terms[:, i + 1] = theta[1 + 2 * i] - theta[2 + 2 * i] * log_x[:, i]
    top = terms.max(axis=1, keepdims=True)
    weights = np.exp(terms - top)
    total = weights.sum(axis=1, keepdims=True)
    weights /= total
    jac = np.empty((log_x.shape[0], 1 + 2 * k))
    jac[:, 0] = weights[:, 0]
    for i in range(k):
        jac[:, 1 + 2 * i] = weights[:, i + 1]
        jac[:, 2 + 2 * i] = -weights[:, i + 1] * log_x[:, i]
    return top[:, 0] + np.log(total[:, 0]), jac


def broken_power_law(theta: np.ndarray, log_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BNSL with one break in log space; ``theta = (log a, log b, c0, c1, log d1, log f1)``."""
    la, lb, c0, c1, ld, lf = theta
    s = log_x[:, 0]
    f = np.exp(lf)
    u = (s - ld) / f
    soft = np.logaddexp(0.0, u)
    sig = np.exp(u - soft)  # logistic(u), stable for either sign
    log_term = lb - c0 * s - c1 * f * soft
    top = np.maximum(la, log_term)
    wa, wt = np.exp(la - top), np.exp(log_term - top)
    total = wa + wt
    wa, wt = wa / total, wt / total
    jac = np.column_stack(
        [
            wa,
            wt,
            -wt * s,
            -wt * f * soft,
            wt * c1 * sig,
            wt * f * c1 * (sig * u - soft),
        ]
    )
    return top + np.log(total), jac


# -- losses and the optimiser -----------------------------------------------------------------


def huber(r: np.ndarray, delta: float = HUBER_DELTA) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss and its derivative per residual."""
    small = np.abs(r) <= delta
    rho = np.where(small, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    return rho, np.where(small, r, delta * np.sign(r))


def squared(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half squared error and its derivative per residual."""
    return 0.5 * r**2, r


Loss = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def objective(
    theta: np.ndarray, curve: Curve, log_x: np.ndarray, log_y: np.ndarray, loss: Loss
) -> tuple[float, np.ndarray]:
    """Summed loss of log residuals and its gradient (for L-BFGS)."""
    pred, jac = curve(theta, log_x)
    rho, psi = loss(pred - log_y)
    value = float(rho.sum())
    if not np.isfinite(value):
        return 1e300, np.zeros_like(theta)
    return value, jac.T @ psi


def refine(
    curve: Curve,
    start: np.ndarray,
    log_x: np.ndarray,
    log_y: np.ndarray,
    loss: Loss,
    max_iter: int = MAX_ITER,
) -> tuple[np.ndarray, float]:
    """L-BFGS from one start; returns the optimum and its objective."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = minimize(
            objective,
            start,
            args=(curve, log_x, log_y, loss),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-12},
        )
    return np.asarray(res.x, dtype=float), float(res.fun)


def best_of_grid(
    curve: Curve,
    grid: np.ndarray,
    log_x: np.ndarray,
    log_y: np.ndarray,
    loss: Loss,
    n_starts: int = N_STARTS,
) -> np.ndarray:
    """Score every grid start, refine the ``n_starts`` best with L-BFGS, keep the best optimum."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scores = np.array([float(loss(curve(t, log_x)[0] - log_y)[0].sum()) for t in grid])
    scores[~np.isfinite(scores)] = np.inf
    best_theta: np.ndarray = np.asarray(grid[int(np.argmin(scores))], dtype=float)
    best_value = np.inf
    for i in np.argsort(scores)[:n_starts]:
        theta, value = refine(curve, grid[i], log_x, log_y, loss)
        if np.isfinite(value) and value < best_value:
            best_theta, best_value = theta, value
    return best_theta


# -- the baselines ---------------------------------------------------------------------------


# (log_x, log_y) -> theta: a baseline's own point estimator instead of grid + L-BFGS
PointFit = Callable[[np.ndarray, np.ndarray], np.ndarray]
# (start, log_x, log_y, max_iter) -> (theta, objective): a bootstrap refit
Refit = Callable[[np.ndarray, np.ndarray, np.ndarray, int], tuple[np.ndarray, float]]


@dataclass(frozen=True)
class Baseline:
    """One baseline: its curve, loss, start grid and how inputs are transformed.

    ``point_fit`` and ``refit`` replace the grid + L-BFGS on ``loss`` for a baseline fitted its
    own way (M4 minimises a residual of its implicit equation, not of the log loss).
    """

    name: str
    label: str
    curve: Curve
    loss: Loss
    centre: bool
    grid: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    point_fit: PointFit | None = None
    refit: Refit | None = None


def epoch_grid(log_x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """Epoch's initial values: e, then (a_i, α_i) per input."""
    axes: list[np.ndarray] = [np.arange(-1.0, 1.01, 0.5)]
    for _ in range(log_x.shape[1]):
        axes += [np.arange(0.0, 25.1, 5.0), np.arange(0.0, 2.01, 0.5)]
    return np.array(list(itertools.product(*axes)))


def m2_grid(log_x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """Floors below the best loss x exponents; the amplitude puts the curve through the median."""
    y_min, y_mid = float(np.exp(log_y.min())), float(np.exp(np.median(log_y)))
    starts = []
    for frac, alpha in itertools.product((0.01, 0.3, 0.6, 0.9), (0.05, 0.2, 0.5, 1.0, 2.0)):
        floor = frac * y_min
        starts.append([np.log(floor), np.log(max(y_mid - floor, 1e-6 * y_mid)), alpha])
    return np.array(starts)


def bnsl_grid(log_x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """A grid over all six BNSL parameters around the data (centred log inputs)."""
    y_min, y_max = float(np.exp(log_y.min())), float(np.exp(log_y.max()))
    s_lo, s_hi = float(log_x.min()), float(log_x.max())
    starts = []
    for frac, c0, c1, q, f in itertools.product(
        (0.01, 0.5, 0.9),
        (0.0, 0.25, 0.75),
        (-0.5, 0.5, 1.5, 4.0),
        (0.1, 0.3, 0.5, 0.7, 0.9),
        (0.1, 0.5, 2.0),
    ):
        floor = frac * y_min
        log_b = np.log(max(y_max - floor, 1e-6 * y_max)) + c0 * s_lo  # term = y range at x_min
        starts.append([np.log(floor), log_b, c0, c1, s_lo + q * (s_hi - s_lo), np.log(f)])
    return np.array(starts)


BASELINES: dict[str, Baseline] = {
    "approach3": Baseline(
        "approach3",
        "Chinchilla Approach 3 (Epoch: Huber δ=1e-3, L-BFGS grid)",
        sum_of_powers,
        huber,
        False,
        epoch_grid,
    ),
    "m2": Baseline(
        "m2", "power law + floor (M2, least squares)", sum_of_powers, squared, True, m2_grid
    ),
    "bnsl": Baseline(
        "bnsl", "BNSL, 1 break (grid + L-BFGS)", broken_power_law, squared, True, bnsl_grid
    ),
    "m4": Baseline(
        "m4",
        "M4 (Alabdulmohsin et al. 2022: alternating least squares / Newton)",
        m4.log_loss,
        squared,
        True,
        None,
        point_fit=m4.fit_m4,
        refit=m4.refit_m4,
    ),
}


@dataclass(frozen=True)
class BaselineFit:
    """A point fit plus bootstrap refits, on log inputs (centred when ``centre`` is set)."""

    baseline: Baseline
    theta: np.ndarray
    boot: np.ndarray
    residuals: np.ndarray
    shift: np.ndarray

    def log_mean(self, x: np.ndarray, thetas: np.ndarray | None = None) -> np.ndarray:
        """Log-loss predictions (P, B) at raw inputs ``x`` (P, k) for each parameter vector."""
        log_x = np.log(np.asarray(x, dtype=float).reshape(len(x), -1)) - self.shift
        rows = self.boot if thetas is None else np.atleast_2d(thetas)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.column_stack([self.baseline.curve(t, log_x)[0] for t in rows])

    def point(self, x: np.ndarray) -> np.ndarray:
        """Point-fit prediction (loss units)."""
        return np.exp(self.log_mean(x, self.theta)[:, 0])

    def predictive_samples(self, x: np.ndarray, per_resample: int = 4, seed: int = 0) -> Any:
        """New-run log-loss samples (P, B x per_resample): a refit's curve + a residual."""
        rng = np.random.default_rng(seed)
        mean = np.repeat(self.log_mean(x), per_resample, axis=1)
        noise = rng.choice(self.residuals, size=mean.shape, replace=True)
        return mean + noise


def fit_baseline(
    name: str,
    x: np.ndarray,
    loss: np.ndarray,
    *,
    n_boot: int = 1000,
    n_starts: int = N_STARTS,
    seed: int = 0,
) -> BaselineFit:
    """Point fit and case bootstrap of one baseline.

    Parameters
    ----------
    name
        ``approach3``, ``m2``, ``bnsl`` or ``m4``.
    x
        Raw inputs (n, k), positive; ``m2``, ``bnsl`` and ``m4`` take one column.
    loss
        Observed losses (n,), positive.
    n_boot
        Bootstrap resamples (each an L-BFGS refit from the point estimate).
    n_starts
        Grid starts refined by L-BFGS for the point fit.
    seed
        Seeds the resampling.

    Returns
    -------
    BaselineFit
        Point estimate, bootstrap parameter draws and training residuals.
    """
    # One BLAS thread: L-BFGS-B's tiny matrix products ran 20x slower with OpenBLAS's thread
    # pool on a busy 2-core machine (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_baseline(name, x, loss, n_boot, n_starts, seed)


def _fit_baseline(
    name: str, x: np.ndarray, loss: np.ndarray, n_boot: int, n_starts: int, seed: int
) -> BaselineFit:
    spec = BASELINES[name]
    x = np.asarray(x, dtype=float).reshape(len(loss), -1)
    if name != "approach3" and x.shape[1] != 1:
        raise ValueError(f"{name} takes one input, got {x.shape[1]}")
    if np.any(x <= 0) or np.any(np.asarray(loss) <= 0):
        raise ValueError("inputs and losses must be > 0")
    log_x = np.log(x)
    shift = log_x.mean(axis=0) if spec.centre else np.zeros(x.shape[1])
    log_x = log_x - shift
    log_y = np.log(np.asarray(loss, dtype=float))
    if spec.point_fit is not None:
        theta = spec.point_fit(log_x, log_y)
    else:
        assert spec.grid is not None, f"{name} has neither a start grid nor its own fit"
        grid = spec.grid(log_x, log_y)
        theta = best_of_grid(spec.curve, grid, log_x, log_y, spec.loss, n_starts)
    residuals = log_y - spec.curve(theta, log_x)[0]
    rng = np.random.default_rng(seed)
    # Resample until n_boot refits succeed: every group then hands over the same number of
    # samples (run_baseline stacks the groups' samples), and a failed refit is not silently
    # replaced by an interval without parameter uncertainty.
    boot: list[np.ndarray] = []
    attempts = 0
    while len(boot) < n_boot and attempts < BOOT_ATTEMPTS * n_boot:
        attempts += 1
        idx = rng.integers(0, len(log_y), len(log_y))
        if spec.refit is not None:
            refit, value = spec.refit(theta, log_x[idx], log_y[idx], BOOT_MAX_ITER)
        else:
            refit, value = refine(
                spec.curve, theta, log_x[idx], log_y[idx], spec.loss, BOOT_MAX_ITER
            )
        if np.isfinite(value) and np.all(np.isfinite(refit)):
            boot.append(refit)
    if len(boot) < n_boot:
        raise ValueError(
            f"{name}: only {len(boot)} of {attempts} bootstrap refits converged "
            f"({len(log_y)} training rows)"
        )
    return BaselineFit(spec, theta, np.array(boot), residuals, shift)
