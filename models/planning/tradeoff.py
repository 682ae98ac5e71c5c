"""Scale-time trade-off of a ``scale_time`` fit: how long each model size must train for a loss.

Boopathy & Fiete (2024): loss depends on size and time through τ = t N^κ, so a smaller model
trained longer can match a larger one; this module turns the posterior of κ (and the rest of the
curve) into the iso-loss curve t(N) and its cheapest point under a cost model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from models.build import scaled_inputs
from models.errors import PredictionError
from models.planning._draws import _draws, _scaled
from models.planning._numerics import (
    _distribution,
    _first_crossing,
    _positive,
    _positive_array,
    _quantiles,
)
from models.planning.results import SizePoint, TimeTradeoff
from models.predict import check_probs
from models.result import Fit

# The log-t grid of the iso-loss root finder and the bisection steps inside its first bracket.
TIME_GRID = 1024
TIME_BISECT = 50

Array = np.ndarray
CostFn = Callable[[Array, Array], Array]


def scale_time_tradeoff(
    fit: Fit,
    target: float,
    *,
    params_grid: Sequence[float] | None = None,
    group: str | None = None,
    cost: CostFn | None = None,
    k: float = 6.0,
    tokens_per_step: float = 1.0,
    inputs: Mapping[str, float] | None = None,
    probs: Sequence[float] = (0.5, 0.9),
    seed: int = 0,
) -> TimeTradeoff:
    r"""Iso-loss curve of a ``scale_time`` fit: steps each model size needs to reach ``target``.

    Per draw and size N, the first t with L(N, t) <= target (the family's curve, τ = t (N/N0)^κ,
    capacity floor and noise inputs included): a grid scan over log t from well before the
    fastest mode to well after the slowest, then bisection on the first bracket, so with
    epoch-wise double descent the first crossing (where training would stop) is found. 0 when
    the untrained loss is already below the target; +inf (not reached) when the target is below
    the draw's floor at that size. Without a capacity floor ``t N^κ`` is constant along the
    curve.

    The cheapest point minimises ``cost(N, t)``; default ``k N t tokens_per_step`` (training
    FLOPs when ``tokens_per_step`` is the batch in tokens; with the default 1 it is proportional
    to FLOPs, which is all the argmin needs). With κ < 1 and no capacity floor it falls at the
    smallest size (a small model trained longer is cheaper): ``at_edge`` says so.

    Parameters
    ----------
    fit
        A ``scale_time`` fit.
    target
        Loss to reach, loss units.
    params_grid
        Model sizes N; default 25 log-spaced sizes from the smallest observed to 100 x the
        largest.
    group
        A fitted group, or None / unseen for a new architecture.
    cost
        ``cost(N, t)`` on natural arrays (broadcasting), e.g. FLOPs or GPU-hours.
    k, tokens_per_step
        The default cost model's constants.
    inputs
        Values of ``data`` / ``label_noise`` when the family's noise term scales with them.
    probs
        Central interval probabilities.
    seed
        Seeds the population draws of a new group.
    """
    fam = fit.family
    if not fam.implements("log_time_range"):
        raise PredictionError(
            f"scale_time_tradeoff needs a scale_time fit, not '{fam.key()}'", field="family"
        )
    target = _positive(target, "target")
    probs = check_probs(probs)
    k, tps = _positive(k, "k"), _positive(tokens_per_step, "tokens_per_step")
    sizes = (
        np.geomspace(fit.data.inputs["params"].min(), 100 * fit.data.inputs["params"].max(), 25)
        if params_grid is None
        else _positive_array(params_grid, "params_grid")
    )
    others = [n for n in fam.inputs if n not in ("params", "steps")]
    given = dict(inputs or {})
    for name in others:
        if name not in given:
            raise PredictionError(f"'{fam.key()}' needs '{name}' (pass it in inputs)", field=name)
    fixed = scaled_inputs(
        {n: np.asarray(float(given[n])) for n in others}, tuple(others), fit.scales
    )
    group, population, params = _draws(fit, group, seed)
    cols = {n: v[:, None] for n, v in params.items()}
    log_target = np.log(target / fit.scales.loss)
    log_step_scale = np.log(fit.scales.inputs["steps"])
    steps = np.empty((len(next(iter(params.values()))), len(sizes)))
    for j, n in enumerate(sizes):
        x_n = _scaled(fit, "params", np.asarray(np.log(n)))

        def excess(u: Array, x_n: dict[str, Array] = x_n) -> Array:
            x = {**fixed, **x_n, "steps": np.exp(u), "log_steps": u}
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                return np.asarray(np.log(fam.curve(np, x, cols)) - log_target)

        span = fam.log_time_range(params, x_n)
        assert span is not None  # implements() said so
        lo, hi = span
        log_t, start = _first_crossing(excess, lo, hi, TIME_GRID, TIME_BISECT)
        steps[:, j] = np.where(start, 0.0, np.exp(log_t + log_step_scale))
    steps = np.where(np.isnan(steps), np.inf, steps)
    # a size already under the target at t = 0 costs nothing (not 0 x an overflowed product,
    # which is NaN); products past the float range are an infinite cost, and so is NaN
    with np.errstate(over="ignore", invalid="ignore"):
        if cost is None:
            costs = k * sizes[None, :] * steps * tps
            model = f"{k:g} x params x steps x {tps:g} tokens/step"
        else:
            costs = np.asarray(cost(np.broadcast_to(sizes, steps.shape), steps), dtype=float)
            model = "custom"
    costs = np.where(steps == 0, 0.0, costs)
    costs = np.where(np.isfinite(steps) & ~np.isnan(costs), costs, np.inf)
    points = tuple(
        SizePoint(
            float(n),
            _distribution(steps[:, j], probs),
            _distribution(costs[:, j], probs),
            float(np.isfinite(steps[:, j]).mean()),
        )
        for j, n in enumerate(sizes)
    )
    cheapest = int(np.argmin(_quantiles(costs, [0.5])[0]))
    own = np.where(np.isfinite(costs).any(axis=1), sizes[np.argmin(costs, axis=1)], np.inf)
    return TimeTradeoff(
        target=target,
        group=group,
        population=population,
        cost_model=model,
        sizes=points,
        cheapest=points[cheapest],
        cheapest_params=_distribution(own, probs),
        at_edge=cheapest in (0, len(sizes) - 1),
        draws={"params": sizes, "steps": steps, "cost": costs},
    )
