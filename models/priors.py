"""Prior specifications as data.

A prior is a distribution name plus keyword arguments, e.g.
``{"dist": "LogNormal", "kwargs": {"mu": -1.2, "sigma": 0.6}}`` (the dict form of pymc-extras'
``Prior``). Pooled parameters carry two hyper-priors on the *link* scale (log for positive
parameters): ``{"mu": {...}, "sigma": {...}}``. Only a fixed list of distributions is accepted, so
user JSON never reaches ``getattr(pm, ...)`` unchecked.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.errors import PriorError

# distribution -> (required kwargs, optional kwargs, support)
DISTRIBUTIONS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    "Normal": (frozenset({"mu", "sigma"}), frozenset(), "real"),
    "StudentT": (frozenset({"nu", "mu", "sigma"}), frozenset(), "real"),
    "Cauchy": (frozenset({"alpha", "beta"}), frozenset(), "real"),
    "Uniform": (frozenset({"lower", "upper"}), frozenset(), "bounded"),
    "TruncatedNormal": (frozenset({"mu", "sigma"}), frozenset({"lower", "upper"}), "bounded"),
    "LogNormal": (frozenset({"mu", "sigma"}), frozenset(), "positive"),
    "HalfNormal": (frozenset({"sigma"}), frozenset(), "positive"),
    "HalfStudentT": (frozenset({"nu", "sigma"}), frozenset(), "positive"),
    "HalfCauchy": (frozenset({"beta"}), frozenset(), "positive"),
    "Exponential": (frozenset({"lam"}), frozenset(), "positive"),
    "Gamma": (frozenset({"alpha", "beta"}), frozenset(), "positive"),
    "InverseGamma": (frozenset({"alpha", "beta"}), frozenset(), "positive"),
    "Weibull": (frozenset({"alpha", "beta"}), frozenset(), "positive"),
    "Beta": (frozenset({"alpha", "beta"}), frozenset(), "unit"),
}
# Largest |argument| of a prior: the models' parameters are O(1)-O(1e4) on their own scale and
# O(10) on the log link; beyond this, draws overflow a double once exponentiated (a LogNormal(mu=
# 1e300) failed deep in the sampler instead of at submission).
MAX_PRIOR_ARG = 1e6
# exp(709.78) is the largest double: a LogNormal's mu + 6 sigma (its 1e-9 upper tail) stays below
_MAX_LOG = 700.0
# Arguments that must be strictly positive (Cauchy's alpha, a location, is the one exception).
_POSITIVE_ARGS = frozenset({"sigma", "nu", "beta", "lam", "alpha"})


@dataclass(frozen=True)
class PriorSpec:
    """One distribution with fixed arguments, e.g. ``PriorSpec("Gamma", alpha=2, beta=5)``."""

    dist: str
    kwargs: Mapping[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, kwargs: Mapping[str, float] | None = None, **kw: float) -> None:
        object.__setattr__(self, "dist", dist)
        merged = dict(kwargs or {}) | kw
        # numpy scalars become plain floats so specs compare, hash and serialise alike
        object.__setattr__(
            self,
            "kwargs",
            {
                k: float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else v
                for k, v in merged.items()
            },
        )

    def validate(self, where: str) -> PriorSpec:
        """Check the distribution name and arguments; ``where`` names the parameter in errors."""
        if self.dist not in DISTRIBUTIONS:
            raise PriorError(
                f"prior for '{where}': unknown distribution '{self.dist}' "
                f"(allowed: {', '.join(sorted(DISTRIBUTIONS))})",
                field=where,
            )
        required, optional, _ = DISTRIBUTIONS[self.dist]
        given = set(self.kwargs)
        if missing := required - given:
            raise PriorError(
                f"prior for '{where}': {self.dist} needs {', '.join(sorted(missing))}", field=where
            )
        if extra := given - required - optional:
            raise PriorError(
                f"prior for '{where}': {self.dist} takes no {', '.join(sorted(extra))}", field=where
            )
        for name, value in self.kwargs.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise PriorError(f"prior for '{where}': {name} must be a number", field=where)
            if not math.isfinite(value):
                raise PriorError(f"prior for '{where}': {name} must be finite", field=where)
            if abs(value) > MAX_PRIOR_ARG:
                raise PriorError(
                    f"prior for '{where}': {name} must be within ±{MAX_PRIOR_ARG:g}", field=where
                )
            positive_arg = name in _POSITIVE_ARGS and not (
                self.dist == "Cauchy" and name == "alpha"
            )
            if positive_arg and value <= 0:
                raise PriorError(f"prior for '{where}': {name} must be > 0", field=where)
        if self.dist == "LogNormal" and self.kwargs["mu"] + 6 * self.kwargs["sigma"] > _MAX_LOG:
            raise PriorError(
                f"prior for '{where}': LogNormal draws overflow (mu + 6 sigma must be <= "
                f"{_MAX_LOG:g})",
                field=where,
            )
        lower, upper = self.kwargs.get("lower"), self.kwargs.get("upper")
        if lower is not None and upper is not None and not lower < upper:
            raise PriorError(f"prior for '{where}': lower must be < upper", field=where)
        return self

    def is_positive(self) -> bool:
        """True when every draw is > 0 (bounded ones need a lower bound >= 0)."""
        support = self.support
        if support == "bounded":
            return float(self.kwargs.get("lower", -np.inf)) >= 0
        return support in ("positive", "unit")

    @property
    def support(self) -> str:
        """``real``, ``positive``, ``unit`` or ``bounded``."""
        return DISTRIBUTIONS[self.dist][2]

    def to_dict(self) -> dict[str, Any]:
        """JSON form, ``{"dist": ..., "kwargs": {...}}``."""
        return {"dist": self.dist, "kwargs": {k: float(v) for k, v in sorted(self.kwargs.items())}}

    @classmethod
    def from_dict(cls, obj: Any, where: str) -> PriorSpec:
        """Parse the JSON form; accepts ``{"dist", "kwargs"}`` or ``{"dist", **kwargs}``."""
        if isinstance(obj, PriorSpec):
            return obj.validate(where)
        if isinstance(obj, HyperPrior):
            raise PriorError(
                f"prior for '{where}' must be a distribution, not a population prior", field=where
            )
        if not isinstance(obj, Mapping) or "dist" not in obj:
            raise PriorError(
                f"prior for '{where}' must be an object with 'dist' (and 'kwargs')", field=where
            )
        kwargs = obj.get("kwargs")
        if kwargs is None:
            kwargs = {k: v for k, v in obj.items() if k != "dist"}
        elif set(obj) - {"dist", "kwargs"}:
            raise PriorError(f"prior for '{where}': unexpected keys next to 'kwargs'", field=where)
        if not isinstance(kwargs, Mapping):
            raise PriorError(f"prior for '{where}': 'kwargs' must be an object", field=where)
        return cls(str(obj["dist"]), dict(kwargs)).validate(where)

    def pymc(self, name: str, **dims: Any) -> Any:
        """Create the PyMC random variable inside the current model context."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.kwargs, **dims)

    def signature(self) -> tuple[str, tuple[str, ...]]:
        """Distribution and argument names: priors with equal signatures stack (:func:`stacked`)."""
        return self.dist, tuple(sorted(self.kwargs))

    def scipy(self) -> Any:
        """The same distribution as a frozen ``scipy.stats`` object (draws, sd, logpdf)."""
        from scipy import stats

        k = dict(self.kwargs)
        match self.dist:
            case "Normal":
                return stats.norm(k["mu"], k["sigma"])
            case "StudentT":
                return stats.t(k["nu"], k["mu"], k["sigma"])
            case "Cauchy":
                return stats.cauchy(k["alpha"], k["beta"])
            case "Uniform":
                return stats.uniform(k["lower"], k["upper"] - k["lower"])
            case "TruncatedNormal":
                lo, hi = k.get("lower", -np.inf), k.get("upper", np.inf)
                a, b = (lo - k["mu"]) / k["sigma"], (hi - k["mu"]) / k["sigma"]
                return stats.truncnorm(a, b, k["mu"], k["sigma"])
            case "LogNormal":
                return stats.lognorm(k["sigma"], scale=np.exp(k["mu"]))
            case "HalfNormal":
                return stats.halfnorm(scale=k["sigma"])
            case "HalfStudentT":
                return _HalfT(k["nu"], k["sigma"])
            case "HalfCauchy":
                return stats.halfcauchy(scale=k["beta"])
            case "Exponential":
                return stats.expon(scale=1.0 / k["lam"])
            case "Gamma":
                return stats.gamma(k["alpha"], scale=1.0 / k["beta"])
            case "InverseGamma":
                return stats.invgamma(k["alpha"], scale=k["beta"])
            case "Weibull":
                return stats.weibull_min(k["alpha"], scale=k["beta"])
            case "Beta":
                return stats.beta(k["alpha"], k["beta"])
        raise PriorError(f"no scipy form for {self.dist}", field=self.dist)

    def draw(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Random draws with numpy (no PyMC compile), used by simulators and checks."""
        draws: np.ndarray = np.asarray(self.scipy().rvs(size=size, random_state=rng), dtype=float)
        return draws


def stacked(specs: Sequence[PriorSpec], name: str, dims: str, transform: Any = None) -> Any:
    """One PyMC vector variable whose element ``i`` has prior ``specs[i]`` (equal signatures).

    ``transform``, if given, replaces the distribution's default one (e.g. :mod:`models.pivot`).
    """
    import pymc as pm

    first = specs[0]
    assert all(s.signature() == first.signature() for s in specs), "priors do not stack"
    kwargs = {k: np.array([s.kwargs[k] for s in specs], dtype=float) for k in first.kwargs}
    extra = {} if transform is None else {"transform": transform}
    return getattr(pm, first.dist)(name, **kwargs, dims=dims, **extra)


@dataclass(frozen=True)
class HyperPrior:
    """Population prior of a partially pooled parameter, on its link scale."""

    mu: PriorSpec
    sigma: PriorSpec

    def to_dict(self) -> dict[str, Any]:
        """JSON form, ``{"mu": {...}, "sigma": {...}}``."""
        return {"mu": self.mu.to_dict(), "sigma": self.sigma.to_dict()}

    @classmethod
    def from_dict(cls, obj: Any, where: str) -> HyperPrior:
        """Parse the JSON form; the scale prior must be positive."""
        if isinstance(obj, HyperPrior):
            obj = obj.to_dict()
        if not isinstance(obj, Mapping) or set(obj) != {"mu", "sigma"}:
            raise PriorError(
                f"population prior for '{where}' must be an object with exactly 'mu' and 'sigma'",
                field=where,
            )
        mu = PriorSpec.from_dict(obj["mu"], f"{where}_mu")
        sigma = PriorSpec.from_dict(obj["sigma"], f"{where}_sigma")
        if not sigma.is_positive():
            raise PriorError(
                f"prior for '{where}_sigma' must be a positive distribution, not {sigma.dist}",
                field=f"{where}_sigma",
            )
        return cls(mu, sigma)


class _HalfT:
    """|StudentT(nu, 0, sigma)|, which scipy.stats does not provide."""

    def __init__(self, nu: float, sigma: float) -> None:
        from scipy import stats

        self._t = stats.t(nu, 0.0, sigma)

    def rvs(self, size: Any, random_state: np.random.Generator) -> np.ndarray:
        draws: np.ndarray = np.abs(np.asarray(self._t.rvs(size=size, random_state=random_state)))
        return draws

    def std(self) -> float:
        return float(np.sqrt(self._t.var() - self.mean() ** 2))

    def mean(self) -> float:
        return float(2 * self._t.expect(lambda v: v, lb=0.0))


def canonical_json(obj: Any) -> str:
    """Stable JSON used for hashes and cache keys."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))
