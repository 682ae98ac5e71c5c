"""Pivot coordinates (models.pivot): the bijection, its unit Jacobian, where it applies, and
that the model's density is unchanged by it (PyMC graphs, no sampling)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.build import build_model, prepare
from models.config import resolve_config
from models.errors import PriorError
from models.families import get_family
from models.pivot import (
    SHARED_NAME,
    Layout,
    from_pivot,
    placement,
    to_pivot,
)
from models.simulate import example_dataset
from models.spec import FitSpec


def jacobian_log_det(layout: Layout, y: np.ndarray, step: float = 1e-6) -> float:
    """``log |det d from_pivot / dy|`` at ``y`` by central differences."""
    jac = np.empty((layout.size, layout.size))
    for j in range(layout.size):
        dy = np.zeros(layout.size)
        dy[j] = step
        jac[:, j] = (from_pivot(np, layout, y + dy) - from_pivot(np, layout, y - dy)) / (2 * step)
    return float(np.linalg.slogdet(jac)[1])


ONE_TERM = Layout(3, 0, (1,), (2,))
TWO_TERMS = Layout(5, 0, (1, 2), (3, 4))
# Other entries in between and the floor not first: the slots are the layout's, not an order.
MIXED = Layout(7, 2, (0, 5, 1), (3, 4, 6))


@pytest.mark.parametrize("layout", [ONE_TERM, TWO_TERMS, MIXED])
def test_round_trip_and_unit_jacobian(layout: Layout) -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        theta = rng.normal(scale=2.0, size=layout.size)
        y = to_pivot(np, layout, theta)
        np.testing.assert_allclose(from_pivot(np, layout, y), theta, atol=1e-12)
        assert abs(jacobian_log_det(layout, y)) < 1e-6


def test_pivot_coordinates_are_level_slope_and_floor_odds() -> None:
    e, a, b, alpha, beta = 0.5, 0.3, 0.2, 0.34, 0.28
    theta = np.log([e, a, b, alpha, beta])
    v, u, rho, w_a, w_b = to_pivot(np, TWO_TERMS, theta)
    assert u == pytest.approx(np.log(e + a + b))  # the loss at the inputs' centre
    assert v == pytest.approx(np.log(e / (a + b)))  # floor against the reducible loss
    assert rho == pytest.approx(np.log(b / a))
    assert (w_a, w_b) == pytest.approx((np.log(alpha * a), np.log(beta * b)))  # slopes


def test_extreme_values_stay_finite() -> None:
    y = np.array([40.0, 3.0, -40.0])  # floor almost all of the level; then almost none
    for v in (40.0, -40.0):
        y[0] = v
        assert np.all(np.isfinite(from_pivot(np, ONE_TERM, y)))


def _config(family: str, groups: int, **kw: object):
    fam = get_family(family, **({"x": "params"} if family != "chinchilla" else {}))
    return resolve_config(fam, groups, **kw)[0]  # type: ignore[arg-type]


def test_placement_by_pooling_and_priors() -> None:
    pooled = placement(_config("chinchilla", 4))
    assert pooled is not None and pooled.where == "block" and pooled.block == "pooled"
    shared = placement(_config("chinchilla", 1))
    assert shared is not None and shared.where == "shared"
    assert shared.names == ("E", "A", "B", "alpha", "beta")
    bnsl = placement(_config("broken_power_law", 3))
    assert bnsl is not None and bnsl.names == ("a", "b", "c0", "d1", "f1")  # c1: other block
    assert placement(_config("chinchilla", 4, parametrisation="natural")) is None
    # not exact there: a floor prior that is not log-normal, mixed pooling, no declared pivot
    half = {"E": {"dist": "HalfNormal", "kwargs": {"sigma": 1.0}}}
    assert placement(_config("chinchilla", 1, priors=half)) is None
    assert placement(_config("chinchilla", 4, pooling={"alpha": "shared"})) is None
    bounded = {"E": {"mu": {"dist": "Uniform", "kwargs": {"lower": -3, "upper": 1}},
                     "sigma": {"dist": "HalfNormal", "kwargs": {"sigma": 0.2}}}}  # fmt: skip
    assert placement(_config("power_law", 4, priors=bounded)) is None
    assert placement(_config("saturating_power_law", 4)) is None


def test_structure_key_and_stored_config() -> None:
    pivot, natural = _config("chinchilla", 4), _config("chinchilla", 4, parametrisation="natural")
    assert pivot.structure_key != natural.structure_key
    assert pivot.to_json()["parametrisation"] == "pivot"
    assert "parametrisation" not in natural.to_json()  # the key of models built before it
    untouched = _config("saturating_power_law", 4)
    assert "parametrisation" not in untouched.to_json()
    with pytest.raises(PriorError) as err:
        _config("chinchilla", 4, parametrisation="rotated")
    assert err.value.field == "parametrisation"


def test_spec_round_trip() -> None:
    spec = FitSpec(family="chinchilla", parametrisation="natural")
    assert FitSpec.from_json(spec.to_json()).parametrisation == "natural"
    assert FitSpec.from_json({"family": "chinchilla"}).parametrisation == "pivot"


@pytest.mark.parametrize(
    ("family", "groups"), [("chinchilla", 1), ("chinchilla", 4), ("broken_power_law", 4)]
)
def test_model_density_is_unchanged(family: str, groups: int) -> None:
    """The same point in both coordinates has the same log density, Jacobians included."""
    data = example_dataset(0, points_per_group=8)
    if groups == 1:
        data = data.subset(data.group_index == 0)
    pivot_config = _config(family, groups)
    natural_config = dataclasses.replace(pivot_config, parametrisation="natural")
    md = prepare(data, pivot_config.family.inputs, data.default_scales(pivot_config.family.inputs))
    natural, pivot = build_model(natural_config, md), build_model(pivot_config, md)
    where = placement(pivot_config)
    assert where is not None
    logp_natural, logp_pivot = natural.compile_logp(), pivot.compile_logp()
    rng = np.random.default_rng(1)
    start = natural.initial_point()
    gaps = []
    for _ in range(3):
        point = {k: v + rng.normal(scale=0.3, size=np.shape(v)) for k, v in start.items()}
        moved = dict(point)
        if where.where == "shared":
            logs = np.array([moved.pop(f"{n}_log__") for n in where.names])
            moved[f"{SHARED_NAME}_pivot__"] = to_pivot(np, where.layout, logs)
        else:
            means = moved.pop(f"{where.block}_mu")
            moved[f"{where.block}_mu_pivot__"] = to_pivot(np, where.layout, means)
        gaps.append(float(logp_natural(point)) - float(logp_pivot(moved)))
    # equal up to a constant (PyMC's log-normal and normal constants differ by ~5e-9 a term)
    assert np.ptp(gaps) < 1e-9 and abs(gaps[0]) < 1e-6
