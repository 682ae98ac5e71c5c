"""``family: "auto"``: candidate laws from the inputs present, weighted by LFO stacking.

1. :func:`candidates` lists the laws that can use the data's inputs (with a reason for each one
   left out): one input -> power law, broken power law (1 and 2 breaks), the M4-style saturating
   law, double descent when the loss is non-monotone; params + data -> chinchilla,
   data_constrained (with unique_data) and one-input laws over compute C = 6ND; params + steps ->
   scale_time.
2. Leave-future-out (:mod:`models.lfo`): every candidate is refitted below each cut and scores the
   rows above; the same records size each candidate's extrapolation discrepancy
   (:mod:`models.discrepancy`).
3. Stacking weights (:func:`models.stacking.stacking_weights`) from the rows' log predictive
   densities; candidates under :data:`~models.stacking.MIN_WEIGHT` are dropped.
   With ``pooling="compare"`` (:data:`COMPARE_POOLING`) and several groups, every law that kept
   weight is scored once more with its population spread widened :data:`WEAK_POOLING`-fold
   (:func:`weakly_pooled_variants`), and both variants are stacked together. Not the default:
   on the pre-registered comparison (BENCHMARKS.md) it never helped accuracy beyond 5 %, cost
   7 % on one task and lowered coverage on three of five.
4. The kept candidates are fitted on all rows with the user's settings and combined into one
   stacked :class:`~models.fit.Fit` (a single survivor is returned as its own fit).

Everything here was fixed before the benchmark's held-out points were looked at (BENCHMARKS.md,
"Pre-registered settings of family auto").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Unpack

import numpy as np
import xarray as xr

from models import fitting
from models.config import ModelConfig
from models.data import Scales, ScalingData, scale_axis
from models.defaults import AUTO, COMPARE_POOLING
from models.diagnostics import FitWarning, Thresholds
from models.discrepancy import Discrepancy, LFORecord, log10_ranges, tau_posterior
from models.errors import DataError, FamilyError
from models.families import REGISTRY, ScalingLaw, get_family
from models.lfo import Cut, axis_of, cuts, record, refit_settings
from models.priors import HyperPrior, PriorSpec
from models.result import Fit
from models.sampling import COMPILE_CACHE, CompileCache, ProgressFn, SamplerSettings
from models.spec import FitSpec, SpecFields, as_spec
from models.stacking import (
    MIN_WEIGHT,
    Stacked,
    StackedDiscrepancy,
    compute_offset,
    stacked_config,
    stacked_diagnostics,
    stacked_posterior,
    stacking_weights,
    weight_intervals,
)

FLOPS_PER_PARAM_TOKEN = 6.0
SATURATING = "saturating_power_law"  # the M4-style law, when the registry has it


# The weakly pooled variant's population-scale prior: the law's own, its mean times this (a
# Gamma(2, 2/m) scale of mean 0.3 on a log link lets groups differ by ~35 %; x5 by a factor ~4.5).
WEAK_POOLING = 5.0


@dataclass(frozen=True)
class Candidate:
    """A law ``auto`` considers, the data it is fitted on, and why it may be left out.

    ``weak`` marks the weakly pooled variant (:func:`weakly_pooled_variants`).
    """

    family: ScalingLaw
    skipped: str | None = None
    weak: bool = False

    @property
    def pooling(self) -> str:
        """``"default"`` (the law's own hierarchy or the request's pooling) or ``"weak"``."""
        return "weak" if self.weak else "default"

    def label(self) -> str:
        """The law's key, marked when it is the weakly pooled variant."""
        return self.family.key() + (" [weak pooling]" if self.weak else "")

    def spec(self, spec: FitSpec) -> FitSpec:
        """``spec`` for this candidate's law (with the widened population priors if weak)."""
        pooling = None if spec.pooling == COMPARE_POOLING else spec.pooling
        if not self.weak:
            return replace(spec, family=self.family, pooling=pooling)
        priors = weak_pooling_priors(self.family)
        return replace(spec, family=self.family, pooling=pooling, priors=priors)


def weak_pooling_priors(family: ScalingLaw) -> dict[str, HyperPrior]:
    """Population priors of ``family``'s partially pooled parameters, scale prior widened.

    Each Gamma(a, b) scale prior becomes Gamma(a, b / WEAK_POOLING): the same shape, its mean
    :data:`WEAK_POOLING` times larger. Other scale priors are left as they are.
    """
    out: dict[str, HyperPrior] = {}
    for param in family.params:
        if family.default_pooling[param.name] != "partial":
            continue
        hyper = param.default_hyper()
        if hyper.sigma.dist != "Gamma":
            continue
        kw = dict(hyper.sigma.kwargs)
        kw["beta"] = kw["beta"] / WEAK_POOLING
        out[param.name] = HyperPrior(hyper.mu, PriorSpec("Gamma", kw))
    return out


def weakly_pooled_variants(
    scored: Sequence[Scored], weights: np.ndarray, data: ScalingData, spec: FitSpec
) -> list[Candidate]:
    """Each law that kept weight and has a hierarchy, weakly pooled; none for one group.

    Only when the request asks for it (``pooling="compare"``).
    """
    if spec.pooling != COMPARE_POOLING or len(np.unique(data.group)) < 2:
        return []
    return [
        replace(s.candidate, weak=True)
        for s, w in zip(scored, weights, strict=True)
        if w >= MIN_WEIGHT and not s.candidate.weak and weak_pooling_priors(s.candidate.family)
    ]


def _one_input(x: str, data: ScalingData) -> list[Candidate]:
    out = [
        Candidate(get_family("power_law", x=x)),
        Candidate(get_family("broken_power_law", x=x, breaks="1")),
        Candidate(get_family("broken_power_law", x=x, breaks="2")),
    ]
    if SATURATING in REGISTRY:
        out.append(Candidate(get_family(SATURATING, x=x)))
    return out


def non_monotone(data: ScalingData, x: str) -> bool:
    """Whether the loss rises along ``x`` by more than 5 % of its range, then falls again.

    Checked per group and, when the rows carry ``data``, per value of it (double descent is a
    peak along N at fixed D; across D the loss of a two-input sweep is not ordered by N).
    """
    keys = data.group.astype(str)
    if "data" in data.inputs and x != "data":
        keys = np.char.add(np.char.add(keys, "|"), data.inputs["data"].astype(str))
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        loss = data.loss[rows][np.argsort(data.inputs[x][rows], kind="stable")]
        if len(loss) < 5:
            continue
        span = loss.max() - loss.min()
        rise = loss - np.minimum.accumulate(loss)
        peak = int(np.argmax(rise))
        if span > 0 and rise[peak] > 0.05 * span and loss[peak:].min() < loss[peak] - 0.05 * span:
            return True
    return False


def candidates(data: ScalingData) -> tuple[list[Candidate], ScalingData, float | None]:
    """Laws for the inputs present; the data they are fitted on; k when compute was derived.

    Only inputs that vary are scale axes (a sweep of N at fixed D is a one-input problem).
    ``double_descent`` joins whenever the rows have N and D and some group's loss is
    non-monotone along N (:func:`non_monotone`).
    """
    names, moving = set(data.inputs), set(data.varying_inputs)
    k: float | None = None
    out: list[Candidate] = []
    if {"params", "data"} <= moving:
        out.append(Candidate(get_family("chinchilla")))
        if "unique_data" in names:
            out.append(Candidate(get_family("data_constrained")))
        if "compute" not in names:
            k = FLOPS_PER_PARAM_TOKEN
            inputs = dict(data.inputs)
            inputs["compute"] = k * inputs["params"] * inputs["data"]
            data = replace(data, inputs=inputs)
        out += [Candidate(get_family("power_law", x="compute"))]
        out += [Candidate(get_family("broken_power_law", x="compute", breaks="1"))]
    elif {"params", "steps"} <= moving:
        out.append(Candidate(get_family("scale_time")))
        out += _one_input("steps", data)[:2]
    elif moving & {"compute", "params", "data", "steps"}:
        out += _one_input(scale_axis(moving), data)
    elif not moving:
        raise DataError(
            "no input varies across the rows: a scaling law needs runs at several scales"
            + data.unused_hint(),
            field="loss",
        )
    else:
        raise FamilyError(
            f"family auto has no candidate laws for inputs {', '.join(sorted(names))}; "
            "name a family",
            field="family",
        )
    if {"params", "data"} <= names and non_monotone(data, "params"):
        out.append(Candidate(get_family("double_descent")))
    return out, data, k


@dataclass
class Scored:
    """A candidate's leave-future-out records and refits (or why it could not be refitted)."""

    candidate: Candidate
    records: list[LFORecord]
    refits: list[dict[str, Any]]
    error: str | None = None


def fit_auto(
    data: ScalingData,
    spec: FitSpec | None = None,
    *,
    thresholds: Thresholds | None = None,
    progress: ProgressFn | None = None,
    cache: CompileCache = COMPILE_CACHE,
    time_limit_s: float | None = None,
) -> Fit:
    """Fit every candidate law, weight them by leave-future-out stacking, return the mixture.

    ``spec`` (family ``auto``) gives the pooling word, noise priors (``sigma``, ``nu``),
    likelihood and sampler settings that apply to every candidate; ``family_options`` and priors
    on a law's parameters are refused. The result's ``stacking`` report names every candidate
    with its weight, leave-future-out score, discrepancy and diagnostics, and those left out
    with a reason.
    """
    started = time.perf_counter()
    spec = spec or FitSpec(family=AUTO)
    _refuse(spec)
    settings = spec.settings
    th = thresholds or Thresholds()
    found, work, k = candidates(data)
    deadline = None if time_limit_s is None else started + time_limit_s
    measured = list(data.inputs)  # distances along the user's inputs, not a derived compute
    axis = axis_of(work, measured)
    splits = cuts(work, axis)
    steps = len(found) * (len(splits) + 1)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done / steps, 0.99))

    scored, skipped = score_candidates(
        found, work, splits, spec, th, measured=measured, cache=cache, deadline=deadline, tick=tick
    )
    if not scored:
        reasons = "; ".join(f"{s['family']}: {s['reason']}" for s in skipped)
        raise DataError(f"no candidate law can be fitted to these rows ({reasons})", field="loss")

    ranges = log10_ranges(work.inputs, measured)

    def weigh(scored: list[Scored]) -> tuple[list[Discrepancy], list[np.ndarray], np.ndarray]:
        discrepancies, lpd_rows = [], []
        for s in scored:
            disc, per_row = tau_posterior(s.records, ranges)
            discrepancies.append(disc)
            lpd_rows.append(per_row)
        if lpd_rows and lpd_rows[0].size:
            weights = stacking_weights(np.vstack(lpd_rows))
        else:  # no cut had held-out rows: nothing to tell the laws apart by; weigh them equally
            weights = np.full(len(scored), 1.0 / len(scored))
        return discrepancies, lpd_rows, weights

    discrepancies, lpd_rows, weights = weigh(scored)
    variants = weakly_pooled_variants(scored, weights, work, spec)
    if variants:
        steps += len(variants) * (len(splits) + 1)
        more, more_skipped = score_candidates(
            variants, work, splits, spec, th, measured=measured, cache=cache, deadline=deadline,
            tick=tick,
        )  # fmt: skip
        skipped += more_skipped
        if more:
            scored = scored + more
            discrepancies, lpd_rows, weights = weigh(scored)
    keep = [i for i, w in enumerate(weights) if w >= MIN_WEIGHT]

    members: list[Fit] = []
    for i in keep:
        full = fitting.fit(
            work,
            scored[i].candidate.spec(spec),
            thresholds=th,
            cache=cache,
            time_limit_s=_left(deadline),
        )
        full.discrepancy = discrepancies[i]
        members.append(full)
        tick()
    kept_w = weights[keep] / weights[keep].sum()
    # how firmly the scored rows decide each weight (before dropping and renormalising)
    scored_rows = bool(lpd_rows and lpd_rows[0].size)
    spans = weight_intervals(np.vstack(lpd_rows), seed=settings.seed) if scored_rows else None
    report = {
        "axis": axis,
        "cuts": [c.fraction for c in splits],
        "scored_rows": int(lpd_rows[0].size) if lpd_rows else 0,
        "compute_derived_k": k,
        "candidates": [
            {
                "family": s.candidate.family.key(),
                # "default": the law's hierarchy (or the request's pooling); "weak": its
                # population spread widened (weakly_pooled_variants, pooling="compare")
                "pooling": s.candidate.pooling,
                "label": s.candidate.label(),  # family, marked when weakly pooled
                "weight": float(kept_w[keep.index(i)]) if i in keep else 0.0,
                "stacking_weight": float(weights[i]),
                # 90 % Bayesian-bootstrap interval of stacking_weight over the scored rows
                "weight_interval": None if spans is None else [float(v) for v in spans[i]],
                "lfo_elpd": float(lpd_rows[i].sum()) if lpd_rows[i].size else None,
                "lfo_rows": int(lpd_rows[i].size),
                "refits": s.refits,
                "discrepancy": discrepancies[i].summary(),
                "fitted": i in keep,
                "converged": members[keep.index(i)].converged if i in keep else None,
            }
            for i, s in enumerate(scored)
        ],
        "skipped": skipped,
        "elapsed_s": None,
    }
    result = combine(members, kept_w, work, k, settings)
    report["elapsed_s"] = round(time.perf_counter() - started, 3)
    result.stacking = report
    if progress is not None:
        progress(1.0)
    return result


def score_candidates(
    found: list[Candidate],
    work: ScalingData,
    splits: list[Cut],
    spec: FitSpec,
    thresholds: Thresholds | None = None,
    *,
    measured: Sequence[str] | None = None,
    cache: CompileCache = COMPILE_CACHE,
    deadline: float | None = None,
    tick: Callable[[], None] = lambda: None,
) -> tuple[list[Scored], list[dict[str, str]]]:
    """Leave-future-out refits of every candidate at every cut; the laws that cannot, with why.

    Distances beyond each cut are measured along ``measured`` (default every input of ``work``).
    """
    measured = list(work.inputs) if measured is None else list(measured)
    quick = replace(spec, settings=refit_settings(spec.settings))
    scored: list[Scored] = []
    skipped: list[dict[str, str]] = []
    for cand in found:
        try:
            fitting.validate_fit(work, cand.spec(spec), thresholds=thresholds)
        except (DataError, FamilyError) as exc:
            skipped.append({"family": cand.label(), "reason": str(exc)})
            continue
        s = Scored(cand, [], [])
        for cut in splits:
            try:
                refit = fitting.fit(
                    cut.train,
                    cand.spec(quick),
                    thresholds=thresholds,
                    cache=cache,
                    time_limit_s=_left(deadline),
                    loo=False,  # scored on the rows beyond the cut, not by LOO
                )
            except DataError as exc:
                s.refits.append({"cut": cut.fraction, "error": str(exc)})
                s.error = f"cannot be refitted below the {cut.fraction:g} cut: {exc}"
                break
            s.records.append(record(refit, cut.test, measured))
            s.refits.append({"cut": cut.fraction, "converged": refit.converged})
            tick()
        if s.error:
            skipped.append({"family": cand.label(), "reason": s.error})
        else:
            scored.append(s)
    return scored, skipped


def combine(
    members: list[Fit],
    weights: np.ndarray,
    data: ScalingData,
    k: float | None,
    settings: SamplerSettings,
) -> Fit:
    """The stacked fit of fitted members; a single member is returned as it is.

    Unless it runs over a compute that auto derived from N and D: then it stays wrapped, so that
    its predictions take N and D like the rows did.

    Deterministic given the members, weights and ``settings.seed``: a loaded stacked fit is
    rebuilt from its stored members by this function.
    """
    if len(members) == 1 and (k is None or "compute" not in members[0].family.inputs):
        return members[0]
    scales = members[0].scales
    for m in members[1:]:
        scales = replace(scales, inputs={**m.scales.inputs, **scales.inputs})
    if k is not None:  # the stacked law reads N and D even when no member does
        given = data.default_scales(("params", "data")).inputs
        scales = replace(scales, inputs={**given, **scales.inputs})
    family = Stacked(
        [m.family for m in members],
        compute_k=k,
        compute_offset=compute_offset(scales, k) if k is not None else 0.0,
    )
    n_draws = settings.draws * settings.chains
    posterior, member = stacked_posterior(
        [m.posterior for m in members], weights, n_draws, settings.seed
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((1, n_draws), dtype=bool))})
    trace = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    keys = [m.label for m in members]
    diagnostics = stacked_diagnostics([m.diagnostics for m in members], keys, weights)
    result = Fit(
        family,
        stacked_config(family, [m.config for m in members]),
        scales,
        settings,
        trace,
        members[0].data if k is None else _without_compute(data),
        diagnostics,
    )
    result.members = members
    result.weights = weights
    result.discrepancy = StackedDiscrepancy([m.discrepancy for m in members], member)
    return result


def _without_compute(data: ScalingData) -> ScalingData:
    inputs = {n: v for n, v in data.inputs.items() if n != "compute"}
    return replace(data, inputs=inputs)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.perf_counter(), 0.001)


def describe_auto() -> dict[str, Any]:
    """What ``GET /v1/families`` lists for ``auto``."""
    return {
        "name": AUTO,
        "formula": Stacked.formula,
        "use_when": Stacked.use_when,
        "citation": Stacked.citation,
    }


def fit(
    data: ScalingData,
    spec: FitSpec | str | ScalingLaw | None = None,
    *,
    scales: Scales | None = None,
    thresholds: Thresholds | None = None,
    progress: ProgressFn | None = None,
    cache: CompileCache = COMPILE_CACHE,
    time_limit_s: float | None = None,
    **fields: Unpack[SpecFields],
) -> Fit:
    """Fit ``spec``: a named law (:func:`models.fitting.fit`) or ``"auto"`` (:func:`fit_auto`).

    ``spec`` is a :class:`~models.spec.FitSpec` or a family (registry name, instance, or
    ``"auto"``; default :data:`models.DEFAULT_FAMILY`) with :class:`~models.spec.FitSpec`'s
    fields as keyword arguments; ``scales`` is for a named family only (auto chooses its own).
    """
    spec = as_spec(spec, **fields)
    # only what the caller gave travels on (the callee's defaults stay the callee's)
    run: dict[str, Any] = {
        k: v
        for k, v in (
            ("thresholds", thresholds),
            ("progress", progress),
            ("time_limit_s", time_limit_s),
        )
        if v is not None
    }
    if cache is not COMPILE_CACHE:
        run["cache"] = cache
    if spec.is_auto:
        if scales is not None:
            raise FamilyError("family auto chooses its own reference scales", field="scales")
        return fit_auto(data, spec, **run)
    if scales is not None:
        run["scales"] = scales
    return fitting.fit(data, spec, **run)


def validate(
    data: ScalingData,
    spec: FitSpec | str | ScalingLaw | None = None,
    *,
    thresholds: Thresholds | None = None,
    **fields: Unpack[SpecFields],
) -> tuple[ModelConfig | None, list[FitWarning]]:
    """Everything a fit checks before sampling (raises a ``BayescaleError`` naming the field).

    Returns the resolved config (None for ``auto``: several laws) and the warnings found. For
    ``auto`` the options are refused as in :func:`fit_auto`, and at least one candidate must
    accept the rows (else ``DataError`` naming ``loss``).
    """
    spec = as_spec(spec, **fields)
    if not spec.is_auto:
        return fitting.validate_fit(data, spec, thresholds=thresholds)
    _refuse(spec)
    laws, work, _ = candidates(data)
    reasons = []
    for cand in laws:
        try:
            _, found = fitting.validate_fit(work, cand.spec(spec), thresholds=thresholds)
            return None, found
        except DataError as exc:
            reasons.append(f"{cand.family.key()}: {exc}")
    raise DataError(f"too few rows for every candidate law ({'; '.join(reasons)})", field="loss")


def _refuse(spec: FitSpec) -> None:
    """Options that belong to one named law."""
    if spec.family_options:
        raise FamilyError(
            "family auto chooses among several laws: family_options belong to a named family",
            field="family_options",
        )
    unknown = set(spec.priors or {}) - {"sigma", "nu"}
    if unknown:
        raise FamilyError(
            f"family auto takes noise priors only (sigma, nu), not '{sorted(unknown)[0]}': "
            "priors on a law's parameters need that family named",
            field="priors",
        )
    if isinstance(spec.pooling, Mapping):
        raise FamilyError(
            "family auto takes one pooling word for all parameters, not a per-parameter map",
            field="pooling",
        )
