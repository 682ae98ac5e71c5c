"""The contract every registered family fulfils, checked for each entry of ``models.REGISTRY``.

A family added to the registry is covered automatically: inputs come from ``fam.inputs`` and
parameter values from its own default priors. Fast tier: graphs are built and logp/dlogp
evaluated at the initial point, but nothing is sampled.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from models import INPUTS, REGISTRY, HyperPrior, PriorSpec, Scales, ScalingData, get_family
from models.build import build_model, prepare, scaled_inputs
from models.centring import blocks as pooled_blocks
from models.config import resolve_config
from models.families import POOLING_CHOICES, ScalingLaw
from models.pivot import SHARED_NAME
from models.simulate import draw_prior, simulate

FAMILIES = sorted(REGISTRY)
# Names the model graph already uses: noise priors, pm.Data containers, the observed node.
RESERVED = frozenset({"sigma", "nu", "group_idx", "log_loss", "log_loss_obs"})
# Compile without numba: ~5x faster to compile, and the values checked do not depend on it.
MODE = "FAST_COMPILE"


def model_input_values(inputs: tuple[str, ...], n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Valid values of each canonical input: label_noise in [0, 0.5), epochs >= 1, others > 0."""
    out: dict[str, np.ndarray] = {}
    for name in inputs:
        if name == "label_noise":
            out[name] = rng.uniform(0.0, 0.5, n)
        elif name == "epochs":
            out[name] = np.exp(rng.uniform(0.0, np.log(10.0), n))
        else:
            out[name] = np.exp(rng.uniform(np.log(0.1), np.log(10.0), n))
    if {"data", "epochs", "unique_data"} <= set(out):
        out["data"] = out["epochs"] * out["unique_data"]  # D = epochs x U
    return out


def grid_inputs(inputs: tuple[str, ...], k: int = 7) -> dict[str, np.ndarray]:
    """A full grid over every input: x in [0.1, 10] (model units), label noise in [0, 0.5)."""
    axes = []
    for name in inputs:
        if name == "label_noise":
            axes.append(np.linspace(0.0, 0.45, k))
        elif name == "epochs":
            axes.append(np.geomspace(1.0, 10.0, k))
        else:
            axes.append(np.geomspace(0.1, 10.0, k))
    mesh = np.meshgrid(*axes, indexing="ij")
    return {name: m.ravel() for name, m in zip(inputs, mesh, strict=True)}


def unit_scales(family: ScalingLaw) -> Scales:
    return Scales(dict.fromkeys(family.inputs, 1.0), 1.0)


def typical_truth(family: ScalingLaw) -> dict[str, float]:
    """Prior medians (model units): a plausible parameter set for any family."""
    draws = draw_prior(family, 1001, seed=7)
    return {name: float(np.median(v)) for name, v in draws.items()}


def simulated(family: ScalingLaw, n_groups: int, n: int = 15) -> ScalingData:
    inputs = model_input_values(family.inputs, n, np.random.default_rng(3))
    groups = None if n_groups == 1 else [f"g{i}" for i in range(n_groups)]
    return simulate(family, typical_truth(family), inputs, groups=groups, seed=5)


class Recording(Mapping[str, Any]):
    """A read-only mapping that records which keys were read."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> ScalingLaw:
    return get_family(request.param)


# -- metadata -----------------------------------------------------------------------------------


def test_registry_names_match_family_names() -> None:
    """``get_family(name)`` must return a family that reports the same name."""
    for name, cls in REGISTRY.items():
        assert cls().name == name
        assert get_family(name).name == name


def test_inputs_are_canonical(family: ScalingLaw) -> None:
    """Data can only provide the canonical inputs."""
    assert family.inputs
    assert set(family.inputs) <= set(INPUTS)
    assert len(set(family.inputs)) == len(family.inputs)


def test_every_option_value_instantiates_with_canonical_inputs(family: ScalingLaw) -> None:
    """Each documented option choice must give a usable family."""
    choices = {k: allowed for k, (_, allowed) in family.option_choices.items()}
    for combo in itertools.product(*choices.values()):
        options = dict(zip(choices, combo, strict=True))
        variant = get_family(family.name, **options)
        assert variant.options == options
        assert set(variant.inputs) <= set(INPUTS)


def test_parameter_names_agree_across_describe_params_and_pooling(family: ScalingLaw) -> None:
    """describe(), param_names and default_pooling must list the same parameters in order."""
    names = family.param_names
    assert len(set(names)) == len(names)
    assert [p["name"] for p in family.describe()["parameters"]] == list(names)
    assert list(family.default_pooling) == list(names)


def test_no_parameter_uses_a_reserved_name(family: ScalingLaw) -> None:
    """``sigma``/``nu`` are the noise; data containers and hyper-priors must not clash either."""
    names = set(family.param_names)
    assert not names & RESERVED
    assert not any(n.startswith("x_") for n in names)
    derived = {f"{n}_{suffix}" for n in names for suffix in ("mu", "sigma")}
    assert not any(n.startswith("pooled") for n in names)  # the blocks' variables
    assert not names & derived


def test_default_pooling_choices_are_valid(family: ScalingLaw) -> None:
    """Every parameter has a pooling default that resolve_config accepts."""
    assert set(family.default_pooling) == set(family.param_names)
    assert set(family.default_pooling.values()) <= set(POOLING_CHOICES)


def test_every_parameter_has_a_population_prior(family: ScalingLaw) -> None:
    """Any parameter may be partially pooled on request, so default_hyper must not raise."""
    for spec in family.params:
        hyper = spec.default_hyper()
        assert hyper.sigma.support == "positive"
        if spec.link == "log":
            assert spec.prior.support == "positive"


def test_describe_is_json_serialisable(family: ScalingLaw) -> None:
    """The CLI and the API return describe() as JSON."""
    assert json.loads(json.dumps(family.describe())) == family.describe()


DESCRIBED = {"name", "formula", "inputs", "options", "use_when", "citation", "parameters"}
DESCRIBED_PARAMETER = {
    "name",
    "description",
    "unit",
    "link",
    "default_pooling",
    "prior",
    "population_prior",
}


def test_describe_has_every_field(family: ScalingLaw) -> None:
    """``bayescale families`` and ``GET /v1/families`` show these fields for every family."""
    info = family.describe()
    assert set(info) == DESCRIBED
    assert all(set(param) == DESCRIBED_PARAMETER for param in info["parameters"])


def test_priors_survive_json_round_trip(family: ScalingLaw) -> None:
    """Priors listed by describe() parse back to the family's own priors."""
    described = json.loads(json.dumps(family.describe()))["parameters"]
    for spec, entry in zip(family.params, described, strict=True):
        assert PriorSpec.from_dict(entry["prior"], spec.name) == spec.prior
        assert HyperPrior.from_dict(entry["population_prior"], spec.name) == spec.default_hyper()


# -- the curve ----------------------------------------------------------------------------------


def curve_inputs(family: ScalingLaw, n: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    """Scaled inputs with logs, exactly as build.prepare produces them."""
    values = model_input_values(family.inputs, n, np.random.default_rng(seed))
    data_scales = Scales(
        {
            k: 1.0 if k == "label_noise" else float(np.exp(np.mean(np.log(v))))
            for k, v in values.items()
        },
        1.0,
    )
    return scaled_inputs(values, family.inputs, data_scales)


def test_curve_reads_exactly_its_parameters(family: ScalingLaw) -> None:
    """The curve must use every declared parameter and no other (a typo would be a KeyError)."""
    p = Recording({k: v[0] for k, v in draw_prior(family, 1).items()})
    assert set(p) == set(family.param_names)
    loss = family.curve(np, curve_inputs(family), p)
    assert np.isfinite(loss).all()
    assert p.read == set(family.param_names)


def test_curve_fails_when_a_parameter_is_missing(family: ScalingLaw) -> None:
    """Dropping any one parameter must be noticed, not silently defaulted."""
    full = {k: v[0] for k, v in draw_prior(family, 1).items()}
    for name in family.param_names:
        partial = {k: v for k, v in full.items() if k != name}
        with pytest.raises(KeyError, match=name):
            family.curve(np, curve_inputs(family), partial)


def test_curve_reads_only_its_own_inputs(family: ScalingLaw) -> None:
    """The curve may read each input or its log, must read each input, and nothing else."""
    x = Recording(curve_inputs(family))
    family.curve(np, x, {k: v[0] for k, v in draw_prior(family, 1).items()})
    allowed = {*family.inputs, *(f"log_{n}" for n in family.inputs)}
    assert x.read <= allowed
    for name in family.inputs:
        assert {name, f"log_{name}"} & x.read, f"input '{name}' is never read"


@pytest.fixture(scope="module")
def compiled_curves() -> Callable[[ScalingLaw], Any]:
    """Per family, one compiled PyTensor function shared by the curve tests below.

    Outputs: the curve with vector parameters (one set per point) and with scalar ones (shared
    parameters enter the graph as scalars). One compile per family instead of one per test.
    """
    import pytensor
    import pytensor.tensor as pt

    cache: dict[str, Any] = {}

    def compiled(family: ScalingLaw) -> Any:
        if family.name not in cache:
            names = family.param_names
            x_sym = {k: pt.dvector(f"x_{k}") for k in curve_inputs(family, 1)}
            vectors = {k: pt.dvector(k) for k in names}
            scalars = {k: pt.dscalar(f"{k}_scalar") for k in names}
            outputs = [family.curve(pt, x_sym, vectors), family.curve(pt, x_sym, scalars)]
            # curves read either an input or its log, so some inputs are legitimately unused
            fn = pytensor.function(
                [*x_sym.values(), *vectors.values(), *scalars.values()],
                outputs,
                mode=MODE,
                on_unused_input="ignore",
            )
            cache[family.name] = (list(x_sym), names, fn)
        return cache[family.name]

    return compiled


def test_numpy_and_pytensor_curves_agree(
    family: ScalingLaw, compiled_curves: Callable[[ScalingLaw], Any]
) -> None:
    """The PyMC graph and numpy prediction must compute the same curve."""
    keys, names, fn = compiled_curves(family)
    n = 40
    x = curve_inputs(family, n)
    p = draw_prior(family, n, seed=1)  # one parameter set per point
    scalars = typical_truth(family)
    symbolic, _ = fn(*(x[k] for k in keys), *(p[k] for k in names), *(scalars[k] for k in names))
    numeric = family.curve(np, x, p)
    assert symbolic.shape == numeric.shape == (n,)
    np.testing.assert_allclose(symbolic, numeric, rtol=1e-10)


def test_numpy_and_pytensor_agree_with_scalar_parameters(
    family: ScalingLaw, compiled_curves: Callable[[ScalingLaw], Any]
) -> None:
    """Shared parameters enter the graph as scalars and must broadcast like numpy."""
    keys, names, fn = compiled_curves(family)
    x = curve_inputs(family, 25, seed=2)
    p = typical_truth(family)
    vectors = draw_prior(family, 25, seed=1)
    _, symbolic = fn(*(x[k] for k in keys), *(vectors[k] for k in names), *(p[k] for k in names))
    np.testing.assert_allclose(symbolic, family.curve(np, x, p), rtol=1e-10)


def test_curve_broadcasts_points_against_draws(family: ScalingLaw) -> None:
    """Prediction evaluates (points, 1) inputs against (draws,) parameters in one call."""
    x = curve_inputs(family, 12)
    draws = draw_prior(family, 30, seed=4)
    grid = family.curve(np, {k: v[:, None] for k, v in x.items()}, draws)
    assert grid.shape == (12, 30)
    for s in (0, 17, 29):
        column = family.curve(np, x, {k: v[s] for k, v in draws.items()})
        np.testing.assert_allclose(grid[:, s], column, rtol=1e-14)


def test_prior_predictive_losses_are_plausible(family: ScalingLaw) -> None:
    """Default priors must put model-unit losses (loss / min loss) in a sane range on [0.1, 10]."""
    draws = draw_prior(family, 2000, seed=0)
    x = scaled_inputs(grid_inputs(family.inputs), family.inputs, unit_scales(family))
    loss = family.curve(np, {k: v[:, None] for k, v in x.items()}, draws)
    finite_draws = np.isfinite(loss).all(axis=0)
    assert finite_draws.mean() >= 0.99
    ok = loss[:, finite_draws]
    assert (ok > 0).all(), "the likelihood takes log(curve): the curve must stay positive"
    q05, q95 = np.quantile(ok, [0.05, 0.95])
    assert 0.05 < q05 < q95 < 50


# -- the PyMC model -----------------------------------------------------------------------------


def built(family: ScalingLaw, n_groups: int, **config_kwargs: Any) -> Any:
    data = simulated(family, n_groups)
    assert len(data.groups) == n_groups
    config, _ = resolve_config(family, n_groups, **config_kwargs)
    md = prepare(data, family.inputs, data.default_scales(family.inputs))
    return build_model(config, md)


@pytest.mark.parametrize(
    ("n_groups", "config_kwargs"),
    [
        # the fast tier compiles the hierarchical default of every family; the structure of the
        # other two is checked without compiling below (scalar / per-group free variables)
        pytest.param(1, {}, id="1-group", marks=pytest.mark.slow),
        pytest.param(3, {}, id="3-groups-default"),
        pytest.param(
            3,
            {"pooling": "independent", "likelihood": "student_t"},
            id="3-groups-indep-t",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_model_logp_and_dlogp_are_finite_at_initial_point(
    family: ScalingLaw, n_groups: int, config_kwargs: dict[str, Any]
) -> None:
    """NUTS starts at the initial point; a non-finite logp or gradient there fails every fit."""
    model = built(family, n_groups, **config_kwargs)
    point = model.initial_point()
    try:
        # one function for both: the gradient graph contains the density's, one compile
        logp, dlogp = model.compile_fn([model.logp(), model.dlogp()], mode=MODE)(point)
    except NotImplementedError:
        # The Python linker runs no elementwise op of more than 32 operands (scale_time's
        # gradient through the Student-t density has one); fits compile with numba, so check
        # with numba.
        logp, dlogp = model.compile_fn([model.logp(), model.dlogp()], mode="NUMBA")(point)
    assert np.isfinite(logp)
    assert dlogp.shape == (sum(np.size(v) for v in point.values()),)
    assert np.isfinite(dlogp).all()


def test_partially_pooled_parameters_are_sampled_partially_centred(family: ScalingLaw) -> None:
    """{block}_raw ~ Normal(lam mu, sigma^lam) per (parameter, group); lam is data."""
    model = built(family, 3, pooling="partial")
    dims = model.named_vars_to_dims
    free = {v.name for v in model.free_RVs}
    deterministic = {v.name for v in model.deterministics}
    names = list(family.param_names)
    config, _ = resolve_config(family, 3, pooling="partial")
    blocks = pooled_blocks(config)
    assert sorted(p for b in blocks for p in b.params) == sorted(names)
    assert blocks[0].name == "pooled"
    for b in blocks:
        assert {f"{b.name}_mu", f"{b.name}_sigma", f"{b.name}_raw"} <= free
        assert list(model.coords[b.dim]) == list(b.params)
        assert dims[f"{b.name}_raw"] == dims[f"{b.name}_centring"] == (b.dim, "group")
        lam = model[f"{b.name}_centring"].get_value()
        assert lam.shape == (len(b.params), 3) and not lam.any()  # non-centred until set
    for name in names:
        assert name not in free
        assert {name, f"{name}_mu", f"{name}_sigma"} <= deterministic
        assert dims[name] == ("group",)
        assert model[f"{name}_mu"].ndim == 0
        assert model[f"{name}_sigma"].ndim == 0
    assert list(model.coords["group"]) == ["g0", "g1", "g2"]
    assert dims["log_loss"] == ("obs",)


def test_independent_parameters_have_one_free_value_per_group(family: ScalingLaw) -> None:
    """Independent pooling means no population variables at all."""
    model = built(family, 3, pooling="independent")
    free = {v.name for v in model.free_RVs}
    assert free == {*family.param_names, "sigma", "nu"}  # Student-t by default
    for name in family.param_names:
        assert model.named_vars_to_dims[name] == ("group",)


def test_single_group_model_has_scalar_parameters(family: ScalingLaw) -> None:
    """One group: every parameter shared and scalar; a law with a pivot (models.pivot) samples
    the pivot's parameters as one vector of logs and records each by name."""
    model = built(family, 1)
    pivoted = set(family.pivot.names) if family.pivot is not None else set()
    vector = {SHARED_NAME} if pivoted else set()
    free = {*family.param_names} - pivoted | vector | {"sigma", "nu"}
    assert {v.name for v in model.free_RVs} == free
    assert all(model[name].ndim == 0 for name in family.param_names)
    assert {v.name for v in model.deterministics} == pivoted
