r"""Gradient flow on a linear model in a random subspace: data for scale-time fits.

The experiment of Boopathy & Fiete (2024, arXiv:2409.05782, §1.2 and §1.5 of
``docs/seed-papers.md``) in miniature: a linear teacher, noisy labels, a small model that trains
a random ``p``-dimensional parametrisation of the weights by gradient flow, and the test loss
measured over a sweep of model sizes and training times. Nothing here evaluates a scaling-law
formula: the losses come from actually fitting sampled data.

Setup
-----
* Inputs ``x ~ N(0, Σ)`` in ``d`` dimensions. ``Σ`` has two well-separated groups of
  eigenvalues: ``d_fast`` directions with variance ``1`` and ``d - d_fast`` with variance
  ``slow`` (default 0.005), so features are learned on two time-scales.
* Teacher ``w*`` with signal power ``signal_fast`` in the fast group and ``signal_slow`` in the
  slow one (power = ``Σ_i λ_i w*_i²``).
* ``n`` training samples. **Label noise**: a fraction ``label_noise`` of the training labels is
  corrupted by adding ``N(0, corruption_sd²)`` (unbiased corruption, noise variance
  ``label_noise · corruption_sd²``). Test labels are clean.
* **Model size** (the random-subspace model, eq. 1 of the paper): weights ``β = R θ / √p0``
  with ``R ∈ R^{d×p}`` iid ``N(0, 1)``, ``θ(0) = 0``, trained by gradient flow on the training
  MSE ``(1/2n)||y − Xβ||²``. Then ``dβ/dt = −M (Hβ − b)`` with ``M = R Rᵀ / p0``,
  ``H = XᵀX/n`` and ``b = Xᵀy/n``. Because ``E[M] = (p/p0) I``, the trajectory depends on
  ``(p, t)`` through ``p·t`` up to relative fluctuations of order ``√(d/p)``; sizes are kept at
  ``p ≥ 10 d`` so the subspace spans every direction (no capacity limit).
* The flow is solved exactly per eigen-mode of ``M^{1/2} H M^{1/2}`` (mode ``i`` relaxes as
  ``1 − exp(−λ_i t)``), so any time is computed at once without discretisation error.
* **Test loss**: the population excess risk ``(β − w*)ᵀ Σ (β − w*)`` plus the variance of the
  clean test label noise ``test_noise`` (a floor). With ``measure_n > 0`` it is measured on
  that many held-out samples instead.

What "size" means, and the true κ
---------------------------------
The trainable dimension ``p`` is the *effective* size. The reported ``params`` column is
``p ** size_power`` (default 3: the paper's convention ``p_eff ∝ P^{1/3}``), so the experiment
obeys ``L(P, t) ≈ F(t · P^κ)`` with **κ = 1 / size_power** (1/3 by default; κ = 1 with
``size_power=1``). :func:`true_kappa` returns it. ``steps`` is the gradient-flow time ``t``.
``data`` is ``n`` and ``label_noise`` the corrupted fraction, when requested.

Runs in well under a second for the default sweep (5 sizes × 16 times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.data import ScalingData


@dataclass(frozen=True)
class GradientFlowSetup:
    """The teacher, data and model-size conventions of the experiment."""

    d: int = 40
    d_fast: int = 20
    slow: float = 0.005
    signal_fast: float = 0.5
    signal_slow: float = 1.5
    corruption_sd: float = 2.0
    test_noise: float = 0.05
    p0: int = 2000
    size_power: float = 3.0
    measure_n: int = 0


DEFAULT_P = (2000, 4000, 8000, 16000, 32000)
DEFAULT_STEPS = tuple(float(t) for t in np.geomspace(0.02, 2000.0, 16))


def true_kappa(setup: GradientFlowSetup | None = None) -> float:
    """The exchange exponent the experiment implies: ``params = p ** size_power``."""
    return 1.0 / (setup or GradientFlowSetup()).size_power


def _teacher(setup: GradientFlowSetup, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Input variances (d,) and teacher weights (d,) with the requested signal per group."""
    variances = np.full(setup.d, setup.slow)
    variances[: setup.d_fast] = 1.0
    w = rng.standard_normal(setup.d)
    fast = np.arange(setup.d) < setup.d_fast
    for mask, power in ((fast, setup.signal_fast), (~fast, setup.signal_slow)):
        current = float(np.sum(variances[mask] * w[mask] ** 2))
        w[mask] *= np.sqrt(power / current)
    return variances, w


def _trajectory(m: np.ndarray, h: np.ndarray, b: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Exact gradient flow ``dβ/dt = −M(Hβ − b)``, ``β(0) = 0``: weights (times, d)."""
    m_vals, m_vecs = np.linalg.eigh(m)
    root = (m_vecs * np.sqrt(np.clip(m_vals, 0.0, None))) @ m_vecs.T  # M^{1/2}
    lam, q = np.linalg.eigh(root @ h @ root)
    lam = np.clip(lam, 0.0, None)
    proj = q.T @ (root @ b)  # drive per mode
    lt = np.outer(steps, lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(lam > 1e-12, -np.expm1(-lt) / lam, steps[:, None])  # (1 − e^{−λt}) / λ
    u = gain * proj  # (times, modes)
    beta: np.ndarray = (u @ q.T) @ root  # β = M^{1/2} Q u
    return beta


def run(
    sizes: Sequence[int] = DEFAULT_P,
    steps: Sequence[float] = DEFAULT_STEPS,
    *,
    n_train: int | Sequence[int] = 120,
    label_noise: float | Sequence[float] = 0.2,
    setup: GradientFlowSetup | None = None,
    extra_inputs: bool = False,
    seed: int = 0,
) -> ScalingData:
    """Train the linear model at every (size, n, label noise) and record test loss over time.

    Parameters
    ----------
    sizes
        Effective sizes ``p`` (trainable dimension); reported as ``params = p ** size_power``.
    steps
        Gradient-flow times at which the test loss is measured (same for every size).
    n_train
        Training-set size(s) ``n``; a sequence sweeps it (one training set per value).
    label_noise
        Fraction(s) of corrupted training labels, in [0, 1).
    setup
        Teacher, spectrum and size conventions (see :class:`GradientFlowSetup`).
    extra_inputs
        Also return the ``data`` (= n) and ``label_noise`` columns.
    seed
        Seeds the teacher, the training sets, the corruption and each size's subspace.

    Returns
    -------
    ScalingData
        One row per (n, label noise, size, time): inputs ``params`` and ``steps`` (plus
        ``data`` and ``label_noise`` with ``extra_inputs``), loss = test MSE.
    """
    setup = setup or GradientFlowSetup()
    rng = np.random.default_rng(seed)
    variances, w_star = _teacher(setup, rng)
    t = np.asarray(steps, dtype=float)
    columns: dict[str, list[np.ndarray]] = {"params": [], "steps": [], "data": [], "noise": []}
    losses = []
    test_x = (
        rng.standard_normal((setup.measure_n, setup.d)) * np.sqrt(variances)
        if setup.measure_n
        else None
    )
    for n in np.atleast_1d(n_train).astype(int):
        x = rng.standard_normal((n, setup.d)) * np.sqrt(variances)
        clean = x @ w_star
        corrupt_draw = rng.uniform(size=n)
        shock = setup.corruption_sd * rng.standard_normal(n)
        h = x.T @ x / n
        for eps in np.atleast_1d(label_noise).astype(float):
            y = clean + np.where(corrupt_draw < eps, shock, 0.0)
            b = x.T @ y / n
            for p in sizes:
                r = rng.standard_normal((setup.d, int(p)))
                beta = _trajectory(r @ r.T / setup.p0, h, b, t)
                err = beta - w_star
                if test_x is None:
                    excess = np.einsum("td,d,td->t", err, variances, err)
                else:
                    excess = np.mean((err @ test_x.T) ** 2, axis=1)
                losses.append(excess + setup.test_noise)
                columns["params"].append(np.full(len(t), float(p) ** setup.size_power))
                columns["steps"].append(t)
                columns["data"].append(np.full(len(t), float(n)))
                columns["noise"].append(np.full(len(t), eps))
    inputs = {
        "params": np.concatenate(columns["params"]),
        "steps": np.concatenate(columns["steps"]),
    }
    if extra_inputs:
        inputs["data"] = np.concatenate(columns["data"])
        inputs["label_noise"] = np.concatenate(columns["noise"])
    return ScalingData(inputs, np.concatenate(losses))
