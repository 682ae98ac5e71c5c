"""Vectorised prediction over posterior draws: numpy only, no PyMC, no compilation.

Two intervals per point, both equal-tailed:

* **mean curve** — uncertainty about the law itself (parameters only);
* **new run** — what a new training run would measure (adds observation noise on log loss).

Each point is labelled ``interpolation`` or ``extrapolation`` with its distance outside the
observed range of each input, in units of that input's observed log range (0 inside).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.errors import PredictionError

INTERVAL_KIND = "equal-tailed"


@dataclass(frozen=True)
class Prediction:
    """Predicted loss at each point, natural units."""

    points: pd.DataFrame
    group: str | None
    population: bool
    probs: tuple[float, ...]
    median: np.ndarray
    mean: np.ndarray
    mean_interval: Mapping[float, tuple[np.ndarray, np.ndarray]]
    new_run_interval: Mapping[float, tuple[np.ndarray, np.ndarray]]
    region: list[str]
    distance: np.ndarray
    interval_kind: str = INTERVAL_KIND

    def to_frame(self) -> pd.DataFrame:
        """One row per point: inputs, median, mean, interval bounds, region, distance."""
        frame = self.points.copy()
        frame["median"], frame["mean"] = self.median, self.mean
        for p in self.probs:
            tag = _tag(p)
            frame[f"mean_lo_{tag}"], frame[f"mean_hi_{tag}"] = self.mean_interval[p]
            frame[f"new_lo_{tag}"], frame[f"new_hi_{tag}"] = self.new_run_interval[p]
        frame["region"], frame["distance"] = self.region, self.distance
        return frame

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows with nested intervals."""
        rows = []
        for i in range(len(self.median)):
            rows.append(
                {
                    "inputs": {k: float(v) for k, v in self.points.iloc[i].items()},
                    "median": float(self.median[i]),
                    "mean": float(self.mean[i]),
                    "mean_interval": {
                        _tag(p): [float(lo[i]), float(hi[i])]
                        for p, (lo, hi) in self.mean_interval.items()
                    },
                    "new_run_interval": {
                        _tag(p): [float(lo[i]), float(hi[i])]
                        for p, (lo, hi) in self.new_run_interval.items()
                    },
                    "region": self.region[i],
                    "distance": float(self.distance[i]),
                }
            )
        return rows


def predict_draws(
    curve: Any,
    x: Mapping[str, np.ndarray],
    params: Mapping[str, np.ndarray],
    noise: Mapping[str, np.ndarray],
    loss_scale: float,
    *,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-loss draws (P, S) of the mean curve and of a new run, in natural units.

    Points are rows and draws columns, so the quantiles afterwards run over contiguous memory.
    """
    p = {k: v[None, :] for k, v in params.items()}
    xs = {k: np.asarray(v)[:, None] for k, v in x.items()}
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_mean = np.log(curve(np, xs, p))
    log_mean += np.log(loss_scale)
    rng = np.random.default_rng(seed)
    if "nu" in noise:
        eps = rng.standard_t(noise["nu"][None, :], size=log_mean.shape)
    else:
        eps = rng.standard_normal(log_mean.shape)
    eps *= noise["sigma"][None, :]
    eps += log_mean
    return log_mean, eps


def summarize_draws(
    log_mean: np.ndarray, log_new: np.ndarray, probs: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, dict[float, Any], dict[float, Any]]:
    """Median, mean and equal-tailed intervals from log-loss draws of shape (P, S).

    Quantiles are taken on log loss and exponentiated (quantiles commute with monotone maps), so
    one pass over the draws serves both intervals.
    """
    probs = _check_probs(probs)
    qs = sorted({0.5, *((1 - p) / 2 for p in probs), *((1 + p) / 2 for p in probs)})
    q_mean = np.exp(np.quantile(log_mean, qs, axis=1))
    q_new = np.exp(np.quantile(log_new, qs, axis=1))
    at = {q: i for i, q in enumerate(qs)}
    mean_iv = {p: (q_mean[at[(1 - p) / 2]], q_mean[at[(1 + p) / 2]]) for p in probs}
    new_iv = {p: (q_new[at[(1 - p) / 2]], q_new[at[(1 + p) / 2]]) for p in probs}
    return q_mean[at[0.5]], np.exp(log_mean).mean(axis=1), mean_iv, new_iv


def extrapolation(
    x: Mapping[str, np.ndarray], log_ranges: Mapping[str, tuple[float, float]]
) -> tuple[list[str], np.ndarray]:
    """Label each point and measure how far outside the observed log range it lies."""
    n = len(next(iter(x.values())))
    distance = np.zeros(n)
    for name, (lo, hi) in log_ranges.items():
        logx = np.log(x[name])
        width = max(hi - lo, 1e-12)
        outside = np.maximum(np.maximum(logx - hi, lo - logx), 0.0) / width
        distance = np.maximum(distance, outside)
    return ["extrapolation" if d > 0 else "interpolation" for d in distance], distance


def points_frame(points: Any, inputs: Sequence[str]) -> pd.DataFrame:
    """Normalise the request to a DataFrame with the family's inputs, validated > 0.

    Columns are built and checked in numpy (a request of one point must not pay pandas'
    per-column machinery: that was most of a 1-point prediction's time).
    """
    if isinstance(points, pd.DataFrame):
        columns = {c: points[c].to_numpy() for c in points.columns}
    elif isinstance(points, Mapping):
        columns = {k: np.atleast_1d(np.asarray(v)) for k, v in points.items()}
    else:
        rows = list(points)
        names = {k for row in rows for k in row} if rows else set()
        columns = {k: np.asarray([row.get(k) for row in rows], dtype=object) for k in names}
    missing = [n for n in inputs if n not in columns]
    if missing:
        # a misspelt input ('parms') is named itself, not only the input it left missing
        unknown = [str(c) for c in columns if c not in inputs]
        if unknown:
            raise PredictionError(
                f"unknown input(s) {', '.join(map(repr, unknown))}: this fit needs "
                f"{', '.join(inputs)} (missing {', '.join(missing)})",
                field=unknown[0],
            )
        raise PredictionError(f"prediction needs input(s) {', '.join(missing)}", field=missing[0])
    out = {}
    for name in inputs:
        values = _floats(columns[name])
        finite = np.isfinite(values)
        bad = ~finite | (values < 0 if name == "label_noise" else values <= 0)
        if bad.any():
            raise PredictionError(
                f"'{name}' must be a finite positive number (row {int(np.flatnonzero(bad)[0])})",
                field=name,
            )
        out[name] = values
    if len(next(iter(out.values()), ())) == 0:
        raise PredictionError("no points to predict", field="points")
    return pd.DataFrame(out)


def _floats(values: np.ndarray) -> np.ndarray:
    """Values as float64; anything not a number becomes NaN (reported as invalid)."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.asarray(pd.to_numeric(pd.Series(values.ravel()), errors="coerce"), dtype=float)


def _check_probs(probs: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(p) for p in probs)
    if not out or any(not 0 < p < 1 for p in out):
        raise PredictionError("interval probabilities must be in (0, 1)", field="prob")
    return out


def _tag(p: float) -> str:
    return f"{round(p * 100, 4):g}"
