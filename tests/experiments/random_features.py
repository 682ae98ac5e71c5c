r"""The Maloney-Roberts-Sully random-feature experiment, run for real, and its exact theory.

Generative model (MRS §2, seed-papers.md §2.2-2.3):

* latent Gaussian ``x ∈ R^M`` with covariance ``diag(λ_I)``, ``λ_I = λ₊ I^-(1+α)``, ``I = 1..M``;
* a random teacher ``w ~ N(0, σ_w²/M)``, labels ``y = w·x + ε`` (``ε ~ N(0, s²)``, ``s = 0`` by
  default);
* random linear features ``φ = U x``, ``U ∈ R^{N×M}`` with iid ``N(0, σ_u²/M)`` entries;
* a linear model on the features fitted on ``T`` training samples by min-norm least squares
  (``ridge = 0``, the pinv solution, computed by QR) or ridge regression ``(ΦᵀΦ + γ I)⁻¹ Φᵀ y``;
* the test loss ``E (z(x) − w·x)²`` on ``n_test`` fresh samples (against the clean teacher, so the
  noiseless loss has no floor), or its exact expectation over ``x`` when ``n_test = 0``.

Nothing here evaluates the closed form: double descent at ``N = T`` and the plateau once
``min(N, T) ≳ M`` come from the fitted weights. Designs are nested per seed (features ``1..N``
and samples ``1..T`` are prefixes of one draw), so a grid shares its randomness like a real
sweep of widths and dataset sizes does.

The exact ridgeless theory (seed-papers.md 2.4a-b) is :func:`theory_loss`: ``κ_n`` solves
``Σ_I λ_I/(λ_I + κ) = n`` (bisection then Newton on ``log κ``), ``E(n) = (σ_w²/M) n κ_n`` and
``<L> = E(m) Mx/(Mx − m)`` with ``m = min(N, T)``, ``Mx = max(N, T)``.

Citation: Maloney, Roberts & Sully 2022, "A Solvable Model of Neural Scaling Laws"
(arXiv:2210.16859).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import solve_triangular

from models.data import ScalingData


def spectrum(m_latent: int, alpha: float, lam_plus: float = 1.0) -> np.ndarray:
    """Latent eigenvalues ``λ_I = λ₊ I^-(1+α)``, ``I = 1..M``."""
    return lam_plus * np.arange(1, m_latent + 1, dtype=float) ** -(1.0 + alpha)


def effective_regulariser(
    n: float | np.ndarray, m_latent: int, alpha: float, lam_plus: float = 1.0
) -> np.ndarray:
    """``κ_n`` solving ``Σ_{I≤M} λ_I/(λ_I + κ) = n`` (2.4a); ``0`` where ``n ≥ M``.

    Vectorised over ``n``: 200 bisection steps on ``log κ`` bracket the root, then 3 Newton steps
    polish it to machine precision.
    """
    lam = spectrum(m_latent, alpha, lam_plus)
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    inside = n_arr < m_latent
    target = n_arr[inside][:, None]
    lo = np.full((target.shape[0], 1), np.log(lam[-1]) - 60.0)
    hi = np.full_like(lo, np.log(lam[0]) + 60.0)

    def count(log_k: np.ndarray) -> np.ndarray:
        return np.asarray((lam / (lam + np.exp(log_k))).sum(axis=1, keepdims=True))

    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = count(mid) > target  # too many modes resolved: kappa too small
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    log_k = 0.5 * (lo + hi)
    for _ in range(3):
        k = np.exp(log_k)
        frac = lam / (lam + k)
        slope = -(frac * (1.0 - frac)).sum(axis=1, keepdims=True)
        log_k = log_k - (frac.sum(axis=1, keepdims=True) - target) / slope
    out = np.zeros_like(n_arr)
    out[inside] = np.exp(log_k[:, 0])
    return out.reshape(np.shape(n))


def approximation_error(
    n: float | np.ndarray,
    m_latent: int,
    alpha: float,
    sigma_w2: float = 1.0,
    lam_plus: float = 1.0,
) -> np.ndarray:
    """``E(n) = (σ_w²/M) n κ_n``: the best loss with ``n`` random projections (exact, finite M)."""
    kappa = effective_regulariser(n, m_latent, alpha, lam_plus)
    return np.asarray(sigma_w2 / m_latent * np.asarray(n, dtype=float) * kappa)


def amplitude(m_latent: int, alpha: float, sigma_w2: float = 1.0, lam_plus: float = 1.0) -> float:
    """``K = (σ_w² λ₊/M) c_α^(1+α)``, ``c_α = π/((1+α) sin(π/(1+α)))`` (2.4c): E(n) ≈ K n^-α."""
    beta = 1.0 + alpha
    c_alpha = np.pi / (beta * np.sin(np.pi / beta))
    return float(sigma_w2 * lam_plus / m_latent * c_alpha**beta)


def theory_loss(
    n_features: float | np.ndarray,
    n_samples: float | np.ndarray,
    m_latent: int,
    alpha: float,
    sigma_w2: float = 1.0,
    lam_plus: float = 1.0,
) -> np.ndarray:
    """Ridgeless, noiseless mean test loss ``E(m) Mx/(Mx − m)`` (2.4b); ``inf`` at ``N = T``.

    Valid for ``max(N, T) < M`` and, by its finite-M ``E``, towards ``min(N, T) → M``; beyond
    ``M`` linear features stop adding rank and (2.4b) no longer applies.
    """
    n_f, n_s = np.broadcast_arrays(
        np.asarray(n_features, dtype=float), np.asarray(n_samples, dtype=float)
    )
    small, large = np.minimum(n_f, n_s), np.maximum(n_f, n_s)
    err = approximation_error(small.ravel(), m_latent, alpha, sigma_w2, lam_plus).reshape(
        small.shape
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(large > small, err * large / (large - small), np.inf)


def _fit_weights(phi: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Min-norm least squares (ridge 0) or ridge regression (primal or dual, the smaller)."""
    t, n = phi.shape
    if ridge == 0.0:  # min-norm least squares via QR: stable, and cheaper than an SVD
        if n <= t:
            q, r = np.linalg.qr(phi)
            return np.asarray(solve_triangular(r, q.T @ y))
        q, r = np.linalg.qr(phi.T)
        return np.asarray(q @ solve_triangular(r, y, trans="T"))
    if n <= t:
        return np.asarray(np.linalg.solve(phi.T @ phi + ridge * np.eye(n), phi.T @ y))
    return np.asarray(phi.T @ np.linalg.solve(phi @ phi.T + ridge * np.eye(t), y))


def run(
    n_features: Sequence[int] | np.ndarray,
    n_samples: Sequence[int] | np.ndarray,
    *,
    m_latent: int = 500,
    alpha: float = 1.0,
    ridge: float = 0.0,
    label_noise: float = 0.0,
    seeds: int = 3,
    n_test: int = 2000,
    sigma_w2: float = 1.0,
    sigma_u2: float = 1.0,
    lam_plus: float = 1.0,
    seed: int = 0,
    group: str | None = None,
) -> ScalingData:
    """Train random-feature regressions at each ``(N, T)`` row and measure their test loss.

    Parameters
    ----------
    n_features, n_samples
        One row per point: the number of features ``N`` and training samples ``T``.
    m_latent
        Latent dimension ``M`` (keep ≤ ~1000 for second-scale runs).
    alpha
        Spectral exponent: ``λ_I ∝ I^-(1+α)``; the loss exponent in ``N`` and ``T``.
    ridge
        Ridge ``γ`` (0: min-norm interpolation, the sharp double-descent pole at ``N = T``).
    label_noise
        Standard deviation ``s`` of the training-label noise.
    seeds
        Independent draws of teacher, features and data; the reported loss is their mean.
    n_test
        Fresh test samples per seed; 0 computes the exact expectation over ``x`` instead.
    sigma_w2, sigma_u2, lam_plus
        Teacher variance, feature-weight variance, top eigenvalue.
    seed
        Seed of the whole experiment.
    group
        Optional group label for every row.

    Returns
    -------
    ScalingData
        Inputs ``params`` = N and ``data`` = T; ``loss`` = mean test loss over seeds.
    """
    n_f = np.asarray(n_features, dtype=int).ravel()
    n_s = np.asarray(n_samples, dtype=int).ravel()
    if n_f.shape != n_s.shape or n_f.size == 0 or (n_f < 1).any() or (n_s < 1).any():
        raise ValueError("n_features and n_samples need equal, non-empty, positive entries")
    lam = spectrum(m_latent, alpha, lam_plus)
    root = np.sqrt(lam)
    rng = np.random.default_rng(seed)
    losses = np.zeros((seeds, n_f.size))
    for s in range(seeds):
        w = rng.standard_normal(m_latent) * np.sqrt(sigma_w2 / m_latent)
        u = rng.standard_normal((n_f.max(), m_latent)) * np.sqrt(sigma_u2 / m_latent)
        x_train = rng.standard_normal((n_s.max(), m_latent)) * root
        y_train = x_train @ w + label_noise * rng.standard_normal(n_s.max())
        phi_train = x_train @ u.T
        x_test = rng.standard_normal((n_test, m_latent)) * root if n_test else None
        for i, (n, t) in enumerate(zip(n_f, n_s, strict=True)):
            theta = _fit_weights(phi_train[:t, :n], y_train[:t], ridge)
            residual = u[:n].T @ theta - w  # effective latent weights minus the teacher
            if x_test is None:
                losses[s, i] = float(residual**2 @ lam)
            else:
                losses[s, i] = float(np.mean((x_test @ residual) ** 2))
    return ScalingData(
        {"params": n_f.astype(float), "data": n_s.astype(float)},
        losses.mean(axis=0),
        None if group is None else np.full(n_f.size, group),
    )
