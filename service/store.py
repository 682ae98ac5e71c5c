"""Data access: projects, keys, datasets, observations. Routes call these; no HTTP here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import security, sessions
from service.errors import Conflict, Invalid, NotFound
from service.tables import ApiKey, Batch, Dataset, Observation, Project, now

INPUT_COLUMNS = ("params", "data", "steps", "compute", "label_noise", "epochs", "unique_data")


def create_project(session: Session, name: str) -> tuple[Project, str]:
    """Create a project and its first admin key (returned once, stored hashed)."""
    if session.scalar(select(Project).where(Project.name == name)) is not None:
        raise Conflict(f"project '{name}' exists", field="name")
    project = Project(name=name)
    session.add(project)
    session.flush()
    key, _ = create_key(session, project, "admin", "first admin key")
    return project, key


def create_key(session: Session, project: Project, role: str, name: str = "") -> tuple[str, ApiKey]:
    """Create a key with ``role``; the secret is returned once, with the stored row."""
    key, prefix, digest = security.new_key()
    row = ApiKey(project_id=project.id, prefix=prefix, digest=digest, role=role, name=name)
    session.add(row)
    session.flush()
    return key, row


def list_keys(session: Session, project: Project) -> Sequence[ApiKey]:
    """Keys of a project, newest first (no secrets)."""
    return session.scalars(
        select(ApiKey).where(ApiKey.project_id == project.id).order_by(ApiKey.created_at.desc())
    ).all()


def revoke_key(session: Session, project: Project, prefix: str) -> ApiKey:
    """Revoke a key by its prefix; revoking twice is harmless."""
    key = session.scalar(
        select(ApiKey).where(ApiKey.project_id == project.id, ApiKey.prefix == prefix)
    )
    if key is None:
        raise NotFound(f"no key with prefix '{prefix}'", field="prefix")
    if key.revoked_at is None:
        key.revoked_at = now()
    sessions.close_sessions_of(session, key)  # its dashboard logins end with it
    return key


def authenticate(session: Session, key: str) -> tuple[Project, str] | None:
    """The project and role of a valid, unrevoked key; else None."""
    prefix = security.parse_prefix(key)
    if prefix is None:
        return None
    row = session.execute(
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        security.matches(key, "0" * 64)  # same work whether or not the prefix exists
        return None
    api_key, project = row
    if not security.matches(key, api_key.digest) or api_key.revoked_at is not None:
        return None
    return project, api_key.role


def create_dataset(session: Session, project: Project, name: str, description: str) -> Dataset:
    """Create a dataset; names are unique within a project."""
    if find_dataset(session, project, name, by_name_only=True) is not None:
        raise Conflict(f"dataset '{name}' exists", field="name")
    dataset = Dataset(project_id=project.id, name=name, description=description)
    session.add(dataset)
    session.flush()
    return dataset


def find_dataset(
    session: Session, project: Project, ref: str, *, by_name_only: bool = False
) -> Dataset | None:
    """A dataset of the project by id or name."""
    query = select(Dataset).where(Dataset.project_id == project.id)
    by_name = session.scalar(query.where(Dataset.name == ref))
    if by_name is not None or by_name_only:
        return by_name
    return session.scalar(query.where(Dataset.id == ref))


def get_dataset(session: Session, project: Project, ref: str) -> Dataset:
    """Like :func:`find_dataset` but 404 when absent."""
    dataset = find_dataset(session, project, ref)
    if dataset is None:
        raise NotFound(f"no dataset '{ref}' in this project", field="dataset")
    return dataset


def count_observations(session: Session, dataset_ids: Sequence[str]) -> dict[str, int]:
    """Observation counts per dataset."""
    if not dataset_ids:
        return {}
    rows = session.execute(
        select(Observation.dataset_id, func.count())
        .where(Observation.dataset_id.in_(dataset_ids))
        .group_by(Observation.dataset_id)
    ).all()
    return {str(k): int(v) for k, v in rows}


def list_datasets(session: Session, project: Project) -> Sequence[Dataset]:
    """Datasets of a project, by name."""
    return session.scalars(
        select(Dataset).where(Dataset.project_id == project.id).order_by(Dataset.name)
    ).all()


def append_observations(
    session: Session,
    dataset: Dataset,
    rows: Sequence[dict[str, Any]],
    *,
    idempotency_key: str | None,
    request_digest: str,
) -> tuple[Batch, bool]:
    """Append validated rows atomically; returns the batch and whether it was a replay.

    A retried request with the same idempotency key and the same body returns the original batch
    and stores nothing; the same key with a different body is a 409. Concurrent retries race on
    the unique (dataset, key) constraint, and the loser returns the winner's batch.
    """
    if idempotency_key is not None:
        existing = _batch_for_key(session, dataset, idempotency_key)
        if existing is not None:
            return _replay(existing, request_digest), True
    batch = Batch(
        dataset_id=dataset.id,
        idempotency_key=idempotency_key,
        request_digest=request_digest,
        rows=len(rows),
    )
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        existing = _batch_for_key(session, dataset, idempotency_key or "")
        if existing is None:
            raise
        return _replay(existing, request_digest), True
    objects = [Observation(dataset_id=dataset.id, batch_id=batch.id, **row) for row in rows]
    session.add_all(objects)
    session.flush()
    batch.first_id, batch.last_id = objects[0].id, objects[-1].id
    return batch, False


def _batch_for_key(session: Session, dataset: Dataset, key: str) -> Batch | None:
    return session.scalar(
        select(Batch).where(Batch.dataset_id == dataset.id, Batch.idempotency_key == key)
    )


def _replay(batch: Batch, request_digest: str) -> Batch:
    if batch.request_digest != request_digest:
        raise Conflict(
            "Idempotency-Key was already used for a different request body",
            field="Idempotency-Key",
        )
    return batch


def page_observations(
    session: Session, dataset: Dataset, *, after: int, limit: int
) -> tuple[Sequence[Observation], int | None]:
    """Observations with id > ``after``, oldest first; the cursor for the next page."""
    rows = session.scalars(
        select(Observation)
        .where(Observation.dataset_id == dataset.id, Observation.id > after)
        .order_by(Observation.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def check_rows(rows: Sequence[dict[str, Any]]) -> None:
    """Cross-field checks pydantic cannot see: a row needs at least one input."""
    errors = [
        {"row": i, "field": "params", "message": "a row needs at least one input"}
        for i, row in enumerate(rows)
        if all(row.get(c) is None for c in INPUT_COLUMNS)
    ]
    if errors:
        raise Invalid(f"{len(errors)} invalid row(s); nothing was stored", errors=errors)
