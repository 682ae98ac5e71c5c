"""Centring benchmark: the forced form, steps per draw and the table (fake sampler, no NUTS)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import models
import models.fitting
from benchmarks import centring
from models.simulate import example_dataset
from tests.utils import replace_sampler


def test_forced_form_overrides_the_rows_rule_and_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replace_sampler(monkeypatch)
    settings = models.SamplerSettings(draws=10, tune=10, chains=2)
    data = example_dataset(0, points_per_group=25)  # the rule says non-centred
    rule = models.fitting.centred_for
    with centring.forced("centred"):
        assert models.fit(data, "chinchilla", settings=settings).config.centred
    with centring.forced("non-centred"):
        assert not models.fit(data, "chinchilla", settings=settings).config.centred
    assert models.fitting.centred_for is rule


def test_steps_per_draw_is_the_mean_over_chains_and_draws() -> None:
    stats = xr.Dataset({"n_steps": (("chain", "draw"), np.array([[3, 7], [15, 31]]))})
    assert centring.steps_per_draw(SimpleNamespace(trace={"sample_stats": stats})) == 14.0


def test_report_has_a_row_per_fit() -> None:
    fit = {
        "rows_per_group": 100, "seed": 1, "form": "centred", "steps_per_draw": 139.0,
        "r_hat_max": 1.004, "ess_bulk_min": 908.0, "divergences": 25, "converged": False,
        "wall_s": 20.0,
    }  # fmt: skip
    text = centring.report({"fits": [fit, fit | {"form": "non-centred", "converged": True}]})
    assert "centred" in text and "non-centred" in text and text.count("139") == 2
