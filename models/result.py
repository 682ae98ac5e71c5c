"""The fit result: :class:`Fit`, posterior draws plus everything needed to use them.

Plain data that the modules above it (``checks``, ``io``, ``fitting``, ``backtesting``,
``planning``) read; it depends only on what a posterior needs: the family, the config, the
draws and the prediction numerics of :mod:`models.predict`. Sampling (:func:`models.fit`) and
persistence (:func:`models.save_fit`, :func:`models.load_fit`) are functions above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from models.build import scaled_inputs
from models.config import ModelConfig
from models.data import Scales, ScalingData
from models.diagnostics import Diagnostics
from models.discrepancy import FAR_DECADES, add_shift
from models.families import ScalingLaw
from models.posterior import check_group, flat, group_draws, noise_draws
from models.predict import (
    Prediction,
    check_probs,
    extrapolation,
    interval_tag,
    points_frame,
    predict_draws,
    summarize_draws,
)
from models.runs import new_run_effect
from models.sampling import SamplerSettings


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
    # Model error beyond the data (models.discrepancy); None: predictions without it.
    discrepancy: Any = None
    # family auto: the candidates, weights and leave-future-out scores (models.auto).
    stacking: dict[str, Any] | None = None
    # family auto with several laws kept: the member fits and their weights.
    members: list[Fit] | None = None
    weights: np.ndarray | None = None

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

    @property
    def label(self) -> str:
        """The law's key, marked ``[weak pooling]`` when its population priors are not its own.

        Family ``auto`` may keep one law twice, with its hierarchy and weakly pooled (see
        :func:`models.auto.weakly_pooled_variants`); the mark tells the two apart.
        """
        hyper = self.config.hyper
        own = all(hyper[p.name] == p.default_hyper() for p in self.family.params if p.name in hyper)
        return self.family.key() + ("" if own else " [weak pooling]")

    def summary(self, probs: Sequence[float] = (0.9,)) -> pd.DataFrame:
        """Parameter summaries in natural units (see :func:`summarize`)."""
        return summarize(self, probs)

    def summary_draws(self, name: str) -> np.ndarray:
        """Natural-unit draws of one parameter: (S,) or (S, group)."""
        natural = self.family.to_natural(
            {n: self.draws[n] for n in self.family.param_names},
            self.scales.inputs,
            self.scales.loss,
        )
        return natural[name]

    def natural_draws(self, group: str | None, *, seed: int = 0) -> dict[str, np.ndarray]:
        """Natural-unit draws (S,) of every parameter and derived quantity for one group.

        ``group=None`` (with several groups) or an unseen name gives a new group's draws from the
        population.
        """
        model_units = group_draws(
            self.draws, self.family, self.config.pooling, self.groups, group, seed=seed
        )
        natural = self.family.to_natural(model_units, self.scales.inputs, self.scales.loss)
        return natural | self.family.derived(natural)

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
            Seeds the population, run-effect, discrepancy and observation-noise draws.

        With runs in the data, the new-run interval is that of a *new* run: a fresh run effect
        ``Normal(0, sigma_run)`` plus observation noise; the mean-curve interval has neither.
        Beyond the data both widen by the extrapolation discrepancy (:mod:`models.discrepancy`).
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
        # a new run brings its own run effect (fits of data with runs; models.runs)
        log_new += new_run_effect(self.draws, seed + 3)
        natural = {n: frame[n].to_numpy() for n in self.family.inputs}
        decades = np.zeros(len(frame))
        if self.discrepancy is not None:
            add_shift(self.discrepancy, natural, seed + 2, log_mean, log_new)
            decades = self.discrepancy.decades(natural)
        median, mean, mean_iv, new_iv = summarize_draws(log_mean, log_new, probs)
        ranges = self._observed_ranges(group if seen else None)
        region, distance = extrapolation(natural, ranges)
        far = int((decades > FAR_DECADES).sum())
        warnings = (
            (
                f"{far} point(s) lie more than {FAR_DECADES:g} decades beyond the data (up to "
                f"{decades.max():.1f}): the law is extrapolated far past any evidence",
            )
            if far
            else ()
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
            decades=decades,
            warnings=warnings,
        )

    def _observed_ranges(self, group: str | None) -> dict[str, tuple[float, float]]:
        """Observed log ranges of the group's inputs (all data for None), computed once."""
        if group not in self._ranges:
            mask = None if group is None else np.asarray(self.data.group == group)
            self._ranges[group] = self.data.log_ranges(self.family.inputs, mask=mask)
        return self._ranges[group]


# -- summaries in natural units -----------------------------------------------------------------


def summarize(fit: Fit, probs: Sequence[float] = (0.9,)) -> pd.DataFrame:
    """One row per parameter and group (``group`` is None for shared parameters).

    ``kind`` is ``parameter``, ``population`` (a new group drawn from the population: the
    spread a new architecture should expect; only when no parameter is independent), ``derived``
    or ``noise``.
    """
    probs = check_probs(probs)
    rows: list[dict[str, Any]] = []
    per_group = {g: fit.natural_draws(g) for g in fit.groups}
    shared = {n for n, how in fit.config.pooling.items() if how == "shared"}
    derived_names = [n for n in next(iter(per_group.values())) if n not in fit.family.param_names]
    all_shared = shared == set(fit.family.param_names)
    for name in (*fit.family.param_names, *derived_names):
        if name in fit.family.not_summarised:
            continue
        kind = "parameter" if name in fit.family.param_names else "derived"
        if name in shared or (kind == "derived" and all_shared):
            rows.append(_row(name, None, kind, next(iter(per_group.values()))[name], probs))
            continue
        for g, draws in per_group.items():
            rows.append(_row(name, g, kind, draws[name], probs))
    pooling = set(fit.config.pooling.values())
    # A new group needs every non-shared parameter pooled; with an independent one there is no
    # population to summarise (prediction refuses it too).
    if len(fit.groups) > 1 and "partial" in pooling and "independent" not in pooling:
        population = fit.natural_draws(None)
        for name in population:
            if name not in shared and not (name in derived_names and all_shared):
                rows.append(_row(name, None, "population", population[name], probs))
    for name, noise in noise_draws(fit.draws).items():
        rows.append(_row(name, None, "noise", noise, probs))
    if "sigma_run" in fit.draws:  # scale of the run effect, on log loss like sigma
        rows.append(_row("sigma_run", None, "noise", fit.draws["sigma_run"], probs))
    return pd.DataFrame(rows)


def link_sd(fit: Fit, names: Iterable[str]) -> Mapping[str, np.ndarray]:
    """Posterior sd on the link scale per parameter (population mean for pooled ones)."""
    out = {}
    for name in names:
        spec = fit.family.param(name)
        how = fit.config.pooling[name]
        draws = flat(fit.draws, f"{name}_mu" if how == "partial" else name)
        if how != "partial" and spec.link == "log":
            draws = np.log(draws)
        out[name] = np.atleast_1d(draws.std(axis=0))
    return out


def _row(
    name: str, group: str | None, kind: str, draws: np.ndarray, probs: tuple[float, ...]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "parameter": name,
        "group": group,
        "kind": kind,
        "mean": float(np.mean(draws)),
        "sd": float(np.std(draws)),
        "median": float(np.median(draws)),
    }
    for p in probs:
        lo, hi = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2])
        row[f"lo_{interval_tag(p)}"], row[f"hi_{interval_tag(p)}"] = float(lo), float(hi)
    return row
