"""Where the chains start: never in the basin of a local optimum far below the best one.

nutpie starts every chain at the prior's support point plus a U(-1, 1) jitter on the
unconstrained scale. Curved scaling-law posteriors can have a minor local mode near that point:
``scale_time`` on the benchmark's simulated task sent two of four chains to an optimum 26 nats
below the main one (a fast mode group "learned" before the first observation), R-hat 1.74.
So, by default (``SamplerSettings.init = "multistart"``):

1. draw :data:`STARTS` points from the prior (seeded by the fit's seed) and run L-BFGS on the
   unconstrained log density from each (the compiled model's own numba function on the fit's
   data, so no second compile; at most :data:`MAX_ITER` iterations, so an "optimum" is where
   L-BFGS stopped: a local optimum or a point on the way to one);
2. keep the optima within :data:`KEEP_NATS` of the best one;
3. for each chain, climb from nutpie's own start the same way: if it reaches a kept level, or
   L-BFGS stops before converging (a long ridge: still on its way up, not trapped), the chain
   starts there unchanged (the draws are exactly those of ``init="jitter"``); if it converges
   to a far lower optimum the chain starts at a kept optimum instead (chosen by the chain's
   seed) plus a U(-:data:`JITTER`, :data:`JITTER`) jitter.

After sampling (:func:`stuck_chains`), a chain whose draws sit in a mode of far less mass than
the best chain's is in a minor mode that its warm-up wandered into: a climb that reached the main
optimum does not keep a chain from drifting there under the first, large warm-up steps
(``scale_time`` on the gradient-flow experiment, seed 4: one of two chains 32 nats down, R-hat
1.83; the gzip benchmark's one-break law, 5 groups and 44 dimensions: one of four chains 9.9 nats
down, its group's floor 8x higher, R-hat 1.53). The sampler is then run once more, every chain
starting at a draw of the chains in the main mode, with a fresh warm-up (:func:`restart_starts`);
a chain that is stuck again is reported, and the fit does not count as converged. The test
compares masses, not only heights: for a roughly Gaussian mode the mean log density of its draws
is its height minus d/2, so the log mass of a chain's mode relative to the best chain's is the
difference of their mean log densities plus half the difference of the log-determinants of their
draws' covariances (the volume). The best chain is the one of most mass, which need not be the
tallest. Restart when that mass is under :data:`MINOR_MASS` of the best chain's (one chain in C
then holds at least 1/C of the draws for at most 1/20 of the mass) and the two means differ by
more than :data:`DISTINCT_Z` Monte Carlo standard errors (a slowly mixing chain of one mode has a
large one). Where the covariance cannot be estimated (fewer than :data:`DRAWS_PER_DIM` draws
per dimension) the height alone must be :data:`KEEP_NATS` down, a ratio no plausible volume
makes up. A chain's 5-95 % range of log density is no test in high dimensions: its width grows
as sqrt(d/2), so at d = 44 two modes 10 nats apart overlap.

A chain that did not move (:func:`frozen_chains`: most transitions kept its draw) is restarted
too, whatever its height, and takes no part in the mass comparison (:func:`chains_to_restart`).
When every chain is frozen or stuck, the restart starts at the search's kept optima
(:func:`optimum_starts`) instead of at draws of a main mode that no chain sampled.

L-BFGS must run with one BLAS thread (:func:`single_threaded_blas`, which
:func:`models.sampling.sample_posterior` holds around the search and the sampling): its vectors
are a few dozen numbers, and OpenBLAS's thread hand-offs dominated it, 10x on a busy machine
(the standard hierarchical problem's search took 1.5-2.5 s, 0.25 s on one thread).

Optima more than ``KEEP_NATS`` down (a density ratio under e^-10 that no plausible difference in
volume makes up) hold no chain; comparable ones can all hold chains, so R-hat still sees a real
second mode. Chains are not all moved to the optimum: measured on a well-behaved model, starts
at the optimum gave ~15 % less bulk ESS than nutpie's own (4 seeds), so only trapped chains
move. The search is the multi-start idea of Pathfinder's multi-path initialisation (Zhang et
al. 2022) without its variational step.
"""

from __future__ import annotations

import ctypes
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

STARTS = 16
MAX_ITER = 200
KEEP_NATS = 10.0
# stuck_chains: a chain's mode holding under 1/20 of the best chain's mass is over-represented by
# any one of C <= 10 chains; Monte Carlo z-score for "different modes"; draws per dimension
# below which a chain's covariance (its mode's volume) is not estimated.
MINOR_MASS = np.log(20.0)
DISTINCT_Z = 4.0
DRAWS_PER_DIM = 5
JITTER = 0.5
# A chain that stayed where it was on more than this share of its transitions is frozen (NUTS
# accepts a move on almost every transition; a chain whose trajectories end after a step or two
# with nothing accepted is not sampling, whatever its height).
FROZEN_SHARE = 0.5
# Two optima closer than this (max over unconstrained coordinates) are the same one.
SAME_OPTIMUM = 0.05

LogDensity = Callable[[np.ndarray], tuple[float, np.ndarray]]

_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter: Any = None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """One BLAS thread for the duration, for every thread of the process.

    ``threadpoolctl``'s limit is process-wide, so concurrent users share one limiter: the first
    to enter sets it, the last to leave restores the original. Enter it from the thread that
    runs the fit, not from nutpie's chain threads: OpenBLAS ignored a restore made from another
    thread than the one that set the limit (measured), which would leave one thread for good.
    """
    global _blas_users, _blas_limiter
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = threadpool_limits(1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


@dataclass
class InitReport:
    """What the multi-start search found; stored with the posterior (``attrs['init']``)."""

    method: str
    starts: int
    failed: int  # starts whose optimisation never reached a finite density
    optima: tuple[float, ...]  # log density of each distinct optimum, best first
    kept: int  # optima within KEEP_NATS of the best; 0: none found, nutpie's start for all
    seconds: float  # the search from the prior draws
    # starts moved to a kept optimum (one per trapped chain, more if nutpie retries a start)
    moved: int = 0
    # Chains found in a minor mode after the first run (restarted from the main mode's draws),
    # each chain's mean log density then, and the chains still there after the restart.
    restarted: tuple[int, ...] = ()
    chain_logp: tuple[float, ...] = ()
    stuck: tuple[int, ...] = ()
    # The restarted chains that were frozen (:func:`frozen_chains`), and whether every chain was,
    # so the restart began at the search's optima instead of at moving chains' draws.
    frozen: tuple[int, ...] = ()
    from_optima: bool = False
    # The kept optima's points (unconstrained), for a restart when no chain moved; not stored.
    optima_points: tuple[np.ndarray, ...] = dataclasses.field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = dataclasses.asdict(self)
        del out["optima_points"]
        return out


def prior_draws(model: Any) -> Callable[[int], np.ndarray]:
    """A function ``seed -> flat unconstrained prior draw`` in nutpie's variable order."""
    from pymc.initial_point import make_initial_point_fn

    draw = make_initial_point_fn(
        model=model, jitter_rvs=set(), default_strategy="prior", return_transformed=True
    )
    names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    lock = threading.Lock()  # a compiled PyTensor function is not safe to call concurrently

    def flat(seed: int) -> np.ndarray:
        with lock:
            point = draw(seed)
        return np.concatenate([np.asarray(point[n], dtype=np.float64).ravel() for n in names])

    return flat


def log_density(compiled: Any) -> LogDensity:
    """``x -> (log p, gradient)`` of a nutpie-compiled PyMC model on its current data.

    Calls the numba C function nutpie samples with, on the data ``with_data`` swapped in; a
    point where it fails (non-finite value or gradient) gives ``-inf``.
    """
    n = compiled.n_dim
    cfunc = compiled.compiled_logp_func.ctypes
    user_data = compiled.user_data.ctypes.data
    as_ptr = ctypes.POINTER(ctypes.c_double)

    def value(x: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float64)
        grad, logp = np.empty(n), np.empty(())
        status = cfunc(
            n, x.ctypes.data_as(as_ptr), grad.ctypes.data_as(as_ptr), logp.ctypes.data_as(as_ptr),
            user_data,
        )  # fmt: skip
        if status != 0:
            return -np.inf, np.zeros(n)
        return float(logp), grad

    return value


def _negative(density: LogDensity) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    def value(x: np.ndarray) -> tuple[float, np.ndarray]:
        logp, grad = density(x)
        # L-BFGS-B's line search backtracks from a huge value but not from inf.
        return (1e300, np.zeros_like(x)) if not np.isfinite(logp) else (-logp, -grad)

    return value


def local_optimum(
    density: LogDensity, x0: np.ndarray, max_iter: int = MAX_ITER
) -> tuple[float, np.ndarray, bool] | None:
    """Where L-BFGS climbs to from ``x0`` in ``max_iter`` iterations; None if never finite.

    Returns (log density, point, whether L-BFGS converged there rather than stopping early).
    """
    from scipy.optimize import minimize

    result = minimize(
        _negative(density), x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter}
    )
    if result.fun >= 1e300 or not np.isfinite(result.fun):
        return None
    return -float(result.fun), np.asarray(result.x), bool(result.success)


def find_optima(
    density: LogDensity, starts: list[np.ndarray]
) -> tuple[list[tuple[float, np.ndarray]], int]:
    """Distinct local optima reached by L-BFGS from ``starts``, best first; and the failures."""
    found: list[tuple[float, np.ndarray]] = []
    failed = 0
    for x0 in starts:
        optimum = local_optimum(density, x0)
        if optimum is None:
            failed += 1
        elif not any(np.max(np.abs(optimum[1] - x)) < SAME_OPTIMUM for _, x in found):
            found.append(optimum[:2])
    found.sort(key=lambda item: -item[0])
    return found, failed


def multistart(
    compiled: Any, prior: Callable[[int], np.ndarray], seed: int
) -> tuple[Any, InitReport]:
    """``compiled`` whose chains never start in a basin far below the best optimum.

    Each chain's own start (nutpie's) is kept when L-BFGS from it climbs to within
    :data:`KEEP_NATS` of the best optimum found from the prior draws, or stops before converging;
    otherwise the chain starts at one of the best optima instead (see the module docstring).
    The report's ``moved`` counts such starts once sampling has begun. When no start reaches a
    finite density the model is returned unchanged (``kept`` 0) and nutpie's own start is used.
    """
    began = time.perf_counter()
    density = log_density(compiled)
    seeds = np.random.SeedSequence([seed, 4243]).generate_state(STARTS, dtype=np.uint32)
    optima, failed = find_optima(density, [prior(int(s)) for s in seeds])
    best = optima[0][0] if optima else np.inf
    kept = [x for logp, x in optima if logp >= best - KEEP_NATS]
    report = InitReport(
        method="multistart",
        starts=STARTS,
        failed=failed,
        optima=tuple(round(logp, 3) for logp, _ in optima),
        kept=len(kept),
        seconds=round(time.perf_counter() - began, 3),
        optima_points=tuple(kept),
    )
    if not kept:
        return compiled, report
    own_start = compiled.initial_point_func
    to_optimum = optimum_starts(tuple(kept))
    lock = threading.Lock()

    def start(chain_seed: int) -> np.ndarray:
        x0 = np.asarray(own_start(chain_seed), dtype=np.float64)
        reached = local_optimum(density, x0)
        # Moved only when the climb converged far below: a climb stopped by MAX_ITER on a long
        # ridge is still on its way up, not trapped.
        if reached is not None and (reached[0] >= best - KEEP_NATS or not reached[2]):
            return x0
        with lock:
            report.moved += 1
        return to_optimum(chain_seed)

    return dataclasses.replace(compiled, initial_point_func=start), report


def stuck_chains(logp: np.ndarray, unconstrained: np.ndarray | None = None) -> tuple[int, ...]:
    """Chains (rows of ``logp``, shape (chain, draw)) sitting in a mode of far less mass.

    ``unconstrained``: the chains' flat unconstrained draws, shape (chain, draw, dim), for the
    modes' volumes; without it (or with too few draws per dimension) the height alone decides.
    See the module docstring for the rule.
    """
    logp = np.asarray(logp, dtype=np.float64)
    if logp.shape[0] < 2 or not np.isfinite(logp).all():
        return ()
    means = logp.mean(axis=1)
    mcse = np.array([mcse_of_mean(row) for row in logp])
    volume = _half_log_volumes(unconstrained)
    # The best chain is the one in the mode of most mass, which need not be the tallest: a
    # narrow peak can sit above a wide mode that holds far more (the modes report once placed
    # three chains of nanoGPT min-loss's two-break law in a tall mode of weight 0.01).
    mass, threshold = (means, KEEP_NATS) if volume is None else (means + volume, MINOR_MASS)
    best = int(np.argmax(mass))
    stuck = []
    for c in range(logp.shape[0]):
        same_height = abs(means[best] - means[c]) <= DISTINCT_Z * np.hypot(mcse[c], mcse[best])
        if c != best and not same_height and mass[best] - mass[c] > threshold:
            stuck.append(c)
    return tuple(stuck)


def mcse_of_mean(x: np.ndarray) -> float:
    """Monte Carlo standard error of a chain's mean by batch means (sqrt(n) batches)."""
    n = len(x)
    size = max(int(np.sqrt(n)), 1)
    batches = n // size
    if batches < 2:
        return float("inf")
    batch_means = x[: batches * size].reshape(batches, size).mean(axis=1)
    return float(np.std(batch_means, ddof=1) / np.sqrt(batches))


def _half_log_volumes(unconstrained: np.ndarray | None) -> np.ndarray | None:
    """Half the log-determinant of each chain's draw covariance, or None if not estimable."""
    if unconstrained is None:
        return None
    halves = [half_log_volume(chain) for chain in np.asarray(unconstrained, dtype=np.float64)]
    return None if any(h is None for h in halves) else np.array(halves)


def half_log_volume(draws: np.ndarray) -> float | None:
    """Half the log-determinant of the covariance of ``draws`` (shape (draw, dim)), or None.

    None when it is not estimable: fewer than :data:`DRAWS_PER_DIM` draws per dimension, a
    non-finite draw, or a coordinate that never moved (no volume to compare).
    """
    u = np.asarray(draws, dtype=np.float64)
    n, dim = u.shape
    if n < DRAWS_PER_DIM * dim or not np.isfinite(u).all():
        return None
    sign, logdet = np.linalg.slogdet(np.atleast_2d(np.cov(u, rowvar=False)))
    return 0.5 * float(logdet) if sign > 0 and np.isfinite(logdet) else None


def frozen_chains(unconstrained: np.ndarray) -> tuple[int, ...]:
    """Chains (of nutpie's flat unconstrained draws, shape (chain, draw, dim)) that did not move.

    A chain is frozen when more than :data:`FROZEN_SHARE` of its transitions returned the point
    it started from. Seen on a leave-future-out refit of the one-break law over compute on the
    standard problem: both chains' warm-up ended where every trajectory stopped after one step
    with nothing accepted (300 identical draws each, R-hat NaN), and the stuck test, which
    compares heights and volumes, had no volume to measure and no height far enough down.
    """
    u = np.asarray(unconstrained)
    if u.ndim != 3 or u.shape[1] < 2:
        return ()
    stayed = np.all(u[:, 1:] == u[:, :-1], axis=-1).mean(axis=1)
    return tuple(int(c) for c in np.flatnonzero(stayed > FROZEN_SHARE))


def chains_to_restart(logp: np.ndarray, unconstrained: np.ndarray) -> tuple[int, ...]:
    """Frozen chains, and chains in a minor mode judged against the chains that moved.

    A frozen chain has no volume and an arbitrary height, so it takes no part in
    :func:`stuck_chains`' comparison (it could otherwise be the "best" chain).
    """
    frozen = frozen_chains(unconstrained)
    moving = [c for c in range(np.shape(logp)[0]) if c not in frozen]
    if len(moving) < 2:
        return tuple(sorted(frozen))
    minor = stuck_chains(np.asarray(logp)[moving], np.asarray(unconstrained)[moving])
    return tuple(sorted({*frozen, *(moving[i] for i in minor)}))


def optimum_starts(optima: tuple[np.ndarray, ...]) -> Callable[[int], np.ndarray]:
    """``chain_seed -> start``: a kept optimum (by the chain's seed) plus the usual jitter.

    The restart when no chain moved, so no draw of the main mode exists to start from.
    """

    def start(chain_seed: int) -> np.ndarray:
        rng = np.random.default_rng(chain_seed)
        centre = optima[chain_seed % len(optima)]
        return centre + rng.uniform(-JITTER, JITTER, size=centre.shape)

    return start


def restart_starts(
    unconstrained: np.ndarray, stuck: tuple[int, ...]
) -> Callable[[int], np.ndarray]:
    """``chain_seed -> start``: a draw of a chain not in ``stuck``, chosen by the chain's seed.

    ``unconstrained`` is nutpie's flat unconstrained draws, shape (chain, draw, n_dim). Draws of
    the main mode are in its typical set, so the fresh warm-up starts where the mass is.
    """
    good = [c for c in range(unconstrained.shape[0]) if c not in stuck]
    pool = np.asarray(unconstrained[good], dtype=np.float64).reshape(-1, unconstrained.shape[-1])

    def start(chain_seed: int) -> np.ndarray:
        row = int(np.random.default_rng(chain_seed).integers(len(pool)))
        return np.array(pool[row], dtype=np.float64)

    return start
