"""Result types of the planning functions: frozen dataclasses with JSON-safe ``to_dict``.

Kept apart from the numerics so that callers (the service, the CLI) can read and serialise an
answer without importing the optimisers; ``inf`` (a quantity never reached) is ``None`` in JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.predict import interval_tag

Array = np.ndarray


def _num(value: float | None) -> float | None:
    """A JSON number: inf and NaN (never reached, undefined) become None."""
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class Distribution:
    """Posterior summary of a per-draw quantity: median, mean and equal-tailed intervals.

    ``mean`` is ``inf`` when some draws are infinite (never reach a target).
    """

    median: float
    mean: float
    intervals: Mapping[float, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``{"median", "mean", "interval": {"90": [lo, hi]}}``; inf is None."""
        return {
            "median": _num(self.median),
            "mean": _num(self.mean),
            "interval": {
                interval_tag(p): [_num(lo), _num(hi)] for p, (lo, hi) in self.intervals.items()
            },
        }


@dataclass(frozen=True)
class Allocation:
    """One allocation (N, D) at a budget and the posterior expected loss it gives."""

    params: float
    data: float
    expected_loss: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe."""
        return {
            "params": float(self.params),
            "data": float(self.data),
            "expected_loss": _num(self.expected_loss),
        }


@dataclass(frozen=True)
class BudgetPlan:
    """The compute-optimal allocation at one budget C (FLOPs).

    ``params``/``data``/``loss`` summarise N*, D*, L*(C) over draws (each draw at its own
    optimum); ``steps`` is D*/tokens_per_step for step-counted families. ``expected_optimal`` is
    the single N minimising the posterior mean loss; ``point_estimate`` the optimum under the
    posterior-median parameters; ``regret`` = E[L](point estimate) - E[L](expected optimal) >= 0,
    the expected loss given up by planning with a point estimate. ``at_bound`` is the fraction
    of draws whose optimum sits at an end of the feasible segment (a binding constraint, or no
    interior optimum with N >= 1 and D >= one token). ``closed_form`` (Chinchilla only) gives
    N*, D*, L* from the closed form per draw. ``draws`` holds the per-draw arrays (not in JSON).
    """

    budget: float
    params: Distribution
    data: Distribution
    loss: Distribution
    steps: Distribution | None
    at_bound: float
    expected_optimal: Allocation
    point_estimate: Allocation
    regret: float
    closed_form: Mapping[str, Distribution] | None
    draws: Mapping[str, Array] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        out: dict[str, Any] = {
            "budget": float(self.budget),
            "params": self.params.to_dict(),
            "data": self.data.to_dict(),
            "loss": self.loss.to_dict(),
            "at_bound": float(self.at_bound),
            "expected_optimal": self.expected_optimal.to_dict(),
            "point_estimate": self.point_estimate.to_dict(),
            "regret": _num(self.regret),
            "closed_form": None
            if self.closed_form is None
            else {k: v.to_dict() for k, v in self.closed_form.items()},
        }
        if self.steps is not None:
            out["steps"] = self.steps.to_dict()
        return out


@dataclass(frozen=True)
class ComputePlan:
    """:func:`compute_optimal`'s answer: one :class:`BudgetPlan` per budget."""

    family: str
    group: str | None
    population: bool
    k: float
    probs: tuple[float, ...]
    constraints: Mapping[str, float | None]
    exponents: Mapping[str, Distribution]
    budgets: tuple[BudgetPlan, ...]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-safe row per budget."""
        return [b.to_dict() for b in self.budgets]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, with the allocation exponents (a: N* ∝ C^a, b: D* ∝ C^b) when defined."""
        return {
            "family": self.family,
            "group": self.group,
            "population": self.population,
            "k": float(self.k),
            "probs": list(self.probs),
            "constraints": {k: _num(v) for k, v in self.constraints.items()},
            "exponents": {k: v.to_dict() for k, v in self.exponents.items()},
            "budgets": self.to_records(),
        }


@dataclass(frozen=True)
class TargetProbability:
    """``P(L < target)`` per point (``new_run``: a new run's loss, else the mean curve)."""

    points: Any  # pandas.DataFrame of the family's inputs
    group: str | None
    population: bool
    new_run: bool
    target: Array
    probability: Array

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-safe row per point."""
        return [
            {
                "inputs": {k: float(v) for k, v in self.points.iloc[i].items()},
                "target": float(self.target[i]),
                "probability": float(self.probability[i]),
            }
            for i in range(len(self.probability))
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "group": self.group,
            "population": self.population,
            "new_run": self.new_run,
            "points": self.to_records(),
        }


@dataclass(frozen=True)
class TargetCompute:
    """:func:`compute_for_target`'s answer.

    ``compute`` is the least C with ``max_N P(L < target) >= q``; ``params``/``data`` the
    allocation chosen there and ``probability`` its P (≈ q). ``per_draw`` summarises, over draws,
    the C at which each draw's L*(C) reaches the target; ``unreached`` is the fraction of draws
    that never reach it within ``search`` (their floor is above the target: counted as +inf).
    ``at_lower_bound`` means the target is met already at the bottom of the search range.
    """

    target: float
    q: float
    new_run: bool
    compute: float
    params: float
    data: float
    probability: float
    at_lower_bound: bool
    per_draw: Distribution
    unreached: float
    search: tuple[float, float]
    group: str | None
    population: bool
    draws: Array = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "target": float(self.target),
            "q": float(self.q),
            "new_run": self.new_run,
            "compute": float(self.compute),
            "params": float(self.params),
            "data": float(self.data),
            "probability": float(self.probability),
            "at_lower_bound": self.at_lower_bound,
            "per_draw": self.per_draw.to_dict(),
            "unreached": float(self.unreached),
            "search": [float(self.search[0]), float(self.search[1])],
            "group": self.group,
            "population": self.population,
        }


@dataclass(frozen=True)
class SizePoint:
    """One model size on the iso-loss curve: steps needed, their cost, fraction reaching it."""

    params: float
    steps: Distribution
    cost: Distribution
    reached: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "params": float(self.params),
            "steps": self.steps.to_dict(),
            "cost": self.cost.to_dict(),
            "reached": float(self.reached),
        }


@dataclass(frozen=True)
class TimeTradeoff:
    """:func:`scale_time_tradeoff`'s answer.

    ``sizes`` is the iso-loss curve; ``cheapest`` the size with the lowest median cost
    (``at_edge`` when it is the first or last grid size: widen the grid); ``cheapest_params``
    the distribution over draws of each draw's own cheapest size. ``draws["steps"]`` is (S, J).
    """

    target: float
    group: str | None
    population: bool
    cost_model: str
    sizes: tuple[SizePoint, ...]
    cheapest: SizePoint
    cheapest_params: Distribution
    at_edge: bool
    draws: Mapping[str, Array] = field(repr=False)

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-safe row per size."""
        return [s.to_dict() for s in self.sizes]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "target": float(self.target),
            "group": self.group,
            "population": self.population,
            "cost_model": self.cost_model,
            "sizes": self.to_records(),
            "cheapest": self.cheapest.to_dict(),
            "cheapest_params": self.cheapest_params.to_dict(),
            "at_edge": self.at_edge,
        }


@dataclass(frozen=True)
class GroupComparison:
    """``probability`` = P(L*_A(C) < L*_B(C)) + ½ P(tie), each group at its own optimum."""

    a: str | None
    b: str | None
    budget: float
    probability: float
    loss_a: Distribution
    loss_b: Distribution
    difference: Distribution  # L*_A - L*_B
    params_a: Distribution
    params_b: Distribution

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "a": self.a,
            "b": self.b,
            "budget": float(self.budget),
            "probability": float(self.probability),
            "loss_a": self.loss_a.to_dict(),
            "loss_b": self.loss_b.to_dict(),
            "difference": self.difference.to_dict(),
            "params_a": self.params_a.to_dict(),
            "params_b": self.params_b.to_dict(),
        }


@dataclass(frozen=True)
class CandidateValue:
    """Expected information a candidate run gives about the target's log loss (mean curve).

    Variances and widths are of log loss (nats of log loss); ``low_ess`` flags an importance
    estimate resting on few effective draws (mean ESS below ``min_ess``): treat it as rough.
    """

    inputs: Mapping[str, float]
    cost: float
    expected_variance: float
    expected_reduction: float
    reduction_per_cost: float
    expected_width: Mapping[float, float]
    ess_mean: float
    ess_min: float
    low_ess: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "inputs": {k: float(v) for k, v in self.inputs.items()},
            "cost": float(self.cost),
            "expected_variance": _num(self.expected_variance),
            "expected_reduction": _num(self.expected_reduction),
            "reduction_per_cost": _num(self.reduction_per_cost),
            "expected_width": {interval_tag(p): _num(w) for p, w in self.expected_width.items()},
            "ess_mean": _num(self.ess_mean),
            "ess_min": _num(self.ess_min),
            "low_ess": self.low_ess,
        }


@dataclass(frozen=True)
class Suggestion:
    """:func:`suggest`'s answer: candidates ranked by expected variance reduction per cost."""

    target: Mapping[str, float]
    group: str | None
    population: bool
    current_variance: float
    current_width: Mapping[float, float]
    n_outcomes: int
    ranked: tuple[CandidateValue, ...]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-safe row per candidate, best first."""
        return [{"rank": i + 1, **c.to_dict()} for i, c in enumerate(self.ranked)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {
            "target": {k: float(v) for k, v in self.target.items()},
            "group": self.group,
            "population": self.population,
            "current_variance": _num(self.current_variance),
            "current_width": {interval_tag(p): _num(w) for p, w in self.current_width.items()},
            "n_outcomes": self.n_outcomes,
            "candidates": self.to_records(),
        }
