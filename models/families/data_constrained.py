r"""Chinchilla with repeated data: the data-constrained law of Muennighoff et al.

.. math::

    L(N, D, U) = E + A \, N^{-\alpha} + B \, D'^{-\beta}, \qquad
    D' = U_D + U_D R^*_D \left(1 - e^{-R_D / R^*_D}\right)

``N`` is the parameter count (``params``), ``D`` the total training tokens seen, repeats
included (``data``), and ``U`` the unique tokens available (``unique_data``). ``U_D = min(U, D)``
is the unique data actually seen and ``R_D = D / U_D - 1`` the repetitions beyond the first
epoch. Repeated tokens are worth less and less: ``D'`` rises from ``D`` (one epoch, ``R_D = 0``)
to at most ``U_D (1 + R*_D)``; ``R*_D`` is the number of repetitions after which further epochs
have lost ``1 - 1/e`` of their value. When ``D <= U`` the law is exactly ``chinchilla``.

Parameters: ``E`` irreducible loss (loss units); ``A`` (loss units x params^alpha) and ``B``
(loss units x data^beta) amplitudes; ``alpha``, ``beta`` exponents (dimensionless); ``R_star``
(``R*_D``, dimensionless repetitions; prior LogNormal(log 15.4, 1) centred on the published
value, 90 % between 3 and 80). ``R_star`` is identified only by runs with several epochs, and
shared across groups by default (the paper fits one value). Published fit (C4):
R*_D = 15.4, R*_N = 5.3.

Only the data side is modelled. The paper's parameter side (``N' = U_N + U_N R*_N (1 -
e^(-R_N/R*_N))``, with ``U_N`` the compute-optimal size for the unique data) depends on a
Chinchilla allocation fitted beforehand; it matters only for models far larger than
compute-optimal and is left out, so ``N`` enters as in Chinchilla.

Model units. ``D`` and ``U`` count the same thing, and ``R_D`` is their *natural* ratio, so both
must be divided by the same reference: :meth:`models.data.ScalingData.default_scales` gives
``unique_data`` the reference of ``data`` when both are inputs. The curve then reads
``log D - log U`` unchanged by scaling, ``D'`` is in data units and ``B`` converts like
Chinchilla's. (Scales passed explicitly to ``fit`` must keep ``unique_data == data``.)

Use when some runs repeat their data for more than one epoch (data-constrained regimes); with
no repeats prefer ``chinchilla``.

Citation: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models"
(arXiv:2305.16264); base law Hoffmann et al. 2022 (arXiv:2203.15556).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.families.base import Param, ScalingLaw, group_spread
from models.families.chinchilla import Chinchilla
from models.priors import PriorSpec

R_STAR_PUBLISHED = 15.4


class DataConstrained(ScalingLaw):
    """``L = E + A N^-alpha + B D'^-beta`` with repeated tokens decaying in value (R*_D)."""

    name = "data_constrained"
    formula = (
        "L = E + A * N^(-alpha) + B * D'^(-beta), "
        "D' = U + U * R_star * (1 - exp(-(D/U - 1) / R_star)), U = min(unique_data, data)"
    )
    citation = "Muennighoff et al. 2023 (arXiv:2305.16264); Hoffmann et al. 2022"
    use_when = "model size, tokens seen and unique tokens vary; some runs repeat data (epochs > 1)"
    params = (
        *Chinchilla.params,
        Param(
            "R_star",
            PriorSpec("LogNormal", mu=float(np.log(R_STAR_PUBLISHED)), sigma=1.0),
            "log",
            "repetitions after which repeated data has lost 1 - 1/e of its value",
            pool_sigma=group_spread(0.3),
        ),
    )
    default_pooling = {**Chinchilla.default_pooling, "R_star": "shared"}
    # Exact at the pivot for unrepeated data; repeated data only lower the effective D there.
    pivot = Chinchilla.pivot

    @property
    def inputs(self) -> tuple[str, ...]:
        """Model size, tokens seen and unique tokens."""
        return ("params", "data", "unique_data")

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """Chinchilla at effective data ``D'``, in model units (``U`` on ``D``'s scale)."""
        log_unique = xp.minimum(x["log_unique_data"], x["log_data"])  # U_D = min(U, D)
        repeats = xp.expm1(x["log_data"] - log_unique)  # R_D = D / U_D - 1 >= 0
        # log D' = log U_D + log(1 + R* (1 - exp(-R_D/R*))): exactly log D when R_D = 0
        gain = -xp.expm1(-repeats / p["R_star"])
        log_effective = log_unique + xp.log1p(p["R_star"] * gain)
        return (
            p["E"]
            + p["A"] * xp.exp(-p["alpha"] * x["log_params"])
            + p["B"] * xp.exp(-p["beta"] * log_effective)
        )

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Chinchilla's allocation exponents (N* ∝ C^a, D* ∝ C^b) for unrepeated data."""
        total = natural["alpha"] + natural["beta"]
        return {"a": natural["beta"] / total, "b": natural["alpha"] / total}
