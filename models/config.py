"""A fit's model configuration: family, pooling per parameter, priors, likelihood.

``resolve_config`` merges user overrides into the family defaults and validates them against the
family, so every error names the parameter at fault. The resolved config is plain data; its
``structure_key`` identifies a compiled model (same key, same graph, only data differs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from models import defaults
from models.errors import PriorError
from models.families import POOLING_CHOICES, Pooling, ScalingLaw
from models.priors import HyperPrior, PriorSpec, canonical_json

Likelihood = Literal["normal", "student_t"]
LIKELIHOODS: tuple[Likelihood, ...] = ("normal", "student_t")
# The coordinates NUTS samples a law's floor, amplitudes and exponents in (models.pivot).
Parametrisation = Literal["pivot", "natural"]
PARAMETRISATIONS: tuple[Parametrisation, ...] = ("pivot", "natural")
DEFAULT_PARAMETRISATION: Parametrisation = "pivot"
DEFAULT_LIKELIHOOD: Likelihood = defaults.DEFAULT_LIKELIHOOD  # type: ignore[assignment]
# Observation noise is on log loss: sigma = 0.1 means runs scatter by about 10 %.
NOISE_PRIORS: dict[str, PriorSpec] = {
    "sigma": PriorSpec("HalfNormal", sigma=0.2),
    # Juarez & Steel (2010) prior on Student-t degrees of freedom.
    "nu": PriorSpec("Gamma", alpha=2.0, beta=0.1),
}
# Run-level effect on log loss (data with runs only): b_r ~ Normal(0, sigma_run).
# Runs of one configuration (seeds, data order) differ by a few % in final loss: HalfNormal(0.05)
# puts the prior median of sigma_run at 3.4 % and 95 % of its mass below 10 %.
RUN_PRIORS: dict[str, PriorSpec] = {
    "sigma_run": PriorSpec("HalfNormal", sigma=0.05),
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines the statistical model apart from the data."""

    family: ScalingLaw
    pooling: Mapping[str, Pooling]
    priors: Mapping[str, PriorSpec]
    hyper: Mapping[str, HyperPrior]
    noise: Mapping[str, PriorSpec]
    likelihood: Likelihood
    n_groups: int
    # Named training runs in the data (a dim, like the group count); 0 = no run effect.
    n_runs: int = 0
    # Same model, other coordinates for NUTS: "pivot" where models.pivot applies, else as built.
    parametrisation: Parametrisation = DEFAULT_PARAMETRISATION

    def priors_json(self) -> dict[str, Any]:
        """Priors as they were used: flat priors, population priors and noise priors."""
        out: dict[str, Any] = {}
        for name, how in self.pooling.items():
            out[name] = (
                self.hyper[name].to_dict() if how == "partial" else self.priors[name].to_dict()
            )
        out.update({k: v.to_dict() for k, v in self.noise.items()})
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON description, stored with every fit."""
        return (
            {
                "family": self.family.name,
                "family_options": dict(self.family.options),
                "pooling": dict(self.pooling),
                "priors": self.priors_json(),
                "likelihood": self.likelihood,
                "n_groups": self.n_groups,
            }
            | ({"n_runs": self.n_runs} if self.n_runs else {})
            | self._parametrisation_json()
        )

    def _parametrisation_json(self) -> dict[str, Any]:
        """``{"parametrisation": "pivot"}`` for a law that declares a pivot, else {}.

        Absent for the natural coordinates and for laws without one, so the keys (and stored
        configs) of the models built before :mod:`models.pivot` stay as they were.
        """
        pivot = self.family.pivot is not None and self.parametrisation == "pivot"
        return {"parametrisation": "pivot"} if pivot else {}

    @property
    def structure_key(self) -> str:
        """Hash of the config: fits with equal keys share one compiled model."""
        return hashlib.sha256(canonical_json(self.to_json()).encode()).hexdigest()[:16]


def resolve_config(
    family: ScalingLaw,
    n_groups: int,
    *,
    pooling: str | Mapping[str, str] | None = None,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = DEFAULT_LIKELIHOOD,
    n_runs: int = 0,
    parametrisation: str = DEFAULT_PARAMETRISATION,
) -> tuple[ModelConfig, list[str]]:
    """Merge overrides into the family defaults; returns the config and notes for warnings.

    Parameters
    ----------
    family
        The scaling-law family.
    n_groups
        Number of groups in the data. With one group every parameter is ``shared``.
    pooling
        One word for all parameters or a mapping parameter -> ``shared``/``partial``/
        ``independent``; unnamed parameters keep the family default.
    priors
        Parameter -> prior JSON. Shared/independent parameters take a distribution
        (``{"dist", "kwargs"}``); partially pooled ones take ``{"mu": ..., "sigma": ...}`` on the
        link scale. ``sigma`` (noise) and ``nu`` (Student-t) may be overridden too.
    likelihood
        ``normal`` or ``student_t`` (robust to outlying runs).
    n_runs
        Number of named training runs in the data; above 0 the model gets a run effect and
        ``sigma_run`` (its scale) a prior that may be overridden.
    parametrisation
        ``pivot`` (sample floor, amplitudes and exponents in the coordinates the data pin,
        :mod:`models.pivot`, where exact) or ``natural``; the model is the same either way.
    """
    notes: list[str] = []
    if parametrisation not in PARAMETRISATIONS:
        raise PriorError(
            f"parametrisation must be one of {', '.join(PARAMETRISATIONS)}",
            field="parametrisation",
        )
    if likelihood not in LIKELIHOODS:
        raise PriorError(
            f"likelihood must be one of {', '.join(LIKELIHOODS)}, not '{likelihood}'",
            field="likelihood",
        )
    names = family.param_names
    requested = _requested_pooling(pooling, names)
    if n_groups == 1:
        asked = sorted(n for n, how in requested.items() if how != "shared")
        if asked:
            notes.append(f"one group only: {', '.join(asked)} fitted as shared")
        resolved: dict[str, Pooling] = dict.fromkeys(names, "shared")
    else:
        resolved = {n: requested.get(n, family.default_pooling[n]) for n in names}

    overrides = dict(priors or {})
    unknown = set(overrides) - set(names) - set(NOISE_PRIORS) - set(RUN_PRIORS)
    if unknown:
        raise PriorError(
            f"prior for unknown parameter '{sorted(unknown)[0]}' (family {family.name} has "
            f"{', '.join(names)}; noise: {', '.join((*NOISE_PRIORS, *RUN_PRIORS))})",
            field=sorted(unknown)[0],
        )
    flat: dict[str, PriorSpec] = {}
    hyper: dict[str, HyperPrior] = {}
    for spec in family.params:
        given = _as_json(overrides.get(spec.name))
        if resolved[spec.name] == "partial":
            if given is not None and "dist" in given:
                raise PriorError(
                    f"'{spec.name}' is partially pooled: give its population prior as "
                    '{"mu": {...}, "sigma": {...}} on the ' + f"{spec.link} scale",
                    field=spec.name,
                )
            hyper[spec.name] = (
                spec.default_hyper() if given is None else HyperPrior.from_dict(given, spec.name)
            )
        else:
            if given is not None and "dist" not in given:
                raise PriorError(
                    f"'{spec.name}' is {resolved[spec.name]}: give a distribution "
                    '{"dist": ..., "kwargs": {...}}',
                    field=spec.name,
                )
            prior = spec.prior if given is None else PriorSpec.from_dict(given, spec.name)
            if spec.link == "log" and not prior.is_positive():
                raise PriorError(
                    f"'{spec.name}' must be positive: {prior.dist} is not a positive distribution",
                    field=spec.name,
                )
            flat[spec.name] = prior
    if "nu" in overrides and likelihood != "student_t":
        raise PriorError("a prior for 'nu' needs likelihood student_t", field="nu")
    noise = {
        name: PriorSpec.from_dict(overrides[name], name) if name in overrides else default
        for name, default in NOISE_PRIORS.items()
        if name == "sigma" or likelihood == "student_t"
    }
    if "sigma_run" in overrides and n_runs == 0:
        raise PriorError(
            "a prior for 'sigma_run' needs data with runs (a run of two rows or more)",
            field="sigma_run",
        )
    if n_runs:
        noise.update(
            {
                name: PriorSpec.from_dict(overrides[name], name) if name in overrides else default
                for name, default in RUN_PRIORS.items()
            }
        )
    for name, prior in noise.items():
        if not prior.is_positive():
            raise PriorError(f"'{name}' needs a positive distribution", field=name)
    config = ModelConfig(
        family,
        resolved,
        flat,
        hyper,
        noise,
        likelihood,
        n_groups,
        n_runs,
        parametrisation,  # checked above
    )
    return config, notes


def _as_json(given: Any) -> Any:
    """Accept PriorSpec/HyperPrior objects from Python callers as their JSON form."""
    if isinstance(given, PriorSpec | HyperPrior):
        return given.to_dict()
    if given is not None and not isinstance(given, Mapping):
        raise PriorError(f"prior must be an object, not {type(given).__name__}")
    return given


def _requested_pooling(
    pooling: str | Mapping[str, str] | None, names: tuple[str, ...]
) -> dict[str, Pooling]:
    if pooling is None:
        return {}
    if isinstance(pooling, str):
        pooling = dict.fromkeys(names, pooling)
    out: dict[str, Pooling] = {}
    for name, how in pooling.items():
        if name not in names:
            raise PriorError(
                f"pooling for unknown parameter '{name}' (parameters: {', '.join(names)})",
                field=f"pooling.{name}",
            )
        if how not in POOLING_CHOICES:
            raise PriorError(
                f"pooling for '{name}' must be one of {', '.join(POOLING_CHOICES)}, not '{how}'",
                field=f"pooling.{name}",
            )
        out[name] = how
    return out
