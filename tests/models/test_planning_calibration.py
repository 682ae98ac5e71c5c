"""Slow tier: planning answers checked against simulations where the truth is known (real NUTS).

Each simulation draws a Chinchilla truth near the paper's values, simulates a small-scale sweep
(models ≤ 1e9 parameters), fits it, and asks about a budget 100x beyond the largest run.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import stats

import models
from models.simulate import simulate

pytestmark = pytest.mark.slow
SETTINGS = models.SamplerSettings(draws=1000, tune=1000, chains=4, seed=1)
BUDGET = 1e22  # FLOPs; the largest simulated run is ~1.2e20
K = 6.0
N_SIMS = 40


def truth_for(rng: np.random.Generator) -> dict[str, float]:
    return {
        "E": float(rng.uniform(1.6, 2.0)),
        "A": float(rng.uniform(300.0, 600.0)),
        "B": float(rng.uniform(1000.0, 3000.0)),
        "alpha": float(rng.uniform(0.3, 0.4)),
        "beta": float(rng.uniform(0.3, 0.4)),
    }


def sweep(rng: np.random.Generator, n: int = 30) -> dict[str, np.ndarray]:
    params = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    return {"params": params, "data": params * np.exp(rng.uniform(np.log(4), np.log(80), n))}


def true_optimum(truth: dict[str, float], budget: float) -> float:
    """N* of the true law by the closed form (Hoffmann et al. 2022, Approach 3)."""
    a, b = truth["alpha"], truth["beta"]
    g = (a * truth["A"] / (b * truth["B"])) ** (1 / (a + b))
    return float(g * (budget / K) ** (b / (a + b)))


@pytest.fixture(scope="module")
def simulations():
    """N_SIMS (truth, fit, held-out large runs) triples, seeded."""
    family = models.get_family("chinchilla")
    out = []
    for i in range(N_SIMS):
        rng = np.random.default_rng(100 + i)
        truth = truth_for(rng)
        data = simulate(family, truth, sweep(rng), noise=0.03, seed=i)
        fit = models.fit(data, family, settings=SETTINGS)
        # one held-out run per simulation: runs of one fit share its extrapolation error, so
        # several per fit would not be independent draws for a uniformity test
        big = np.exp(rng.uniform(np.log(2e9), np.log(2e10), 1))
        held = simulate(family, truth, {"params": big, "data": 20 * big}, noise=0.03, seed=1000 + i)
        out.append((truth, fit, held))
    return out


def test_true_optimum_inside_the_90_interval_in_most_simulations(simulations):
    """Acceptance: the true N*(C) lies in the 90 % interval in >= 85 % of simulations.

    Every simulation counts, converged or not (a user sees the warning, not a missing answer).
    Measured (seeded, 40 simulations, 4 x 1000 draws, longer runs where they mixed slowly):
    40/40 inside; 37 fits converged (this small-scale design leaves A, B and the exponents
    confounded, so many chains mix slowly), as BENCHMARKS.md reports.
    """
    inside = []
    for truth, fit, _ in simulations:
        b = models.compute_optimal(fit, BUDGET, probs=(0.9,)).budgets[0]
        lo, hi = b.params.intervals[0.9]
        inside.append(lo <= true_optimum(truth, BUDGET) <= hi)
    assert np.mean(inside) >= 0.85, f"{sum(inside)}/{len(inside)} inside"


def test_probability_below_target_is_calibrated_when_truth_follows_the_prior():
    """P(L_new < y) at a held-out extrapolated run is uniform over simulations (PIT).

    With the truth and the noise drawn from the model's own priors this holds exactly for a
    correct model and sampler, so it checks ``probability_below`` (noise, Student-t/Normal
    cdf, population draws) end to end. With truths fixed near Chinchilla's values instead,
    the same statistic leans high (mean 0.61): the default floor prior (median half the best
    loss) pulls E down when the sweep cannot pin it, so 30x extrapolations come out 2-3 %
    optimistic — reported in BENCHMARKS.md.
    """
    from models.calibration import default_design
    from models.config import NOISE_PRIORS
    from models.data import Scales
    from models.simulate import draw_prior

    family = models.get_family("chinchilla")
    design = default_design(family)
    unit = Scales(dict.fromkeys(family.inputs, 1.0), 1.0)
    pit = []
    for i in range(N_SIMS):
        rng = np.random.default_rng(700 + i)
        truth = {k: float(v[0]) for k, v in draw_prior(family, 1, seed=700 + i).items()}
        noise = float(NOISE_PRIORS["sigma"].draw(rng, 1)[0])
        data = simulate(family, truth, design(rng), noise=noise, seed=700 + i)
        fit = models.fit(data, family, settings=SETTINGS.with_(seed=i), scales=unit)
        held = simulate(family, truth, {"params": [30.0], "data": [30.0]}, noise=noise, seed=i)
        point = {"params": 30.0, "data": 30.0}
        pit.append(models.probability_below(fit, [point], float(held.loss[0])).probability[0])
    pit = np.asarray(pit)
    assert stats.kstest(pit, "uniform").pvalue > 0.01, np.sort(pit)
    assert 0.8 <= np.mean(pit <= 0.9) <= 0.98, np.sort(pit)


def test_value_of_information_ranks_runs_and_foresees_the_width_after_them():
    """Value of information checked by refitting with every candidate.

    Design fixed on 2026-12-07 before its first run, on seeds 600-603 (the earlier test's seeds
    500-503 had been looked at while finding the bug below): 5 candidates of equal cost k N D
    (only the N/D split differs); each simulation refits with two runs at every candidate.

    1. Ranking: the law's own 90 % interval at the target (discrepancy left out of the ranking
       and of the measurement: at a 100x budget it dominates the width and every candidate of
       this cost moves the data's edge alike) narrows more after the top-ranked run than after
       the average candidate -- what a random pick of equal cost gives in expectation. Comparing
       with one random candidate per simulation (until 2026-12-07) had too little power: it
       failed on one host and passed on another with the same code.
    2. Magnitude: the expected 90 % width after the run (discrepancy included) is within 15 % of
       the refit's. Reweighting with the discrepancy in the run's likelihood promised 0.26-1.29
       nats where refits gave 1.52-1.61: it "learned" the discrepancy from a run that the refit
       then treats as training data.
    """
    family = models.get_family("chinchilla")
    target = {"params": 7e10, "data": 1.4e12}
    cost = 2e20
    candidates = [
        {"params": float(n), "data": float(cost / (K * n))} for n in np.geomspace(3e8, 3e10, 5)
    ]
    top_over_average, foreseen, realised = [], [], []
    for seed in range(4):
        rng = np.random.default_rng(600 + seed)
        truth = truth_for(rng)
        data = simulate(family, truth, sweep(rng, 20), noise=0.03, seed=seed)
        fit = models.fit(data, family, settings=SETTINGS)
        law = copy.copy(fit)
        law.discrepancy = None
        top = models.suggest(law, candidates, target, seed=seed).ranked[0].inputs
        expected = models.suggest(fit, candidates, target, seed=seed).ranked
        before = width(law, target)
        gains = []
        for chosen in candidates:
            extra = simulate(
                family,
                truth,
                {k: np.array([v, v]) for k, v in chosen.items()},
                noise=0.03,
                seed=10 + seed,
            )
            more = models.ScalingData(
                {k: np.concatenate([data.inputs[k], extra.inputs[k]]) for k in data.inputs},
                np.concatenate([data.loss, extra.loss]),
            )
            refit = models.fit(more, family, settings=SETTINGS)
            refit_law = copy.copy(refit)
            refit_law.discrepancy = None
            gains.append(before - width(refit_law, target))
            if chosen == top:
                top_gain = gains[-1]
            foreseen.append(next(c for c in expected if c.inputs == chosen).expected_width[0.9])
            realised.append(width(refit, target))
        top_over_average.append(top_gain - np.mean(gains))
    assert np.mean(top_over_average) > 0, top_over_average
    assert np.mean(foreseen) == pytest.approx(np.mean(realised), rel=0.15), (foreseen, realised)


def width(fit: models.Fit, point: dict[str, float]) -> float:
    lo, hi = fit.predict([point], probs=(0.9,)).mean_interval[0.9]
    return float(np.log(hi[0]) - np.log(lo[0]))


def test_no_sweep_keeps_a_diverging_low_rank_run(simulations):
    """Low-rank adaptation diverged on 7 of these 40 sweeps (up to 40 transitions, three fits
    in two modes); each such fit is sampled again with the diagonal mass matrix, which
    measured no divergence on any of them (BENCHMARKS.md "Mass matrix")."""
    fallbacks = [f for _, f, _ in simulations if f.diagnostics.init.get("mass_matrix")]
    assert fallbacks, "no low-rank run diverged: the fallback was not exercised"
    assert all(f.diagnostics.init["mass_matrix"]["used"] == "diag" for f in fallbacks)
    assert sum(f.diagnostics.divergences for _, f, _ in simulations) <= 2


def test_small_sweeps_converge_in_their_first_run(simulations):
    """Issue 18: >= 36 of 40 small sweeps converge. In the natural coordinates 15 of 40 first
    runs converged and longer runs brought it to 37; in pivot coordinates (models.pivot, the
    floor-amplitude-exponent ridge on an axis) all 40 first runs converged, none was sampled
    longer (BENCHMARKS.md "Pivot coordinates"). The longer run itself is tested on a posterior
    that needs it (tests/models/test_extension.py)."""
    fits = [f for _, f, _ in simulations]
    assert sum(f.diagnostics.converged for f in fits) >= 38
    assert sum(f.diagnostics.extension is None and f.diagnostics.converged for f in fits) >= 36
