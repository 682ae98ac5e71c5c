"""A deployment's processes for the slow-tier integration tests, and private servers to fault.

`Team` starts processes exactly as a deployment does (`bayescale migrate`, `serve`, `worker`).
`PrivateRedis` and `PrivatePostgres` are servers of this test run alone, on free ports, so a test
may kill and restart them without disturbing the machine's shared ones (or parallel tests).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

BIN = str(Path(sys.executable).parent / "bayescale")


class Team:
    """The processes of one deployment and how to talk to them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.port = free_port()
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

    def start_api(self, timeout: float = 60) -> None:
        self.api = self._spawn("api", "serve", "--port", str(self.port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.api.poll() is None, "API process exited; see its log"
            time.sleep(0.3)
        raise AssertionError(f"API not ready after {timeout} s")

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

    def submit(self, **sampler: int | None) -> str:
        r = self.request(
            "POST",
            "/v1/projects/alpha/fits",
            json={
                "dataset": "sweep",
                "family": "power_law",
                # the sweep's floor is a ridge (R-hat 2.4 at 2 x 300 draws, 30 % of draws at the
                # maximum tree depth): a deeper-tree rerun would make these fault tests' fits
                # several times longer without testing anything more about faults
                "sampler": {
                    "draws": 300,
                    "tune": 300,
                    "chains": 2,
                    "deeper_tree_depth": None,
                    **sampler,
                },
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def upload_sweep(team: Team) -> None:
    """Dataset ``sweep``: 16 runs of a power law with a 1 % wiggle, enough for a quick fit."""
    sizes = [1e6 * 1.6**i for i in range(16)]
    wiggle = [0.01 * ((7 * i) % 5 - 2) for i in range(16)]
    rows = [
        {"params": n, "loss": (1.5 + 40 * n**-0.3) * (1 + w)}
        for n, w in zip(sizes, wiggle, strict=True)
    ]
    assert team.request("POST", "/v1/projects/alpha/datasets", json={"name": "sweep"}).is_success
    r = team.request("POST", "/v1/projects/alpha/datasets/sweep/observations", json={"rows": rows})
    assert r.status_code == 201, r.text


def _require(binary: str | None, what: str) -> str:
    """The binary, or skip (fail under CI=true, where nothing may be skipped)."""
    if binary is None or not Path(binary).exists():
        message = f"{what} not installed; the fault tests start a private one"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listening on {port} after {timeout} s")


class PrivateRedis:
    """A redis-server of this test alone (no persistence, like the machine's): kill, restart."""

    def __init__(self, workdir: Path) -> None:
        self.binary = _require(shutil.which("redis-server"), "redis-server")
        self.workdir, self.port = workdir, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, *args, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    def kill(self) -> None:
        """SIGKILL: every queued message is gone, as after a crash without persistence."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of this test alone, run as the ``postgres`` user when we are root."""

    def __init__(self) -> None:
        bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
        self.bin = Path(_require(str(bindir) if bindir else None, "PostgreSQL server binaries"))
        # not under pytest's tmp_path: its parents are private to root, and the server runs as
        # the postgres user, who must reach its data directory and socket
        self.workdir, self.port = Path(tempfile.mkdtemp(prefix="bayescale-pg-")), free_port()
        self.data = self.workdir / "pgdata"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_user:
            shutil.chown(self.workdir, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, str(self.bin / tool), *args], capture_output=True, timeout=120
        )
        assert done.returncode == 0, f"{tool} failed: {done.stderr.decode()}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.workdir / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown; ``immediate``: a crash (recovery from the WAL on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop (if running) and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)
