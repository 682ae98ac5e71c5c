"""Extrapolation backtests: fit on small scales, predict larger ones, score the predictions.

The protocol of science.md §6 (Alabdulmohsin et al. 2022 define such splits): :func:`split` the
observations below a scale threshold (or the first part of each group's curve), fit on the
small-scale part, predict the rest and :func:`score` the predictions against what was observed:

* ``rmse_log`` — RMSE of log loss of the predictive median (scale-free, what the likelihood
  sees); ``mean_log_error`` its signed mean (> 0: predictions too pessimistic);
* ``mare`` — mean absolute relative error ``|median - y| / y``;
* per level p: ``coverage`` of the new-run interval (should be ≈ p), its mean ``width_log``
  (log hi - log lo) and the ``interval_score`` of Gneiting & Raftery (2007, eq. 43) on log loss,
  ``(u - l) + (2/α)(l - y)·1[y < l] + (2/α)(y - u)·1[y > u]`` with α = 1 - p: a proper score
  that rewards narrow intervals and charges misses by how far they miss (lower is better);
* ``calibration`` — nominal vs empirical coverage at every level the prediction carries.

:func:`score_fit` (and :func:`backtest`) predict at :data:`CALIBRATION_PROBS` (19 levels, 5 %
to 95 %) plus the scored levels, so the calibration curve is always complete; :func:`score`
scores a :class:`~models.predict.Prediction` someone already has. :func:`holdout_split` and
:func:`score_groups` are the two halves of :func:`backtest` around the fit, for callers that
validate a split before fitting (the service, at submit time).

Only :func:`backtest` samples (it calls :func:`models.fit`); everything else is numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models import auto
from models.data import ScalingData, scale_axis
from models.defaults import AUTO, DEFAULT_FAMILY
from models.errors import PredictionError
from models.families import ScalingLaw, get_family
from models.predict import Prediction, check_probs, interval_tag
from models.result import Fit
from models.spec import FitSpec, as_spec
from models.splits import split

SCORE_PROBS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
CALIBRATION_PROBS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))


@dataclass(frozen=True)
class Score:
    """Accuracy and calibration of predictions against observed losses (see module docstring)."""

    n: int
    rmse_log: float
    mean_log_error: float
    mare: float
    coverage: Mapping[float, float]
    width_log: Mapping[float, float]
    interval_score: Mapping[float, float]
    calibration: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; levels keyed like predictions (``"90"``)."""
        return {
            "n": self.n,
            "rmse_log": float(self.rmse_log),
            "mean_log_error": float(self.mean_log_error),
            "mare": float(self.mare),
            "coverage": {interval_tag(p): float(v) for p, v in self.coverage.items()},
            "width_log": {interval_tag(p): float(v) for p, v in self.width_log.items()},
            "interval_score": {interval_tag(p): float(v) for p, v in self.interval_score.items()},
            "calibration": [
                {"nominal": float(p), "empirical": float(c)} for p, c in self.calibration
            ],
        }


@dataclass(frozen=True)
class Backtest:
    """:func:`backtest`'s answer: the split, the fit, and scores overall and per test group."""

    family: str
    split: Mapping[str, Any]
    n_train: int
    n_test: int
    converged: bool
    overall: Score
    groups: Mapping[str, Score]
    fit: Fit = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (the fit itself is left out)."""
        return {
            "family": self.family,
            "split": dict(self.split),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "converged": self.converged,
            "overall": self.overall.to_dict(),
            "groups": {g: s.to_dict() for g, s in self.groups.items()},
        }


def score(
    prediction: Prediction, observed_loss: Any, probs: Sequence[float] = SCORE_PROBS
) -> Score:
    """Score a prediction's median and new-run intervals against observed losses (loss units).

    ``probs`` must be among ``prediction.probs``; the calibration curve uses every level the
    prediction carries (predict with :data:`CALIBRATION_PROBS` for a full curve, as
    :func:`score_fit` does).
    """
    probs = check_probs(probs)
    missing = [p for p in probs if p not in prediction.new_run_interval]
    if missing:
        raise PredictionError(
            f"the prediction has no {missing[0]:g} interval: predict with probs including "
            f"{', '.join(f'{p:g}' for p in probs)}",
            field="prob",
        )
    y = np.asarray(observed_loss, dtype=float).reshape(-1)
    if len(y) != len(prediction.median):
        raise PredictionError(
            f"{len(y)} observed losses for {len(prediction.median)} predicted points",
            field="loss",
        )
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise PredictionError("observed losses must be finite and > 0", field="loss")
    intervals = {p: prediction.new_run_interval[p] for p in prediction.probs}
    return score_arrays(prediction.median, intervals, y, probs)


def score_arrays(
    median: Any,
    intervals: Mapping[float, tuple[Any, Any]],
    observed: Any,
    probs: Sequence[float] = SCORE_PROBS,
) -> Score:
    """:func:`score` on plain arrays: medians, ``{p: (lo, hi)}`` and observations (loss units)."""
    log_y = np.log(np.asarray(observed, dtype=float))
    error = np.log(np.asarray(median, dtype=float)) - log_y
    y = np.exp(log_y)
    coverage, width, interval_score = {}, {}, {}
    for p in probs:
        lo, hi = (np.log(np.asarray(b, dtype=float)) for b in intervals[p])
        alpha = 1.0 - p
        coverage[p] = float(np.mean((lo <= log_y) & (log_y <= hi)))
        width[p] = float(np.mean(hi - lo))
        miss = np.maximum(lo - log_y, 0.0) + np.maximum(log_y - hi, 0.0)
        interval_score[p] = float(np.mean(hi - lo + 2.0 / alpha * miss))
    calibration = []
    for p in sorted(intervals):
        lo, hi = (np.asarray(b, dtype=float) for b in intervals[p])
        calibration.append((float(p), float(np.mean((lo <= y) & (y <= hi)))))
    return Score(
        n=len(y),
        rmse_log=float(np.sqrt(np.mean(error**2))),
        mean_log_error=float(np.mean(error)),
        mare=float(np.mean(np.abs(np.expm1(error)))),
        coverage=coverage,
        width_log=width,
        interval_score=interval_score,
        calibration=tuple(calibration),
    )


def score_fit(
    fit: Fit,
    test: ScalingData,
    *,
    group: str | None = None,
    probs: Sequence[float] = SCORE_PROBS,
    seed: int = 0,
) -> Score:
    """Predict ``test`` (every row, as ``group``) at the calibration levels and score it."""
    levels = tuple(sorted({*CALIBRATION_PROBS, *check_probs(probs)}))
    points = {n: test.inputs[n] for n in fit.family.inputs}
    prediction = fit.predict(points, group=group, probs=levels, seed=seed)
    return score(prediction, test.loss, probs)


def holdout_split(
    data: ScalingData,
    family: str | ScalingLaw = DEFAULT_FAMILY,
    *,
    family_options: Mapping[str, str] | None = None,
    below: Mapping[str, float] | None = None,
    fraction: float | None = None,
    by: str | None = None,
) -> tuple[ScalingData, ScalingData, dict[str, Any]]:
    """The (train, test) split a backtest of ``family`` uses, and its JSON description.

    :func:`split` with ``by`` defaulting to the family's first input, after checking that the
    data has the family's inputs (for ``auto``, whose candidates differ in inputs: the scale
    axis, :func:`models.data.scale_axis`). A service calls it at submit time to refuse a holdout
    that leaves a side empty, before anything is queued.
    """
    if family == AUTO:
        by = by or scale_axis(data.varying_inputs or list(data.inputs))
    else:
        options = family_options or {}
        fam = family if isinstance(family, ScalingLaw) else get_family(family, **options)
        data.require(fam.inputs, fam.name)
        by = by or fam.inputs[0]
    train, test = split(data, below=below, fraction=fraction, by=by)
    how: dict[str, Any] = (
        {"below": {k: float(v) for k, v in below.items()}}
        if below is not None
        else {"fraction": float(fraction or 0.0), "by": by}
    )
    return train, test, how


def score_groups(
    fitted: Fit, test: ScalingData, *, probs: Sequence[float] = SCORE_PROBS, seed: int = 0
) -> tuple[Score, dict[str, Score]]:
    """Score ``test`` overall (every row pooled) and per group with a fit of the training part.

    Each test group is predicted as itself when the fit has it, else as a new group from the
    population (an ``independent`` parameter then makes that group unpredictable: an error).
    """
    probs = check_probs(probs)
    levels = tuple(sorted({*CALIBRATION_PROBS, *probs}))
    per_group: dict[str, Score] = {}
    medians: list[np.ndarray] = []
    observed: list[np.ndarray] = []
    bounds: dict[float, tuple[list[np.ndarray], list[np.ndarray]]] = {p: ([], []) for p in levels}
    for g in test.groups:
        part = test.subset(np.asarray(test.group == g))
        points = {n: part.inputs[n] for n in fitted.family.inputs}
        # a held-out group is predicted as a new one, on purpose
        prediction = fitted.predict(points, group=g, probs=levels, seed=seed, new_group=True)
        per_group[g] = score(prediction, part.loss, probs)
        medians.append(prediction.median)
        observed.append(part.loss)
        for p in levels:
            lo, hi = prediction.new_run_interval[p]
            bounds[p][0].append(lo)
            bounds[p][1].append(hi)
    pooled = {p: (np.concatenate(lo), np.concatenate(hi)) for p, (lo, hi) in bounds.items()}
    overall = score_arrays(np.concatenate(medians), pooled, np.concatenate(observed), probs)
    return overall, per_group


def backtest(
    data: ScalingData,
    family: FitSpec | str | ScalingLaw | None = None,
    *,
    below: Mapping[str, float] | None = None,
    fraction: float | None = None,
    by: str | None = None,
    probs: Sequence[float] = SCORE_PROBS,
    seed: int = 0,
    **fit_kwargs: Any,
) -> Backtest:
    """Split, fit the training part with NUTS (:func:`models.fit`), score the rest per group.

    :func:`holdout_split`, then :func:`models.fit` on the training part, then
    :func:`score_groups`: the one call a fit job with a holdout makes on its loaded data.
    ``by`` defaults to the family's first input. ``fit_kwargs`` go to :func:`models.fit`
    (``family_options``, ``pooling``, ``settings``, ``progress``, ``time_limit_s``, ...).
    """
    probs = check_probs(probs)
    model_keys = ("family_options", "pooling", "priors", "likelihood", "settings", "max_per_run")
    spec = as_spec(family, **{k: fit_kwargs.pop(k) for k in model_keys if k in fit_kwargs})
    if not spec.is_auto:
        spec = replace(spec, family=spec.law())
    train, test, how = holdout_split(
        data, spec.family, family_options=spec.family_options, below=below, fraction=fraction, by=by
    )
    fitted = auto.fit(train, spec, **fit_kwargs)
    overall, per_group = score_groups(fitted, test, probs=probs, seed=seed)
    return Backtest(
        family=fitted.family.key(),
        split=how,
        n_train=len(train),
        n_test=len(test),
        converged=fitted.converged,
        overall=overall,
        groups=per_group,
        fit=fitted,
    )
