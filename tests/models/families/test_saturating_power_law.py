"""saturating_power_law: E + G (1 + (x/x0)^(c/alpha))^-alpha, an explicit M4."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from models import FamilyError, Scales, get_family
from models.build import scaled_inputs
from models.families.saturating_power_law import SaturatingPowerLaw
from models.simulate import draw_prior, simulate
from tests.models.families.helpers import assert_recovered

P = {"E": 2.0, "G": 8.0, "c": 0.5, "x0": 100.0, "alpha": 2.0}


def at(name: str, values: list[float] | np.ndarray, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Curve inputs as the model sees them: scaled values and their logs."""
    return scaled_inputs({name: np.asarray(values, dtype=float)}, (name,), Scales({name: scale}, 1))


def curve(x: np.ndarray | list[float], p: dict[str, float] = P) -> np.ndarray:
    return np.asarray(get_family("saturating_power_law").curve(np, at("data", x), p))


def m4_loss(x: float, e_inf: float, e_0: float, alpha: float, beta: float, c: float) -> float:
    """M4 solved for L by root finding: (L - e_inf) / (e_0 - L)^alpha = beta x^-c."""
    rhs = beta * x**-c
    return float(
        brentq(lambda y: (y - e_inf) - rhs * (e_0 - y) ** alpha, e_inf, e_0, xtol=1e-14, rtol=1e-14)
    )


def test_defaults_are_over_data_with_five_parameters() -> None:
    family = get_family("saturating_power_law")
    assert isinstance(family, SaturatingPowerLaw)
    assert family.inputs == ("data",)
    assert family.key() == "saturating_power_law(x=data)"
    assert family.param_names == ("E", "G", "c", "x0", "alpha")
    assert family.param("x0").unit.describe() == "x units"
    assert family.param("G").unit.describe() == "loss units"


@pytest.mark.parametrize("option", ["params", "data", "steps", "compute"])
def test_option_x_selects_the_input(option: str) -> None:
    family = get_family("saturating_power_law", x=option)
    assert family.inputs == (option,)
    np.testing.assert_allclose(family.curve(np, at(option, [100.0]), P), curve([100.0]))


def test_invalid_option_names_the_field() -> None:
    with pytest.raises(FamilyError) as info:
        get_family("saturating_power_law", x="tokens")
    assert info.value.field == "family_options.x"


def test_matches_hand_computed_points() -> None:
    """At x = x0: E + G 2^-alpha = 2 + 8/4; at x = 100 x0: 2 + 8 (1 + 100^(1/4))^-2."""
    np.testing.assert_allclose(curve([100.0, 1e4]), [4.0, 2.0 + 8.0 * (1 + 10**0.5) ** -2.0])


def test_alpha_one_is_exactly_m4() -> None:
    """alpha = 1: (L - E)/(L0 - L) = x0^c x^-c, M4's equation with beta = x0^c."""
    p = {"E": 0.3, "G": 0.6, "c": 0.7, "x0": 50.0, "alpha": 1.0}
    xs = np.geomspace(1.0, 1e5, 11)
    expected = [m4_loss(x, 0.3, 0.9, 1.0, 50.0**0.7, 0.7) for x in xs]
    np.testing.assert_allclose(curve(xs, p), expected, rtol=1e-10)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 3.0])
def test_exponents_on_both_sides_are_m4s(alpha: float) -> None:
    """M4's asymptotics, for any alpha: L - E ~ x^-c far right, L0 - L ~ x^(c/alpha) far left.

    Each side is probed where (x/x0)^(c/alpha) is 1e+-6, so the next-order term is 1e-6; the
    floor is 0 on the right so the tiny excess L - E is not lost to rounding.
    """
    p = {**P, "alpha": alpha}
    decades = 12 * alpha  # (x/x0)^(c/alpha) = 10^(+-6) with c = 0.5
    right = curve(P["x0"] * np.array([10**decades, 10 ** (decades + 1)]), {**p, "E": 0.0})
    left = P["E"] + P["G"] - curve(P["x0"] * np.array([10**-decades, 10 ** (1 - decades)]), p)
    assert math.log10(right[1] / right[0]) == pytest.approx(-P["c"], rel=1e-4)
    assert math.log10(left[1] / left[0]) == pytest.approx(P["c"] / alpha, rel=1e-4)


def test_asymptotes_are_l0_and_the_floor() -> None:
    np.testing.assert_allclose(curve([1e-100, 1e100]), [P["E"] + P["G"], P["E"]], rtol=1e-9)


def test_curve_falls_monotonically_between_the_asymptotes() -> None:
    loss = curve(np.geomspace(1e-3, 1e8, 200))
    assert np.all(np.diff(loss) < 0)
    assert np.all((loss > P["E"]) & (loss < P["E"] + P["G"]))


def test_extreme_shapes_and_inputs_stay_finite() -> None:
    """Log-space softplus: a sharp shoulder (c/alpha = 1e4) far from x0 stays finite."""
    p = {"E": 0.5, "G": 3.0, "c": 1.0, "x0": 1.0, "alpha": 1e-4}
    loss = curve([1e-300, 1e-10, 1.0, 1e10, 1e300], p)
    assert np.isfinite(loss).all()
    np.testing.assert_allclose(loss[[0, 4]], [3.5, 0.5], rtol=1e-12)


def test_gradient_is_finite_far_from_x0_in_pytensor() -> None:
    """NUTS differentiates through the curve at inputs 1e+-300 x x0 as well."""
    import pytensor
    import pytensor.tensor as pt

    family = get_family("saturating_power_law")
    syms = {k: pt.dscalar(k) for k in P}
    log_x = pt.dvector("log_x")
    out = family.curve(pt, {"log_data": log_x}, syms).sum()
    grad = pytensor.function([log_x, *syms.values()], pytensor.grad(out, list(syms.values())))
    values = grad(np.log([1e-300, 1.0, 1e300]), *P.values())
    assert np.isfinite(values).all()


def test_natural_curve_equals_scaled_model_curve() -> None:
    """x0 scales with the input, E and G with the loss; c and alpha are unchanged."""
    family = get_family("saturating_power_law", x="compute")
    scale, loss_scale = 3e20, 2.3
    p = {k: float(v[0]) for k, v in draw_prior(family, 1, seed=3).items()}
    natural = family.to_natural(p, {"compute": scale}, loss_scale)
    np.testing.assert_allclose(natural["x0"], p["x0"] * scale)
    np.testing.assert_allclose(natural["G"], p["G"] * loss_scale)
    xs = np.geomspace(1e17, 1e24, 30)
    model = family.curve(np, at("compute", xs, scale), p)
    np.testing.assert_allclose(
        family.curve(np, at("compute", xs), natural), loss_scale * model, rtol=1e-10
    )
    derived = family.derived(natural)
    np.testing.assert_allclose(derived["L0"], natural["E"] + natural["G"])


@pytest.mark.slow
def test_recovers_a_simulated_s_curve() -> None:
    """Plateau, fall and floor all in the data: the 90 % intervals cover every true parameter.

    The sweep spans the whole S (10 decades). Over 1e2-1e8 the plateau is barely reached and 4 x
    500 draws gave R-hat 1.04; over 1e0-1e10, noise seeds 3 and 4 covered every parameter
    (R-hat <= 1.009) while seed 12 missed c, x0 and alpha together (they trade off along the
    shoulder), as one 90 % interval in ten may.
    """
    family = get_family("saturating_power_law")
    truth = {"E": 1.0, "G": 4.0, "c": 0.5, "x0": 1e4, "alpha": 1.5}
    data = simulate(family, truth, {"data": np.geomspace(1e0, 1e10, 40)}, noise=0.01, seed=3)
    assert_recovered(data, family, truth)
