r"""Where the fitted curve peaks: the posterior of the location of its maximum along one input.

The double-descent families place their bump with a *centre* parameter (``kappa`` in
``double_descent``, ``c`` in ``random_features``), but the loss curve's maximum is not at the
centre: a falling base law tilts the bump, so the maximum of

.. math:: L(N) = L_\text{base}(N)\,f\bigl(\log N - \log(\kappa D)\bigr)

solves :math:`s(N) + f'/f = 0` with :math:`s = d\log L_\text{base}/d\log N < 0`, i.e. it lies
*below* κD (by about :math:`|s| w^2 (1+h)/(2h)` in log N for the Lorentzian), and a steep enough
base swallows the bump altogether (no interior maximum). Reporting κD as "the peak" therefore
put the peak to the right of the observed one. This module answers the question users ask —
*at what size does the loss peak?* — from the curve itself, per posterior draw:

1. evaluate ``log L`` on a log-spaced grid of the swept input over a bracket (default: the
   observed range of that input, where a peak is evidence and not extrapolation), all draws at
   once;
2. in each draw take the highest interior local maximum of the grid (a maximum at either end of
   the bracket is not a peak);
3. refine it by the vertex of the parabola through that grid point and its two neighbours in
   (log x, log L) — exact for a locally quadratic maximum, so the grid's spacing does not
   quantise the answer.

Why not sample the maximum's location directly: solving the stationarity condition for the
centre has no solution wherever the base law is steeper than the bump's steepest flank, so a
parameter "location of the maximum" would cut the parameter space at a boundary the data do not
know about (the geometry the sampler must avoid); the curve's maximum as a derived quantity has
the same posterior on every draw that has a peak and says how many do not
(:attr:`Peak.probability`).

The same computation serves every family (a monotone law has probability 0 of a peak); the
``scale_time`` family's time-dependent peak has its own closed-form solver
(:func:`models.families.scale_time.peak_size`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models.build import scaled_inputs
from models.errors import PredictionError
from models.posterior import check_group, group_draws
from models.predict import check_probs, interval_tag, log_curve

if TYPE_CHECKING:
    from models.result import Fit

GRID = 241  # grid points over the bracket (two decades: ~2 % in x apart before refinement)


@dataclass(frozen=True)
class Peak:
    """Posterior of the location of the curve's maximum along ``axis`` (natural units)."""

    axis: str
    at: dict[str, float]
    group: str | None
    population: bool
    bracket: tuple[float, float]
    draws: np.ndarray  # location per draw; NaN where the curve has no interior maximum
    probs: tuple[float, ...]

    @property
    def probability(self) -> float:
        """Share of draws whose curve has an interior maximum inside the bracket."""
        return float(np.isfinite(self.draws).mean()) if self.draws.size else 0.0

    def _located(self) -> np.ndarray:
        return self.draws[np.isfinite(self.draws)]

    @property
    def median(self) -> float | None:
        """Median location over the draws that have a peak (None if none has)."""
        located = self._located()
        return float(np.exp(np.median(np.log(located)))) if located.size else None

    def interval(self, prob: float) -> tuple[float, float] | None:
        """Equal-tailed interval of the location over the draws that have a peak."""
        located = self._located()
        if not located.size:
            return None
        lo, hi = np.quantile(np.log(located), [(1 - prob) / 2, (1 + prob) / 2])
        return float(np.exp(lo)), float(np.exp(hi))

    def to_record(self) -> dict[str, Any]:
        """JSON-ready summary (the draws themselves are not included)."""
        intervals = {interval_tag(p): self.interval(p) for p in self.probs}
        return {
            "axis": self.axis,
            "at": dict(self.at),
            "group": self.group,
            "population": self.population,
            "bracket": list(self.bracket),
            "probability": self.probability,
            "median": self.median,
            "intervals": {k: (list(v) if v else None) for k, v in intervals.items()},
            "draws": int(self.draws.size),
        }


def curve_peak(
    fit: Fit,
    axis: str,
    at: Mapping[str, float] | None = None,
    *,
    group: str | None = None,
    bracket: tuple[float, float] | None = None,
    probs: Sequence[float] = (0.5, 0.9),
    new_group: bool = False,
    seed: int = 0,
) -> Peak:
    """Location of the maximum of the fitted loss curve along ``axis``, per posterior draw.

    Parameters
    ----------
    fit
        Any fit (a stacked ``auto`` fit works on its mixture draws).
    axis
        The input swept (e.g. ``params`` for a model-wise peak, ``data`` for a sample-wise one).
    at
        Values of the family's other inputs (natural units), e.g. ``{"data": 100}``.
    group
        A fitted group; None with several groups asks for a new group from the population
        (as :meth:`models.Fit.predict`).
    bracket
        (low, high) of ``axis`` to search, natural units; default the observed range of
        ``axis`` (of the group when it was fitted).
    probs
        Central interval probabilities reported by :meth:`Peak.to_record`.
    new_group
        Accept an unseen ``group`` name as a new group.
    seed
        Seeds the population draws of a new group.
    """
    family = fit.family
    probs = check_probs(probs)
    if axis not in family.inputs:
        raise PredictionError(
            f"'{axis}' is not an input of {family.name} (inputs: {', '.join(family.inputs)})",
            field="axis",
        )
    at = {k: float(v) for k, v in (at or {}).items()}
    others = [n for n in family.inputs if n != axis]
    missing = [n for n in others if n not in at]
    if missing:
        raise PredictionError(
            f"the peak along {axis} needs a value for {', '.join(missing)} (at)", field="at"
        )
    extra = [k for k in at if k not in others]
    if extra:
        raise PredictionError(
            f"'{extra[0]}' is not another input of {family.name} (expected: "
            f"{', '.join(others) or 'none'})",
            field="at",
        )
    for name, value in at.items():  # the rule of models.predict.points_frame
        if not np.isfinite(value) or (value < 0 if name == "label_noise" else value <= 0):
            raise PredictionError(f"at: '{name}' must be a finite positive number", field="at")
    check_group(fit.groups, group, new_group=new_group)
    if group is None and len(fit.groups) == 1:
        group = fit.groups[0]
    seen = group in fit.groups
    lo, hi = bracket if bracket is not None else _observed(fit, axis, group if seen else None)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise PredictionError(
            f"the bracket of {axis} must be 0 < low < high, got ({lo:g}, {hi:g})", field="bracket"
        )
    params = group_draws(fit.draws, family, fit.config.pooling, fit.groups, group, seed=seed)
    grid = np.geomspace(lo, hi, GRID)
    natural = {axis: grid, **{k: np.full(GRID, v) for k, v in at.items()}}
    log_y = log_curve(family.curve, scaled_inputs(natural, family.inputs, fit.scales), params)
    return Peak(
        axis=axis,
        at=at,
        group=group,
        population=not seen,
        bracket=(float(lo), float(hi)),
        draws=interior_maximum(np.log(grid), log_y),
        probs=tuple(float(p) for p in probs),
    )


def interior_maximum(log_x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    """Location (natural units) of the highest interior local maximum of each column.

    ``log_y`` has one row per grid point of ``log_x`` (ascending, evenly spaced) and one column
    per draw. A column without an interior local maximum (monotone, or a maximum at an end)
    gives NaN. The location is the vertex of the parabola through the best grid point and its
    neighbours, clipped to that point's cell.
    """
    y = np.where(np.isfinite(log_y), log_y, -np.inf)
    left, mid, right = y[:-2], y[1:-1], y[2:]
    # a plateau's left edge counts once (>= on the left, > on the right)
    is_max = (mid >= left) & (mid > right) & np.isfinite(mid)
    best = np.where(is_max, mid, -np.inf)
    i = np.argmax(best, axis=0)  # interior index - 1
    cols = np.arange(y.shape[1])
    found = np.isfinite(best[i, cols])
    a, b, c = left[i, cols], mid[i, cols], right[i, cols]
    curvature = a - 2 * b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(curvature < 0, 0.5 * (a - c) / curvature, 0.0)
    step = log_x[1] - log_x[0]
    location = log_x[i + 1] + np.clip(np.nan_to_num(shift), -0.5, 0.5) * step
    return np.where(found, np.exp(location), np.nan)


def _observed(fit: Fit, axis: str, group: str | None) -> tuple[float, float]:
    """The observed range of ``axis``, exactly as measured (the group's rows when fitted)."""
    mask = None if group is None else np.asarray(fit.data.group == group)
    values = np.asarray(fit.data.inputs[axis] if mask is None else fit.data.inputs[axis][mask])
    values = values[values > 0]
    if values.size == 0 or values.min() == values.max():
        raise PredictionError(
            f"the data do not vary {axis}: give a bracket to search for its peak", field="bracket"
        )
    return float(values.min()), float(values.max())
