"""Simulators: known parameters in, noisy observations out (tests, SBC, the bundled example).

``simulate`` evaluates a family's curve with natural-unit parameters (reference scales of 1, so
model units are natural units) and multiplies by log-normal noise, the likelihood the models
assume. ``draw_prior`` draws parameters from a family's default priors for prior-predictive
checks and simulation-based calibration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from models.build import scaled_inputs
from models.data import Scales, ScalingData
from models.families import ScalingLaw, get_family


def simulate(
    family: ScalingLaw,
    truth: Mapping[str, float | Sequence[float]],
    inputs: Mapping[str, np.ndarray],
    *,
    groups: Sequence[str] | None = None,
    noise: float = 0.02,
    seed: int = 0,
) -> ScalingData:
    """Noisy losses at ``inputs`` under ``truth``.

    Parameters
    ----------
    family
        Family whose curve generates the data.
    truth
        Parameter -> value (natural units), or one value per group.
    inputs
        Canonical input -> values per row (every row is simulated for every group).
    groups
        Group names; each gets all rows. None means one group.
    noise
        Standard deviation of log loss (0.02 is 2 % run-to-run scatter).
    seed
        Random seed.
    """
    rng = np.random.default_rng(seed)
    names = list(groups) if groups is not None else [None]
    n = len(next(iter(inputs.values())))
    unit = Scales(dict.fromkeys(family.inputs, 1.0), 1.0)
    x = scaled_inputs(inputs, family.inputs, unit)
    losses, labels = [], []
    for i, g in enumerate(names):
        p = {
            k: np.asarray(v, dtype=float)[i] if np.ndim(v) else np.asarray(v, dtype=float)
            for k, v in truth.items()
        }
        clean = np.asarray(family.curve(np, x, p), dtype=float)
        losses.append(clean * np.exp(noise * rng.standard_normal(n)))
        labels.extend([g] * n)
    stacked = {k: np.tile(np.asarray(v, dtype=float), len(names)) for k, v in inputs.items()}
    return ScalingData(
        stacked, np.concatenate(losses), None if groups is None else np.array(labels)
    )


def simulate_runs(
    family: ScalingLaw,
    truth: Mapping[str, float],
    inputs: Mapping[str, np.ndarray],
    *,
    n_runs: int,
    sigma_run: float = 0.05,
    noise: float = 0.005,
    seed: int = 0,
    prefix: str = "run",
) -> tuple[ScalingData, np.ndarray]:
    """Trajectories of ``n_runs`` training runs of one configuration; returns data and offsets.

    Every run is measured at all ``inputs`` rows (its checkpoints) and shifted on log loss by its
    own offset ``b_r ~ Normal(0, sigma_run)`` (seed, data order) on top of per-checkpoint noise
    ``noise``: the model that :mod:`models.runs` fits. Runs are named ``f"{prefix}{r}"``.
    """
    rng = np.random.default_rng(seed)
    n = len(next(iter(inputs.values())))
    unit = Scales(dict.fromkeys(family.inputs, 1.0), 1.0)
    clean = np.asarray(
        family.curve(np, scaled_inputs(inputs, family.inputs, unit), dict(truth)), dtype=float
    )
    offsets = sigma_run * rng.standard_normal(n_runs)
    log_loss = np.log(clean)[None, :] + offsets[:, None] + noise * rng.standard_normal((n_runs, n))
    names = np.repeat([f"{prefix}{r}" for r in range(n_runs)], n).astype(object)
    stacked = {k: np.tile(np.asarray(v, dtype=float), n_runs) for k, v in inputs.items()}
    return ScalingData(stacked, np.exp(log_loss.ravel()), run=names), offsets


def draw_prior(family: ScalingLaw, n: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` draws of every parameter from the family's default (flat) priors, model units."""
    rng = np.random.default_rng(seed)
    return {p.name: p.prior.draw(rng, n) for p in family.params}


# scale_time in natural units (N0 = 1, tau = t N^kappa): a fast mode group that fits label noise
# and a slow one that still holds signal, so F falls, rises, falls (epoch-wise double descent).
# The gallery, the benchmark task and the tests simulate from it.
SCALE_TIME_EXAMPLE: Mapping[str, float] = MappingProxyType(
    {
        "E": 0.5,
        "kappa": 0.4,
        "l1": 1e-4,
        "dlog_l2": math.log(300.0),
        "S1": 1.0,
        "S2": 1.5,
        "V1": 0.8,
        "V2": 0.2,
    }
)

EXAMPLE_ARCHITECTURES = {
    # name: (E, A, B, alpha, beta), LM-like values around Chinchilla's published fit
    "transformer": (1.80, 480.0, 2000.0, 0.34, 0.36),
    "transformer-moe": (1.72, 420.0, 1800.0, 0.36, 0.35),
    "mamba": (1.86, 520.0, 2300.0, 0.33, 0.37),
    "rwkv": (1.90, 600.0, 2100.0, 0.32, 0.36),
}


def example_dataset(seed: int = 0, *, points_per_group: int = 25) -> ScalingData:
    """Simulate the bundled example: four architectures under a chinchilla law, 1.5 % noise.

    Each architecture gets its own sweep of N and D; ``bayescale demo`` and the README use it.
    """
    rng = np.random.default_rng(seed)
    family = get_family("chinchilla")
    parts = []
    for i, (name, (e, a, b, alpha, beta)) in enumerate(EXAMPLE_ARCHITECTURES.items()):
        n_params = np.exp(rng.uniform(np.log(2e7), np.log(2e9), points_per_group))
        n_tokens = n_params * np.exp(rng.uniform(np.log(5.0), np.log(60.0), points_per_group))
        truth = {"E": e, "A": a, "B": b, "alpha": alpha, "beta": beta}
        parts.append(
            simulate(
                family,
                truth,
                {"params": n_params, "data": n_tokens},
                groups=[name],
                noise=0.015,
                seed=seed * 100 + i,
            )
        )
    return ScalingData(
        {k: np.concatenate([p.inputs[k] for p in parts]) for k in ("params", "data")},
        np.concatenate([p.loss for p in parts]),
        np.concatenate([p.group for p in parts]),
    )
