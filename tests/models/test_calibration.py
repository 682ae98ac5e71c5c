import numpy as np
import pytest

import models
from models.calibration import SBCResult, simulation_based_calibration
from tests.utils import prior_trace, replace_sampler


def test_ranks_are_uniform_when_the_posterior_is_the_prior(monkeypatch):
    """With a 'sampler' that returns prior draws, ranks are uniform by construction: checks the
    rank bookkeeping (units, thinning, noise) without NUTS."""

    def fake(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        return prior_trace(
            config, md, chains=settings.chains, draws=settings.draws, seed=settings.seed + 7
        )

    replace_sampler(monkeypatch, fake)
    result = simulation_based_calibration(
        models.get_family("power_law"),
        simulations=60,
        settings=models.SamplerSettings(draws=100, tune=10, chains=2),
    )
    assert set(result.ranks) == {"E", "A", "alpha", "sigma"}
    for name in result.ranks:
        assert result.ranks[name].min() >= 0 and result.ranks[name].max() <= 99
        assert result.p_values[name] > 0.001, (name, result.histogram(name))
    payload = result.to_dict()
    assert payload["simulations"] == 60 and sum(payload["parameters"]["E"]["histogram"]) == 60


def test_a_biased_fit_is_detected():
    """Ranks piled at one end (a biased posterior) give a tiny p-value."""
    ranks = {"x": np.r_[np.zeros(40, dtype=int), np.full(10, 50)]}
    result = SBCResult("toy", ranks, 99, np.ones(50, bool), np.zeros(50, int))
    assert result.p_values["x"] < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(models.REGISTRY))
def test_sbc_small_budget(family):
    """Real NUTS on 12 prior-drawn datasets per family: no parameter's ranks far from uniform.

    Twelve simulations only catch gross miscalibration (a biased or overconfident posterior);
    BENCHMARKS.md records the rank histograms.
    """
    result = simulation_based_calibration(
        models.get_family(family),
        simulations=12,
        settings=models.SamplerSettings(draws=400, tune=400, chains=2),
        seed=1,
    )
    for name, p in result.p_values.items():
        assert p > 0.001, (name, result.histogram(name))
