"""Transactions are atomic on both databases: a batch record never outlives its rows.

SQLite under pysqlite's legacy transaction handling opened no transaction before a SAVEPOINT, so
the idempotency batch written in `session.begin_nested()` was committed by its RELEASE, and a
failure of the row insert that followed left a batch without rows (its key then replayed as
`first_id: null`, the rows lost for good).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service import admin, store
from service.config import Settings
from service.db import session_factory, transaction
from service.tables import Batch, Observation, Project


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, workers=0)
    else:
        settings = request.getfixturevalue("pg_settings")
    engine = admin.open_engine(settings)
    admin.create_project(engine, "alpha")
    with transaction(session_factory(engine)) as session:
        project = session.scalars(select(Project)).one()
        store.create_dataset(session, project, "runs", "")
    yield engine
    engine.dispose()


def stored(engine) -> tuple[int, int]:
    with session_factory(engine)() as session:
        batches = session.scalar(select(func.count()).select_from(Batch))
        rows = session.scalar(select(func.count()).select_from(Observation))
    return int(batches or 0), int(rows or 0)


def test_a_failed_row_insert_rolls_the_batch_back(engine):
    # loss is NOT NULL: the row insert fails after the batch's savepoint was released
    rows = [{"params": 1e8, "loss": 2.0}, {"params": 2e8, "loss": None}]
    with pytest.raises(IntegrityError):
        with transaction(session_factory(engine)) as session:
            project = session.scalars(select(Project)).one()
            dataset = store.get_dataset(session, project, "runs")
            store.append_observations(
                session, dataset, rows, idempotency_key="k1", request_digest="d"
            )
    assert stored(engine) == (0, 0)
