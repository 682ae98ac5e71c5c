"""Chain initialisation from local optima (models.multistart); no NUTS here."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import models
from models import multistart as ms
from models.build import build_model, prepare
from models.config import resolve_config
from models.diagnostics import Diagnostics
from models.sampling import CompileCache
from models.simulate import simulate


def double_well(x: np.ndarray, wall: float = 5.0) -> tuple[float, np.ndarray]:
    """Log density with a high optimum near x = 1.08 and one 12 nats lower near x = -0.89.

    Undefined (-inf) beyond |x| > wall, as a density outside its support is to the optimiser
    (L-BFGS may stop early when a line search hits it).
    """
    if np.any(np.abs(x) > wall):
        return -np.inf, np.zeros_like(x)
    logp = -8.0 * (x[0] ** 2 - 1.0) ** 2 + 6.0 * x[0] - 0.5 * x[1] ** 2
    grad = np.array([-32.0 * x[0] * (x[0] ** 2 - 1.0) + 6.0, -x[1]])
    return float(logp), grad


@dataclass(frozen=True)
class FakeCompiled:
    initial_point_func: Any


def test_find_optima_merges_repeats_sorts_best_first_and_counts_failures() -> None:
    starts = [np.array(s) for s in ([-1.5, 0.3], [-0.8, -0.2], [1.4, 1.0], [0.7, 0.0], [9.0, 0])]
    optima, failed = ms.find_optima(double_well, starts)
    assert failed == 1  # the start outside the support never reached a finite density
    assert len(optima) == 2
    (high, x_high), (low, x_low) = optima
    assert x_high[0] == pytest.approx(1.08, abs=0.01) and x_low[0] == pytest.approx(-0.89, abs=0.01)
    assert abs(x_high[1]) < 1e-4
    assert high - low == pytest.approx(12.0, abs=0.5)


def test_only_chains_whose_own_start_climbs_to_a_far_lower_optimum_are_moved(monkeypatch) -> None:
    monkeypatch.setattr(ms, "log_density", lambda compiled: lambda x: double_well(x, np.inf))
    prior = lambda seed: np.random.default_rng(seed).uniform(-2, 2, size=2)  # noqa: E731

    def own_start(seed: int) -> np.ndarray:  # nutpie's: odd seeds in the low well's basin
        return np.array([-1.2, 0.3]) if seed % 2 else np.array([0.9, -0.4])

    compiled, report = ms.multistart(FakeCompiled(own_start), prior, seed=3)
    assert report.starts == ms.STARTS and report.failed == 0
    assert len(report.optima) == 2 and report.kept == 1  # the lower well is 12 > 10 nats down
    for chain_seed in (10, 12, 2**63 + 6):
        np.testing.assert_array_equal(compiled.initial_point_func(chain_seed), own_start(0))
    assert report.moved == 0
    for chain_seed in (11, 13, 2**63 + 5):
        start = compiled.initial_point_func(chain_seed)
        assert np.all(np.abs(start - [1.08, 0.0]) <= ms.JITTER + 0.01)
        np.testing.assert_array_equal(start, compiled.initial_point_func(chain_seed))
    assert report.moved == 6  # every call of a trapped chain is counted


def test_comparable_optima_keep_every_chain_where_it_started(monkeypatch) -> None:
    def two_equal_wells(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(-((x[0] ** 2 - 1.0) ** 2)), np.array([-4.0 * x[0] * (x[0] ** 2 - 1.0)])

    monkeypatch.setattr(ms, "log_density", lambda compiled: two_equal_wells)
    prior = lambda seed: np.random.default_rng(seed).uniform(-2, 2, size=1)  # noqa: E731
    own_start = lambda seed: np.array([-0.7 if seed % 2 else 0.7])  # noqa: E731
    compiled, report = ms.multistart(FakeCompiled(own_start), prior, seed=0)
    assert report.kept == 2
    starts = {float(compiled.initial_point_func(s)[0]) for s in range(20)}
    assert starts == {-0.7, 0.7} and report.moved == 0  # R-hat can see both modes


def test_no_finite_optimum_leaves_nutpies_own_start(monkeypatch) -> None:
    monkeypatch.setattr(ms, "log_density", lambda compiled: lambda x: (-np.inf, np.zeros_like(x)))
    original = FakeCompiled(lambda seed: np.zeros(2))
    compiled, report = ms.multistart(original, lambda seed: np.ones(2), seed=0)
    assert compiled is original
    assert report.kept == 0 and report.failed == ms.STARTS and report.optima == ()


def test_log_density_is_the_models_posterior_on_the_swapped_data() -> None:
    """The numba function nutpie samples with, evaluated on the data swapped in last."""
    fam = models.get_family("power_law")
    truth = {"E": 1.5, "A": 40.0, "alpha": 0.3}
    first = simulate(fam, truth, {"params": np.geomspace(1e6, 1e9, 12)}, seed=1)
    second = simulate(fam, truth, {"params": np.geomspace(2e6, 3e9, 12)}, seed=2)
    config, _ = resolve_config(fam, 1)
    cache = CompileCache()
    mds = [prepare(d, fam.inputs, d.default_scales(fam.inputs)) for d in (first, second)]
    cache.get(config, mds[0])
    compiled = cache.get(config, mds[1])
    density = ms.log_density(compiled)
    model = build_model(config, mds[1])
    # one compiled function for both (the gradient graph contains the density's)
    both = model.compile_fn([model.logp(), model.dlogp()])
    names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    shapes = model.initial_point()
    bounds = np.cumsum([0] + [np.size(shapes[n]) for n in names])
    prior = cache.prior(config, mds[1])
    for seed in range(3):
        x = prior(seed)
        assert len(x) == bounds[-1]
        point = {
            n: x[lo:hi].reshape(np.shape(shapes[n]))
            for n, lo, hi in zip(names, bounds[:-1], bounds[1:], strict=True)
        }
        value, grad = density(x)
        logp, dlogp = both(point)
        assert value == pytest.approx(float(logp), rel=1e-9)
        np.testing.assert_allclose(grad, dlogp, rtol=1e-7)
    assert cache.compiles == 1


def test_init_setting_is_checked_and_the_report_round_trips() -> None:
    with pytest.raises(models.SettingsError) as err:
        models.SamplerSettings(init="random")
    assert err.value.field == "init"
    with pytest.raises(models.SettingsError) as err:
        models.SamplerSettings(tune=0)  # nutpie panics on it instead of raising
    assert err.value.field == "tune"
    report = ms.InitReport("multistart", 16, 1, (151.6, 125.4), 1, 0.4, moved=2).to_dict()
    d = Diagnostics(True, 1.0, 500.0, 500.0, 0, 1.0, None, None, None, None, None, 4, 100)
    d = Diagnostics.from_dict({**d.to_dict(), "init": report})
    assert d.init == report
    old = {k: v for k, v in d.to_dict().items() if k != "init"}  # a fit stored before init
    assert Diagnostics.from_dict(old).init is None


def test_a_chain_far_below_the_best_with_no_overlap_is_stuck() -> None:
    rng = np.random.default_rng(0)
    main = 84.0 + 2.0 * rng.standard_normal((3, 400))
    minor = 52.0 + 2.0 * rng.standard_normal((1, 400))
    assert ms.stuck_chains(np.concatenate([main[:1], minor, main[1:]])) == (1,)
    assert ms.stuck_chains(main) == ()
    assert ms.stuck_chains(minor) == ()  # one chain: nothing to compare with


def _ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """A unit-variance AR(1) series: the log density of a chain that moves slowly."""
    x = np.empty(n)
    x[0] = rng.standard_normal()
    for i in range(1, n):
        x[i] = rho * x[i - 1] + np.sqrt(1 - rho**2) * rng.standard_normal()
    return x


def test_a_slowly_mixing_chain_of_the_same_mode_is_not_stuck() -> None:
    """Mean 12 nats down in a wide typical set (sd 15) visited slowly (autocorrelation 0.995):
    the gap is within the chains' Monte Carlo error, so not a minor mode; R-hat speaks for it."""
    rng = np.random.default_rng(1)
    best = 100.0 + 15.0 * _ar1(rng, 1000, 0.995)
    slow = 88.0 + 15.0 * _ar1(rng, 1000, 0.995)
    assert ms.stuck_chains(np.stack([best, slow])) == ()
    assert ms.stuck_chains(np.stack([best, np.full(1000, np.nan)])) == ()
    # the same gap between well-mixed chains is two modes: 12 nats is past KEEP_NATS
    iid = rng.standard_normal((2, 1000))
    assert ms.stuck_chains(np.stack([100.0 + 15.0 * iid[0], 88.0 + 15.0 * iid[1]])) == (1,)


def _chains_in_two_modes(
    rng: np.random.Generator, dim: int, gap: float, minor_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Four chains of a d-dimensional Gaussian posterior's draws: three in the main mode, chain 2
    in a mode ``gap`` nats lower in mean log density, its standard deviations ``minor_scale``
    times the main mode's. Returns (logp, unconstrained) as nutpie stores them."""
    z = rng.standard_normal((4, 1000, dim))
    logp = -0.5 * (z**2).sum(axis=-1)
    logp[2] -= gap
    u = z.copy()
    u[2] = 5.0 + minor_scale * z[2]
    return logp, u


def test_a_chain_in_a_mode_of_far_less_mass_is_stuck_though_the_ranges_overlap() -> None:
    """The gzip benchmark's case (there 9.9 nats): 44 dimensions, a chain 9 nats down
    (typical-set sd ~4.7, so the 5-95 % ranges overlap) in a mode as wide as the main one."""
    rng = np.random.default_rng(2)
    logp, u = _chains_in_two_modes(rng, 44, 9.0, 1.0)
    assert np.quantile(logp[2], 0.95) > np.quantile(logp[0], 0.05)  # the old test missed it
    assert ms.stuck_chains(logp, u) == (2,)
    assert ms.stuck_chains(logp) == ()  # heights alone: not KEEP_NATS down, so left alone


def test_a_lower_but_wider_mode_with_comparable_mass_keeps_its_chain() -> None:
    """Lower by 9 nats in mean log density but 1.22x wider in each of 44 dimensions: volume
    44 * log(1.22) = 8.7 nats, so comparable mass: a real second mode, reported by R-hat."""
    rng = np.random.default_rng(3)
    logp, u = _chains_in_two_modes(rng, 44, 9.0, 1.22)
    assert ms.stuck_chains(logp, u) == ()
    # with too few draws per dimension for a covariance, the height rule applies
    assert ms.stuck_chains(logp[:, :100], u[:, :100]) == ()


def test_chains_in_a_tall_narrow_mode_of_less_mass_are_stuck_beside_a_wide_one() -> None:
    """nanoGPT min-loss's two-break law: three chains in a mode 5 nats above chain 2's but 1.5x
    narrower in each of 44 dimensions (volume 44 * log 1.5 = 17.8 nats): chain 2's mode holds
    ~e^12.8 times their mass, so they are the stuck ones, though they are the tallest."""
    rng = np.random.default_rng(4)
    logp, u = _chains_in_two_modes(rng, 44, 5.0, 1.5)
    assert logp.mean(axis=1).argmax() != 2
    assert ms.stuck_chains(logp, u) == (0, 1, 3)
    # without volumes only the heights count: chain 2 is 5 nats down, under KEEP_NATS
    assert ms.stuck_chains(logp) == ()


def test_a_chain_that_does_not_move_is_restarted_whatever_its_height() -> None:
    """A frozen chain (the one-break law's refit on the standard problem: every trajectory
    stopped after one step, 600 identical draws) has no volume, so the height rule judged the
    others against it when it was the tallest, and it was never restarted itself."""
    rng = np.random.default_rng(5)
    logp, u = _chains_in_two_modes(rng, 4, 0.0, 1.0)
    logp[1], u[1] = logp.max() + 20.0, u[1, 0]  # frozen, and taller than every moving chain
    assert ms.frozen_chains(u) == (1,)
    assert ms.stuck_chains(logp, u) == (0, 2, 3)  # the height rule alone restarts the wrong ones
    assert ms.chains_to_restart(logp, u) == (1,)
    # a chain that kept its draw on a third of its transitions is slow, not frozen
    u[1] = rng.standard_normal(u[1].shape)
    u[1, 1::3] = u[1, 0::3][: len(u[1, 1::3])]
    assert ms.frozen_chains(u) == ()
    # every chain frozen: all of them, with nothing to judge them against
    still = np.repeat(u[:, :1], u.shape[1], axis=1)
    assert ms.chains_to_restart(logp, still) == (0, 1, 2, 3)


def test_optimum_starts_are_the_kept_optima_jittered_by_the_chain_seed() -> None:
    optima = (np.zeros(3), np.full(3, 10.0))
    start = ms.optimum_starts(optima)
    picked = [start(seed) for seed in range(8)]
    assert all(np.abs(p - optima[seed % 2]).max() <= ms.JITTER for seed, p in enumerate(picked))
    np.testing.assert_array_equal(start(5), start(5))
    assert "optima_points" not in ms.InitReport("multistart", 16, 0, (1.0,), 1, 0.1).to_dict()


def test_restart_starts_are_draws_of_the_main_mode_chosen_by_the_chain_seed() -> None:
    draws = np.zeros((3, 50, 2))
    draws[0] = np.arange(100).reshape(50, 2)
    draws[1] = -1.0  # the stuck chain
    draws[2] = 1000 + np.arange(100).reshape(50, 2)
    start = ms.restart_starts(draws, (1,))
    picked = [start(seed) for seed in range(40)]
    assert all((p >= 0).all() for p in picked)
    assert {p[0] >= 1000 for p in picked} == {True, False}  # both good chains serve
    np.testing.assert_array_equal(start(7), start(7))
    start(3)[0] = -5.0  # a start handed out is a copy, not a view into the pool
    assert (start(3) >= 0).all()


def test_a_restart_and_a_chain_still_stuck_are_reported_and_fail_convergence() -> None:
    from models.diagnostics import diagnose
    from tests.utils import minimal_trace

    trace = minimal_trace()
    report = ms.InitReport("multistart", 16, 0, (88.9, 56.7), 1, 0.1)
    report.restarted, report.chain_logp, report.stuck = (1,), (84.2, 51.9), (1,)
    trace.attrs["init"] = report.to_dict()
    d = diagnose(trace, None)
    assert not d.converged and any("minor mode" in r for r in d.reasons), d.reasons
    (warning,) = [w for w in d.warnings if w.code == "chains_restarted"]
    assert "84.2, 51.9" in warning.message
    report.stuck = ()
    trace.attrs["init"] = report.to_dict()
    assert not any("minor mode" in r for r in diagnose(trace, None).reasons)
    # chains that did not move, restarted from the search's optima
    report.restarted, report.frozen, report.from_optima = (0, 1), (0, 1), True
    trace.attrs["init"] = report.to_dict()
    (warning,) = [w for w in diagnose(trace, None).warnings if w.code == "chains_restarted"]
    assert "chain(s) 0, 1 did not move" in warning.message
    assert "from the multi-start search's optima" in warning.message
    assert "minor mode" not in warning.message


# One process: compile a chinchilla model, then hash its log density and gradient at 32 prior
# draws (the values multistart's L-BFGS and NUTS see).
_DENSITY_HASH = """
import hashlib, numpy as np, models
from models import multistart as ms
from models.build import prepare
from models.config import resolve_config
from models.sampling import CompileCache
from models.simulate import simulate
from tests.utils import CHINCHILLA_TRUTH, chinchilla_inputs
fam = models.get_family("chinchilla")
data = simulate(fam, CHINCHILLA_TRUTH, chinchilla_inputs(20), noise=0.02, seed=3)
config, _ = resolve_config(fam, 1)
md = prepare(data, fam.inputs, data.default_scales(fam.inputs))
cache = CompileCache()
compiled = cache.get(config, md)
prior, density = cache.prior(config, md), ms.log_density(compiled)
h = hashlib.sha256()
for seed in range(32):
    value, grad = density(prior(seed))
    h.update(np.float64(value).tobytes() + grad.tobytes())
from models.compile_store import COUNTS
print(sorted(COUNTS.items()), h.hexdigest())
"""


@pytest.mark.slow
def test_density_is_bit_identical_from_a_cold_and_a_warm_compile_cache(tmp_path) -> None:
    """Issue 15 item 13: the multistart optima of one seed came out (151.582, 151.527, 125.427)
    with a warm ~/.pytensor and (151.582, 151.556, 125.427) with a cold one. The gradient of the
    fastmath numba build differed by ~1e-13 between a fresh compile and one linked from the
    cache; L-BFGS stopping on a ridge turned that into another optimum. Two processes share one
    fresh cache directory: the first compiles cold, the second loads what it wrote (PyTensor's
    numba functions, and the C functions in models.compile_store's part of it)."""
    flags = ",".join(
        filter(None, [os.environ.get("PYTENSOR_FLAGS"), f"base_compiledir={tmp_path}"])
    )
    env = {**os.environ, "PYTENSOR_FLAGS": flags}
    root = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DENSITY_HASH],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()[-1]
        for _ in range(2)
    ]
    hashes = [run.split()[-1] for run in runs]
    assert hashes[0] == hashes[1]
    assert any((tmp_path / "numba").iterdir())
    assert runs[0].startswith("[('compiled', 1)]"), runs[0]
    assert runs[1].startswith("[('loaded', 1)]"), runs[1]  # the C functions were not compiled


def test_blas_is_single_threaded_while_any_user_is_inside_and_restored_after() -> None:
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    with ms.single_threaded_blas():
        with ms.single_threaded_blas():  # nested: sampling inside a fit that holds it already
            assert blas_threads() <= {1}
        assert blas_threads() <= {1}  # the outer user is still inside
    assert blas_threads() == before
