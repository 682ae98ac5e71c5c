"""Slow tier: real NUTS on simulated trajectories. The run effect is recovered, and the new-run
interval covers held-out *new runs* at its nominal rate where ignoring the runs does not."""

import numpy as np
import pytest

import models
from models.simulate import simulate_runs

pytestmark = pytest.mark.slow

LAW = models.get_family("power_law", x="steps")
TRUTH = {"E": 2.0, "A": 20.0, "alpha": 0.4}
SIGMA_RUN, NOISE = 0.05, 0.005
SETTINGS = models.SamplerSettings(draws=500, tune=500, chains=4, seed=1)
REPLICATES = range(6)


def runs(checkpoints: int, **options):
    """``n_runs`` runs of LAW at ``checkpoints`` log-spaced steps, each with its own offset."""
    steps = {"steps": np.geomspace(100, 1e5, checkpoints)}
    return simulate_runs(LAW, TRUTH, steps, sigma_run=SIGMA_RUN, noise=NOISE, **options)


def new_run_coverage(fit, new_runs, prob=0.9):
    p = fit.predict({"steps": new_runs.inputs["steps"]}, probs=(prob,), seed=3)
    lo, hi = p.new_run_interval[prob]
    return float(np.mean((new_runs.loss >= lo) & (new_runs.loss <= hi)))


def test_run_effect_recovered_and_new_runs_covered():
    """4 runs x 200 checkpoints of one configuration, each shifted by its own run effect.

    Ignoring the runs (today's model: 800 independent rows) puts the curve through these 4 runs'
    mean with the precision of 800 rows, so new runs fall outside; the run model knows the mean
    of 4 runs is uncertain by sigma_run / 2 and that a new run brings its own effect.
    """
    with_runs, ignoring = [], []
    for rep in REPLICATES:
        data, offsets = runs(checkpoints=200, n_runs=4, seed=rep)
        new_runs, _ = runs(checkpoints=20, n_runs=200, seed=1000 + rep, prefix="new")
        fit = models.fit(data, LAW, settings=SETTINGS)
        d = fit.diagnostics
        assert d.converged, (rep, d.reasons)
        assert d.thinning["rows_before"] == 800 and d.thinning["rows_after"] == 120
        # each run's effect relative to the others (their mean trades off against the curve's
        # level, as any intercept does) is recovered to a fraction of sigma_run
        effect = fit.draws["run_effect"].mean(axis=0)
        np.testing.assert_allclose(effect - effect.mean(), offsets - offsets.mean(), atol=0.005)
        plain = models.fit(models.ScalingData(data.inputs, data.loss), LAW, settings=SETTINGS)
        with_runs.append(new_run_coverage(fit, new_runs))
        ignoring.append(new_run_coverage(plain, new_runs))
    print("new-run 90 % coverage with runs", with_runs, "ignoring runs", ignoring)
    assert 0.80 <= np.mean(with_runs) <= 0.98
    assert np.mean(ignoring) <= np.mean(with_runs) - 0.08
