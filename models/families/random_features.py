r"""Random-feature scaling law of Maloney, Roberts & Sully (MRS): double descent and a plateau.

.. math::

    L(N, T) = L_0 + K \, m^{-\alpha} \, h\!\left(\tfrac{m}{M}; \alpha\right)
              \frac{M_x}{\sqrt{(N - cT)^2 + (g\, m)^2}},
    \qquad m = \operatorname{softmin}(N, cT), \quad M_x = \operatorname{softmax}(N, cT)

``N`` is the number of features or parameters (``params``), ``T`` the number of training samples
(``data``). The theory (seed-papers.md §2.4, MRS eqs. for the ridgeless linear random-feature
model) gives ``<L> = E(m) Mx/(Mx − m)`` with the approximation error ``E(n) = (σ_w²/M) n κ_n``,
where ``κ_n`` solves ``Σ_{I≤M} λ_I/(λ_I + κ) = n`` for the latent spectrum
``λ_I = λ₊ I^-(1+α)``. Far below ``M``, ``E(n) ≈ K n^-α``; ``h(n/M; α) = E(n)/(K n^-α)`` is the
finite-``M`` correction that bends the power law into the plateau (``h → 1`` for ``n ≪ M``,
``h → 0`` as ``n → M``).

**The effective-regulariser equation, and what the graph uses (decided by measurement).**
Replacing the sum over ``I = 1..M`` by its integral makes ``M`` a continuous parameter and
``h`` a function of ``ν = n/M`` and ``α`` only: with ``G(x) = ∫_0^x du/(1 + u^(1+α))`` and
``c_α = G(∞) = π/((1+α) sin(π/(1+α)))``,

.. math:: G(x)/x = \nu, \qquad h = \left(G(x)/c_\alpha\right)^{1+\alpha}.

:func:`finite_m_factor_exact` solves it (``G`` by two 20-node Gauss-Legendre rules, error
< 1e-7; 7 Newton steps on ``log x``, residual ≤ 1e-7 for ``α ≤ 2``). In the PyMC graph that solve
compiled fine for logp but the dlogp graph made PyTensor's rewriter run for 80-200 s per model
(even with the implicit-function gradient or an ``OpFromGraph``), so the graph uses
:func:`finite_m_factor`, a closed form matched to both exact limits of the same equation:

.. math:: h \approx 1 - \nu^{\alpha}\,(A + (1 - A)\,\nu^{k}),\quad
          A = \frac{1+\alpha}{\alpha c_\alpha^{1+\alpha}},\quad
          B = \frac{2+\alpha}{c_\alpha^{1+\alpha}},\quad k = \frac{B-\alpha}{1-A}

(``ν → 0``: ``h ≈ 1 − A ν^α``; ``ν → 1``: ``h ≈ B (1 − ν)``). Its error against the exact
continuum solution over ``ν ∈ [1e-4, 0.98]``: ≤ 0.2 % for ``α ≥ 0.7``, ≤ 0.9 % for ``α ≥ 0.5``,
≤ 1.6 % for ``α ≥ 0.3``, ≤ 2.5 % at 0.2, ≤ 4.4 % at 0.1, ≤ 6.8 % at 0.05 (always high).

*Error against the exact finite-M sum* (2.4a), the quantity that matters, at M = 1500: the
continuum ``h`` vs ``E_exact(n)/(K n^-α)``, and in brackets the common surrogate
``E ≈ K(n^-α − M^-α)``, i.e. ``h = 1 − ν^α``:

=======  ==============  ==============  ==============  ==============
 n/M      α = 0.3         α = 0.5         α = 1           α = 2
=======  ==============  ==============  ==============  ==============
 0.01     +4.6% (−1.1%)   +5.2% (+3.0%)   +6.8% (+6.6%)   +10% (+10%)
 0.1      +0.5% (−12%)    +0.6% (−6.4%)   +0.7% (−1.2%)   +1.0% (+0.9%)
 0.3      +0.2% (−18%)    +0.2% (−12%)    +0.3% (−5.3%)   +0.3% (−1.0%)
 0.5      +0.1% (−22%)    +0.1% (−17%)    +0.2% (−9.0%)   +0.2% (−3.2%)
 0.7      +0.1% (−26%)    +0.1% (−20%)    +0.1% (−13%)    +0.2% (−6.2%)
 0.9      +0.1% (−29%)    +0.1% (−23%)    +0.1% (−16%)    +0.1% (−9.6%)
=======  ==============  ==============  ==============  ==============

(the graph's closed form adds ≤ 1.6 % to the continuum column for these ``α``). What remains is
the discreteness of the sum at small ``n`` (+2-3 % at ``n = 45``, +5-10 % at ``n = 15``), which no
model-unit curve can carry since it depends on ``n`` in natural units. The simple surrogate is
instead wrong by up to 29 % towards the plateau, exactly where ``M`` is learned.

**Regularised pole.** The ridgeless factor ``Mx/(Mx − m)`` diverges at ``N = cT``. It is capped
by ``Mx/√((N − cT)² + (g m)²)``, a variant of the phenomenological ``R`` of seed-papers.md §2.5
with ``g m`` in place of ``g Mx``: it is 1 (not ``1/√(1+g²)``) far from the peak, so the
``N ≪ T`` limit stays ``K N^-α``, and the peak height is ``≈ E(m)/g`` (about 8 % more with
the smooth min/max below). ``g`` stands for the ridge or any other regulariser (finite
precision, label noise); ``g → 0`` is ridgeless.

**Smooth min/max** (seed-papers.md §3.2): ``log m, log Mx = mid ∓ ½√(d² + δ²)`` with
``d = log N − log cT``, ``δ = 0.05`` (at most 2.5 % off at ``N = cT``, < 0.1 % once ``N`` and
``cT`` differ by 2x). The pole term uses the exact ``(N − cT)²``. ``ν = m/M`` is softly capped
below 0.98 (``h`` is only defined below 1; ``h(0.98) ≈ 0.02 B``); past ``M`` the reducible
term keeps falling and ``L_0`` takes over (the noiseless model recovers the teacher exactly there).

**Why a free peak ratio c.** Model units divide ``N`` and ``T`` by *different* reference scales,
so "``N = T``" is not expressible in them without a parameter: ``c`` places the pole at
``N = c T``. Theory (ridgeless regression, one output) says ``c = 1``; classification with ``k``
classes puts it near ``k`` (science.md §1). In natural units ``c = c_model · s_N/s_T``
(:meth:`RandomFeatures.to_natural`), so its posterior *is* the fitted peak location.

**Label noise** (option ``label_noise="fitted"``; seed-papers.md §2.7). With noisy training
labels of variance ``s²`` the ridgeless test loss gains a variance term: below the peak exactly
``s² N/(T − N)`` (simulation confirms ``(E(N) + s²) T/(T − N)`` with noisy test labels), so the
loss *rises* toward ``N = T`` instead of falling; above it the isotropic dual ``s² T/(N − T)``
underestimates, because min-norm interpolation of noise with an anisotropic (power-law) spectrum
keeps a share of it however wide the model ("tempered" overfitting: the loss levels off above
the noise-free law instead of returning to it). The option adds

.. math::

    V \left(\frac{m}{\sqrt{(N - cT)^2 + (g\, m)^2}} + \rho\, s\right),
    \qquad s = \frac{\log M_x - \log cT}{\log M_x - \log m}

with the same capped pole: ``m/D`` is ``N/(cT − N)`` below the peak and ``cT/(N − cT)`` above
it; ``s`` is a smooth step, 0 below the peak, ½ at it, 1 above (from the smooth min/max), and
``ρ`` the tempered plateau in units of ``V``. ``V`` is the label-noise variance (loss units; it
goes to 0 on noise-free curves). Measured by least squares on log loss on the random-feature
experiment (T = 100, N = 10…1000, M = 400, 10 draws, label-noise sd 0.1, experiment seed 3, not
one of the peaks benchmark's): RMS log residual 0.75 / 0.59 / 0.39 without the term (ridge 1e-6
/ 1e-5 / 1e-4; the fitted curve's maximum at N = 1,000, the edge) and 0.036 / 0.035 / 0.037
with it (maximum at N = 99–102, the observed peak at 101–106), with ``V`` = 0.0087 for ``s²`` =
0.01 and ``ρ`` = 1.4; on the noise-free curves 0.031 / 0.031 / 0.026 with the term against
0.032 / 0.032 / 0.029 without.

Parameters and units
    ``L0`` irreducible loss (loss units; label-noise floor, 0 in the noiseless model). ``K``
    amplitude (loss units x params^alpha). ``alpha`` exponent of both ``N`` and ``T``, the
    spectral exponent of the data (``λ_I ∝ I^-(1+α)``). ``M`` latent dimension: the scale at which
    ``min(N, cT)`` stops buying loss, in ``params`` units (a feature count, the axis on which ``m``
    is measured); derived ``M_data = M / c`` is the same scale on the ``data`` axis. ``g``
    dimensionless pole regulariser (peak excess ≈ ``1/g``). ``c`` dimensionless peak ratio.
    With ``label_noise="fitted"``: ``V`` label-noise variance (loss units), ``rho`` tempered
    plateau above the peak in units of ``V`` (dimensionless).

When to use
    Sweeps of width (features, parameters) and training-set size that show the interpolation
    peak, one shared exponent, or the data-limited plateau; random-feature and kernel models,
    small networks trained to convergence. Valid input range: ``N, T ≥ ~20`` (below that the
    discreteness error above exceeds ~5 %).

Citation: Maloney, Roberts & Sully 2022, "A Solvable Model of Neural Scaling Laws"
(arXiv:2210.16859).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import Param, ScalingLaw, Unit, amplitude, group_spread
from models.priors import PriorSpec

# 20-node Gauss-Legendre rule on [0, 1].
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(20)
GL_NODES, GL_WEIGHTS = (_NODES + 1.0) / 2.0, _WEIGHTS / 2.0
NEWTON_STEPS = 7
DELTA = 0.05  # width of the smooth min/max, in log units
NU_MAX, NU_SHARPNESS = 0.98, 8.0  # soft cap of n/M


def c_alpha(xp: Any, alpha: Any) -> Any:
    """``G(∞) = π/((1+α) sin(π/(1+α)))``: E(n) ≈ K n^-α with K ∝ c_α^(1+α)."""
    beta = 1.0 + alpha
    return np.pi / (beta * xp.sin(np.pi / beta))


def spectral_integral(xp: Any, x: Any, alpha: Any) -> Any:
    """``G(x) = ∫_0^x du/(1 + u^(1+α))`` by Gauss-Legendre on two smooth pieces.

    ``[0, min(x, 1)]`` directly; ``[1, max(x, 1)]`` as ``(1/α) ∫_{x^-α}^1 dr/(1 + r^((1+α)/α))``.
    The split point does not change the value, so the result is smooth in ``x``.
    """
    xe, ae = xp.expand_dims(x, -1), xp.expand_dims(alpha, -1)
    lo = xp.minimum(xe, 1.0)
    head = xp.sum(GL_WEIGHTS / (1.0 + (lo * GL_NODES) ** (1.0 + ae)), axis=-1)
    r0 = xp.maximum(xe, 1.0) ** -ae
    tail = xp.sum(GL_WEIGHTS / (1.0 + (r0 + (1.0 - r0) * GL_NODES) ** ((1.0 + ae) / ae)), axis=-1)
    return lo[..., 0] * head + (1.0 - r0[..., 0]) / alpha * tail


def finite_m_factor(xp: Any, nu: Any, alpha: Any) -> Any:
    """``h(ν; α)`` in closed form, matched to both limits of the exact equation (graph-safe).

    ``h = 1 − ν^α (A + (1 − A) ν^k)`` with ``A = β/(α c_α^β)`` (the exact ``ν → 0`` slope),
    ``B = (β+1)/c_α^β`` (the exact ``ν → 1`` slope) and ``k = (B − α)/(1 − A)``, ``β = 1 + α``.
    """
    c_pow = c_alpha(xp, alpha) ** (1.0 + alpha)
    a = (1.0 + alpha) / (alpha * c_pow)
    b = (2.0 + alpha) / c_pow
    k = (b - alpha) / (1.0 - a)
    return 1.0 - nu**alpha * (a + (1.0 - a) * nu**k)


def finite_m_factor_exact(nu: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """``h(ν; α)`` from the continuum equation: Newton on ``log x`` for ``G(x)/x = ν`` (numpy)."""
    beta = 1.0 + np.asarray(alpha, dtype=float)
    log_nu = np.log(nu)
    # start: x ≈ c_α/ν for ν ≪ 1 and x ≈ ((2+α)(1−ν))^(1/β) for ν → 1, combined harmonically
    y = -np.log(nu / c_alpha(np, alpha) + ((1.0 + beta) * (1.0 - nu)) ** (-1.0 / beta))
    for _ in range(NEWTON_STEPS):
        x = np.exp(y)
        g = spectral_integral(np, x, alpha)
        slope = x / ((1.0 + x**beta) * g) - 1.0  # in (-1, 0): the equation is monotone
        y = y - (np.log(g) - y - log_nu) / slope
    return np.asarray(np.exp(beta * (log_nu + y - np.log(c_alpha(np, alpha)))))


# Option label_noise="fitted" (module docstring; double_descent's noise="variance" uses the same
# two parameters). Priors in model units (loss divided by the
# smallest observed loss): V's LogNormal(log 0.3, 2.5) spans 1e-3 to 1e2 at 2 sd, from curves
# whose noise term is invisible to ones it dominates (the benchmark-like curve above: V ~ 5);
# rho's median 1 is "the plateau above the peak holds about the noise variance".
LABEL_NOISE_PARAMS = (
    Param(
        "V",
        PriorSpec("LogNormal", mu=float(np.log(0.3)), sigma=2.5),
        "log",
        "label-noise variance: the loss it adds rises as N/(N_peak - N) toward the peak",
        Unit("loss"),
        pool_sigma=group_spread(1.0),
    ),
    Param(
        "rho",
        PriorSpec("LogNormal", mu=0.0, sigma=1.0),
        "log",
        "tempered plateau above the peak, in units of V (0: the isotropic theory)",
        pool_sigma=group_spread(0.5),
    ),
)


class RandomFeatures(ScalingLaw):
    """MRS law: ``K m^-α`` bent by the latent dimension, with a capped pole at N = cT."""

    name = "random_features"
    formula = (
        "L = L0 + K * m^(-alpha) * h(m/M; alpha) * Mx / sqrt((N - c*T)^2 + (g*m)^2), "
        "m = softmin(N, c*T), Mx = softmax(N, c*T), h from sum_I l_I/(l_I + kappa) = n; "
        "label_noise=fitted adds V * (m / sqrt((N - c*T)^2 + (g*m)^2) + rho * s), s a smooth "
        "step from 0 below the peak to 1 above it"
    )
    citation = "Maloney, Roberts & Sully 2022 (arXiv:2210.16859)"
    use_when = (
        "width/feature count N and training-set size T both vary around the interpolation "
        "peak N ~ T, one exponent for both, possibly a plateau at the latent dimension M; "
        "with noisy training labels (loss rising toward the peak, a plateau past it) use "
        "label_noise=fitted"
    )
    option_choices = {"label_noise": ("none", ("none", "fitted"))}
    params: tuple[Param, ...] = (
        Param(
            "L0",
            PriorSpec("LogNormal", mu=float(np.log(0.2)), sigma=1.5),
            "log",
            "irreducible loss (label-noise floor; 0 for a noiseless teacher)",
            Unit("loss"),
            pool_sigma=group_spread(0.15),
        ),
        amplitude("K", "params", "alpha", "amplitude: E(n) ≈ K n^-alpha for n ≪ M"),
        Param(
            "alpha",
            PriorSpec("LogNormal", mu=float(np.log(0.5)), sigma=0.7),
            "log",
            "exponent of N and T (spectral exponent: eigenvalues ∝ I^-(1+alpha))",
            pool_sigma=group_spread(0.15),
        ),
        Param(
            "M",
            PriorSpec("LogNormal", mu=float(np.log(10.0)), sigma=1.5),
            "log",
            "latent dimension: min(N, cT) beyond it stops reducing the loss (params units)",
            Unit("input", input="params"),
            pool_sigma=group_spread(0.5),
        ),
        Param(
            "g",
            PriorSpec("LogNormal", mu=float(np.log(0.05)), sigma=1.5),
            "log",
            "pole regulariser: the peak at N = cT exceeds the smooth law by about 1/g",
            pool_sigma=group_spread(0.5),
        ),
        Param(
            "c",
            PriorSpec("LogNormal", mu=0.0, sigma=1.0),
            "log",
            "peak ratio: the interpolation pole sits at N = c T (theory: 1)",
            pool_sigma=group_spread(0.15),
        ),
    )
    default_pooling = {
        "L0": "partial",
        "K": "partial",
        "alpha": "partial",
        "M": "partial",
        "g": "partial",
        "c": "shared",
    }

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        if self.options["label_noise"] == "fitted":
            self.params = (*RandomFeatures.params, *LABEL_NOISE_PARAMS)
            self.default_pooling = {
                **RandomFeatures.default_pooling,
                "V": "partial",
                "rho": "partial",
            }

    @property
    def inputs(self) -> tuple[str, ...]:
        """Features (model size) and training samples."""
        return ("params", "data")

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """The regularised MRS law in model units (``N`` and ``cT`` both on the params axis)."""
        alpha, c = p["alpha"], p["c"]
        log_n, log_t = x["log_params"], x["log_data"] + xp.log(c)
        mid = 0.5 * (log_n + log_t)
        half = 0.5 * xp.sqrt((log_n - log_t) ** 2 + DELTA**2)
        log_m, log_mx = mid - half, mid + half
        nu = xp.exp(log_m - xp.log(p["M"]))
        nu = nu * (1.0 + (nu / NU_MAX) ** NU_SHARPNESS) ** (-1.0 / NU_SHARPNESS)
        smooth = p["K"] * xp.exp(-alpha * log_m) * finite_m_factor(xp, nu, alpha)
        distance = xp.sqrt((x["params"] - c * x["data"]) ** 2 + (p["g"] * xp.exp(log_m)) ** 2)
        loss = p["L0"] + smooth * xp.exp(log_mx) / distance
        if self.options["label_noise"] == "fitted":
            above = (log_mx - log_t) / (2.0 * half)  # 0 below the peak, 1/2 at it, 1 above
            loss = loss + p["V"] * (xp.exp(log_m) / distance + p["rho"] * above)
        return loss

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """As the base class, plus ``c``: the pole ``N_s = c T_s`` is ``N = c s_N/s_T · T``."""
        out = super().to_natural(p, input_scales, loss_scale)
        out["c"] = np.asarray(p["c"]) * input_scales["params"] / input_scales["data"]
        return out

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``M_data = M/c``: the latent dimension as a training-set size (data-side plateau)."""
        return {"M_data": natural["M"] / natural["c"]}
