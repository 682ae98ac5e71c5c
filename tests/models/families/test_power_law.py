"""power_law: L = E + A x^-alpha over one chosen input (fast tier, numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import FamilyError, Scales, get_family
from models.build import scaled_inputs
from models.families.power_law import PowerLaw

OPTIONS = ("params", "data", "steps", "compute")


def at(x_name: str, values: list[float] | np.ndarray, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Curve inputs as the model sees them: scaled values and their logs."""
    return scaled_inputs(
        {x_name: np.asarray(values, dtype=float)}, (x_name,), Scales({x_name: scale}, 1.0)
    )


def test_default_option_is_params() -> None:
    """Without options the law is over model size."""
    family = get_family("power_law")
    assert isinstance(family, PowerLaw)
    assert family.options == {"x": "params"}
    assert family.inputs == ("params",)
    assert family.key() == "power_law(x=params)"


def test_curve_matches_hand_computed_points() -> None:
    """2 + 3 * 100^-0.5 = 2.3 and 1 + 4 * 16^-0.25 = 3."""
    family = get_family("power_law")
    loss = family.curve(np, at("params", [100.0]), {"E": 2.0, "A": 3.0, "alpha": 0.5})
    np.testing.assert_allclose(loss, [2.3], rtol=1e-14)
    loss = family.curve(np, at("params", [16.0]), {"E": 1.0, "A": 4.0, "alpha": 0.25})
    np.testing.assert_allclose(loss, [3.0], rtol=1e-14)


def test_curve_matches_published_style_point() -> None:
    """A size law evaluated with math.pow by hand: E + A N^-alpha at N = 1e9."""
    e, a, alpha, n = 1.69, 406.4, 0.34, 1e9
    expected = e + a * math.pow(n, -alpha)
    loss = get_family("power_law").curve(np, at("params", [n]), {"E": e, "A": a, "alpha": alpha})
    np.testing.assert_allclose(loss, [expected], rtol=1e-12)


def test_curve_at_reference_scale_is_floor_plus_amplitude() -> None:
    """At x equal to its reference scale the model-unit loss is E + A: what the priors assume."""
    loss = get_family("power_law").curve(
        np, at("params", [3e8], scale=3e8), {"E": 0.7, "A": 0.4, "alpha": 0.3}
    )
    np.testing.assert_allclose(loss, [1.1], rtol=1e-14)


def test_curve_tends_to_floor_as_input_grows() -> None:
    """x -> infinity leaves only the irreducible loss E."""
    p = {"E": 1.8, "A": 400.0, "alpha": 0.3}
    loss = get_family("power_law").curve(np, at("params", [1e300]), p)
    np.testing.assert_allclose(loss, [1.8], rtol=1e-12)


def test_curve_decreases_monotonically_towards_floor() -> None:
    """More of the resource never hurts under this law, and the loss stays above E."""
    x = np.geomspace(1e6, 1e12, 50)
    loss = get_family("power_law").curve(np, at("params", x), {"E": 2.0, "A": 50.0, "alpha": 0.3})
    assert np.all(np.diff(loss) < 0)
    assert np.all(loss > 2.0)


def test_curve_broadcasts_points_against_draws() -> None:
    """Prediction evaluates P points x S draws in one call."""
    family = get_family("power_law")
    x = {k: v[:, None] for k, v in at("params", [1.0, 10.0, 100.0]).items()}
    p = {"E": np.array([1.0, 2.0]), "A": np.array([1.0, 1.0]), "alpha": np.array([0.5, 1.0])}
    loss = family.curve(np, x, p)
    expected = np.array([[2.0, 3.0], [1.0 + 10**-0.5, 2.1], [1.1, 2.01]])
    np.testing.assert_allclose(loss, expected, rtol=1e-14)


@pytest.mark.parametrize("option", OPTIONS)
def test_option_x_selects_the_input(option: str) -> None:
    """The same law serves size, data, step and compute sweeps."""
    family = get_family("power_law", x=option)
    assert family.inputs == (option,)
    assert family.key() == f"power_law(x={option})"
    assert family.describe()["inputs"] == [option]
    loss = family.curve(np, at(option, [100.0]), {"E": 2.0, "A": 3.0, "alpha": 0.5})
    np.testing.assert_allclose(loss, [2.3], rtol=1e-14)


@pytest.mark.parametrize("option", OPTIONS)
def test_curve_reads_only_the_chosen_input(option: str) -> None:
    """Inputs other than the chosen one are not required."""
    family = get_family("power_law", x=option)
    others = {f"log_{o}": np.array([np.nan]) for o in OPTIONS if o != option}
    loss = family.curve(np, at(option, [100.0]) | others, {"E": 2.0, "A": 3.0, "alpha": 0.5})
    np.testing.assert_allclose(loss, [2.3], rtol=1e-14)


@pytest.mark.parametrize("bad", ["label_noise", "tokens", ""])
def test_invalid_x_option_is_rejected_naming_the_option(bad: str) -> None:
    """Only the four resources the law is meant for are allowed."""
    with pytest.raises(
        FamilyError, match="option x must be one of params, data, steps, compute"
    ) as exc:
        get_family("power_law", x=bad)
    assert exc.value.field == "family_options.x"


def test_unknown_option_is_rejected() -> None:
    """Options the family does not take are refused rather than ignored."""
    with pytest.raises(FamilyError, match="family 'power_law' takes no option y") as exc:
        get_family("power_law", y="data")
    assert exc.value.field == "family_options"


@pytest.mark.parametrize("option", OPTIONS)
def test_to_natural_converts_amplitude_with_the_chosen_input_scale(option: str) -> None:
    """A_nat = A * loss_scale * x_scale ** alpha; E scales with the loss; alpha is unchanged."""
    family = get_family("power_law", x=option)
    x_scale, loss_scale = 3.0e9, 2.4
    p = {"E": np.array([0.8, 0.6]), "A": np.array([0.3, 0.9]), "alpha": np.array([0.35, 0.2])}
    unrelated = {o: 1e-3 for o in OPTIONS if o != option}
    natural = family.to_natural(p, {option: x_scale} | unrelated, loss_scale)
    np.testing.assert_allclose(natural["E"], p["E"] * loss_scale, rtol=1e-14)
    np.testing.assert_allclose(
        natural["A"], p["A"] * loss_scale * x_scale ** p["alpha"], rtol=1e-14
    )
    np.testing.assert_array_equal(natural["alpha"], p["alpha"])


def test_natural_curve_equals_scaled_model_curve() -> None:
    """The converted parameters reproduce the same loss surface in natural units."""
    family = get_family("power_law", x="data")
    x_scale, loss_scale = 2.0e10, 2.7
    p = {"E": 0.75, "A": 0.4, "alpha": 0.28}
    natural = family.to_natural(p, {"data": x_scale}, loss_scale)
    tokens = np.geomspace(1e8, 1e13, 11)
    model = family.curve(np, at("data", tokens, scale=x_scale), p)
    nat = family.curve(np, at("data", tokens), natural)
    np.testing.assert_allclose(nat, loss_scale * model, rtol=1e-12)


def test_describe_lists_formula_options_and_parameters() -> None:
    """``bayescale families`` and ``GET /v1/families`` show this."""
    info = get_family("power_law", x="steps").describe()
    assert info["name"] == "power_law"
    assert info["inputs"] == ["steps"]
    assert info["options"] == {"x": {"default": "params", "choices": list(OPTIONS)}}
    assert [p["name"] for p in info["parameters"]] == ["E", "A", "alpha"]
    units = {p["name"]: p["unit"] for p in info["parameters"]}
    assert units["E"] == "loss units"
    assert units["alpha"] == "dimensionless"
