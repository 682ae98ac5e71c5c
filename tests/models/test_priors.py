"""PriorSpec and HyperPrior: validation, JSON forms, and numpy draws that match PyMC (fast tier)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from models import HyperPrior, PriorError, PriorSpec
from models.priors import DISTRIBUTIONS, canonical_json

# One valid argument set per allowed distribution; chosen so mean and sd exist where possible.
CASES: dict[str, dict[str, float]] = {
    "Normal": {"mu": 1.0, "sigma": 2.0},
    "StudentT": {"nu": 10.0, "mu": 1.0, "sigma": 2.0},
    "Cauchy": {"alpha": 1.0, "beta": 2.0},
    "Uniform": {"lower": -1.0, "upper": 3.0},
    "TruncatedNormal": {"mu": 0.0, "sigma": 1.0, "lower": -0.5, "upper": 2.0},
    "LogNormal": {"mu": -1.0, "sigma": 0.5},
    "HalfNormal": {"sigma": 2.0},
    "HalfStudentT": {"nu": 10.0, "sigma": 1.0},
    "HalfCauchy": {"beta": 1.5},
    "Exponential": {"lam": 2.0},
    "Gamma": {"alpha": 2.0, "beta": 5.0},
    "InverseGamma": {"alpha": 6.0, "beta": 2.0},
    "Weibull": {"alpha": 1.5, "beta": 2.0},
    "Beta": {"alpha": 2.0, "beta": 3.0},
}
# Extra argument sets worth checking on their own (one-sided truncation).
EXTRA_CASES: list[tuple[str, dict[str, float]]] = [
    ("TruncatedNormal", {"mu": 0.0, "sigma": 1.0, "lower": -0.5}),
    ("TruncatedNormal", {"mu": 1.0, "sigma": 2.0, "upper": 0.0}),
]
HEAVY_TAILED = frozenset({"Cauchy", "HalfCauchy"})
N_DRAWS = 20_000


def all_cases() -> list[Any]:
    return [pytest.param(d, kw, id=d) for d, kw in CASES.items()] + [
        pytest.param(d, kw, id=f"{d}-{'-'.join(sorted(kw))}") for d, kw in EXTRA_CASES
    ]


def test_cases_cover_every_allowed_distribution() -> None:
    """A distribution added to DISTRIBUTIONS must get a scipy/PyMC agreement check here."""
    assert set(CASES) == set(DISTRIBUTIONS)


# -- validation ---------------------------------------------------------------------------------


def test_valid_spec_validates_and_returns_itself() -> None:
    """validate() is chainable so parsing can end with it."""
    spec = PriorSpec("Gamma", alpha=2, beta=5)
    assert spec.validate("E") is spec


@pytest.mark.parametrize(("dist", "kwargs"), all_cases())
def test_every_case_is_valid(dist: str, kwargs: dict[str, float]) -> None:
    """The reference argument sets used below must themselves pass validation."""
    PriorSpec(dist, kwargs).validate("theta")


def test_unknown_distribution_is_rejected_naming_parameter() -> None:
    """User JSON must never reach ``getattr(pm, ...)`` with an arbitrary name."""
    with pytest.raises(PriorError, match=r"prior for 'E': unknown distribution 'Foo'") as exc:
        PriorSpec("Foo", mu=0.0).validate("E")
    assert exc.value.field == "E"


def test_non_distribution_attribute_of_pymc_is_rejected() -> None:
    """Names that exist on ``pm`` but are not allowed distributions are refused too."""
    with pytest.raises(PriorError, match="unknown distribution 'Model'") as exc:
        PriorSpec("Model").validate("A")
    assert exc.value.field == "A"


def test_missing_kwargs_are_rejected_naming_them() -> None:
    """A Normal without sigma would fail later inside PyMC with a cryptic message."""
    with pytest.raises(PriorError, match=r"prior for 'alpha': Normal needs sigma") as exc:
        PriorSpec("Normal", mu=0.0).validate("alpha")
    assert exc.value.field == "alpha"


def test_extra_kwargs_are_rejected_naming_them() -> None:
    """Misspelt or foreign arguments (e.g. scipy's ``scale``) are refused, not ignored."""
    with pytest.raises(PriorError, match=r"prior for 'B': HalfNormal takes no scale") as exc:
        PriorSpec("HalfNormal", sigma=1.0, scale=2.0).validate("B")
    assert exc.value.field == "B"


@pytest.mark.parametrize("value", ["0.5", None, True, [1.0]])
def test_non_numeric_kwarg_is_rejected(value: Any) -> None:
    """Strings, booleans and containers from JSON are not numbers."""
    with pytest.raises(PriorError, match=r"prior for 'E': sigma must be a number") as exc:
        PriorSpec("LogNormal", mu=0.0, sigma=value).validate("E")
    assert exc.value.field == "E"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_kwarg_is_rejected(value: float) -> None:
    """NaN or infinite hyper-parameters would make the prior improper or undefined."""
    with pytest.raises(PriorError, match=r"prior for 'E': mu must be finite") as exc:
        PriorSpec("LogNormal", mu=value, sigma=1.0).validate("E")
    assert exc.value.field == "E"


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_non_positive_sigma_is_rejected(value: float) -> None:
    """Scales must be strictly positive."""
    with pytest.raises(PriorError, match=r"prior for 'A': sigma must be > 0") as exc:
        PriorSpec("Normal", mu=0.0, sigma=value).validate("A")
    assert exc.value.field == "A"


@pytest.mark.parametrize(
    ("dist", "kwargs", "arg"),
    [
        ("Gamma", {"alpha": 0.0, "beta": 1.0}, "alpha"),
        ("Exponential", {"lam": -2.0}, "lam"),
        ("StudentT", {"nu": 0.0, "mu": 0.0, "sigma": 1.0}, "nu"),
        ("HalfCauchy", {"beta": -1.0}, "beta"),
    ],
)
def test_other_non_positive_shape_and_scale_args_are_rejected(
    dist: str, kwargs: dict[str, float], arg: str
) -> None:
    """Shapes, rates and degrees of freedom are positive for every allowed distribution."""
    with pytest.raises(PriorError, match=rf"prior for 'p': {arg} must be > 0") as exc:
        PriorSpec(dist, kwargs).validate("p")
    assert exc.value.field == "p"


def test_cauchy_location_may_be_negative() -> None:
    """Cauchy's ``alpha`` is a location, the one positive-named argument that may be <= 0."""
    PriorSpec("Cauchy", alpha=-3.0, beta=1.0).validate("p")


@pytest.mark.parametrize(
    ("dist", "kwargs"),
    [
        ("Uniform", {"lower": 1.0, "upper": 1.0}),
        ("Uniform", {"lower": 2.0, "upper": 1.0}),
        ("TruncatedNormal", {"mu": 0.0, "sigma": 1.0, "lower": 3.0, "upper": -3.0}),
    ],
)
def test_lower_not_below_upper_is_rejected(dist: str, kwargs: dict[str, float]) -> None:
    """An empty support has no density anywhere."""
    with pytest.raises(PriorError, match=r"prior for 'E': lower must be < upper") as exc:
        PriorSpec(dist, kwargs).validate("E")
    assert exc.value.field == "E"


@pytest.mark.parametrize(
    ("dist", "support"),
    [("Normal", "real"), ("LogNormal", "positive"), ("Beta", "unit"), ("Uniform", "bounded")],
)
def test_support_is_reported_per_distribution(dist: str, support: str) -> None:
    """Config uses the support to refuse e.g. a Normal prior on a positive parameter."""
    assert PriorSpec(dist, CASES[dist]).support == support


# -- JSON forms ---------------------------------------------------------------------------------


def test_from_dict_accepts_nested_kwargs_form() -> None:
    """``{"dist", "kwargs"}`` is the pymc-extras dict form and our canonical JSON."""
    spec = PriorSpec.from_dict({"dist": "Gamma", "kwargs": {"alpha": 2, "beta": 5}}, "E")
    assert spec == PriorSpec("Gamma", alpha=2, beta=5)


def test_from_dict_accepts_flat_form() -> None:
    """``{"dist": ..., **kwargs}`` is what people type by hand."""
    spec = PriorSpec.from_dict({"dist": "Gamma", "alpha": 2, "beta": 5}, "E")
    assert spec == PriorSpec("Gamma", {"alpha": 2, "beta": 5})


def test_from_dict_passes_prior_spec_through_after_validation() -> None:
    """Python callers may hand over a PriorSpec where JSON is expected."""
    spec = PriorSpec("HalfNormal", sigma=1.0)
    assert PriorSpec.from_dict(spec, "sigma") is spec
    with pytest.raises(PriorError, match="HalfNormal needs sigma") as exc:
        PriorSpec.from_dict(PriorSpec("HalfNormal"), "sigma")
    assert exc.value.field == "sigma"


def test_from_dict_validates_arguments() -> None:
    """Parsing is also validating: a bad value never yields a PriorSpec."""
    with pytest.raises(PriorError, match=r"prior for 'E': sigma must be > 0") as exc:
        PriorSpec.from_dict({"dist": "LogNormal", "kwargs": {"mu": 0, "sigma": -1}}, "E")
    assert exc.value.field == "E"


@pytest.mark.parametrize("obj", [None, "LogNormal", 1.0, {"kwargs": {"mu": 0.0}}, ["dist"]])
def test_from_dict_rejects_objects_without_dist(obj: Any) -> None:
    """Anything but an object with ``dist`` is refused with a message naming the parameter."""
    with pytest.raises(PriorError, match=r"prior for 'A' must be an object with 'dist'") as exc:
        PriorSpec.from_dict(obj, "A")
    assert exc.value.field == "A"


def test_from_dict_rejects_keys_next_to_kwargs() -> None:
    """Mixing both forms is ambiguous (which sigma wins?)."""
    obj = {"dist": "Normal", "kwargs": {"mu": 0.0, "sigma": 1.0}, "sigma": 2.0}
    with pytest.raises(PriorError, match="unexpected keys next to 'kwargs'") as exc:
        PriorSpec.from_dict(obj, "A")
    assert exc.value.field == "A"


def test_from_dict_rejects_non_mapping_kwargs() -> None:
    """``kwargs`` must be an object, not a list of numbers."""
    with pytest.raises(PriorError, match="'kwargs' must be an object") as exc:
        PriorSpec.from_dict({"dist": "Normal", "kwargs": [0.0, 1.0]}, "A")
    assert exc.value.field == "A"


@pytest.mark.parametrize(("dist", "kwargs"), all_cases())
def test_json_round_trip_gives_equal_spec(dist: str, kwargs: dict[str, float]) -> None:
    """Priors are stored with every fit and must come back identical."""
    spec = PriorSpec(dist, kwargs)
    back = PriorSpec.from_dict(json.loads(json.dumps(spec.to_dict())), "p")
    assert back == spec
    assert back.to_dict() == spec.to_dict()


def test_to_dict_is_floats_with_sorted_keys() -> None:
    """Canonical JSON (for hashes) must not depend on argument order or int/float spelling."""
    a = PriorSpec("Gamma", alpha=2, beta=5)
    b = PriorSpec("Gamma", {"beta": 5.0, "alpha": 2.0})
    assert a.to_dict() == {"dist": "Gamma", "kwargs": {"alpha": 2.0, "beta": 5.0}}
    assert canonical_json(a.to_dict()) == canonical_json(b.to_dict())


# -- scipy / numpy draws agree with PyMC --------------------------------------------------------


def pymc_draws(dist: str, kwargs: dict[str, float]) -> np.ndarray:
    """N_DRAWS draws from the PyMC distribution.

    One vectorised draw (``shape``) instead of ``draws=N_DRAWS`` (a Python loop of N_DRAWS
    calls, ~4 s for TruncatedNormal); FAST_COMPILE avoids a numba compile per distribution and
    numba's object-mode UserWarning for TruncatedNormal.
    """
    import pymc as pm

    rv = getattr(pm, dist).dist(**kwargs, shape=(N_DRAWS,))
    return np.asarray(pm.draw(rv, random_seed=0, mode="FAST_COMPILE"))


@pytest.mark.parametrize(("dist", "kwargs"), all_cases())
def test_numpy_draws_match_pymc_distribution(dist: str, kwargs: dict[str, float]) -> None:
    """Simulators and prior checks draw with scipy; they must sample the prior PyMC fits with."""
    ours = PriorSpec(dist, kwargs).draw(np.random.default_rng(0), N_DRAWS)
    theirs = pymc_draws(dist, kwargs)
    assert ours.shape == theirs.shape == (N_DRAWS,)
    # Quantiles exist for every distribution: compare median and quartiles against the IQR.
    q_ours = np.quantile(ours, [0.25, 0.5, 0.75])
    q_theirs = np.quantile(theirs, [0.25, 0.5, 0.75])
    iqr = q_theirs[2] - q_theirs[0]
    np.testing.assert_allclose(q_ours, q_theirs, rtol=0, atol=0.05 * iqr)
    if dist in HEAVY_TAILED:
        return  # no mean or sd: sample moments do not converge
    sd = theirs.std()
    # difference of two independent means: sd * sqrt(2 / n); allow 4 standard errors
    assert abs(ours.mean() - theirs.mean()) < 4 * sd * math.sqrt(2 / N_DRAWS)
    assert ours.std() == pytest.approx(sd, rel=0.05)


@pytest.mark.parametrize(("dist", "kwargs"), all_cases())
def test_scipy_support_matches_declared_support(dist: str, kwargs: dict[str, float]) -> None:
    """Draws must respect the support config relies on (positive, unit, bounded)."""
    spec = PriorSpec(dist, kwargs)
    draws = spec.draw(np.random.default_rng(1), 2000)
    assert np.isfinite(draws).all()
    match spec.support:
        case "positive":
            assert (draws > 0).all()
        case "unit":
            assert ((draws > 0) & (draws < 1)).all()
        case "bounded":
            lo, hi = kwargs.get("lower", -np.inf), kwargs.get("upper", np.inf)
            assert ((draws >= lo) & (draws <= hi)).all()


def test_draw_is_reproducible_with_seed_and_has_requested_shape() -> None:
    """Simulations and SBC must be repeatable."""
    spec = PriorSpec("LogNormal", mu=0.0, sigma=1.0)
    a = spec.draw(np.random.default_rng(3), (4, 5))
    b = spec.draw(np.random.default_rng(3), (4, 5))
    assert a.shape == (4, 5)
    np.testing.assert_array_equal(a, b)


def test_half_student_t_mean_and_sd_match_draws(rng: np.random.Generator) -> None:
    """scipy has no half-t; our stand-in's moments are used by checks and must be right."""
    frozen = PriorSpec("HalfStudentT", nu=10.0, sigma=1.0).scipy()
    draws = frozen.rvs(size=N_DRAWS, random_state=rng)
    assert frozen.mean() == pytest.approx(draws.mean(), rel=0.02)
    assert frozen.std() == pytest.approx(draws.std(), rel=0.03)


# -- HyperPrior ---------------------------------------------------------------------------------


def test_hyper_prior_parses_mu_and_sigma_in_both_forms() -> None:
    """Population priors are a pair of priors on the link scale."""
    hyper = HyperPrior.from_dict(
        {
            "mu": {"dist": "Normal", "kwargs": {"mu": -1.0, "sigma": 0.5}},
            "sigma": {"dist": "Gamma", "alpha": 2.0, "beta": 8.0},
        },
        "alpha",
    )
    assert hyper == HyperPrior(
        PriorSpec("Normal", mu=-1.0, sigma=0.5), PriorSpec("Gamma", alpha=2.0, beta=8.0)
    )


def test_hyper_prior_sigma_may_be_any_strictly_positive_distribution() -> None:
    """Beta or a Uniform above zero keep the scale positive, so they are valid scale priors."""
    for sigma in (
        {"dist": "Beta", "alpha": 2.0, "beta": 5.0},
        {"dist": "Uniform", "lower": 0.0, "upper": 1.0},
    ):
        obj = {"mu": {"dist": "Normal", "mu": 0.0, "sigma": 1.0}, "sigma": sigma}
        assert HyperPrior.from_dict(obj, "E").sigma.dist == sigma["dist"]


def test_hyper_prior_json_round_trip() -> None:
    """Population priors are persisted with fits like flat ones."""
    hyper = HyperPrior(PriorSpec("Normal", mu=0.0, sigma=1.0), PriorSpec("HalfNormal", sigma=0.3))
    assert HyperPrior.from_dict(json.loads(json.dumps(hyper.to_dict())), "E") == hyper


@pytest.mark.parametrize("dist", ["Normal", "StudentT", "Cauchy"])
def test_hyper_prior_sigma_must_be_positive_distribution(dist: str) -> None:
    """A population scale that can be negative (or is bounded oddly) is not a scale."""
    obj = {
        "mu": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
        "sigma": {"dist": dist, **CASES[dist]},
    }
    with pytest.raises(
        PriorError, match=rf"prior for 'E_sigma' must be a positive distribution, not {dist}"
    ) as exc:
        HyperPrior.from_dict(obj, "E")
    assert exc.value.field == "E_sigma"


def test_hyper_prior_errors_in_mu_name_the_mu_parameter() -> None:
    """Errors point at ``<p>_mu``, the name of the PyMC variable the user will see."""
    obj = {"mu": {"dist": "Normal", "mu": 0.0}, "sigma": {"dist": "HalfNormal", "sigma": 1.0}}
    with pytest.raises(PriorError, match=r"prior for 'A_mu': Normal needs sigma") as exc:
        HyperPrior.from_dict(obj, "A")
    assert exc.value.field == "A_mu"


@pytest.mark.parametrize(
    "obj",
    [
        {"mu": {"dist": "Normal", "mu": 0.0, "sigma": 1.0}},
        {
            "mu": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
            "sigma": {"dist": "HalfNormal", "sigma": 1.0},
            "nu": 3,
        },
        {"dist": "LogNormal", "mu": 0.0, "sigma": 1.0},
        None,
    ],
)
def test_hyper_prior_needs_exactly_mu_and_sigma(obj: Any) -> None:
    """A flat prior given where a population prior is expected is refused clearly."""
    with pytest.raises(PriorError, match="must be an object with exactly 'mu' and 'sigma'") as exc:
        HyperPrior.from_dict(obj, "B")
    assert exc.value.field == "B"


@pytest.mark.parametrize(
    "spec",
    [
        PriorSpec("LogNormal", mu=1e300, sigma=1.0),  # finite, but every draw is inf
        PriorSpec("LogNormal", mu=650.0, sigma=10.0),  # its upper tail overflows
        PriorSpec("Normal", mu=0.0, sigma=1e7),
    ],
)
def test_priors_whose_draws_overflow_are_refused_at_validation(spec):
    with pytest.raises(PriorError, match="alpha"):
        spec.validate("alpha")
