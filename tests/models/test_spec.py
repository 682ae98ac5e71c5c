"""FitSpec: the JSON form stored with fit jobs, old rows included, and models.fit's keywords."""

from __future__ import annotations

import pytest

import models
from models.spec import as_spec

# A job row as the service stored it before FitSpec existed: request keys, filters, holdout.
STORED = {
    "family": "power_law",
    "family_options": {"x": "data"},
    "pooling": {"alpha": "shared"},
    "priors": {"alpha": {"dist": "LogNormal", "kwargs": {"mu": -1.0, "sigma": 0.5}}},
    "likelihood": "student_t",
    "filters": {"groups": None, "max": None},
    "holdout": {"fraction": 0.75},
    "settings": {"draws": 50, "tune": 40, "chains": 2, "target_accept": 0.9, "seed": 3},
}


def test_stored_rows_read_back_and_round_trip() -> None:
    spec = models.FitSpec.from_json(STORED)
    assert spec.law().key() == models.get_family("power_law", x="data").key()
    assert spec.settings == models.SamplerSettings(
        draws=50, tune=40, chains=2, target_accept=0.9, seed=3
    )
    out = spec.to_json()
    keys = ("family", "family_options", "pooling", "priors", "likelihood")
    assert {k: out[k] for k in keys} == {k: STORED[k] for k in keys}
    assert out["settings"].items() >= STORED["settings"].items()
    assert models.FitSpec.from_json(out) == spec


def test_a_family_instance_stores_its_name_and_options() -> None:
    fam = models.get_family("power_law", x="data")
    assert models.FitSpec(family=fam).to_json()["family_options"] == fam.options
    assert models.FitSpec(family=fam).family_name == "power_law"


def test_keywords_build_the_spec_and_cannot_be_mixed_with_one() -> None:
    settings = models.SamplerSettings(draws=20)
    spec = as_spec("kaplan", settings=settings, likelihood="student_t")
    assert (spec.family, spec.settings, spec.likelihood) == ("kaplan", settings, "student_t")
    assert as_spec().family == models.DEFAULT_FAMILY
    with pytest.raises(TypeError, match="settings"):
        as_spec(spec, settings=settings)


def test_family_by_keyword_still_works() -> None:
    assert as_spec(family="kaplan").family == "kaplan"
    with pytest.raises(TypeError, match="family"):
        as_spec("kaplan", family="kaplan")
