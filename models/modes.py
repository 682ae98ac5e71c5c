r"""Modes of a posterior whose chains do not mix: which chains sit where, and each mode's weight.

When chains stay apart after the restart of :mod:`models.multistart` (modes of comparable mass,
which the restart leaves alone, or a minor mode a chain returned to), the pooled draws weight
each mode by the number of chains that happened to land in it. Issue 17 asks for the honest
alternative: report the modes with their weights. This module finds them from the draws.

**Which chains share a mode.** Two chains are apart when, in some unconstrained coordinate,
their means differ by more than :data:`SEPARATION` pooled within-chain standard deviations, or
when their mean log densities differ by more than
:data:`~models.multistart.DISTINCT_Z` Monte Carlo standard errors (the restart test's notion of
distinct heights: chains of one mode share its mean log density however slowly they mix, and
in a hundred dimensions two modes can differ by 10 nats with no coordinate more than a few
standard deviations apart). Modes are the groups of chains linked by "not apart" (single
linkage). Why 3: an equal mixture of two Gaussians of the same spread is bimodal once their
means are more than 2 standard deviations apart; 3 leaves room for chains that mix slowly inside
one mode (R-hat 1.5 corresponds to chain means about 1-1.5 standard deviations apart).

**Each mode's weight** is its posterior mass by the Gaussian (Laplace) approximation on its draws
in the unconstrained space nutpie samples, where ``logp`` includes the Jacobian:

.. math:: \log Z_k \approx \overline{\log p}_k + \tfrac12 \log\det \Sigma_k + \text{const}(d)

(the mean log density of a Gaussian is its peak minus ``d/2``, so the height and the volume of
each mode both enter; the constant is the same for every mode). Where a mode's covariance is not
estimable (:func:`models.multistart.half_log_volume`: too few draws per dimension, or a
coordinate that never moved), the weight uses the heights alone (``volume`` false).
Approximate, and said so: a mode far from Gaussian (a curved ridge) is mis-weighted; the share of
chains, which the pooled draws use, ignores mass altogether.

**Where each mode is**: the parameters whose medians differ most between modes, in units of the
pooled within-mode standard deviation (:func:`describe`), with each mode's median.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models.centring import block_of
from models.multistart import DISTINCT_Z, half_log_volume, mcse_of_mean

SEPARATION = 3.0
# Parameters named per mode: those that separate the modes most.
SHOWN = 3


@dataclass(frozen=True)
class Mode:
    """One mode: its chains, their share of the draws, height and estimated weight."""

    chains: tuple[int, ...]
    share: float  # of the pooled draws (chains in the mode / all chains)
    mean_logp: float  # mean unconstrained log density of its draws
    weight: float  # estimated posterior mass, the modes' weights sum to 1
    # parameter -> this mode's median (the parameters that separate the modes most)
    where: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out["chains"] = list(self.chains)
        return out


def chain_groups(logp: np.ndarray, unconstrained: np.ndarray) -> list[tuple[int, ...]]:
    """Chains grouped by mode (module docstring), largest group first, then by first chain.

    ``logp``: each draw's log density, shape (chain, draw); ``unconstrained``: the chains' flat
    unconstrained draws, shape (chain, draw, dim).
    """
    u = np.asarray(unconstrained, dtype=np.float64)
    chains = u.shape[0]
    means, variances = u.mean(axis=1), u.var(axis=1)
    heights = np.asarray(logp, dtype=np.float64).mean(axis=1)
    mcse = np.array([mcse_of_mean(row) for row in np.asarray(logp, dtype=np.float64)])
    parent = list(range(chains))

    def root(c: int) -> int:
        while parent[c] != c:
            c = parent[c]
        return c

    for a in range(chains):
        for b in range(a + 1, chains):
            spread = np.sqrt((variances[a] + variances[b]) / 2)
            gap = np.abs(means[a] - means[b])
            # a coordinate that moved in neither chain separates them only if they sit apart
            z = np.divide(gap, spread, out=np.where(gap > 0, np.inf, 0.0), where=spread > 0)
            distinct = abs(heights[a] - heights[b]) > DISTINCT_Z * np.hypot(mcse[a], mcse[b])
            if not np.any(z > SEPARATION) and not distinct:
                parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for c in range(chains):
        groups.setdefault(root(c), []).append(c)
    return sorted((tuple(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def log_masses(
    logp: np.ndarray, unconstrained: np.ndarray, groups: list[tuple[int, ...]]
) -> tuple[np.ndarray, bool]:
    """Each group's log mass up to a shared constant, and whether volumes entered (docstring)."""
    logp = np.asarray(logp, dtype=np.float64)
    u = np.asarray(unconstrained, dtype=np.float64)
    heights = np.array([logp[list(g)].mean() for g in groups])
    halves = [half_log_volume(u[list(g)].reshape(-1, u.shape[-1])) for g in groups]
    if any(h is None for h in halves):
        return heights, False
    return heights + np.array(halves, dtype=np.float64), True


def find_modes(
    logp: np.ndarray, unconstrained: np.ndarray
) -> tuple[list[tuple[int, ...]], np.ndarray, bool] | None:
    """The chains' modes and their weights; None when every chain shares one mode.

    ``logp``: each draw's unconstrained log density, shape (chain, draw); ``unconstrained``:
    the flat draws, shape (chain, draw, dim). Returns (groups of chains, weights summing to 1,
    whether the weights include the modes' volumes).
    """
    logp = np.asarray(logp, dtype=np.float64)
    if logp.shape[0] < 2 or not np.isfinite(logp).all() or not np.isfinite(unconstrained).all():
        return None
    groups = chain_groups(logp, unconstrained)
    if len(groups) < 2:
        return None
    log_z, volume = log_masses(logp, unconstrained, groups)
    weights = np.exp(log_z - log_z.max())
    return groups, weights / weights.sum(), volume


def describe(
    posterior: Any, logp: np.ndarray, groups: list[tuple[int, ...]], weights: np.ndarray
) -> list[Mode]:
    """:class:`Mode` records: each group's share, height, weight and where it sits.

    ``posterior``: the fit's constrained draws (an xarray Dataset with ``chain`` and ``draw``);
    the :data:`SHOWN` scalar parameters (or elements, named ``name[label]``) whose mode medians
    differ most in pooled within-mode standard deviations are named. Sampler internals
    (the partially centred blocks of :mod:`models.centring`, whose parameters the posterior
    also holds under their own names) are skipped.
    """
    logp = np.asarray(logp, dtype=np.float64)
    columns: dict[str, np.ndarray] = {}
    for name, var in posterior.data_vars.items():
        if any(block_of(str(dim)) for dim in var.dims):
            continue
        values = np.asarray(var.values, dtype=np.float64)
        flat = values.reshape(values.shape[0], values.shape[1], -1)
        labels = _element_labels(var)
        for i in range(flat.shape[-1]):
            columns[f"{name}{labels[i]}"] = flat[..., i]
    separation = {}
    for key, x in columns.items():
        medians = np.array([np.median(x[list(g)]) for g in groups])
        spread = np.sqrt(np.mean([x[list(g)].var() for g in groups]))
        gap = medians.max() - medians.min()
        separation[key] = gap / spread if spread > 0 else (np.inf if gap > 0 else 0.0)
    shown = sorted(separation, key=lambda k: -separation[k])[:SHOWN]
    chains = logp.shape[0]
    return [
        Mode(
            chains=g,
            share=len(g) / chains,
            mean_logp=round(float(logp[list(g)].mean()), 3),
            weight=float(w),
            where={k: float(np.median(columns[k][list(g)])) for k in shown},
        )
        for g, w in zip(groups, weights, strict=True)
    ]


def _element_labels(var: Any) -> list[str]:
    """``[label]`` per element of a variable's non-sample dimensions, ``""`` for a scalar."""
    dims = [d for d in var.dims if d not in ("chain", "draw")]
    if not dims:
        return [""]
    coords = [
        [str(v) for v in var.coords[d].values] if d in var.coords else list(map(str, range(n)))
        for d, n in ((d, var.sizes[d]) for d in dims)
    ]
    labels = [""]
    for values in coords:
        labels = [f"{prefix}{', ' if prefix else ''}{v}" for prefix in labels for v in values]
    return [f"[{label}]" for label in labels]


def report(posterior: Any, logp: np.ndarray, unconstrained: np.ndarray) -> dict[str, Any] | None:
    """What a fit stores about its modes (``Diagnostics.modes``); None when the chains share one.

    ``{"modes": [Mode.to_dict(), ...], "volume": bool}``, the modes largest group of chains
    first; ``volume`` false when the weights compare heights only (:func:`log_masses`).
    """
    found = find_modes(logp, unconstrained)
    if found is None:
        return None
    groups, weights, volume = found
    return {
        "modes": [m.to_dict() for m in describe(posterior, logp, groups, weights)],
        "volume": volume,
    }
