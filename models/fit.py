"""``fit``: data in, a :class:`Fit` out, with posterior, diagnostics, summaries and predictions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.build import ModelData, prepare, scaled_inputs
from models.checks import check_data, check_identification
from models.config import ModelConfig, resolve_config
from models.data import Scales, ScalingData
from models.diagnostics import Diagnostics, FitWarning, Thresholds, diagnose
from models.families import ScalingLaw, get_family
from models.posterior import check_group, flat, group_draws, noise_draws, observation_draws
from models.predict import Prediction, extrapolation, points_frame, predict_draws, summarize_draws
from models.sampling import (
    COMPILE_CACHE,
    CompileCache,
    ProgressFn,
    SamplerSettings,
    sample_posterior,
)


@dataclass
class Fit:
    """A fitted scaling law: posterior draws (model units) plus everything needed to use them."""

    family: ScalingLaw
    config: ModelConfig
    scales: Scales
    settings: SamplerSettings
    trace: Any  # xarray DataTree: posterior, sample_stats
    data: ScalingData
    diagnostics: Diagnostics
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    _draws: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _ranges: dict[str | None, dict[str, tuple[float, float]]] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def posterior(self) -> Any:
        """The posterior group as an ``xarray.Dataset``."""
        return self.trace["posterior"].to_dataset()

    @property
    def draws(self) -> dict[str, np.ndarray]:
        """Every posterior variable as a numpy array, chain and draw stacked (cached)."""
        if not self._draws:
            posterior = self.posterior
            self._draws.update({str(n): flat(posterior, str(n)) for n in posterior.data_vars})
        return self._draws

    @property
    def groups(self) -> list[str]:
        """Groups the fit saw, sorted."""
        return self.data.groups

    @property
    def converged(self) -> bool:
        """Shortcut for ``diagnostics.converged``."""
        return self.diagnostics.converged

    def summary(self, probs: Sequence[float] = (0.9,)) -> pd.DataFrame:
        """Parameter summaries in natural units (see :func:`models.summary.summarize`)."""
        from models.summary import summarize

        return summarize(self, probs)

    def summary_draws(self, name: str) -> np.ndarray:
        """Natural-unit draws of one parameter: (S,) or (S, group)."""
        natural = self.family.to_natural(
            {n: self.draws[n] for n in self.family.param_names},
            self.scales.inputs,
            self.scales.loss,
        )
        return natural[name]

    def predict(
        self,
        points: Any,
        *,
        group: str | None = None,
        probs: Sequence[float] = (0.5, 0.9),
        seed: int = 0,
        new_group: bool = False,
    ) -> Prediction:
        """Posterior predictive loss at new points.

        Parameters
        ----------
        points
            Mapping input -> values, a DataFrame, or a list of dicts; needs the family's inputs.
        group
            A fitted group; None (several groups) predicts a *new* group from the population,
            with correspondingly wider intervals (``population=True``). An unseen name is a
            :class:`PredictionError` naming ``group`` unless ``new_group``.
        probs
            Central interval probabilities, e.g. (0.5, 0.9).
        seed
            Seeds the population and observation-noise draws.
        new_group
            Predict an unseen ``group`` name as a new group from the population.
        """
        check_group(self.groups, group, new_group=new_group)
        frame = points_frame(points, self.family.inputs)
        if group is None and len(self.groups) == 1:
            group = self.groups[0]
        seen = group in self.groups
        params = group_draws(
            self.draws, self.family, self.config.pooling, self.groups, group, seed=seed
        )
        x = scaled_inputs(
            {n: frame[n].to_numpy() for n in self.family.inputs}, self.family.inputs, self.scales
        )
        log_mean, log_new = predict_draws(
            self.family.curve, x, params, noise_draws(self.draws), self.scales.loss, seed=seed + 1
        )
        median, mean, mean_iv, new_iv = summarize_draws(log_mean, log_new, probs)
        ranges = self._observed_ranges(group if seen else None)
        region, distance = extrapolation(
            {n: frame[n].to_numpy() for n in self.family.inputs}, ranges
        )
        return Prediction(
            points=frame,
            group=group,
            population=not seen,
            probs=tuple(float(p) for p in probs),
            median=median,
            mean=mean,
            mean_interval=mean_iv,
            new_run_interval=new_iv,
            region=region,
            distance=distance,
        )

    def _observed_ranges(self, group: str | None) -> dict[str, tuple[float, float]]:
        """Observed log ranges of the group's inputs (all data for None), computed once."""
        if group not in self._ranges:
            mask = None if group is None else np.asarray(self.data.group == group)
            self._ranges[group] = self.data.log_ranges(self.family.inputs, mask=mask)
        return self._ranges[group]

    def save(self, path: str | Path) -> Path:
        """Write the fit as a netCDF DataTree (see :mod:`models.io`)."""
        from models.io import save_fit

        return save_fit(self, path)


def fit(
    data: ScalingData,
    family: str | ScalingLaw = "chinchilla",
    *,
    family_options: Mapping[str, str] | None = None,
    pooling: str | Mapping[str, str] | None = None,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "normal",
    settings: SamplerSettings | None = None,
    scales: Scales | None = None,
    thresholds: Thresholds | None = None,
    progress: ProgressFn | None = None,
    cache: CompileCache = COMPILE_CACHE,
    time_limit_s: float | None = None,
) -> Fit:
    """Fit a hierarchical Bayesian scaling law with NUTS (nutpie).

    Parameters
    ----------
    data
        Observations; ``data.group`` defines the hierarchy.
    family
        Registry name (see :func:`models.list_families`) or a family instance.
    family_options
        Options of the family, e.g. ``{"x": "data"}`` for ``power_law``.
    pooling
        ``shared``/``partial``/``independent`` for all parameters, or per parameter.
    priors
        JSON-style overrides, per parameter (see :func:`models.config.resolve_config`).
    likelihood
        ``normal`` or ``student_t`` on log loss.
    settings
        Sampler settings (draws, tune, chains, target_accept, seed).
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
    """
    th = thresholds or Thresholds()
    config, found = validate_fit(
        data,
        family,
        family_options=family_options,
        pooling=pooling,
        priors=priors,
        likelihood=likelihood,
        thresholds=th,
    )
    fam = config.family
    settings = settings or SamplerSettings()
    scales = scales or data.default_scales(fam.inputs)
    md = prepare(data, fam.inputs, scales)
    trace = sample_posterior(
        config, md, settings, progress=progress, cache=cache, time_limit_s=time_limit_s
    )
    posterior = trace["posterior"].to_dataset()
    loglik = pointwise_log_likelihood(config, md, posterior)
    diagnostics = diagnose(trace, loglik, thresholds=th, warnings=found)
    result = Fit(fam, config, scales, settings, trace, data, diagnostics)
    extra = check_identification(result, th)
    result.diagnostics = replace(diagnostics, warnings=(*diagnostics.warnings, *extra))
    return result


def validate_fit(
    data: ScalingData,
    family: str | ScalingLaw,
    *,
    family_options: Mapping[str, str] | None = None,
    pooling: str | Mapping[str, str] | None = None,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "normal",
    thresholds: Thresholds | None = None,
) -> tuple[ModelConfig, list[FitWarning]]:
    """Everything :func:`fit` checks before sampling: raises a ``BayescaleError`` naming the field.

    A service calls this on the request path to refuse a fit that cannot run (no MCMC here).
    """
    fam = family if isinstance(family, ScalingLaw) else get_family(family, **(family_options or {}))
    data.require(fam.inputs, fam.name)
    config, notes = resolve_config(
        fam, len(data.groups), pooling=pooling, priors=priors, likelihood=likelihood
    )
    found = check_data(data, config, thresholds or Thresholds())
    return config, found + [FitWarning("pooling", n) for n in notes]


def pointwise_log_likelihood(config: ModelConfig, md: ModelData, posterior: Any) -> np.ndarray:
    """Log p(y_i | theta_s) with shape (chain, draw, obs), computed in numpy."""
    from scipy import stats

    params = observation_draws(posterior, config.family, md.group_idx)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.log(config.family.curve(np, md.x, params))
    noise = noise_draws(posterior)
    sigma = noise["sigma"][:, None]
    if config.likelihood == "student_t":
        ll = stats.t.logpdf(md.log_loss[None, :], noise["nu"][:, None], mu, sigma)
    else:
        ll = stats.norm.logpdf(md.log_loss[None, :], mu, sigma)
    return np.asarray(ll).reshape(posterior.sizes["chain"], -1, ll.shape[-1])
