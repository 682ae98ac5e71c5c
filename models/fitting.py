"""``fit``: data in, a :class:`~models.result.Fit` out (sampling, diagnostics, identification).

The sampler is called through its module (``sampling.sample_posterior``), so a test replaces it
at its one definition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Unpack

import numpy as np

from models import extension, sampling
from models.build import ModelData, prepare
from models.checks import check_data, check_identification
from models.config import ModelConfig, resolve_config
from models.data import Scales, ScalingData
from models.defaults import COMPARE_POOLING
from models.diagnostics import Diagnostics, FitWarning, Thresholds, diagnose
from models.discrepancy import Discrepancy, log10_ranges
from models.errors import FamilyError, FitTimeoutError
from models.families import ScalingLaw
from models.posterior import noise_draws, observation_draws
from models.result import Fit
from models.runs import check_max_per_run, run_offsets, thin_runs
from models.sampling import COMPILE_CACHE, CompileCache, ProgressFn, SamplerSettings
from models.spec import FitSpec, SpecFields, as_spec


def fit(
    data: ScalingData,
    spec: FitSpec | str | ScalingLaw | None = None,
    *,
    scales: Scales | None = None,
    thresholds: Thresholds | None = None,
    progress: ProgressFn | None = None,
    cache: CompileCache = COMPILE_CACHE,
    time_limit_s: float | None = None,
    loo: bool = True,
    **fields: Unpack[SpecFields],
) -> Fit:
    """Fit one named scaling law with NUTS (nutpie); :func:`models.fit` also takes ``"auto"``.

    Parameters
    ----------
    data
        Observations; ``data.group`` defines the hierarchy.
    spec
        What to fit: a :class:`~models.spec.FitSpec`, or a family (registry name, see
        :func:`models.list_families`, or a family instance; default
        :data:`models.DEFAULT_FAMILY`) with :class:`~models.spec.FitSpec`'s fields as keyword
        arguments (:class:`~models.spec.SpecFields`), described next.
    family
        The family by keyword, instead of ``spec``.
    family_options
        Options of the family, e.g. ``{"x": "data"}`` for ``power_law``.
    pooling
        ``shared``/``partial``/``independent`` for all parameters, or per parameter.
    priors
        JSON-style overrides, per parameter (see :func:`models.config.resolve_config`).
    likelihood
        ``student_t`` (default: robust to outlying and early points) or ``normal`` on log loss.
    settings
        Sampler settings (draws, tune, chains, target_accept, seed, max_tree_depth). A fit
        that misses convergence with a low energy BFMI while groups were partially centred is
        sampled again non-centred (``diagnostics.non_centred``); one whose trajectories stop
        at the maximum tree depth, with ``settings.deeper_tree_depth``
        (``diagnostics.deeper``); one that diverged, with smaller steps
        (``diagnostics.careful``); one that misses only on R-hat or ESS, once more with more
        draws, up to ``settings.max_draws`` (``diagnostics.extension``); :mod:`models.extension`.
    scales
        Reference scales for model units; default geometric means and the minimum loss.
    thresholds
        Convergence pass marks.
    progress
        Called with the fraction of draws done.
    cache
        Compiled-model cache (a process-wide one by default).
    time_limit_s
        Wall-clock limit including compilation; over it sampling stops and
        :class:`~models.errors.FitTimeoutError` is raised.
    loo
        Compute PSIS-LOO (``diagnostics.elpd_loo``, Pareto k and its warning). Family ``auto``'s
        leave-future-out refits, scored on the rows beyond their cut instead, skip it (0.13-0.16 s
        of a refit on the standard problem); no draw changes.
    max_per_run
        Runs longer than this are thinned to this many log-spaced checkpoints before fitting
        (:func:`models.runs.thin_runs`); None keeps every row. Data without runs are not thinned.
        ``diagnostics.thinning`` reports the rows before and after.
    """
    spec = as_spec(spec, **fields)
    th = thresholds or Thresholds()
    check_max_per_run(spec.max_per_run)
    config, found = validate_fit(data, spec, thresholds=th)
    fam = config.family
    data, thinning = thin_runs(data, spec.max_per_run)
    scales = scales or data.default_scales(fam.inputs)
    md = prepare(data, fam.inputs, scales)
    started = time.monotonic()
    settings = spec.settings
    trace = sampling.sample_posterior(
        config, md, settings, progress=progress, cache=cache, time_limit_s=time_limit_s
    )
    model = _Model(config, md, th, tuple(found), loo)
    run = (trace, _diagnosed(trace, model, model.found), settings)
    for rerun in _RERUNS:
        again = rerun.settings(run[1], run[2])
        if again is None:
            continue
        time_left = None if time_limit_s is None else time_limit_s - (time.monotonic() - started)
        run, stopped = _sampled_again(run, again, rerun, model, progress, cache, time_left)
        if stopped:
            break
    trace, diagnostics, settings = run
    result = Fit(fam, config, scales, settings, trace, data, diagnostics)
    extra = check_identification(result, th)
    result.diagnostics = replace(
        diagnostics,
        warnings=(*diagnostics.warnings, *extra),
        thinning=None if thinning is None else thinning.to_dict(),
    )
    # Until leave-future-out sizes it (family auto), the discrepancy is the prior's.
    result.discrepancy = Discrepancy.from_prior(log10_ranges(data.inputs, fam.inputs))
    return result


def _diagnosed(trace: Any, model: _Model, found: Sequence[FitWarning]) -> Diagnostics:
    loglik = (
        log_likelihood_chunks(model.config, model.md, trace["posterior"].to_dataset())
        if model.loo
        else None
    )
    return diagnose(trace, loglik, thresholds=model.thresholds, warnings=list(found))


@dataclass(frozen=True)
class _Model:
    """What a run samples and diagnoses: the model, its data, pass marks, data warnings, LOO."""

    config: ModelConfig
    md: ModelData
    thresholds: Thresholds
    found: tuple[FitWarning, ...]
    loo: bool


@dataclass(frozen=True)
class _Rerun:
    """One way a fit is sampled again (:mod:`models.extension`) and how it is recorded."""

    settings: Callable[[Diagnostics, SamplerSettings], SamplerSettings | None]
    # the first run's figure that called for it, recorded beside the setting and the reasons
    extra: Callable[[Diagnostics], dict[str, Any]]
    code: str  # the FitWarning's code
    setting: str  # the SamplerSettings field it changes
    record: str  # the Diagnostics field its report goes to
    note: Callable[[SamplerSettings, SamplerSettings, str], str]  # (first, used, why) -> message

    def report(
        self, first: Diagnostics, settings: SamplerSettings, used: SamplerSettings
    ) -> dict[str, Any]:
        """What ``Diagnostics.<record>`` holds for this rerun (:func:`extension.record`)."""
        return extension.record(self.setting, first, settings, used, **self.extra(first))


_NON_CENTRED = _Rerun(
    extension.non_centred,
    lambda first: {
        "first_bfmi_min": first.bfmi_min,
        "first_largest_centring": extension.largest_centring(first),
    },
    "non_centred",
    "centring",
    "non_centred",
    lambda first, used, why: (
        f"the chains explored the energy poorly with groups partially centred ({why}): a "
        "funnel where a population spread shrinks; the fit was sampled again with every "
        "group non-centred and only those draws are kept"
    ),
)
_DEEPER = _Rerun(
    extension.deeper,
    lambda first: {"first_tree_depth_share": first.tree_depth_share},
    "deeper_tree",
    "max_tree_depth",
    "deeper",
    lambda first, used, why: (
        f"trajectories stopped at the maximum tree depth {first.max_tree_depth} and the fit did "
        f"not converge ({why}); it was sampled again with maximum depth {used.max_tree_depth} "
        "and only those draws are kept"
    ),
)
_CAREFUL = _Rerun(
    extension.careful,
    lambda first: {"first_divergences": first.divergences},
    "smaller_steps",
    "target_accept",
    "careful",
    lambda first, used, why: (
        f"the fit diverged at target_accept {first.target_accept:g} ({why}); it was sampled "
        f"again with target_accept {used.target_accept:g} (smaller steps) and only those draws "
        "are kept"
    ),
)
_LONGER = _Rerun(
    extension.longer,
    lambda first: {},
    "longer_run",
    "draws",
    "extension",
    lambda first, used, why: (
        f"{first.draws} draws per chain mixed too slowly ({why}); the fit was sampled again "
        f"with {used.draws} and only those draws are kept"
    ),
)
# in this order: other coordinates (a funnel), a deeper tree (trajectories cut short), smaller
# steps (divergences), then more draws (chains too short)
_RERUNS = (_NON_CENTRED, _DEEPER, _CAREFUL, _LONGER)


def _sampled_again(
    first: tuple[Any, Diagnostics, SamplerSettings],
    again: SamplerSettings,
    rerun: _Rerun,
    model: _Model,
    progress: ProgressFn | None,
    cache: CompileCache,
    time_left_s: float | None,
) -> tuple[tuple[Any, Diagnostics, SamplerSettings], bool]:
    """The fit sampled again with ``again`` (:mod:`models.extension`), or the first run.

    Returns the run kept and whether the time limit stopped the new one. Progress restarts at
    the share of the work the first run was: the fit just got longer. A run the time limit
    stops leaves the first run's draws, with the reason recorded. Warnings and records of an
    earlier rerun carry over.
    """
    trace, diagnostics, settings = first
    done = settings.draws + settings.tune
    share = done / (done + again.draws + again.tune)

    def again_progress(fraction: float) -> None:
        if progress is not None:
            progress(share + (1 - share) * fraction)

    record = rerun.report(diagnostics, settings, again)
    try:
        if time_left_s is not None and time_left_s <= 0:
            raise FitTimeoutError("no time left", field="sampler")
        trace_again = sampling.sample_posterior(
            model.config, model.md, again, progress=again_progress, cache=cache,
            time_limit_s=time_left_s,
        )  # fmt: skip
    except FitTimeoutError:
        record["stopped"] = "the time limit stopped the run; the first run's draws are kept"
        # the settings kept are the first run's
        value = getattr(settings, rerun.setting)
        record[rerun.setting] = [value, value]
        return (trace, _with_records(diagnostics, {rerun.record: record}), settings), True
    note = FitWarning(rerun.code, rerun.note(settings, again, "; ".join(diagnostics.reasons)))
    carried = [w for w in diagnostics.warnings if w.code in {r.code for r in _RERUNS}]
    fresh = _diagnosed(trace_again, model, [*model.found, *carried, note])
    earlier = {r.record: getattr(diagnostics, r.record) for r in _RERUNS}
    return (trace_again, _with_records(fresh, {**earlier, rerun.record: record}), again), False


def _with_records(diagnostics: Diagnostics, records: dict[str, Any]) -> Diagnostics:
    """``diagnostics`` with these reruns' records (``Diagnostics`` field -> record)."""
    return replace(diagnostics, **records)


def validate_fit(
    data: ScalingData,
    spec: FitSpec | str | ScalingLaw | None = None,
    *,
    thresholds: Thresholds | None = None,
    **fields: Unpack[SpecFields],
) -> tuple[ModelConfig, list[FitWarning]]:
    """Everything :func:`fit` checks before sampling: raises a ``BayescaleError`` naming the field.

    A service calls this on the request path to refuse a fit that cannot run (no MCMC here).
    Takes the spec as :func:`fit` does (its ``settings`` are not checked here).
    """
    spec = as_spec(spec, **fields)
    if spec.pooling == COMPARE_POOLING:
        raise FamilyError(
            f"pooling '{COMPARE_POOLING}' asks family auto to compare each law's hierarchy with "
            "its weakly pooled variant; a named family takes shared, partial or independent",
            field="pooling",
        )
    fam = spec.law()
    data.require(fam.inputs, fam.name)
    config, notes = resolve_config(
        fam,
        len(data.groups),
        pooling=spec.pooling,
        priors=spec.priors,
        likelihood=spec.likelihood,
        n_runs=len(data.runs),
        parametrisation=spec.parametrisation,
    )
    found = check_data(data, config, thresholds or Thresholds())
    return config, found + [FitWarning("pooling", n) for n in notes]


def pointwise_log_likelihood(
    config: ModelConfig, md: ModelData, posterior: Any, rows: slice | None = None
) -> np.ndarray:
    """Log p(y_i | theta_s) with shape (chain, draw, obs), computed in numpy.

    ``rows`` restricts it to those observations (:func:`log_likelihood_chunks` walks them).
    """
    from scipy import stats  # lazy: importing scipy.stats costs about a second

    rows = slice(None) if rows is None else rows
    params = observation_draws(posterior, config.family, md.group_idx[rows])
    x = {name: values[rows] for name, values in md.x.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.log(config.family.curve(np, x, params))
    mu = mu + run_offsets(posterior, None if md.run_idx is None else md.run_idx[rows])
    noise = noise_draws(posterior)
    sigma = noise["sigma"][:, None]
    y = md.log_loss[rows][None, :]
    if config.likelihood == "student_t":
        ll = stats.t.logpdf(y, noise["nu"][:, None], mu, sigma)
    else:
        ll = stats.norm.logpdf(y, mu, sigma)
    return np.asarray(ll).reshape(posterior.sizes["chain"], -1, ll.shape[-1])


# Values (draws x rows) of the pointwise log-likelihood computed at once. Its arrays grow with
# both: at 10^5 rows and 4 x 1,000 draws one is 3.2 GB, and a 10^5-row fit computed in one
# piece was killed at 24 GB (BENCHMARKS.md, "10^5 rows"). 2**24 values are 134 MB an array.
LOGLIK_CHUNK_VALUES = 2**24


def log_likelihood_chunks(
    config: ModelConfig, md: ModelData, posterior: Any, chunk_values: int | None = None
) -> Iterator[np.ndarray]:
    """:func:`pointwise_log_likelihood` in consecutive blocks of rows, each (chain, draw, rows).

    A block holds about ``chunk_values`` (default :data:`LOGLIK_CHUNK_VALUES`) values.
    """
    n_rows = len(md.log_loss)
    n_draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    per_block = LOGLIK_CHUNK_VALUES if chunk_values is None else chunk_values
    step = max(1, per_block // max(n_draws, 1))
    for start in range(0, n_rows, step):
        yield pointwise_log_likelihood(config, md, posterior, slice(start, start + step))
