r"""Chinchilla's parametric loss ("Approach 3").

.. math:: L(N, D) = E + A \, N^{-\alpha} + B \, D^{-\beta}

``N`` is the parameter count (``params``), ``D`` the training tokens (``data``). ``E`` is the
irreducible loss (nats/token for language models), ``A``/``B`` amplitudes and ``alpha``/``beta``
exponents. Derived: the compute-optimal allocation exponents ``a = beta/(alpha+beta)``
(N* ∝ C^a) and ``b = alpha/(alpha+beta)`` (D* ∝ C^b).

Citation: Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models"
(arXiv:2203.15556); replication by Besiroglu et al. 2024 (arXiv:2404.10102), whose fit on the
digitised Fig. 4 data is E = 1.82, A = 482, B = 2085, alpha = 0.348, beta = 0.366.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import Pivot, ScalingLaw, amplitude, exponent, floor


class Chinchilla(ScalingLaw):
    """``L = E + A N^-alpha + B D^-beta``: size and data each bottleneck the loss."""

    name = "chinchilla"
    formula = "L = E + A * N^(-alpha) + B * D^(-beta)"
    citation = "Hoffmann et al. 2022 (arXiv:2203.15556); Besiroglu et al. 2024 (arXiv:2404.10102)"
    use_when = "model size N and training tokens D both vary, data not repeated"
    params = (
        floor(),
        amplitude("A", "params", "alpha", "amplitude of the model-size term"),
        amplitude("B", "data", "beta", "amplitude of the data term"),
        exponent("alpha", "model-size exponent"),
        exponent("beta", "data exponent"),
    )
    default_pooling = {
        "E": "partial",
        "A": "partial",
        "B": "partial",
        "alpha": "partial",
        "beta": "partial",
    }
    pivot = Pivot("E", (("A", "alpha"), ("B", "beta")))

    @property
    def inputs(self) -> tuple[str, ...]:
        """Model size and training tokens."""
        return ("params", "data")

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """``E + A N**-alpha + B D**-beta`` in model units."""
        return (
            p["E"]
            + p["A"] * xp.exp(-p["alpha"] * x["log_params"])
            + p["B"] * xp.exp(-p["beta"] * x["log_data"])
        )

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Allocation exponents: N* ∝ C^a, D* ∝ C^b."""
        total = natural["alpha"] + natural["beta"]
        return {"a": natural["beta"] / total, "b": natural["alpha"] / total}

    def closed_form_allocation(
        self, natural: Mapping[str, np.ndarray], budget: float, k: float, lo: float, hi: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``N* = G (C/k)^(beta/(alpha+beta))``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``.

        Hoffmann et al. (2022), eq. 4; the loss is :meth:`curve` at ``(N*, D*)``, which reads
        natural-unit parameters at natural inputs the same way.
        """
        alpha, beta = natural["alpha"], natural["beta"]
        total = alpha + beta
        log_m = np.log(budget / k)
        log_g = (np.log(alpha * natural["A"]) - np.log(beta * natural["B"])) / total
        log_n = np.clip(log_g + beta / total * log_m, lo, hi)
        log_d = log_m - log_n
        loss = self.curve(np, {"log_params": log_n, "log_data": log_d}, natural)
        return np.exp(log_n), np.exp(log_d), loss
