"""Centring benchmark: the forced form, steps per draw and the table (fake sampler, no NUTS)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import models
import models.centring
from benchmarks import centring
from models.simulate import example_dataset
from tests.utils import fake_sampler, replace_sampler


def test_forced_forms_set_every_lambda_and_chosen_is_the_library_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = []

    def sampler(config, md, settings, **kwargs):  # the centring the real sampler would use
        compiled = SimpleNamespace(
            shape_info=(["pooled_raw", "E"], [slice(0, 8), slice(8, 12)], [(2, 4), (4,)]),
            n_dim=8,
        )
        layout = models.centring.Layout.of(compiled)
        block = models.centring.Block("pooled", ("E", "A"))
        seen.append(models.centring.choose(None, layout, [block], None, 0)["A"].tolist())
        return fake_sampler(config, md, settings, **kwargs)

    replace_sampler(monkeypatch, sampler)
    settings = models.SamplerSettings(draws=10, tune=10, chains=2)
    data = example_dataset(0, points_per_group=25)
    choose = models.centring.choose
    with centring.forced("centred"):
        models.fit(data, "chinchilla", settings=settings)
    with centring.forced("non-centred"):
        models.fit(data, "chinchilla", settings=settings)
    with centring.forced("chosen"):
        assert models.centring.choose is choose
    assert models.centring.choose is choose
    assert seen == [[1.0] * 4, [0.0] * 4]


def test_lambda_range_spans_parameters_and_groups() -> None:
    assert centring._lambda_range({"E": [0.2, 0.9], "A": [0.05, 0.5]}) == [0.05, 0.9]
    assert centring._lambda_range(None) is None


def test_steps_per_draw_is_the_mean_over_chains_and_draws() -> None:
    stats = xr.Dataset({"n_steps": (("chain", "draw"), np.array([[3, 7], [15, 31]]))})
    assert centring.steps_per_draw(SimpleNamespace(trace={"sample_stats": stats})) == 14.0


def test_report_has_a_row_per_fit() -> None:
    fit = {
        "rows_per_group": 100, "seed": 1, "form": "centred", "steps_per_draw": 139.0,
        "r_hat_max": 1.004, "ess_bulk_min": 908.0, "divergences": 25, "converged": False,
        "wall_s": 20.0,
    }  # fmt: skip
    chosen = fit | {"form": "chosen", "converged": True, "lambda_range": [0.04, 0.97]}
    text = centring.report({"fits": [fit, fit | {"form": "non-centred"}, chosen]})
    assert "non-centred" in text and "chosen" in text and text.count("139") == 3
    assert "0.04-0.97" in text
