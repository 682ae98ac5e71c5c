r"""Compute planning over posterior draws: numpy only, vectorised over draws.

Every function evaluates the family's own ``curve`` in model units on the stored draws (as
:meth:`models.fitting.Fit.predict` does), so each answer carries the full posterior uncertainty and
works for every family that has the inputs the question needs:

* :func:`compute_optimal` — N*, D*, L*(C) per draw under ``C = k N D``; the expected-loss and
  point-estimate allocations and the regret between them; Chinchilla's closed form.
* :func:`probability_below` — ``P(L < target)`` at given points.
* :func:`compute_for_target` — the least compute reaching a target loss with probability q.
* :func:`plan` — :func:`compute_optimal` and, with a target, :func:`compute_for_target` at once.
* :func:`scale_time_tradeoff` — the iso-loss curve t(N) of a ``scale_time`` fit and its cheapest
  point.
* :func:`compare_groups` — ``P(L*_A(C) < L*_B(C))`` at a budget.
* :func:`suggest` — value of information of candidate runs for a target prediction.

Units: N in parameters, D in tokens (or samples), C in FLOPs with ``C = k N D`` (``k = 6`` for
dense transformers: about 2 FLOPs per parameter per token forward and 4 backward), losses in loss
units. Families that count training in ``steps`` (``scale_time``, ``kaplan`` form ``ns``) join the
allocation through ``tokens_per_step``: ``D = t x tokens_per_step``. Allocation needs ``params``
and ``data`` (or ``steps`` with ``tokens_per_step``); any further input of the family (e.g.
``label_noise``, ``unique_data``) is held fixed through ``inputs`` / ``unique_data``.

``group=None`` with several fitted groups plans for a *new* architecture drawn from the
population, as :func:`models.posterior.group_draws` does; a fitted name plans for that group; an
unseen name is a ``PredictionError`` naming ``group``. Intervals are equal-tailed. Per-draw
quantities that never reach a target count as +inf: an interval bound beyond every finite draw
is ``inf`` (``None`` in JSON).

Modules: :mod:`~models.planning.results` (answer types), :mod:`~models.planning.allocation`,
:mod:`~models.planning.targets`, :mod:`~models.planning.tradeoff`,
:mod:`~models.planning.value_of_information`; private helpers in ``_allocator`` (the loss along
``C = k N D``), ``_draws`` (model units) and ``_numerics`` (vectorised minimisers, quantiles).
"""

from models.planning._allocator import Constraints, allocation_problem
from models.planning._numerics import BISECT_TOL, GOLDEN_STEPS, GRID
from models.planning.allocation import compare_groups, compute_optimal, plan
from models.planning.results import (
    Allocation,
    BudgetPlan,
    CandidateValue,
    ComputePlan,
    Distribution,
    GroupComparison,
    SizePoint,
    Suggestion,
    TargetCompute,
    TargetProbability,
    TimeTradeoff,
)
from models.planning.targets import (
    SEARCH_ABOVE,
    SEARCH_BELOW,
    compute_for_target,
    probability_below,
)
from models.planning.tradeoff import TIME_BISECT, TIME_GRID, CostFn, scale_time_tradeoff
from models.planning.value_of_information import suggest

__all__ = [
    "BISECT_TOL",
    "GOLDEN_STEPS",
    "GRID",
    "SEARCH_ABOVE",
    "SEARCH_BELOW",
    "TIME_BISECT",
    "TIME_GRID",
    "Allocation",
    "BudgetPlan",
    "CandidateValue",
    "ComputePlan",
    "Constraints",
    "CostFn",
    "Distribution",
    "GroupComparison",
    "SizePoint",
    "Suggestion",
    "TargetCompute",
    "TargetProbability",
    "TimeTradeoff",
    "allocation_problem",
    "compare_groups",
    "compute_for_target",
    "compute_optimal",
    "plan",
    "probability_below",
    "scale_time_tradeoff",
    "suggest",
]
