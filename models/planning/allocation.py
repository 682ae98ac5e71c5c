"""Compute-optimal allocation of a budget between model size and data, and group comparison.

:func:`compute_optimal` answers "how large a model, on how much data, for C FLOPs" per posterior
draw and as one Bayes decision; :func:`plan` adds "and how much compute for this loss";
:func:`compare_groups` asks which architecture wins when each is allocated optimally. All run on
:class:`~models.planning._allocator._Allocator`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Unpack

import numpy as np

from models.errors import PredictionError
from models.planning._allocator import Constraints, _Allocator, _limits
from models.planning._numerics import _distribution, _positive, _positive_array
from models.planning.results import (
    Allocation,
    BudgetPlan,
    ComputePlan,
    Distribution,
    GroupComparison,
    TargetCompute,
)
from models.planning.targets import compute_for_target
from models.predict import check_probs
from models.result import Fit

Array = np.ndarray


def compute_optimal(
    fit: Fit,
    budgets: float | Sequence[float],
    *,
    group: str | None = None,
    k: float = 6.0,
    inputs: Mapping[str, float] | None = None,
    probs: Sequence[float] = (0.5, 0.9),
    seed: int = 0,
    **constraints: Unpack[Constraints],
) -> ComputePlan:
    r"""Compute-optimal allocation per posterior draw at each budget C (FLOPs), ``C = k N D``.

    Per draw: minimise L(N, C/(kN)) over log N on the feasible segment (N >= 1, D >= one token,
    ``N <= max_params``, ``D <= max_data``), by a log-N grid for all draws at once refined by
    golden-section steps. ``fixed_params`` / ``fixed_data`` pin one side (no optimisation).
    ``unique_data`` is the unique tokens available: the ``data_constrained`` family may repeat
    them (D > U as extra epochs, valued by its own D' through its curve); for a family with no
    repetition in its law it caps D.

    Chinchilla also gets the closed form per draw (natural units):
    :math:`N^* = G (C/k)^a`, :math:`D^* = G^{-1} (C/k)^b`,
    :math:`G = (\alpha A/(\beta B))^{1/(\alpha + \beta)}`, :math:`a = \beta/(\alpha+\beta)`,
    :math:`b = \alpha/(\alpha+\beta)`, clipped to the feasible segment (the loss is convex in
    log N, so clipping is exact). The posteriors of ``a`` and ``b`` are reported for every
    family that derives them.

    Beyond the per-draw optimum (what a clairvoyant would choose), a plan needs *one* N: the
    expected-loss optimum ``argmin_N E_θ[L(N, C/(kN))]`` is the Bayes decision; the
    point-estimate optimum (posterior-median parameters) is what a point fit would choose; the
    regret is how much expected loss the latter gives up.

    Parameters
    ----------
    fit
        A fit of a family with ``params`` and ``data`` (or ``steps`` and ``tokens_per_step``).
    budgets
        Compute budget(s) C in FLOPs.
    group
        A fitted group, or None / an unseen name for a new architecture from the population.
    k
        FLOPs per parameter per token (6 for dense transformers).
    inputs
        Values of any other input the family needs (e.g. ``label_noise``), natural units.
    probs
        Central interval probabilities.
    seed
        Seeds the population draws of a new group.
    **constraints
        :class:`~models.planning.Constraints`, keyword arguments: ``max_params`` /
        ``max_data`` (upper bounds on N and D), ``fixed_params`` / ``fixed_data`` (pin N or D,
        the other follows from C; at most one), ``unique_data`` (see above),
        ``tokens_per_step`` (tokens per optimizer step, for families whose input is ``steps``).
    """
    probs = check_probs(probs)
    costs = _positive_array(budgets, "budgets")
    limits = _limits(k, inputs, constraints)
    alloc = _Allocator(fit, limits, group, seed)
    fam, scales = fit.family, fit.scales
    natural = fam.to_natural(alloc.params, scales.inputs, scales.loss)
    derived = fam.derived(natural)
    exponents: dict[str, Distribution] = {
        n: _distribution(derived[n], probs) for n in ("a", "b") if n in derived
    }
    median = alloc.median_params()
    plans = []
    for budget in costs:
        log_c = float(np.log(budget))
        alloc.check(log_c, "budgets")
        log_n, loss = alloc.optimum(log_c)
        lo, hi = alloc.bounds(np.array([log_c]))
        tol = 1e-7 * max(float(hi[0] - lo[0]), 1.0)
        at_bound = float(np.mean((log_n - lo[0] <= tol) | (hi[0] - log_n <= tol)))
        u_eo, l_eo = alloc.expected_optimum(log_c)
        u_pe = float(alloc.optimum(log_c, median)[0][0])
        l_pe = float(alloc.expected(np.array([[u_pe]]), log_c)[0, 0])
        n_star = np.exp(log_n)
        d_star = budget / (limits.k * n_star)
        draws = {"params": n_star, "data": d_star, "loss": loss}
        closed = None
        exact = fam.closed_form_allocation(natural, float(budget), limits.k, lo[0], hi[0])
        if exact is not None:
            c_n, c_d, c_l = exact
            draws |= {"closed_params": c_n, "closed_data": c_d, "closed_loss": c_l}
            closed = {
                n: _distribution(v, probs)
                for n, v in zip(("params", "data", "loss"), (c_n, c_d, c_l), strict=True)
            }
        steps = None
        if alloc.axis == "steps":
            draws["steps"] = d_star / (limits.tokens_per_step or 1.0)
            steps = _distribution(draws["steps"], probs)

        def choice(u: float, value: float, c: float = float(budget)) -> Allocation:
            return Allocation(float(np.exp(u)), c / (limits.k * float(np.exp(u))), value)

        plans.append(
            BudgetPlan(
                budget=float(budget),
                params=_distribution(n_star, probs),
                data=_distribution(d_star, probs),
                loss=_distribution(loss, probs),
                steps=steps,
                at_bound=at_bound,
                expected_optimal=choice(u_eo, l_eo),
                point_estimate=choice(u_pe, l_pe),
                # E[L] at its own minimiser is <= E[L] anywhere up to the optimiser's tolerance
                regret=max(l_pe - l_eo, 0.0),
                closed_form=closed,
                draws=draws,
            )
        )
    return ComputePlan(
        family=fam.key(),
        group=alloc.group,
        population=alloc.population,
        k=limits.k,
        probs=probs,
        constraints=limits.as_dict(),
        exponents=exponents,
        budgets=tuple(plans),
    )


def compare_groups(
    fit: Fit,
    a: str | None,
    b: str | None,
    budget: float,
    *,
    k: float = 6.0,
    inputs: Mapping[str, float] | None = None,
    probs: Sequence[float] = (0.5, 0.9),
    seed: int = 0,
    **constraints: Unpack[Constraints],
) -> GroupComparison:
    """``P(L*_A(C) < L*_B(C))`` at budget C, each group at its own optimum per draw.

    Which architecture is better when each is allocated compute-optimally. Draws are paired by
    index (the joint posterior), so shared parameters and common uncertainty cancel. Ties count
    one half, so a group compared with itself gives 0.5. ``None`` or an unseen name is a new
    architecture from the population (A with ``seed``, B with ``seed + 1``: two independent new
    architectures). ``constraints`` and ``inputs`` are as for :func:`compute_optimal` and apply
    to both groups.
    """
    probs = check_probs(probs)
    budget = _positive(budget, "budget")
    limits = _limits(k, inputs, constraints)
    alloc_a = _Allocator(fit, limits, a, seed)
    alloc_b = _Allocator(fit, limits, b, seed + 1)
    log_c = float(np.log(budget))
    alloc_a.check(log_c, "budget")
    n_a, l_a = alloc_a.optimum(log_c)
    n_b, l_b = alloc_b.optimum(log_c)
    prob = float(np.mean(l_a < l_b) + 0.5 * np.mean(l_a == l_b))
    return GroupComparison(
        a=alloc_a.group,
        b=alloc_b.group,
        budget=budget,
        probability=prob,
        loss_a=_distribution(l_a, probs),
        loss_b=_distribution(l_b, probs),
        difference=_distribution(l_a - l_b, probs),
        params_a=_distribution(np.exp(n_a), probs),
        params_b=_distribution(np.exp(n_b), probs),
    )


def plan(
    fit: Fit,
    budgets: float | Sequence[float] = (),
    *,
    target: float | None = None,
    q: float = 0.9,
    new_run: bool = True,
    group: str | None = None,
    k: float = 6.0,
    inputs: Mapping[str, float] | None = None,
    probs: Sequence[float] = (0.5, 0.9),
    seed: int = 0,
    **constraints: Unpack[Constraints],
) -> tuple[ComputePlan, TargetCompute | None]:
    """The allocation at each budget, and with a ``target`` loss the compute that reaches it.

    What a planner asks in one go (the CLI's ``plan`` and the HTTP ``/plan`` route): with a
    ``target``, :func:`~models.planning.compute_for_target` at probability ``q`` (``new_run``
    as there); without ``budgets`` the plan is then made at that compute, so the answer says how
    large a model, on how much data, reaches the target. Everything else is
    :func:`compute_optimal`'s, with the same constraints for both questions.
    """
    common: dict[str, Any] = {
        "group": group,
        "k": k,
        "inputs": inputs,
        "probs": probs,
        "seed": seed,
    }
    reach = None
    if target is not None:
        reach = compute_for_target(fit, target, q=q, new_run=new_run, **common, **constraints)
    if np.size(budgets) == 0:
        if reach is None:
            raise PredictionError("give budgets, or a target loss to plan for", field="budgets")
        budgets = [reach.compute]
    return compute_optimal(fit, budgets, **common, **constraints), reach
