"""Target losses: ``P(L < target)`` at given points and the least compute that reaches a target.

Both integrate the observation noise exactly per draw (:func:`_prob_below`) instead of
simulating runs, so the probabilities are smooth and monotone and bisection on them is exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

import numpy as np
from scipy import special

from models.errors import PredictionError
from models.planning._allocator import Constraints, _Allocator, _limits
from models.planning._draws import _draws, _log_mean
from models.planning._numerics import (
    BISECT_TOL,
    _distribution,
    _minimise,
    _positive,
    _positive_array,
)
from models.planning.results import TargetCompute, TargetProbability
from models.posterior import noise_draws
from models.predict import check_probs, points_frame
from models.result import Fit

# compute_for_target searches C from 1e-3 x the smallest observed run's compute up to 1e6 x the
# largest (six orders of magnitude of extrapolation, far beyond any credible use of a fit).
SEARCH_BELOW, SEARCH_ABOVE = 1e-3, 1e6
# Points of the scan on log C that brackets each draw's first crossing of the target (about
# 0.25 decades apart over the usual range; bisection then refines inside the bracket).
CROSSING_SCAN = 64

Array = np.ndarray


def _prob_below(log_loss: Array, log_target: Any, noise: Mapping[str, Array] | None) -> Array:
    """Per draw P(L < target): Φ((log T - μ)/σ) (Student-t cdf for the robust likelihood).

    Rao-Blackwellised over the observation noise (the exact conditional probability per draw
    rather than one simulated run), so it is smooth and exactly monotone. ``noise=None`` gives
    the mean curve's indicator. ``noise`` arrays are (S,) and ``log_loss`` is (S, ...).
    """
    if noise is None:
        return np.asarray(log_loss < log_target, dtype=float)
    shape = (-1,) + (1,) * (np.ndim(log_loss) - 1)
    with np.errstate(invalid="ignore"):
        z = (log_target - log_loss) / noise["sigma"].reshape(shape)
    if "nu" in noise:
        prob = special.stdtr(noise["nu"].reshape(shape), z)
    else:
        prob = special.ndtr(z)
    return np.nan_to_num(np.asarray(prob, dtype=float), nan=0.0)


def probability_below(
    fit: Fit,
    points: Any,
    target: float | Sequence[float],
    *,
    group: str | None = None,
    new_run: bool = True,
    seed: int = 0,
) -> TargetProbability:
    """``P(L < target)`` at each point: posterior mean over draws of the per-draw probability.

    ``new_run=True`` asks about a new training run's measured loss: per draw
    ``Φ((log target - log L_θ)/σ)`` (Student-t cdf with ``ν`` for the robust likelihood), the
    observation model of :func:`models.predict.predict_draws` integrated exactly rather than
    sampled. ``new_run=False`` asks about the mean curve: the fraction of draws with
    ``L_θ < target``. ``target`` is one loss or one per point (loss units).
    """
    frame = points_frame(points, fit.family.inputs)
    targets = _positive_array(target, "target")
    if len(targets) not in (1, len(frame)):
        raise PredictionError("target must be one value or one per point", field="target")
    targets = np.broadcast_to(targets, (len(frame),)).copy()
    group, population, params = _draws(fit, group, seed)
    log_mu = _log_mean(fit, frame, params).T  # (S, P): draws first, as _prob_below expects
    noise = noise_draws(fit.draws) if new_run else None
    prob = _prob_below(log_mu, np.log(targets)[None, :], noise)
    return TargetProbability(frame, group, population, new_run, targets, prob.mean(axis=0))


def compute_for_target(
    fit: Fit,
    target: float,
    *,
    q: float = 0.9,
    k: float = 6.0,
    group: str | None = None,
    new_run: bool = True,
    inputs: Mapping[str, float] | None = None,
    max_compute: float | None = None,
    probs: Sequence[float] = (0.5, 0.9),
    seed: int = 0,
    **constraints: Unpack[Constraints],
) -> TargetCompute:
    """Least compute C (FLOPs) reaching ``target`` loss with probability ``q``.

    At each C the allocation is the N maximising ``P(L < target)`` (as in
    :func:`probability_below`; ``new_run`` likewise) over the feasible segment; the answer is the
    least C with that maximum >= q, by bisection on log C (the maximum rises with C). Searched
    between 1e-3 x the smallest and 1e6 x the largest observed run's k N D (``max_compute``
    overrides the top); a target not reached with probability q there raises
    :class:`~models.errors.PredictionError` (``field="target"``).

    Also, per draw, the C at which that draw's L*(C) (mean curve, own optimum) first reaches the
    target (:func:`_first_crossing`); draws whose L* stays above it in the range (floor above the
    target) are counted in ``unreached`` and enter the summary as +inf, never dropped.
    Constraints and ``inputs`` are as for :func:`compute_optimal`.
    """
    target = _positive(target, "target")
    if not 0 < q < 1:
        raise PredictionError("q must be in (0, 1)", field="q")
    probs = check_probs(probs)
    limits = _limits(k, inputs, constraints)
    alloc = _Allocator(fit, limits, group, seed)
    observed = alloc.observed_log_compute()
    feasible = alloc.compute_range()
    top = np.log(_positive(max_compute, "max_compute")) if max_compute else None
    c_lo = max(float(observed.min() + np.log(SEARCH_BELOW)), feasible[0])
    c_hi = min(float(observed.max() + np.log(SEARCH_ABOVE)) if top is None else top, feasible[1])
    if not c_lo < c_hi:
        raise PredictionError("no feasible compute to search under the constraints", field="target")
    log_t = float(np.log(target))
    noise = noise_draws(fit.draws) if new_run else None

    def best(log_c: float) -> tuple[float, float]:
        """The best P(L < target) over log N at log C, and the maximising log N."""
        lo, hi = alloc.bounds(np.array([log_c]))

        def neg_prob(u: Array) -> Array:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_loss = np.log(alloc.loss(u, log_c, alloc.columns))
            prob = _prob_below(log_loss, log_t, noise)
            return -prob.mean(axis=0, keepdims=True)

        u, value = _minimise(neg_prob, lo, hi)
        return -float(value[0]), float(u[0])

    p_hi, u_hi = best(c_hi)
    if p_hi < q:
        above = float(np.mean(alloc.optimum(c_hi)[1] > target))
        why = "their floor is above it"
        if alloc.delta is not None:
            # far beyond the data the discrepancy, not the floor, can keep P below q: its
            # spread grows with the distance, and P(L < target) levels off
            why += (
                ", or the extrapolation discrepancy, whose spread grows with the distance "
                "beyond the data, holds P(L < target) below q"
            )
        raise PredictionError(
            f"target loss {target:g} is not reached with probability {q:g} for C up to "
            f"{np.exp(c_hi):.3g} FLOPs (best P there {p_hi:.3f}; {above:.0%} of "
            f"draws have L*(C) above the target there: {why})",
            field="target",
        )
    p_lo, u_lo = best(c_lo)
    at_lower = p_lo >= q
    a, b, p_b, u_b = c_lo, c_hi, p_hi, u_hi
    if at_lower:
        b, p_b, u_b = c_lo, p_lo, u_lo
    while b - a > BISECT_TOL and not at_lower:
        mid = 0.5 * (a + b)
        p_mid, u_mid = best(mid)
        if p_mid >= q:
            b, p_b, u_b = mid, p_mid, u_mid
        else:
            a = mid
    per_draw = _first_crossing(alloc, target, c_lo, c_hi)
    compute = float(np.exp(b))
    n = float(np.exp(u_b))
    return TargetCompute(
        target=target,
        q=float(q),
        new_run=new_run,
        compute=compute,
        params=n,
        data=compute / (limits.k * n),
        probability=p_b,
        at_lower_bound=bool(at_lower),
        per_draw=_distribution(per_draw, probs),
        unreached=float(np.isinf(per_draw).mean()),
        search=(float(np.exp(c_lo)), float(np.exp(c_hi))),
        group=alloc.group,
        population=alloc.population,
        draws=per_draw,
    )


def _first_crossing(alloc: _Allocator, target: float, c_lo: float, c_hi: float) -> Array:
    """Per draw, the least C in ``[c_lo, c_hi]`` (log) with L*_s(C) <= target (+inf: none).

    L*_s is the law's own optimum (falling with C) times the draw's discrepancy, which for a
    draw whose error is positive grows with the distance beyond the data: L*_s can fall below
    the target and rise past it again further out. Bisection over the whole range assumed it
    monotone and counted such a draw as never reaching the target (its value at the top of the
    range); a scan finds each draw's first grid point below the target, and bisection refines
    between it and the point before.
    """
    grid = np.linspace(c_lo, c_hi, CROSSING_SCAN)
    below = np.stack([alloc.optimum(c)[1] <= target for c in grid])  # (grid, draws)
    reached = below.any(axis=0)
    index = np.argmax(below, axis=0)  # the first grid point below (0 where none is)
    at_lower = reached & (index == 0)
    lo_d, hi_d = grid[np.maximum(index - 1, 0)], grid[index]
    while np.max(hi_d - lo_d) > BISECT_TOL:  # 0 wide where none or the lower end is below
        mid = 0.5 * (lo_d + hi_d)
        down = alloc.optimum(mid)[1] <= target
        lo_d, hi_d = np.where(down, lo_d, mid), np.where(down, mid, hi_d)
    return np.where(reached, np.exp(np.where(at_lower, c_lo, hi_d)), np.inf)
