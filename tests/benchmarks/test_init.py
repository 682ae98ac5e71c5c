"""Chain-initialisation benchmark: trapped-chain count, table and checks (no NUTS)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import xarray as xr

from benchmarks import init


def fake_fit(chain_logp: list[float]) -> SimpleNamespace:
    logp = np.repeat(np.asarray(chain_logp)[:, None], 50, axis=1)
    logp = logp + np.random.default_rng(0).normal(0, 1, logp.shape)
    stats = xr.Dataset({"logp": (("chain", "draw"), logp)})
    return SimpleNamespace(trace={"sample_stats": stats})


def record(trapped: int) -> dict:
    return {
        "wall_s": 3.0,
        "trapped_chains": trapped,
        "r_hat_max": 1.01,
        "ess_bulk_min": 500.0,
        "divergences": 0,
        "init": {"optima": [151.6, 125.4], "moved": 2, "seconds": 0.1},
    }


def test_a_chain_is_trapped_only_when_far_below_the_best_chain() -> None:
    assert init.trapped_chains(fake_fit([150.0, 149.0, 124.0, 125.0])) == 2
    assert init.trapped_chains(fake_fit([150.0, 145.0, 142.0, 141.0])) == 0


def test_checks_fail_on_a_trapped_chain_or_changed_draws() -> None:
    good = {
        "fits": [
            {"problem": "sim_scale_time", "jitter": record(2), "multistart": record(0)},
            {"problem": "standard", "same_draws": True},
        ]
    }
    assert all(c.passed for c in init.checks(good, quick=True))
    bad = {
        "fits": [
            {"problem": "sim_scale_time", "jitter": record(2), "multistart": record(1)},
            {"problem": "standard", "same_draws": False},
        ]
    }
    assert [c.passed for c in init.checks(bad, quick=True)] == [False, False]
    assert not any(c.passed for c in init.checks({"fits": []}, quick=True))  # nothing measured


def test_report_has_a_row_per_fit_and_init() -> None:
    fits = [
        {
            "problem": "sim_scale_time",
            "data_seed": 12,
            "seed": 1,
            "same_draws": False,
            "jitter": record(2) | {"init": {"method": "jitter"}},
            "multistart": record(0),
        }
    ]
    text = init.report({"fits": fits})
    assert text.count("sim_scale_time") == 2
    assert "151.6 / 125.4" in text
