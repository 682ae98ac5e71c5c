r"""Kaplan et al.'s joint laws: model size with data (Eq. 1.5) or with training steps (Eq. 1.6).

.. math::

    L(N, D) = \left[(N_c / N)^{\alpha_N / \alpha_D} + D_c / D\right]^{\alpha_D}
    \qquad \text{(form ``nd``, the default)}

    L(N, S) = (N_c / N)^{\alpha_N} + (S_c / S)^{\alpha_S}
    \qquad \text{(form ``ns``)}

``N`` is the parameter count (``params``; Kaplan count non-embedding parameters), ``D`` the
training tokens (``data``) and ``S`` the optimizer steps (``steps``; Kaplan's ``S_min``, steps
at a large batch). Parameters: ``alpha_N``, ``alpha_D``, ``alpha_S`` exponents
(dimensionless); ``N_c`` (params units), ``D_c`` (data units), ``S_c`` (steps units) the
critical scales. Published (natural units, nats/token, WebText2): alpha_N = 0.076,
alpha_D = 0.095, N_c = 8.8e13, D_c = 5.4e13; alpha_S = 0.76, S_c = 2.1e3.

Model units and the loss scale. Neither law has a floor or a free amplitude, and none can be
added: ``K [(N_c/N)^r + D_c/D]^alpha_D`` equals the same law with ``N_c, D_c`` multiplied by
``K^(1/alpha_N)`` and ``K^(1/alpha_D)``, so a loss-scale parameter would be exactly
unidentified. The reference loss ``s_L`` (smallest observed loss) is therefore absorbed into the
critical scales: in model units ``N_c' = N_c / (s_N s_L^(1/alpha_N))`` (likewise ``D_c'`` with
``alpha_D``, ``S_c'`` with ``alpha_S``), which makes the model-unit law exactly the natural law
divided by ``s_L`` and is what :meth:`Kaplan.to_natural` inverts. With the loss O(1) in model
units each critical scale is O(1) too (term^(1/alpha) with term near 1); Kaplan's published fit
on a typical sweep gives log N_c' ~ 3, log D_c' ~ 1.6, log S_c' ~ -2.7. Priors: alpha_N and
alpha_D LogNormal(log 0.1, 0.8) (90 %: 0.03-0.37; no floor makes these exponents small),
alpha_S LogNormal(log 0.5, 0.6) (90 %: 0.19-1.3); log N_c', log D_c' ~ Normal(0, 3) and
log S_c' ~ Normal(-3, 2) (the steps term is a fraction of the loss). Prior-predictive loss at
the data's centre: median 1.2 (90 %: 0.8-3.2) times the best observed loss for ``nd``, 1.3
(0.65-3.1) for ``ns``.

Use when reproducing or comparing with Kaplan-style fits: no irreducible loss, so these laws
fit the early, steep part of LM curves and overestimate gains at large scale (prefer
``chinchilla`` when a floor matters). ``ns`` models learning curves at fixed data.

Citation: Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv:2001.08361),
Eqs. 1.5 and 1.6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import Param, Pooling, ScalingLaw, Unit, group_spread
from models.priors import PriorSpec


def _exponent(name: str, median: float, sigma: float, description: str) -> Param:
    prior = PriorSpec("LogNormal", mu=float(np.log(median)), sigma=sigma)
    return Param(name, prior, "log", description, pool_sigma=group_spread(0.15))


def _critical(name: str, input: str, mu: float, sigma: float, description: str) -> Param:
    prior = PriorSpec("LogNormal", mu=mu, sigma=sigma)
    return Param(name, prior, "log", description, Unit("input", input), group_spread(0.5))


# critical scale -> the exponent whose power of the loss scale it absorbs
_EXPONENT_OF = {"N_c": "alpha_N", "D_c": "alpha_D", "S_c": "alpha_S"}


class Kaplan(ScalingLaw):
    """Kaplan 2020: ``[(N_c/N)^(a_N/a_D) + D_c/D]^a_D`` or ``(N_c/N)^a_N + (S_c/S)^a_S``."""

    name = "kaplan"
    formula = (
        "nd: L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D; "
        "ns: L = (N_c/N)^alpha_N + (S_c/S)^alpha_S"
    )
    citation = "Kaplan et al. 2020 (arXiv:2001.08361), Eqs. 1.5 and 1.6"
    use_when = (
        "comparing with Kaplan-style fits (no irreducible loss): model size with tokens (nd) or "
        "with training steps (ns)"
    )
    option_choices = {"form": ("nd", ("nd", "ns"))}

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        size = [
            _exponent("alpha_N", 0.1, 0.8, "model-size exponent"),
            _critical("N_c", "params", 0.0, 3.0, "critical model size"),
        ]
        if self.options["form"] == "nd":
            other = [
                _exponent("alpha_D", 0.1, 0.8, "data exponent"),
                _critical("D_c", "data", 0.0, 3.0, "critical dataset size"),
            ]
        else:
            other = [
                _exponent("alpha_S", 0.5, 0.6, "training-steps exponent"),
                _critical("S_c", "steps", -3.0, 2.0, "critical number of steps"),
            ]
        self.params = (*size, *other)
        pooling: dict[str, Pooling] = {p.name: "partial" for p in self.params}
        self.default_pooling = pooling

    @property
    def inputs(self) -> tuple[str, ...]:
        """Model size with tokens (``nd``) or with steps (``ns``)."""
        return ("params", "data") if self.options["form"] == "nd" else ("params", "steps")

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """The chosen form in model units; ``nd`` via a stable ``logaddexp``."""
        size = xp.log(p["N_c"]) - x["log_params"]
        if self.options["form"] == "ns":
            steps = xp.log(p["S_c"]) - x["log_steps"]
            return xp.exp(p["alpha_N"] * size) + xp.exp(p["alpha_S"] * steps)
        # log of the bracket: with alpha_N/alpha_D large the terms overflow, their log cannot
        u = p["alpha_N"] / p["alpha_D"] * size
        v = xp.log(p["D_c"]) - x["log_data"]
        return xp.exp(p["alpha_D"] * xp.logaddexp(u, v))

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """Critical scales: times their input's scale and ``loss_scale^(1/exponent)``."""
        out = super().to_natural(p, input_scales, loss_scale)
        for name, exponent in _EXPONENT_OF.items():
            if name in out:
                out[name] = out[name] * loss_scale ** (1.0 / np.asarray(p[exponent]))
        return out
