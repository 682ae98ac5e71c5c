"""Slow tier: the team deployment for real — PostgreSQL, Redis, an API process, two workers.

Processes are started exactly as a deployment starts them (`bayescale migrate`, `bayescale serve`,
`bayescale worker`), and faults are injected from outside: SIGKILL of the worker running a fit,
and an API restart while fits are queued with no worker running.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.service.conftest import drop_redis_namespace, postgres_url, redis_url

pytestmark = pytest.mark.slow
BIN = str(Path(sys.executable).parent / "bayescale")
LEASE_S = 6


class Team:
    """The processes of one deployment and how to talk to them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.key = ""

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [BIN, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}-{time.monotonic_ns()}.log", "wb") as log:
            return subprocess.Popen([BIN, *args], env=self.env, stdout=log, stderr=log)

    def start_api(self) -> None:
        self.api = self._spawn("api", "serve", "--port", str(self.port))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.api.poll() is None, "API process exited; see its log"
            time.sleep(0.3)
        raise AssertionError("API not ready after 60 s")

    def stop_api(self, sig: int = signal.SIGTERM) -> None:
        assert self.api is not None
        self.api.send_signal(sig)
        self.api.wait(30)
        self.api = None

    def start_worker(self) -> subprocess.Popen[bytes]:
        process = self._spawn("worker", "worker")
        self.workers.append(process)
        return process

    def stop_workers(self) -> None:
        for process in self.workers:
            process.terminate()
        for process in self.workers:
            process.wait(30)
        self.workers.clear()

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def submit(self, **sampler: int) -> str:
        r = self.request(
            "POST",
            "/v1/projects/alpha/fits",
            json={
                "dataset": "sweep",
                "family": "power_law",
                "sampler": {"draws": 300, "tune": 300, "chains": 2, **sampler},
            },
        )
        assert r.status_code == 202, r.text
        return str(r.json()["id"])

    def fit(self, fit_id: str) -> dict:
        return self.request("GET", f"/v1/projects/alpha/fits/{fit_id}").json()

    def wait(self, fit_id: str, timeout: float = 400) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fit = self.fit(fit_id)
            if fit["status"] in ("succeeded", "failed"):
                return fit
            time.sleep(0.5)
        raise AssertionError(f"fit {fit_id} not finished after {timeout} s: {fit}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        sizes = [1e6 * 1.6**i for i in range(16)]
        wiggle = [0.01 * ((7 * i) % 5 - 2) for i in range(16)]
        rows = [
            {"params": n, "loss": (1.5 + 40 * n**-0.3) * (1 + w)}
            for n, w in zip(sizes, wiggle, strict=True)
        ]
        assert team.request(
            "POST", "/v1/projects/alpha/datasets", json={"name": "sweep"}
        ).is_success
        r = team.request(
            "POST", "/v1/projects/alpha/datasets/sweep/observations", json={"rows": rows}
        )
        assert r.status_code == 201, r.text
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
