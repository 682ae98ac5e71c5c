"""chinchilla: L = E + A N^-alpha + B D^-beta (fast tier, numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import Scales
from models.build import scaled_inputs
from models.families.chinchilla import Chinchilla
from tests.models.families.helpers import family_of

# Besiroglu et al. 2024 (Epoch AI) replication of Hoffmann et al. 2022, Approach 3.
EPOCH = {"E": 1.8169, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3659}


def at(
    params: list[float] | np.ndarray,
    data: list[float] | np.ndarray,
    scales: tuple[float, float] = (1.0, 1.0),
) -> dict[str, np.ndarray]:
    """Curve inputs as the model sees them: scaled values and their logs."""
    return scaled_inputs(
        {"params": np.asarray(params, dtype=float), "data": np.asarray(data, dtype=float)},
        ("params", "data"),
        Scales({"params": scales[0], "data": scales[1]}, 1.0),
    )


@pytest.fixture
def family() -> Chinchilla:
    return family_of(Chinchilla, "chinchilla")


def test_inputs_are_model_size_and_tokens(family: Chinchilla) -> None:
    """The law needs N and D and nothing else."""
    assert family.inputs == ("params", "data")
    assert family.key() == "chinchilla"
    assert family.param_names == ("E", "A", "B", "alpha", "beta")


def test_curve_matches_epoch_fit_at_chinchilla_size(family: Chinchilla) -> None:
    """Chinchilla itself (70B params, 1.4T tokens) under Epoch's fit, computed by hand."""
    n, d = 7e10, 1.4e12
    size_term = EPOCH["A"] / math.pow(n, EPOCH["alpha"])
    data_term = EPOCH["B"] / math.pow(d, EPOCH["beta"])
    expected = EPOCH["E"] + size_term + data_term
    assert expected == pytest.approx(1.97337, abs=1e-5)  # sanity check of the hand computation
    loss = family.curve(np, at([n], [d]), EPOCH)
    np.testing.assert_allclose(loss, [expected], rtol=1e-12)


def test_curve_matches_simple_hand_computed_point(family: Chinchilla) -> None:
    """1 + 2 * 100^-0.5 + 3 * 10000^-0.25 = 1 + 0.2 + 0.3."""
    p = {"E": 1.0, "A": 2.0, "B": 3.0, "alpha": 0.5, "beta": 0.25}
    np.testing.assert_allclose(family.curve(np, at([100.0], [1e4]), p), [1.5], rtol=1e-14)


def test_curve_tends_to_floor_when_both_inputs_grow(family: Chinchilla) -> None:
    """Infinite model and data leave only the irreducible loss."""
    loss = family.curve(np, at([1e300], [1e300]), EPOCH)
    np.testing.assert_allclose(loss, [EPOCH["E"]], rtol=1e-12)


def test_infinite_model_size_leaves_the_data_bottleneck(family: Chinchilla) -> None:
    """N -> infinity gives E + B D^-beta: data still limits the loss."""
    d = 1e11
    loss = family.curve(np, at([1e300], [d]), EPOCH)
    np.testing.assert_allclose(loss, [EPOCH["E"] + EPOCH["B"] * d ** -EPOCH["beta"]], rtol=1e-12)


def test_infinite_data_leaves_the_model_size_bottleneck(family: Chinchilla) -> None:
    """D -> infinity gives E + A N^-alpha."""
    n = 1e9
    loss = family.curve(np, at([n], [1e300]), EPOCH)
    np.testing.assert_allclose(loss, [EPOCH["E"] + EPOCH["A"] * n ** -EPOCH["alpha"]], rtol=1e-12)


def test_curve_decreases_in_each_input(family: Chinchilla) -> None:
    """More parameters or more tokens never increase the loss under this law."""
    grid = np.geomspace(1e7, 1e12, 20)
    by_size = family.curve(np, at(grid, np.full(20, 1e10)), EPOCH)
    by_data = family.curve(np, at(np.full(20, 1e9), grid), EPOCH)
    assert np.all(np.diff(by_size) < 0)
    assert np.all(np.diff(by_data) < 0)
    assert np.all(by_size > EPOCH["E"])
    assert np.all(by_data > EPOCH["E"])


def test_derived_allocation_exponents_sum_to_one(family: Chinchilla) -> None:
    """N* ∝ C^a and D* ∝ C^b with a + b = 1, since C ∝ N D."""
    rng = np.random.default_rng(0)
    natural = {"alpha": rng.uniform(0.1, 0.9, 100), "beta": rng.uniform(0.1, 0.9, 100)}
    derived = family.derived(natural)
    assert set(derived) == {"a", "b"}
    np.testing.assert_allclose(derived["a"] + derived["b"], 1.0, rtol=1e-14)
    np.testing.assert_allclose(
        derived["a"], natural["beta"] / (natural["alpha"] + natural["beta"]), rtol=1e-14
    )


def test_derived_exponents_at_epoch_fit(family: Chinchilla) -> None:
    """Epoch's fit gives a = 0.3659 / 0.7137 ≈ 0.513: parameters and data scale almost equally."""
    derived = family.derived({k: np.array([v]) for k, v in EPOCH.items()})
    np.testing.assert_allclose(derived["a"], [0.3659 / (0.3478 + 0.3659)], rtol=1e-14)
    assert derived["a"][0] == pytest.approx(0.51268, abs=1e-5)
    assert derived["b"][0] == pytest.approx(0.48732, abs=1e-5)


def test_to_natural_converts_each_amplitude_with_its_own_input(family: Chinchilla) -> None:
    """A uses the params scale and alpha, B the data scale and beta; E scales with the loss."""
    scales, loss_scale = {"params": 4e8, "data": 9e9}, 2.2
    p = {
        "E": np.array([0.8, 0.9]),
        "A": np.array([0.3, 0.5]),
        "B": np.array([0.4, 0.2]),
        "alpha": np.array([0.34, 0.3]),
        "beta": np.array([0.36, 0.4]),
    }
    natural = family.to_natural(p, scales, loss_scale)
    np.testing.assert_allclose(natural["E"], p["E"] * loss_scale, rtol=1e-14)
    np.testing.assert_allclose(
        natural["A"], p["A"] * loss_scale * scales["params"] ** p["alpha"], rtol=1e-14
    )
    np.testing.assert_allclose(
        natural["B"], p["B"] * loss_scale * scales["data"] ** p["beta"], rtol=1e-14
    )
    np.testing.assert_array_equal(natural["alpha"], p["alpha"])
    np.testing.assert_array_equal(natural["beta"], p["beta"])


def test_natural_curve_equals_scaled_model_curve(family: Chinchilla) -> None:
    """Natural-unit parameters at natural inputs give loss_scale x the model-unit loss."""
    scales, loss_scale = (3e8, 6e9), 2.05
    p = {"E": 0.85, "A": 0.25, "B": 0.35, "alpha": 0.33, "beta": 0.37}
    natural = family.to_natural(p, {"params": scales[0], "data": scales[1]}, loss_scale)
    rng = np.random.default_rng(1)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e11), 25))
    d = n * np.exp(rng.uniform(np.log(5), np.log(100), 25))
    model = family.curve(np, at(n, d, scales), p)
    nat = family.curve(np, at(n, d), natural)
    np.testing.assert_allclose(nat, loss_scale * model, rtol=1e-12)


def test_describe_lists_parameters_with_units(family: Chinchilla) -> None:
    """``bayescale families`` shows the formula, inputs and each parameter's unit."""
    info = family.describe()
    assert info["name"] == "chinchilla"
    assert info["inputs"] == ["params", "data"]
    assert info["options"] == {}
    units = {p["name"]: p["unit"] for p in info["parameters"]}
    assert units == {
        "E": "loss units",
        "A": "loss units x params^alpha",
        "B": "loss units x data^beta",
        "alpha": "dimensionless",
        "beta": "dimensionless",
    }
    assert {p["link"] for p in info["parameters"]} == {"log"}
