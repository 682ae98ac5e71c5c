"""Posterior draws of one group and inputs in model units, as the planning functions need them.

Planning evaluates the family's ``curve`` in model units (as prediction does), so every natural
input is converted here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.build import scaled_inputs
from models.discrepancy import add_shift
from models.posterior import check_group, group_draws
from models.result import Fit

Array = np.ndarray


def _scaled(fit: Fit, name: str, log_value: Array) -> dict[str, Array]:
    """Model-unit input ``name`` (and its log) from a natural log value."""
    lx = np.asarray(log_value) - np.log(fit.scales.inputs[name])
    return {name: np.exp(lx), f"log_{name}": lx}


def _draws(fit: Fit, group: str | None, seed: int) -> tuple[str | None, bool, dict[str, Array]]:
    """Resolved group, whether it is a new (population) group, and model-unit draws (S,).

    A new group is asked for by ``group=None``; an unseen name is refused (``check_group``).
    """
    check_group(fit.groups, group)
    if group is None and len(fit.groups) == 1:
        group = fit.groups[0]
    params = group_draws(fit.draws, fit.family, fit.config.pooling, fit.groups, group, seed=seed)
    return group, group not in fit.groups, params


def _log_mean(
    fit: Fit, frame: Any, params: Mapping[str, Array], *, discrepancy: bool = True
) -> Array:
    """Natural log loss of the mean curve, (P, S), at the points of ``frame``.

    Includes the fit's extrapolation discrepancy (:mod:`models.discrepancy`): planning answers
    beyond the data are as uncertain as predictions there. Its draws come from the fit's own
    seed: the law's error is the same whichever group or question asks. ``discrepancy=False``:
    the law's own curve.
    """
    inputs = fit.family.inputs
    natural = {n: frame[n].to_numpy() for n in inputs}
    x = scaled_inputs({n: v[:, None] for n, v in natural.items()}, inputs, fit.scales)
    p = {k: v[None, :] for k, v in params.items()}
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = np.log(fit.family.curve(np, x, p)) + np.log(fit.scales.loss)
    if discrepancy and fit.discrepancy is not None:
        add_shift(fit.discrepancy, natural, fit.settings.seed, out)
    return np.asarray(out, dtype=float)
