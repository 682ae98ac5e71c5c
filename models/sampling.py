"""NUTS sampling with nutpie, compiling each model structure once per process.

The compiled model is cached by :attr:`ModelConfig.structure_key`; a new dataset of the same
structure swaps its ``pm.Data`` arrays into the cached model (``with_data``), so a worker that
refits the same family many times pays the numba compile (about 10 s) once, and a new process
loads the compiled C functions from disk (:mod:`models.compile_store`) instead. No chain starts in
the basin of a far-lower local optimum (:mod:`models.multistart`) unless ``init="jitter"``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from models import (
    centring,  # called through the module: the centring benchmark forces a choice
    modes,
)
from models.config import ModelConfig
from models.errors import FitTimeoutError, SettingsError
from models.multistart import (
    chains_to_restart,
    frozen_chains,
    log_density,
    multistart,
    optimum_starts,
    prior_draws,
    restart_starts,
    single_threaded_blas,
)

if TYPE_CHECKING:  # models.build loads pandas (via models.data): only when a model is built
    from models.build import ModelData

ProgressFn = Callable[[float], None]
ADAPTATIONS = ("auto", "diag", "low_rank", "draw_diag")
# "multistart": nutpie's start, except a chain whose L-BFGS climb converges far below the best
# optimum found from prior draws starts at that optimum (models.multistart);
# "jitter": nutpie's own start, the prior's support point plus U(-1, 1) (unconstrained).
INITS = ("multistart", "jitter")
# "auto": each pooled parameter's groups partially centred as their own rows pin them
# (models.centring); "non_centred": every group an offset scaled by the population spread.
CENTRINGS = ("auto", "non_centred")
# Bounds of SamplerSettings; service.schemas.SamplerSpec states the same (tests/service/
# test_schema_facts.py holds them equal: the light client cannot import models).
MIN_DRAWS = 10
MIN_TUNE = 1  # nutpie 0.16 panics (not raises) on tune=0: a worker must not see it
MIN_CHAINS, MAX_CHAINS = 1, 64
MIN_TARGET_ACCEPT = 0.5
# nutpie's own default maximum tree depth (up to 2**10 leapfrog steps a draw), and the deepest a
# request may ask for: 2**15 steps a draw is hours for a hierarchical fit on this hardware.
DEFAULT_TREE_DEPTH, MAX_TREE_DEPTH = 10, 15
CACHE_SIZE_ENV, DEFAULT_CACHE_SIZE = "BAYESCALE_COMPILE_CACHE_SIZE", 16


# The largest seed: nutpie takes it as a Rust u64 and numpy as an int64 (2**64 overflowed at run
# time); request schemas bound their seeds by this constant so a bad one fails at submission.
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings for one fit.

    ``seed`` fixes the chains' random streams: a refit in a process with the compiled model warm
    repeats its draws exactly, but single-group fits were measured to differ slightly after the
    PyTensor disk cache is emptied (same verdict, draws not bit-identical).
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    # 0.95: scaling-law posteriors are curved ridges (floor vs amplitude vs exponent).
    target_accept: float = 0.95
    seed: int = 0
    cores: int | None = None
    # nutpie mass-matrix adaptation. "auto": "low_rank" when every parameter is shared (it learns
    # the floor/amplitude/exponent correlations: 2-4x the ESS per second measured), "diag" for
    # hierarchical models, where low_rank measured many more divergences (BENCHMARKS.md); a
    # low_rank run that diverges is sampled again with diag (_diag_fallback).
    adaptation: str = "auto"
    init: str = "multistart"
    # A fit short of convergence only because its chains were too short (R-hat or ESS; no
    # divergence, no chain in a minor mode) is sampled once more with more draws per chain, at
    # most this many (models.extension); None, or not above ``draws``: never.
    max_draws: int | None = 4000
    # Trajectories end after 2**max_tree_depth leapfrog steps (nutpie's ``maxdepth``).
    max_tree_depth: int = DEFAULT_TREE_DEPTH
    # A fit that missed convergence while its trajectories stopped at max_tree_depth (a ridge
    # the chains cannot cross in time) is sampled again with this maximum depth
    # (models.extension.deeper); None, or not above ``max_tree_depth``: never.
    deeper_tree_depth: int | None = 13
    # A fit that missed convergence with divergent transitions is sampled again with this
    # target acceptance (smaller steps: the standard remedy for a step size too large for the
    # posterior's curvature; models.extension.careful); None, or not above ``target_accept``:
    # never.
    careful_target_accept: float | None = 0.99
    centring: str = "auto"
    # A fit that missed convergence with a low energy BFMI (a funnel: a population spread the
    # partially centred groups cannot follow) is sampled again with ``centring="non_centred"``
    # (models.extension.non_centred); False: never.
    non_centred_rerun: bool = True

    def __post_init__(self) -> None:
        for name in ("draws", "tune", "chains", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SettingsError(f"{name} must be an integer", field=name)
        if self.draws < MIN_DRAWS:
            raise SettingsError(f"draws must be at least {MIN_DRAWS}", field="draws")
        if self.tune < MIN_TUNE:
            raise SettingsError(f"tune must be at least {MIN_TUNE}", field="tune")
        if not MIN_CHAINS <= self.chains <= MAX_CHAINS:
            raise SettingsError(
                f"chains must be between {MIN_CHAINS} and {MAX_CHAINS}", field="chains"
            )
        if not MIN_TARGET_ACCEPT <= self.target_accept < 1:
            raise SettingsError(
                f"target_accept must be in [{MIN_TARGET_ACCEPT:g}, 1)", field="target_accept"
            )
        if self.careful_target_accept is not None and (
            isinstance(self.careful_target_accept, bool)
            or not isinstance(self.careful_target_accept, int | float)
            or not MIN_TARGET_ACCEPT <= self.careful_target_accept < 1
        ):
            raise SettingsError(
                f"careful_target_accept must be in [{MIN_TARGET_ACCEPT:g}, 1) or None",
                field="careful_target_accept",
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise SettingsError(f"seed must be between 0 and {MAX_SEED}", field="seed")
        if self.adaptation not in ADAPTATIONS:
            raise SettingsError(
                f"adaptation must be one of {', '.join(ADAPTATIONS)}", field="adaptation"
            )
        if self.centring not in CENTRINGS:
            raise SettingsError(f"centring must be one of {', '.join(CENTRINGS)}", field="centring")
        if not isinstance(self.non_centred_rerun, bool):
            raise SettingsError(
                "non_centred_rerun must be true or false", field="non_centred_rerun"
            )
        if self.init not in INITS:
            raise SettingsError(f"init must be one of {', '.join(INITS)}", field="init")
        if self.cores is not None and self.cores < 1:
            raise SettingsError("cores must be >= 1", field="cores")
        if self.max_draws is not None and (
            isinstance(self.max_draws, bool) or not isinstance(self.max_draws, int)
        ):
            raise SettingsError("max_draws must be an integer or None", field="max_draws")
        if self.max_draws is not None and self.max_draws < MIN_DRAWS:
            raise SettingsError(f"max_draws must be at least {MIN_DRAWS}", field="max_draws")
        for name in ("max_tree_depth", "deeper_tree_depth"):
            depth = getattr(self, name)
            if depth is None and name == "deeper_tree_depth":
                continue
            if isinstance(depth, bool) or not isinstance(depth, int):
                raise SettingsError(f"{name} must be an integer", field=name)
            if not 1 <= depth <= MAX_TREE_DEPTH:
                raise SettingsError(f"{name} must be between 1 and {MAX_TREE_DEPTH}", field=name)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    def with_(self, **changes: Any) -> SamplerSettings:
        """Copy with changes (validated)."""
        return replace(self, **changes)


@dataclass
class _Compiled:
    model: Any  # the pm.Model, for prior draws
    compiled: Any  # nutpie's CompiledPyMCModel
    prior: Callable[[int], Any] | None = None  # built on first use (a small PyTensor compile)


class CompileCache:
    """LRU of compiled nutpie models keyed by model structure; safe across threads."""

    def __init__(self, size: int | None = None) -> None:
        self._size = size
        self._models: OrderedDict[str, _Compiled] = OrderedDict()
        self._lock = threading.Lock()
        self.compiles = 0

    @property
    def size(self) -> int:
        """Structures kept: the size given, else ``BAYESCALE_COMPILE_CACHE_SIZE`` read now.

        Read when used, not at import: the process-wide cache is built when ``models`` is
        imported, before a worker or a test has set its environment.
        """
        if self._size is not None:
            return self._size
        return int(os.environ.get(CACHE_SIZE_ENV, str(DEFAULT_CACHE_SIZE)))

    @size.setter
    def size(self, value: int) -> None:
        self._size = value

    def get(self, config: ModelConfig, md: ModelData) -> Any:
        """Compiled model for ``config`` holding the arrays of ``md``."""
        from models.build import build_model  # lazy: see the TYPE_CHECKING import above

        key = config.structure_key
        with self._lock:
            entry = self._models.get(key)
            if entry is None:
                model = build_model(config, md)
                entry = _Compiled(model, _compile(model))
                self.compiles += 1
                self._models[key] = entry
                while len(self._models) > self.size:
                    self._models.popitem(last=False)
                return entry.compiled
            self._models.move_to_end(key)
        # Containers the graph does not use (group_idx when every parameter is shared) were
        # pruned by the compiler and cannot be swapped.
        used = {var.name for var in entry.compiled.shared_var_keys}
        swap = {k: v for k, v in md.swapped(config).items() if k in used}
        return entry.compiled.with_data(**swap)

    def prior(self, config: ModelConfig, md: ModelData) -> Callable[[int], Any]:
        """``seed -> flat unconstrained prior draw`` for ``config`` (compiled on first use)."""
        from models.build import build_model  # lazy: see the TYPE_CHECKING import above

        with self._lock:
            entry = self._models.get(config.structure_key)
        if entry is None:  # evicted since get() by other fits: a model of its own serves
            return prior_draws(build_model(config, md))
        if entry.prior is None:  # two threads may both build it; either result is the same
            entry.prior = prior_draws(entry.model)
        return entry.prior

    def clear(self) -> None:
        """Forget every compiled model."""
        with self._lock:
            self._models.clear()


COMPILE_CACHE = CompileCache()


def _compile(model: Any) -> Any:
    """Nutpie's numba model, compiled without fastmath (or loaded: :mod:`models.compile_store`).

    With fastmath, LLVM reassociates across function boundaries, and PyTensor's numba cache
    links a cached helper where a fresh compile inlines it: the gradient then differs in the
    last bits (measured 1e-13) between a cold and a warm ``~/.pytensor`` cache, which L-BFGS in
    :mod:`models.multistart` and NUTS amplify into other optima and other draws for one seed.
    """
    import pytensor

    from models.compile_store import compile_model

    with pytensor.config.change_flags(numba__fastmath=False):
        return compile_model(model)


def sample_posterior(
    config: ModelConfig,
    md: ModelData,
    settings: SamplerSettings,
    *,
    progress: ProgressFn | None = None,
    cache: CompileCache = COMPILE_CACHE,
    time_limit_s: float | None = None,
) -> Any:
    """Run NUTS and return nutpie's DataTree (posterior and sample_stats, group coords set).

    With ``time_limit_s`` (compilation included) sampling that runs over is cancelled and
    :class:`FitTimeoutError` raised: a fit must never hang a worker. With ``init="multistart"``
    and several chains, chains found in a minor mode (or frozen) after sampling are run again
    from the main mode's draws, or from the search's optima when no chain moved
    (:func:`models.multistart.chains_to_restart`; reported in ``attrs['init']``).
    """
    with single_threaded_blas():  # L-BFGS's and NUTS's vectors are small: no BLAS threads
        return _sample(config, md, settings, progress, cache, time_limit_s)


def _sample(
    config: ModelConfig,
    md: ModelData,
    settings: SamplerSettings,
    progress: ProgressFn | None,
    cache: CompileCache,
    time_limit_s: float | None,
) -> Any:
    started = time.monotonic()
    compiled, chosen = _centred(config, md, settings, cache)
    report = None
    if settings.init == "multistart":
        compiled, report = multistart(compiled, cache.prior(config, md), settings.seed)

    def remaining() -> float | None:
        return None if time_limit_s is None else max(time_limit_s - (time.monotonic() - started), 0)

    reported = [0.0]  # a restart samples again: progress holds rather than runs backwards

    def report_progress(fraction: float) -> None:
        reported[0] = max(reported[0], fraction)
        if progress is not None:
            progress(reported[0])

    restartable = report is not None and settings.chains > 1
    mass_matrix: dict[str, Any] | None = None
    try:
        trace = _nuts(compiled, config, settings, report_progress, remaining(), restartable)
        # the metric first (a diverging low-rank run is replaced), then the chains' modes
        used = _diag_fallback(trace, config, settings) or settings
        if used is not settings:
            trace = _nuts(compiled, config, used, report_progress, remaining(), restartable)
            mass_matrix = {"first": "low_rank", "used": "diag"}
        if report is not None and restartable:
            stuck = _stuck(trace)
            draws = trace["sample_stats"]["unconstrained_draw"].values
            # every chain frozen or stuck: no draw of the main mode to start from, so the
            # search's optima (when it found any) are where the fresh warm-ups begin
            everyone = len(stuck) == settings.chains
            if stuck and (not everyone or report.optima_points):
                report.restarted = stuck
                report.frozen = frozen_chains(draws)
                report.from_optima = everyone
                report.chain_logp = tuple(
                    round(float(v), 3) for v in trace["sample_stats"]["logp"].values.mean(axis=1)
                )
                starts = (
                    optimum_starts(report.optima_points)
                    if everyone
                    else restart_starts(draws, stuck)
                )
                again = replace(compiled, initial_point_func=starts)
                trace = _nuts(again, config, used, report_progress, remaining(), True)
                report.stuck = _stuck(trace)
        if mass_matrix is not None:
            mass_matrix["divergences"] = _divergences(trace)
    except TimeoutError:
        raise FitTimeoutError(
            f"sampling exceeded the time limit of {time_limit_s:g} s and was stopped; "
            "use fewer draws/tune or a simpler model",
            field="sampler",
        ) from None
    # The compiled model keeps the coords of the dataset it was compiled with.
    for group in ("posterior", "sample_stats"):
        if "group" in trace[group].dims:
            trace[group] = trace[group].to_dataset().assign_coords(group=md.groups)
        if "run" in trace[group].dims:
            trace[group] = trace[group].to_dataset().assign_coords(run=md.runs)
    if "unconstrained_draw" in trace["sample_stats"]:
        stats = trace["sample_stats"]
        posterior = trace["posterior"].to_dataset()
        found = modes.report(posterior, stats["logp"].values, stats["unconstrained_draw"].values)
        if found is not None:
            trace.attrs["modes"] = found
        _drop_unconstrained(trace)
    trace.attrs["init"] = {"method": "jitter"} if report is None else report.to_dict()
    if mass_matrix is not None:
        trace.attrs["init"]["mass_matrix"] = mass_matrix
    if chosen:
        trace.attrs["centring"] = {name: lam.tolist() for name, lam in chosen.items()}
    return trace


def _centred(
    config: ModelConfig, md: ModelData, settings: SamplerSettings, cache: CompileCache
) -> tuple[Any, dict[str, Any]]:
    """The compiled model with each pooled parameter's centring chosen (:mod:`models.centring`).

    The choice reads the non-centred model's density, so every centring is first set to 0 (the
    cached model may hold the previous fit's); ``centring="non_centred"`` keeps it there.
    """
    pooled = centring.blocks(config)
    if not pooled:
        return cache.get(config, md), {}
    md = md.with_centring({})  # every lambda 0
    compiled = cache.get(config, md)
    if settings.centring == "non_centred":
        groups = len(md.groups)
        return compiled, {p: np.zeros(groups) for b in pooled for p in b.params}
    chosen = centring.choose(
        log_density(compiled),
        centring.Layout.of(compiled),
        pooled,
        cache.prior(config, md),
        settings.seed,
    )
    swap = centring.containers(pooled, chosen, len(md.groups))
    return compiled.with_data(**swap), chosen


def _nuts(
    compiled: Any,
    config: ModelConfig,
    settings: SamplerSettings,
    progress: ProgressFn,
    time_limit_s: float | None,
    keep_unconstrained: bool,
) -> Any:
    """One nutpie run; ``keep_unconstrained`` stores the flat draws a restart starts from."""
    import nutpie

    def callback(chains: list[Any]) -> None:
        done = sum(c.finished_draws for c in chains)
        total = sum(c.total_draws for c in chains) or 1
        progress(done / total)

    sampler = nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores,
        seed=settings.seed,
        target_accept=settings.target_accept,
        maxdepth=settings.max_tree_depth,
        adaptation=_adaptation(config, settings),
        save_warmup=False,
        progress_bar=False,
        progress_callback=callback,
        progress_rate=250,
        blocking=False,
        store_unconstrained=keep_unconstrained,
    )
    try:
        return sampler.wait(timeout=time_limit_s)
    except TimeoutError:
        sampler.cancel()
        raise


def _stuck(trace: Any) -> tuple[int, ...]:
    stats = trace["sample_stats"]
    return chains_to_restart(stats["logp"].values, stats["unconstrained_draw"].values)


def _drop_unconstrained(trace: Any) -> None:
    """Remove what ``store_unconstrained`` added: the fit keeps only constrained draws."""
    if "unconstrained_draw" in trace["sample_stats"]:
        trace["sample_stats"] = trace["sample_stats"].to_dataset().drop_vars("unconstrained_draw")
    for name in ("unconstrained_posterior", "warmup_unconstrained_posterior"):
        if name in trace.children:
            del trace[name]


def _divergences(trace: Any) -> int:
    return int(trace["sample_stats"]["diverging"].values.sum())


def _diag_fallback(
    trace: Any, config: ModelConfig, settings: SamplerSettings
) -> SamplerSettings | None:
    """Settings for a second run with the diagonal mass matrix, or None.

    Only when ``auto`` chose ``low_rank`` (one group) and the run diverged: on the planning
    calibration's small single-group sweeps low-rank adaptation diverged in 7 of 40 fits (up to
    40 transitions, three of them in two modes) where diag diverged in none, while on identified
    single-group posteriors low-rank samples far better (BENCHMARKS.md "Mass matrix"). A
    divergence says the learned metric does not fit the posterior's curvature, so the draws are
    replaced by a diag run's, not kept alongside them.
    """
    if settings.adaptation != "auto" or _adaptation(config, settings) != "low_rank":
        return None
    if _divergences(trace) == 0:
        return None
    return replace(settings, adaptation="diag")


def _adaptation(config: ModelConfig, settings: SamplerSettings) -> str:
    if settings.adaptation != "auto":
        return settings.adaptation
    hierarchical = any(how != "shared" for how in config.pooling.values())
    return "diag" if hierarchical else "low_rank"
