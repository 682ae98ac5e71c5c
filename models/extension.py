"""A fit short of convergence is sampled again, the way its diagnostics point to.

In order (each applies to the result of the ones before): non-centred after a funnel
(:func:`non_centred`), a deeper tree after trajectories cut short (:func:`deeper`), smaller
steps after divergences (:func:`careful`), more draws after slow mixing (:func:`longer`). Each
is described below, the last first.

Bulk ESS below the pass mark, or an R-hat of 1.01-1.1, with no divergence, no chain left in a
minor mode and a healthy energy (BFMI) is what slow mixing along a ridge looks like: the chains
explore the same region, just not enough of it. More draws fix that, and nothing else does
without changing the model; a divergence (biased draws), a stuck chain or an R-hat above
:data:`R_HAT_MIXING` (chains in different places) are not fixed by more of the same draws, so
those fits are reported as they are.

The second run repeats the whole fit (chain starts, warm-up) with ``draws`` multiplied by the
ESS shortfall (``ceil(1.25 * needed / ESS)``, at least 2, at most :data:`MAX_FACTOR`; 2 when
only R-hat misses), capped by :attr:`~models.sampling.SamplerSettings.max_draws`. Only the
second run's draws are kept; the result reports both runs' figures (``Diagnostics.extension``).
Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021, "Rank-normalization, folding, and
localization: an improved R-hat", Bayesian Analysis 16(2)) recommend exactly this: when R-hat
or ESS fail with no other warning, run the chains longer.

Before that, a fit whose trajectories stopped at the sampler's maximum tree depth on more than
``Thresholds.max_tree_depth_share`` of its draws, and that missed convergence, is sampled again
with a deeper tree (:func:`deeper`). Such chains cannot cross the posterior in one trajectory: on
a ridge 1,000 times longer than it is wide (the floor–amplitude–exponent ridge of a one-input law
fitted to many groups) every draw ends after 2**10 steps and the chains random-walk along it,
with R-hat 1.6-3.5 that no number of draws brings down. Allowed 2**13 steps, the same chains
crossed it (nanoGPT min-loss, 12 groups: R-hat 2.39 -> 1.005, at 3.1x the time; BENCHMARKS.md
"Why the many-group broken power law does not mix"). Saturation is read from the sampler, not
guessed from R-hat, so fits that fail for other reasons do not pay the cost. Unlike the longer
run, divergences or a chain in a minor mode do not stop it: both were seen beside saturated
trees on the benchmark's many-group fits, and the second run repeats the chain starts and the
warm-up. The longer run then applies to the deeper run's result, at its depth.

Between the two, a fit that missed convergence with divergent transitions is sampled again with
smaller steps (:func:`careful`: ``target_accept`` raised to
``SamplerSettings.careful_target_accept``, 0.99 by default). A divergence means a leapfrog step
too large for the curvature somewhere the chain went; the warm-up picks the step for the
average acceptance, so a few divergences in a tight neck of an otherwise easy posterior go
when the step is smaller (Betancourt 2017, "A Conceptual Introduction to Hamiltonian Monte
Carlo", section 6.2; Stan's and PyMC's advice). Measured on the gzip benchmark's one-break law
(5 groups): 1-5 divergences at 0.95, none at 0.99, at 0.7x the time (no chain had to be
restarted). A funnel that smaller steps cannot resolve keeps its divergences and is reported.

First of all, a fit that missed convergence with a low energy Bayesian fraction of missing
information (E-BFMI below ``Thresholds.bfmi_min``) while some pooled parameter was partially
centred is sampled again non-centred (:func:`non_centred`: ``centring="non_centred"``). A low
E-BFMI says the momentum resampling cannot move the chain between the energy levels the
posterior needs (Betancourt 2016, "Diagnosing Suboptimal Cotangent Disintegrations in
Hamiltonian Monte Carlo"); in a hierarchical model that is the funnel of a population spread
whose groups are sampled centred (Betancourt & Girolami 2015, "Hamiltonian Monte Carlo for
Hierarchical Models"). :mod:`models.centring` centres a group's parameter when the curvature
at the posterior mode says its rows pin it, and that curvature can miss a ridge inside the
group: on the Gemstones trajectories (22 runs, 7 checkpoints each, residual scale 0.0004) every
group's amplitude was centred, its population spread reached 0.006 (median 0.11), BFMI was
0.16 and R-hat 1.057, and the deeper run left BFMI 0.25 and R-hat 1.034; sampled non-centred,
BFMI 0.54, and after the deeper and longer runs that fit also needed it converged (R-hat 1.008,
ESS 677; BENCHMARKS.md). The geometry changes, so this rerun comes before the others, which
then apply to its result.
"""

from __future__ import annotations

import math
from typing import Any

from models.diagnostics import Diagnostics
from models.sampling import SamplerSettings

MAX_FACTOR = 4
# Above this R-hat the chains sit in different places (measured: 1.2-3.8 on the benchmark's
# per-group modes); a longer run of the same chains rarely brings them together.
R_HAT_MIXING = 1.1
# Aim a little above the pass mark: ESS grows about linearly with draws, but noisily.
MARGIN = 1.25


def longer(diag: Diagnostics, settings: SamplerSettings) -> SamplerSettings | None:
    """Settings for a longer run of a fit that only mixed too slowly, or None."""
    th = diag.thresholds
    if settings.max_draws is None or settings.max_draws <= settings.draws:
        return None
    if diag.converged or diag.chains < 2:
        return None
    if diag.divergences > th.divergences_max or (diag.init or {}).get("stuck"):
        return None
    if not (diag.r_hat_max <= R_HAT_MIXING and diag.bfmi_min >= th.bfmi_min):
        return None
    needed = th.ess_per_chain_min * diag.chains
    ess = min(diag.ess_bulk_min, diag.ess_tail_min)
    factor = 2 if ess >= needed else math.ceil(MARGIN * needed / max(ess, 1.0))
    draws = min(settings.max_draws, settings.draws * min(max(factor, 2), MAX_FACTOR))
    return settings.with_(draws=draws)


def deeper(diag: Diagnostics, settings: SamplerSettings) -> SamplerSettings | None:
    """Settings for a run with a deeper tree of a fit whose trajectories were cut short, or None."""
    depth = settings.deeper_tree_depth
    if depth is None or depth <= settings.max_tree_depth or diag.converged:
        return None
    share = diag.tree_depth_share
    if share is None or not share > diag.thresholds.max_tree_depth_share:
        return None
    return settings.with_(max_tree_depth=depth)


def careful(diag: Diagnostics, settings: SamplerSettings) -> SamplerSettings | None:
    """Settings for a run with smaller steps of a fit that diverged, or None."""
    target = settings.careful_target_accept
    if target is None or target <= settings.target_accept or diag.converged:
        return None
    if diag.divergences <= diag.thresholds.divergences_max:
        return None
    return settings.with_(target_accept=target)


def non_centred(diag: Diagnostics, settings: SamplerSettings) -> SamplerSettings | None:
    """Settings for a non-centred run of a fit whose energy was poorly explored, or None."""
    if not settings.non_centred_rerun or settings.centring == "non_centred" or diag.converged:
        return None
    if not diag.bfmi_min < diag.thresholds.bfmi_min:
        return None
    if largest_centring(diag) <= 0:  # nothing was centred: the funnel is not the centring's
        return None
    return settings.with_(centring="non_centred")


def largest_centring(diag: Diagnostics) -> float:
    """The largest ``lambda`` of any pooled parameter and group (0 when nothing is pooled)."""
    return max((max(lam, default=0.0) for lam in (diag.centring or {}).values()), default=0.0)


def record(
    setting: str,
    first: Diagnostics,
    settings: SamplerSettings,
    used: SamplerSettings,
    **extra: Any,
) -> dict[str, Any]:
    """What a rerun records (``Diagnostics.deeper``, ``careful``, ``extension``, ``non_centred``).

    The ``setting`` it changed as [first run's, used], why the first run was not kept, that
    run's R-hat and ESS, and the figure that called for this rerun (``extra``: e.g. the first
    run's divergences for smaller steps).
    """
    before, after = getattr(settings, setting), getattr(used, setting)
    return {setting: [before, after], **_first_run(first), **extra}


def _first_run(first: Diagnostics) -> dict[str, Any]:
    """Why the first run was not kept, and its R-hat and ESS."""
    return {
        "first_reasons": list(first.reasons),
        "first_r_hat_max": first.r_hat_max,
        "first_ess_bulk_min": first.ess_bulk_min,
        "first_ess_tail_min": first.ess_tail_min,
    }
