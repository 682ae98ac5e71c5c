"""Write actions shared by the JSON API and the dashboard: appending an upload, queueing a fit.

Both front ends validate their own input format, then call these, so the limits, parsing and
checks are one code path whatever the caller.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from sqlalchemy.orm import Session

import models
from service import fit_store, store
from service.config import Settings
from service.errors import Invalid, TooLarge
from service.parsing import parse_observations
from service.schemas import FitRequest
from service.tables import Batch, FitJob, Project


def append_upload(
    session: Session,
    settings: Settings,
    project: Project,
    dataset: str,
    body: bytes,
    content_type: str,
    *,
    idempotency_key: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[Batch, bool]:
    """Parse, check and append a JSON or CSV batch; returns the batch and whether it replayed.

    ``columns``: field -> CSV column read as it (:func:`service.parsing.csv_columns`).

    Raises
    ------
    TooLarge
        The body or its row count is over the server's limit.
    Invalid
        Any bad row (``errors`` names each row and field); nothing is stored.
    """
    if len(body) > settings.max_body_bytes:
        raise TooLarge(f"body over {settings.max_body_bytes} bytes", field="body")
    rows = parse_observations(body, content_type, columns)
    if len(rows) > settings.max_batch_rows:
        raise TooLarge(
            f"{len(rows)} rows exceed the batch limit of {settings.max_batch_rows}", field="rows"
        )
    store.check_rows(rows)
    target = store.get_dataset(session, project, dataset)
    # the parsed rows, canonically serialised: a retry of the same data written with other
    # whitespace, key order or number spelling is a replay, not a conflicting request
    canonical = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return store.append_observations(
        session, target, rows, idempotency_key=idempotency_key, request_digest=digest
    )


def queue_fit(session: Session, settings: Settings, project: Project, body: FitRequest) -> FitJob:
    """Check the request against the server's sampler limits and the data, then queue it.

    The caller commits and then enqueues the job (a fast worker must find the row).
    """
    for name, limit in (
        ("draws", settings.max_draws),
        ("tune", settings.max_tune),
        ("chains", settings.max_chains),
    ):
        if getattr(body.sampler, name) > limit:
            raise Invalid(
                f"sampler.{name} exceeds the server limit {limit}", field=f"sampler.{name}"
            )
    longest = body.sampler.max_draws
    if longest is not None and longest > settings.max_draws:
        if "max_draws" in body.sampler.model_fields_set:
            raise Invalid(
                f"sampler.max_draws exceeds the server limit {settings.max_draws}",
                field="sampler.max_draws",
            )
        # the default cap, on a server whose draws limit is lower: the server's limit caps it
        sampler = body.sampler.model_copy(update={"max_draws": settings.max_draws})
        body = body.model_copy(update={"sampler": sampler})
    try:  # the sampler's own range checks (the seed's bound is nutpie's), now rather than at run
        models.SamplerSettings(**body.sampler.model_dump())
    except models.SettingsError as exc:
        field = f"sampler.{exc.field}" if exc.field else "sampler"
        raise Invalid(f"{field}: {exc.message}", field=field) from None
    dataset = store.get_dataset(session, project, body.dataset)
    holdout = None if body.holdout is None else body.holdout.model_dump(exclude_none=True)
    return fit_store.submit(
        session,
        project,
        dataset,
        fit_spec(body),
        filters=body.filters.model_dump(),
        holdout=holdout,
        name=body.name,
        tags=body.tags,
    )


def fit_spec(body: FitRequest) -> models.FitSpec:
    """The :class:`models.FitSpec` of a fit request (the family defaults to the models' own)."""
    return models.FitSpec(
        family=body.family or models.DEFAULT_FAMILY,
        family_options=body.family_options,
        pooling=body.pooling,
        priors=body.priors,
        likelihood=body.likelihood or models.DEFAULT_LIKELIHOOD,
        settings=models.SamplerSettings(**body.sampler.model_dump()),
        max_per_run=body.max_per_run,
    )
