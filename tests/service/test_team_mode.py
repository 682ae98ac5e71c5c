"""Slow tier: the team deployment for real — PostgreSQL, Redis, an API process, two workers.

Processes are started exactly as a deployment starts them (`bayescale migrate`, `bayescale serve`,
`bayescale worker`), and faults are injected from outside: SIGKILL of the worker running a fit,
and an API restart while fits are queued with no worker running.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from tests.service.conftest import drop_redis_namespace, postgres_url, redis_url
from tests.service.deployment import Team, upload_sweep

pytestmark = pytest.mark.slow
LEASE_S = 6


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    base, broker = postgres_url(), redis_url()
    schema = f"bayescale_team_{secrets.token_hex(4)}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    namespace = f"bayescale-team-{secrets.token_hex(4)}"
    tmp = tmp_path_factory.mktemp("team")
    env = os.environ | {
        "BAYESCALE_DATABASE_URL": f"{base}?options=-csearch_path%3D{schema}",
        "BAYESCALE_REDIS_URL": broker,
        "BAYESCALE_REDIS_NAMESPACE": namespace,
        "BAYESCALE_FIT_LEASE_S": str(LEASE_S),
        "BAYESCALE_DATA_DIR": str(tmp / "data"),
    }
    team = Team(env, tmp)
    try:
        team.cli("migrate")
        team.key = team.cli("admin", "create-project", "alpha").split()[-1]
        team.start_api()
        team.start_worker()
        team.start_worker()
        upload_sweep(team)
        yield team
    finally:
        team.stop_workers()
        if team.api is not None:
            team.stop_api()
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
        drop_redis_namespace(broker, namespace)


def test_concurrent_fits_all_succeed_on_both_workers(team):
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda seed: team.submit(seed=seed), range(4)))
    done = [team.wait(fit_id) for fit_id in ids]
    assert [f["status"] for f in done] == ["succeeded"] * 4, done
    assert len({f["worker"] for f in done}) == 2  # the queue spread the work
    assert all(f["attempts"] == 1 for f in done)


def test_worker_killed_mid_fit_and_the_fit_still_succeeds(team):
    fit_id = team.submit(draws=3000, tune=1000, seed=7)
    deadline = time.monotonic() + 120
    while (fit := team.fit(fit_id))["status"] != "running":
        assert time.monotonic() < deadline and fit["status"] == "queued", fit
        time.sleep(0.1)
    victim_pid = int(fit["worker"].rsplit(":", 1)[1])
    victim = next(p for p in team.workers if p.pid == victim_pid)
    os.kill(victim_pid, signal.SIGKILL)
    victim.wait(10)
    team.workers.remove(victim)
    done = team.wait(fit_id)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2 and done["worker"] != fit["worker"]
    team.start_worker()  # back to two for the next test


def test_api_restart_with_queued_jobs_loses_none(team):
    team.stop_workers()
    ids = [team.submit(seed=20 + i) for i in range(2)]
    assert all(team.fit(i)["status"] == "queued" for i in ids)
    team.stop_api(signal.SIGKILL)  # not even a clean shutdown
    team.start_api()
    team.start_worker()
    team.start_worker()
    done = [team.wait(fit_id) for fit_id in ids]
    assert [f["status"] for f in done] == ["succeeded"] * 2, done
