"""The contract every scaling-law family fulfils.

A family is a pure curve plus parameter metadata. ``curve`` is written once over an array
namespace ``xp`` (``numpy`` for prediction, ``pytensor.tensor`` for the PyMC graph) and receives
inputs already divided by their reference scales and returns the loss divided by the reference
loss ("model units", see :class:`models.data.Scales`). Priors are stated in model units, which is
what makes one set of defaults fit data from a 10M-parameter sweep and a 70B one alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from models.errors import FamilyError, PriorError
from models.priors import HyperPrior, PriorSpec

Link = Literal["log", "identity"]
Pooling = Literal["shared", "partial", "independent"]
POOLING_CHOICES: tuple[Pooling, ...] = ("shared", "partial", "independent")


@dataclass(frozen=True)
class Unit:
    """How a parameter in model units maps back to natural units.

    ``kind`` is ``dimensionless`` (exponents), ``loss`` (times the reference loss), ``amplitude``
    (times reference loss x reference-of-``input`` ** ``exponent``, for ``A·x^-alpha`` terms) or
    ``input`` (times the reference of ``input``, e.g. a break or peak location).
    """

    kind: Literal["dimensionless", "loss", "amplitude", "input"] = "dimensionless"
    input: str | None = None
    exponent: str | None = None

    def describe(self) -> str:
        """Human-readable unit, as listed by ``bayescale families``."""
        match self.kind:
            case "dimensionless":
                return "dimensionless"
            case "loss":
                return "loss units"
            case "amplitude":
                return f"loss units x {self.input}^{self.exponent}"
            case _:
                return f"{self.input} units"


def group_spread(mean: float) -> PriorSpec:
    """Prior on a population scale (link units): Gamma(2, 2/mean).

    Zero-avoiding (density 0 at 0, mode mean/2), as recommended for hierarchical scales with few
    groups (Chung et al. 2013). With strongly informed groups the non-centred offsets otherwise
    form a funnel near sigma = 0. Measured once on the bundled example (3 datasets, 4 x 1000
    draws): 0-1 divergences per fit instead of 0-5 with HalfNormal, and slightly faster sampling.
    """
    return PriorSpec("Gamma", alpha=2.0, beta=2.0 / mean)


@dataclass(frozen=True)
class Param:
    """One parameter: its default prior (model units), link for pooling, and natural unit."""

    name: str
    prior: PriorSpec
    link: Link
    description: str
    unit: Unit = field(default_factory=Unit)
    pool_sigma: PriorSpec = field(default_factory=lambda: group_spread(0.25))
    pool_mu: PriorSpec | None = None

    def default_hyper(self) -> HyperPrior:
        """Population prior on the link scale, derived from the flat prior unless given."""
        if self.pool_mu is not None:
            return HyperPrior(self.pool_mu, self.pool_sigma)
        kw = self.prior.kwargs
        if self.link == "log" and self.prior.dist == "LogNormal":
            return HyperPrior(PriorSpec("Normal", mu=kw["mu"], sigma=kw["sigma"]), self.pool_sigma)
        if self.link == "identity" and self.prior.dist == "Normal":
            return HyperPrior(PriorSpec("Normal", kw), self.pool_sigma)
        raise PriorError(f"parameter '{self.name}' needs an explicit pool_mu", field=self.name)

    def inverse_link(self, xp: Any, value: Any) -> Any:
        """Map a link-scale value back to the parameter scale."""
        return xp.exp(value) if self.link == "log" else value


# Reusable parameter definitions in model units (inputs / geometric mean, loss / min loss).
def floor(name: str = "E", description: str = "irreducible loss (floor)") -> Param:
    """An irreducible loss: median half the best observed loss, rarely above it."""
    prior = PriorSpec("LogNormal", mu=float(np.log(0.5)), sigma=0.7)
    return Param(name, prior, "log", description, Unit("loss"), pool_sigma=group_spread(0.15))


def amplitude(name: str, input: str, exponent: str, description: str) -> Param:
    """Amplitude of an ``A x^-exponent`` term: O(1) at the geometric mean of ``input``."""
    prior = PriorSpec("LogNormal", mu=float(np.log(0.3)), sigma=1.5)
    unit = Unit("amplitude", input=input, exponent=exponent)
    return Param(name, prior, "log", description, unit, pool_sigma=group_spread(0.5))


def exponent(name: str, description: str) -> Param:
    """A power-law exponent: 90 % prior mass between 0.11 and 0.8."""
    prior = PriorSpec("LogNormal", mu=float(np.log(0.3)), sigma=0.6)
    return Param(name, prior, "log", description, pool_sigma=group_spread(0.15))


@dataclass(frozen=True)
class Pivot:
    """A floor and power-law terms ``(amplitude, exponent)`` summed at the inputs' centre.

    Declared by a law ``L = floor + sum_j amplitude_j x_j^-exponent_j (...)`` so that the model
    samples these parameters in the coordinates its data pin (:mod:`models.pivot`).
    """

    floor: str
    terms: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The floor, the amplitudes, then the exponents."""
        return (self.floor, *(a for a, _ in self.terms), *(x for _, x in self.terms))


class ScalingLaw:
    """Base class of families; subclasses set the class attributes and ``curve``."""

    name: ClassVar[str]
    formula: ClassVar[str]
    citation: ClassVar[str]
    use_when: ClassVar[str]
    # Class-level defaults; a family whose parameters depend on its options (e.g. the number of
    # breaks) sets both on the instance in __init__.
    params: tuple[Param, ...]
    # Pooling used when the data has several groups; a single group is always ``shared``.
    default_pooling: Mapping[str, Pooling]
    # The floor and power-law terms sampled in pivot coordinates (models.pivot); None: none.
    pivot: ClassVar[Pivot | None] = None
    # Parameters that are bookkeeping, not a property of the law: left out of summaries.
    not_summarised: ClassVar[tuple[str, ...]] = ()
    # Option name -> (default, allowed values); options may change the inputs.
    option_choices: ClassVar[Mapping[str, tuple[str, tuple[str, ...]]]] = {}

    def __init__(self, **options: str) -> None:
        unknown = set(options) - set(self.option_choices)
        if unknown:
            raise FamilyError(
                f"family '{self.name}' takes no option {', '.join(sorted(unknown))}",
                field="family_options",
            )
        self.options: dict[str, str] = {}
        for key, (default, allowed) in self.option_choices.items():
            value = options.get(key, default)
            if value not in allowed:
                raise FamilyError(
                    f"family '{self.name}': option {key} must be one of {', '.join(allowed)}",
                    field=f"family_options.{key}",
                )
            self.options[key] = value

    @property
    def inputs(self) -> tuple[str, ...]:
        """Canonical input names the curve reads (see :data:`models.data.INPUTS`)."""
        raise NotImplementedError

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names, in declaration order."""
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        """Look up a parameter by name."""
        for p in self.params:
            if p.name == name:
                return p
        raise PriorError(f"family '{self.name}' has no parameter '{name}'", field=name)

    def curve(self, xp: Any, x: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        """Loss in model units at scaled inputs for parameters ``p`` (broadcasting).

        ``x[name]`` is the scaled input and ``x["log_" + name]`` its logarithm; write powers as
        ``xp.exp(-alpha * x["log_params"])`` (cheaper to differentiate than ``x ** -alpha``).
        """
        raise NotImplementedError

    def derived(self, natural: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Derived quantities from natural-unit draws (e.g. allocation exponents)."""
        return {}

    # -- optional hooks: planning asks the family instead of testing its class ------------------

    def implements(self, hook: str) -> bool:
        """Whether this family overrides the optional hook ``hook`` (e.g. ``log_time_range``)."""
        return getattr(type(self), hook) is not getattr(ScalingLaw, hook)

    def closed_form_allocation(
        self, natural: Mapping[str, np.ndarray], budget: float, k: float, lo: float, hi: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Compute-optimal ``(N*, D*, L*)`` per draw at ``C = k N D``, if the law has one.

        ``natural`` are natural-unit draws; ``N*`` is clipped to ``[e^lo, e^hi]``. None (the
        default): no closed form, the planner's numerical optimum stands alone.
        """
        return None

    def log_time_range(
        self, p: Mapping[str, np.ndarray], x: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Per draw, the log-``steps`` range (model units) the loss changes over at inputs ``x``.

        ``p`` are model-unit draws (S, 1) and ``x`` scaled inputs other than steps. A search for
        the training time that reaches a loss (:func:`models.scale_time_tradeoff`) scans it.
        None (the default): the law has no training-time axis.
        """
        return None

    def to_natural(
        self, p: Mapping[str, np.ndarray], input_scales: Mapping[str, float], loss_scale: float
    ) -> dict[str, np.ndarray]:
        """Convert model-unit parameter draws to natural units using each ``Param.unit``."""
        out: dict[str, np.ndarray] = {}
        for spec in self.params:
            value, unit = np.asarray(p[spec.name]), spec.unit
            match unit.kind:
                case "loss":
                    value = value * loss_scale
                case "amplitude":
                    assert unit.input is not None and unit.exponent is not None
                    # A draw with a large exponent (a weakly pooled group's, drawn from its
                    # wide population) has an amplitude past float64 in natural units: inf,
                    # which the summaries and plots show as such (model units stay finite).
                    with np.errstate(over="ignore"):
                        value = (
                            value
                            * loss_scale
                            * input_scales[unit.input] ** np.asarray(p[unit.exponent])
                        )
                case "input":
                    assert unit.input is not None
                    value = value * input_scales[unit.input]
            out[spec.name] = value
        return out

    def key(self) -> str:
        """Family name plus options, e.g. ``power_law(x=data)``."""
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.name}({opts})" if opts else self.name

    def describe(self) -> dict[str, Any]:
        """Everything ``bayescale families --json`` and ``GET /v1/families`` show."""
        return {
            "name": self.name,
            "formula": self.formula,
            "inputs": list(self.inputs),
            "options": {
                k: {"default": d, "choices": list(c)} for k, (d, c) in self.option_choices.items()
            },
            "use_when": self.use_when,
            "citation": self.citation,
            "parameters": [
                {
                    "name": p.name,
                    "description": p.description,
                    "unit": p.unit.describe(),
                    "link": p.link,
                    "default_pooling": self.default_pooling[p.name],
                    "prior": p.prior.to_dict(),
                    "population_prior": p.default_hyper().to_dict(),
                }
                for p in self.params
            ],
        }
