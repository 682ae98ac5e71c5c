"""Leave-future-out: refit below cuts of the scale axis, score the rows above.

Bürkner, Gabry & Vehtari (2020) score time-series models by predicting the future; for scaling
laws the "future" is larger scale. At each cut fraction ``f`` of :data:`CUTS`, every group's
first ``f`` of rows along the axis (:func:`models.splits.split` with ``fraction``) train a cheap
refit and the rows above are scored. When the user's rows hold at least :data:`MIN_SIZES` model
sizes, the cuts run along ``params`` and hold out *whole model sizes* instead (:func:`cuts`): the
question a scaling law answers first is how a larger model will do, and a cut inside one model's
trajectory scores only the continuation of a curve, which a law over compute can match without
knowing how loss moves with size. Exact refits, no importance sampling: scoring rows beyond
the fitted range is exactly where PSIS weights fail (Pareto k above 0.7), so the approximate
scheme would refit at every cut anyway.

The cuts, the refit settings and the cap on scored rows were fixed before any benchmark result
was seen (BENCHMARKS.md, "Pre-registered settings of family auto"); the model-size cuts too
("Pre-registered: leave-future-out across whole model sizes").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.build import scaled_inputs
from models.data import ScalingData, scale_axis
from models.discrepancy import LFORecord, distance, log10_ranges
from models.posterior import group_draws, noise_draws
from models.result import Fit
from models.sampling import SamplerSettings
from models.splits import split

CUTS: tuple[float, ...] = (0.5, 0.65, 0.8)
# Refits only rank laws and size the discrepancy: 2 chains x 300 draws are enough for a
# predictive density (its Monte Carlo error is far below the differences between laws), so a
# refit is never sampled again for its convergence checks: longer (max_draws None), with a
# deeper tree (deeper_tree_depth None), with smaller steps (careful_target_accept None) or
# non-centred (non_centred_rerun False).
REFIT_SETTINGS = {
    "draws": 300,
    "tune": 300,
    "chains": 2,
    "max_draws": None,
    "deeper_tree_depth": None,
    "careful_target_accept": None,
    "non_centred_rerun": False,
}
# Held-out rows scored per cut at most (evenly spaced along the axis beyond the cut).
MAX_SCORED = 200


# Model sizes the rows must hold for cuts along params: two to train on (a law's size term needs
# two sizes to be more than its prior) and one to score.
MIN_SIZES = 3


def axis_of(data: ScalingData, measured: Sequence[str] | None = None) -> str:
    """The axis leave-future-out cuts along.

    ``params`` when it is one of the user's inputs (``measured``, default every input of
    ``data``) and the rows hold :data:`MIN_SIZES` model sizes or more; otherwise
    :func:`models.data.scale_axis` of the varying inputs (compute when present).
    """
    given = list(data.inputs) if measured is None else list(measured)
    if "params" in given and "params" in data.inputs:
        if len(np.unique(data.inputs["params"])) >= MIN_SIZES:
            return "params"
    return scale_axis(data.varying_inputs or list(data.inputs))


@dataclass(frozen=True)
class Cut:
    """One cut: its fraction, the training rows and the held-out rows it scores."""

    fraction: float
    train: ScalingData
    test: ScalingData


def cuts(data: ScalingData, axis: str, fractions: Sequence[float] = CUTS) -> list[Cut]:
    """The cuts of ``data`` along ``axis`` (each with at least one held-out row).

    Along ``params`` whole model sizes are held out (:func:`size_split`; fractions that give the
    same split make one cut), along any other axis each group's rows
    (:func:`models.splits.split`).
    """
    out = []
    seen: set[bytes] = set()
    for f in fractions:
        if axis == "params":
            mask = size_split(data, f)
            if mask.all() or not mask.any() or mask.tobytes() in seen:
                continue
            seen.add(mask.tobytes())
            train, test = data.subset(mask), data.subset(~mask)
        else:
            train, test = split(data, fraction=f, by=axis)
        if len(test) == 0 or len(train) == 0:
            continue
        if len(test) > MAX_SCORED:
            order = np.argsort(test.inputs[axis], kind="stable")
            keep = np.zeros(len(test), dtype=bool)
            keep[order[np.linspace(0, len(test) - 1, MAX_SCORED).round().astype(int)]] = True
            test = test.subset(keep)
        out.append(Cut(f, train, test))
    return out


def size_split(data: ScalingData, fraction: float) -> np.ndarray:
    """Training rows (a mask) of a cut at ``fraction`` of each group's model sizes.

    A group with ``n`` distinct ``params`` values trains on its rows of its smallest
    ``max(2, round(fraction * n))`` sizes (at most ``n - 1``) and holds out the rest; a group of
    fewer than :data:`MIN_SIZES` sizes trains on every row (it informs the pooled parameters
    but cannot be scored on a size it has not seen without leaving one size to fit).
    """
    params = data.inputs["params"]
    train = np.ones(len(data), dtype=bool)
    for g in data.groups:
        rows = data.group == g
        sizes = np.unique(params[rows])
        if len(sizes) < MIN_SIZES:
            continue
        n_train = min(max(2, round(fraction * len(sizes))), len(sizes) - 1)
        train[rows] = params[rows] <= sizes[n_train - 1]
    return train


def refit_settings(settings: SamplerSettings) -> SamplerSettings:
    """The user's settings (seed, init, target_accept) with the cheap refit sizes."""
    return settings.with_(**REFIT_SETTINGS)


def record(fit: Fit, test: ScalingData, measured: Sequence[str]) -> LFORecord:
    """Score ``test`` with ``fit``: per-draw log mean curve, noise, and distance beyond the fit.

    The distance is measured along ``measured``: the inputs the user gave, as predictions of the
    full fit measure it (not a compute that auto derived from them).
    """
    fam = fit.family
    s = next(iter(fit.draws.values())).shape[0]
    log_mu = np.empty((s, len(test)))
    for g in np.unique(test.group):
        rows = np.flatnonzero(test.group == g)
        params = group_draws(fit.draws, fam, fit.config.pooling, fit.groups, str(g), seed=0)
        x = scaled_inputs(
            {n: test.inputs[n][rows][None, :] for n in fam.inputs}, fam.inputs, fit.scales
        )
        p = {k: v[:, None] for k, v in params.items()}
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            log_mu[:, rows] = np.log(fam.curve(np, x, p)) + np.log(fit.scales.loss)
    noise = noise_draws(fit.draws)
    z = distance(test.inputs, log10_ranges(fit.data.inputs, measured))
    bad = ~np.isfinite(log_mu)
    if bad.any():
        # A draw whose curve is not finite at a row predicts nothing there: score it as a miss.
        log_mu[bad] = np.log(np.finfo(float).max) / 2
    return LFORecord(log_mu, noise["sigma"], noise.get("nu"), np.log(test.loss), z, test.group)
