"""scale_time: L = F(t (N/N0)^kappa), a mode-group learning curve (Boopathy & Fiete 2024).

Fast tier: numpy values, limits, the tau collapse, double descent, options, units, and the
posterior functionals peak_size / iso_loss against brute force. Slow tier: recovery from the
family's own simulator and from the gradient-flow experiment (data no formula generated).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import models
from models import FamilyError, Scales, ScalingData, get_family
from models.build import scaled_inputs
from models.families.scale_time import ScaleTime, iso_loss, peak_size, tau_peak
from models.simulate import simulate
from tests.experiments import gradient_flow
from tests.models.families.helpers import family_of
from tests.utils import SCALE_TIME_TRUTH as TRUTH
from tests.utils import fake_fit

CAPACITY = {"A_P": 3.0, "a_P": 0.3}
# Recovery and experiment fits: one group, two chains (the slow tier's time budget). The
# posterior has a minor "dead mode" basin (the fast group parked on the slow decay, the slow one
# beyond the data; sigma ~4x larger) that about one chain in eight falls into from nutpie's
# jittered start; seed 2 starts both chains in the main mode.
FIT_SETTINGS = models.SamplerSettings(draws=500, tune=500, chains=2, seed=2)


def at(**inputs: np.ndarray | list[float] | float) -> dict[str, np.ndarray]:
    """Natural inputs (unit scales) as the curve sees them."""
    values = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in inputs.items()}
    return scaled_inputs(values, tuple(values), Scales(dict.fromkeys(values, 1.0), 1.0))


def brute_first_max(values: np.ndarray) -> int:
    """Index of the first interior local maximum of a sampled curve (-1 if none)."""
    d = np.diff(values)
    peaks = np.nonzero((d[:-1] > 0) & (d[1:] < 0))[0]
    return int(peaks[0]) + 1 if len(peaks) else -1


@pytest.fixture
def family() -> ScaleTime:
    return family_of(ScaleTime, "scale_time")


# -- metadata and options -----------------------------------------------------------------------


def test_default_inputs_and_parameters(family: ScaleTime) -> None:
    """Two mode groups, no capacity floor, size and time only."""
    assert family.inputs == ("params", "steps")
    assert family.key() == "scale_time(capacity=none,modes=2,noise=constant)"
    assert family.param_names == ("E", "kappa", "l1", "dlog_l2", "S1", "S2", "V1", "V2")


@pytest.mark.parametrize(
    ("options", "inputs", "extra"),
    [
        ({"modes": "1"}, ("params", "steps"), ()),
        ({"modes": "3"}, ("params", "steps"), ("dlog_l3", "S3", "V3")),
        ({"capacity": "power"}, ("params", "steps"), ("A_P", "a_P")),
        ({"noise": "label_noise"}, ("params", "steps", "label_noise"), ()),
        ({"noise": "data"}, ("params", "steps", "data"), ()),
        ({"noise": "label_noise_per_data"}, ("params", "steps", "data", "label_noise"), ()),
    ],
)
def test_options_set_inputs_and_parameters(
    options: dict[str, str], inputs: tuple[str, ...], extra: tuple[str, ...]
) -> None:
    fam = get_family("scale_time", **options)
    assert fam.inputs == inputs
    assert set(extra) <= set(fam.param_names)
    if options.get("modes") == "1":
        assert fam.param_names == ("E", "kappa", "l1", "S1", "V1")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"modes": "4"}, "family_options.modes"),
        ({"modes": 2}, "family_options.modes"),
        ({"noise": "labels"}, "family_options.noise"),
        ({"capacity": "yes"}, "family_options.capacity"),
        ({"kappa": "1"}, "family_options"),
    ],
)
def test_invalid_options_name_the_field(options: dict[str, str], field: str) -> None:
    with pytest.raises(FamilyError) as info:
        get_family("scale_time", **options)
    assert info.value.field == field


def test_kappa_prior_is_the_truncated_cube_root_prior(family: ScaleTime) -> None:
    """Normal(1/3, 0.15) truncated to (0, 1.5), identity link, explicit population prior."""
    spec = family.param("kappa")
    assert spec.prior.dist == "TruncatedNormal"
    assert spec.prior.kwargs == {"mu": 1 / 3, "sigma": 0.15, "lower": 0.0, "upper": 1.5}
    assert spec.link == "identity"
    hyper = spec.default_hyper()
    assert hyper.mu.dist == "Normal" and hyper.mu.kwargs["mu"] == pytest.approx(1 / 3)


def test_describe_units(family: ScaleTime) -> None:
    units = {p["name"]: p["unit"] for p in family.describe()["parameters"]}
    assert units["l1"] == "1/(steps x params^kappa)"
    assert units["kappa"] == units["dlog_l2"] == "dimensionless"
    assert units["S1"] == units["V2"] == units["E"] == "loss units"
    data = get_family("scale_time", noise="data").describe()["parameters"]
    assert {p["name"]: p["unit"] for p in data}["V1"] == "loss units x data"


# -- the curve ----------------------------------------------------------------------------------


def test_curve_matches_hand_computed_point(family: ScaleTime) -> None:
    """kappa 0.5, N 4, t 2: tau 4; l1 0.5, l2 0.125."""
    p = {"E": 0.1, "kappa": 0.5, "l1": 0.5, "dlog_l2": math.log(4.0)}
    p |= {"S1": 1.0, "S2": 2.0, "V1": 0.3, "V2": 0.2}
    expected = (
        0.1
        + 1.0 * math.exp(-4.0)
        + 0.3 * (1 - math.exp(-2.0)) ** 2
        + 2.0 * math.exp(-1.0)
        + 0.2 * (1 - math.exp(-0.5)) ** 2
    )
    assert expected == pytest.approx(1.1093317, abs=1e-6)  # sanity check of the hand value
    np.testing.assert_allclose(family.curve(np, at(params=4.0, steps=2.0), p), [expected])


def test_capacity_floor_adds_a_power_of_size() -> None:
    fam = get_family("scale_time", capacity="power")
    base = get_family("scale_time")
    x = at(params=[1e6, 1e8], steps=[10.0, 1e3])
    diff = fam.curve(np, x, TRUTH | CAPACITY) - base.curve(np, x, TRUTH)
    np.testing.assert_allclose(diff, 3.0 * np.array([1e6, 1e8]) ** -0.3, rtol=1e-12)


def test_limits_untrained_and_converged(family: ScaleTime) -> None:
    """t -> 0 gives E + sum S (nothing learned); t -> inf gives E + sum V (noise fitted)."""
    start = family.curve(np, at(params=1e7, steps=1e-12), TRUTH)
    end = family.curve(np, at(params=1e7, steps=1e12), TRUTH)
    np.testing.assert_allclose(start, [0.5 + 1.0 + 1.5], rtol=1e-9)
    np.testing.assert_allclose(end, [0.5 + 0.8 + 0.2], rtol=1e-12)


@pytest.mark.parametrize(
    ("noise", "extra"),
    [
        ("label_noise", {"label_noise": 0.25}),
        ("data", {"data": 1e4}),
        ("label_noise_per_data", {"label_noise": 0.25, "data": 1e4}),
    ],
)
def test_noise_term_scales_with_label_noise_and_data(noise: str, extra: dict[str, float]) -> None:
    """Converged loss: E + sum V g, with g = label_noise, 1/D or label_noise/D."""
    fam = get_family("scale_time", noise=noise)
    g = extra.get("label_noise", 1.0) / extra.get("data", 1.0)
    end = fam.curve(np, at(params=1e7, steps=1e12, **extra), TRUTH)
    np.testing.assert_allclose(end, [0.5 + (0.8 + 0.2) * g], rtol=1e-12)
    clean = fam.curve(np, at(params=1e7, steps=1e12, **(extra | {"label_noise": 0.0})), TRUTH)
    if "label_noise" in extra:
        np.testing.assert_allclose(clean, [0.5], rtol=1e-12)


@pytest.mark.parametrize("k", [2.0, 8.0, 1e3, 0.01])
def test_tau_collapse_is_exact(family: ScaleTime, k: float) -> None:
    """L(k N, t) = L(N, k^kappa t): a k-fold larger model equals training k^kappa times longer."""
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e5), np.log(1e9), 30))
    t = np.exp(rng.uniform(0, np.log(1e5), 30))
    big = family.curve(np, at(params=k * n, steps=t), TRUTH)
    longer = family.curve(np, at(params=n, steps=k ** TRUTH["kappa"] * t), TRUTH)
    np.testing.assert_allclose(big, longer, rtol=1e-12)


def test_epoch_wise_and_model_wise_double_descent_are_one_curve(family: ScaleTime) -> None:
    """Along t at fixed N and along N at fixed t: fall, rise, fall, on the same F(tau)."""
    t = np.geomspace(1e-2, 1e7, 400)
    by_time = family.curve(np, at(params=np.full(400, 1e6), steps=t), TRUTH)
    n = np.geomspace(1e-5, 1e20, 400)
    by_size = family.curve(np, at(params=n, steps=np.full(400, 10.0)), TRUTH)
    for curve in (by_time, by_size):
        sign = np.sign(np.diff(curve))
        changes = sign[np.nonzero(sign)]
        runs = changes[np.r_[True, changes[1:] != changes[:-1]]]
        # then the slow group's own late noise fitting: a last, shallow rise to E + V1 + V2
        assert list(runs) == [-1, 1, -1, 1], runs
    # the same peak: tau = t N^kappa, so both axes pass through the same tau*
    peak_t, peak_n = by_time[brute_first_max(by_time)], by_size[brute_first_max(by_size)]
    assert peak_t == pytest.approx(peak_n, rel=1e-3)


def test_to_natural_consistency_with_non_unit_scales() -> None:
    """Natural parameters at natural inputs give loss_scale x the model-unit curve."""
    for options in ({}, {"capacity": "power"}, {"noise": "label_noise_per_data", "modes": "3"}):
        fam = get_family("scale_time", **options)
        rng = np.random.default_rng(2)
        p = {s.name: s.prior.draw(rng, 1)[0] for s in fam.params}
        scales = {"params": 3e8, "steps": 5e3, "data": 2e6, "label_noise": 0.5}
        scales = {k: v for k, v in scales.items() if k in fam.inputs}
        loss_scale = 2.3
        natural = fam.to_natural(p, scales, loss_scale)
        values = {
            "params": np.geomspace(1e7, 1e10, 12),
            "steps": np.geomspace(10, 1e5, 12),
            "data": np.geomspace(1e5, 1e8, 12),
            "label_noise": np.linspace(0.0, 0.4, 12),
        }
        values = {k: v for k, v in values.items() if k in fam.inputs}
        model = fam.curve(np, scaled_inputs(values, fam.inputs, Scales(scales, 1.0)), p)
        nat = fam.curve(
            np, scaled_inputs(values, fam.inputs, Scales(dict.fromkeys(scales, 1.0), 1.0)), natural
        )
        np.testing.assert_allclose(nat, loss_scale * model, rtol=1e-10)
        assert natural["kappa"] == p["kappa"]
        np.testing.assert_allclose(natural["l1"], p["l1"] / (5e3 * 3e8 ** p["kappa"]), rtol=1e-14)


def test_derived_rates_and_peak(family: ScaleTime) -> None:
    natural = {k: np.array([v, v]) for k, v in TRUTH.items()}
    derived = family.derived(natural)
    np.testing.assert_allclose(derived["l2"], 1e-4 / 300.0, rtol=1e-12)
    np.testing.assert_allclose(derived["size_per_time"], 2.5, rtol=1e-12)
    # tau_peak is where F'(tau) = 0 on the rising branch: check against a dense grid
    tau = np.geomspace(1.0, 1e7, 200_001)
    f = family.curve(np, {"log_steps": np.log(tau), "log_params": np.zeros_like(tau)}, TRUTH)
    np.testing.assert_allclose(derived["tau_peak"], tau[brute_first_max(f)], rtol=1e-3)
    assert "tau_peak" not in get_family("scale_time", noise="data").derived(natural)


# -- posterior functionals ----------------------------------------------------------------------


def draws_around(truth: dict[str, float], n: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {k: v * np.exp(0.1 * rng.standard_normal(n)) for k, v in truth.items()}
    out["dlog_l2"] = np.full(n, truth["dlog_l2"])  # keep the groups well separated
    return out


@pytest.mark.parametrize("capacity", [False, True])
def test_peak_size_matches_brute_force(capacity: bool) -> None:
    truth = TRUTH | CAPACITY if capacity else TRUTH
    fam = family_of(ScaleTime, "scale_time", capacity="power" if capacity else "none")
    draws = draws_around(truth)
    t = 50.0
    got = peak_size(draws, t)
    n = np.geomspace(1e-2, 1e18, 100_001)
    for s in range(len(got)):
        curve = fam.curve(
            np, at(params=n, steps=np.full(n.size, t)), {k: v[s] for k, v in draws.items()}
        )
        peak = brute_first_max(curve)
        assert peak > 0
        np.testing.assert_allclose(got[s], n[peak], rtol=2e-3)


def test_peak_size_moves_as_t_to_the_minus_one_over_kappa() -> None:
    """P*(t) = (tau*/t)^(1/kappa): ten times longer training, peak 10^(1/kappa) smaller."""
    draws = draws_around(TRUTH)
    got = peak_size(draws, np.array([10.0, 100.0, 1000.0]))
    assert got.shape == (6, 3)
    np.testing.assert_allclose(got[:, 0] / got[:, 1], 10 ** (1 / draws["kappa"]), rtol=1e-8)
    np.testing.assert_allclose(
        got[:, 1], (tau_peak(draws) / 100.0) ** (1 / draws["kappa"]), rtol=1e-8
    )


def test_peak_size_is_nan_without_double_descent() -> None:
    """No noise fitting: F only falls, there is no peak."""
    draws = draws_around(TRUTH | {"V1": 1e-9, "V2": 1e-9})
    assert np.isnan(peak_size(draws, 10.0)).all()


def test_peak_size_needs_the_inputs_the_noise_term_scales_with() -> None:
    fam = family_of(ScaleTime, "scale_time", noise="data")
    with pytest.raises(FamilyError) as info:
        peak_size(draws_around(TRUTH), 10.0, family=fam)
    assert info.value.field == "data"
    # V/D with D = 1 is the constant-noise curve
    same = peak_size(draws_around(TRUTH), 10.0, family=fam, data=1.0)
    np.testing.assert_allclose(same, peak_size(draws_around(TRUTH), 10.0), rtol=1e-12)


@pytest.mark.parametrize("capacity", [False, True])
def test_iso_loss_matches_brute_force(capacity: bool) -> None:
    truth = TRUTH | CAPACITY if capacity else TRUTH
    fam = get_family("scale_time", capacity="power" if capacity else "none")
    draws = draws_around(truth, n=4)
    sizes = np.array([1e6, 1e7, 1e8])
    target = 1.6 + (0.1 if capacity else 0.0)
    got = iso_loss(draws, target, sizes)
    assert got.shape == (4, 3)
    t = np.geomspace(1e-3, 1e9, 200_001)
    for s in range(4):
        p = {k: v[s] for k, v in draws.items()}
        for j, n in enumerate(sizes):
            curve = fam.curve(np, at(params=np.full(t.size, n), steps=t), p)
            first = int(np.argmax(curve <= target))
            assert curve[first] <= target
            np.testing.assert_allclose(got[s, j], t[first], rtol=2e-4)


def test_iso_loss_trades_time_for_size_at_rate_kappa() -> None:
    """Without the capacity floor t N^kappa is constant along an iso-loss curve."""
    draws = draws_around(TRUTH)
    sizes = np.geomspace(1e5, 1e9, 5)
    t = iso_loss(draws, 1.8, sizes)
    assert np.isfinite(t).all()
    budget = t * sizes ** draws["kappa"][:, None]
    np.testing.assert_allclose(budget, budget[:, :1] * np.ones((1, 5)), rtol=1e-9)


def test_iso_loss_edge_cases() -> None:
    draws = draws_around(TRUTH, n=3)
    assert np.isnan(iso_loss(draws, 0.4, 1e7)).all()  # below the floor E
    np.testing.assert_array_equal(iso_loss(draws, 100.0, 1e7), 0.0)  # already there at t = 0
    # between the dip after the fast group and the final level: reached once, on the way down
    assert np.isfinite(iso_loss(draws, 1.6, 1e7)).all()


def test_functionals_accept_a_fit() -> None:
    """A Fit's natural-unit draws give the same answer as the truth, up to jitter."""
    rng = np.random.default_rng(0)
    inputs = {
        "params": np.exp(rng.uniform(np.log(1e6), np.log(1e8), 40)),
        "steps": np.exp(rng.uniform(0, np.log(1e5), 40)),
    }
    fit = fake_fit("scale_time", TRUTH, inputs=inputs, spread=0.01)
    expected = peak_size({k: np.array([v]) for k, v in TRUTH.items()}, 100.0)
    got = peak_size(fit, 100.0)
    assert got.shape == (400,)
    assert np.median(got) == pytest.approx(expected[0], rel=0.1)
    times = iso_loss(fit, 1.8, [1e6, 1e8])
    assert times.shape == (400, 2)
    assert np.isfinite(times).all()
    with pytest.raises(FamilyError):
        peak_size(fake_fit(), 100.0)


# -- the gradient-flow experiment ---------------------------------------------------------------


def test_experiment_is_seeded_fast_and_shaped() -> None:
    start = time.perf_counter()
    data = gradient_flow.run(seed=3)
    assert time.perf_counter() - start < 5.0
    again = gradient_flow.run(seed=3)
    np.testing.assert_array_equal(data.loss, again.loss)
    n_sizes, n_steps = len(gradient_flow.DEFAULT_P), len(gradient_flow.DEFAULT_STEPS)
    assert len(data) == n_sizes * n_steps
    assert set(data.inputs) == {"params", "steps"}
    np.testing.assert_allclose(
        np.unique(data.inputs["params"]), np.array(gradient_flow.DEFAULT_P, dtype=float) ** 3
    )
    assert gradient_flow.true_kappa() == pytest.approx(1 / 3)
    extra = gradient_flow.run(n_train=[60, 120], label_noise=[0.0, 0.3], extra_inputs=True)
    assert set(extra.inputs) == {"params", "steps", "data", "label_noise"}
    assert len(extra) == 4 * n_sizes * n_steps


def test_experiment_obeys_scale_time_equivalence_approximately() -> None:
    """Doubling p equals doubling t, up to the random subspace's O(sqrt(d/p)) fluctuations."""
    steps = 2.0 ** np.arange(-4, 12)
    data = gradient_flow.run(sizes=(4000, 8000), steps=steps, seed=1)
    small, large = data.loss[:16], data.loss[16:]
    np.testing.assert_allclose(large[:-1], small[1:], rtol=0.05)
    # it is not exact: the data was trained, not generated by a formula
    assert not np.allclose(large[:-1], small[1:], rtol=1e-6)


def test_experiment_shows_double_descent_and_label_noise_drives_it() -> None:
    steps = np.geomspace(0.02, 2000, 40)
    noisy = gradient_flow.run(sizes=(2000,), steps=steps, label_noise=0.2).loss
    clean = gradient_flow.run(sizes=(2000,), steps=steps, label_noise=0.0).loss
    dips = np.nonzero((np.diff(noisy)[:-1] < 0) & (np.diff(noisy)[1:] > 0))[0]
    assert len(dips) >= 1 and noisy.max() > noisy[dips[0] + 1] * 1.1
    assert clean[-1] < noisy[-1]  # converged: noise fitted only with label noise


# -- slow: NUTS ---------------------------------------------------------------------------------


def interval(fit: models.Fit, name: str) -> tuple[float, float]:
    rows = fit.summary((0.9,))
    row = rows[(rows.parameter == name) & rows.group.isna()]
    assert len(row) == 1, name
    return float(row["lo_90"].iloc[0]), float(row["hi_90"].iloc[0])


@pytest.mark.slow
def test_scale_time_recovers_simulated_truth() -> None:
    fam = get_family("scale_time")
    n, t = np.meshgrid(np.geomspace(1e6, 1e8, 5), np.geomspace(1.0, 1e5, 14), indexing="ij")
    data = simulate(fam, TRUTH, {"params": n.ravel(), "steps": t.ravel()}, noise=0.01, seed=4)
    fit = models.fit(data, "scale_time", settings=FIT_SETTINGS, likelihood="normal")
    assert fit.diagnostics.r_hat_max <= 1.02 and fit.diagnostics.divergences <= 2, fit.diagnostics
    missed = []
    for name, value in TRUTH.items():
        lo, hi = interval(fit, name)
        if not lo <= value <= hi:
            missed.append((name, value, lo, hi))
    assert not missed, missed


@pytest.mark.slow
def test_scale_time_on_gradient_flow_experiment_recovers_kappa_and_forecasts() -> None:
    """Fit all but the largest model, recover kappa and predict the largest model's curve."""
    data = gradient_flow.run()
    largest = data.inputs["params"] == data.inputs["params"].max()
    train = ScalingData({k: v[~largest] for k, v in data.inputs.items()}, data.loss[~largest])
    # Four standard-length chains: with 2 x 500 draws the slow group's noise V2 (a long tail in
    # log space) measured R-hat 1.018 here and 1.028 on another CPU for the same seed.
    settings = models.SamplerSettings(draws=1000, tune=1000, chains=4, seed=2)
    fit = models.fit(train, "scale_time", settings=settings, likelihood="normal")
    assert fit.diagnostics.r_hat_max <= 1.02 and fit.diagnostics.divergences <= 2, fit.diagnostics
    lo, hi = interval(fit, "kappa")
    assert lo <= gradient_flow.true_kappa() <= hi, (lo, hi)
    points = {k: v[largest] for k, v in data.inputs.items()}
    pred = fit.predict(points, probs=(0.9,))
    assert set(pred.region) == {"extrapolation"}
    new_lo, new_hi = pred.new_run_interval[0.9]
    observed = data.loss[largest]
    coverage = np.mean((observed >= new_lo) & (observed <= new_hi))
    assert coverage >= 0.8, coverage


@pytest.mark.slow
def test_no_chain_ends_in_the_minor_mode_its_warm_up_wandered_into() -> None:
    """Gradient-flow experiment, seed 4: chains 1 and 3 of 4 (1 of 2 with two chains) left the
    main optimum during warm-up for one 32 nats down (R-hat 1.83); they are sampled again from
    the main mode's draws. Which chains drift depends on the CPU's rounding, so the test holds
    the outcome: every chain's mean log density within KEEP_NATS of the best, R-hat fine."""
    from models.multistart import KEEP_NATS

    data = gradient_flow.run()
    largest = data.inputs["params"] == data.inputs["params"].max()
    train = ScalingData({k: v[~largest] for k, v in data.inputs.items()}, data.loss[~largest])
    settings = models.SamplerSettings(draws=500, tune=500, chains=4, seed=4)
    fit = models.fit(train, "scale_time", settings=settings, likelihood="normal")
    means = fit.trace["sample_stats"]["logp"].values.mean(axis=1)
    assert np.ptp(means) < KEEP_NATS, (means, fit.diagnostics.init)
    assert fit.diagnostics.init is not None and fit.diagnostics.init["stuck"] == ()
    assert fit.diagnostics.r_hat_max < 1.05, fit.diagnostics


@pytest.mark.slow
def test_chains_start_in_the_main_mode_not_the_fast_group_optimum() -> None:
    """Sizes 1e5-1e7 x times 0.1-1000 (the benchmark's fit split) have a local optimum ~26 nats
    down where the fast group is learned before the first observation; nutpie's jittered
    support-point start sent two of four chains there (R-hat 1.74, seed 1). Multistart moves
    the chains whose start climbs to it."""
    truth = {"E": 0.5, "kappa": 0.4, "l1": 1e-4, "dlog_l2": math.log(300.0)}
    truth |= {"S1": 1.0, "S2": 1.5, "V1": 0.8, "V2": 0.2}
    n, t = np.meshgrid(np.geomspace(1e5, 1e7, 3), np.geomspace(0.1, 1000.0, 20), indexing="ij")
    fam = get_family("scale_time")
    data = simulate(fam, truth, {"params": n.ravel(), "steps": t.ravel()}, noise=0.02, seed=12)
    settings = models.SamplerSettings(draws=500, tune=1000, chains=4, seed=1)
    fit = models.fit(data, "scale_time", settings=settings, likelihood="normal")
    init = fit.diagnostics.init
    assert init is not None and init["method"] == "multistart", init
    best, *rest = init["optima"]
    # (L-BFGS may also stop at a second point within SAME_OPTIMUM-distance of the best one.)
    assert rest and best - min(rest) > 20 and init["moved"] >= 1, init
    log_l1 = np.log(fit.trace["posterior"]["l1"].values).mean(axis=1)  # per chain
    assert np.ptp(log_l1) < 0.3, log_l1
    # What R-hat is left (1.02-1.10 measured) is the slow group's E/S2 ridge, not a second mode.
    assert fit.diagnostics.r_hat_max < 1.3, fit.diagnostics
