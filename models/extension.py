"""A fit short of convergence only because its chains were too short is sampled again, longer.

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


def report(first: Diagnostics, settings: SamplerSettings, used: SamplerSettings) -> dict[str, Any]:
    """What ``Diagnostics.extension`` records: why, and the first run's figures."""
    return {
        "draws": [settings.draws, used.draws],
        "first_reasons": list(first.reasons),
        "first_r_hat_max": first.r_hat_max,
        "first_ess_bulk_min": first.ess_bulk_min,
        "first_ess_tail_min": first.ess_tail_min,
    }
