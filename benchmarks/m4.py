r"""The M4 scaling-law estimator of Alabdulmohsin, Neyshabur & Zhai 2022 (arXiv:2209.06640).

M4 defines the loss ``L`` at scale ``x`` implicitly by

.. math:: \frac{L - \varepsilon_\infty}{(\varepsilon_0 - L)^\alpha} = \beta \, x^{-c},

with ``ε0`` the loss at the start (chance / untrained) and ``ε∞`` the floor; for ``α, c >= 0``
the left side increases in ``L`` on ``(ε∞, ε0)``, so each ``x`` has one ``L``. The paper fits it
on the log of that equation, minimising ``½ Σ (log(L_i - ε∞) - α log(ε0 - L_i) - log β
+ c log x_i)²``, by alternating

1. ``(log β, c, α)`` by linear least squares given ``(ε∞, ε0)`` (``c, α >= 0``), and
2. ``(ε∞, ε0)`` given the rest: 1,000 gradient-descent steps (rate 1e-8) in each of the first
   100 rounds, then 100 damped Newton steps (rate 0.1, diagonal Hessian) per round, each step
   projected onto ``0 <= ε∞ <= min L - 1e-3`` and ``ε0 >= max L + 1e-3``;

until ``β`` changes by less than 1e-10 after the gradient rounds (at most 10,000 rounds).
Here the rounds are the paper's but the Newton phase stops after ``NEWTON_ROUNDS`` (300): on a
2-core machine one round costs ~7 ms and the paper's cap ~70 s per curve, and the β criterion
is rarely met that early. L-BFGS-B then finishes on the same objective and feasible set, so
the result is the stationary point the rounds were converging to.
Initialisation as the paper's: ``c = 0.5``, ``β = 1``, ``α = 0``, ``ε∞ = min L - 1e-3`` and
``ε0 = max L + 1e-3`` unless a known starting loss is given. This follows the paper's
description and its published estimator (google-research, ``revisiting_neural_scaling_laws``),
re-implemented here with three differences, each stated where it is made: ``log β`` is
unconstrained (the published code also forces ``log β >= 0``, which depends on the unit of
``x``; here ``log x`` is centred); the least-squares design uses the current ``ε0`` in every
round (the published code keeps the initial one); and predictions solve the equation to machine
precision (bisection then Newton in ``logit((L - ε∞)/(ε0 - ε∞))``) rather than on a 10,000-point
grid.

``theta = (log β, c, α, ε∞, ε0)``; ``log_x`` is the centred log input (one column), ``log_y``
the log loss, as for the other baselines.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear, minimize

ERR_MARGIN = 1e-3  # the paper's projection margin around the observed losses (loss units)
C_INIT = 0.5
GRAD_ROUNDS, GRAD_STEPS, GRAD_RATE = 100, 1000, 1e-8
NEWTON_STEPS, NEWTON_RATE = 100, 0.1
NEWTON_ROUNDS = 300  # the paper allows 10,000 rounds; see the module docstring
POLISH_ITER = 1000
STOP_BETA = 1e-10
MIN_CURVATURE = 1e-5  # a Newton step is skipped when |Hessian| is below this (the paper's EPS)
BISECTION_STEPS, NEWTON_POLISH = 80, 4
ALPHA_ZERO = 1e-5  # below this α counts as 0 when predicting (the published code's threshold)


def log_loss(theta: np.ndarray, log_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log L`` at each row solved from M4, and its Jacobian in ``theta`` (implicit function).

    With ``u = (L - ε∞)/(ε0 - ε∞)`` the equation is ``log u - α log(1 - u) = r`` where
    ``r = log β - c log x - (1 - α) log(ε0 - ε∞)``, increasing in ``u``; it is solved for
    ``s = logit u``, where ``log u = -softplus(-s)`` and ``log(1 - u) = -softplus(s)`` stay
    finite at both ends.
    """
    log_beta, c, alpha, e_inf, e_0 = (float(v) for v in theta)
    s_x = log_x[:, 0]
    if alpha < ALPHA_ZERO:
        return _power_law(log_beta, c, e_inf, s_x)
    gap = e_0 - e_inf
    r = log_beta - c * s_x - (1.0 - alpha) * np.log(gap)

    def g(s: np.ndarray) -> np.ndarray:
        return np.asarray(-np.logaddexp(0.0, -s) + alpha * np.logaddexp(0.0, s) - r)

    # g(s) <= s + alpha e^s and g(s) >= alpha s - e^-s: a bracket for any r and alpha >= 0
    lo = -np.abs(r) - 40.0
    hi = (np.abs(r) + 40.0) / max(alpha, 1e-12) + 40.0
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        above = g(mid) > 0
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    s = 0.5 * (lo + hi)
    for _ in range(NEWTON_POLISH):
        slope = _sigmoid(-s) + alpha * _sigmoid(s)
        s = np.clip(s - g(s) / slope, lo - 1.0, hi + 1.0)
    u = _sigmoid(s)
    w = gap * u  # L - ε∞
    rest = gap * _sigmoid(-s)  # ε0 - L, without cancellation
    loss = e_inf + w
    # implicit derivatives of w from F = log w - α log(ε0 - L) - log β + c log x = 0
    d = 1.0 / w + alpha / rest
    dw = np.column_stack(
        [
            1.0 / d,
            -s_x / d,
            np.log(rest) / d,
            -alpha / (rest * d),
            alpha / (rest * d),
        ]
    )
    jac = dw / loss[:, None]
    jac[:, 3] += 1.0 / loss
    return np.log(loss), jac


def _power_law(
    log_beta: float, c: float, e_inf: float, s_x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """α = 0: M4 is M2, ``L = ε∞ + β x^-c``, unbounded by ε0 (the published code's rule)."""
    w = np.exp(log_beta - c * s_x)
    loss = e_inf + w
    zero = np.zeros_like(w)
    jac = np.column_stack([w, -s_x * w, zero, np.ones_like(w), zero]) / loss[:, None]
    return np.log(loss), jac


def _sigmoid(s: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp(-np.logaddexp(0.0, -s)))


def _bounds(y: np.ndarray) -> tuple[float, float]:
    """The paper's feasible set: ε∞ <= min L - margin, ε0 >= max L + margin."""
    return float(y.min()) - ERR_MARGIN, float(y.max()) + ERR_MARGIN


def _residuals(theta: np.ndarray, s_x: np.ndarray, y: np.ndarray) -> np.ndarray:
    log_beta, c, alpha, e_inf, e_0 = theta
    return np.asarray(np.log(y - e_inf) - alpha * np.log(e_0 - y) - log_beta + c * s_x)


def _least_squares(s_x: np.ndarray, y: np.ndarray, e_inf: float, e_0: float) -> np.ndarray:
    """``(log β, c, α)`` given the asymptotes: bounded linear least squares, c, α >= 0."""
    design = np.column_stack([np.ones_like(s_x), -s_x, np.log(e_0 - y)])
    lower, upper = [-np.inf, 0.0, 0.0], [np.inf, np.inf, np.inf]
    return np.asarray(lsq_linear(design, np.log(y - e_inf), bounds=(lower, upper)).x, dtype=float)


def _asymptote_step(theta: np.ndarray, s_x: np.ndarray, y: np.ndarray, newton: bool) -> None:
    """One gradient or damped Newton step on (ε∞, ε0), projected; updates ``theta`` in place."""
    alpha, e_inf, e_0 = theta[2], theta[3], theta[4]
    r = _residuals(theta, s_x, y)
    to_floor, to_start = y - e_inf, e_0 - y
    grad_inf = -np.mean(r / to_floor)
    grad_0 = -alpha * np.mean(r / to_start)
    if newton:
        h_inf = np.mean((1.0 - r) / to_floor**2)
        h_0 = alpha * np.mean((alpha + r) / to_start**2)
        if abs(h_inf) > MIN_CURVATURE:
            e_inf -= NEWTON_RATE * grad_inf / h_inf
        if abs(h_0) > MIN_CURVATURE:
            e_0 -= NEWTON_RATE * grad_0 / h_0
    else:
        e_inf -= GRAD_RATE * grad_inf
        e_0 -= GRAD_RATE * grad_0
    top, bottom = _bounds(y)
    theta[3] = min(max(e_inf, 0.0), top)
    theta[4] = max(e_0, bottom)


def fit_m4(
    log_x: np.ndarray,
    log_y: np.ndarray,
    *,
    e_0: float | None = None,
    newton_rounds: int = NEWTON_ROUNDS,
) -> np.ndarray:
    """The paper's alternating fit from the paper's initial values; returns ``theta``.

    ``e_0`` is the initial ε0, e.g. a known chance error (the paper's example passes 0.999 for
    an error rate); by default max L + 1e-3, the published code's choice when none is known.
    Either way ε0 is then learned, as in the paper's example.
    """
    s_x, y = log_x[:, 0], np.exp(log_y)
    top, bottom = _bounds(y)
    if top <= 0:
        raise ValueError("M4 needs losses above its margin of 1e-3")
    start = bottom if e_0 is None else float(e_0)
    if start <= y.max():
        raise ValueError("M4: the starting loss e_0 must exceed every observed loss")
    theta = np.array([0.0, C_INIT, 0.0, top, start])
    previous = 1.0
    for k in range(GRAD_ROUNDS + newton_rounds):
        theta[:3] = _least_squares(s_x, y, theta[3], theta[4])
        newton = k >= GRAD_ROUNDS
        for _ in range(NEWTON_STEPS if newton else GRAD_STEPS):
            _asymptote_step(theta, s_x, y, newton)
        beta = float(np.exp(theta[0]))
        if newton and k > GRAD_ROUNDS + 1 and abs(beta - previous) < STOP_BETA:
            break
        previous = beta
    polished, value = refit_m4(theta, log_x, log_y, POLISH_ITER)
    if value <= m4_objective(theta, log_x, log_y)[0]:
        theta = polished
    return theta


def m4_objective(
    theta: np.ndarray, log_x: np.ndarray, log_y: np.ndarray
) -> tuple[float, np.ndarray]:
    """The paper's objective ``½ Σ r²`` over all five parameters, and its gradient."""
    s_x, y = log_x[:, 0], np.exp(log_y)
    alpha, e_inf, e_0 = theta[2], theta[3], theta[4]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = _residuals(theta, s_x, y)
        grad = np.array(
            [
                -r.sum(),
                (r * s_x).sum(),
                -(r * np.log(e_0 - y)).sum(),
                -(r / (y - e_inf)).sum(),
                -alpha * (r / (e_0 - y)).sum(),
            ]
        )
    value = 0.5 * float(r @ r)
    if not np.isfinite(value) or not np.all(np.isfinite(grad)):
        return 1e300, np.zeros_like(theta)
    return value, grad


def refit_m4(
    start: np.ndarray, log_x: np.ndarray, log_y: np.ndarray, max_iter: int
) -> tuple[np.ndarray, float]:
    """A bootstrap refit: the same objective and feasible set, L-BFGS-B from ``start``.

    The alternating scheme costs seconds per fit (10^5 gradient steps before Newton); the
    bootstrap refits a thousand resamples from the point estimate, which is feasible for every
    resample (a resample's min and max lie inside the full data's).
    """
    top, bottom = _bounds(np.exp(log_y))
    bounds = [(None, None), (0.0, None), (0.0, None), (0.0, top), (bottom, None)]
    res = minimize(
        m4_objective,
        start,
        args=(log_x, log_y),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-12},
    )
    return np.asarray(res.x, dtype=float), float(res.fun)
