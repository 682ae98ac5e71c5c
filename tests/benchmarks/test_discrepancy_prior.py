"""The discrepancy prior's fit across studies: laws counted by their stacking weight."""

from __future__ import annotations

import numpy as np

from benchmarks.discrepancy_prior import fit_prior
from models.discrepancy import TAU_GRID


def _law(tau: float, weight: float) -> dict[str, object]:
    """A law whose leave-future-out rows pin log tau within 0.1."""
    loglik = -0.5 * ((np.log(TAU_GRID) - np.log(tau)) / 0.1) ** 2
    return {"law": "x", "weight": weight, "loglik": loglik.tolist()}


def test_the_population_of_taus_is_recovered():
    rng = np.random.default_rng(0)
    taus = np.exp(rng.normal(np.log(0.02), 1.0, 80))
    tasks = [[_law(float(t), 1.0)] for t in np.clip(taus, 2e-4, 0.5)]
    prior = fit_prior(tasks)
    assert abs(prior["mu"] - np.log(0.02)) < 0.3
    assert 0.75 < prior["sigma"] < 1.3
    assert not prior["at_search_bound"]


def test_a_law_without_weight_says_nothing():
    rng = np.random.default_rng(1)
    taus = np.exp(rng.normal(np.log(0.02), 1.0, 40))
    tasks = [[_law(float(t), 1.0)] for t in taus]
    ignored = [[*laws, _law(0.9, 0.0)] for laws in tasks]
    a, b = fit_prior(ignored), fit_prior(tasks)
    assert (a["mu"], a["sigma"]) == (b["mu"], b["sigma"])
    assert np.isclose(a["log_marginal"], b["log_marginal"])
