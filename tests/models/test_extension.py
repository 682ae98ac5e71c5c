"""A fit that mixed too slowly is sampled again with more draws (models.extension)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import models
from models import extension
from models.diagnostics import Diagnostics, Thresholds
from models.errors import FitTimeoutError, SettingsError
from models.lfo import refit_settings
from tests.utils import prior_trace, replace_sampler, tiny_data

SETTINGS = models.SamplerSettings(draws=1000, chains=4)


def diagnostics(**changes: object) -> Diagnostics:
    """A 4-chain fit that missed only on bulk ESS (300 of the 400 asked)."""
    base = Diagnostics(
        converged=False,
        r_hat_max=1.008,
        ess_bulk_min=300.0,
        ess_tail_min=500.0,
        divergences=0,
        bfmi_min=0.9,
        elpd_loo=None,
        elpd_loo_se=None,
        p_loo=None,
        pareto_k_max=None,
        pareto_k_bad=None,
        chains=4,
        draws=1000,
        thresholds=Thresholds(),
        reasons=("min ESS 300 < 400",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_draws_grow_with_the_ess_shortfall() -> None:
    assert extension.longer(diagnostics(), SETTINGS).draws == 2000  # ceil(1.25 * 400 / 300)
    assert extension.longer(diagnostics(ess_bulk_min=150.0), SETTINGS).draws == 4000
    # at most MAX_FACTOR times, and never above max_draws
    assert extension.longer(diagnostics(ess_bulk_min=20.0), SETTINGS.with_(draws=500)).draws == 2000
    assert extension.longer(diagnostics(), SETTINGS.with_(max_draws=1500)).draws == 1500
    # the tail ESS counts too
    assert (
        extension.longer(diagnostics(ess_bulk_min=900.0, ess_tail_min=120.0), SETTINGS).draws
        == 4000
    )


def test_an_r_hat_just_above_the_mark_doubles_the_draws() -> None:
    only_r_hat = diagnostics(r_hat_max=1.02, ess_bulk_min=800.0, reasons=("max R-hat 1.020",))
    assert extension.longer(only_r_hat, SETTINGS).draws == 2000


@pytest.mark.parametrize(
    "changes",
    [
        {"converged": True, "reasons": ()},
        {"divergences": 1},  # biased draws: more of them would not help
        {"init": {"stuck": [2]}},  # a chain in a minor mode
        {"r_hat_max": 1.3},  # chains in different places
        {"bfmi_min": 0.1},
        {"chains": 1},
    ],
)
def test_fits_that_more_draws_would_not_fix_are_left_as_they_are(changes: dict) -> None:
    assert extension.longer(diagnostics(**changes), SETTINGS) is None


def test_max_draws_none_or_not_above_draws_turns_it_off() -> None:
    assert extension.longer(diagnostics(), SETTINGS.with_(max_draws=None)) is None
    assert extension.longer(diagnostics(), SETTINGS.with_(max_draws=1000)) is None


def test_max_draws_is_checked() -> None:
    with pytest.raises(SettingsError) as info:
        models.SamplerSettings(max_draws=5)
    assert info.value.field == "max_draws"
    with pytest.raises(SettingsError):
        models.SamplerSettings(max_draws=2.5)  # type: ignore[arg-type]


def test_leave_future_out_refits_are_never_sampled_longer() -> None:
    assert refit_settings(SETTINGS).max_draws is None


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[models.SamplerSettings, float | None]]:
    """Prior draws for NUTS; each call's settings and time limit, progress 0.5 then 1."""
    calls: list[tuple[models.SamplerSettings, float | None]] = []

    def fake(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        calls.append((settings, time_limit_s))
        if progress:
            progress(0.5)
            progress(1.0)
        return prior_trace(config, md, chains=settings.chains, draws=settings.draws, seed=1)

    replace_sampler(monkeypatch, fake)
    return calls


def test_a_slowly_mixing_fit_keeps_the_longer_runs_draws(runs) -> None:
    # 2 chains x 60 independent prior draws: bulk ESS about 120 of the 200 asked
    seen: list[float] = []
    settings = models.SamplerSettings(draws=60, tune=60, chains=2)
    fit = models.fit(tiny_data(30), "chinchilla", settings=settings, progress=seen.append)
    first, second = (s for s, _ in runs)
    assert first == settings and second.draws in (120, 180, 240)
    assert fit.settings == second and fit.diagnostics.draws == second.draws
    assert fit.draws["E"].shape[0] == 2 * second.draws
    record = fit.diagnostics.extension
    assert record["draws"] == [60, second.draws]
    assert any("ESS" in r for r in record["first_reasons"])
    assert record["first_ess_bulk_min"] < 200 <= fit.diagnostics.ess_bulk_min
    assert "longer_run" in {w.code for w in fit.diagnostics.warnings}
    # the longer run reports its progress as the rest of a longer fit
    share = 120 / (120 + 60 + second.draws)
    assert seen[:2] == [0.5, 1.0]
    assert seen[2:] == pytest.approx([share + (1 - share) * 0.5, 1.0])
    # saved and loaded, the record stays
    assert models.Diagnostics.from_dict(fit.diagnostics.to_dict()).extension == record


def test_the_time_limit_bounds_the_longer_run_and_keeps_the_first(runs, monkeypatch) -> None:
    settings = models.SamplerSettings(draws=60, tune=60, chains=2)
    models.fit(tiny_data(30), "chinchilla", settings=settings, time_limit_s=600.0)
    assert runs[1][1] is not None and runs[1][1] < 600.0

    def timeout_second(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        if settings.draws > 60:
            raise FitTimeoutError("stopped", field="sampler")
        return prior_trace(config, md, chains=settings.chains, draws=settings.draws, seed=1)

    replace_sampler(monkeypatch, timeout_second)
    fit = models.fit(tiny_data(30), "chinchilla", settings=settings, time_limit_s=600.0)
    assert fit.settings == settings and fit.diagnostics.draws == 60
    assert fit.diagnostics.extension["draws"] == [60, 60]
    assert "time limit" in fit.diagnostics.extension["stopped"]
    assert not fit.diagnostics.converged


def test_a_diverging_fit_is_not_sampled_longer(monkeypatch) -> None:
    calls = []

    def diverging(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        calls.append(settings)
        trace = prior_trace(config, md, chains=settings.chains, draws=settings.draws, seed=1)
        stats = trace["sample_stats"].to_dataset()
        stats["diverging"] = stats["diverging"] | (np.arange(settings.draws) == 3)
        trace["sample_stats"] = stats
        return trace

    replace_sampler(monkeypatch, diverging)
    fit = models.fit(
        tiny_data(30), "chinchilla", settings=models.SamplerSettings(draws=60, chains=2)
    )
    assert len(calls) == 1 and fit.diagnostics.extension is None
    assert fit.diagnostics.divergences == 2
