"""Value of information: which run to train next to sharpen the prediction at a target scale.

Each candidate's possible outcomes are simulated from the posterior predictive and the posterior
is updated by importance reweighting of the stored draws (no refit, no MCMC), so ranking a
handful of candidates costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special

from models.errors import PredictionError
from models.planning._draws import _draws, _log_mean
from models.planning._numerics import _positive
from models.planning.results import CandidateValue, Suggestion
from models.posterior import noise_draws
from models.predict import check_probs, points_frame
from models.result import Fit

Array = np.ndarray


def suggest(
    fit: Fit,
    candidates: Sequence[Mapping[str, Any]],
    target: Mapping[str, float],
    *,
    cost: Callable[[Mapping[str, float]], float] | None = None,
    group: str | None = None,
    k: float = 6.0,
    n_outcomes: int = 64,
    probs: Sequence[float] = (0.9,),
    min_ess: float = 100.0,
    seed: int = 0,
) -> Suggestion:
    r"""Rank candidate runs by the expected reduction of the target's predictive variance per cost.

    For each candidate x: draw ``n_outcomes`` outcomes :math:`y_i = \log L_{\theta_{j_i}}(x) +
    \sigma_{j_i}\varepsilon_i` from the posterior predictive (draw index :math:`j_i` paired with
    its parameters and noise; Student-t ε for the robust likelihood); approximate the posterior
    after observing :math:`y_i` by importance weights :math:`w_s \propto p(y_i | \theta_s)` (the
    fit's likelihood on log loss); take the weighted variance of the target's mean-curve log
    loss and average over outcomes. The extrapolation discrepancy enters as the refit will treat
    it: outcomes carry today's discrepancy at x, but the run becomes a training row (discrepancy
    zero there), so the weights score the law alone and the target's discrepancy after the run
    is measured from the training ranges widened by x (:meth:`Discrepancy.extended`); its
    variance is added exactly, not through the weights. Reported per candidate: expected
    variance after, expected reduction (current - after), reduction per unit cost, the expected
    central-interval width after (weighted quantiles, log loss) and the effective sample size
    :math:`1/\sum w^2` of the weights (``low_ess`` when its mean is below ``min_ess``).

    A candidate's cost is its ``"cost"`` key, else ``cost(inputs)``, else ``k N D`` when it has
    ``params`` and ``data``, ``compute`` when it has that, otherwise 1.
    """
    if not candidates:
        raise PredictionError("no candidates to rank", field="candidates")
    if n_outcomes < 1:
        raise PredictionError("n_outcomes must be at least 1", field="n_outcomes")
    probs = check_probs(probs)
    fam = fit.family
    target_frame = points_frame([dict(target)], fam.inputs)
    rows = [{n: v for n, v in c.items() if n != "cost"} for c in candidates]
    frame = points_frame(rows, fam.inputs)
    costs = []
    for i, c in enumerate(candidates):
        value = c.get("cost")
        if value is None:
            value = cost(dict(rows[i])) if cost is not None else _default_cost(rows[i], k)
        costs.append(_positive(value, "cost"))
    group, population, params = _draws(fit, group, seed)
    law_target = _log_mean(fit, target_frame, params, discrepancy=False)[0]
    law = _log_mean(fit, frame, params, discrepancy=False)
    natural = {n: frame[n].to_numpy() for n in fam.inputs}
    target_point = {n: float(target_frame[n].iloc[0]) for n in fam.inputs}
    # tau * eta per draw, the same draws predictions use (models.planning._draws._log_mean).
    shift = (
        np.zeros(len(law_target))
        if fit.discrepancy is None
        else fit.discrepancy.tau_draws(len(law_target), fit.settings.seed)
    )
    root_now = _root_distance(fit.discrepancy, target_point)
    # sqrt(Z) at every candidate: where a run's outcome carries today's discrepancy
    root_x = (
        np.zeros(len(frame))
        if fit.discrepancy is None
        else np.sqrt(fit.discrepancy.distance(natural))
    )
    m = law_target + shift * root_now
    shift_variance = float(shift.var())
    current_variance = float(law_target.var()) + shift_variance * root_now**2
    noise = noise_draws(fit.draws)
    sigma, nu = noise["sigma"], noise.get("nu")
    current = _widths(np.sort(m), np.full((1, len(m)), 1.0 / len(m)), probs)
    rng = np.random.default_rng(seed)
    values = []
    for i in range(len(frame)):
        candidate = {n: float(v[i]) for n, v in natural.items()}
        # Outcomes come from today's predictive, discrepancy included (the run may be off-law).
        j = rng.integers(len(m), size=n_outcomes)
        eps = rng.standard_normal(n_outcomes) if nu is None else rng.standard_t(nu[j])
        y = law[i, j] + shift[j] * root_x[i] + sigma[j] * eps
        # The refit makes the run a training row, where the discrepancy is zero: its likelihood
        # weighs the law alone, and the discrepancy at the target is measured from the ranges
        # widened by the run (a run learns nothing of eta, it moves the edge of the data).
        z = (y[:, None] - law[i][None, :]) / sigma[None, :]
        if nu is None:
            logw = -0.5 * z**2 - np.log(sigma)[None, :]
        else:
            logw = (
                special.gammaln((nu + 1) / 2)
                - special.gammaln(nu / 2)
                - 0.5 * np.log(nu)
                - np.log(sigma)
            )[None, :] - (nu[None, :] + 1) / 2 * np.log1p(z**2 / nu[None, :])
        logw = np.where(np.isfinite(logw), logw, -np.inf)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        root_after = _root_distance(
            None if fit.discrepancy is None else fit.discrepancy.extended(candidate), target_point
        )
        after = law_target + shift * root_after
        # The law and the discrepancy are independent and a run reweights only the law, so the
        # variance splits exactly; the discrepancy's part is taken over all draws, not through
        # the weights (its heavy-tailed tau made the weighted estimate noisier than the effect).
        mean = w @ law_target
        variance = np.maximum(w @ law_target**2 - mean**2, 0.0) + shift_variance * root_after**2
        ess = 1.0 / np.sum(w**2, axis=1)
        order = np.argsort(after)
        width = _widths(after[order], w[:, order], probs)
        expected = float(variance.mean())
        reduction = current_variance - expected
        values.append(
            CandidateValue(
                inputs={n: float(frame[n].iloc[i]) for n in fam.inputs},
                cost=costs[i],
                expected_variance=expected,
                expected_reduction=reduction,
                reduction_per_cost=reduction / costs[i],
                expected_width={p: float(v.mean()) for p, v in width.items()},
                ess_mean=float(ess.mean()),
                ess_min=float(ess.min()),
                low_ess=bool(ess.mean() < min_ess),
            )
        )
    ranked = sorted(values, key=lambda v: -v.reduction_per_cost)
    return Suggestion(
        target={n: float(target_frame[n].iloc[0]) for n in fam.inputs},
        group=group,
        population=population,
        current_variance=current_variance,
        current_width={p: float(v[0]) for p, v in current.items()},
        n_outcomes=n_outcomes,
        ranked=tuple(ranked),
    )


def _root_distance(discrepancy: Any, point: Mapping[str, float]) -> float:
    """``sqrt(Z)`` at one point (0 without a discrepancy)."""
    if discrepancy is None:
        return 0.0
    return float(np.sqrt(discrepancy.distance({k: np.array([v]) for k, v in point.items()})[0]))


def _widths(sorted_values: Array, weights: Array, probs: Sequence[float]) -> dict[float, Array]:
    """Equal-tailed interval widths per row of weights (R, S) over sorted values (S,).

    Weighted quantiles by the inverted cdf (the first value whose cumulative weight reaches the
    level), the same rule for uniform weights (now) and importance weights (after a run).
    """
    cum = np.cumsum(weights, axis=1)
    last = len(sorted_values) - 1
    out = {}
    for p in probs:
        lo = np.minimum((cum < (1 - p) / 2).sum(axis=1), last)
        hi = np.minimum((cum < (1 + p) / 2).sum(axis=1), last)
        out[p] = sorted_values[hi] - sorted_values[lo]
    return out


def _default_cost(inputs: Mapping[str, Any], k: float) -> float:
    if "params" in inputs and "data" in inputs:
        return k * float(inputs["params"]) * float(inputs["data"])
    if "compute" in inputs:
        return float(inputs["compute"])
    return 1.0
