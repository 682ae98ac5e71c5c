"""HTML form fields -> the JSON API's request schemas, with errors naming the form field.

Forms are flat text; the schemas are nested and strictly typed. These helpers only reshape
(``"x=params, form=nd"`` -> a dict, ``"0.5, 0.9"`` -> a list of floats); every rule is the schema's
own, so the dashboard accepts exactly what the API accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from service.errors import Invalid
from service.schemas import FitRequest, PlanRequest, PredictRequest, SamplerSpec

Form = Mapping[str, str]
_SEPARATORS = re.compile(r"[,\s]+")
SAMPLER_FIELDS = tuple(SamplerSpec.model_fields)
NULLABLE_SAMPLER_FIELDS = ("max_draws", "deeper_tree_depth", "careful_target_accept")


async def form_fields(request: Request) -> dict[str, str]:
    """Dependency: the posted form's text fields (files and the CSRF token left out)."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf"}


def validated[SchemaT: BaseModel](schema: type[SchemaT], data: dict[str, Any]) -> SchemaT:
    """``schema`` validated from ``data``; an :class:`Invalid` listing every bad field."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "form", "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Invalid(detail, field=errors[0]["field"], errors=errors) from None


def number(text: str | None, field: str) -> float | None:
    """A number from a text field; empty is None."""
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid(f"'{text}' is not a number", field=field) from None


def numbers(text: str | None, field: str) -> list[float]:
    """Numbers separated by commas or spaces."""
    return [v for part in _split(text) if (v := number(part, field)) is not None]


def names(text: str | None) -> list[str]:
    """Names separated by commas or spaces."""
    return _split(text)


def pairs(text: str | None, field: str) -> dict[str, str]:
    """``"a=1, b=2"`` as ``{"a": "1", "b": "2"}``."""
    out: dict[str, str] = {}
    for part in _split(text):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise Invalid(f"'{part}' is not name=value", field=field)
        out[key] = value
    return out


def point(text: str | None, field: str) -> dict[str, float]:
    """``"params=7e9, data=1.4e11"`` as a point of inputs."""
    return {k: number(v, field) or 0.0 for k, v in pairs(text, field).items()}


def fit_request(form: Form) -> FitRequest:
    """The new-fit form as a :class:`FitRequest`."""
    pooling = form.get("pooling") or None
    priors = None
    if form.get("priors"):
        try:
            priors = json.loads(form["priors"])
        except json.JSONDecodeError as exc:
            raise Invalid(f"priors are not valid JSON: {exc}", field="priors") from None
    groups = names(form.get("groups"))
    data: dict[str, Any] = {
        "dataset": form.get("dataset", ""),
        "family": form.get("family") or None,
        "family_options": pairs(form.get("family_options"), "family_options"),
        "pooling": pairs(pooling, "pooling") if pooling and "=" in pooling else pooling,
        "priors": priors,
        "likelihood": form.get("likelihood") or None,
        "sampler": {k: _sampler_value(k, form[k]) for k in SAMPLER_FIELDS if form.get(k)},
        "filters": {"groups": groups or None},
        "name": form.get("name", ""),
        "tags": names(form.get("tags")),
    }
    return validated(FitRequest, data)


def _sampler_value(name: str, text: str) -> str | None:
    """A sampler field's text; ``none`` is None where a field takes null (never rerun)."""
    return None if name in NULLABLE_SAMPLER_FIELDS and text.lower() == "none" else text


def predict_request(form: Form) -> PredictRequest:
    """The predict form (one point per line) as a :class:`PredictRequest`."""
    lines = [line for line in form.get("points", "").splitlines() if line.strip()]
    data: dict[str, Any] = {
        "points": [point(line, "points") for line in lines],
        "group": form.get("group") or None,
        "probs": numbers(form.get("probs"), "probs") or [0.5, 0.9],
    }
    return validated(PredictRequest, data)


def plan_request(form: Form) -> PlanRequest:
    """The plan form (budgets and/or a target) as a :class:`PlanRequest`."""
    data: dict[str, Any] = {
        "budgets": numbers(form.get("budgets"), "budgets"),
        "group": form.get("group") or None,
        "probs": numbers(form.get("probs"), "probs") or [0.5, 0.9],
    }
    for name in ("target", "q", "k", "max_params", "max_data"):
        value = number(form.get(name), name)
        if value is not None:
            data[name] = value
    return validated(PlanRequest, data)


def _split(text: str | None) -> list[str]:
    return [p for p in _SEPARATORS.split(text or "") if p]
