"""300 concurrent requests against a live server on each database: no 5xx, no row lost.

A real uvicorn server (socket, thread pool, connection pool) in this process, on SQLite and on
PostgreSQL, with one succeeded fit (sampler mocked) to predict from. 300 clients fire at once:
keyed and keyless appends, reads and predictions. Before the request slots and the sized pools,
SQLite kept 5 + 10 connections behind a larger thread pool and PostgreSQL 10 + 20: the burst
got 500s (`QueuePool limit ... reached`, `database is locked`) and acknowledged rows went missing.
Each run prints one ``RELIABILITY {...}`` line (BENCHMARKS.md, Reliability).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from service import jobs
from service.config import Settings
from service.main import create_app
from tests.service.conftest import make_project
from tests.service.deployment import free_port
from tests.utils import example_rows, fake_sampler, replace_sampler

# slow tier (CI runs it): a live server and a fit per database, ~1 min idle, ~3 min loaded
pytestmark = pytest.mark.slow
CONCURRENT = 300
P = "/v1/projects/alpha"


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, workers=0)
    else:
        settings = request.getfixturevalue("pg_settings")
    # the queue may wait as long as this shared 2-core machine needs: what is under test is that
    # no request fails on the pool or a lock, not how fast a loaded machine drains 300 requests
    settings = settings.model_copy(update={"rate_limit_per_minute": 0, "max_queue_wait_s": 600})
    replace_sampler(monkeypatch, fake_sampler)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=1024)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    keys = make_project(settings, "alpha")
    url = f"http://127.0.0.1:{port}"
    write = keys.headers("write")
    assert httpx.post(f"{url}{P}/datasets", json={"name": "runs"}, headers=write).is_success
    r = httpx.post(
        f"{url}{P}/datasets/runs/observations", json={"rows": example_rows()}, headers=write
    )
    assert r.status_code == 201, r.text
    fit = {"dataset": "runs", "family": "chinchilla", "sampler": {"draws": 50, "tune": 10}}
    r = httpx.post(f"{url}{P}/fits", json=fit, headers=write)
    assert r.status_code == 202, r.text
    fit_id = jobs.claim(app.state.sessions, "test-worker", lease_s=60)
    jobs.run(app.state.sessions, fit_id, worker="test-worker")
    try:
        yield url, write, fit_id, request.param
    finally:
        server.should_exit = True
        thread.join(30)


def test_300_concurrent_requests_no_5xx_every_acknowledged_row_stored(live):
    url, headers, fit_id, database = live
    stored_before = httpx.get(f"{url}{P}/datasets/runs", headers=headers).json()["observations"]
    start = threading.Barrier(CONCURRENT)

    def one(i: int) -> tuple[str, int]:
        kind = ("keyed", "keyless", "get", "predict")[i % 4]
        row = {"rows": [{"params": 1e9 + i, "data": 2e10, "loss": 2.0, "group": "mamba"}] * 2}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            start.wait()
            if kind == "keyed":
                r = http.post(
                    f"{P}/datasets/runs/observations", json=row, headers={"Idempotency-Key": str(i)}
                )
            elif kind == "keyless":
                r = http.post(f"{P}/datasets/runs/observations", json=row)
            elif kind == "get":
                path = (f"{P}/datasets/runs", f"{P}/fits/{fit_id}", f"{P}/datasets")[i % 3]
                r = http.get(path)
            else:
                points = [{"params": 7e9, "data": 1.4e11}]
                r = http.post(f"{P}/fits/{fit_id}/predict", json={"points": points})
        return kind, r.status_code

    began = time.monotonic()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(pool.map(one, range(CONCURRENT)))
    seconds = time.monotonic() - began
    statuses = Counter(status for _, status in results)
    appended = sum(1 for kind, s in results if kind in ("keyed", "keyless") and s in (200, 201))
    stored = httpx.get(f"{url}{P}/datasets/runs", headers=headers).json()["observations"]
    print(
        "RELIABILITY "
        + json.dumps(
            {
                "test": "concurrent_requests",
                "database": database,
                "requests": CONCURRENT,
                "statuses": dict(statuses),
                "seconds": round(seconds, 1),
                "rows_acknowledged": 2 * appended,
                "rows_stored": stored - stored_before,
            }
        )
    )
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 201}, statuses
    assert stored - stored_before == 2 * appended == CONCURRENT  # half of them append 2 rows


def test_a_50_mb_body_is_refused_before_it_is_read(live):
    """Only the headers are sent: the 413 comes back without the server waiting for the body."""
    url, _, fit_id, _ = live
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {P}/fits/{fit_id}/predict HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * 2**20}\r\n\r\n"
    )
    began = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode())
        answer = s.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "application/problem+json" in answer
    assert time.monotonic() - began < 5
