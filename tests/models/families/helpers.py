"""Helpers of the family tests: a family as its own class, and the slow tier's recovery check
(real NUTS on simulated data, every true parameter inside its 90 % interval)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import models
from tests.conftest import SLOW

# Smaller than SLOW (4 x 1000): each family's recovery test stays around a minute on 2 cores.
SETTINGS = models.SamplerSettings(draws=500, tune=500, chains=4, seed=SLOW.seed)


def family_of[Law: models.ScalingLaw](cls: type[Law], name: str, **options: Any) -> Law:
    """``get_family(name, **options)``, checked to be a ``cls`` (typed as one for the tests)."""
    family = models.get_family(name, **options)
    assert isinstance(family, cls)
    return family


def assert_recovered(
    data: models.ScalingData,
    family: models.ScalingLaw,
    truth: Mapping[str, float],
    settings: models.SamplerSettings = SETTINGS,
) -> None:
    """Fit ``data`` with ``settings``: converged, and each 90 % interval covers its truth."""
    # the simulators' noise is Normal on log loss: recovery checks the model that matches it
    # (on such data the Student-t default mixed more slowly: BENCHMARKS.md, round 5 status)
    fit = models.fit(data, family, settings=settings, likelihood="normal")
    diagnostics = fit.diagnostics
    assert diagnostics.r_hat_max <= 1.01 and diagnostics.divergences <= 2, diagnostics
    rows = fit.summary((0.9,)).set_index("parameter")
    for name, value in truth.items():
        lo, hi = float(rows.loc[name, "lo_90"]), float(rows.loc[name, "hi_90"])
        assert lo <= value <= hi, (name, lo, hi)
