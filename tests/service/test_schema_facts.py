"""The HTTP schemas restate a few facts of models (the light client cannot import models).

Each is written once in models; these tests hold the schema's copy equal, so changing one side
alone fails here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

import annotated_types

import models
from models import config, sampling
from service.schemas import FitRequest, InputName, SamplerSpec


def bound(field: str, kind: type[Any]) -> Any:
    """The value of one pydantic bound (``annotated_types.Ge`` ...) of a SamplerSpec field."""
    found = [m for m in SamplerSpec.model_fields[field].metadata if isinstance(m, kind)]
    assert len(found) == 1, (field, kind)
    return getattr(found[0], {annotated_types.Ge: "ge", annotated_types.Lt: "lt"}[kind])


def test_input_names_are_the_models_inputs() -> None:
    assert get_args(InputName) == models.INPUTS


def test_likelihoods_are_the_models_likelihoods() -> None:
    # Literal[...] | None: None asks for the server's default (models.DEFAULT_LIKELIHOOD)
    literal, none = get_args(FitRequest.model_fields["likelihood"].annotation)
    assert get_args(literal) == config.LIKELIHOODS and none is type(None)
    assert config.DEFAULT_LIKELIHOOD in config.LIKELIHOODS


def test_sampler_bounds_are_the_models_bounds() -> None:
    assert bound("draws", annotated_types.Ge) == sampling.MIN_DRAWS
    assert bound("tune", annotated_types.Ge) == sampling.MIN_TUNE
    assert bound("chains", annotated_types.Ge) == sampling.MIN_CHAINS
    assert bound("target_accept", annotated_types.Ge) == sampling.MIN_TARGET_ACCEPT
    assert bound("target_accept", annotated_types.Lt) == 1
    assert bound("max_draws", annotated_types.Ge) == sampling.MIN_DRAWS
    assert bound("careful_target_accept", annotated_types.Ge) == sampling.MIN_TARGET_ACCEPT
    assert bound("careful_target_accept", annotated_types.Lt) == 1
    assert get_args(SamplerSpec.model_fields["init"].annotation) == sampling.INITS
    assert get_args(SamplerSpec.model_fields["centring"].annotation) == sampling.CENTRINGS


def test_sampler_defaults_are_the_models_defaults() -> None:
    defaults = {f.name: f.default for f in dataclasses.fields(models.SamplerSettings)}
    for name, field in SamplerSpec.model_fields.items():
        assert field.default == defaults[name], name


def test_a_request_without_family_fits_the_models_default() -> None:
    from service.submissions import fit_spec

    spec = fit_spec(FitRequest.model_validate({"dataset": "d"}))
    assert spec.family_name == models.DEFAULT_FAMILY
    assert spec.settings == models.SamplerSettings()
