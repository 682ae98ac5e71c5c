"""Registry of scaling-law families: one module per family, one line per family below."""

from __future__ import annotations

from typing import Any

from models.errors import FamilyError
from models.families.base import POOLING_CHOICES, Param, Pooling, ScalingLaw, Unit
from models.families.broken_power_law import BrokenPowerLaw
from models.families.chinchilla import Chinchilla
from models.families.data_constrained import DataConstrained
from models.families.double_descent import DoubleDescent
from models.families.kaplan import Kaplan
from models.families.power_law import PowerLaw
from models.families.random_features import RandomFeatures
from models.families.saturating_power_law import SaturatingPowerLaw
from models.families.scale_time import ScaleTime

REGISTRY: dict[str, type[ScalingLaw]] = {
    "power_law": PowerLaw,
    "chinchilla": Chinchilla,
    "broken_power_law": BrokenPowerLaw,
    "kaplan": Kaplan,
    "data_constrained": DataConstrained,
    "double_descent": DoubleDescent,
    "scale_time": ScaleTime,
    "random_features": RandomFeatures,
    "saturating_power_law": SaturatingPowerLaw,
}


def get_family(name: str, **options: str) -> ScalingLaw:
    """Instantiate a family by registry name, e.g. ``get_family("power_law", x="data")``."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise FamilyError(
            f"unknown family '{name}' (known: {', '.join(sorted(REGISTRY))})", field="family"
        ) from None
    return cls(**options)


def list_families() -> list[dict[str, Any]]:
    """Describe every registered family with its default options."""
    return [cls().describe() for cls in REGISTRY.values()]


__all__ = [
    "POOLING_CHOICES",
    "REGISTRY",
    "Param",
    "Pooling",
    "ScalingLaw",
    "Unit",
    "get_family",
    "list_families",
]
