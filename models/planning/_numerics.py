"""Vectorised minimisers, root finders and quantiles used by every planning function.

All of them work on many posterior draws (rows) at once, which is what keeps planning numpy-fast:
one grid evaluation of the family's curve per call instead of a scalar optimiser per draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from models.errors import PredictionError
from models.planning.results import Distribution

# Numerical settings (named, not magic): log-N grid points per optimisation, golden-section
# steps inside the best grid bracket (bracket x 0.618^48 ≈ 1e-10 of a grid cell), and the log-C
# bisection tolerance.
GRID = 256
GOLDEN_STEPS = 48
BISECT_TOL = 1e-6
_INVPHI = (np.sqrt(5.0) - 1.0) / 2.0

Array = np.ndarray


def _minimise(fun: Callable[[Array], Array], lo: Array, hi: Array) -> tuple[Array, Array]:
    """Per row, the minimiser in [lo, hi] of ``fun`` ((R, G) -> (R, G)) and its value.

    A grid of ``GRID`` points finds the global basin (so double-descent bumps are handled), then
    golden-section steps refine inside the best grid bracket, all rows at once. The grid ends
    are the segment ends, so a binding constraint is returned exactly.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    u = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, GRID)
    values = fun(u)
    values = np.where(np.isnan(values), np.inf, values)
    best = np.argmin(values, axis=1)
    rows = np.arange(len(lo))
    a = u[rows, np.maximum(best - 1, 0)]
    b = u[rows, np.minimum(best + 1, GRID - 1)]
    x, fx = _golden(lambda w: fun(w[:, None])[:, 0], a, b)
    on_grid = values[rows, best]
    keep = ~(fx < on_grid)  # the grid point wins ties and NaN refinements
    return np.where(keep, u[rows, best], x), np.where(keep, on_grid, fx)


def _golden(fun: Callable[[Array], Array], a: Array, b: Array) -> tuple[Array, Array]:
    """Vectorised golden-section minimisation of ``fun`` ((R,) -> (R,)) on [a, b] per row."""
    c, d = b - _INVPHI * (b - a), a + _INVPHI * (b - a)
    fc, fd = fun(c), fun(d)
    for _ in range(GOLDEN_STEPS):
        left = fc <= fd  # the minimum lies in [a, d]
        a, b = np.where(left, a, c), np.where(left, d, b)
        new = np.where(left, b - _INVPHI * (b - a), a + _INVPHI * (b - a))
        f_new = fun(new)
        c, d, fc, fd = (
            np.where(left, new, d),
            np.where(left, c, new),
            np.where(left, f_new, fd),
            np.where(left, fc, f_new),
        )
    take_c = fc <= fd
    return np.where(take_c, c, d), np.where(take_c, fc, fd)


def _first_crossing(
    fun: Callable[[Array], Array], lo: Array, hi: Array, grid: int, steps: int
) -> tuple[Array, Array]:
    """Per row, the first u in [lo, hi] where ``fun`` turns from > 0 to <= 0 (NaN if none).

    Also returns whether ``fun`` is already <= 0 at ``lo``. A grid scan finds the first bracket,
    bisection refines it (2^-steps of a grid cell).
    """
    u = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid)
    below = fun(u) <= 0  # NaN counts as not below
    cross = ~below[:, :-1] & below[:, 1:]
    first = np.argmax(cross, axis=1)
    rows = np.arange(len(lo))
    a, b = u[rows, first], u[rows, first + 1]
    for _ in range(steps):
        mid = 0.5 * (a + b)
        down = fun(mid[:, None])[:, 0] <= 0
        a, b = np.where(down, a, mid), np.where(down, mid, b)
    return np.where(cross.any(axis=1), 0.5 * (a + b), np.nan), below[:, 0]


def _quantiles(values: Array, qs: Sequence[float]) -> Array:
    """Linear quantiles (numpy's default) along axis 0, NaN counted as +inf (never reached)."""
    v = np.sort(np.where(np.isnan(values), np.inf, values), axis=0)
    n = v.shape[0]
    out = []
    for q in qs:
        h = (n - 1) * q
        i = int(np.floor(h))
        f, j = h - i, min(i + 1, n - 1)
        lo, hi = v[i], v[j]
        with np.errstate(invalid="ignore"):
            mid = lo + (hi - lo) * f
        out.append(
            np.where(np.isinf(lo) | (np.isinf(hi) & (f > 0)), np.inf, np.where(f == 0, lo, mid))
        )
    return np.asarray(out)


def _distribution(values: Array, probs: Sequence[float]) -> Distribution:
    """Summary of draws (S,); NaN/inf draws count as +inf."""
    values = np.asarray(values, dtype=float)
    qs = [0.5, *((1 - p) / 2 for p in probs), *((1 + p) / 2 for p in probs)]
    q = _quantiles(values, qs)
    k = len(probs)
    finite = np.isfinite(values).all()
    # scaled by the largest draw: the plain sum of draws near 1e308 overflows, their mean cannot
    top = float(np.abs(values).max()) if finite and values.size else 0.0
    mean = top * float((values / top).mean()) if top > 0 else 0.0
    return Distribution(
        median=float(q[0]),
        mean=mean if finite else float("inf"),
        intervals={p: (float(q[1 + i]), float(q[1 + k + i])) for i, p in enumerate(probs)},
    )


def _positive(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PredictionError(f"'{name}' must be a number", field=name) from None
    if not np.isfinite(out) or out <= 0:
        raise PredictionError(f"'{name}' must be a finite positive number", field=name)
    return out


def _positive_array(values: Any, name: str) -> Array:
    out = np.atleast_1d(np.asarray(values, dtype=float)).reshape(-1)
    if len(out) == 0 or not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise PredictionError(f"'{name}' must be finite positive numbers", field=name)
    return out
