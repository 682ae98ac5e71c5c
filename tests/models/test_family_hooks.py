"""Planning asks a family for its closed forms (hooks), never tests which class it is.

A family outside the Chinchilla class that offers the closed-form allocation gets it reported;
one without a training-time axis is refused by the time trade-off with the family named.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import models
from models.families.chinchilla import Chinchilla
from tests.utils import fake_fit


class SameLawOtherClass(models.ScalingLaw):
    """Chinchilla's law under another name and class: what a new family plugging in looks like."""

    name = "same_law"
    formula = Chinchilla.formula
    citation = Chinchilla.citation
    use_when = Chinchilla.use_when
    params = Chinchilla.params
    default_pooling = Chinchilla.default_pooling
    inputs = Chinchilla.inputs
    curve = Chinchilla.curve
    derived = Chinchilla.derived
    closed_form_allocation = Chinchilla.closed_form_allocation


def with_family(fit: models.Fit, family: models.ScalingLaw) -> models.Fit:
    out = dataclasses.replace(fit, config=dataclasses.replace(fit.config, family=family))
    out.family = family
    return out


def test_only_families_with_the_hook_implement_it() -> None:
    assert models.get_family("chinchilla").implements("closed_form_allocation")
    assert not models.get_family("kaplan").implements("closed_form_allocation")
    assert models.get_family("scale_time").implements("log_time_range")
    assert not models.get_family("kaplan").implements("log_time_range")  # has steps, no F(tau)


def test_closed_form_comes_from_the_family_hook_not_its_class() -> None:
    fit = fake_fit(spread=0.05)
    own = with_family(fit, SameLawOtherClass())
    expected = models.compute_optimal(fit, 1e22).budgets[0]
    got = models.compute_optimal(own, 1e22).budgets[0]
    assert got.closed_form is not None and expected.closed_form is not None
    for name in ("closed_params", "closed_data", "closed_loss"):
        np.testing.assert_array_equal(got.draws[name], expected.draws[name])


def test_closed_form_loss_is_the_curve_at_the_optimum() -> None:
    fam = models.get_family("chinchilla")
    natural = {
        k: np.array([v])
        for k, v in {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.34, "beta": 0.28}.items()
    }
    n, d, loss = fam.closed_form_allocation(natural, 1e21, 6.0, -np.inf, np.inf)
    np.testing.assert_allclose(6.0 * n * d, 1e21, rtol=1e-12)
    direct = 1.8 + 400.0 * n**-0.34 + 2000.0 * d**-0.28
    np.testing.assert_allclose(loss, direct, rtol=1e-12)


def test_time_tradeoff_refuses_a_family_without_a_time_axis() -> None:
    with pytest.raises(models.PredictionError, match="scale_time fit"):
        models.scale_time_tradeoff(fake_fit(), 1.8)
