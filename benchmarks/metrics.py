"""Scores of predictive samples against held-out losses, the same for every method.

Every method (bayescale's posterior predictive draws, a baseline's bootstrap samples) hands over
new-run *log-loss samples* of shape (points, samples) and samples of its mean curve (no
run-to-run noise). :func:`score_samples` turns them into the point prediction (the median of the
curve samples) and equal-tailed new-run intervals exactly as
:func:`models.predict.summarize_draws` does (quantiles of log loss), and scores them with
:func:`models.backtesting.score_arrays`, the product's backtest scoring: RMSE of log loss of the
median, mean absolute relative error, coverage, mean log width and Gneiting-Raftery interval
score at 50/80/90/95 %, and a 19-level calibration curve. :func:`crps` adds the continuous
ranked probability score of the samples on log loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.backtesting import CALIBRATION_PROBS, SCORE_PROBS, score_arrays


def crps(log_samples: np.ndarray, log_observed: np.ndarray) -> float:
    """Mean CRPS over points of the sample distributions (log loss; lower is better).

    Uses ``E|X - y| - E|X - X'| / 2`` with the exact sorted-sample form of the second term
    (Gneiting & Raftery 2007, eq. 20), O(S log S) per point.

    Parameters
    ----------
    log_samples
        (P, S) predictive samples of log loss.
    log_observed
        (P,) observed log losses.
    """
    x = np.sort(np.asarray(log_samples, dtype=float), axis=1)
    y = np.asarray(log_observed, dtype=float)[:, None]
    s = x.shape[1]
    first = np.mean(np.abs(x - y), axis=1)
    weights = 2.0 * np.arange(1, s + 1) - s - 1.0
    spread = 2.0 * (x @ weights) / s**2
    return float(np.mean(first - 0.5 * spread))


def score_samples(
    log_samples: np.ndarray,
    observed: Any,
    probs: Sequence[float] = SCORE_PROBS,
    *,
    log_curve: np.ndarray | None = None,
) -> dict[str, Any]:
    """Score new-run log-loss samples against observed losses (loss units).

    Parameters
    ----------
    log_samples
        (P, S) predictive samples of log loss, one row per held-out point.
    observed
        (P,) observed losses.
    probs
        Levels scored for coverage, width and interval score.
    log_curve
        (P, S') samples of the mean curve (no run-to-run noise); the point prediction is their
        median, as ``Fit.predict``'s ``median`` is. None: the median of ``log_samples``.

    Returns
    -------
    dict
        :meth:`models.backtesting.Score.to_dict` plus ``crps_log``.
    """
    samples = np.asarray(log_samples, dtype=float)
    y = np.asarray(observed, dtype=float).reshape(-1)
    if samples.ndim != 2 or samples.shape[0] != len(y):
        raise ValueError(f"samples {samples.shape} do not match {len(y)} observed points")
    levels = sorted({*CALIBRATION_PROBS, *probs})
    qs = sorted({0.5, *((1 - p) / 2 for p in levels), *((1 + p) / 2 for p in levels)})
    q = np.exp(np.nanquantile(samples, qs, axis=1))
    at = {v: i for i, v in enumerate(qs)}
    intervals = {p: (q[at[(1 - p) / 2]], q[at[(1 + p) / 2]]) for p in levels}
    median = q[at[0.5]] if log_curve is None else np.exp(np.nanmedian(log_curve, axis=1))
    out = score_arrays(median, intervals, y, probs).to_dict()
    out["crps_log"] = crps(samples, np.log(y))
    return out


def mean_over_tasks(scores: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Equal-weight mean of each metric over tasks (coverage, width, interval score per level)."""
    out: dict[str, Any] = {"n_tasks": len(scores)}
    for key in ("rmse_log", "mare", "mean_log_error", "crps_log"):
        out[key] = float(np.mean([s[key] for s in scores]))
    for key in ("coverage", "width_log", "interval_score"):
        levels = scores[0][key].keys()
        out[key] = {p: float(np.mean([s[key][p] for s in scores])) for p in levels}
    nominal = [c["nominal"] for c in scores[0]["calibration"]]
    out["calibration"] = [
        {
            "nominal": p,
            "empirical": float(np.mean([s["calibration"][i]["empirical"] for s in scores])),
        }
        for i, p in enumerate(nominal)
    ]
    return out
