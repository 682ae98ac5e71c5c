"""What to fit, as one typed value: :class:`FitSpec` and the default family.

A spec is everything :func:`models.fit` needs apart from the data. The HTTP service builds one
from a request, stores its JSON form with the job (``to_json``) and a worker reads it back
(``from_json``), so the keys below are written in this module only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from models.config import DEFAULT_LIKELIHOOD, DEFAULT_PARAMETRISATION
from models.defaults import AUTO, DEFAULT_FAMILY
from models.families import ScalingLaw, get_family
from models.priors import HyperPrior, PriorSpec
from models.runs import DEFAULT_MAX_PER_RUN
from models.sampling import SamplerSettings


@dataclass(frozen=True)
class FitSpec:
    """A fit request: family and its options, pooling, priors, likelihood, sampler settings.

    ``family`` is a registry name (see :func:`models.list_families`) or a family instance (its
    own options then apply). ``pooling``, ``priors`` and ``likelihood`` are validated against the
    family when the fit is checked (:func:`models.validate_fit`), not here.
    """

    family: str | ScalingLaw = DEFAULT_FAMILY
    family_options: Mapping[str, str] = field(default_factory=dict)
    pooling: str | Mapping[str, str] | None = None
    priors: Mapping[str, Any] | None = None
    likelihood: str = DEFAULT_LIKELIHOOD
    settings: SamplerSettings = field(default_factory=SamplerSettings)
    # Runs longer than this are thinned to log-spaced checkpoints (models.runs); None keeps all.
    max_per_run: int | None = DEFAULT_MAX_PER_RUN
    # The coordinates NUTS samples floor, amplitudes and exponents in (models.pivot): "pivot"
    # or "natural". The same model either way; a Python-level choice for comparisons.
    parametrisation: str = DEFAULT_PARAMETRISATION

    @property
    def family_name(self) -> str:
        """The family's registry name."""
        return self.family.name if isinstance(self.family, ScalingLaw) else self.family

    @property
    def is_auto(self) -> bool:
        """Whether this asks for family auto (several laws, stacked)."""
        return self.family == AUTO

    def law(self) -> ScalingLaw:
        """The family instance (raises ``FamilyError`` for an unknown name or option).

        Not defined for ``auto``, which is several laws (:func:`models.auto.candidates`).
        """
        if isinstance(self.family, ScalingLaw):
            return self.family
        return get_family(self.family, **self.family_options)

    def to_json(self) -> dict[str, Any]:
        """JSON form, as stored with a fit job (``settings`` holds the sampler settings)."""
        law = self.family if isinstance(self.family, ScalingLaw) else None
        pooling = self.pooling
        return {
            "family": self.family_name,
            "family_options": dict(self.family_options if law is None else law.options),
            "pooling": pooling if pooling is None or isinstance(pooling, str) else dict(pooling),
            "priors": None
            if self.priors is None
            else {k: _prior_json(v) for k, v in self.priors.items()},
            "likelihood": self.likelihood,
            "settings": self.settings.to_dict(),
            "max_per_run": self.max_per_run,
            "parametrisation": self.parametrisation,
        }

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> FitSpec:
        """Read :meth:`to_json`'s form; missing keys take their defaults, other keys are ignored.

        Fit jobs store the request's ``filters`` and ``holdout`` next to these keys, and rows
        written before a sampler setting existed lack it.
        """
        return cls(
            family=spec.get("family") or DEFAULT_FAMILY,
            family_options=dict(spec.get("family_options") or {}),
            pooling=spec.get("pooling"),
            priors=spec.get("priors"),
            likelihood=spec.get("likelihood") or DEFAULT_LIKELIHOOD,
            settings=SamplerSettings(**(spec.get("settings") or {})),
            # specs stored before thinning existed get the default; a stored null keeps all rows
            max_per_run=spec.get("max_per_run", DEFAULT_MAX_PER_RUN),
            parametrisation=spec.get("parametrisation") or DEFAULT_PARAMETRISATION,
        )


def _prior_json(value: Any) -> Any:
    return value.to_dict() if isinstance(value, PriorSpec | HyperPrior) else value


class SpecFields(TypedDict, total=False):
    """:class:`FitSpec`'s fields as keyword arguments (None: the default)."""

    family: str | ScalingLaw | None
    family_options: Mapping[str, str] | None
    pooling: str | Mapping[str, str] | None
    priors: Mapping[str, Any] | None
    likelihood: str | None
    settings: SamplerSettings | None
    max_per_run: int | None  # given as None: keep every row (not the default)
    parametrisation: str | None


def as_spec(
    spec: FitSpec | str | ScalingLaw | None = None, **fields: Unpack[SpecFields]
) -> FitSpec:
    """A :class:`FitSpec`, or one built from a family and keyword arguments (None: default).

    Lets Python callers keep writing ``models.fit(data, "power_law", settings=...)`` or
    ``models.fit(data, family="power_law")``.
    """
    given: dict[str, Any] = {k: v for k, v in fields.items() if v is not None or k == "max_per_run"}
    family = given.pop("family", None)
    if family is not None:
        if spec is not None:
            raise TypeError("give the spec or family, not both")
        spec = family
    if isinstance(spec, FitSpec):
        if given:
            raise TypeError(f"give a FitSpec or {', '.join(sorted(given))}, not both")
        return spec
    return FitSpec(family=DEFAULT_FAMILY if spec is None else spec, **given)
