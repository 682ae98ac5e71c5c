"""Posterior draws as flat numpy arrays, per group or for a new group from the population.

Everything downstream (prediction, summaries, LOO, planning) works on these arrays, so none of it
touches PyMC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.errors import PredictionError
from models.families import ScalingLaw


def flat(posterior: Any, name: str) -> np.ndarray:
    """Draws of ``name`` with chain and draw stacked first: shape (S,) or (S, group).

    ``posterior`` is an ``xarray.Dataset`` with (chain, draw, ...) variables or a mapping of
    already-flat arrays (:attr:`models.fitting.Fit.draws`), which is returned as is.
    """
    if isinstance(posterior, dict):
        return np.asarray(posterior[name])
    values = np.asarray(posterior[name].values)
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def check_group(groups: list[str], group: str | None, *, new_group: bool = False) -> None:
    """Refuse a group name the fit has not seen unless a new group is asked for (``new_group``).

    An unseen name (a typo, a group the data filter dropped) used to be answered silently for a
    new group from the population; ``None`` (several groups) still asks for that new group.
    """
    if group is None or new_group or group in groups:
        return
    shown = ", ".join(groups[:20]) + (f" and {len(groups) - 20} more" if len(groups) > 20 else "")
    raise PredictionError(
        f"unknown group '{group}' (fitted: {shown}); omit it for a new group drawn from the "
        "population (prediction also takes new_group=true to name one)",
        field="group",
    )


def group_draws(
    posterior: Any,
    family: ScalingLaw,
    pooling: Mapping[str, str],
    groups: list[str],
    group: str | None,
    *,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Model-unit draws (S,) of every parameter for one group.

    ``group=None`` with one fitted group means that group. Otherwise ``None`` or an unseen name
    means a *new* group: partially pooled parameters are drawn from the population
    (``inv_link(mu + sigma z)``, one z per draw), shared ones are used as they are, and independent
    ones make the request impossible.
    """
    if group is None and len(groups) == 1:
        group = groups[0]
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for spec in family.params:
        how = pooling[spec.name]
        if how == "shared":
            out[spec.name] = flat(posterior, spec.name)
        elif group in groups:
            out[spec.name] = flat(posterior, spec.name)[:, groups.index(group)]
        elif how == "independent":
            where = "a new group" if group is None else f"unseen group '{group}'"
            raise PredictionError(
                f"cannot predict for {where}: '{spec.name}' is fitted independently per group, "
                "so there is no population to draw it from (refit with pooling partial)",
                field="group",
            )
        else:
            mu = flat(posterior, f"{spec.name}_mu")
            scale = flat(posterior, f"{spec.name}_sigma")
            out[spec.name] = spec.inverse_link(np, mu + scale * rng.standard_normal(mu.shape))
    return out


def observation_draws(
    posterior: Any, family: ScalingLaw, group_idx: np.ndarray
) -> dict[str, np.ndarray]:
    """Model-unit draws broadcast to observations: (S, 1) for shared, (S, obs) per group."""
    out = {}
    for name in family.param_names:
        values = flat(posterior, name)
        out[name] = values[:, group_idx] if values.ndim == 2 else values[:, None]
    return out


def noise_draws(posterior: Any) -> dict[str, np.ndarray]:
    """``sigma`` (and ``nu`` for Student-t) as (S,) arrays."""
    return {n: flat(posterior, n) for n in ("sigma", "nu") if n in posterior}
