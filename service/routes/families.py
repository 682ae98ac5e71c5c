"""Scaling-law families."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

import models

router = APIRouter(prefix="/v1/families", tags=["families"])


@router.get("")
def list_families() -> list[dict[str, Any]]:
    """Every family: formula, inputs, options, parameters with units and default priors."""
    return models.list_families()
