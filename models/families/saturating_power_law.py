r"""Saturating power law: a sigmoid on log-log axes between an upper and a lower asymptote.

.. math::

    L(x) = E + G \, \left(1 + (x / x_0)^{c/\alpha}\right)^{-\alpha},
    \qquad L_0 = E + G

``x`` is one canonical input chosen by the option ``x`` (``data`` by default; ``params``,
``steps`` or ``compute``). The loss starts at the upper asymptote ``L0 = E + G`` for ``x -> 0``
(e.g. the untrained or random-guess loss), bends down around ``x0`` and approaches the floor
``E`` as a power law, ``L - E ~ G (x/x0)^-c``, for ``x >> x0``. Below ``x0`` it leaves the
plateau as ``L0 - L ~ alpha G (x/x0)^(c/alpha)``, so ``alpha`` sets the asymmetry of the S.

This is an explicit version of M4 (Alabdulmohsin, Neyshabur & Zhai 2022), which defines the loss
implicitly by ``(L - E) / (L0 - L)^alpha = beta x^-c``. Both laws have the same two asymptotes
and the same exponents on either side (``c`` towards the floor, ``c/alpha`` away from ``L0``);
for ``alpha = 1`` they coincide exactly, with ``beta = x0^c``. The explicit form needs no root
finding inside the NUTS graph, and ``L0 > E`` holds by construction (``G > 0``).

Parameters and units (model units: the input divided by its geometric mean, the loss by the
smallest observed loss):

* ``E`` -- the floor as ``x -> inf``, loss units; prior LogNormal(log 0.5, 0.7) as every
  family's floor;
* ``G`` -- the gap ``L0 - E`` to the upper asymptote, loss units; LogNormal(log 2, 1): the
  untrained loss of a language model is ~3-5x its best loss, a classifier's chance error a few
  times its best error; ``L0 = E + G`` is reported as a derived quantity;
* ``c`` -- the exponent of the approach to the floor, dimensionless; LogNormal(log 0.3, 0.6) as
  the other families' exponents;
* ``x0`` -- where the curve turns from the plateau to the power law, input units;
  LogNormal(0, 2): anywhere within ~e^+-4 of the data's centre, so data that show only the
  power-law tail (``x0`` far left) or only the plateau (``x0`` far right) are both covered;
* ``alpha`` -- shape, dimensionless; LogNormal(0, 0.75), median 1 (the exact M4 case): small
  ``alpha`` gives a sharp shoulder at ``L0`` and a gradual approach to ``E``, large ``alpha``
  the opposite.

The curve is evaluated as ``E + exp(log G - alpha softplus((c/alpha)(log x - log x0)))`` with a
stable softplus, so inputs far from ``x0`` or a sharp shoulder neither overflow nor lose the
gradient.

Use when a curve starts on a plateau near a known starting loss (untrained, chance), falls, and
flattens towards a floor: an S-shape on log-log axes, as in learning curves from the first
checkpoints, zero-shot error by compute, or small-model sweeps that start near ln(vocabulary).

Citation: Alabdulmohsin, Neyshabur & Zhai 2022, "Revisiting Neural Scaling Laws in Language and
Vision" (NeurIPS; arXiv:2209.06640), estimator M4; the explicit form is a Richards (generalised
logistic) curve in log x.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import Param, Pooling, ScalingLaw, Unit, exponent, floor, group_spread
from models.families.broken_power_law import softplus
from models.priors import PriorSpec


class SaturatingPowerLaw(ScalingLaw):
    """``L = E + G (1 + (x/x0)^(c/alpha))^-alpha``: from ``L0 = E + G`` down to ``E``."""

    name = "saturating_power_law"
    formula = "L = E + G * (1 + (x/x0)^(c/alpha))^(-alpha);  L0 = E + G"
    citation = (
        "Alabdulmohsin, Neyshabur & Zhai 2022, Revisiting Neural Scaling Laws (arXiv:2209.06640),"
        " M4; explicit form"
    )
    use_when = (
        "one resource varies and the curve is an S on log-log axes: a plateau near the "
        "untrained / chance loss, a fall, then a power-law approach to a floor"
    )
    option_choices = {"x": ("data", ("params", "data", "steps", "compute"))}
    params = (
        floor("E", "floor: the loss as x -> infinity"),
        Param(
            "G",
            PriorSpec("LogNormal", mu=float(np.log(2.0)), sigma=1.0),
            "log",
            "gap L0 - E between the upper asymptote (x -> 0) and the floor",
            Unit("loss"),
            pool_sigma=group_spread(0.3),
        ),
        exponent("c", "exponent of the power-law approach to the floor"),
        Param(
            "x0",
            PriorSpec("LogNormal", mu=0.0, sigma=2.0),
            "log",
            "where the curve turns from the plateau to the power law",
            Unit("input", "x"),
            pool_sigma=group_spread(0.5),
        ),
        Param(
            "alpha",
            PriorSpec("LogNormal", mu=0.0, sigma=0.75),
            "log",
            "shape: the loss leaves L0 as x^(c/alpha) (M4's alpha; 1 is symmetric)",
            pool_sigma=group_spread(0.25),
        ),
    )
    default_pooling: Mapping[str, Pooling] = {
        "E": "partial",
        "G": "partial",
        "c": "partial",
        "x0": "partial",
        "alpha": "partial",
    }

    @property
    def inputs(self) -> tuple[str, ...]:
        """The one chosen input."""
        return (self.options["x"],)

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """``E + G (1 + (x/x0)^(c/alpha))^-alpha`` in model units, the power taken in log space."""
        log_x = x["log_" + self.options["x"]]
        alpha = p["alpha"]
        log_fraction = -alpha * softplus(xp, p["c"] / alpha * (log_x - xp.log(p["x0"])))
        return p["E"] + xp.exp(xp.log(p["G"]) + log_fraction)

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """``x0`` is in units of whichever input was chosen; the rest is default."""
        return super().to_natural(p, {"x": input_scales[self.options["x"]]}, loss_scale)

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The upper asymptote ``L0 = E + G`` (loss units)."""
        return {"L0": np.asarray(natural["E"]) + np.asarray(natural["G"])}
