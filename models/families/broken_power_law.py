r"""Smoothly broken power law (BNSL) with a floor over any one input.

.. math::

    L(x) = a + b \, x^{-c_0} \prod_{i=1}^{n} \left(1 + (x / d_i)^{1/f_i}\right)^{-c_i f_i}

``x`` is one canonical input chosen by the option ``x`` (``data`` by default; ``params``,
``steps`` or ``compute``) and ``n`` the number of breaks (option ``breaks``: ``1``, ``2`` or
``3``). Far below the first break the law is ``a + b x^-c0``; past break ``i`` the local
exponent grows by ``c_i``, so after the last one it is ``c0 + c_1 + ... + c_n``.

Parameters and units:

* ``a`` -- irreducible loss (floor), loss units;
* ``b`` -- amplitude, loss units x input^c0;
* ``c0`` -- initial exponent, dimensionless, positive;
* ``c1..cn`` -- change of exponent at each break, dimensionless and *real*: a negative ``c_i``
  makes the curve flatten or turn up, which is how BNSL represents non-monotone shapes
  (double descent, inverse scaling). Identity link, prior Normal(0.5/n, 1/sqrt(n)): the
  total change ``c_1 + ... + c_n`` is Normal(0.5, 1) whatever ``n``. Sharp "emergent" drops
  need large changes (the 4-digit-addition benchmark fits c1 ~ 4.5); a tighter Normal(0.3, 0.5)
  left one chain in four stuck on a smooth, poorer mode there;
* ``d1`` -- location of the first break, input units (model units: 1 is the geometric mean of
  the observed inputs; prior LogNormal(-(n-1), 2), so a break anywhere within ~e^±4 of the
  data's centre, i.e. over a span far wider than a typical sweep, is plausible);
* ``delta2``, ``delta3`` -- for ``n >= 2``, the later breaks as positive log-increments,
  ``log d_i = log d_{i-1} + delta_i`` (dimensionless, e-folds of the input; prior LogNormal
  with median 2). This enforces ``d_1 < d_2 < ...`` so that breaks cannot swap labels (a
  multimodal posterior otherwise); the locations ``d2``, ``d3`` are reported as derived
  quantities in input units;
* ``f1..fn`` -- sharpness of each break, dimensionless (the transition spans roughly ``f_i``
  e-folds of the input; small is sharp), LogNormal(log 0.5, 1).

In model units the input is divided by its geometric mean and the loss by the smallest observed
loss. The product is evaluated in log space with a stable softplus, so very sharp breaks and
inputs far past a break neither overflow nor lose their gradient.

Use when a single power law visibly bends: plateau-then-drop ("emergent") curves, a change of
regime, or non-monotone loss curves; with few points prefer one break.

Citation: Caballero, Gupta, Rish & Krueger 2022, "Broken Neural Scaling Laws"
(arXiv:2210.14891), Eq. 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import (
    Param,
    Pivot,
    Pooling,
    ScalingLaw,
    Unit,
    amplitude,
    floor,
    group_spread,
)
from models.priors import PriorSpec


def softplus(xp: Any, z: Any) -> Any:
    """``log(1 + exp(z))`` without overflow for large ``z`` (``xp`` is numpy or pytensor).

    ``logaddexp`` exists in both namespaces and is stable both ways. The hand-written
    ``maximum(z, 0) + log1p(exp(-|z|))`` has the same values but PyTensor differentiates its
    kink to 1 instead of 1/2 at ``z = 0``; ``logaddexp``'s gradient is the logistic everywhere.
    """
    return xp.logaddexp(0.0, z)


def _params(n: int) -> tuple[Param, ...]:
    out = [
        floor("a"),
        amplitude("b", "x", "c0", "amplitude of the initial power law"),
        Param(
            "c0",
            PriorSpec("LogNormal", mu=float(np.log(0.2)), sigma=1.0),
            "log",
            "initial exponent (before the first break)",
            pool_sigma=group_spread(0.15),
        ),
    ]
    for i in range(1, n + 1):
        out.append(
            Param(
                f"c{i}",
                PriorSpec("Normal", mu=0.5 / n, sigma=float(1.0 / np.sqrt(n))),
                "identity",
                f"change of exponent at break {i} (negative: the curve flattens or rises)",
                pool_sigma=group_spread(0.15),
            )
        )
        if i == 1:
            location = PriorSpec("LogNormal", mu=float(1 - n), sigma=2.0)
            out.append(Param("d1", location, "log", "location of break 1", Unit("input", "x")))
        else:
            gap = PriorSpec("LogNormal", mu=float(np.log(2.0)), sigma=0.7)
            out.append(Param(f"delta{i}", gap, "log", f"log(d{i}/d{i - 1}) > 0"))
        sharp = PriorSpec("LogNormal", mu=float(np.log(0.5)), sigma=1.0)
        out.append(Param(f"f{i}", sharp, "log", f"sharpness of break {i} (e-folds; small: sharp)"))
    return tuple(out)


class BrokenPowerLaw(ScalingLaw):
    """``L = a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)``: a power law with n bends."""

    name = "broken_power_law"
    formula = "L = a + b * x^(-c0) * prod_i (1 + (x/d_i)^(1/f_i))^(-c_i*f_i)"
    citation = "Caballero et al. 2022, Broken Neural Scaling Laws (arXiv:2210.14891)"
    use_when = (
        "one resource varies and the log-log curve bends: plateau then drop, regime changes, "
        "non-monotone (double descent, inverse scaling)"
    )
    option_choices = {
        "x": ("data", ("params", "data", "steps", "compute")),
        "breaks": ("1", ("1", "2", "3")),
    }
    # Exact at the pivot only while the breaks lie beyond the data (models.pivot).
    pivot = Pivot("a", (("b", "c0"),))

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.n_breaks = int(self.options["breaks"])
        self.params = _params(self.n_breaks)
        pooling: dict[str, Pooling] = {p.name: "partial" for p in self.params}
        self.default_pooling = pooling

    @property
    def inputs(self) -> tuple[str, ...]:
        """The one chosen input."""
        return (self.options["x"],)

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """``a + b x^-c0 prod_i (...)`` in model units, the product summed in log space."""
        log_x = x["log_" + self.options["x"]]
        log_term = xp.log(p["b"]) - p["c0"] * log_x
        log_d = xp.log(p["d1"])
        for i in range(1, self.n_breaks + 1):
            if i > 1:
                log_d = log_d + p[f"delta{i}"]
            f = p[f"f{i}"]
            log_term = log_term - p[f"c{i}"] * f * softplus(xp, (log_x - log_d) / f)
        return p["a"] + xp.exp(log_term)

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """``b`` and ``d1`` refer to whichever input was chosen; the rest is default."""
        return super().to_natural(p, {"x": input_scales[self.options["x"]]}, loss_scale)

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Break locations ``d2``, ``d3`` (input units) and the final exponent ``c_total``."""
        out: dict[str, np.ndarray] = {}
        location = np.asarray(natural["d1"])
        total = np.asarray(natural["c0"]) + np.asarray(natural["c1"])
        for i in range(2, self.n_breaks + 1):
            location = location * np.exp(natural[f"delta{i}"])
            out[f"d{i}"] = location
            total = total + np.asarray(natural[f"c{i}"])
        out["c_total"] = total
        return out
