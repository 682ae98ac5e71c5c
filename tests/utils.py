"""Factories for tests: fake posteriors consistent with a model config, no MCMC involved."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
import xarray as xr

import models
import models.build
import models.config
import models.fitting
import models.sampling
from models.build import prepare
from models.config import resolve_config
from models.data import Scales, ScalingData
from models.diagnostics import diagnose
from models.fitting import pointwise_log_likelihood
from models.result import Fit
from models.simulate import simulate

CHINCHILLA_TRUTH = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.34, "beta": 0.36}
SCALE_TIME_TRUTH = models.SCALE_TIME_EXAMPLE


def chinchilla_inputs(n: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_params = np.exp(rng.uniform(np.log(2e7), np.log(2e9), n))
    return {"params": n_params, "data": n_params * np.exp(rng.uniform(np.log(5), np.log(60), n))}


def fake_fit(
    family: str = "chinchilla",
    truth: Mapping[str, float | Sequence[float]] | None = None,
    *,
    inputs: Mapping[str, np.ndarray] | None = None,
    groups: Sequence[str] | None = None,
    pooling: str | Mapping[str, str] | None = None,
    likelihood: str = "normal",
    chains: int = 2,
    draws: int = 200,
    spread: float = 0.02,
    noise: float = 0.02,
    divergences: int = 0,
    seed: int = 0,
) -> Fit:
    """A Fit whose posterior is the truth times log-normal jitter of sd ``spread``.

    Reference scales are 1, so model units equal natural units and the truth is used as given.
    """
    fam = models.get_family(family)
    truth = dict(truth or CHINCHILLA_TRUTH)
    inputs = dict(inputs or chinchilla_inputs())
    data = simulate(fam, truth, inputs, groups=groups, noise=noise, seed=seed)
    config, _ = resolve_config(fam, len(data.groups), pooling=pooling, likelihood=likelihood)
    # its own stream: Fit.predict(seed=s) draws noise from default_rng(s + 1), which must not
    # replay this jitter (new-run intervals would come out too wide)
    rng = np.random.default_rng([seed, 7919])
    shape = (chains, draws)
    posterior: dict[str, xr.DataArray] = {}
    n_groups = len(data.groups)
    for spec in fam.params:
        values = np.broadcast_to(np.asarray(truth[spec.name], dtype=float), (n_groups,))
        # data.groups is sorted; simulate() assigned truth values in the given group order
        if groups is not None:
            order = [list(groups).index(g) for g in data.groups]
            values = values[order]
        how = config.pooling[spec.name]
        if how == "shared":
            posterior[spec.name] = xr.DataArray(
                values[0] * np.exp(spread * rng.standard_normal(shape)), dims=("chain", "draw")
            )
            continue
        per_group = values * np.exp(spread * rng.standard_normal((*shape, n_groups)))
        posterior[spec.name] = xr.DataArray(per_group, dims=("chain", "draw", "group"))
        if how == "partial":
            link = np.log(per_group) if spec.link == "log" else per_group
            mu = link.mean(axis=-1)
            sigma = np.maximum(link.std(axis=-1), 1e-3) + 0.05
            posterior[f"{spec.name}_mu"] = xr.DataArray(mu, dims=("chain", "draw"))
            posterior[f"{spec.name}_sigma"] = xr.DataArray(sigma, dims=("chain", "draw"))
            posterior[f"{spec.name}_offset"] = xr.DataArray(
                (link - mu[..., None]) / sigma[..., None], dims=("chain", "draw", "group")
            )
    posterior["sigma"] = xr.DataArray(
        noise * np.exp(0.05 * rng.standard_normal(shape)), dims=("chain", "draw")
    )
    if likelihood == "student_t":
        posterior["nu"] = xr.DataArray(20 + rng.gamma(2, 2, shape), dims=("chain", "draw"))
    ds = (
        xr.Dataset(posterior).assign_coords(group=data.groups)
        if n_groups
        else xr.Dataset(posterior)
    )
    if "group" not in ds.dims:
        ds = ds.drop_vars("group", errors="ignore")
    diverging = np.zeros(shape, dtype=bool)
    diverging.flat[:divergences] = True
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), diverging),
            "energy": (("chain", "draw"), rng.standard_normal(shape)),
        }
    )
    trace = xr.DataTree.from_dict({"posterior": ds, "sample_stats": stats})
    scales = Scales(dict.fromkeys(fam.inputs, 1.0), 1.0)
    md = prepare(data, fam.inputs, scales)
    loglik = pointwise_log_likelihood(config, md, ds)
    diagnostics = diagnose(trace, loglik)
    return Fit(
        fam,
        config,
        scales,
        models.SamplerSettings(chains=chains, draws=max(draws, 10)),
        trace,
        data,
        diagnostics,
    )


def example_rows(points_per_group: int = 8) -> list[dict[str, object]]:
    """The bundled example (four architectures) as observation rows for the HTTP API."""
    frame = models.simulate.example_dataset(0, points_per_group=points_per_group).to_frame()
    return [
        {"params": r.params, "data": r.data, "loss": r.loss, "group": r.group}
        for r in frame.itertuples()
    ]


def tiny_data(n: int = 12, seed: int = 0) -> ScalingData:
    """A one-group chinchilla dataset with ``n`` runs."""
    fam = models.get_family("chinchilla")
    return simulate(fam, CHINCHILLA_TRUTH, chinchilla_inputs(n, seed), noise=0.02, seed=seed)


def prior_trace(
    config: models.config.ModelConfig,
    md: models.build.ModelData,
    chains: int = 2,
    draws: int = 100,
    seed: int = 0,
) -> xr.DataTree:
    """A trace drawn from the prior in numpy: a stand-in for NUTS (like pymc's mock_sample)."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    n_groups = len(md.groups)
    post: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for spec in config.family.params:
        how = config.pooling[spec.name]
        if how == "shared":
            post[spec.name] = (("chain", "draw"), config.priors[spec.name].draw(rng, shape))
        elif how == "independent":
            post[spec.name] = (
                ("chain", "draw", "group"),
                config.priors[spec.name].draw(rng, (*shape, n_groups)),
            )
        else:
            hyper = config.hyper[spec.name]
            mu, sigma = hyper.mu.draw(rng, shape), hyper.sigma.draw(rng, shape)
            offset = rng.standard_normal((*shape, n_groups))
            post[f"{spec.name}_mu"] = (("chain", "draw"), mu)
            post[f"{spec.name}_sigma"] = (("chain", "draw"), sigma)
            post[f"{spec.name}_offset"] = (("chain", "draw", "group"), offset)
            value = spec.inverse_link(np, mu[..., None] + sigma[..., None] * offset)
            post[spec.name] = (("chain", "draw", "group"), value)
    for name, prior in config.noise.items():
        post[name] = (("chain", "draw"), prior.draw(rng, shape))
    if md.runs:
        offset = rng.standard_normal((*shape, len(md.runs)))
        post["run_effect"] = (("chain", "draw", "run"), post["sigma_run"][1][..., None] * offset)
    ds = xr.Dataset(post)
    if "group" in ds.dims:
        ds = ds.assign_coords(group=md.groups)
    if "run" in ds.dims:
        ds = ds.assign_coords(run=md.runs)
    stats = xr.Dataset(
        {
            "diverging": (("chain", "draw"), np.zeros(shape, dtype=bool)),
            "energy": (("chain", "draw"), rng.standard_normal(shape)),
        }
    )
    return xr.DataTree.from_dict({"posterior": ds, "sample_stats": stats})


def fake_sampler(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
    """Stand-in for ``models.sampling.sample_posterior``: prior draws, progress reported."""
    if progress:
        progress(0.5)
    return prior_trace(config, md, chains=settings.chains, draws=settings.draws, seed=settings.seed)


def replace_sampler(mp: pytest.MonkeyPatch, fake: Callable[..., Any] = fake_sampler) -> None:
    """Replace NUTS at its one definition (``models.sampling.sample_posterior``) while mp lives."""
    mp.setattr(models.sampling, "sample_posterior", fake)


def replace_fit(mp: pytest.MonkeyPatch, fake: Callable[..., Fit]) -> None:
    """Replace :func:`models.fit` where ``models.backtest`` calls it, while ``mp`` lives."""
    mp.setattr(models.fitting, "fit", fake)


def minimal_trace(seed: int = 2, chains: int = 2, draws: int = 200) -> xr.DataTree:
    """A trace with one parameter ``a`` and the sample stats ``diagnose`` reads (no divergence)."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws)
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"a": (("chain", "draw"), rng.standard_normal(shape))}),
            "sample_stats": xr.Dataset(
                {
                    "diverging": (("chain", "draw"), np.zeros(shape, bool)),
                    "energy": (("chain", "draw"), rng.standard_normal(shape)),
                }
            ),
        }
    )
