r"""How far each group's pooled parameter is centred, chosen from the data before sampling.

A partially pooled parameter has link value :math:`\theta_g \sim \mathrm{Normal}(\mu, \sigma)`.
It is sampled as :math:`\tilde\theta_g` in the partially centred form (Papaspiliopoulos,
Roberts & Sköld 2007; the "variationally inferred parameterisation" of Gorinova, Moore &
Hoffman 2020 without the variational step):

.. math::

    \tilde\theta_g \sim \mathrm{Normal}(\lambda_g \mu,\ \sigma^{\lambda_g}), \qquad
    \theta_g = \mu + \sigma^{1-\lambda_g} (\tilde\theta_g - \lambda_g \mu).

:math:`\lambda_g = 0` is the non-centred form, :math:`\lambda_g = 1` the centred one; the model
(the joint density of :math:`\mu, \sigma, \theta`) is the same for every :math:`\lambda`, only
the coordinates NUTS moves in change. Which is round depends on how tightly the group's own rows
pin :math:`\theta_g` (standard deviation :math:`s_g`) against the population spread: for a normal
likelihood the choice that makes :math:`\tilde\theta_g` independent of :math:`\mu` is
:math:`\lambda_g = \sigma^2 / (\sigma^2 + s_g^2)`. One choice for all parameters failed both
ways (BENCHMARKS.md, "Centred or non-centred by rows per group"): non-centred hit the tree-depth
cap at 2,500 rows per group, centred diverged at 100–1,000 rows where the groups share an
exponent.

The choice (:func:`choose`), from the unconstrained log density of the non-centred model:

1. climb with L-BFGS from :data:`STARTS` prior draws (:func:`models.multistart.find_optima`)
   and from the best point reached climb on to convergence (at most :data:`POLISH_ITER`
   iterations): that is :math:`\hat x`. The climbs of the search stop after 200 iterations,
   and with many rows per group the non-centred density is a long ridge that none of them
   finishes: at 4 × 500 rows the best of 4 stopped 44 nats below the optimum, its Hessian gave
   λ 0.09–0.86 and the fit 565 leapfrog steps per draw and 3 divergences; climbed on (about
   1,000–2,000 iterations, 0.1–0.3 s) every search reaches the same optimum and λ 0.6–0.99;
2. the Hessian there (central differences of the gradient); holding the population parameters
   fixed, the conditional variance of each non-centred offset :math:`z_g` is
   :math:`v_g = s_g^2 / (\hat\sigma^2 + s_g^2)`, which gives :math:`s_g^2/\hat\sigma^2`;
3. :math:`\lambda_g` is evaluated at :math:`\sigma = \hat\sigma e^{-}` :data:`SIGMA_MARGIN`
   (one e-fold below the mode): with a few groups the posterior of :math:`\log\sigma` spans
   about ±1 around its mode, and at small :math:`\sigma` the centred form is a funnel, so the
   choice leans non-centred. At the mode itself the standard problem still diverged 2–3 times
   per fit (divergent draws at small population spreads).

A Hessian that is not positive definite on the offsets (L-BFGS stopped on a ridge) has its
negative directions treated as uninformed: those offsets stay non-centred.

The pooled parameters are sampled in :class:`Block`\ s, one (parameters x groups) array per
set of parameters with the same link and population-prior distributions (all of them with the
default priors): at 100 rows a handful of elementwise operations per parameter were a third of
the gradient's cost, and one set per block does them once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models.multistart import LogDensity, find_optima, local_optimum

if TYPE_CHECKING:
    from models.config import ModelConfig

STARTS = 4
POLISH_ITER = 5000
SIGMA_MARGIN = 1.0
STEP = 1e-4  # central-difference step on the unconstrained scale
_MIN_EIGEN = 1e-3  # curvature floor: a direction flatter than this counts as uninformed
DECIMALS = 2  # lambda is rounded: the last bits of an optimum must not change the coordinates
BLOCK_DIM_SUFFIX = "_param"  # a block's parameter dimension: ``{block}_param``


@dataclass(frozen=True)
class Block:
    """Partially pooled parameters sampled as one array: ``{name}_raw`` of dims (``dim``, group).

    Its population parameters are ``{name}_mu`` and ``{name}_sigma`` (dims ``dim``), its
    centring the ``pm.Data`` ``{name}_centring``; the model also records every parameter's
    ``{param}_mu`` and ``{param}_sigma`` by name.
    """

    name: str
    params: tuple[str, ...]

    @property
    def dim(self) -> str:
        """The dimension that indexes the block's parameters (coordinates: their names)."""
        return self.name + BLOCK_DIM_SUFFIX


def block_of(dim: str) -> str | None:
    """The block whose parameter dimension ``dim`` is, or None for another dimension."""
    return dim.removesuffix(BLOCK_DIM_SUFFIX) if dim.endswith(BLOCK_DIM_SUFFIX) else None


def blocks(config: ModelConfig) -> list[Block]:
    """The pooled parameters of ``config`` in blocks: same link, same prior distributions.

    In declaration order; the first block is ``pooled``, the next ``pooled_2`` and so on.
    """
    signatures: dict[tuple[Any, ...], list[str]] = {}
    for spec in config.family.params:
        if config.pooling[spec.name] == "partial":
            hyper = config.hyper[spec.name]
            key = (spec.link, hyper.mu.signature(), hyper.sigma.signature())
            signatures.setdefault(key, []).append(spec.name)
    return [
        Block("pooled" if i == 0 else f"pooled_{i + 1}", tuple(names))
        for i, names in enumerate(signatures.values())
    ]


@dataclass(frozen=True)
class Layout:
    """Where each unconstrained variable sits in nutpie's flat vector."""

    slices: Mapping[str, slice]

    @classmethod
    def of(cls, compiled: Any) -> Layout:
        """From a nutpie-compiled model: its free variables only.

        ``shape_info`` lists the draw nutpie stores, the free (unconstrained) variables first,
        then constrained values and deterministics, whose slices lie past ``n_dim``.
        """
        names, slices, _ = compiled.shape_info
        return cls({n: s for n, s in zip(names, slices, strict=True) if s.stop <= compiled.n_dim})

    def indices(self, name: str) -> np.ndarray:
        """Flat indices of variable ``name``."""
        s = self.slices[name]
        return np.arange(s.start, s.stop)


def containers(
    pooled: Sequence[Block], centring: Mapping[str, np.ndarray], n_groups: int
) -> dict[str, np.ndarray]:
    """``pm.Data`` name -> (parameters, groups) centring of each block; a missing one is 0."""
    zeros = np.zeros(n_groups)
    return {
        f"{b.name}_centring": np.stack(
            [np.asarray(centring.get(p, zeros), dtype=np.float64) for p in b.params]
        )
        for b in pooled
    }


def hessian(density: LogDensity, x: np.ndarray, step: float = STEP) -> np.ndarray:
    """Negative Hessian of the log density at ``x`` by central differences (symmetrised)."""
    n = len(x)
    out = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = step
        out[:, j] = -(density(x + e)[1] - density(x - e)[1]) / (2 * step)
    return (out + out.T) / 2


def offset_variances(neg_hessian: np.ndarray, fixed: Sequence[int]) -> np.ndarray:
    """Conditional variances of every coordinate given the ``fixed`` ones (NaN at ``fixed``).

    The inverse of the free block; eigenvalues below :data:`_MIN_EIGEN` are floored there, so a
    direction the density does not curve along gets a large variance (an uninformed offset).
    """
    n = neg_hessian.shape[0]
    free = np.setdiff1d(np.arange(n), np.asarray(fixed, dtype=int))
    block = neg_hessian[np.ix_(free, free)]
    w, v = np.linalg.eigh(block)
    cov = (v / np.maximum(w, _MIN_EIGEN)) @ v.T
    out = np.full(n, np.nan)
    out[free] = np.diag(cov)
    return out


def lambdas(variance: np.ndarray, margin: float = SIGMA_MARGIN) -> np.ndarray:
    """Partial centring from the offsets' conditional variances at the mode.

    ``variance`` ``v = s²/(σ̂² + s²)`` gives ``s²/σ̂² = v/(1 − v)``; the result is
    ``σ²/(σ² + s²)`` at ``σ = σ̂ e^-margin``, rounded to :data:`DECIMALS`.
    """
    v = np.clip(np.asarray(variance, dtype=float), 1e-12, None)
    shrink = np.exp(-2.0 * margin)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(v < 1.0, v / (1.0 - v), np.inf)  # s² / σ̂²
        lam = np.where(np.isfinite(ratio), shrink / (shrink + ratio), 0.0)
    return np.round(np.clip(lam, 0.0, 1.0), DECIMALS)


def choose(
    density: LogDensity,
    layout: Layout,
    pooled: Sequence[Block],
    prior: Callable[[int], np.ndarray],
    seed: int,
) -> dict[str, np.ndarray]:
    """``lambda`` per pooled parameter and group for the model whose ``density`` is given.

    ``density`` must be the model with every ``lambda`` 0 (non-centred), ``pooled`` its blocks
    (:func:`blocks`), ``prior`` a seed -> flat prior draw function. Where no optimum is found
    every group stays non-centred.
    """
    raw = {b.name: layout.indices(f"{b.name}_raw").reshape(len(b.params), -1) for b in pooled}
    seeds = np.random.SeedSequence([seed, 5171]).generate_state(STARTS, dtype=np.uint32)
    optima, _ = find_optima(density, [prior(int(s)) for s in seeds])
    if not optima:
        return {p: np.zeros(raw[b.name].shape[1]) for b in pooled for p in b.params}
    population = [
        i
        for var in layout.slices
        if any(var.startswith((f"{b.name}_mu", f"{b.name}_sigma")) for b in pooled)
        for i in layout.indices(var)
    ]
    best = optima[0][1]
    polished = local_optimum(density, best, max_iter=POLISH_ITER)
    mode = polished[1] if polished is not None and polished[0] >= optima[0][0] else best
    variance = offset_variances(hessian(density, mode), population)
    return {
        p: lambdas(variance[raw[b.name][row]]) for b in pooled for row, p in enumerate(b.params)
    }
