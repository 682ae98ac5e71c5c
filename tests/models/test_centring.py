"""Partial centring: the Hessian, the conditional variances and lambda (no NUTS, no compile)."""

from __future__ import annotations

import numpy as np
import pytest

from models import centring
from models.centring import Block, Layout, choose, hessian, lambdas, offset_variances

# A normal-normal hierarchy in the non-centred coordinates the choice reads:
# mu ~ N(0, 1), log sigma ~ N(log SIGMA, 0.1), z_g ~ N(0, 1), y_g ~ N(mu + sigma z_g, S_g).
SIGMA = 0.5
S = np.array([0.05, 0.5, 5.0])  # a group pinned by its rows, one as wide as the spread, one not
Y = np.array([0.3, -0.2, 0.1])
LAYOUT = Layout(
    {"pooled_mu": slice(0, 1), "pooled_sigma_log__": slice(1, 2), "pooled_raw": slice(2, 5)}
)
BLOCKS = [Block("pooled", ("a",))]


def normal_normal(x: np.ndarray) -> tuple[float, np.ndarray]:
    mu, log_sigma, z = x[0], x[1], x[2:]
    sigma = np.exp(log_sigma)
    r = (mu + sigma * z - Y) / S**2
    logp = (
        -0.5 * mu**2
        - 0.5 * ((log_sigma - np.log(SIGMA)) / 0.1) ** 2
        - 0.5 * np.sum(z**2)
        - 0.5 * np.sum((mu + sigma * z - Y) ** 2 / S**2)
    )
    grad = np.concatenate(
        [
            [-mu - np.sum(r)],
            [-(log_sigma - np.log(SIGMA)) / 0.01 - np.sum(r * sigma * z)],
            -z - r * sigma,
        ]
    )
    return float(logp), grad


def test_hessian_of_a_quadratic_is_its_matrix() -> None:
    a = np.array([[2.0, 0.5], [0.5, 1.0]])

    def quadratic(x: np.ndarray) -> tuple[float, np.ndarray]:
        return -0.5 * float(x @ a @ x), -a @ x

    np.testing.assert_allclose(hessian(quadratic, np.array([0.3, -0.7])), a, atol=1e-8)


def test_conditional_variances_hold_the_fixed_coordinates() -> None:
    h = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 3.0]])
    v = offset_variances(h, fixed=[0])
    assert np.isnan(v[0])
    np.testing.assert_allclose(v[1:], np.diag(np.linalg.inv(h[1:, 1:])))


def test_a_direction_without_curvature_counts_as_uninformed() -> None:
    h = np.diag([-1.0, 2.0])  # L-BFGS stopped where the density curves up along the first axis
    v = offset_variances(h, fixed=[])
    assert v[0] >= 1 / centring._MIN_EIGEN and v[1] == pytest.approx(0.5)
    assert lambdas(v)[0] == 0.0  # uninformed: non-centred


def test_lambda_is_the_normal_normal_optimum_one_e_fold_below_the_mode() -> None:
    s2_over = np.array([0.01, 1.0, 100.0])  # s² / sigma_hat²
    v = s2_over / (1 + s2_over)
    expected = np.exp(-2) / (np.exp(-2) + s2_over)
    np.testing.assert_allclose(lambdas(v), np.round(expected, 2))
    assert lambdas(np.array([0.0]))[0] == 1.0  # pinned exactly: centred
    assert lambdas(np.array([1.0, 3.0])).tolist() == [0.0, 0.0]  # nothing learnt: non-centred
    assert lambdas(v, margin=0.0)[1] == 0.5  # at the mode itself sigma = s gives one half


def test_choose_centres_the_group_its_rows_pin_and_not_the_one_they_do_not() -> None:
    def prior(seed: int) -> np.ndarray:
        return np.random.default_rng(seed).normal(size=5)

    lam = choose(normal_normal, LAYOUT, BLOCKS, prior, seed=3)
    assert set(lam) == {"a"} and lam["a"].shape == (3,)
    # At the optimum sigma is near SIGMA, so lambda ~ sigma² e^-2 / (sigma² e^-2 + S²).
    expected = SIGMA**2 * np.exp(-2) / (SIGMA**2 * np.exp(-2) + S**2)
    np.testing.assert_allclose(lam["a"], expected, atol=0.03)
    assert lam["a"][0] > 0.8 and lam["a"][2] < 0.01


def test_no_optimum_leaves_every_group_non_centred() -> None:
    def nowhere(x: np.ndarray) -> tuple[float, np.ndarray]:
        return -np.inf, np.zeros_like(x)

    lam = choose(nowhere, LAYOUT, BLOCKS, lambda seed: np.zeros(5), seed=1)
    assert lam["a"].tolist() == [0.0, 0.0, 0.0]


def test_containers_stack_each_block_and_fill_missing_parameters_with_zero() -> None:
    blocks = [Block("pooled", ("E", "A")), Block("pooled_2", ("beta",))]
    out = centring.containers(blocks, {"E": [0.5, 1.0], "beta": [0.2, 0.3]}, 2)
    assert list(out) == ["pooled_centring", "pooled_2_centring"]
    assert out["pooled_centring"].tolist() == [[0.5, 1.0], [0.0, 0.0]]
    assert out["pooled_2_centring"].tolist() == [[0.2, 0.3]]


def test_blocks_group_parameters_whose_priors_stack() -> None:
    from models.config import resolve_config
    from models.families import get_family

    family = get_family("chinchilla")
    config, _ = resolve_config(family, 3)
    assert centring.blocks(config) == [Block("pooled", family.param_names)]
    other = {"mu": {"dist": "StudentT", "kwargs": {"nu": 4, "mu": 0, "sigma": 1}},
             "sigma": {"dist": "Gamma", "kwargs": {"alpha": 2, "beta": 10}}}  # fmt: skip
    config, _ = resolve_config(family, 3, priors={"B": other}, pooling={"E": "shared"})
    assert centring.blocks(config) == [
        Block("pooled", ("A", "alpha", "beta")),
        Block("pooled_2", ("B",)),
    ]
    assert centring.blocks(resolve_config(family, 1)[0]) == []  # one group: nothing pooled


def test_every_centring_is_the_same_model() -> None:
    """log p(mu, sigma, theta) is one density whatever lambda: the forms differ by a Jacobian.

    ``raw ~ Normal(lam mu, sigma^lam)`` at ``raw = lam mu + sigma^(lam-1) (theta - mu)`` has
    log density ``log Normal(theta; mu, sigma) + (1 - lam) log sigma``.
    """
    from models.build import build_model, prepare
    from models.config import resolve_config
    from models.families import get_family
    from models.pivot import placement, to_pivot
    from models.simulate import example_dataset

    family = get_family("chinchilla")
    data = example_dataset(0, points_per_group=5)
    config, _ = resolve_config(family, len(data.groups))
    md = prepare(data, family.inputs, data.default_scales(family.inputs))
    rng = np.random.default_rng(0)
    mu = {n: rng.normal(-1, 0.3) for n in family.param_names}
    sigma = {n: np.exp(rng.normal(-1.5, 0.3)) for n in family.param_names}
    theta = {n: mu[n] + sigma[n] * rng.normal(size=4) for n in family.param_names}  # link scale
    totals = []
    for lam_value in (0.0, 0.4, 1.0):
        lam = {n: np.array([lam_value, 0.9, 0.1, lam_value]) for n in family.param_names}
        model = build_model(config, md.with_centring(lam))
        point = model.initial_point()
        names = family.param_names  # one block, in declaration order
        # its means are sampled in pivot coordinates (models.pivot; unit Jacobian)
        pivot = placement(config)
        assert pivot is not None and pivot.block == "pooled"
        means = np.array([mu[n] for n in names])
        point["pooled_mu_pivot__"] = to_pivot(np, pivot.layout, means)
        point["pooled_sigma_log__"] = np.log([sigma[n] for n in names])
        point["pooled_raw"] = np.stack(
            [lam[n] * mu[n] + sigma[n] ** (lam[n] - 1) * (theta[n] - mu[n]) for n in names]
        )
        jacobian = sum(np.sum((1 - lam[n]) * np.log(sigma[n])) for n in names)
        logp = model.compile_logp(jacobian=True, mode="FAST_COMPILE")(point)
        totals.append(float(logp) - jacobian)
    np.testing.assert_allclose(totals, totals[0], rtol=0, atol=1e-9)


def test_the_search_s_best_point_is_climbed_on_to_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search whose climbs stopped early (a long ridge) must not set lambda where it stopped."""
    start = np.array([1.0, np.log(SIGMA) + 1.5, 2.0, -2.0, 1.0])  # far from the mode

    def stopped_early(density, starts):  # what find_optima returns when no climb finished
        return [(density(start)[0], start)], 0

    monkeypatch.setattr(centring, "find_optima", stopped_early)
    lam = choose(normal_normal, LAYOUT, BLOCKS, lambda seed: start, seed=3)
    expected = SIGMA**2 * np.exp(-2) / (SIGMA**2 * np.exp(-2) + S**2)
    np.testing.assert_allclose(lam["a"], expected, atol=0.03)


def test_the_layout_holds_the_free_variables_only() -> None:
    from types import SimpleNamespace

    compiled = SimpleNamespace(
        shape_info=(
            ["pooled_mu", "pooled_sigma_log__", "pooled_sigma", "E"],
            [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 9)],
            [(2,), (2,), (2,), (3,)],
        ),
        n_dim=4,
    )
    layout = Layout.of(compiled)
    assert list(layout.slices) == ["pooled_mu", "pooled_sigma_log__"]
    assert layout.indices("pooled_sigma_log__").tolist() == [2, 3]


def test_non_centred_settings_sample_every_group_as_an_offset(monkeypatch: pytest.MonkeyPatch):
    """``centring="non_centred"`` skips the choice: every lambda 0, in the model and the record."""
    from models import sampling
    from models.build import prepare
    from models.config import resolve_config
    from models.families import get_family
    from models.simulate import example_dataset

    family = get_family("chinchilla")
    data = example_dataset(0, points_per_group=5)
    config, _ = resolve_config(family, len(data.groups))
    md = prepare(data, family.inputs, data.default_scales(family.inputs))
    md = md.with_centring({n: np.ones(len(data.groups)) for n in family.param_names})

    class Cache:  # what _centred asks of the compile cache, without compiling
        def get(self, config, md):
            self.md = md
            return "compiled"

    def no_choice(*args, **kwargs):
        raise AssertionError("the choice must not run")

    monkeypatch.setattr(centring, "choose", no_choice)
    cache = Cache()
    settings = sampling.SamplerSettings(centring="non_centred")
    compiled, chosen = sampling._centred(config, md, settings, cache)  # type: ignore[arg-type]
    assert compiled == "compiled"
    assert set(chosen) == set(family.param_names)
    assert all(np.array_equal(lam, np.zeros(len(data.groups))) for lam in chosen.values())
    assert all(not cache.md.lam(n).any() for n in family.param_names)  # the model's too
