"""Vectorised prediction over posterior draws: numpy only, no PyMC, no compilation.

Two intervals per point, both equal-tailed:

* **mean curve** — uncertainty about the law itself (parameters only);
* **new run** — what a new training run would measure (adds observation noise on log loss).

Each point is labelled ``interpolation`` or ``extrapolation`` with its distance outside the
observed range of each input, in units of that input's observed log range (0 inside).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.allocator import keep_large_blocks
from models.data import log_axis
from models.errors import PredictionError

INTERVAL_KIND = "equal-tailed"
_BLOCK = 32_768  # draws x points evaluated per curve call (256 KB of float64)
# numpy releases the GIL in ufuncs and sorts: the curve's blocks and the two sorts run on up to
# two threads once an array holds this many draws x points (below it the hand-off costs more).
_PARALLEL_MIN = 100_000
_THREADS = min(2, os.cpu_count() or 1)
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid that made it, pool)
_pool_lock = threading.Lock()


def _map(fn: Callable[[Any], Any], items: Iterable[Any], size: int) -> list[Any]:
    """``[fn(i) for i in items]``, on the shared threads when ``size`` elements are worth it."""
    if size < _PARALLEL_MIN or _THREADS < 2:
        return [fn(i) for i in items]
    return list(_executor().map(fn, items))


def _executor() -> ThreadPoolExecutor:
    """The process's prediction threads, made on first use (requests may race to make them).

    A forked child (a worker process) inherits the parent's executor without its threads, and
    work submitted to it would never run: each process makes its own.
    """
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="bayescale-predict")
            _pool = (os.getpid(), pool)
        return _pool[1]


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
    # Largest distance beyond the data over inputs in decades (what widens the intervals).
    decades: np.ndarray | None = None
    warnings: tuple[str, ...] = ()
    interval_kind: str = INTERVAL_KIND

    def to_frame(self) -> pd.DataFrame:
        """One row per point: inputs, median, mean, interval bounds, region, distance."""
        frame = self.points.copy()
        frame["median"], frame["mean"] = self.median, self.mean
        for p in self.probs:
            tag = interval_tag(p)
            frame[f"mean_lo_{tag}"], frame[f"mean_hi_{tag}"] = self.mean_interval[p]
            frame[f"new_lo_{tag}"], frame[f"new_hi_{tag}"] = self.new_run_interval[p]
        frame["region"], frame["distance"] = self.region, self.distance
        frame["decades_beyond"] = self._decades()
        return frame

    def _decades(self) -> np.ndarray:
        return np.zeros(len(self.median)) if self.decades is None else self.decades

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
                        interval_tag(p): [float(lo[i]), float(hi[i])]
                        for p, (lo, hi) in self.mean_interval.items()
                    },
                    "new_run_interval": {
                        interval_tag(p): [float(lo[i]), float(hi[i])]
                        for p, (lo, hi) in self.new_run_interval.items()
                    },
                    "region": self.region[i],
                    "distance": float(self.distance[i]),
                    "decades_beyond": float(self._decades()[i]),
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
    Draw ``s`` of a new run is the curve plus one standardised noise variate ``eps_s`` scaled by
    ``sigma_s``, the same ``eps_s`` at every point: each point's marginal (all its intervals use)
    is exact, and S variates instead of P x S were most of this function's time.
    """
    sigma = noise["sigma"]
    log_mean = log_curve(curve, x, params)
    log_mean += np.log(loss_scale)
    rng = np.random.default_rng(seed)
    if "nu" in noise:
        eps = rng.standard_t(noise["nu"], size=sigma.shape)
    else:
        eps = rng.standard_normal(sigma.shape)
    eps *= sigma
    return log_mean, log_mean + eps[None, :]


def log_curve(
    curve: Any, x: Mapping[str, np.ndarray], params: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Log of the mean curve, (points, draws), in model units: ``x`` per point, ``params`` (S,).

    A block of points at a time keeps the curve's temporaries in cache (a fifth faster); large
    predictions spread the blocks over two threads.
    """
    keep_large_blocks()
    p = {k: v[None, :] for k, v in params.items()}
    xs = {k: np.asarray(v)[:, None] for k, v in x.items()}
    n_draws = len(next(iter(params.values())))
    n_points = len(next(iter(xs.values())))
    out = np.empty((n_points, n_draws))
    step = max(1, _BLOCK // max(n_draws, 1))

    def fill(i: int) -> None:
        # errstate is per thread (a context variable): set where the block is computed
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            block = {k: v[i : i + step] for k, v in xs.items()}
            np.log(curve(np, block, p), out=out[i : i + step])

    _map(fill, range(0, n_points, step), out.size)
    return out


def summarize_draws(
    log_mean: np.ndarray, log_new: np.ndarray, probs: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, dict[float, Any], dict[float, Any]]:
    """Median, mean and equal-tailed intervals from log-loss draws of shape (P, S).

    Quantiles are taken on log loss and exponentiated (quantiles commute with monotone maps).
    Each array is sorted once and every level read off it (:func:`_sorted_quantiles`): cheaper
    than even one ``np.quantile`` call, which selects its order statistics anew per call.
    """
    probs = check_probs(probs)
    qs = sorted({0.5, *((1 - p) / 2 for p in probs), *((1 + p) / 2 for p in probs)})
    ordered, ordered_new = _map(_sorted_rows, (log_mean, log_new), log_mean.size)
    q_mean = np.exp(_sorted_quantiles(ordered, qs))
    q_new = np.exp(_sorted_quantiles(ordered_new, qs))
    with np.errstate(over="ignore"):
        mean = np.exp(ordered, out=ordered).mean(axis=1, dtype=float)
    at = {q: i for i, q in enumerate(qs)}
    mean_iv = {p: (q_mean[at[(1 - p) / 2]], q_mean[at[(1 + p) / 2]]) for p in probs}
    new_iv = {p: (q_new[at[(1 - p) / 2]], q_new[at[(1 + p) / 2]]) for p in probs}
    return q_mean[at[0.5]], mean, mean_iv, new_iv


def _sorted_rows(draws: np.ndarray) -> np.ndarray:
    """A float32 copy of ``draws`` with each row sorted (NaN last).

    float32 halves the work of numpy's vectorised sort; the order statistics it yields are the
    float64 ones rounded (relative error <= 6e-8 on log loss, far below a quantile's Monte Carlo
    error).
    """
    ordered = draws.astype(np.float32)
    ordered.sort(axis=1)
    return ordered


def _sorted_quantiles(ordered: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles ``qs`` of each sorted row, shape (len(qs), P).

    numpy's default definition (linear, "type 7"): ``np.quantile(draws, qs, axis=1)`` up to the
    float32 rounding of the order statistics; interpolation runs in float64. A row with a NaN
    gives NaN, as ``np.quantile`` does.
    """
    n = ordered.shape[1]
    h = (n - 1) * np.asarray(qs, dtype=float)
    lo = np.floor(h).astype(np.intp)
    t = h - lo
    a = ordered[:, lo].astype(float)
    b = ordered[:, np.minimum(lo + 1, n - 1)].astype(float)
    # numpy's lerp: from the nearer end, so a level on an order statistic returns it exactly
    with np.errstate(invalid="ignore"):
        out = np.where(t < 0.5, a + (b - a) * t, b - (b - a) * (1 - t))
    out[np.isnan(ordered[:, -1])] = np.nan
    return np.asarray(out.T)


def extrapolation(
    x: Mapping[str, np.ndarray], log_ranges: Mapping[str, tuple[float, float]]
) -> tuple[list[str], np.ndarray]:
    """Label each point and measure how far outside the observed log range it lies.

    A product axis of ``log_ranges`` (:data:`models.data.PRODUCT_AXES`) is measured on the
    product of its two inputs.
    """
    n = len(next(iter(x.values())))
    distance = np.zeros(n)
    for name, (lo, hi) in log_ranges.items():
        logx = log_axis(x, name)
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


def check_probs(probs: Sequence[float]) -> tuple[float, ...]:
    """Interval probabilities as floats, each in (0, 1); a :class:`PredictionError` otherwise."""
    out = tuple(float(p) for p in probs)
    if not out or any(not 0 < p < 1 for p in out):
        raise PredictionError("interval probabilities must be in (0, 1)", field="prob")
    return out


def interval_tag(p: float) -> str:
    """The key of a central interval in JSON and column names: 0.9 -> ``"90"``."""
    return f"{round(p * 100, 4):g}"
