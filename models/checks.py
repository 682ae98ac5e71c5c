"""Warnings found before and after sampling: data size, identification, prior dominance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.config import ModelConfig
from models.data import (
    COLUMNS_SHOWN,
    INPUTS,
    ScalingData,
    log_axis,
    quoted_names,
    trend_axis,
    unmarked_checkpoints,
)
from models.defaults import DEFAULT_MAX_PER_RUN
from models.diagnostics import FitWarning, Thresholds
from models.errors import DataError
from models.result import Fit, link_sd


def count_parameters(config: ModelConfig) -> int:
    """Free curve parameters plus noise (pooled ones count one per group)."""
    per_group = sum(1 for how in config.pooling.values() if how != "shared")
    shared = len(config.pooling) - per_group
    return shared + per_group * config.n_groups + len(config.noise)


def check_data(data: ScalingData, config: ModelConfig, thresholds: Thresholds) -> list[FitWarning]:
    """Refuse data with fewer points than curve parameters; warn when the data is thin."""
    n_curve = len(config.family.params)
    if len(data) <= n_curve:
        raise DataError(
            f"{len(data)} observations cannot fit {n_curve} parameters of '{config.family.name}' "
            "plus noise: add points",
            field="loss",
        )
    found = [FitWarning("duplicate_rows", w) for w in data.warnings]
    if data.unused:
        found.append(
            FitWarning(
                "unused_columns",
                f"column(s) {quoted_names(data.unused)} take different values on rows with the "
                "same inputs and group, which the fit reads as repeats of one measurement. If "
                f"loss depends on one, give it as an input ({', '.join(INPUTS)}) or as the group",
            )
        )
    if data.pooled:
        found.append(
            FitWarning(
                "pooled_curves",
                f"column(s) {quoted_names(data.pooled)} split the rows into curves that share "
                "a range of scale and of loss, and the fit reads them as one curve. If loss "
                "differs between them (architectures, datasets, settings), give the column as "
                "the group; if they are checkpoints of training runs, as the run",
            )
        )
    logs = unmarked_checkpoints(data)
    if logs:
        found.append(FitWarning("checkpoints_without_run", checkpoints_message(logs)))
    rising = loss_trend(data)
    if rising is not None and rising[1] >= RISING_RANK_CORRELATION:
        found.append(
            FitWarning(
                "loss_rises",
                f"loss rises with {rising[0]} (rank correlation {rising[1]:+.2f} within groups), "
                "while the laws describe a loss that falls toward a floor as scale grows. If the "
                "column is an accuracy or another score where higher is better, give an error "
                "rate (1 - accuracy) or -log(accuracy) as loss. If loss does rise here (inverse "
                "scaling, a sweep that ends at a double-descent peak), a law fitted to it "
                "extrapolates a fall the data do not show",
            )
        )
    k = count_parameters(config)
    if len(data) < thresholds.points_per_parameter_min * k:
        found.append(
            FitWarning(
                "too_few_points",
                f"{len(data)} points for {k} parameters: expect wide intervals and prior influence",
            )
        )
    counts = dict(zip(*np.unique(data.group.astype(str), return_counts=True), strict=True))
    thin = sorted(g for g, c in counts.items() if c <= n_curve)
    if thin and config.n_groups > 1:
        found.append(
            FitWarning(
                "few_points_in_group",
                f"group(s) {', '.join(thin)} have at most {n_curve} points: their parameters lean "
                "on the population",
            )
        )
    return found


def checkpoints_message(logs: dict[str, int]) -> str:
    """The warning for :func:`models.data.unmarked_checkpoints`' groups."""
    shown = ", ".join(f"'{g}' ({n:,} rows)" for g, n in list(logs.items())[:COLUMNS_SHOWN])
    more = f" and {len(logs) - COLUMNS_SHOWN} more" if len(logs) > COLUMNS_SHOWN else ""
    return (
        f"group(s) {shown}{more} look like training logs: hundreds of checkpoints along one "
        "curve, with no run column, so each row is fitted as an independent run. Checkpoints "
        "of one run share its errors, so the intervals come out too narrow, and every row "
        "costs sampling time. If they are checkpoints, give a column naming each row's run "
        "(one value throughout for a file of one run's log): each run is then thinned to "
        f"{DEFAULT_MAX_PER_RUN} log-spaced checkpoints, and with two runs or more each "
        "shares one effect"
    )


# Loss correlated this strongly with scale, within groups, is more likely a score than a loss.
# The 21 real benchmark tasks measure -0.63 to -1.00; the peaks benchmark's label-noise
# random-feature sweeps, whose loss rises 70-fold toward the interpolation peak and then levels
# off, +0.59 to +0.61; public accuracies uploaded as loss reach it in 6 of 8 LLM benchmarks and
# 23 of 38 OpenCLIP datasets (BENCHMARKS.md, "A loss that rises with scale").
RISING_RANK_CORRELATION = 0.8


def loss_trend(data: ScalingData) -> tuple[str, float] | None:
    """How loss moves with scale: the axis and the rows-weighted Spearman correlation in groups.

    The axis is :func:`models.data.trend_axis`'s. Groups with fewer than 3 distinct scale values
    say nothing; None when no group has them.
    """
    axis = trend_axis(data.varying_inputs)
    if axis is None:
        return None
    scale = pd.Series(log_axis(data.inputs, axis))
    loss = pd.Series(data.loss)
    total, weight = 0.0, 0
    index = data.group_index
    for g in range(len(data.groups)):
        rows = np.flatnonzero(index == g)
        x, y = scale.iloc[rows], loss.iloc[rows]
        if x.nunique() < 3 or y.nunique() < 2:
            continue
        rho = float(np.corrcoef(x.rank(), y.rank())[0, 1])
        total, weight = total + rho * len(rows), weight + len(rows)
    return (axis, total / weight) if weight else None


def check_identification(fit: Fit, thresholds: Thresholds) -> list[FitWarning]:
    """Exponents with a wide posterior; parameters whose posterior is barely narrower than prior."""
    found = []
    rng = np.random.default_rng(0)
    sds = link_sd(fit, fit.family.param_names)
    for spec in fit.family.params:
        how = fit.config.pooling[spec.name]
        prior = fit.config.hyper[spec.name].mu if how == "partial" else fit.config.priors[spec.name]
        draws = prior.draw(rng, 4000)
        if how != "partial" and spec.link == "log":
            draws = np.log(draws)
        ratio = float(np.max(sds[spec.name]) / max(float(np.std(draws)), 1e-12))
        if ratio > thresholds.prior_dominates_ratio:
            found.append(
                FitWarning(
                    "prior_dominates",
                    f"'{spec.name}': posterior sd is {ratio:.0%} of the prior's; the data says "
                    "little about it and the prior sets its interval",
                    spec.name,
                )
            )
        if spec.unit.kind == "dimensionless" and spec.link == "log":
            natural = fit.summary_draws(spec.name)
            cv = float(np.max(np.std(natural, axis=0) / np.median(natural, axis=0)))
            if cv > thresholds.exponent_cv_max:
                found.append(
                    FitWarning(
                        "weakly_identified",
                        f"exponent '{spec.name}' is weakly identified (sd/median {cv:.2f}): "
                        "extrapolations along its input are uncertain",
                        spec.name,
                    )
                )
    return found
