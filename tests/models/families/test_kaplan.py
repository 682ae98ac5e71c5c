"""kaplan: [(N_c/N)^(a_N/a_D) + D_c/D]^a_D and (N_c/N)^a_N + (S_c/S)^a_S (Kaplan 2020)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import FamilyError, Scales, get_family
from models.build import scaled_inputs
from models.families.kaplan import Kaplan
from models.simulate import draw_prior, simulate
from tests.models.families.helpers import assert_recovered

# Kaplan et al. 2020, Eqs. 1.5 and 1.6 (natural units: parameters, tokens, steps; nats/token)
ND = {"alpha_N": 0.076, "alpha_D": 0.095, "N_c": 8.8e13, "D_c": 5.4e13}
NS = {"alpha_N": 0.076, "alpha_S": 0.76, "N_c": 8.8e13, "S_c": 2.1e3}


def at(
    values: dict[str, np.ndarray | list[float]], scales: dict[str, float] | None = None
) -> dict[str, np.ndarray]:
    """Curve inputs as the model sees them: scaled values and their logs."""
    names = tuple(values)
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    return scaled_inputs(arrays, names, Scales(scales or dict.fromkeys(names, 1.0), 1.0))


def test_default_form_is_size_and_data() -> None:
    """Eq. 1.5 by default: inputs N and D, four parameters."""
    family = get_family("kaplan")
    assert isinstance(family, Kaplan)
    assert family.key() == "kaplan(form=nd)"
    assert family.inputs == ("params", "data")
    assert family.param_names == ("alpha_N", "N_c", "alpha_D", "D_c")


def test_steps_form_reads_size_and_steps() -> None:
    """Eq. 1.6: inputs N and S."""
    family = get_family("kaplan", form="ns")
    assert family.inputs == ("params", "steps")
    assert family.param_names == ("alpha_N", "N_c", "alpha_S", "S_c")
    units = {p["name"]: p["unit"] for p in family.describe()["parameters"]}
    assert units == {
        "alpha_N": "dimensionless",
        "N_c": "params units",
        "alpha_S": "dimensionless",
        "S_c": "steps units",
    }


@pytest.mark.parametrize(
    ("options", "field"),
    [({"form": "nds"}, "family_options.form"), ({"x": "data"}, "family_options")],
)
def test_invalid_options_raise_with_field(options: dict[str, str], field: str) -> None:
    """A bad option is a FamilyError naming the offending field."""
    with pytest.raises(FamilyError) as info:
        get_family("kaplan", **options)
    assert info.value.field == field


def test_size_data_law_matches_published_fit_by_hand() -> None:
    """Eq. 1.5 with the published constants at N = 1e9, D = 2e10, computed with math.pow."""
    n, d = 1e9, 2e10
    bracket = math.pow(ND["N_c"] / n, ND["alpha_N"] / ND["alpha_D"]) + ND["D_c"] / d
    expected = math.pow(bracket, ND["alpha_D"])
    assert expected == pytest.approx(2.4354, abs=1e-4)  # a plausible LM loss, nats/token
    loss = get_family("kaplan").curve(np, at({"params": [n], "data": [d]}), ND)
    np.testing.assert_allclose(loss, [expected], rtol=1e-12)


def test_size_steps_law_matches_published_fit_by_hand() -> None:
    """Eq. 1.6 at N = 1e8, S = 1e4."""
    n, s = 1e8, 1e4
    expected = math.pow(NS["N_c"] / n, NS["alpha_N"]) + math.pow(NS["S_c"] / s, NS["alpha_S"])
    loss = get_family("kaplan", form="ns").curve(np, at({"params": [n], "steps": [s]}), NS)
    np.testing.assert_allclose(loss, [expected], rtol=1e-12)


def test_unlimited_data_leaves_the_size_law() -> None:
    """D -> infinity: L = (N_c/N)^alpha_N (Kaplan's Eq. 1.1)."""
    n = 3e8
    loss = get_family("kaplan").curve(np, at({"params": [n], "data": [1e300]}), ND)
    np.testing.assert_allclose(loss, [(ND["N_c"] / n) ** ND["alpha_N"]], rtol=1e-12)


def test_unlimited_size_leaves_the_data_law() -> None:
    """N -> infinity: L = (D_c/D)^alpha_D (Kaplan's Eq. 1.2)."""
    d = 1e10
    loss = get_family("kaplan").curve(np, at({"params": [1e300], "data": [d]}), ND)
    np.testing.assert_allclose(loss, [(ND["D_c"] / d) ** ND["alpha_D"]], rtol=1e-12)


def test_unlimited_steps_leave_the_size_law() -> None:
    """S -> infinity in Eq. 1.6 leaves (N_c/N)^alpha_N."""
    n = 3e8
    loss = get_family("kaplan", form="ns").curve(np, at({"params": [n], "steps": [1e300]}), NS)
    np.testing.assert_allclose(loss, [(NS["N_c"] / n) ** NS["alpha_N"]], rtol=1e-12)


def test_extreme_exponent_ratio_does_not_overflow() -> None:
    """alpha_N/alpha_D = 100 makes (N_c/N)^(ratio) ~ 1e1000; the log-space bracket is exact."""
    p = {"alpha_N": 1.0, "alpha_D": 0.01, "N_c": 1e12, "D_c": 1e3}
    loss = get_family("kaplan").curve(np, at({"params": [1e2], "data": [1.0]}), p)
    # log bracket = logaddexp(100 log 1e10, log 1e3) = 100 log 1e10 (to double precision)
    np.testing.assert_allclose(loss, [1e10], rtol=1e-12)


@pytest.mark.parametrize("form", ["nd", "ns"])
def test_to_natural_absorbs_the_loss_scale_into_critical_sizes(form: str) -> None:
    """X_c = X_c' * scale_X * loss_scale^(1/alpha_X); exponents are unchanged."""
    family = get_family("kaplan", form=form)
    scales = {"params": 3e7, "data": 2e9, "steps": 5e3}
    loss_scale = 2.4
    p = draw_prior(family, 50, seed=2)
    natural = family.to_natural(p, scales, loss_scale)
    np.testing.assert_allclose(
        natural["N_c"], p["N_c"] * scales["params"] * loss_scale ** (1 / p["alpha_N"])
    )
    other, exponent, x = ("D_c", "alpha_D", "data") if form == "nd" else ("S_c", "alpha_S", "steps")
    np.testing.assert_allclose(
        natural[other], p[other] * scales[x] * loss_scale ** (1 / p[exponent])
    )
    np.testing.assert_array_equal(natural["alpha_N"], p["alpha_N"])
    np.testing.assert_array_equal(natural[exponent], p[exponent])


@pytest.mark.parametrize("form", ["nd", "ns"])
def test_natural_curve_equals_scaled_model_curve(form: str) -> None:
    """Natural-unit parameters at natural inputs give loss_scale x the model-unit loss."""
    family = get_family("kaplan", form=form)
    second = "data" if form == "nd" else "steps"
    scales = {"params": 3e7, second: 2e9 if form == "nd" else 5e3}
    loss_scale = 2.4
    rng = np.random.default_rng(4)
    n = np.exp(rng.uniform(np.log(1e6), np.log(1e9), 30))
    other = np.exp(rng.uniform(np.log(scales[second] / 30), np.log(scales[second] * 30), 30))
    p = {k: float(np.median(v)) for k, v in draw_prior(family, 501, seed=5).items()}
    natural = family.to_natural(p, scales, loss_scale)
    model = family.curve(np, at({"params": n, second: other}, scales), p)
    nat = family.curve(np, at({"params": n, second: other}), natural)
    np.testing.assert_allclose(nat, loss_scale * model, rtol=1e-9)


@pytest.mark.parametrize("form", ["nd", "ns"])
def test_prior_predictive_is_plausible_for_each_form(form: str) -> None:
    """The contract's prior check (it covers the default form only), for both forms."""
    family = get_family("kaplan", form=form)
    grid = np.meshgrid(np.geomspace(0.1, 10, 7), np.geomspace(0.1, 10, 7))
    x = at(dict(zip(family.inputs, (g.ravel() for g in grid), strict=True)))
    draws = draw_prior(family, 2000, seed=0)
    loss = family.curve(np, {k: v[:, None] for k, v in x.items()}, draws)
    assert np.isfinite(loss).all() and (loss > 0).all()
    q05, q50, q95 = np.quantile(loss, [0.05, 0.5, 0.95])
    assert 0.05 < q05 < q95 < 50
    assert 0.8 < q50 < 2.0  # centred near the best observed loss, as model units intend


@pytest.mark.slow
def test_size_data_recovery() -> None:
    """Kaplan-like truth on a 40-run N x D sweep: 90 % intervals cover every parameter."""
    family = get_family("kaplan")
    rng = np.random.default_rng(21)
    n = np.exp(rng.uniform(np.log(1e6), np.log(1e9), 40))
    d = np.exp(rng.uniform(np.log(1e8), np.log(1e11), 40))
    data = simulate(family, ND, {"params": n, "data": d}, noise=0.01, seed=22)
    assert_recovered(data, family, ND)
