"""Pydantic request/response schemas (one suffix per role: Request, Response, Spec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Strict(BaseModel):
    """Unknown fields are errors, so a typo never silently drops a value."""

    model_config = ConfigDict(extra="forbid")


class ProjectResponse(BaseModel):
    """A project."""

    id: str
    name: str
    created_at: datetime


class KeyCreateRequest(Strict):
    """A new API key for the project."""

    role: Literal["read", "write", "admin"] = "read"
    name: Annotated[str, StringConstraints(max_length=64)] = ""


class KeyResponse(BaseModel):
    """A key's metadata; ``key`` (the secret) is present only in the creation response."""

    prefix: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
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
    created_at: datetime
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
    label_noise: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    epochs: Annotated[float, Field(ge=1, allow_inf_nan=False)] | None = None
    unique_data: Positive | None = None
    loss: Positive
    group: GroupName | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class ObservationBatchRequest(Strict):
    """A batch appended atomically: every row is valid or nothing is stored."""

    rows: list[ObservationRequest] = Field(min_length=1)


class ObservationResponse(ObservationRequest):
    """A stored observation."""

    model_config = ConfigDict(extra="ignore")
    id: int
    created_at: datetime


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
    tune: int = Field(1000, ge=0)
    chains: int = Field(4, ge=1)
    target_accept: float = Field(0.95, ge=0.5, lt=1)
    seed: int = Field(0, ge=0)


class FilterSpec(Strict):
    """Which observations of the dataset a fit uses."""

    groups: list[GroupName] | None = None
    max: dict[InputName, Positive] | None = Field(None, description="e.g. {'compute': 1e21}")


class FitRequest(Strict):
    """A fit job: dataset, family, hierarchy, priors, sampler; answered 202 with a Location."""

    dataset: str
    family: str = "chinchilla"
    family_options: dict[str, str] = Field(default_factory=dict)
    pooling: str | dict[str, str] | None = None
    priors: dict[str, Any] | None = None
    likelihood: Literal["normal", "student_t"] = "normal"
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    filters: FilterSpec = Field(default_factory=FilterSpec)
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
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class FitsResponse(BaseModel):
    """Fits of a project, newest first."""

    data: list[FitResponse]
    count: int


class PredictRequest(Strict):
    """Points to predict; ``group`` omitted (several groups) means a new architecture."""

    points: list[dict[InputName, Annotated[float, Field(ge=0, allow_inf_nan=False)]]] = Field(
        min_length=1
    )
    group: GroupName | None = None
    probs: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.5, 0.9], min_length=1, max_length=8
    )
    seed: int = Field(0, ge=0)


class PredictResponse(BaseModel):
    """Median, mean-curve and new-run intervals per point, each labelled by region."""

    fit_id: str
    group: str | None
    population: bool
    interval_kind: str
    predictions: list[dict[str, Any]]
