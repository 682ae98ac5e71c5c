"""Convergence and fit-quality diagnostics for every fit, with named thresholds.

Numbers come from ArviZ (``arviz_stats``): rank-normalised split R-hat, bulk and tail ESS, BFMI,
and PSIS-LOO with Pareto-k from the pointwise log-likelihood. ``converged`` is true only when R-hat,
ESS, divergences and BFMI all pass; anything else worth knowing is a :class:`FitWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
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
    log_likelihood: np.ndarray | None,
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
        Pointwise log-likelihood, shape (chain, draw, obs), or None to skip LOO.
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
            "others after a restart from the main mode: the posterior is multimodal"
        )

    found = list(warnings or [])
    if init.get("restarted"):
        found.append(
            FitWarning(
                "chains_restarted",
                f"chain(s) {', '.join(map(str, init['restarted']))} sat in a minor mode "
                "(mean log density per chain "
                f"{', '.join(f'{v:.1f}' for v in init.get('chain_logp', ()))}) and were sampled "
                "again from the main mode's draws; the draws kept are the second run's",
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
        found.append(
            FitWarning(
                "high_pareto_k",
                f"{loo['pareto_k_bad']} observations with Pareto k > {th.pareto_k_max}: they are "
                "influential or outlying; LOO is unreliable (try likelihood=student_t)",
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


def _loo(log_likelihood: np.ndarray, posterior: Any, k_max: float) -> dict[str, Any] | None:
    import arviz_stats as azs
    import xarray as xr

    if log_likelihood.shape[1] < 4:
        return None
    ll = xr.DataArray(log_likelihood, dims=("chain", "draw", "obs"))
    # The posterior is there for the relative efficiency (r_eff) of the importance weights.
    tree = xr.DataTree.from_dict(
        {"posterior": posterior, "log_likelihood": xr.Dataset({"log_loss": ll})}
    )
    with warnings.catch_warnings():
        # High Pareto k is reported as a FitWarning below, not as a Python warning; extreme
        # log-likelihoods (overflow) end as an undefined LOO (None), also handled below.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = azs.loo(tree, pointwise=True, var_name="log_loss")
        except ValueError:
            # PSIS cannot fit a tail to identical importance weights (a stuck chain repeats
            # one draw): LOO is undefined for this posterior, which R-hat/ESS already flag
            return None
    k = np.asarray(result.pareto_k, dtype=float)
    if not np.isfinite(k).any() or not np.isfinite(float(result.elpd)):
        return None  # e.g. draws with impossible likelihood: LOO is undefined, not zero
    return {
        "elpd": float(result.elpd),
        "se": float(result.se),
        "p": float(result.p),
        "k_max": float(np.nanmax(k)),
        "pareto_k_bad": int(np.sum(k > k_max)),
    }


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
