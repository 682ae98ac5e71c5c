"""Dramatiq mode against the machine's real Redis: enqueue after commit, the actor, the sweeper.

Sampling is mocked (fast tier); the slow tier runs real worker processes (test_team_mode.py).
"""

from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from dramatiq import Worker
from fastapi.testclient import TestClient
from sqlalchemy import update

from service import jobs
from service.config import Settings
from service.main import create_app
from service.queue import QUEUE, FitQueue
from service.tables import FitJob, now
from tests.service.conftest import drop_redis_namespace, make_project, redis_url
from tests.utils import example_rows, prior_trace, replace_sampler


@pytest.fixture
def queue_settings(tmp_path):
    url = redis_url()
    namespace = f"bayescale-test-{secrets.token_hex(4)}"
    yield Settings(
        data_dir=tmp_path, redis_url=url, redis_namespace=namespace, fit_lease_s=4.0, workers=0
    )
    drop_redis_namespace(url, namespace)


@pytest.fixture
def mocked(monkeypatch):
    def fake(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        return prior_trace(config, md, chains=settings.chains, draws=settings.draws, seed=1)

    replace_sampler(monkeypatch, fake)


@contextmanager
def started(settings):
    """A client of the app on ``settings`` with project alpha holding the example's runs."""
    keys = make_project(settings, "alpha")
    with TestClient(create_app(settings)) as client:
        h = keys.headers("write")
        client.post("/v1/projects/alpha/datasets", json={"name": "runs"}, headers=h)
        client.post(
            "/v1/projects/alpha/datasets/runs/observations",
            json={"rows": example_rows()},
            headers=h,
        )
        yield client, keys


def submit(client, keys):
    r = client.post(
        "/v1/projects/alpha/fits",
        json={"dataset": "runs", "family": "chinchilla", "sampler": {"draws": 40, "tune": 10}},
        headers=keys.headers("write"),
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def pending(queue: FitQueue) -> int:
    return int(queue.broker.client.llen(f"{queue.settings.redis_namespace}:{QUEUE}"))


def test_submit_enqueues_after_commit_and_a_worker_runs_it(queue_settings, mocked):
    with started(queue_settings) as (client, keys):
        queue = FitQueue(queue_settings, client.app.state.sessions)
        fit_id = submit(client, keys)
        assert pending(queue) == 1
        with client.app.state.sessions() as session:
            assert session.get(FitJob, fit_id).enqueued_at is not None
        worker = Worker(queue.broker, worker_threads=1, worker_timeout=100)
        worker.start()
        try:
            queue.broker.join(QUEUE, timeout=30_000)
        finally:
            worker.stop()
        done = client.get(f"/v1/projects/alpha/fits/{fit_id}", headers=keys.headers("read"))
        assert done.json()["status"] == "succeeded", done.json()
        assert client.get("/ready").json()["checks"] == {"database": "ok", "queue": "ok"}


def test_duplicate_message_for_a_finished_fit_is_a_no_op(queue_settings, mocked):
    with started(queue_settings) as (client, keys):
        queue = FitQueue(queue_settings, client.app.state.sessions)
        fit_id = submit(client, keys)
        queue._run(fit_id)
        queue._run(fit_id)  # redelivered after success: claim refuses, nothing reruns
        with client.app.state.sessions() as session:
            job = session.get(FitJob, fit_id)
            assert job.status == "succeeded" and job.attempts == 1


def test_sweeper_resends_lost_and_orphaned_fits_once(queue_settings, mocked):
    with started(queue_settings) as (client, keys):
        sessions = client.app.state.sessions
        queue = FitQueue(queue_settings, sessions)
        lost, orphan, fresh = submit(client, keys), submit(client, keys), submit(client, keys)
        queue.broker.flush_all()  # Redis lost every message (restarted without persistence)
        old = now() - timedelta(seconds=30)
        with sessions() as session, session.begin():
            session.execute(
                update(FitJob)
                .where(FitJob.id.in_([lost, orphan]))
                .values(created_at=old, enqueued_at=None)
            )
            session.execute(
                update(FitJob)
                .where(FitJob.id == orphan)
                .values(status="running", worker="dead:1", heartbeat_at=old)
            )
            session.execute(update(FitJob).where(FitJob.id == fresh).values(enqueued_at=now()))
        assert sorted(queue.sweep()) == sorted([lost, orphan])
        assert queue.sweep() == []  # already re-sent: no message storm while workers are busy
        assert pending(queue) == 2
        for fit_id in (lost, orphan):
            queue._run(fit_id)
        with sessions() as session:
            assert session.get(FitJob, orphan).attempts == 1
            for fit_id in (lost, orphan):
                assert session.get(FitJob, fit_id).status == "succeeded"
            assert session.get(FitJob, fresh).status == "queued"


def test_live_worker_keeps_its_fit(queue_settings, mocked):
    with started(queue_settings) as (client, keys):
        sessions = client.app.state.sessions
        queue = FitQueue(queue_settings, sessions)
        fit_id = submit(client, keys)
        with sessions() as session, session.begin():
            session.execute(
                update(FitJob)
                .where(FitJob.id == fit_id)
                .values(status="running", worker="alive:1", heartbeat_at=now())
            )
        queue._run(fit_id)  # a duplicate message must not start a second copy
        with sessions() as session:
            job = session.get(FitJob, fit_id)
            assert job.status == "running" and job.worker == "alive:1"


def test_redis_down_still_accepts_fits_and_ready_says_so(tmp_path, mocked):
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", workers=0)
    with started(settings) as (client, keys):
        fit_id = submit(client, keys)  # stored; a worker's sweeper sends it once Redis is back
        with client.app.state.sessions() as session:
            job = session.get(FitJob, fit_id)
            assert job.status == "queued" and job.enqueued_at is None
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["queue"].startswith("unreachable")


def test_worker_stops_on_event(queue_settings, mocked):
    """run_worker returns promptly when asked to stop (SIGTERM sets the same event)."""
    from service.queue import run_worker

    make_project(queue_settings, "alpha")  # migrates the SQLite file
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(queue_settings,), kwargs={"stop": stop})
    thread.start()
    stop.set()
    thread.join(15)
    assert not thread.is_alive()


def test_clean_shutdown_releases_the_running_fit(queue_settings, mocked):
    with started(queue_settings) as (client, keys):
        sessions = client.app.state.sessions
        queue = FitQueue(queue_settings, sessions)
        fit_id = submit(client, keys)
        queue.broker.flush_all()
        assert jobs.claim(sessions, jobs.worker_name(), 60, fit_id=fit_id) == fit_id
        queue.current = fit_id  # as if _run were sampling it when SIGTERM arrived
        queue.release_current()
        with sessions() as session:
            job = session.get(FitJob, fit_id)
            assert job.status == "queued" and job.worker is None
        assert pending(queue) == 1  # re-sent at once, no lease to wait out
        jobs.run(sessions, fit_id, worker=jobs.worker_name())  # the abandoned run cannot store
        with sessions() as session:
            assert session.get(FitJob, fit_id).status == "queued"
        queue._run(fit_id)
        with sessions() as session:
            assert session.get(FitJob, fit_id).status == "succeeded"
