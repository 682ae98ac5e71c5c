"""Parameter summaries in natural units: per group, for the population, derived and noise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.posterior import flat, group_draws, noise_draws
from models.predict import _check_probs, _tag

if TYPE_CHECKING:
    from models.fit import Fit


def natural_draws(fit: Fit, group: str | None, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Natural-unit draws (S,) of every parameter and derived quantity for one group.

    ``group=None`` (with several groups) or an unseen name gives a new group's draws from the
    population.
    """
    model_units = group_draws(
        fit.draws, fit.family, fit.config.pooling, fit.groups, group, seed=seed
    )
    natural = fit.family.to_natural(model_units, fit.scales.inputs, fit.scales.loss)
    return natural | fit.family.derived(natural)


def summarize(fit: Fit, probs: Sequence[float] = (0.9,)) -> pd.DataFrame:
    """One row per parameter and group (``group`` is None for shared parameters).

    ``kind`` is ``parameter``, ``population`` (a new group drawn from the population: the
    spread a new architecture should expect; only when no parameter is independent), ``derived``
    or ``noise``.
    """
    probs = _check_probs(probs)
    rows: list[dict[str, Any]] = []
    per_group = {g: natural_draws(fit, g) for g in fit.groups}
    shared = {n for n, how in fit.config.pooling.items() if how == "shared"}
    derived_names = [n for n in next(iter(per_group.values())) if n not in fit.family.param_names]
    all_shared = shared == set(fit.family.param_names)
    for name in (*fit.family.param_names, *derived_names):
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
        population = natural_draws(fit, None)
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
        row[f"lo_{_tag(p)}"], row[f"hi_{_tag(p)}"] = float(lo), float(hi)
    return row
