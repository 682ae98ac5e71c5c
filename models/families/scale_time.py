r"""Scale-time equivalence with a mode-group learning curve (Boopathy & Fiete).

.. math::

    L(N, t) = F(\tau) \; [+ A_P N^{-a_P}], \qquad \tau = t \, (N / N_0)^{\kappa},

    F(\tau) = E + \sum_{k=1}^{K} \left[ S_k e^{-2 l_k \tau}
              + V_k \, g \, (1 - e^{-l_k \tau})^2 \right], \qquad l_1 > l_2 > \dots > l_K.

**Scale-time equivalence (STE)**: a model ``k`` times larger trained for ``t`` matches the smaller
one trained ``k^κ`` times longer, so the loss over (size, time) is one curve ``F`` of the
"training progress" ``τ``. ``F`` is the gradient-flow test loss of a linear model whose
eigen-directions fall into ``K`` groups (Advani & Saxe 2017, eq. 1.5d of the seed notes): group
``k`` learns its signal ``S_k`` at rate ``l_k`` and, at the same rate, fits label noise of
strength ``V_k``. With a fast group that fits noise (``V_1 > 0``) and a slow one that still
holds signal (``S_2 > 0``), ``F`` falls, rises, then falls again: **epoch-wise** double descent
along ``t`` and **model-wise** double descent along ``N`` are the same curve read along two axes,
and the scale-wise peak sits at ``P*(t) = (τ*/t)^{1/κ}`` (∝ ``t^{-1/κ}``), moving to smaller
models as training lengthens.

Inputs: ``params`` (N, raw parameter count) and ``steps`` (t), plus ``label_noise`` and/or
``data`` when the option ``noise`` makes the noise term scale with them: ``g`` is 1
(``constant``), the corrupted-label fraction (``label_noise``), ``1/D`` (``data``) or
``label_noise / D`` (``label_noise_per_data``), as ``V ∝ σ_ε² / n`` in the linear model.

Options: ``modes`` (``K`` = "1", "2" (default) or "3"); ``noise`` (above); ``capacity``
("none" or "power": add the capacity floor ``A_P N^{-a_P}``, which STE ignores — a small model
cannot match a large one however long it trains).

Parameters and natural units (``N_0 = 1``, so ``τ`` is in steps x params^κ):

* ``E`` — irreducible loss (loss units); ``τ → ∞`` leaves ``E + Σ V_k g``.
* ``kappa`` — STE exchange exponent (dimensionless). Prior Normal(1/3, 0.15) truncated to
  (0, 1.5): the paper's cube-root convention for raw parameters; use ~1 when ``params`` is
  already an effective size.
* ``l1`` — rate of the fastest mode group (per step per params^κ); ``dlog_l<k>`` =
  ``log(l_{k-1}/l_k) > 0`` (dimensionless) orders the rates. ``l<k>`` are derived.
* ``S<k>`` — signal the group removes (loss units). ``V<k>`` — noise the group fits at
  convergence (loss units, times ``D`` with ``data`` scaling, per unit fraction with
  ``label_noise``).
* ``A_P``, ``a_P`` — capacity floor (loss units x params^a_P; exponent).

In model units ``N_0`` is the reference (geometric-mean) size and rates are per reference step;
priors are stated there: rates log-normal around the observed range of ``τ`` with the fast group
~20x faster than the slow one.

Derived: ``l2..lK``, ``size_per_time = 1/κ`` (k-fold longer training is worth ``k^{1/κ}`` times
the parameters) and, with ``noise=constant``, ``tau_peak`` (the time-wise peak of ``F``, NaN
when ``F`` has none). Module functions :func:`peak_size` (``P*(t)``) and :func:`iso_loss` (the
training time per size to reach a target loss) work on posterior draws.

Use when: several model sizes are each observed at several training times (checkpoints), with
SGD/GD at a fixed learning rate; to forecast a large model from small ones trained longer.
STE is documented to fail with Adam and for small models at very long training (use
``capacity=power`` there). ``kappa`` and the rates are only separable with several sizes at
several times.

Citation: Boopathy & Fiete 2024, "Unified Neural Network Scaling Laws and Scale-time
Equivalence" (arXiv:2409.05782); linear-model learning curves from Advani & Saxe 2017,
"High-dimensional dynamics of generalization error in neural networks" (arXiv:1710.03667).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from models.errors import FamilyError
from models.families.base import Param, Pooling, ScalingLaw, Unit, amplitude, floor, group_spread
from models.priors import PriorSpec


class Fitted(Protocol):
    """What the posterior functionals need of a fit (a :class:`models.Fit` is one)."""

    @property
    def family(self) -> ScalingLaw:
        """The fitted family."""
        ...

    def natural_draws(self, group: str | None, *, seed: int = 0) -> dict[str, np.ndarray]:
        """Natural-unit draws (S,) of every parameter for one group."""
        ...


KAPPA_PRIOR = PriorSpec("TruncatedNormal", mu=1.0 / 3.0, sigma=0.15, lower=0.0, upper=1.5)
NOISE_INPUTS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "label_noise": ("label_noise",),
    "data": ("data",),
    "label_noise_per_data": ("data", "label_noise"),
}


@dataclass(frozen=True)
class _Described(Unit):
    """A unit the base kinds cannot express; :meth:`ScaleTime.to_natural` converts it."""

    text: str = ""

    def describe(self) -> str:
        """The stored description."""
        return self.text


def _positive(name: str, median: float, sigma: float, description: str, unit: Unit) -> Param:
    prior = PriorSpec("LogNormal", mu=float(np.log(median)), sigma=sigma)
    return Param(name, prior, "log", description, unit, pool_sigma=group_spread(0.3))


class ScaleTime(ScalingLaw):
    """``L = F(t (N/N0)^kappa)``: one mode-group learning curve shared by every model size."""

    name = "scale_time"
    formula = (
        "L = E + sum_k [S_k exp(-2 l_k tau) + V_k g (1 - exp(-l_k tau))^2] [+ A_P N^(-a_P)], "
        "tau = t (N/N0)^kappa, l_1 > ... > l_K, g = 1, label_noise, 1/D or label_noise/D"
    )
    citation = "Boopathy & Fiete 2024 (arXiv:2409.05782); Advani & Saxe 2017 (arXiv:1710.03667)"
    use_when = (
        "several model sizes each observed at several training times (SGD/GD); scale-time "
        "equivalence, epoch- and model-wise double descent, forecasting large from small models"
    )
    option_choices = {
        "modes": ("2", ("1", "2", "3")),
        "noise": ("constant", tuple(NOISE_INPUTS)),
        "capacity": ("none", ("none", "power")),
    }

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.modes = int(self.options["modes"])
        v_unit = {
            "constant": "loss units",
            "label_noise": "loss units per unit label_noise",
            "data": "loss units x data",
            "label_noise_per_data": "loss units x data per unit label_noise",
        }[self.options["noise"]]
        rate_unit = _Described("input", input="steps", text="1/(steps x params^kappa)")
        kappa = Param(
            "kappa",
            KAPPA_PRIOR,
            "identity",
            "scale-time exchange exponent: tau = t (N/N0)^kappa",
            pool_sigma=group_spread(0.1),
            pool_mu=PriorSpec("Normal", mu=1.0 / 3.0, sigma=0.15),
        )
        params: list[Param] = [floor(), kappa]
        params.append(_positive("l1", 4.5, 1.5, "rate of the fastest mode group", rate_unit))
        for k in range(2, self.modes + 1):
            params.append(
                _positive(f"dlog_l{k}", 3.0, 0.6, f"log(l{k - 1}/l{k}) > 0: rate gap", Unit())
            )
        for k in range(1, self.modes + 1):
            params.append(
                _positive(f"S{k}", 0.5, 1.0, f"signal learned by mode group {k}", Unit("loss"))
            )
        for k in range(1, self.modes + 1):
            params.append(
                _positive(
                    f"V{k}",
                    0.2,
                    1.5,
                    f"label noise fitted by mode group {k} at convergence",
                    _Described("loss", text=v_unit),
                )
            )
        if self.options["capacity"] == "power":
            params.append(amplitude("A_P", "params", "a_P", "amplitude of the capacity floor"))
            a_p = PriorSpec("LogNormal", mu=float(np.log(0.3)), sigma=0.7)
            params.append(
                Param("a_P", a_p, "log", "capacity-floor exponent", pool_sigma=group_spread(0.15))
            )
        self.params = tuple(params)
        # Per architecture: floor, exchange exponent, speed and signal of the first two groups.
        # The rate gaps and the noise fitted reflect the task (spectrum, label noise): shared.
        # (This also keeps the model's log-density under PyTensor's 32-operand Python limit.)
        per_group = {"E", "kappa", "l1", "S1", "S2", "A_P", "a_P"}
        self.default_pooling: dict[str, Pooling] = {
            n: "partial" if n in per_group else "shared" for n in self.param_names
        }

    @property
    def inputs(self) -> tuple[str, ...]:
        """Model size and training time, plus what the noise term scales with."""
        return ("params", "steps", *NOISE_INPUTS[self.options["noise"]])

    def _noise_factor(self, xp: Any, x: Mapping[str, Any]) -> Any:
        match self.options["noise"]:
            case "label_noise":
                return x["label_noise"]
            case "data":
                return xp.exp(-x["log_data"])
            case "label_noise_per_data":
                return x["label_noise"] * xp.exp(-x["log_data"])
        return 1.0

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """``F(tau)`` (plus the capacity floor) in model units; ``tau`` uses ``log_params``."""
        tau = xp.exp(x["log_steps"] + p["kappa"] * x["log_params"])
        g = self._noise_factor(xp, x)
        loss = p["E"]
        for k, rate in enumerate(mode_rates(xp, p, self.modes), start=1):
            loss = loss + _mode_loss(xp, tau, rate, p[f"S{k}"], p[f"V{k}"] * g)
        if self.options["capacity"] == "power":
            loss = loss + p["A_P"] * xp.exp(-p["a_P"] * x["log_params"])
        return loss

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """Natural units with ``N_0 = 1``: ``l1`` per step per params^kappa, ``V`` per unit ``g``.

        ``tau_natural = t N^kappa = tau_model x t_ref x N_ref^kappa``, so the rate divides by
        ``t_ref N_ref^kappa``; ``V g`` is a loss, so ``V`` carries the inverse scale of ``g``.
        """
        kappa = np.asarray(p["kappa"])
        noise = self.options["noise"]
        v_scale = loss_scale
        if noise in ("label_noise", "label_noise_per_data"):
            v_scale = v_scale / input_scales["label_noise"]
        if noise in ("data", "label_noise_per_data"):
            v_scale = v_scale * input_scales["data"]
        out: dict[str, np.ndarray] = {}
        for name in self.param_names:
            value = np.asarray(p[name])
            if name == "l1":
                value = value / (input_scales["steps"] * input_scales["params"] ** kappa)
            elif name == "E" or name.startswith("S"):
                value = value * loss_scale
            elif name.startswith("V"):
                value = value * v_scale
            elif name == "A_P":
                value = value * loss_scale * input_scales["params"] ** np.asarray(p["a_P"])
            out[name] = value
        return out

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rates ``l2..lK``, ``size_per_time = 1/kappa`` and (constant noise) ``tau_peak``."""
        out = {"size_per_time": 1.0 / np.asarray(natural["kappa"])}
        arrays = {k: np.asarray(v) for k, v in natural.items()}
        for k, rate in enumerate(mode_rates(np, arrays, self.modes)[1:], start=2):
            out[f"l{k}"] = rate
        if self.options["noise"] == "constant":
            out["tau_peak"] = tau_peak(natural, self)
        return out

    def log_time_range(
        self, p: Mapping[str, np.ndarray], x: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """From well before the fastest mode (``l_1 tau = 1e-4``) to well after the slowest.

        ``tau = t N^kappa``, so in log steps the range shifts by ``-kappa log N``.
        """
        rates = mode_rates(np, p, self.modes)
        shift = p["kappa"] * x["log_params"]
        lo, hi = _tau_bounds(np.stack([rates[0], rates[-1]]))
        return lo - shift, hi - shift


def mode_rates(xp: Any, p: Mapping[str, Any], modes: int) -> list[Any]:
    """Rates ``l_1 > ... > l_K`` from ``l1`` and the gaps: ``l_k = l_{k-1} exp(-dlog_lk)``."""
    rates = [p["l1"]]
    for k in range(2, modes + 1):
        rates.append(rates[-1] * xp.exp(-p[f"dlog_l{k}"]))
    return rates


def _mode_loss(xp: Any, tau: Any, rate: Any, signal: Any, noise: Any) -> Any:
    """One mode group's part of ``F(tau)``: signal left ``S e^{-2 l tau}`` plus noise fitted."""
    decay = xp.exp(-rate * tau)
    learned = -xp.expm1(-rate * tau)  # 1 - e^{-l tau}, accurate for small l tau
    return signal * decay**2 + noise * learned**2


# -- posterior functionals (numpy, vectorised over draws) ---------------------------------------


def _modes(
    params: Mapping[str, Any], family: ScaleTime, g: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates, signals and effective noise amplitudes, each (K, S) for S draws."""
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in params.items()}
    rates = mode_rates(np, arrays, family.modes)
    signals = [arrays[f"S{k}"] for k in range(1, family.modes + 1)]
    noises = [arrays[f"V{k}"] * g for k in range(1, family.modes + 1)]
    shape = np.broadcast_shapes(*(np.shape(a) for a in (*rates, *signals, *noises)))

    def stack(arrays: list[np.ndarray]) -> np.ndarray:
        return np.stack([np.broadcast_to(a, shape) for a in arrays])

    return stack(rates), stack(signals), stack(noises)


def _curve_f(
    tau: np.ndarray, e: np.ndarray, rates: np.ndarray, s: np.ndarray, v: np.ndarray
) -> Any:
    """``F(tau)`` for ``tau`` (S, G) and mode arrays (K, S)."""
    return e[:, None] + np.sum(
        _mode_loss(np, tau, rates[..., None], s[..., None], v[..., None]), axis=0
    )


def _slope_f(tau: np.ndarray, rates: np.ndarray, s: np.ndarray, v: np.ndarray) -> Any:
    """``tau F'(tau) = sum_k 2 l_k tau e_k [V_k (1 - e_k) - S_k e_k]``, (S, G)."""
    lt = rates[..., None] * tau
    decay = np.exp(-lt)
    return np.sum(2 * lt * decay * (v[..., None] * -np.expm1(-lt) - s[..., None] * decay), axis=0)


def _first_crossing(
    fun: Callable[[np.ndarray, slice], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    strict: bool = False,
    grid: int = 2048,
    iters: int = 60,
    chunk: int = 256,
) -> np.ndarray:
    """Per draw, the first ``u`` in [lo, hi] where ``fun`` turns from > 0 to <= 0 (else NaN).

    ``fun(u, rows)`` maps (s, G) arguments for the draws ``rows`` to (s, G) values. Scans a grid
    of ``grid`` points, then bisects the first bracket ``iters`` times (relative precision
    2^-iters of a grid cell), ``chunk`` draws at a time to bound memory. ``strict`` asks for a
    sign change to < 0, so a slope that merely flattens to 0 is not a maximum.
    """
    out = np.full(len(lo), np.nan)
    for start in range(0, len(lo), chunk):
        rows = slice(start, start + chunk)
        u = lo[rows, None] + (hi - lo)[rows, None] * np.linspace(0.0, 1.0, grid)
        values = fun(u, rows)
        below = values < 0 if strict else values <= 0
        cross = ~below[:, :-1] & below[:, 1:]
        first = np.argmax(cross, axis=1)
        index = np.arange(len(first))
        a, b = u[index, first], u[index, first + 1]
        for _ in range(iters):
            mid = 0.5 * (a + b)
            positive = fun(mid[:, None], rows)[:, 0] > 0
            a, b = np.where(positive, mid, a), np.where(positive, b, mid)
        out[rows] = np.where(cross.any(axis=1), 0.5 * (a + b), np.nan)
    return out


def _natural(
    source: Fitted | Mapping[str, Any], family: ScaleTime | None, group: str | None
) -> tuple[dict[str, np.ndarray], ScaleTime]:
    """Natural-unit draws (S,) and the family, from a Fit or a mapping of draws."""
    if isinstance(source, Mapping):
        params = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in source.items()}
        if family is None:
            modes = sum(1 for k in params if k.startswith("S") and k[1:].isdigit())
            family = ScaleTime(modes=str(modes), capacity="power" if "A_P" in params else "none")
        return params, family
    fam = source.family
    if not isinstance(fam, ScaleTime):
        raise FamilyError(f"needs a scale_time fit, not '{fam.name}'", field="family")
    return source.natural_draws(group), fam


def _noise_scale(family: ScaleTime, data: float | None, label_noise: float | None) -> float:
    """``g`` for natural inputs, checking that the option's inputs were given."""
    g = 1.0
    for name in NOISE_INPUTS[family.options["noise"]]:
        value = data if name == "data" else label_noise
        if value is None:
            raise FamilyError(
                f"scale_time with noise={family.options['noise']} needs '{name}'", field=name
            )
        g = g / value if name == "data" else g * value
    return g


def _tau_bounds(
    rates: np.ndarray, lo: float = 1e-4, hi: float = 1e4
) -> tuple[np.ndarray, np.ndarray]:
    """Log-``tau`` range from well before the fastest group to well after the slowest."""
    return np.log(lo / rates[0]), np.log(hi / rates[-1])


def tau_peak(params: Mapping[str, Any], family: ScaleTime | None = None, g: float = 1.0) -> Any:
    """Time-wise peak ``tau*`` of ``F`` (first local maximum), per draw; NaN where none.

    ``params`` are natural-unit draws; ``g`` the noise factor (1 for ``noise=constant``).
    """
    params, fam = _natural(params, family, None)
    rates, s, v = _modes(params, fam, g)
    lo, hi = _tau_bounds(rates)

    def slope(u: np.ndarray, rows: slice) -> np.ndarray:
        return np.asarray(_slope_f(np.exp(u), rates[:, rows], s[:, rows], v[:, rows]))

    return np.exp(_first_crossing(slope, lo, hi, strict=True))


def peak_size(
    fit_or_params: Fitted | Mapping[str, Any],
    t: float | np.ndarray,
    *,
    family: ScaleTime | None = None,
    group: str | None = None,
    data: float | None = None,
    label_noise: float | None = None,
) -> np.ndarray:
    """Model size ``P*(t)`` of the scale-wise (model-wise) double-descent peak at time ``t``.

    The first local maximum of ``L(N, t)`` along ``N`` (natural units), per posterior draw.
    Without the capacity floor it is ``(tau*/t)^{1/kappa}``: ``P* ∝ t^{-1/kappa}``, so the
    peak moves to smaller models as training lengthens. NaN for draws with no peak.

    Parameters
    ----------
    fit_or_params
        A ``scale_time`` :class:`~models.Fit`, or natural-unit draws (name -> (S,) array).
    t
        Training time(s), natural units (``steps``).
    family
        The family of ``fit_or_params`` when it is a mapping; default: modes and capacity
        inferred from the keys, ``noise=constant``.
    group
        Fitted group (a Fit with several groups); None or unseen draws a new group.
    data, label_noise
        Natural values of these inputs when the family's noise term scales with them.

    Returns
    -------
    numpy.ndarray
        (S,) for a scalar ``t``, (S, T) for T times.
    """
    params, fam = _natural(fit_or_params, family, group)
    g = _noise_scale(fam, data, label_noise)
    rates, s, v = _modes(params, fam, g)
    kappa = np.asarray(params["kappa"], dtype=float) * np.ones(rates.shape[1])
    cap = fam.options["capacity"] == "power"
    a_cap = np.asarray(params["A_P"] if cap else 0.0, dtype=float) * np.ones(rates.shape[1])
    b_cap = np.asarray(params["a_P"] if cap else 0.0, dtype=float) * np.ones(rates.shape[1])
    lo_tau, hi_tau = _tau_bounds(rates)
    times = np.atleast_1d(np.asarray(t, dtype=float))
    out = np.empty((rates.shape[1], len(times)))
    for j, tj in enumerate(times):
        log_t = np.log(tj)

        def slope(u: np.ndarray, rows: slice, log_t: float = log_t) -> np.ndarray:
            # dL/dlogN = kappa tau F'(tau) - a_P A_P N^-a_P, tau = t N^kappa
            k, a, b = kappa[rows, None], a_cap[rows, None], b_cap[rows, None]
            tau = np.exp(log_t + k * u)
            return np.asarray(
                k * _slope_f(tau, rates[:, rows], s[:, rows], v[:, rows]) - b * a * np.exp(-b * u)
            )

        out[:, j] = np.exp(
            _first_crossing(slope, (lo_tau - log_t) / kappa, (hi_tau - log_t) / kappa, strict=True)
        )
    return out[:, 0] if np.ndim(t) == 0 else out


def iso_loss(
    params: Fitted | Mapping[str, Any],
    target_loss: float,
    sizes: float | np.ndarray,
    *,
    family: ScaleTime | None = None,
    group: str | None = None,
    data: float | None = None,
    label_noise: float | None = None,
) -> np.ndarray:
    """Training time each model size needs to first reach ``target_loss`` (the iso-loss curve).

    Per draw and size, the smallest ``t`` with ``L(N, t) <= target_loss`` (natural units);
    0 if the untrained loss is already below it, NaN if it is never reached (the target is
    below every value ``F`` takes, or below the capacity floor). Without the capacity floor
    ``t N^kappa`` is constant along the curve, ``t ∝ N^-kappa``: the iso-loss line has slope
    ``-1/kappa`` in (log t, log N).

    Parameters
    ----------
    params
        A ``scale_time`` :class:`~models.Fit`, or natural-unit draws (name -> (S,) array).
    target_loss
        Loss to reach, natural units.
    sizes
        Model sizes ``N`` (``params``), natural units.
    family, group, data, label_noise
        As for :func:`peak_size`.

    Returns
    -------
    numpy.ndarray
        (S,) for a scalar size, (S, len(sizes)) otherwise.
    """
    draws, fam = _natural(params, family, group)
    g = _noise_scale(fam, data, label_noise)
    rates, s, v = _modes(draws, fam, g)
    n_draws = rates.shape[1]
    e = np.asarray(draws["E"], dtype=float) * np.ones(n_draws)
    kappa = np.asarray(draws["kappa"], dtype=float) * np.ones(n_draws)
    lo, hi = _tau_bounds(rates)
    n = np.atleast_1d(np.asarray(sizes, dtype=float))
    out = np.empty((n_draws, len(n)))
    for j, nj in enumerate(n):
        cap = 0.0
        if fam.options["capacity"] == "power":
            cap = np.asarray(draws["A_P"]) * nj ** -np.asarray(draws["a_P"])
        level = target_loss - cap * np.ones(n_draws)

        def excess(u: np.ndarray, rows: slice, level: np.ndarray = level) -> np.ndarray:
            f = _curve_f(np.exp(u), e[rows], rates[:, rows], s[:, rows], v[:, rows])
            return np.asarray(f - level[rows, None])

        start = (e + s.sum(axis=0)) <= level  # F(0) already at the target
        tau = np.where(start, 0.0, np.exp(_first_crossing(excess, lo, hi)))
        out[:, j] = tau / nj**kappa
    return out[:, 0] if np.ndim(sizes) == 0 else out
