r"""Extrapolation discrepancy: model error that grows with the distance beyond the data.

A fitted law is exact nowhere; inside the data its error is absorbed by the noise term, beyond
the data it grows with how far one extrapolates (Kennedy & O'Hagan 2001 add a discrepancy
process to the simulator for the same reason). On log loss

.. math::

    \log L_{obs}(x) = \log f(x; \theta) + \delta(x) + \varepsilon, \qquad
    \delta(x) = \tau \, \eta \, \sqrt{Z(x)}, \quad \eta \sim N(0, 1), \quad
    Z(x) = \max\Big(\sum_j z_j(x)^{\gamma},\; z_{ND}(x)^{\gamma}\Big)

with ``z_j`` the distance of input ``j`` outside the training range in decades of ``log10 x_j``
(0 inside, so interpolation keeps today's sharpness), ``z_ND`` the same along the product of N
and D (or N and steps: compute up to a constant, :data:`PRODUCT_AXES`), which sees a budget
beyond the largest trained although N and D each lie inside their ranges, and ``gamma = 2``
("an uncertain slope": the standard deviation grows linearly with the decades extrapolated).
One ``eta`` per posterior draw, shared by all points: the discrepancy is a smooth random
function (if the law is off it is off in the same direction along the axis), which also keeps
planning objectives deterministic.

``tau`` (log-loss sd at one decade beyond the data) is learned by leave-future-out on the user's
own data (:func:`tau_posterior`): the held-out rows above each cut, at their distance beyond the
cut's training range, score every ``tau`` on a grid; its prior :data:`TAU_PRIOR` was fitted the
same way across public studies (BENCHMARKS.md, "Extrapolation discrepancy prior"). With no
leave-future-out records the prior alone is used.

As in prediction, the rows of one group above one cut share one ``eta``
(:func:`cut_log_density`): a group's 50 rows beyond a cut are one draw of the discrepancy seen at
50 distances, not 50 independent draws of it. Scoring rows as independent (until 2026-12-06)
made tau's posterior as sharp as if every row were a separate extrapolation, and the
predictive's tails as thin as the best-fitting tau's. Groups get their own ``eta`` per cut: the
recipes or architectures of one sweep are off in their own directions (on Porian et al.'s 15
recipes one shift for all explained none of them). A prediction of one group's curve has the
same distribution either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.data import PRODUCT_AXES, has_axis, log_axis, product_axis
from models.priors import PriorSpec

GAMMA = 2.0
# Empirical-Bayes prior on tau (log-loss sd one decade beyond the data); how it was obtained:
# BENCHMARKS.md "Extrapolation discrepancy prior" and benchmarks/discrepancy_prior.py.
# log tau ~ N(-3.20, 1.7): median 0.041; fitted on 19 public studies' training rows (the
# 2026-12-06 21:13 run: each law a weighted observation, each group's rows above a cut one draw
# of eta, distances along N, D and N*D as predictions measure them). The spread is what the
# studies say: tau from below 1e-3 (well-fitted LM trajectories) to ~1 (an emergent break), most
# laws 0.01-0.1.
TAU_PRIOR = PriorSpec("LogNormal", mu=-3.20, sigma=1.7)
# Grid over tau: far below any measurable discrepancy to a decade-wide error per decade.
TAU_GRID = np.geomspace(1e-4, 1.0, 128)
# Draws per record used to score tau (a predictive density's Monte Carlo error is far below
# what separates grid values; this keeps the grid evaluation to a fraction of a second).
SCORING_DRAWS = 200
# tau's grid values below this share of the largest posterior weight are left out of a row's
# predictive density (:func:`tau_posterior`). They hold < 128 x 1e-9 of the posterior, so a row
# moves by at most that times how much likelier it is at those tau than where the posterior
# sits (1e-10 to 1e-9 on the records timed in BENCHMARKS.md, the weights identical).
NEGLIGIBLE_TAU = 1e-9
# Shifts c = tau * eta at which a cut's rows are scored jointly (:func:`cut_log_density`): 0 and
# +-40 log-spaced values from far below any tau of the grid to 5 (five times its largest tau);
# a finer grid is laid around the joint likelihood's mode, whose width is set by the rows.
SHIFT_COARSE = np.geomspace(1e-6, 5.0, 40)
# Draws per record for the joint score (it is evaluated at ~100 shifts, not once per tau).
SHIFT_DRAWS = 100
# Numbers per block when shifts x draws x rows are evaluated at once.
_BLOCK_ELEMENTS = 2_000_000
# Inputs that are not scales: their "distance beyond the data" means nothing (and may be 0).
NOT_SCALES = frozenset({"label_noise"})
# A prediction further than this (decades beyond the data, any input) carries a warning.
FAR_DECADES = 3.0


@dataclass(frozen=True)
class LFORecord:
    """One candidate's predictions of the rows above one leave-future-out cut.

    ``log_mu`` (S, n): log of the fitted mean curve per draw and held-out row (natural units);
    ``sigma``, ``nu`` (S,): observation noise per draw (``nu`` None for a Normal likelihood);
    ``y`` (n,): observed log loss; ``z`` (n,): the rows' :func:`distance` beyond the cut;
    ``group`` (n,): the rows' groups (None: one group).
    """

    log_mu: np.ndarray
    sigma: np.ndarray
    nu: np.ndarray | None
    y: np.ndarray
    z: np.ndarray
    group: np.ndarray | None = None

    def by_group(self) -> list[LFORecord]:
        """One record per group (the record itself when it holds one group)."""
        if self.group is None or len(np.unique(self.group)) < 2:
            return [self]
        return [
            LFORecord(self.log_mu[:, rows], self.sigma, self.nu, self.y[rows], self.z[rows])
            for rows in (np.flatnonzero(self.group == g) for g in np.unique(self.group))
        ]


@dataclass(frozen=True)
class Discrepancy:
    """The fitted discrepancy: training ranges, and a grid posterior over ``tau``."""

    log10_ranges: Mapping[str, tuple[float, float]]
    tau: np.ndarray
    weights: np.ndarray
    gamma: float = GAMMA
    source: str = "prior"  # "prior" or "lfo" (learned on the user's data)
    _draws: dict[tuple[int, int], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_prior(cls, ranges: Mapping[str, tuple[float, float]]) -> Discrepancy:
        """The prior alone (no leave-future-out evidence)."""
        return cls(dict(ranges), TAU_GRID, _normalise(_log_prior(TAU_GRID)), GAMMA, "prior")

    def distance(self, x: Mapping[str, Any]) -> np.ndarray:
        """``Z(x)``: per point, summed over inputs, of (decades outside the range) ** gamma."""
        return distance(x, self.log10_ranges, self.gamma)

    def decades(self, x: Mapping[str, Any]) -> np.ndarray:
        """Largest distance beyond the data over inputs, in decades (0 inside)."""
        return distance(x, self.log10_ranges, 1.0, combine=np.maximum)

    def extended(self, point: Mapping[str, float]) -> Discrepancy:
        """The discrepancy after ``point`` is trained: every range widened to include it.

        ``tau``'s posterior is kept (a refit sizes it again only under family ``auto``), so this
        is what the discrepancy becomes once a planned run joins the data (value of information).
        """
        ranges = dict(self.log10_ranges)
        for name, (lo, hi) in self.log10_ranges.items():
            if has_axis(point, name):
                value = float(log_axis(point, name, np.log10))
                ranges[name] = (min(lo, value), max(hi, value))
        return Discrepancy(ranges, self.tau, self.weights, self.gamma, self.source)

    def tau_draws(self, n: int, seed: int) -> np.ndarray:
        """``tau * eta`` per posterior draw (one eta per draw; see the module docstring).

        A pure function of ``(n, seed)``, kept for the fit's lifetime (a prediction asks for the
        same draws each time; the weighted choice was a tenth of its time). Read-only.
        """
        cached = self._draws.get((n, seed))
        if cached is None:
            rng = np.random.default_rng([seed, 4099])
            tau = rng.choice(self.tau, size=n, p=self.weights)
            cached = np.asarray(tau * rng.standard_normal(n))
            cached.flags.writeable = False
            if len(self._draws) >= 8:  # a handful of (n, seed) pairs are ever used
                self._draws.clear()
            self._draws[(n, seed)] = cached
        return cached

    def shift(self, x: Mapping[str, Any], n_draws: int, seed: int) -> np.ndarray:
        """``delta(x)`` on log loss, shape (points, draws) (:func:`add_shift` onto zeros)."""
        out = np.zeros((len(self.distance(x)), n_draws))
        add_shift(self, x, seed, out)
        return out

    def summary(self) -> dict[str, float]:
        """Posterior median and 90 % interval of tau."""
        cdf = np.cumsum(self.weights)
        index = np.minimum(np.searchsorted(cdf, [0.05, 0.5, 0.95]), len(cdf) - 1)
        at = [float(t) for t in self.tau[index]]
        return {"tau_median": at[1], "tau_lo_90": at[0], "tau_hi_90": at[2]}

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the fit)."""
        return {
            "log10_ranges": {
                k: [float(lo), float(hi)] for k, (lo, hi) in self.log10_ranges.items()
            },
            "tau": [float(t) for t in self.tau],
            "weights": [float(w) for w in self.weights],
            "gamma": float(self.gamma),
            "source": self.source,
            **self.summary(),
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Discrepancy:
        """Inverse of :meth:`to_dict`."""
        ranges = {str(k): (float(v[0]), float(v[1])) for k, v in obj["log10_ranges"].items()}
        return cls(
            ranges,
            np.asarray(obj["tau"], dtype=float),
            np.asarray(obj["weights"], dtype=float),
            float(obj["gamma"]),
            str(obj["source"]),
        )


def log10_ranges(
    inputs: Mapping[str, np.ndarray], names: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """Training range in log10 units of each named scale input, and of the product axis.

    ``label_noise`` is no scale. Where two named inputs form a :data:`PRODUCT_AXES` pair, their
    product gets a range of its own and ``compute`` is dropped (see :data:`PRODUCT_AXES`).
    """
    scales = [n for n in names if n not in NOT_SCALES]
    product = product_axis(scales)
    if product is not None:
        scales = [n for n in scales if n != "compute"] + [product]
    out = {}
    for name in scales:
        values = log_axis(inputs, name, np.log10)
        out[name] = (float(values.min()), float(values.max()))
    return out


def distance(
    x: Mapping[str, Any],
    ranges: Mapping[str, tuple[float, float]],
    gamma: float = GAMMA,
    *,
    combine: Any = np.add,
) -> np.ndarray:
    """Per point: the inputs' decades outside their ranges, each to ``gamma``, combined.

    A product axis (:data:`PRODUCT_AXES`) enters as ``max(inputs combined, product ** gamma)``:
    along one input (the other inside its range) the product adds nothing, so ``tau`` keeps its
    meaning per decade extrapolated; inside the box but beyond the largest N * D it is the only
    distance. Inputs broadcast (any shapes); inputs of ``ranges`` absent from ``x`` are not
    measured (with none of them present, every distance is 0).
    """
    total: np.ndarray | None = None
    product: np.ndarray | None = None
    for name, (lo, hi) in ranges.items():
        if not has_axis(x, name):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            logx = log_axis(x, name, np.log10)
        outside = np.maximum(np.maximum(logx - hi, lo - logx), 0.0) ** gamma
        if name in PRODUCT_AXES:
            product = outside
        else:
            total = outside if total is None else combine(total, outside)
    if product is not None:
        total = product if total is None else np.maximum(total, product)
    if total is None:
        # None of the measured inputs is among the points (a member of a stacked fit that runs
        # over a compute derived from N and D, asked alone at C): no distance can be measured,
        # so none is added; the stacked fit itself measures along N and D.
        shapes = [np.shape(v) for v in x.values()]
        return np.zeros(np.broadcast_shapes(*shapes) if shapes else (0,))
    return np.asarray(total)


def point_log_density(record: LFORecord, tau: np.ndarray) -> np.ndarray:
    """Log p(y_i | tau) for every grid value and held-out row, shape (len(tau), n).

    The predictive is the posterior mixture over draws of the likelihood with its scale widened
    to ``sqrt(sigma^2 + tau^2 Z)`` (a Student-t keeps its nu; exact for the Normal likelihood,
    a close approximation for Student-t, whose convolution with a Normal has no closed form).
    """
    s = record.log_mu.shape[0]
    keep = np.linspace(0, s - 1, min(s, SCORING_DRAWS)).round().astype(int)
    resid = record.y[None, :] - record.log_mu[keep]  # (S', n)
    var0 = record.sigma[keep, None] ** 2
    z = record.z[None, :]
    sq = resid**2
    out = np.empty((len(tau), record.y.shape[0]))
    if record.nu is not None:
        nu = record.nu[keep, None]
        const = _student_t_log_const(nu)
    for g, t in enumerate(tau):
        var = var0 + t**2 * z
        if record.nu is None:
            lp = -0.5 * (np.log(2 * np.pi * var) + sq / var)
        else:
            lp = const - 0.5 * np.log(var) - (nu + 1) / 2 * np.log1p(sq / (nu * var))
        # the log of the mean over draws, shifted by the largest term as scipy's logsumexp does
        # (2x faster here: no checks for infinities, which a record never holds)
        top = lp.max(axis=0)
        out[g] = np.log(np.exp(lp - top).sum(axis=0)) + top - np.log(len(keep))
    return out


def _row_log_density_at_shifts(record: LFORecord, shifts: np.ndarray) -> np.ndarray:
    """Log p(y_i | shift c) per shift and row, shape (len(shifts), n).

    Each row's posterior predictive (a mixture over draws) with the curve moved by
    ``c * sqrt(z_i)``.
    """
    s = record.log_mu.shape[0]
    keep = np.linspace(0, s - 1, min(s, SHIFT_DRAWS)).round().astype(int)
    resid = record.y[None, :] - record.log_mu[keep]  # (S', n)
    root = np.sqrt(record.z)[None, :]
    sigma = record.sigma[keep, None]
    log_norm = -np.log(sigma) - np.log(len(keep))
    if record.nu is None:
        log_norm = log_norm - 0.5 * np.log(2 * np.pi)
    else:
        nu = record.nu[keep, None]
        log_norm = log_norm + _student_t_log_const(nu)
    out = np.empty((len(shifts), record.y.shape[0]))
    # a block of shifts at a time, (block, S', n), a few million numbers at most
    block = max(1, _BLOCK_ELEMENTS // resid.size)
    for start in range(0, len(shifts), block):
        c = shifts[start : start + block, None, None]
        u = ((resid[None] - c * root[None]) / sigma[None]) ** 2
        lp = -0.5 * u if record.nu is None else -(nu[None] + 1) / 2 * np.log1p(u / nu[None])
        lp += log_norm[None]
        top = lp.max(axis=1)
        out[start : start + block] = top + np.log(np.exp(lp - top[:, None]).sum(axis=1))
    return out


def cut_log_density(record: LFORecord, tau: np.ndarray) -> np.ndarray:
    """Log p(rows above one cut | tau) per grid value: each group's rows share one ``eta``."""
    return np.asarray(sum(_shared_shift_log_density(r, tau) for r in record.by_group()))


def _shared_shift_log_density(record: LFORecord, tau: np.ndarray) -> np.ndarray:
    """Log p(rows | tau) for every grid value, all the record's rows sharing one ``eta``.

    ``p = int prod_i p(y_i | c) N(c; 0, tau^2) dc`` with ``c = tau * eta`` the shift per unit of
    ``sqrt(Z)`` and ``p(y_i | c)`` each row's posterior predictive at that shift. The integral
    runs over a grid in ``c``: :data:`SHIFT_COARSE` (symmetric, log-spaced, so every tau's
    Gaussian is resolved) joined with a fine grid of +-8 widths around the product's mode
    (a cut of many rows pins ``c`` far more sharply than the coarse spacing) and a uniform one
    between 0 and the mode. Each shift stands for the cell between its neighbours' midpoints,
    weighted by the Gaussian's exact mass there. Within 0.05 nats of the exact value wherever
    tau's posterior has mass (tests: the closed form, dense quadrature); ~0.1 s for 200 rows.
    """
    from scipy import special

    if not np.any(record.z > 0):  # no row beyond the cut's data: no evidence on tau
        return np.zeros(len(tau))
    coarse = np.concatenate([-SHIFT_COARSE[::-1], [0.0], SHIFT_COARSE])
    joint = _row_log_density_at_shifts(record, coarse).sum(axis=1)
    top = int(np.argmax(joint))
    lo, hi = coarse[max(top - 1, 0)], coarse[min(top + 1, len(coarse) - 1)]
    # The mode lies between the coarse neighbours of the best coarse shift; its width is read off
    # a parabola through three fine points there (bounded to that bracket)
    fine = np.linspace(lo, hi, 9)
    near = _row_log_density_at_shifts(record, fine).sum(axis=1)
    best = int(np.argmax(near))
    step = fine[1] - fine[0]
    mode, width = fine[best], step
    if 0 < best < len(fine) - 1:
        curv = near[best - 1] - 2 * near[best] + near[best + 1]
        if curv < 0:  # the parabola's vertex and width (exact where the product is Gaussian)
            mode -= step * (near[best + 1] - near[best - 1]) / (2 * curv)
            width = step / np.sqrt(-curv)
    width = float(np.clip(width, 1e-7, max(hi - lo, 1e-7)))
    around = mode + width * np.linspace(-8.0, 8.0, 65)
    # and between 0 and the mode, where the product sits for taus smaller than the mode
    between = np.linspace(0.0, mode, 34)[1:-1]
    extra = np.concatenate([around, between])
    shifts = np.concatenate([coarse, fine, extra])
    values = np.concatenate([joint, near, _row_log_density_at_shifts(record, extra).sum(axis=1)])
    order = np.argsort(shifts, kind="stable")
    shifts, values = shifts[order], values[order]
    shifts, first = np.unique(shifts, return_index=True)
    values = values[first]
    # Each shift stands for the cell between its neighbours' midpoints (the outer cells run to
    # infinity), weighted by the Gaussian's exact mass there: no discretisation of N(0, tau^2)
    edges = np.concatenate([[-np.inf], (shifts[1:] + shifts[:-1]) / 2, [np.inf]])
    return np.asarray(
        special.logsumexp(values[None, :] + _log_gauss_mass(edges[None, :] / tau[:, None]), axis=1)
    )


def _student_t_log_const(nu: np.ndarray) -> np.ndarray:
    """Log normalising constant of a unit-scale Student-t density with ``nu`` degrees of freedom."""
    from scipy import special

    return np.asarray(
        special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)
    )


def _log_gauss_mass(edges: np.ndarray) -> np.ndarray:
    """Log standard-normal mass of each cell between consecutive ``edges`` (sorted, last axis).

    Computed on the side of zero each cell lies, so cells far in either tail keep their precision.
    """
    from scipy import special

    a, b = edges[..., :-1], edges[..., 1:]
    upper = a >= 0  # whole cell right of 0: P = Q(a) - Q(b) with Q the upper tail
    hi = np.where(upper, special.log_ndtr(-a), special.log_ndtr(b))
    lo = np.where(upper, special.log_ndtr(-b), special.log_ndtr(a))
    with np.errstate(divide="ignore"):
        return np.asarray(hi + np.log1p(-np.exp(lo - hi)))


def tau_posterior(
    records: Sequence[LFORecord], ranges: Mapping[str, tuple[float, float]]
) -> tuple[Discrepancy, np.ndarray]:
    """Grid posterior of tau from leave-future-out records, and each row's log density.

    Each record (cut) is one observation of the discrepancy per group (:func:`cut_log_density`);
    the result is the :class:`Discrepancy` and the held-out rows' marginal log predictive
    densities with tau integrated over its posterior (what stacking weighs candidates by: a law
    is judged row by row), concatenated in record order. With no records, the prior and an
    empty array.
    """
    from scipy import special

    if not records:
        return Discrepancy.from_prior(ranges), np.empty(0)
    log_post = _log_prior(TAU_GRID) + sum(cut_log_density(r, TAU_GRID) for r in records)
    weights = _normalise(log_post)
    # grid values of negligible posterior weight are left out of the rows' integral over tau
    # (written as "not below" so that weights that are not numbers keep every value, as before)
    active = ~(weights < NEGLIGIBLE_TAU * weights.max())
    lp = np.concatenate([point_log_density(r, TAU_GRID[active]) for r in records], axis=1)
    per_row = special.logsumexp(lp + np.log(weights[active])[:, None], axis=0)
    return Discrepancy(dict(ranges), TAU_GRID, weights, GAMMA, "lfo"), per_row


def add_shift(discrepancy: Any, x: Mapping[str, Any], seed: int, *log_draws: np.ndarray) -> None:
    """Add ``delta(x)`` (``shift``) in place to each (points, draws) array, where Z(x) > 0.

    ``discrepancy`` is a :class:`Discrepancy` or a stacked one. Inside the data delta is exactly
    zero, so only rows beyond it are touched: the full (points x draws) product was a third of
    a 100-point prediction's time.
    """
    root = np.sqrt(discrepancy.distance(x))
    beyond = np.flatnonzero(root)
    if not beyond.size:
        return
    delta = root[beyond, None] * discrepancy.tau_draws(log_draws[0].shape[1], seed)[None, :]
    for draws in log_draws:
        draws[beyond] += delta


def _log_prior(tau: np.ndarray) -> np.ndarray:
    """Log prior on the grid (log-spaced grid: the LogNormal density times the Jacobian tau)."""
    mu, sd = TAU_PRIOR.kwargs["mu"], TAU_PRIOR.kwargs["sigma"]
    return np.asarray(-0.5 * ((np.log(tau) - mu) / sd) ** 2)


def _normalise(log_w: np.ndarray) -> np.ndarray:
    w = np.exp(log_w - log_w.max())
    return np.asarray(w / w.sum())
