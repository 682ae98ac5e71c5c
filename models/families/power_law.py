r"""Power law with an irreducible floor over any one input.

.. math:: L(x) = E + A \, x^{-\alpha}

``x`` is one canonical input chosen by the option ``x`` (``params`` by default; ``data``,
``steps`` or ``compute``). ``E`` is the irreducible loss (loss units), ``A`` the amplitude
(loss units x input^alpha) and ``alpha`` the exponent (dimensionless, usually 0.05-0.7 for
language models). In model units the input is divided by its geometric mean and the loss by the
smallest observed loss, so ``E`` near 1 means the floor is close to the best run seen.

Citation: Hestness et al. 2017, "Deep Learning Scaling is Predictable, Empirically"
(arXiv:1712.00409); the M2 form of Alabdulmohsin et al. 2022 (arXiv:2209.06640).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import Pivot, ScalingLaw, amplitude, exponent, floor


class PowerLaw(ScalingLaw):
    """``L = E + A x^-alpha``: one resource, one exponent, one floor."""

    name = "power_law"
    formula = "L = E + A * x^(-alpha)"
    citation = "Hestness et al. 2017 (arXiv:1712.00409); Alabdulmohsin et al. 2022 (M2)"
    use_when = "one resource varies (size, data, steps or compute) and the others are fixed"
    option_choices = {"x": ("params", ("params", "data", "steps", "compute"))}
    params = (
        floor(),
        amplitude("A", "x", "alpha", "amplitude of the reducible term"),
        exponent("alpha", "exponent of the input"),
    )
    default_pooling = {"E": "partial", "A": "partial", "alpha": "partial"}
    pivot = Pivot("E", (("A", "alpha"),))

    @property
    def inputs(self) -> tuple[str, ...]:
        """The one chosen input."""
        return (self.options["x"],)

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """``E + A * x**-alpha`` in model units."""
        return p["E"] + p["A"] * xp.exp(-p["alpha"] * x["log_" + self.options["x"]])

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """The amplitude's unit refers to whichever input was chosen."""
        return super().to_natural(p, {"x": input_scales[self.options["x"]]}, loss_scale)
