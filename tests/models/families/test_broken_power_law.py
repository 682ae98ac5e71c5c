"""broken_power_law (BNSL): a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from models import FamilyError, Scales, get_family
from models.build import scaled_inputs
from models.families.broken_power_law import BrokenPowerLaw, softplus
from models.simulate import draw_prior, simulate
from tests.models.families.helpers import assert_recovered

ONE = {"a": 1.0, "b": 2.0, "c0": 0.5, "c1": 1.0, "d1": 10.0, "f1": 1.0}
TWO = {**ONE, "c2": -0.5, "delta2": math.log(10.0), "f2": 0.5}  # d2 = 100


def at(name: str, values: list[float] | np.ndarray, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Curve inputs as the model sees them: scaled values and their logs."""
    return scaled_inputs({name: np.asarray(values, dtype=float)}, (name,), Scales({name: scale}, 1))


def bnsl(x: float, p: dict[str, float], n: int) -> float:
    """The paper's formula, evaluated directly with math (d_i from the log-increments)."""
    d, out = p["d1"], p["b"] * x ** -p["c0"]
    for i in range(1, n + 1):
        if i > 1:
            d *= math.exp(p[f"delta{i}"])
        c, f = p[f"c{i}"], p[f"f{i}"]
        out *= (1 + (x / d) ** (1 / f)) ** (-c * f)
    return p["a"] + out


def test_defaults_are_one_break_over_data() -> None:
    """Without options: one break over training data."""
    family = get_family("broken_power_law")
    assert isinstance(family, BrokenPowerLaw)
    assert family.inputs == ("data",)
    assert family.key() == "broken_power_law(breaks=1,x=data)"
    assert family.param_names == ("a", "b", "c0", "c1", "d1", "f1")


def test_each_break_adds_exponent_location_and_sharpness() -> None:
    """Later breaks are placed by log-increments, so d1 < d2 < d3 by construction."""
    family = get_family("broken_power_law", breaks="3", x="params")
    assert family.inputs == ("params",)
    assert family.param_names == (
        *("a", "b", "c0", "c1", "d1", "f1"),
        *("c2", "delta2", "f2", "c3", "delta3", "f3"),
    )
    assert family.param("c2").link == "identity"
    assert family.param("delta3").prior.support == "positive"
    assert family.param("d1").unit.describe() == "x units"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"breaks": "4"}, "family_options.breaks"),
        ({"breaks": "0"}, "family_options.breaks"),
        ({"x": "tokens"}, "family_options.x"),
        ({"knots": "2"}, "family_options"),
    ],
)
def test_invalid_options_raise_with_field(options: dict[str, str], field: str) -> None:
    """A bad option is a FamilyError naming the offending field."""
    with pytest.raises(FamilyError) as info:
        get_family("broken_power_law", **options)
    assert info.value.field == field


def test_one_break_matches_hand_computed_point() -> None:
    """1 + 2 * 100^-0.5 * (1 + 100/10)^-1 = 1 + 0.2/11."""
    family = get_family("broken_power_law")
    np.testing.assert_allclose(family.curve(np, at("data", [100.0]), ONE), [1 + 0.2 / 11])


def test_two_breaks_match_the_formula() -> None:
    """Against the formula written out with math.pow, across both breaks."""
    family = get_family("broken_power_law", breaks="2")
    xs = [0.5, 3.0, 10.0, 40.0, 100.0, 1e3, 1e5]
    expected = [bnsl(x, TWO, 2) for x in xs]
    np.testing.assert_allclose(family.curve(np, at("data", xs), TWO), expected, rtol=1e-12)


def test_far_below_the_first_break_it_is_a_plain_power_law() -> None:
    """x << d1 leaves a + b x^-c0."""
    family = get_family("broken_power_law", breaks="2")
    x = 1e-6
    np.testing.assert_allclose(family.curve(np, at("data", [x]), TWO), [1 + 2 * x**-0.5], rtol=1e-6)


def test_past_the_last_break_the_exponent_is_the_sum() -> None:
    """x >> d_n: b x^-(c0 + sum c_i) prod d_i^c_i, since (1 + (x/d)^(1/f))^(-cf) -> (x/d)^-c."""
    family = get_family("broken_power_law", breaks="2")
    x = 1e12
    asymptote = 2 * x ** -(0.5 + 1.0 - 0.5) * 10.0**1.0 * 100.0**-0.5
    np.testing.assert_allclose(family.curve(np, at("data", [x]), TWO), [1 + asymptote], rtol=1e-9)
    total = family.derived({k: np.array([v]) for k, v in TWO.items()})["c_total"]
    np.testing.assert_allclose(total, [1.0])


def test_negative_change_of_exponent_gives_a_non_monotone_curve() -> None:
    """c1 < -c0: the loss falls, reaches a minimum near the break, then rises (BNSL's U-shape)."""
    family = get_family("broken_power_law")
    p = {"a": 0.5, "b": 1.0, "c0": 0.4, "c1": -0.8, "d1": 1.0, "f1": 0.3}
    xs = np.geomspace(1e-3, 1e3, 61)
    loss = family.curve(np, at("data", xs), p)
    lowest = int(np.argmin(loss))
    assert 0 < lowest < len(xs) - 1
    assert np.all(np.diff(loss[: lowest + 1]) < 0)
    assert np.all(np.diff(loss[lowest:]) > 0)


def test_sharp_breaks_far_past_the_break_stay_finite() -> None:
    """The log-space softplus never overflows: f = 1e-3 and x/d = 1e30 are fine."""
    family = get_family("broken_power_law")
    p = {"a": 0.5, "b": 1.0, "c0": 0.2, "c1": 0.5, "d1": 1.0, "f1": 1e-3}
    loss = family.curve(np, at("data", [1e-30, 0.5, 1.0, 2.0, 1e30]), p)
    assert np.isfinite(loss).all()
    # a sharp break is a kink: below it x^-0.2, above it x^-0.7 (both 1 at x = d1 = 1)
    np.testing.assert_allclose(loss[[1, 3]], 0.5 + np.array([0.5**-0.2, 2.0**-0.7]), rtol=1e-9)


def test_softplus_is_stable_and_exact() -> None:
    """softplus(z) = log(1 + e^z) for all z, without overflow."""
    z = np.array([-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0])
    np.testing.assert_allclose(softplus(np, z), np.logaddexp(0.0, z), rtol=1e-15)


def test_softplus_gradient_is_finite_in_pytensor() -> None:
    """NUTS differentiates through it: the gradient is the logistic function, even at 0."""
    import pytensor
    import pytensor.tensor as pt

    z = pt.dvector("z")
    grad = pytensor.function([z], pytensor.grad(softplus(pt, z).sum(), z))
    values = np.array([-800.0, -1.0, 0.0, 1.0, 800.0])
    np.testing.assert_allclose(grad(values), expit(values), rtol=1e-12)


@pytest.mark.parametrize("breaks", ["1", "2", "3"])
def test_natural_curve_equals_scaled_model_curve(breaks: str) -> None:
    """Natural-unit parameters at natural inputs give loss_scale x the model-unit loss."""
    family = get_family("broken_power_law", breaks=breaks, x="params")
    scale, loss_scale = 3e7, 2.3
    p = {k: float(v[0]) for k, v in draw_prior(family, 1, seed=3).items()}
    natural = family.to_natural(p, {"params": scale}, loss_scale)
    np.testing.assert_allclose(natural["d1"], p["d1"] * scale)
    np.testing.assert_allclose(natural["b"], p["b"] * loss_scale * scale ** p["c0"])
    xs = np.geomspace(1e5, 1e10, 30)
    model = family.curve(np, at("params", xs, scale), p)
    nat = family.curve(np, at("params", xs), natural)
    np.testing.assert_allclose(nat, loss_scale * model, rtol=1e-10)


def test_derived_break_locations_are_ordered() -> None:
    """d2 = d1 e^delta2 > d1 and d3 = d2 e^delta3 > d2, in input units."""
    family = get_family("broken_power_law", breaks="3")
    draws = draw_prior(family, 500, seed=1)
    natural = family.to_natural(draws, {"data": 1e9}, 2.0)
    derived = family.derived(natural)
    assert set(derived) == {"d2", "d3", "c_total"}
    assert np.all(natural["d1"] < derived["d2"])
    assert np.all(derived["d2"] < derived["d3"])
    np.testing.assert_allclose(
        derived["d3"], natural["d1"] * np.exp(draws["delta2"] + draws["delta3"])
    )


@pytest.mark.parametrize("breaks", ["1", "2", "3"])
def test_prior_predictive_is_plausible_for_every_break_count(breaks: str) -> None:
    """The contract's prior check (it covers the defaults only), for each number of breaks."""
    family = get_family("broken_power_law", breaks=breaks)
    draws = draw_prior(family, 2000, seed=0)
    x = at("data", np.geomspace(0.1, 10.0, 9))
    loss = family.curve(np, {k: v[:, None] for k, v in x.items()}, draws)
    assert np.isfinite(loss).all() and (loss > 0).all()
    q05, q95 = np.quantile(loss, [0.05, 0.95])
    assert 0.05 < q05 < q95 < 50


@pytest.mark.slow
def test_one_break_recovery() -> None:
    """A plateau-then-drop curve: the 90 % intervals cover the true break and exponents."""
    family = get_family("broken_power_law")
    truth = {"a": 1.0, "b": 4.0, "c0": 0.1, "c1": 0.6, "d1": 1e5, "f1": 0.5}
    data = simulate(family, truth, {"data": np.geomspace(1e3, 1e7, 40)}, noise=0.01, seed=12)
    assert_recovered(data, family, truth)
