"""Pydantic request/response schemas (one suffix per role: Request, Response, Spec)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
# models.DEFAULT_MAX_PER_RUN, repeated: the client imports these schemas without numpy or models
# (tests/service/test_runs_api.py checks that the two agree)
DEFAULT_MAX_PER_RUN = 30
# A training run's name (its checkpoints share a run effect); strict: 7 is not the run "7" in JSON
RunName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), Field(strict=True)
]
# strict: JSON true or "1e9" is not a number (lax pydantic would store true as 1.0)
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]


def _utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite returns them without an offset, which RFC 3339 requires."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]


class Strict(BaseModel):
    """Unknown fields are errors, so a typo never silently drops a value."""

    model_config = ConfigDict(extra="forbid")


class ProblemResponse(BaseModel):
    """An error (RFC 9457 problem details, ``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="the parameter, field or header at fault")
    errors: list[dict[str, Any]] | None = Field(None, description="each invalid field or row")


class ProjectResponse(BaseModel):
    """A project."""

    id: str
    name: str
    created_at: Timestamp


class ProjectCreateRequest(Strict):
    """A new project (``POST /v1/projects`` with the server's admin token)."""

    name: Annotated[Name, StringConstraints(max_length=64)]


class ProjectCreatedResponse(ProjectResponse):
    """A new project with its first admin key (the secret, shown this once)."""

    key: str


class KeyCreateRequest(Strict):
    """A new API key for the project."""

    role: Literal["read", "write", "admin"] = "read"
    name: Annotated[str, StringConstraints(max_length=64)] = ""


class KeyResponse(BaseModel):
    """A key's metadata; ``key`` (the secret) is present only in the creation response."""

    prefix: str
    role: str
    name: str
    created_at: Timestamp
    revoked_at: Timestamp | None = None
    key: str | None = None


class DatasetCreateRequest(Strict):
    """A dataset: a named set of observations."""

    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class DatasetResponse(BaseModel):
    """A dataset with its size."""

    id: str
    name: str
    description: str
    created_at: Timestamp
    observations: int


class DatasetsResponse(BaseModel):
    """Datasets of a project."""

    data: list[DatasetResponse]
    count: int


class ObservationRequest(Strict):
    """One run: canonical inputs (each optional, the family decides which it needs), loss, group."""

    params: Positive | None = None
    data: Positive | None = None
    steps: Positive | None = None
    compute: Positive | None = None
    label_noise: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False, strict=True)] | None = None
    epochs: Annotated[float, Field(ge=1, allow_inf_nan=False, strict=True)] | None = None
    unique_data: Positive | None = None
    loss: Positive
    group: GroupName | None = None
    run: RunName | None = Field(
        None, description="training run of this checkpoint; omitted: a run of its own"
    )
    meta: dict[str, Any] = Field(default_factory=dict)


class ObservationBatchRequest(Strict):
    """A batch appended atomically: every row is valid or nothing is stored."""

    rows: list[ObservationRequest] = Field(min_length=1)


class ObservationResponse(ObservationRequest):
    """A stored observation."""

    model_config = ConfigDict(extra="ignore")
    id: int
    created_at: Timestamp


class ObservationPage(BaseModel):
    """A page of observations, oldest first; pass ``next_after`` as ``after`` for the next."""

    data: list[ObservationResponse]
    next_after: int | None


class BatchResponse(BaseModel):
    """The result of an append; ``replayed`` is true when an idempotency key matched."""

    batch_id: int
    rows: int
    first_id: int | None
    last_id: int | None
    replayed: bool = False


class FamilyResponse(BaseModel):
    """A scaling-law family as ``bayescale families --json`` shows it."""

    model_config = ConfigDict(extra="allow")
    name: str
    formula: str
    inputs: list[str]


InputName = Literal["params", "data", "steps", "compute", "label_noise", "epochs", "unique_data"]


class SamplerSpec(Strict):
    """NUTS settings of a fit, bounded by the server's limits."""

    draws: int = Field(1000, ge=10)
    tune: int = Field(1000, ge=1)
    chains: int = Field(4, ge=1)
    target_accept: float = Field(0.95, ge=0.5, lt=1)
    seed: int = Field(0, ge=0)
    init: Literal["multistart", "jitter"] = Field(
        "multistart",
        description="chain starts: local optima reached from prior draws (multistart) or "
        "nutpie's jittered support point (jitter)",
    )
    max_draws: int | None = Field(
        4000,
        ge=10,
        description="a fit short of convergence only on R-hat or ESS (no divergence, no chain "
        "in a minor mode) is sampled again with more draws per chain, at most this many; "
        "null, or not above draws: never",
    )
    max_tree_depth: int = Field(
        10, ge=1, le=15, description="NUTS trajectories end after 2**max_tree_depth steps"
    )
    deeper_tree_depth: int | None = Field(
        13,
        ge=1,
        le=15,
        description="a fit that misses convergence while its trajectories stop at "
        "max_tree_depth is sampled again with this maximum depth; null, or not above "
        "max_tree_depth: never",
    )
    careful_target_accept: float | None = Field(
        0.99,
        ge=0.5,
        lt=1,
        description="a fit that misses convergence with divergent transitions is sampled "
        "again with this target acceptance (smaller steps); null, or not above target_accept: "
        "never",
    )
    centring: Literal["auto", "non_centred"] = Field(
        "auto",
        description="how each partially pooled parameter's groups are sampled: centred as far "
        "as their own rows pin them (auto), or as offsets scaled by the population spread "
        "(non_centred)",
    )
    non_centred_rerun: bool = Field(
        True,
        description="a fit that misses convergence with a low energy BFMI (a funnel) while "
        "groups were partially centred is sampled again non-centred; false: never",
    )


class FilterSpec(Strict):
    """Which observations of the dataset a fit uses."""

    groups: list[GroupName] | None = None
    max: dict[InputName, Positive] | None = Field(None, description="e.g. {'compute': 1e21}")


class HoldoutSpec(Strict):
    """A backtest split: fit on part of the snapshot, score the predictions of the rest.

    ``below``: rows with every named input <= its threshold train, the rest test. ``fraction``:
    per group, the first fraction of rows ordered by ``by`` (default the family's first input)
    train. Exactly one of the two.
    """

    below: dict[InputName, Positive] | None = Field(None, min_length=1, max_length=7)
    fraction: float | None = Field(None, gt=0, lt=1)
    by: InputName | None = None

    @model_validator(mode="after")
    def _one_split(self) -> Self:
        if (self.below is None) == (self.fraction is None):
            raise ValueError("give exactly one of below or fraction")
        if self.by is not None and self.fraction is None:
            raise ValueError("by orders a fraction split; below needs no ordering")
        return self


class FitRequest(Strict):
    """A fit job: dataset, family, hierarchy, priors, sampler; answered 202 with a Location."""

    dataset: str
    family: str | None = Field(
        None,
        description='a registry family, or "auto": candidate laws weighted by leave-future-out '
        "stacking (the result's stacking report names them, with weights and scores); "
        "default: the server's (auto)",
    )
    family_options: dict[str, str] = Field(default_factory=dict)
    pooling: str | dict[str, str] | None = None
    priors: dict[str, Any] | None = None
    likelihood: Literal["normal", "student_t"] | None = Field(
        None, description="noise on log loss; default: the server's (student_t)"
    )
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    filters: FilterSpec = Field(default_factory=FilterSpec)
    holdout: HoldoutSpec | None = Field(
        None, description="backtest: fit part of the data, score the rest (GET shows backtest)"
    )
    max_per_run: int | None = Field(
        DEFAULT_MAX_PER_RUN,
        ge=2,
        strict=True,
        description="thin each run to at most this many log-spaced checkpoints; null: keep all "
        "(diagnostics.thinning reports what was kept)",
    )
    name: Annotated[str, StringConstraints(max_length=128)] = ""
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=32
    )


class FitResponse(BaseModel):
    """A fit's state and, once it succeeded, its parameter summaries and diagnostics."""

    id: str
    dataset_id: str
    name: str
    tags: list[str]
    family: str
    spec: dict[str, Any]
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    attempts: int
    worker: str | None = Field(None, description="host:pid of the worker that ran it last")
    n_observations: int
    watermark: int
    error: dict[str, Any] | None = None
    converged: bool | None = None
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    parameters: list[dict[str, Any]] | None = None
    diagnostics: dict[str, Any] | None = None
    backtest: dict[str, Any] | None = Field(
        None, description="scores of the held-out runs (fits submitted with a holdout)"
    )
    stacking: dict[str, Any] | None = Field(
        None,
        description='family "auto": every candidate law with its weight (and the 90 % '
        "Bayesian-bootstrap interval of its stacking weight), leave-future-out score, "
        "discrepancy and diagnostics; the laws left out with a reason",
    )
    created_at: Timestamp
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None


class FitsResponse(BaseModel):
    """Fits of a project, newest first."""

    data: list[FitResponse]
    count: int


Probs = Annotated[list[Annotated[float, Field(gt=0, lt=1)]], Field(min_length=1, max_length=8)]
InputValue = Annotated[float, Field(ge=0, allow_inf_nan=False)]
InputPoint = dict[InputName, InputValue]


class GroupQuery(Strict):
    """What every question to a fit shares: which group, interval levels, seed."""

    group: GroupName | None = None
    new_group: bool = Field(
        False,
        description="treat a group name the fit has not seen as a new group from the "
        "population; without it an unseen name is a 422 naming group",
    )
    probs: Probs = Field(default_factory=lambda: [0.5, 0.9])
    seed: int = Field(0, ge=0)


class PredictRequest(GroupQuery):
    """Points to predict; ``group`` omitted (several groups) means a new architecture."""

    points: list[InputPoint] = Field(min_length=1)


class PredictResponse(BaseModel):
    """Median, mean-curve and new-run intervals per point, each labelled by region."""

    fit_id: str
    group: str | None
    population: bool
    interval_kind: str
    warnings: list[str] = Field(
        default_factory=list,
        description="e.g. points more than 3 decades beyond the data (each point also carries "
        "decades_beyond; intervals widen with it)",
    )
    predictions: list[dict[str, Any]]


class PeakRequest(GroupQuery):
    """Where the fitted curve peaks along ``axis`` with the other inputs held at ``at``."""

    axis: InputName = Field(description="the input swept, e.g. params for a model-wise peak")
    at: InputPoint = Field(default_factory=dict, description="values of the family's other inputs")
    bracket: tuple[Positive, Positive] | None = Field(
        None,
        description="(low, high) of axis to search, low < high (the library checks the order); "
        "default the observed range",
    )


class PeakResponse(BaseModel):
    """Posterior of the location of the curve's maximum (draws without one are counted)."""

    fit_id: str
    axis: str
    at: dict[str, float]
    group: str | None
    population: bool
    bracket: list[float]
    probability: float = Field(description="share of draws whose curve peaks inside the bracket")
    median: float | None
    intervals: dict[str, list[float] | None]
    draws: int


# -- planning --------------------------------------------------------------------------------------

# Bounds on the work one planning request may ask for (each budget, size or candidate costs a
# grid of curve evaluations over every posterior draw).
MAX_BUDGETS = 64
MAX_SIZES = 64
MAX_CANDIDATES = 64
MAX_OUTCOMES = 512


def _listed(value: Any) -> Any:
    """One value stands for a list of one, so ``2.0`` and ``[2.0, 2.1]`` both validate."""
    return value if isinstance(value, list) else [value]


Targets = Annotated[list[Positive], BeforeValidator(_listed), Field(min_length=1)]


class AllocationRequest(Strict):
    """What the allocation questions share: FLOPs per parameter-token and the constraints.

    ``C = k N D``; ``max_*`` cap N and D, ``fixed_*`` pin one (at most one), ``unique_data``
    is the unique tokens available, ``tokens_per_step`` converts steps to tokens for families
    counted in steps; ``inputs`` holds any other input the family needs fixed.
    """

    k: Positive = 6.0
    max_params: Positive | None = None
    max_data: Positive | None = None
    fixed_params: Positive | None = None
    fixed_data: Positive | None = None
    unique_data: Positive | None = None
    tokens_per_step: Positive | None = None
    inputs: InputPoint | None = None
    probs: Probs = Field(default_factory=lambda: [0.5, 0.9])
    seed: int = Field(0, ge=0)

    def allocation_kwargs(self) -> dict[str, Any]:
        """These fields as keyword arguments of the ``models.planning`` functions."""
        return self.model_dump(include=set(AllocationRequest.model_fields))


class PlanRequest(AllocationRequest):
    """Budgets to allocate, and/or a target loss to reach with probability ``q``."""

    budgets: list[Positive] = Field(default_factory=list, max_length=MAX_BUDGETS)
    target: Positive | None = None
    q: float = Field(0.9, gt=0, lt=1)
    new_run: bool = True
    group: GroupName | None = None


class PlanResponse(BaseModel):
    """``models.compute_optimal``'s plan per budget (+ ``compute_for_target`` with a target)."""

    fit_id: str
    family: str
    group: str | None
    population: bool
    k: float
    probs: list[float]
    constraints: dict[str, float | None]
    exponents: dict[str, Any]
    budgets: list[dict[str, Any]]
    target_compute: dict[str, Any] | None = None


class CompareRequest(AllocationRequest):
    """Two groups (omitted: a new architecture) at one budget, each allocated optimally."""

    a: GroupName | None = None
    b: GroupName | None = None
    budget: Positive


class CompareResponse(BaseModel):
    """``probability`` = P(L*_a < L*_b) at the budget (ties count one half)."""

    fit_id: str
    a: str | None
    b: str | None
    budget: float
    probability: float
    loss_a: dict[str, Any]
    loss_b: dict[str, Any]
    difference: dict[str, Any]
    params_a: dict[str, Any]
    params_b: dict[str, Any]


class ProbabilityRequest(Strict):
    """Points and a target loss (one, or one per point)."""

    points: list[InputPoint] = Field(min_length=1)
    target: Targets = Field(description="one loss, or one per point")
    group: GroupName | None = None
    new_run: bool = True
    seed: int = Field(0, ge=0)


class ProbabilityResponse(BaseModel):
    """``P(L < target)`` per point (a new run's loss, or the mean curve's)."""

    fit_id: str
    group: str | None
    population: bool
    new_run: bool
    points: list[dict[str, Any]]


class TradeoffRequest(Strict):
    """The iso-loss curve of a ``scale_time`` fit: steps each size needs for ``target``."""

    target: Positive
    params_grid: list[Positive] | None = Field(None, min_length=1, max_length=MAX_SIZES)
    tokens_per_step: Positive = 1.0
    k: Positive = 6.0
    group: GroupName | None = None
    inputs: InputPoint | None = None
    probs: Probs = Field(default_factory=lambda: [0.5, 0.9])
    seed: int = Field(0, ge=0)


class TradeoffResponse(BaseModel):
    """Steps and cost per size, the cheapest size, and whether it sits at the grid's edge."""

    fit_id: str
    target: float
    group: str | None
    population: bool
    cost_model: str
    sizes: list[dict[str, Any]]
    cheapest: dict[str, Any]
    cheapest_params: dict[str, Any]
    at_edge: bool


class SuggestRequest(Strict):
    """Candidate runs (inputs, optional ``cost``) ranked for the prediction at ``target``."""

    candidates: list[dict[InputName | Literal["cost"], InputValue]] = Field(
        min_length=1, max_length=MAX_CANDIDATES
    )
    target: InputPoint
    group: GroupName | None = None
    k: Positive = 6.0
    n_outcomes: int = Field(64, ge=1, le=MAX_OUTCOMES)
    probs: Probs = Field(default_factory=lambda: [0.9])
    seed: int = Field(0, ge=0)


class SuggestResponse(BaseModel):
    """Candidates best first by expected variance reduction of the target's log loss per cost."""

    fit_id: str
    target: dict[str, float]
    group: str | None
    population: bool
    current_variance: float | None = Field(description="null when not finite")
    current_width: dict[str, float | None]
    n_outcomes: int
    candidates: list[dict[str, Any]]
