"""Modes of a posterior whose chains do not mix (models.modes); no NUTS here."""

from typing import Any

import numpy as np
import xarray as xr

from models import modes, sampling
from models.build import prepare
from models.config import resolve_config
from models.diagnostics import Diagnostics, diagnose
from models.families import get_family
from models.multistart import InitReport
from models.sampling import SamplerSettings
from models.simulate import simulate
from tests.utils import minimal_trace


def _two_gaussian_modes(
    rng: np.random.Generator, weights: tuple[float, float], scales: tuple[float, float], dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Four chains of a two-component Gaussian mixture's draws: chains 0-2 in the first
    component, chain 3 in the second, 8 units away. Returns (logp, unconstrained) as nutpie
    stores them, logp the mixture's log density (the components do not overlap)."""
    z = rng.standard_normal((4, 2000, dim))
    u = np.empty_like(z)
    logp = np.empty(z.shape[:2])
    for chains, k, centre in (((0, 1, 2), 0, 0.0), ((3,), 1, 8.0)):
        for c in chains:
            u[c] = centre + scales[k] * z[c]
            logp[c] = np.log(weights[k]) - dim * np.log(scales[k]) - 0.5 * (z[c] ** 2).sum(axis=-1)
    return logp, u


def _gaussian_logp(u: np.ndarray) -> np.ndarray:
    return -0.5 * (u**2).sum(axis=-1)


def test_chains_far_apart_in_one_coordinate_are_two_modes_and_slow_chains_one() -> None:
    rng = np.random.default_rng(0)
    u = rng.standard_normal((4, 500, 3))
    logp = _gaussian_logp(u)  # the same height everywhere: location decides
    assert modes.chain_groups(logp, u) == [(0, 1, 2, 3)]
    u[1, :, 2] += 10.0
    assert modes.chain_groups(logp, u) == [(0, 2, 3), (1,)]
    # chains of one mode whose means differ by about one standard deviation (R-hat ~1.5):
    # slow mixing, not separate modes
    slow = rng.standard_normal((4, 500, 3)) + np.array([0.0, 1.0, -0.5, 1.5])[:, None, None]
    assert modes.chain_groups(logp, slow) == [(0, 1, 2, 3)]
    # a chain that bridges two others links them (single linkage)
    bridge = rng.standard_normal((3, 500, 1)) * np.array([1.0, 4.0, 1.0])[:, None, None]
    bridge[2] += 8.0
    bridge[1] += 4.0
    assert modes.chain_groups(logp[:3], bridge) == [(0, 1, 2)]
    # a coordinate that never moved (a fixed value) parts chains only where its values differ
    frozen = np.concatenate([u, np.zeros((4, 500, 1))], axis=-1)
    assert modes.chain_groups(logp, frozen) == [(0, 2, 3), (1,)]
    frozen[3, :, -1] = 1.0
    assert modes.chain_groups(logp, frozen) == [(0, 2), (1,), (3,)]


def test_chains_at_distinct_heights_are_apart_though_no_coordinate_is() -> None:
    """A hundred dimensions, each shifted by 1 standard deviation in chain 2 (never 3), and the
    chain 10 nats lower in mean log density: a mode of its own. The same shift at the same
    height is one mode."""
    rng = np.random.default_rng(5)
    u = rng.standard_normal((3, 1000, 100))
    logp = _gaussian_logp(u)
    u[2] += 1.0
    assert modes.chain_groups(logp, u) == [(0, 1, 2)]
    logp[2] -= 10.0
    assert modes.chain_groups(logp, u) == [(0, 1), (2,)]


def test_weights_are_the_modes_masses_not_their_heights_or_chain_shares() -> None:
    """Mass 0.25 in a mode 1.5x wider per dimension (so far lower in mean log density) that
    holds one chain in four: the weight recovers 0.25 from height and volume together."""
    rng = np.random.default_rng(1)
    logp, u = _two_gaussian_modes(rng, (0.75, 0.25), (1.0, 1.5), dim=3)
    groups, weights, volume = modes.find_modes(logp, u)
    assert groups == [(0, 1, 2), (3,)] and volume
    np.testing.assert_allclose(weights, [0.75, 0.25], atol=0.03)
    # with too few draws per dimension for a covariance the heights alone are compared
    groups, weights, volume = modes.find_modes(logp[:, :10], u[:, :10])
    assert not volume and weights[0] > 0.9


def test_one_mode_or_one_chain_gives_no_report() -> None:
    rng = np.random.default_rng(2)
    u = rng.standard_normal((4, 300, 2))
    logp = -0.5 * (u**2).sum(axis=-1)
    assert modes.find_modes(logp, u) is None
    assert modes.find_modes(logp[:1], u[:1]) is None
    logp[0, 0] = np.nan
    assert modes.find_modes(logp, u) is None


def _posterior(shift: float) -> xr.Dataset:
    """Constrained draws of 4 chains: ``peak`` separates chain 3, ``width[g]`` does not."""
    rng = np.random.default_rng(3)
    peak = 1.0 + 0.1 * rng.standard_normal((4, 400))
    peak[3] += shift
    return xr.Dataset(
        {
            "peak": (("chain", "draw"), peak),
            "width": (("chain", "draw", "group"), rng.standard_normal((4, 400, 2))),
            "pooled_raw": (  # a centring block: its dimension is pooled_param
                ("chain", "draw", "pooled_param"),
                100.0 * np.arange(4)[:, None, None] + rng.standard_normal((4, 400, 1)),
            ),
        },
        coords={"group": ["small", "large"]},
    )


def test_each_mode_is_placed_by_the_parameters_that_separate_the_modes_most() -> None:
    logp = np.zeros((4, 400))
    logp[3] -= 2.0
    found = modes.describe(_posterior(5.0), logp, [(0, 1, 2), (3,)], np.array([0.9, 0.1]))
    first, second = found
    assert first.chains == (0, 1, 2) and second.chains == (3,)
    assert (first.share, second.share) == (0.75, 0.25)
    assert second.mean_logp == -2.0
    assert next(iter(first.where)) == "peak"  # the sampler's pooled_raw is never named
    assert set(first.where) == {"peak", "width[small]", "width[large]"}
    assert abs(first.where["peak"] - 1.0) < 0.05 and abs(second.where["peak"] - 6.0) < 0.05


def test_the_report_reaches_the_diagnostics_as_a_warning_and_round_trips() -> None:
    trace = minimal_trace(chains=4)
    trace.attrs["modes"] = {
        "modes": [
            {"chains": [0, 1, 2], "share": 0.75, "mean_logp": 10.0, "weight": 0.8,
             "where": {"delta2_mu": 1.25}},
            {"chains": [3], "share": 0.25, "mean_logp": 4.0, "weight": 0.2,
             "where": {"delta2_mu": 3.5}},
        ],
        "volume": True,
    }  # fmt: skip
    d = diagnose(trace, None)
    (warning,) = [w for w in d.warnings if w.code == "multimodal"]
    assert "2 separate modes" in warning.message
    assert "chain(s) 3 (share 0.25, weight 0.20: delta2_mu 3.5)" in warning.message
    assert d.modes == trace.attrs["modes"]
    assert Diagnostics.from_dict(d.to_dict()) == d
    assert diagnose(minimal_trace(chains=4), None).modes is None


class _FakeCache:
    def get(self, config: Any, md: Any) -> Any:
        return object()

    def prior(self, config: Any, md: Any) -> Any:
        return None


def test_sampling_stores_the_modes_and_drops_the_unconstrained_draws(monkeypatch) -> None:
    """The sampler's own path: two modes of comparable mass (no restart), found from the
    unconstrained draws nutpie stored for the restart test, which the fit then drops."""
    fam = get_family("power_law")
    data = simulate(fam, {"E": 1.0, "A": 5.0, "alpha": 0.3}, {"params": np.geomspace(1e6, 1e9, 12)},
                    noise=0.01, seed=1)  # fmt: skip
    config, _ = resolve_config(fam, 1)
    md = prepare(data, fam.inputs, data.default_scales(fam.inputs))
    logp, u = _two_gaussian_modes(np.random.default_rng(4), (0.5, 0.5), (1.0, 1.0), dim=2)
    calls = []

    def fake_nuts(compiled, config, settings, progress, time_limit_s, keep_unconstrained):
        calls.append(keep_unconstrained)
        return xr.DataTree.from_dict(
            {
                "posterior": xr.Dataset({"alpha": (("chain", "draw"), u[..., 0])}),
                "sample_stats": xr.Dataset(
                    {
                        "logp": (("chain", "draw"), logp),
                        "unconstrained_draw": (("chain", "draw", "dim"), u),
                        "diverging": (("chain", "draw"), np.zeros(logp.shape, bool)),
                    }
                ),
            }
        )

    monkeypatch.setattr(sampling, "_nuts", fake_nuts)
    monkeypatch.setattr(
        sampling, "multistart",
        lambda compiled, prior, seed: (compiled, InitReport("multistart", 16, 0, (1.0,), 1, 0.0)),
    )  # fmt: skip
    trace = sampling.sample_posterior(
        config, md, SamplerSettings(chains=4, seed=1), cache=_FakeCache()
    )
    assert calls == [True]  # one run: comparable masses, so no chain was restarted
    assert "unconstrained_draw" not in trace["sample_stats"]
    found = trace.attrs["modes"]
    assert [m["chains"] for m in found["modes"]] == [[0, 1, 2], [3]]
    np.testing.assert_allclose([m["weight"] for m in found["modes"]], [0.5, 0.5], atol=0.05)
    assert set(found["modes"][1]["where"]) == {"alpha"}


def test_when_no_chain_moved_the_restart_begins_at_the_search_optima(monkeypatch) -> None:
    """Every chain frozen: no draw of the main mode exists, so the second run's chains start at
    the multi-start search's kept optima (jittered), and the report says so."""
    from dataclasses import dataclass

    from models import multistart

    @dataclass
    class Compiled:
        initial_point_func: Any = None

    class Cache(_FakeCache):
        def get(self, config: Any, md: Any) -> Any:
            return Compiled()

    fam = get_family("power_law")
    data = simulate(fam, {"E": 1.0, "A": 5.0, "alpha": 0.3}, {"params": np.geomspace(1e6, 1e9, 12)},
                    noise=0.01, seed=1)  # fmt: skip
    config, _ = resolve_config(fam, 1)
    md = prepare(data, fam.inputs, data.default_scales(fam.inputs))
    rng = np.random.default_rng(6)
    moving = rng.standard_normal((2, 500, 2))
    frozen = np.repeat(moving[:, :1], 500, axis=1)
    optimum = np.array([3.0, -3.0])
    starts = []

    def fake_nuts(compiled, config, settings, progress, time_limit_s, keep_unconstrained):
        starts.append(compiled.initial_point_func)
        u = frozen if len(starts) == 1 else moving
        return xr.DataTree.from_dict(
            {
                "posterior": xr.Dataset({"alpha": (("chain", "draw"), u[..., 0])}),
                "sample_stats": xr.Dataset(
                    {
                        "logp": (("chain", "draw"), _gaussian_logp(u)),
                        "unconstrained_draw": (("chain", "draw", "dim"), u),
                        "diverging": (("chain", "draw"), np.zeros(u.shape[:2], bool)),
                    }
                ),
            }
        )

    report = InitReport("multistart", 16, 0, (1.0,), 1, 0.0, optima_points=(optimum,))
    monkeypatch.setattr(sampling, "_nuts", fake_nuts)
    monkeypatch.setattr(sampling, "multistart", lambda compiled, prior, seed: (compiled, report))
    trace = sampling.sample_posterior(config, md, SamplerSettings(chains=2, seed=1), cache=Cache())
    assert len(starts) == 2 and starts[0] is None
    assert np.abs(starts[1](7) - optimum).max() <= multistart.JITTER
    init = trace.attrs["init"]
    assert tuple(init["restarted"]) == (0, 1)
    assert tuple(init["frozen"]) == (0, 1) and init["from_optima"] and not init["stuck"]
