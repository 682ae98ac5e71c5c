"""Fake posteriors (no MCMC) of the families the plots draw, built once per module."""

from __future__ import annotations

import numpy as np
import pytest

import models
from models.auto import combine
from models.discrepancy import Discrepancy, log10_ranges
from tests.utils import SCALE_TIME_TRUTH, fake_fit

GROUPS = ["mamba", "transformer", "rwkv"]


@pytest.fixture(scope="session")
def chinchilla():
    """Three architectures, every parameter partially pooled."""
    truth = {
        "E": [1.8, 1.7, 1.9],
        "A": 480.0,
        "B": 2000.0,
        "alpha": [0.34, 0.36, 0.32],
        "beta": 0.36,
    }
    return fake_fit(groups=GROUPS, truth=truth)


@pytest.fixture(scope="session")
def held_out(chinchilla):
    """The runs above 5e8 parameters: what a backtest would hold out."""
    return chinchilla.data.subset(chinchilla.data.inputs["params"] > 5e8)


@pytest.fixture(scope="session")
def scale_time():
    sizes, steps = np.meshgrid(np.geomspace(1e4, 1e7, 5), np.geomspace(10, 1e5, 8))
    inputs = {"params": sizes.ravel(), "steps": steps.ravel()}
    return fake_fit("scale_time", SCALE_TIME_TRUTH, inputs=inputs, draws=100)


@pytest.fixture(scope="session")
def double_descent():
    n = np.geomspace(10, 1000, 30)
    truth = {"E": 0.05, "A": 3.0, "alpha": 0.8, "kappa": 1.0, "h0": 3.0, "w": 0.3}
    return fake_fit("double_descent", truth, inputs={"params": n, "data": np.full(30, 100.0)})


@pytest.fixture(scope="session")
def fits(chinchilla, scale_time, double_descent) -> dict[str, models.Fit]:
    """The fit each kind is drawn for (chinchilla unless the kind needs its own family)."""
    return {
        "chinchilla": chinchilla,
        "scale_time": scale_time,
        "double_descent": double_descent,
        "auto": stacked_fit(),
    }


def stacked_fit() -> models.Fit:
    """A family-auto fit of two laws (weights 0.6, 0.4) built from fake members."""
    members = [fake_fit(seed=1), fake_fit(seed=2, spread=0.05)]
    for m in members:
        m.discrepancy = Discrepancy.from_prior(log10_ranges(m.data.inputs, m.family.inputs))
    return combine(members, np.array([0.6, 0.4]), members[0].data, None, members[0].settings)


def fit_for(kind: str, fits: dict[str, models.Fit]) -> models.Fit:
    return fits.get(
        {"iso_loss": "scale_time", "double_descent": "double_descent", "members": "auto"}.get(
            kind, ""
        ),
        fits["chinchilla"],
    )
