r"""Double descent: a base scaling law times a peak at the interpolation threshold N ≈ κ·D.

.. math::

    L(N, D, \epsilon) = L_\text{base}(N, D)\,\Bigl[1 + \frac{h}{1 + (u / w)^2}\Bigr],
    \qquad u = \log\frac{N}{\kappa D}, \qquad h = h_0 \;(+\, h_1 \epsilon)

``L_base`` is ``E + A x^-alpha`` along the swept input (option ``base="power_law"``, the default;
``x`` is ``N`` for ``axis="params"``, ``D`` for ``axis="data"``) or Chinchilla's
``E + A N^-alpha + B D^-beta`` when N and D both vary (``base="chinchilla"``). The bracket is a
Lorentzian in the log ratio ``u``: it peaks at ``N = κ·D`` with value ``1 + h`` and tends to 1
(the base law) away from it, falling to ``1 + h/2`` at ``|u| = w``.

Parameters and units (natural units; the model works in units of the reference scales):

* ``E, A, alpha`` (``B, beta``): as in ``power_law``/``chinchilla`` (loss units; amplitudes in
  loss units x input^exponent; exponents dimensionless).
* ``kappa``: the interpolation threshold N_peak / D (params per data unit); ~1 for regression
  (Maloney et al. 2022), ~ the number of classes for classification (Nakkiran et al. 2019).
  In model units it is ``kappa · D_ref / N_ref``; :meth:`DoubleDescent.to_natural` converts.
  Default prior LogNormal(0, 1.5) in model units: centred on N/N_ref = D/D_ref, 90 % within a
  factor 12 either way, so the data locate it. To centre on a known κ (e.g. 10 classes) use
  :func:`threshold_prior`.
* ``h0``: peak height, the relative excess loss at the threshold (dimensionless), LogNormal(log 2,
  1.5). With ``noise="label_noise"`` the height is ``h0 + h1 * label_noise`` (``h1``
  dimensionless per unit noise fraction, LogNormal(log 5, 1.5)): label noise raises the peak
  (Nakkiran et al. 2019 Fig. 1; seed-papers.md §2.7). Regularisation (ridge, early stopping)
  lowers it (Maloney et al. 2022 §2.5).
* ``w``: half-width at half-height in log(N/(κD)), dimensionless, LogNormal(log 0.25, 0.8).

Option ``noise="variance"`` adds the variance term of noisy training labels (the form
``random_features`` derives from the theory, seed-papers.md §2.7, written in ``u``):

.. math::

    V \Bigl(\frac{e^{-|u|}}{\sqrt{(1 - e^{-|u|})^2 + (1 + h)^{-2}}} + \rho\, s(u)\Bigr),
    \qquad s(u) = \tfrac12 + \tfrac{u}{2\sqrt{u^2 + 0.05^2}}

``e^{-|u|}/(1 - e^{-|u|})`` is ``N/(κD − N)`` below the threshold and ``κD/(N − κD)`` above
it (the ridgeless variance terms), capped at the threshold by the same ``1 + h`` as the peak;
``s`` steps from 0 below the threshold to 1 above it, where ``ρ V`` is the "tempered" plateau
that min-norm interpolation of noise keeps with a power-law spectrum. ``V`` (loss units) is the
label-noise variance, ``rho`` (dimensionless) the plateau in units of ``V``; priors as
``random_features``'s. By least squares on log loss on the random-feature experiment with label
noise sd 0.1 (experiment seed 3, T = 100, N = 10…1000, M = 400): RMS log residual 0.37–0.67
without the term, the fitted maximum at N = 106–200; 0.035–0.045 with it, the maximum at N =
98–99 (either peak shape; the observed peak, a parabola's vertex, at 101–106); on the noise-free
sweeps 0.021–0.057 with it against 0.034–0.057 without. The height column
(``noise="label_noise"``) and the fitted variance are alternatives: the first when the noise
level is a measured input that varies between rows, the second when one sweep's labels are noisy
by an unknown amount.

Inputs: ``params`` and ``data`` always (the peak needs both; in a fixed-D sweep ``data`` is a
constant column), plus ``label_noise`` with ``noise="label_noise"``. With ``base="chinchilla"``
the option ``axis`` only names the sweep: ``axis="data"`` adds the derived ``inv_kappa`` =
D_peak / N.

Option ``peak="pole"`` replaces the Lorentzian by the capped pole of the exact ridgeless law
(Maloney et al. 2022, eq. 2.4b): there ``L = E(min) · max/(max − min)``, i.e. the base law times
``1/(1 − e^{-|u|})`` with ``u = log(N/T)``. The family uses

.. math::

    F(u) = \Bigl[(1 - e^{-|u|/w})^2 + (1 + h)^{-2}\Bigr]^{-1/2},

which is ``1 + h`` at the threshold (the regulariser's cap), tends to the pole's ``1/(1 −
e^{-|u|/w})`` away from it and to 1 far away; ``w = 1`` is the ridgeless theory (prior
LogNormal(0, 0.8)). Its flanks are heavy (``∝ e^{-|u|/w}``), like the real curve's, where the
Lorentzian's fall as ``u^-2`` from a narrow core; when the base law must also carry the exponent
this matters. On the random-feature sweep of the tests (T = 100, N = 10…1000, M = 400, ridge
1e-5) least squares on log loss gives α = 0.934 with the Lorentzian (RMS 0.037) and α = 1.001
with the pole (RMS 0.034), the spectrum's α being 1; use ``peak="pole"`` when the exponent is
what you want from a sweep through the peak.

Why the default shape (chosen by simulating linear random-feature ridge regression, Maloney et al.
2022: T = 100, N = 10...1000, M = 400, 10 seeds, least squares on log loss): multiplicative bumps
fit better than additive ones (RMS of log residuals 0.056 vs 0.071 at ridge 1e-6, 0.048 vs
0.066 at 1e-5) because the exact ridgeless law ``E(min(N,T)) max/(max - min)`` multiplies the
base law by a factor that depends on ``|log(N/T)|`` alone; a Lorentzian beat a Gaussian (0.056 vs
0.119) because the peak's flanks fall algebraically, like that factor, not like exp(-u^2); a
square-root Lorentzian (the ridge-regularised MRS factor) came close (0.058, 0.057) but was no
better. The multiplicative Lorentzian placed κ within 2 % of 1 in all four settings tried (ridge
1e-6/1e-5, label noise 0-0.02), and the NUTS fit to ``tests.experiments.random_features`` in
the tests gives κ = 1.002 (90 % interval 0.989-1.015). When the base law falls steeply, the
maximum of L(N) lies below κ·D (``u* ≈ -|s| w²(1+h)/(2h)``, ``s`` the base law's log-slope:
about 2 % in N for |s| = 1, w = 0.2, h large; 17 % for |s| ≈ 0.9, w = 0.5, h = 1), and a steep
enough base has no interior maximum at all. :func:`peak_location` reports the centre κ·D;
where the loss actually peaks is :func:`models.peaks.curve_peak`.

When to use: sweeps that cross the interpolation threshold (model-wise: D fixed, N swept; or
sample-wise: N fixed, D swept) and show a rise in test loss there. Not for LLM pre-training,
where D ≫ N and no peak is seen: use ``chinchilla``.

Citations: Belkin, Hsu, Ma & Mandal 2019, "Reconciling modern machine-learning practice and the
classical bias-variance trade-off" (PNAS 116:15849); Nakkiran et al. 2019, "Deep Double Descent"
(arXiv:1912.02292); Maloney, Roberts & Sully 2022, "A Solvable Model of Neural Scaling Laws"
(arXiv:2210.16859).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.errors import DataError
from models.families.base import Param, Pooling, ScalingLaw, Unit, amplitude, exponent, floor
from models.families.chinchilla import Chinchilla
from models.families.power_law import PowerLaw
from models.families.random_features import DELTA, LABEL_NOISE_PARAMS
from models.priors import PriorSpec

# κ's unit: params per data unit. to_natural supplies this pseudo-input's scale, N_ref / D_ref.
_RATIO = "params/data"
KAPPA_SIGMA = 1.5


def _peak_params(noise: str, peak: str) -> tuple[Param, ...]:
    kappa = Param(
        "kappa",
        PriorSpec("LogNormal", mu=0.0, sigma=KAPPA_SIGMA),
        "log",
        "interpolation threshold N_peak / D",
        Unit("input", input=_RATIO),
    )
    h0 = Param(
        "h0",
        PriorSpec("LogNormal", mu=float(np.log(2.0)), sigma=1.5),
        "log",
        "peak height: relative excess loss at the threshold"
        + (" without label noise" if noise == "label_noise" else ""),
    )
    h1 = Param(
        "h1",
        PriorSpec("LogNormal", mu=float(np.log(5.0)), sigma=1.5),
        "log",
        "growth of the peak height per unit label-noise fraction",
    )
    if peak == "pole":  # e-folding scale of the pole's flanks; 1 is the ridgeless theory
        w = Param(
            "w",
            PriorSpec("LogNormal", mu=0.0, sigma=0.8),
            "log",
            "flank scale in log(N / (kappa D)) of the capped pole (1: ridgeless theory)",
        )
    else:
        w = Param(
            "w",
            PriorSpec("LogNormal", mu=float(np.log(0.25)), sigma=0.8),
            "log",
            "peak half-width at half-height in log(N / (kappa D))",
        )
    if noise == "label_noise":
        return (kappa, h0, h1, w)
    if noise == "variance":
        return (kappa, h0, w, *LABEL_NOISE_PARAMS)
    return (kappa, h0, w)


class DoubleDescent(ScalingLaw):
    """A base law times a peak (Lorentzian or capped pole) in ``log(N / (kappa D))``."""

    name = "double_descent"
    formula = (
        "L = L_base * (1 + h / (1 + (u / w)^2)), u = log(N / (kappa * D)), h = h0 [+ h1 * noise]; "
        "peak=pole: L = L_base / sqrt((1 - exp(-|u| / w))^2 + (1 + h)^-2); noise=variance adds "
        "V * (exp(-|u|) / sqrt((1 - exp(-|u|))^2 + (1 + h)^-2) + rho * s(u))"
    )
    citation = (
        "Belkin et al. 2019 (PNAS 116:15849); Nakkiran et al. 2019 (arXiv:1912.02292); "
        "Maloney, Roberts & Sully 2022 (arXiv:2210.16859)"
    )
    use_when = (
        "a sweep crosses the interpolation threshold N = kappa D and test loss peaks there "
        "(model-wise with D fixed, sample-wise with N fixed, or both varying); a sweep with "
        "noisy labels of unknown level (loss rising toward the peak, a plateau past it): "
        "noise=variance"
    )
    option_choices = {
        "base": ("power_law", ("power_law", "chinchilla")),
        "axis": ("params", ("params", "data")),
        "noise": ("none", ("none", "label_noise", "variance")),
        "peak": ("lorentzian", ("lorentzian", "pole")),
    }

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        axis = self.options["axis"]
        self._base: ScalingLaw
        if self.options["base"] == "chinchilla":
            self._base = Chinchilla()
            base: tuple[Param, ...] = Chinchilla.params
        else:
            self._base = PowerLaw(x=axis)
            base = (
                floor(),
                amplitude("A", axis, "alpha", f"amplitude of the {axis} term"),
                exponent("alpha", f"exponent of {axis}"),
            )
        self.params = (*base, *_peak_params(self.options["noise"], self.options["peak"]))
        pooling: dict[str, Pooling] = {name: "partial" for name in self.param_names}
        self.default_pooling = pooling

    @property
    def inputs(self) -> tuple[str, ...]:
        """``params`` and ``data``, plus ``label_noise`` when the height depends on it."""
        noise = ("label_noise",) if self.options["noise"] == "label_noise" else ()
        return ("params", "data", *noise)

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """Base law times the peak factor (Lorentzian or capped pole) in model units."""
        height = p["h0"]
        if self.options["noise"] == "label_noise":
            height = height + p["h1"] * x["label_noise"]
        u = x["log_params"] - x["log_data"] - xp.log(p["kappa"])
        w = p["w"]
        size = xp.sqrt(u * u + 1e-12)  # |u| smoothed so the gradient exists at 0
        cap = 1.0 / ((1.0 + height) * (1.0 + height))
        if self.options["peak"] == "pole":
            # 1 / sqrt((1 - e^(-|u|/w))^2 + 1/(1+h)^2)
            flank = 1.0 - xp.exp(-size / w)
            loss = self._base.curve(xp, x, p) / xp.sqrt(flank * flank + cap)
        else:
            # h w^2 / (w^2 + u^2): the Lorentzian without dividing by a small w
            loss = self._base.curve(xp, x, p) * (1.0 + height * w * w / (w * w + u * u))
        if self.options["noise"] == "variance":
            near = xp.exp(-size) / xp.sqrt((1.0 - xp.exp(-size)) ** 2 + cap)
            # random_features' step (log Mx − log cT)/(log Mx − log m) written in u, same width
            above = 0.5 + 0.5 * u / xp.sqrt(u * u + DELTA**2)
            loss = loss + p["V"] * (near + p["rho"] * above)
        return loss

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """Convert draws; ``kappa`` scales by N_ref / D_ref and ``h1`` by 1 / label-noise scale."""
        scales = {**input_scales, _RATIO: input_scales["params"] / input_scales["data"]}
        out = super().to_natural(p, scales, loss_scale)
        if "h1" in out:
            out["h1"] = out["h1"] / input_scales.get("label_noise", 1.0)
        return out

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """For a sample-wise sweep (``axis="data"``), ``inv_kappa`` = D_peak / N."""
        if self.options["axis"] == "data":
            return {"inv_kappa": 1.0 / np.asarray(natural["kappa"])}
        return {}


def peak_location(params: Mapping[str, Any], data: Any) -> np.ndarray:
    """The bump's centre ``kappa * D`` (the interpolation threshold), per posterior draw.

    Not the location of the loss curve's maximum, which a falling base law moves below it: for
    that use :func:`models.peaks.curve_peak`.

    Parameters
    ----------
    params
        Natural-unit draws with a ``kappa`` entry of any shape ``S`` (e.g. ``(draws,)`` from
        :meth:`models.Fit.summary_draws` or ``(draws, group)``).
    data
        Training-set sizes D (natural units), any shape ``P``.

    Returns
    -------
    numpy.ndarray
        ``kappa * D`` with shape ``S + P``: one row per draw, one column per D. Quantiles over
        the first axis give the posterior interval of the threshold at each D.

    Examples
    --------
    >>> peak_location({"kappa": np.array([0.9, 1.0, 1.1])}, [100.0, 1000.0]).shape
    (3, 2)
    """
    d = np.asarray(data, dtype=np.float64)
    if not np.all(d > 0):
        raise DataError("peak_location needs positive training-set sizes", field="data")
    return np.multiply.outer(np.asarray(params["kappa"], dtype=np.float64), d)


def threshold_prior(
    input_scales: Mapping[str, float], kappa: float = 1.0, sigma: float = 0.5
) -> dict[str, Any]:
    """JSON prior for a shared ``kappa`` centred on a known natural threshold.

    The default prior is centred on the data's reference ratio N_ref / D_ref. When the threshold
    is known (about 1 for regression, the number of classes for classification), centre it
    there: ``fit(data, "double_descent", priors={"kappa": threshold_prior(scales, 10.0)},
    scales=scales)`` with ``scales = data.default_scales(("params", "data"))``.

    Parameters
    ----------
    input_scales
        Reference scales of the fit (``Scales.inputs``), with ``params`` and ``data``.
    kappa
        Natural-unit centre, N_peak / D.
    sigma
        Prior sd of log kappa.
    """
    ratio = input_scales["params"] / input_scales["data"]
    mu = float(np.log(kappa / ratio))
    return {"dist": "LogNormal", "kwargs": {"mu": mu, "sigma": float(sigma)}}
