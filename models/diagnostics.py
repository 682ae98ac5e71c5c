"""Convergence and fit-quality diagnostics for every fit, with named thresholds.

Numbers come from ArviZ (``arviz_stats``): rank-normalised split R-hat, bulk and tail ESS, BFMI,
and PSIS-LOO with Pareto-k from the pointwise log-likelihood. ``converged`` is true only when R-hat,
ESS, divergences and BFMI all pass; anything else worth knowing is a :class:`FitWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from models.centring import block_of


@dataclass(frozen=True)
class Thresholds:
    """Pass marks; ESS is per chain (100 per chain, as Vehtari et al. 2021 recommend)."""

    r_hat_max: float = 1.01
    ess_per_chain_min: float = 100.0
    divergences_max: int = 0
    bfmi_min: float = 0.3
    pareto_k_max: float = 0.7
    # posterior sd / prior sd above this on the link scale: the data barely moved the prior
    prior_dominates_ratio: float = 0.9
    # exponent posterior sd / median above this: weakly identified
    exponent_cv_max: float = 0.5
    points_per_parameter_min: float = 3.0
    # share of draws whose trajectory stopped at the sampler's maximum tree depth
    max_tree_depth_share: float = 0.1


@dataclass(frozen=True)
class FitWarning:
    """A warning as data: a stable ``code``, a sentence, and the parameter it is about."""

    code: str
    message: str
    param: str | None = None


@dataclass(frozen=True)
class Diagnostics:
    """What every fit reports about its own reliability."""

    converged: bool
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    bfmi_min: float
    elpd_loo: float | None
    elpd_loo_se: float | None
    p_loo: float | None
    pareto_k_max: float | None
    pareto_k_bad: int | None
    chains: int
    draws: int
    thresholds: Thresholds = field(default_factory=Thresholds)
    reasons: tuple[str, ...] = ()
    warnings: tuple[FitWarning, ...] = ()
    # Where the chains started (models.multistart.InitReport as a dict); None before it existed.
    init: dict[str, Any] | None = None
    # What thinning of long run trajectories kept (models.runs.Thinning as a dict); None when
    # the data have no runs.
    thinning: dict[str, Any] | None = None
    # Pooled parameter -> centring per group, 0 non-centred to 1 centred (models.centring);
    # None when nothing is partially pooled.
    centring: dict[str, list[float]] | None = None
    # A fit that mixed too slowly and was sampled again with more draws (models.extension):
    # draws [asked, used], the first run's reasons and R-hat/ESS; None when it was not.
    extension: dict[str, Any] | None = None
    # Share of draws whose trajectory stopped at the maximum tree depth; None when the sampler
    # does not say (fits saved before it was recorded).
    tree_depth_share: float | None = None
    # A fit sampled again with a deeper tree (models.extension.deeper): depths [first, used],
    # the first run's reasons, R-hat, ESS and share at the maximum; None when it was not.
    deeper: dict[str, Any] | None = None
    # A fit that diverged, sampled again with smaller steps (models.extension.careful): target
    # acceptances [first, used], the first run's reasons, R-hat, ESS and divergences; None when
    # it was not.
    careful: dict[str, Any] | None = None
    # A fit whose energy was poorly explored, sampled again non-centred
    # (models.extension.non_centred): centrings [first, used], the first run's reasons, R-hat,
    # ESS, BFMI and largest centring; None when it was not.
    non_centred: dict[str, Any] | None = None
    # Chains that sit in separate modes (models.modes.report): each mode's chains, share of the
    # draws, mean log density, estimated weight and where it is; None when they share one.
    modes: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (plain floats, lists)."""
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["warnings"] = [asdict(w) for w in self.warnings]
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Diagnostics:
        """Inverse of :meth:`to_dict`."""
        obj = dict(obj)
        obj["thresholds"] = Thresholds(**obj["thresholds"])
        obj["reasons"] = tuple(obj["reasons"])
        obj["warnings"] = tuple(FitWarning(**w) for w in obj["warnings"])
        return cls(**obj)


def diagnose(
    trace: Any,
    log_likelihood: np.ndarray | Iterable[np.ndarray] | None,
    *,
    thresholds: Thresholds | None = None,
    warnings: list[FitWarning] | None = None,
) -> Diagnostics:
    """Compute diagnostics from a nutpie/ArviZ DataTree.

    Parameters
    ----------
    trace
        DataTree with ``posterior`` and ``sample_stats`` (``diverging``, ``energy``).
    log_likelihood
        Pointwise log-likelihood, shape (chain, draw, obs), or consecutive blocks of its
        observations (:func:`models.fitting.log_likelihood_chunks`: a large fit's is never
        held whole), or None to skip LOO.
    thresholds
        Pass marks; defaults to :class:`Thresholds`.
    warnings
        Warnings found elsewhere (data, priors) to carry along.
    """
    import arviz_stats as azs

    th = thresholds or Thresholds()
    posterior = trace["posterior"].to_dataset()
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    # each check's worst value and where it is; the per-variable datasets are dropped at once
    r_hat, r_hat_at = (
        _extreme(azs.rhat(posterior), np.nanargmax) if chains > 1 else (float("nan"), "")
    )
    ess_bulk, bulk_at = _extreme(azs.ess(posterior, method="bulk"), np.nanargmin)
    ess_tail, tail_at = _extreme(azs.ess(posterior, method="tail"), np.nanargmin)
    stats = trace["sample_stats"].to_dataset()
    divergences = int(stats["diverging"].sum())
    bfmi = float(np.min(azs.bfmi(stats["energy"].values))) if draws > 1 else float("nan")

    reasons = []
    if chains > 1 and not r_hat <= th.r_hat_max:
        reasons.append(f"max R-hat {r_hat:.3f} > {th.r_hat_max}{r_hat_at}")
    ess_min = th.ess_per_chain_min * chains
    if not min(ess_bulk, ess_tail) >= ess_min:
        at = bulk_at if ess_bulk <= ess_tail else tail_at
        reasons.append(f"min ESS {min(ess_bulk, ess_tail):.0f} < {ess_min:.0f}{at}")
    if divergences > th.divergences_max:
        reasons.append(f"{divergences} divergent transitions")
    if not bfmi >= th.bfmi_min:
        reasons.append(f"BFMI {bfmi:.2f} < {th.bfmi_min}")
    if chains == 1:
        reasons.append("one chain: R-hat cannot be checked")
    init = trace.attrs.get("init") or {}
    if init.get("stuck"):
        reasons.append(
            f"chain(s) {', '.join(map(str, init['stuck']))} stayed in a minor mode far below the "
            "others, or did not move, after a restart from the main mode: the posterior is "
            "multimodal or its geometry defeats the sampler"
        )

    found = list(warnings or [])
    if init.get("restarted"):
        frozen = set(init.get("frozen", ()))
        minor = [c for c in init["restarted"] if c not in frozen]
        what = []
        if minor:
            what.append(f"chain(s) {', '.join(map(str, minor))} sat in a minor mode")
        if frozen:
            what.append(
                f"chain(s) {', '.join(map(str, sorted(frozen)))} did not move (most transitions "
                "kept the same draw)"
            )
        source = (
            "the multi-start search's optima (no chain had moved)"
            if init.get("from_optima")
            else "the main mode's draws"
        )
        found.append(
            FitWarning(
                "chains_restarted",
                f"{'; '.join(what)} (mean log density per chain "
                f"{', '.join(f'{v:.1f}' for v in init.get('chain_logp', ()))}); they were "
                f"sampled again from {source}; the draws kept are the second run's",
            )
        )
    if init.get("mass_matrix"):
        found.append(
            FitWarning(
                "mass_matrix_fallback",
                "the low-rank mass matrix diverged on this posterior; the draws kept are a "
                "second run's with the diagonal one",
            )
        )
    if trace.attrs.get("modes"):
        found.append(FitWarning("multimodal", _modes_message(trace.attrs["modes"])))
    saturated = _tree_depth_share(stats)
    if saturated is not None and saturated > th.max_tree_depth_share:
        steps = stats["n_steps"] if "n_steps" in stats else None
        per_draw = "" if steps is None else f" ({float(steps.mean()):.0f} leapfrog steps a draw)"
        found.append(
            FitWarning(
                "max_tree_depth",
                f"{saturated:.0%} of draws stopped at the sampler's maximum tree depth"
                f"{per_draw}: the posterior has a direction far longer than it "
                "is narrow, often a ridge between the floor, an amplitude and an exponent that "
                "the data do not separate, and the chains explore it slowly. Data past the "
                "bend, a tighter prior on the floor or a law with fewer terms help; a deeper "
                "tree (sampler max_tree_depth) lets the trajectories cross it, at a cost; more "
                "draws help only slowly",
            )
        )
    if divergences:
        found.append(
            FitWarning(
                "divergences",
                f"{divergences} divergent transitions: the posterior may be biased; "
                "raise target_accept or revisit the priors",
            )
        )
    loo = _loo(log_likelihood, posterior, th.pareto_k_max) if log_likelihood is not None else None
    if loo is not None and loo["pareto_k_bad"]:
        # a Student-t fit (its posterior has nu) already discounts outliers: a row it still
        # cannot predict from the others is one that alone pins a parameter, e.g. a group's end
        advice = (
            "each such row is the only one pinning part of the law, as with a few points per "
            "group; look at them before trusting LOO comparisons"
            if "nu" in posterior
            else "try likelihood=student_t"
        )
        found.append(
            FitWarning(
                "high_pareto_k",
                f"{loo['pareto_k_bad']} observations with Pareto k > {th.pareto_k_max}: they are "
                f"influential or outlying; LOO is unreliable ({advice})",
            )
        )
    return Diagnostics(
        converged=not reasons,
        r_hat_max=r_hat,
        ess_bulk_min=ess_bulk,
        ess_tail_min=ess_tail,
        divergences=divergences,
        bfmi_min=bfmi,
        elpd_loo=None if loo is None else loo["elpd"],
        elpd_loo_se=None if loo is None else loo["se"],
        p_loo=None if loo is None else loo["p"],
        pareto_k_max=None if loo is None else loo["k_max"],
        pareto_k_bad=None if loo is None else loo["pareto_k_bad"],
        chains=chains,
        draws=draws,
        thresholds=th,
        reasons=tuple(reasons),
        warnings=tuple(found),
        init=trace.attrs.get("init"),
        centring=trace.attrs.get("centring"),
        tree_depth_share=saturated,
        modes=trace.attrs.get("modes"),
    )


def _modes_message(found: dict[str, Any]) -> str:
    """The ``multimodal`` warning: each mode's chains, share, weight and place."""
    parts = []
    for mode in found["modes"]:
        chains = ", ".join(map(str, mode["chains"]))
        where = ", ".join(f"{name} {value:.4g}" for name, value in mode["where"].items())
        parts.append(
            f"chain(s) {chains} (share {mode['share']:.2f}, weight {mode['weight']:.2f}: {where})"
        )
    how = "height and volume" if found["volume"] else "height alone (too few draws for volumes)"
    return (
        f"the chains sit in {len(found['modes'])} separate modes: {'; '.join(parts)}. The pooled "
        "draws weight each mode by its share of chains; the weight estimates its posterior "
        f"mass from its {how} (a Gaussian approximation). Read the modes as the answer: the "
        "data allow each; rows where the modes disagree would tell them apart"
    )


# Per-draw "the trajectory stopped at the maximum depth" flags: nutpie's name, then PyMC's.
_MAX_DEPTH_STATS = ("maxdepth_reached", "reached_max_treedepth")


def _tree_depth_share(stats: Any) -> float | None:
    """Share of draws that hit the maximum tree depth, or None when the sampler does not say.

    Not a convergence check (the draws are valid); an efficiency one, as Stan reports it: a
    trajectory cut short cannot cross the posterior, so its chains random-walk along it.
    """
    for name in _MAX_DEPTH_STATS:
        if name in stats:
            flags = np.asarray(stats[name].values, dtype=bool)
            return float(flags.mean()) if flags.size else None
    return None


def pointwise_loo(
    log_likelihood: np.ndarray | Iterable[np.ndarray], posterior: Any
) -> tuple[Any, Any, Any] | None:
    """PSIS-LOO per observation: (elpd_i, pareto_k, p_loo_i) as DataArrays over ``obs``.

    ``log_likelihood`` is the (chain, draw, obs) array or consecutive blocks of its observations
    (:func:`models.fitting.log_likelihood_chunks`): PSIS smooths each observation's importance
    weights on its own, so blocks give the values of the whole array without holding it. None
    where LOO is undefined (too few draws; identical importance weights, as a chain repeating
    one draw gives, which R-hat/ESS already flag). High Pareto k is the caller's to report.
    """
    import arviz_stats  # noqa: F401 (registers the .azstats accessors)
    import xarray as xr

    blocks = [log_likelihood] if isinstance(log_likelihood, np.ndarray) else log_likelihood
    reff: float | None = None
    pointwise: list[tuple[Any, Any, Any]] = []
    with warnings.catch_warnings():
        # High k is reported by the caller, not as a Python warning; extreme log-likelihoods
        # (overflow) end as an undefined LOO, which the caller checks.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for block in blocks:
            if block.shape[1] < 4:
                return None
            if reff is None:
                reff = _relative_efficiency(posterior, block.shape[0] * block.shape[1])
            ll = xr.DataArray(block, dims=("chain", "draw", "obs"))
            try:
                pointwise.append(ll.azstats.loo(sample_dims=["chain", "draw"], r_eff=reff))
            except ValueError:
                return None  # PSIS cannot fit a tail to identical importance weights
    if not pointwise:
        return None
    elpd_i, k, p_i = (xr.concat([row[j] for row in pointwise], dim="obs") for j in range(3))
    return elpd_i, k, p_i


def _loo(
    log_likelihood: np.ndarray | Iterable[np.ndarray], posterior: Any, k_max: float
) -> dict[str, Any] | None:
    """PSIS-LOO's totals (ArviZ's summary of :func:`pointwise_loo`) and the high-k count."""
    found = pointwise_loo(log_likelihood, posterior)
    if found is None:
        return None
    elpd_i, k, p_i = found
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        elpd, se, p, _ = elpd_i.azstats.loo_summary(p_i)
    k_values = np.asarray(k, dtype=float)
    if not np.isfinite(k_values).any() or not np.isfinite(float(elpd)):
        return None  # e.g. draws with impossible likelihood: LOO is undefined, not zero
    return {
        "elpd": float(elpd),
        "se": float(se),
        "p": float(p),
        "k_max": float(np.nanmax(k_values)),
        "pareto_k_bad": int(np.sum(k_values > k_max)),
    }


def _relative_efficiency(posterior: Any, n_samples: int) -> float:
    """ArviZ's r_eff for PSIS: the mean ESS ("mean" method) of every posterior value / draws."""
    if posterior.sizes["chain"] == 1:
        return 1.0
    ess = posterior.azstats.ess(method="mean")
    return float(np.hstack([ess[v].values.ravel() for v in ess.data_vars]).mean() / n_samples)


# The sampled form of a per-group parameter (partially centred, in blocks: models.centring): a
# reason names the parameter itself, the name the user knows (``pooled_raw`` at
# ``pooled_param "E"`` is ``E``, ``pooled_sigma`` there ``E_sigma``).
_SAMPLED_SUFFIXES = ("_raw",)


def _extreme(ds: Any, pick: Callable[[np.ndarray], Any]) -> tuple[float, str]:
    """``pick``'s finite element of ``ds`` and where it is: `` (at b, group "x")``.

    ``pick`` is ``np.nanargmax`` or ``np.nanargmin``. So that a failed check says which
    parameter (and which group) did not mix: a per-group mode and a slowly mixing population
    spread call for different remedies. ``(nan, "")`` when nothing is finite.
    """
    found = []  # (value, variable, index) of each variable's own pick
    for name, var in ds.data_vars.items():
        values = np.where(np.isfinite(var.values), var.values, np.nan)
        if values.size and not np.isnan(values).all():
            index = np.unravel_index(int(pick(values)), values.shape)
            found.append((float(values[index]), str(name), var, index))
    if not found:
        return float("nan"), ""
    value, name, var, index = found[int(pick(np.array([f[0] for f in found])))]
    coords = []
    for dim, i in zip(var.dims, index, strict=True):
        block = block_of(str(dim))
        if block is not None and name.startswith(block):  # a block of pooled parameters: name one
            name = str(var[dim].values[i]) + name[len(block) :]
        else:
            coords.append(f'{dim} "{var[dim].values[i]}"')
    for suffix in _SAMPLED_SUFFIXES:
        name = name.removesuffix(suffix)
    return value, f" (at {', '.join([name, *coords])})"
