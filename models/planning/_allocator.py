"""The loss along the compute budget ``C = k N D`` and the feasible segment of log N.

:class:`_Allocator` is shared by :mod:`models.planning.allocation` (optimal N per budget) and
:mod:`models.planning.targets` (compute for a target loss): both search over the same constrained
segment with the same family curve, so the constraints are interpreted in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np

from models.build import scaled_inputs
from models.errors import PredictionError
from models.families.base import ScalingLaw
from models.planning._draws import _draws, _scaled
from models.planning._numerics import _minimise, _positive
from models.result import Fit

Array = np.ndarray


@dataclass(frozen=True)
class _Limits:
    k: float
    max_params: float | None = None
    max_data: float | None = None
    fixed_params: float | None = None
    fixed_data: float | None = None
    unique_data: float | None = None
    tokens_per_step: float | None = None
    inputs: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float | None]:
        return {
            "max_params": self.max_params,
            "max_data": self.max_data,
            "fixed_params": self.fixed_params,
            "fixed_data": self.fixed_data,
            "unique_data": self.unique_data,
            "tokens_per_step": self.tokens_per_step,
        }


class Constraints(TypedDict, total=False):
    """Limits on an allocation, natural units; every planning function over C = k N D takes them.

    ``max_params`` / ``max_data`` cap N and D; ``fixed_params`` / ``fixed_data`` pin one of them
    (at most one); ``unique_data`` is the unique tokens available (repeated by
    ``data_constrained``, a cap on D otherwise); ``tokens_per_step`` converts steps to tokens.
    """

    max_params: float | None
    max_data: float | None
    fixed_params: float | None
    fixed_data: float | None
    unique_data: float | None
    tokens_per_step: float | None


def _limits(k: float, inputs: Mapping[str, float] | None, constraints: Constraints) -> _Limits:
    out: dict[str, float | None] = {}
    for name, value in {"k": k, **constraints}.items():
        out[name] = None if value is None else _positive(value, name)
    if out.get("fixed_params") is not None and out.get("fixed_data") is not None:
        raise PredictionError(
            "fixed_params and fixed_data together pin the budget: give at most one",
            field="fixed_data",
        )
    extra = {str(n): float(v) for n, v in (inputs or {}).items()}
    return _Limits(inputs=extra, **out)  # type: ignore[arg-type]


def allocation_problem(fam: ScalingLaw) -> str:
    """Why fits of ``fam`` cannot split compute between size and data, or '' when they can."""
    if "params" in fam.inputs and {"data", "steps"} & set(fam.inputs):
        return ""
    return (
        f"compute allocation needs a family with inputs 'params' and 'data' (or "
        f"'steps' with tokens_per_step); '{fam.key()}' has {', '.join(fam.inputs)}"
    )


class _Allocator:
    """Natural loss of one group's draws along ``N D = C/k`` and the feasible segment of log N.

    The data axis is ``data``, or ``steps`` (D = steps x tokens_per_step) for families that
    count training in steps. Other inputs are held fixed at the values given.
    """

    def __init__(self, fit: Fit, limits: _Limits, group: str | None, seed: int) -> None:
        fam = fit.family
        problem = allocation_problem(fam)
        if problem:
            raise PredictionError(problem, field="family")
        self.axis = "steps" if "steps" in fam.inputs else "data"
        if self.axis == "steps" and limits.tokens_per_step is None:
            raise PredictionError(
                f"'{fam.key()}' counts training in steps: give tokens_per_step (tokens per "
                "optimizer step) so that D = steps x tokens_per_step and C = k N D",
                field="tokens_per_step",
            )
        others = [n for n in fam.inputs if n not in ("params", self.axis)]
        given = dict(limits.inputs)
        if limits.unique_data is not None and "unique_data" in fam.inputs:
            given["unique_data"] = limits.unique_data
        for name in others:
            if name not in given:
                raise PredictionError(
                    f"'{fam.key()}' also needs '{name}' held fixed (pass it in inputs"
                    + (" or as unique_data)" if name == "unique_data" else ")"),
                    field=name,
                )
        self.fit, self.limits, self.others = fit, limits, others
        self.fixed = scaled_inputs(
            {n: np.asarray(given[n], dtype=float) for n in others}, tuple(others), fit.scales
        )
        self.group, self.population, self.params = _draws(fit, group, seed)
        self.columns = {n: v[:, None] for n, v in self.params.items()}
        n_draws = len(next(iter(self.params.values())))
        # Per draw tau * eta of the extrapolation discrepancy (models.discrepancy), (S, 1). It is
        # the law's error, common to every group: drawn from the fit's own seed, not ``seed``
        # (which differs between two new groups), so it cancels when groups are compared.
        self.delta = (
            None
            if fit.discrepancy is None
            else np.asarray(fit.discrepancy.tau_draws(n_draws, fit.settings.seed))[:, None]
        )
        self.log_k = float(np.log(limits.k))
        # D >= one token (one step on the steps axis): the segment's natural lower end.
        self.log_unit = float(np.log(limits.tokens_per_step or 1.0)) if self.axis == "steps" else 0
        # Families without repetition in their law cannot use more than unique_data tokens.
        caps = [limits.max_data]
        if "unique_data" not in fam.inputs:
            caps.append(limits.unique_data)
        finite = [c for c in caps if c is not None]
        self.log_data_cap = float(np.log(min(finite))) if finite else np.inf
        self.log_params_cap = np.log(limits.max_params) if limits.max_params else np.inf

    # ---- geometry (natural log units)

    def bounds(self, log_c: Array) -> tuple[Array, Array]:
        """Feasible log-N segment [lo, hi] for each log C (empty where lo > hi)."""
        log_m = np.asarray(log_c, dtype=float) - self.log_k
        lo = np.maximum(0.0, log_m - self.log_data_cap)
        hi = np.minimum(self.log_params_cap, log_m - self.log_unit)
        pinned = None
        if self.limits.fixed_params is not None:
            pinned = np.full_like(log_m, np.log(self.limits.fixed_params))
        elif self.limits.fixed_data is not None:
            pinned = log_m - np.log(self.limits.fixed_data)
        if pinned is not None:
            ok = (pinned >= lo - 1e-9) & (pinned <= hi + 1e-9)
            return pinned, np.where(ok, pinned, -np.inf)
        return lo, hi

    def compute_range(self) -> tuple[float, float]:
        """The interval of log C where the feasible segment is non-empty."""
        lim, unit, cap = self.limits, self.log_unit, self.log_data_cap
        if lim.fixed_params is not None:
            n = float(np.log(lim.fixed_params))
            lo, hi = n + unit, (n + cap) if n <= self.log_params_cap else -np.inf
        elif lim.fixed_data is not None:
            d = float(np.log(lim.fixed_data))
            lo, hi = d, (d + self.log_params_cap) if unit <= d <= cap else -np.inf
        else:
            lo, hi = unit, (self.log_params_cap + cap) if cap >= unit else -np.inf
        return lo + self.log_k, hi + self.log_k

    def check(self, log_c: float, name: str) -> None:
        """Refuse a budget outside the feasible compute range."""
        lo, hi = self.compute_range()
        if not lo - 1e-9 <= log_c <= hi + 1e-9:
            with np.errstate(over="ignore"):  # bounds past 1e308 FLOPs read "inf"
                raise PredictionError(
                    f"{name} C = {np.exp(log_c):.4g} FLOPs is infeasible under the constraints "
                    f"(feasible C from {np.exp(lo):.4g} to {np.exp(hi):.4g})",
                    field=name,
                )

    def observed_log_compute(self) -> Array:
        """log(k N D) of every observed run, D on the data axis."""
        x = self.fit.data.inputs
        log_d = np.log(x[self.axis]) + (self.log_unit if self.axis == "steps" else 0.0)
        return np.asarray(self.log_k + np.log(x["params"]) + log_d)

    # ---- the loss

    def loss(
        self,
        log_n: Array,
        log_c: Array | float,
        params: Mapping[str, Array],
        *,
        discrepancy: bool = True,
    ) -> Array:
        """Natural loss at N = e^log_n, D = C/(kN); shapes broadcast with ``params``.

        ``discrepancy=False`` leaves out the extrapolation discrepancy (the law's own curve).
        """
        log_d = np.asarray(log_c) - self.log_k - log_n
        if self.axis == "steps":
            log_d = log_d - self.log_unit
        x = dict(self.fixed)
        x.update(_scaled(self.fit, "params", log_n))
        x.update(_scaled(self.fit, self.axis, log_d))
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            out = self.fit.family.curve(np, x, params) * self.fit.scales.loss
        if discrepancy and self.delta is not None and params is self.columns:
            # Per-draw curves carry the discrepancy beyond the data; the point estimate
            # (median_params) does not: the discrepancy has median zero.
            natural = {"params": np.exp(log_n), self.axis: np.exp(log_d)}
            scales = self.fit.scales.inputs
            natural.update({n: self.fixed[n] * scales[n] for n in self.others})
            root = np.sqrt(self.fit.discrepancy.distance(natural))
            out = out * np.exp(root * self.delta)
        return np.asarray(out, dtype=float)

    def optimum(
        self, log_c: Array | float, params: Mapping[str, Array] | None = None
    ) -> tuple[Array, Array]:
        """Per row (draw), log N* and L* at its own log C (rows = draws, or 1 for ``params``).

        Each draw's N* minimises its law's curve; L* is the loss there *with* the discrepancy.
        The discrepancy is the law's error of unknown sign: minimising through it let a draw
        whose error happens to fall with the distance run to the farthest corner (measured:
        N* bands spanning six decades at 1e23 FLOPs on the README's Chinchilla fit).
        """
        p = self.columns if params is None else params
        rows = max(len(v) for v in p.values())
        log_cs = np.broadcast_to(np.asarray(log_c, dtype=float), (rows,))
        lo, hi = self.bounds(log_cs)
        log_n, law = _minimise(
            lambda u: self.loss(u, log_cs[:, None], p, discrepancy=False), lo, hi
        )
        if self.delta is None or p is not self.columns:
            return log_n, law
        found = np.isfinite(log_n)
        at = np.where(found, log_n, 0.0)[:, None]
        widened = self.loss(at, log_cs[:, None], p)[:, 0]
        return log_n, np.where(found, widened, law)

    def expected(self, log_n: Array, log_c: float) -> Array:
        """Posterior mean loss over draws at each log N, shape of ``log_n`` (1, G)."""
        return np.asarray(self.loss(log_n, log_c, self.columns).mean(axis=0, keepdims=True))

    def expected_optimum(self, log_c: float) -> tuple[float, float]:
        """The single log N minimising the posterior mean loss, and that mean loss."""
        lo, hi = self.bounds(np.array([log_c]))
        u, value = _minimise(lambda w: self.expected(w, log_c), lo, hi)
        return float(u[0]), float(value[0])

    def median_params(self) -> dict[str, Array]:
        """Posterior-median parameters (model units) as (1, 1) arrays: the point estimate."""
        return {n: np.median(v).reshape(1, 1) for n, v in self.params.items()}
