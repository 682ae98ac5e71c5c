r"""Stacking of predictive distributions, and the stacked fit as one law.

Weights (Yao, Vehtari, Simpson & Gelman 2018): given each candidate's log predictive density of
every held-out row, choose simplex weights maximising

.. math:: \sum_i \log \sum_k w_k \, p_k(y_i)

(here with leave-future-out densities, so laws are weighted by how they extrapolated within the
user's own data). The objective is the log-likelihood of a mixture with fixed components, so the
EM update ``w_k <- mean_i w_k p_k(y_i) / sum_j w_j p_j(y_i)`` increases it monotonically to the
optimum (the problem is concave in ``w``).

The stacked fit is a :class:`~models.fit.Fit` whose family is :class:`Stacked`: each posterior
draw belongs to one candidate (``member``, drawn with the stacking weights) and carries that
candidate's parameters. Every consumer that evaluates ``family.curve`` over draws (prediction,
planning, targets, value of information, plots) therefore works on the mixture unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from models.centring import block_of
from models.config import ModelConfig
from models.data import INPUTS, Scales
from models.diagnostics import Diagnostics, FitWarning
from models.discrepancy import Discrepancy
from models.families import Param, Pooling, ScalingLaw
from models.priors import PriorSpec

# Bayesian-bootstrap replicates behind each weight's interval (weight_intervals), and the
# interval's probability.
BOOTSTRAP_DRAWS = 400
INTERVAL_PROB = 0.9

# Weights below this are dropped (their candidate is not fitted on the full data) and the rest
# renormalised: a 0.5 % share would hardly move any interval, and each member costs a full fit.
MIN_WEIGHT = 0.005


def stacking_weights(lpd: np.ndarray, *, iterations: int = 5000, tol: float = 1e-12) -> np.ndarray:
    """Simplex weights maximising ``sum_i log sum_k w_k exp(lpd[k, i])`` (EM, from uniform)."""
    rows = np.ones((1, lpd.shape[1]))  # every row once: the plain stacking problem
    return np.asarray(reweighted_stacking_weights(lpd, rows, iterations=iterations, tol=tol)[0])


def reweighted_stacking_weights(
    lpd: np.ndarray, rows: np.ndarray, *, iterations: int = 2000, tol: float = 1e-8
) -> np.ndarray:
    """Stacking weights (B, K) maximising ``sum_i rows[b, i] log sum_k w_k p_k(y_i)`` per ``b``.

    ``rows`` (B, n) weighs the scored rows of each replicate (an integer weight counts a row that
    many times). The EM update of the module docstring, weighted, from uniform weights, for
    every replicate at once; each stops when its objective gains less than ``tol``.
    """
    lpd = np.where(np.isfinite(lpd), lpd, -1e6)
    dens = np.exp(lpd - lpd.max(axis=0, keepdims=True))  # (K, n), each row's best at 1
    b, k = rows.shape[0], lpd.shape[0]
    w = np.full((b, k), 1.0 / k)
    last = np.full(b, -np.inf)
    active = np.arange(b)  # replicates still climbing: a converged one stops (4-10x faster)
    for _ in range(iterations):
        r, wa = rows[active], w[active]
        # a row's mixture density stays above 0 unless every weight that reaches it underflows
        mix = np.maximum(wa @ dens, 1e-300)  # (active, n)
        value = (r * np.log(mix)).sum(axis=1)
        wa = wa * ((r / mix) @ dens.T) / r.sum(axis=1, keepdims=True)
        w[active] = wa / wa.sum(axis=1, keepdims=True)
        climbing = value - last[active] >= tol
        last[active] = value
        active = active[climbing]
        if not active.size:
            break
    return w


def weight_intervals(
    lpd: np.ndarray,
    *,
    prob: float = INTERVAL_PROB,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
    iterations: int = 2000,
    tol: float = 1e-8,
) -> np.ndarray:
    """Equal-tailed ``prob`` interval of each candidate's stacking weight, shape (K, 2).

    How firmly the scored rows decide the weights: the stacking objective is re-maximised
    under ``draws`` Bayesian-bootstrap reweightings of the rows (Rubin 1981; Dirichlet(1, ..., 1)
    row weights, as Yao et al. 2018 use for pseudo-BMA+). A law whose weight spans most of
    [0, 1] is one the rows cannot tell from its rivals, and then which of them a run picks
    also moves with the refits' Monte Carlo error (BENCHMARKS.md, "Stacking weights across
    sampler seeds"). Rows are treated as exchangeable, which rows scored at several cuts and
    neighbouring rows of one curve are not, so the intervals are if anything too narrow.

    The replicates share one EM run (:func:`reweighted_stacking_weights`) in probability space:
    each row is scaled by its best candidate's density (the objective moves by a constant per
    row), so an iteration is two small matrix products for all replicates at once.
    """
    k, n = lpd.shape
    if n == 0:  # nothing scored: the weights are uniform and nothing moves them
        return np.full((k, 2), 1.0 / k)
    if k == 1:
        return np.ones((1, 2))
    rows = np.random.default_rng(seed).dirichlet(np.ones(n), size=draws) * n  # (B, n), mean 1
    w = reweighted_stacking_weights(lpd, rows, iterations=iterations, tol=tol)
    tail = (1 - prob) / 2
    return np.asarray(np.quantile(w, [tail, 1 - tail], axis=0).T)


def prefix(i: int) -> str:
    """Name prefix of member ``i``'s variables in the stacked posterior."""
    return f"m{i}__"


class Stacked(ScalingLaw):
    """A mixture of fitted laws: each draw evaluates the law of its ``member``.

    Not in the registry (it is never sampled): :func:`models.auto.fit_auto` builds it from the
    candidates it fitted. ``compute_k`` set means compute is derived from params and data as
    ``C = k N D`` (candidates over compute when the data gave params and data).
    """

    name = "auto"
    formula = "L = law of the draw's member; members weighted by leave-future-out stacking"
    citation = "Yao, Vehtari, Simpson & Gelman 2018, Bayesian Analysis 13(3)"
    use_when = "you do not know which law fits: candidates are chosen from the inputs present"
    # a draw's member index: the weights say it (the stacking report), not a median of indices
    not_summarised = ("member",)

    def __init__(
        self,
        members: Sequence[ScalingLaw],
        *,
        compute_k: float | None = None,
        compute_offset: float = 0.0,
    ) -> None:
        super().__init__()
        self.members = tuple(members)
        self.compute_k = compute_k
        self.compute_offset = compute_offset  # log(k sN sD / sC): scaled C from scaled N, D
        params: list[Param] = [
            Param(
                "member",
                PriorSpec("Uniform", lower=0.0, upper=float(len(members))),
                "identity",
                "index of the candidate law each draw belongs to (see stacking)",
            )
        ]
        pooling: dict[str, Pooling] = {"member": "shared"}
        for i, fam in enumerate(self.members):
            for p in fam.params:
                params.append(replace(p, name=prefix(i) + p.name))
                pooling[prefix(i) + p.name] = fam.default_pooling[p.name]
        self.params = tuple(params)
        self.default_pooling = pooling

    @property
    def inputs(self) -> tuple[str, ...]:
        """Union of the members' inputs (compute replaced by params and data when derived)."""
        names = {n for fam in self.members for n in fam.inputs}
        if self.compute_k is not None:
            names.discard("compute")
            names |= {"params", "data"}
        return tuple(n for n in INPUTS if n in names)

    def key(self) -> str:
        """``auto[chinchilla, power_law(x=compute)]``."""
        return f"auto[{', '.join(fam.key() for fam in self.members)}]"

    def member_params(self, i: int, p: Mapping[str, Any]) -> dict[str, Any]:
        """Member ``i``'s parameters out of the stacked namespace."""
        head = prefix(i)
        return {k[len(head) :]: v for k, v in p.items() if k.startswith(head)}

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """Each draw's member law (numpy only: a stacked fit is never sampled)."""
        x = dict(x)
        if self.compute_k is not None and "log_compute" not in x:
            x["log_compute"] = x["log_params"] + x["log_data"] + self.compute_offset
            x["compute"] = np.exp(x["log_compute"])
        member = np.asarray(p["member"])
        out: Any = None
        for i, fam in enumerate(self.members):
            value = fam.curve(np, x, self.member_params(i, p))
            out = value if out is None else np.where(member == i, value, out)
        return out

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """Each member's parameters in its own natural units, names kept prefixed."""
        out: dict[str, np.ndarray] = {"member": np.asarray(p["member"])}
        for i, fam in enumerate(self.members):
            natural = fam.to_natural(self.member_params(i, p), input_scales, loss_scale)
            out.update({prefix(i) + k: v for k, v in natural.items()})
        return out

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each member's derived quantities, prefixed."""
        out: dict[str, np.ndarray] = {}
        for i, fam in enumerate(self.members):
            d = fam.derived(self.member_params(i, natural))
            out.update({prefix(i) + k: v for k, v in d.items()})
        return out


class StackedDiscrepancy:
    """Each draw's discrepancy is its member's (see :mod:`models.discrepancy`)."""

    def __init__(self, members: Sequence[Discrepancy], member: np.ndarray) -> None:
        self.members = tuple(members)
        self.member = np.asarray(member)

    def distance(self, x: Mapping[str, Any]) -> np.ndarray:
        """Distances are measured from the same training data for every member."""
        return self.members[0].distance(x)

    def decades(self, x: Mapping[str, Any]) -> np.ndarray:
        """Largest distance beyond the data, decades."""
        return self.members[0].decades(x)

    def extended(self, point: Mapping[str, float]) -> StackedDiscrepancy:
        """Every member's ranges widened to include ``point`` (:meth:`Discrepancy.extended`)."""
        return StackedDiscrepancy([d.extended(point) for d in self.members], self.member)

    def tau_draws(self, n: int, seed: int) -> np.ndarray:
        """``tau * eta`` per draw from the draw's member."""
        if n != len(self.member):
            raise ValueError("stacked discrepancy draws must match the stacked posterior")
        out = np.zeros(n)
        for i, d in enumerate(self.members):
            rows = self.member == i
            out[rows] = d.tau_draws(n, seed + i)[rows]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Per member (the stacking report carries them)."""
        return {"members": [d.to_dict() for d in self.members]}


def stacked_posterior(
    posteriors: Sequence[xr.Dataset], weights: np.ndarray, n_draws: int, seed: int
) -> tuple[xr.Dataset, np.ndarray]:
    """One chain of ``n_draws`` draws: member by weight, each slot filled from every member.

    Slot ``s`` belongs to member ``member[s]`` (counts by systematic resampling of the weights,
    so they match the weights to within one draw); every member's variables are filled at every
    slot (distinct draws of that member where it owns the slot, resampled elsewhere), so arrays
    stay rectangular and every curve is finite. ``sigma``, ``nu`` and ``sigma_run`` are the
    owning member's.
    """
    rng = np.random.default_rng([seed, 8191])
    positions = (rng.random() + np.arange(n_draws)) / n_draws
    member = np.searchsorted(np.cumsum(weights) / np.sum(weights), positions)
    member = np.minimum(member, len(weights) - 1)
    member = rng.permutation(member)
    data: dict[str, Any] = {"member": (("chain", "draw"), member[None, :].astype(float))}
    noise: dict[str, np.ndarray] = {}
    for i, post in enumerate(posteriors):
        flat = post.stack(sample=("chain", "draw")).transpose("sample", ...)
        total = flat.sizes["sample"]
        own = np.flatnonzero(member == i)
        pick = rng.integers(0, total, size=n_draws)
        pick[own] = rng.permutation(total)[: len(own)] if len(own) <= total else pick[own]
        for name, var in flat.data_vars.items():
            if any(block_of(str(d)) is not None for d in var.dims):
                continue  # a block's sampled form (models.centring): members differ in size
            values = np.asarray(var.values)[pick]
            dims = ("chain", "draw", *var.dims[1:])
            data[prefix(i) + str(name)] = (dims, values[None, ...])
            if name in ("sigma", "nu", "sigma_run"):  # noise of the owning law (models.runs)
                noise.setdefault(str(name), np.zeros(n_draws))[own] = values[own]
    for name, values in noise.items():
        data[name] = (("chain", "draw"), values[None, :])
    return xr.Dataset(data), member


def stacked_config(family: Stacked, configs: Sequence[ModelConfig]) -> ModelConfig:
    """A config naming every member's pooling and priors under its prefix."""
    pooling: dict[str, Pooling] = {"member": "shared"}
    priors: dict[str, PriorSpec] = {"member": family.param("member").prior}
    hyper = {}
    for i, config in enumerate(configs):
        pooling.update({prefix(i) + k: v for k, v in config.pooling.items()})
        priors.update({prefix(i) + k: v for k, v in config.priors.items()})
        hyper.update({prefix(i) + k: v for k, v in config.hyper.items()})
    first = configs[0]
    return ModelConfig(
        family, pooling, priors, hyper, first.noise, first.likelihood, first.n_groups
    )


def stacked_diagnostics(
    diagnostics: Sequence[Diagnostics], keys: Sequence[str], weights: np.ndarray
) -> Diagnostics:
    """Worst case over members: converged only when every member is."""
    reasons = tuple(f"{k}: {r}" for k, d in zip(keys, diagnostics, strict=True) for r in d.reasons)
    warnings = tuple(
        FitWarning(w.code, f"{k}: {w.message}", w.param)
        for k, d in zip(keys, diagnostics, strict=True)
        for w in d.warnings
    )
    first = diagnostics[0]
    return Diagnostics(
        converged=all(d.converged for d in diagnostics),
        r_hat_max=max(d.r_hat_max for d in diagnostics),
        ess_bulk_min=min(d.ess_bulk_min for d in diagnostics),
        ess_tail_min=min(d.ess_tail_min for d in diagnostics),
        divergences=sum(d.divergences for d in diagnostics),
        bfmi_min=min(d.bfmi_min for d in diagnostics),
        elpd_loo=None,
        elpd_loo_se=None,
        p_loo=None,
        pareto_k_max=max(
            (d.pareto_k_max for d in diagnostics if d.pareto_k_max is not None), default=None
        ),
        pareto_k_bad=sum(d.pareto_k_bad or 0 for d in diagnostics),
        chains=first.chains,
        draws=first.draws,
        thresholds=first.thresholds,
        reasons=reasons,
        warnings=warnings,
        tree_depth_share=max(
            (d.tree_depth_share for d in diagnostics if d.tree_depth_share is not None),
            default=None,
        ),
    )


def compute_offset(scales: Scales, k: float) -> float:
    """``log(k sN sD / sC)``: scaled log C from scaled log N and log D."""
    s = scales.inputs
    return float(np.log(k) + np.log(s["params"]) + np.log(s["data"]) - np.log(s["compute"]))
