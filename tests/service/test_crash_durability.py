"""Slow tier: `kill -9` of a real `bayescale serve` during keyed appends loses no acknowledged row.

Four clients append two-row batches with idempotency keys to a real server process on SQLite
(WAL, synchronous=FULL) and on PostgreSQL; the server is killed with SIGKILL mid-stream and
restarted. Afterwards every acknowledged (2xx) batch is stored with all its rows, no batch exists
without its rows, and retrying every key (acknowledged or cut off) answers with stored rows.
Each run prints one ``RELIABILITY {...}`` line (BENCHMARKS.md, Reliability).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from service.tables import Batch, Observation
from tests.service.conftest import postgres_schema
from tests.service.deployment import Team

pytestmark = pytest.mark.slow
CLIENTS, PER_CLIENT = 4, 100  # at most 400 requests, on loopback
PATH = "/v1/projects/alpha/datasets/runs/observations"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'bayescale.db'}"
        return
    with postgres_schema("bayescale_crash") as url:
        yield url


def body(c: int, i: int) -> dict:
    return {"rows": [{"params": 1e9 + 1000 * c + i, "loss": 2.0, "group": g} for g in "ab"]}


def test_kill_9_during_keyed_appends_keeps_every_acknowledged_row(database_url, tmp_path):
    env = os.environ | {
        "BAYESCALE_DATABASE_URL": database_url,
        "BAYESCALE_DATA_DIR": str(tmp_path / "data"),
        "BAYESCALE_RATE_LIMIT_PER_MINUTE": "0",
        "BAYESCALE_WORKERS": "0",
    }
    team = Team(env, tmp_path)
    team.cli("migrate")
    team.key = team.cli("admin", "create-project", "alpha").split()[-1]
    team.start_api(timeout=240)  # a cold start imports PyMC: slow on a loaded machine
    try:
        assert team.request("POST", "/v1/projects/alpha/datasets", json={"name": "runs"}).is_success
        acked: set[tuple[int, int]] = set()
        lock, killed = threading.Lock(), threading.Event()

        def client(c: int) -> None:
            with httpx.Client(
                base_url=team.url, headers={"Authorization": f"Bearer {team.key}"}, timeout=10
            ) as http:
                for i in range(PER_CLIENT):
                    try:
                        r = http.post(
                            PATH, json=body(c, i), headers={"Idempotency-Key": f"{c}-{i}"}
                        )
                    except httpx.TransportError:
                        return  # the server is gone: this request and the rest are unacknowledged
                    assert r.status_code == 201, r.text
                    with lock:
                        acked.add((c, i))
                    if killed.is_set():
                        return

        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(client, c) for c in range(CLIENTS)]
            deadline = time.monotonic() + 60
            while len(acked) < CLIENTS * PER_CLIENT // 3:  # kill a third of the way through
                assert time.monotonic() < deadline and not any(f.done() for f in futures)
                time.sleep(0.01)
            team.stop_api(signal.SIGKILL)
            killed.set()
            for future in futures:
                future.result()

        team.start_api(timeout=240)  # a cold start imports PyMC: slow on a loaded machine
        engine = create_engine(database_url)
        try:
            with engine.connect() as connection:
                per_batch = dict(
                    connection.execute(
                        select(Batch.idempotency_key, func.count(Observation.id))
                        .outerjoin(Observation, Observation.batch_id == Batch.id)
                        .group_by(Batch.id, Batch.idempotency_key)
                    ).all()
                )
        finally:
            engine.dispose()
        assert all(n == 2 for n in per_batch.values()), "a batch without (all) its rows"
        assert {f"{c}-{i}" for c, i in acked} <= set(per_batch)
        # every key, cut off or not, now either replays its stored rows or stores them
        retried = {}
        with httpx.Client(
            base_url=team.url, headers={"Authorization": f"Bearer {team.key}"}, timeout=30
        ) as http:
            for c in range(CLIENTS):
                for i in range(PER_CLIENT):
                    key = {"Idempotency-Key": f"{c}-{i}"}
                    r = http.post(PATH, json=body(c, i), headers=key)
                    assert r.status_code in (200, 201), r.text
                    assert r.json()["first_id"] is not None and r.json()["rows"] == 2
                    retried[(c, i)] = r.status_code
        assert all(retried[k] == 200 for k in acked)
        stored = team.request("GET", "/v1/projects/alpha/datasets/runs").json()["observations"]
        assert stored == 2 * CLIENTS * PER_CLIENT
    finally:
        if team.api is not None:
            team.stop_api()
    print(
        "RELIABILITY "
        + json.dumps(
            {
                "test": "kill_9_during_keyed_appends",
                "database": database_url.split(":", 1)[0].split("+")[0],
                "acknowledged_batches": len(acked),
                "stored_batches_after_crash": len(per_batch),
                "batches_without_rows": sum(n != 2 for n in per_batch.values()),
                "acknowledged_lost": len({f"{c}-{i}" for c, i in acked} - set(per_batch)),
            }
        )
    )
