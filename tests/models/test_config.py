"""resolve_config: family defaults, pooling, prior overrides, noise, structure keys (fast tier)."""

from __future__ import annotations

from typing import Any

import pytest

from models import REGISTRY, HyperPrior, PriorError, PriorSpec, get_family
from models.config import NOISE_PRIORS, ModelConfig, resolve_config
from models.families import POOLING_CHOICES, ScalingLaw

FAMILIES = sorted(REGISTRY)
LOGNORMAL = {"dist": "LogNormal", "kwargs": {"mu": 0.0, "sigma": 1.0}}
POPULATION = {
    "mu": {"dist": "Normal", "kwargs": {"mu": 0.0, "sigma": 1.0}},
    "sigma": {"dist": "Gamma", "kwargs": {"alpha": 2.0, "beta": 8.0}},
}


@pytest.fixture
def chinchilla() -> ScalingLaw:
    return get_family("chinchilla")


def key(family: ScalingLaw, n_groups: int = 3, **kwargs: Any) -> str:
    config, _ = resolve_config(family, n_groups, **kwargs)
    return config.structure_key


# -- defaults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
def test_defaults_with_several_groups_follow_the_family(name: str) -> None:
    """Without overrides the family's pooling, priors and population priors are used as-is."""
    family = get_family(name)
    config, notes = resolve_config(family, 3)
    assert notes == []
    assert isinstance(config, ModelConfig)
    assert dict(config.pooling) == dict(family.default_pooling)
    for spec in family.params:
        if config.pooling[spec.name] == "partial":
            assert config.hyper[spec.name] == spec.default_hyper()
            assert spec.name not in config.priors
        else:
            assert config.priors[spec.name] == spec.prior
            assert spec.name not in config.hyper
    assert config.likelihood == "student_t"  # the robust default
    assert dict(config.noise) == dict(NOISE_PRIORS)  # sigma, and nu of the Student-t
    assert config.n_groups == 3


@pytest.mark.parametrize("name", FAMILIES)
def test_single_group_makes_every_parameter_shared_with_flat_default_priors(name: str) -> None:
    """With one group there is no population to pool over."""
    family = get_family(name)
    config, notes = resolve_config(family, 1)
    assert notes == []  # nothing was requested, so nothing to explain
    assert set(config.pooling.values()) == {"shared"}
    assert list(config.pooling) == list(family.param_names)
    assert dict(config.priors) == {p.name: p.prior for p in family.params}
    assert dict(config.hyper) == {}


@pytest.mark.parametrize("pooling", ["partial", "independent"])
def test_single_group_forces_shared_and_notes_what_was_requested(
    chinchilla: ScalingLaw, pooling: str
) -> None:
    """The user asked for pooling the data cannot support: do it anyway as shared, and say so."""
    config, notes = resolve_config(chinchilla, 1, pooling=pooling)
    assert set(config.pooling.values()) == {"shared"}
    assert notes == ["one group only: A, B, E, alpha, beta fitted as shared"]


def test_single_group_note_names_only_the_parameters_requested(chinchilla: ScalingLaw) -> None:
    """Parameters left at their default are not blamed in the note."""
    _, notes = resolve_config(chinchilla, 1, pooling={"E": "partial", "alpha": "shared"})
    assert notes == ["one group only: E fitted as shared"]


# -- pooling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", POOLING_CHOICES)
def test_pooling_as_one_word_applies_to_every_parameter(chinchilla: ScalingLaw, how: str) -> None:
    """``pooling="independent"`` is the common shorthand."""
    config, notes = resolve_config(chinchilla, 3, pooling=how)
    assert notes == []
    assert dict(config.pooling) == dict.fromkeys(chinchilla.param_names, how)
    if how == "partial":
        assert set(config.hyper) == set(chinchilla.param_names)
        assert dict(config.priors) == {}
    else:
        assert dict(config.priors) == {p.name: p.prior for p in chinchilla.params}
        assert dict(config.hyper) == {}


def test_pooling_per_parameter_overrides_only_the_named_ones(chinchilla: ScalingLaw) -> None:
    """Unnamed parameters keep the family default."""
    config, _ = resolve_config(chinchilla, 4, pooling={"E": "independent", "alpha": "shared"})
    expected = dict(chinchilla.default_pooling) | {"E": "independent", "alpha": "shared"}
    assert dict(config.pooling) == expected
    assert set(config.priors) == {"E", "alpha"}
    assert set(config.hyper) == set(chinchilla.param_names) - {"E", "alpha"}


def test_pooling_for_unknown_parameter_is_rejected(chinchilla: ScalingLaw) -> None:
    """A typo in a parameter name must not be silently ignored."""
    with pytest.raises(PriorError, match="pooling for unknown parameter 'gamma'") as exc:
        resolve_config(chinchilla, 3, pooling={"gamma": "partial"})
    assert exc.value.field == "pooling.gamma"


def test_bad_pooling_word_is_rejected_naming_the_parameter(chinchilla: ScalingLaw) -> None:
    """Only shared/partial/independent exist."""
    with pytest.raises(
        PriorError, match="pooling for 'A' must be one of shared, partial, independent, not 'full'"
    ) as exc:
        resolve_config(chinchilla, 3, pooling={"A": "full"})
    assert exc.value.field == "pooling.A"


def test_bad_pooling_single_word_is_rejected(chinchilla: ScalingLaw) -> None:
    """The one-word form is validated like the mapping (reported at the first parameter)."""
    with pytest.raises(PriorError, match="not 'hierarchical'") as exc:
        resolve_config(chinchilla, 3, pooling="hierarchical")
    assert exc.value.field == "pooling.E"


def test_bad_pooling_word_is_rejected_even_with_one_group(chinchilla: ScalingLaw) -> None:
    """Validation does not depend on the data: the same request fails on every dataset."""
    with pytest.raises(PriorError, match="not 'full'") as exc:
        resolve_config(chinchilla, 1, pooling="full")
    assert exc.value.field == "pooling.E"


# -- prior overrides ----------------------------------------------------------------------------


def test_flat_prior_override_is_used_for_shared_parameter(chinchilla: ScalingLaw) -> None:
    """User priors replace the defaults, in either JSON form."""
    config, _ = resolve_config(
        chinchilla, 1, priors={"E": LOGNORMAL, "alpha": {"dist": "Gamma", "alpha": 3, "beta": 10}}
    )
    assert config.priors["E"] == PriorSpec("LogNormal", mu=0.0, sigma=1.0)
    assert config.priors["alpha"] == PriorSpec("Gamma", alpha=3, beta=10)
    assert config.priors["A"] == chinchilla.param("A").prior


def test_population_prior_override_is_used_for_partial_parameter(chinchilla: ScalingLaw) -> None:
    """Partially pooled parameters take ``{"mu", "sigma"}`` on the link scale."""
    config, _ = resolve_config(chinchilla, 3, priors={"E": POPULATION})
    assert config.hyper["E"] == HyperPrior(
        PriorSpec("Normal", mu=0.0, sigma=1.0), PriorSpec("Gamma", alpha=2.0, beta=8.0)
    )


def test_prior_for_unknown_parameter_is_rejected(chinchilla: ScalingLaw) -> None:
    """Priors for parameters the family lacks would be silently dropped otherwise."""
    with pytest.raises(PriorError, match="prior for unknown parameter 'C'") as exc:
        resolve_config(chinchilla, 3, priors={"C": LOGNORMAL})
    assert exc.value.field == "C"


def test_flat_prior_for_partial_parameter_is_rejected(chinchilla: ScalingLaw) -> None:
    """A pooled parameter needs a population prior; a flat one is ambiguous."""
    with pytest.raises(
        PriorError, match="'E' is partially pooled: give its population prior"
    ) as exc:
        resolve_config(chinchilla, 3, priors={"E": LOGNORMAL})
    assert exc.value.field == "E"


@pytest.mark.parametrize(("n_groups", "how"), [(1, "shared"), (3, "shared"), (3, "independent")])
def test_population_prior_for_unpooled_parameter_is_rejected(
    chinchilla: ScalingLaw, n_groups: int, how: str
) -> None:
    """Shared and independent parameters take a distribution, not ``{"mu", "sigma"}``."""
    with pytest.raises(PriorError, match=f"'A' is {how}: give a distribution") as exc:
        resolve_config(chinchilla, n_groups, pooling={"A": how}, priors={"A": POPULATION})
    assert exc.value.field == "A"


@pytest.mark.parametrize(
    "prior",
    [
        {"dist": "Normal", "kwargs": {"mu": 0.5, "sigma": 0.1}},
        {"dist": "StudentT", "kwargs": {"nu": 3.0, "mu": 1.0, "sigma": 1.0}},
        {"dist": "Cauchy", "kwargs": {"alpha": 0.0, "beta": 1.0}},
    ],
)
def test_non_positive_prior_for_log_link_parameter_is_rejected(
    chinchilla: ScalingLaw, prior: dict[str, Any]
) -> None:
    """A negative floor or exponent makes the loss curve undefined."""
    with pytest.raises(PriorError, match="'beta' must be positive") as exc:
        resolve_config(chinchilla, 1, priors={"beta": prior})
    assert exc.value.field == "beta"


@pytest.mark.parametrize(
    "prior",
    [
        {"dist": "Beta", "kwargs": {"alpha": 2.0, "beta": 5.0}},
        {"dist": "Uniform", "kwargs": {"lower": 0.05, "upper": 1.0}},
        {"dist": "TruncatedNormal", "kwargs": {"mu": 0.3, "sigma": 0.1, "lower": 0.01}},
    ],
)
def test_strictly_positive_bounded_prior_for_log_link_parameter_is_accepted(
    chinchilla: ScalingLaw, prior: dict[str, Any]
) -> None:
    """An exponent in (0, 1) is often given a Beta prior; its support is strictly positive."""
    config, _ = resolve_config(chinchilla, 1, priors={"alpha": prior})
    assert config.priors["alpha"] == PriorSpec.from_dict(prior, "alpha")


def test_prior_spec_objects_are_accepted_as_overrides(chinchilla: ScalingLaw) -> None:
    """Python callers of models.fit may pass PriorSpec objects instead of JSON."""
    spec = PriorSpec("LogNormal", mu=0.0, sigma=1.0)
    config, _ = resolve_config(chinchilla, 1, priors={"E": spec})
    assert config.priors["E"] == spec


def test_invalid_override_reports_the_parameter(chinchilla: ScalingLaw) -> None:
    """Errors inside a prior name the parameter they belong to."""
    with pytest.raises(PriorError, match=r"prior for 'B': LogNormal needs sigma") as exc:
        resolve_config(chinchilla, 1, priors={"B": {"dist": "LogNormal", "mu": 0.0}})
    assert exc.value.field == "B"


def test_population_prior_errors_name_the_hyper_parameter(chinchilla: ScalingLaw) -> None:
    """A bad population scale is reported as ``<p>_sigma``, the variable the user will see."""
    bad = {"mu": POPULATION["mu"], "sigma": {"dist": "Normal", "mu": 0.0, "sigma": 1.0}}
    with pytest.raises(PriorError, match="'alpha_sigma' must be a positive distribution") as exc:
        resolve_config(chinchilla, 3, priors={"alpha": bad})
    assert exc.value.field == "alpha_sigma"


# -- likelihood and noise -----------------------------------------------------------------------


def test_unknown_likelihood_is_rejected(chinchilla: ScalingLaw) -> None:
    """Only normal and student_t on log loss are implemented."""
    with pytest.raises(
        PriorError, match="likelihood must be one of normal, student_t, not 'laplace'"
    ) as exc:
        resolve_config(chinchilla, 3, likelihood="laplace")
    assert exc.value.field == "likelihood"


def test_normal_likelihood_has_only_sigma_noise_prior(chinchilla: ScalingLaw) -> None:
    """``nu`` exists only under the Student-t likelihood."""
    config, _ = resolve_config(chinchilla, 3, likelihood="normal")
    assert dict(config.noise) == {"sigma": NOISE_PRIORS["sigma"]}


def test_student_t_likelihood_adds_nu_noise_prior(chinchilla: ScalingLaw) -> None:
    """The robust likelihood needs a prior on the degrees of freedom."""
    config, _ = resolve_config(chinchilla, 3, likelihood="student_t")
    assert dict(config.noise) == {"sigma": NOISE_PRIORS["sigma"], "nu": NOISE_PRIORS["nu"]}


def test_noise_priors_can_be_overridden(chinchilla: ScalingLaw) -> None:
    """Users with known run-to-run scatter tighten sigma; nu can be made more robust."""
    config, _ = resolve_config(
        chinchilla,
        3,
        likelihood="student_t",
        priors={
            "sigma": {"dist": "HalfNormal", "sigma": 0.05},
            "nu": {"dist": "Gamma", "alpha": 2, "beta": 1},
        },
    )
    assert config.noise["sigma"] == PriorSpec("HalfNormal", sigma=0.05)
    assert config.noise["nu"] == PriorSpec("Gamma", alpha=2, beta=1)


@pytest.mark.parametrize("name", ["sigma", "nu"])
def test_non_positive_noise_prior_is_rejected(chinchilla: ScalingLaw, name: str) -> None:
    """Noise scale and degrees of freedom are positive."""
    with pytest.raises(PriorError, match=f"'{name}' needs a positive distribution") as exc:
        resolve_config(
            chinchilla,
            3,
            likelihood="student_t",
            priors={name: {"dist": "Normal", "mu": 1.0, "sigma": 1.0}},
        )
    assert exc.value.field == name


# -- structure key ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
def test_structure_key_is_stable_for_equal_configs(name: str) -> None:
    """Equal configs must share one compiled model, across calls and spellings."""
    family = get_family(name)
    assert key(family) == key(get_family(name))
    assert len(key(family)) == 16
    p = family.param_names[0]
    prior_int = {p: {"dist": "LogNormal", "mu": 0, "sigma": 1}}
    prior_float = {p: {"dist": "LogNormal", "kwargs": {"sigma": 1.0, "mu": 0.0}}}
    assert key(family, 1, priors=prior_int) == key(family, 1, priors=prior_float)
    # spelling the defaults out changes nothing
    assert key(family, pooling=dict(family.default_pooling)) == key(family)


def test_structure_key_changes_with_priors(chinchilla: ScalingLaw) -> None:
    """A different prior is a different model."""
    assert key(chinchilla, 1) != key(chinchilla, 1, priors={"E": LOGNORMAL})
    assert key(chinchilla, 3) != key(chinchilla, 3, priors={"E": POPULATION})
    assert key(chinchilla, 3) != key(
        chinchilla, 3, priors={"sigma": {"dist": "HalfNormal", "sigma": 0.1}}
    )


def test_structure_key_changes_with_pooling(chinchilla: ScalingLaw) -> None:
    """Pooling changes the graph."""
    keys = {key(chinchilla, 3, pooling=how) for how in POOLING_CHOICES}
    keys.add(key(chinchilla, 3, pooling={"E": "independent"}))
    assert len(keys) == len(POOLING_CHOICES) + 1


def test_structure_key_changes_with_number_of_groups(chinchilla: ScalingLaw) -> None:
    """The group dimension's length is part of the compiled model."""
    assert len({key(chinchilla, n) for n in (1, 2, 3)}) == 3


def test_structure_key_changes_with_likelihood(chinchilla: ScalingLaw) -> None:
    """Student-t adds ``nu`` and a different observed distribution."""
    assert key(chinchilla, likelihood="normal") != key(chinchilla, likelihood="student_t")


def test_structure_key_changes_with_family_options() -> None:
    """power_law over data and over params are different models."""
    assert key(get_family("power_law", x="params")) != key(get_family("power_law", x="data"))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize(
    ("n_groups", "pooling", "likelihood"),
    [
        (1, None, "normal"),
        (3, None, "student_t"),
        (3, "independent", "normal"),
        (3, "first_shared", "student_t"),
    ],
)
def test_priors_json_round_trips_through_resolve_config(
    name: str, n_groups: int, pooling: Any, likelihood: str
) -> None:
    """Stored priors JSON must rebuild the same model (refits, reproducibility)."""
    family = get_family(name)
    if pooling == "first_shared":  # a mixed hierarchy, whatever the family's parameters
        pooling = {family.param_names[0]: "shared"}
    config, _ = resolve_config(family, n_groups, pooling=pooling, likelihood=likelihood)
    again, _ = resolve_config(
        family,
        n_groups,
        pooling=dict(config.pooling),
        priors=config.priors_json(),
        likelihood=likelihood,
    )
    assert again.structure_key == config.structure_key
    assert again.priors_json() == config.priors_json()


def test_to_json_describes_the_config(chinchilla: ScalingLaw) -> None:
    """The JSON stored with a fit names family, options, pooling, priors, likelihood, groups
    and, for a law sampled in pivot coordinates (models.pivot), that parametrisation."""
    config, _ = resolve_config(chinchilla, 2)
    out = config.to_json()
    assert set(out) == {
        "family", "family_options", "pooling", "priors", "likelihood", "n_groups",
        "parametrisation",
    }  # fmt: skip
    assert out["parametrisation"] == "pivot"
    assert out["family"] == "chinchilla"
    assert out["n_groups"] == 2
    assert set(out["priors"]) == {*chinchilla.param_names, "sigma", "nu"}
