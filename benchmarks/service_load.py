"""HTTP service under load: predict requests/s and latency, fit throughput with 1 vs 2 workers.

Everything runs as a deployment runs it: ``bayescale serve`` (uvicorn, one process) and, for
fit throughput, ``bayescale worker`` processes on the machine's PostgreSQL and Redis. The load
generator is an asyncio httpx client in this process with a fixed number of requests in flight;
it shares the machine's cores with the server, which the figures include.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.common import (
    contention,
    contention_note,
    header,
    process_tree_cpu_seconds,
    table,
    write_json,
)
from models.simulate import example_dataset

BIN = str(Path(sys.executable).parent / "bayescale")
POSTGRES = os.environ.get("BAYESCALE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1/test")
REDIS = os.environ.get("BAYESCALE_TEST_REDIS", "redis://127.0.0.1:6379/0")
FIT_SAMPLER = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 1}


class Deployment:
    """A server and its workers as subprocesses, with an admin key for project 'bench'."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        # the per-key rate limit would cap the load generator (one key): measure the server
        unlimited = {"BAYESCALE_RATE_LIMIT_PER_MINUTE": "0"}
        self.env = (
            {k: v for k, v in os.environ.items() if not k.startswith("BAYESCALE_")}
            | unlimited
            | env
        )
        self.logs = logs
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{s.getsockname()[1]}"
        self.processes: list[subprocess.Popen[bytes]] = []
        subprocess.run([BIN, "migrate"], env=self.env, check=True, capture_output=True)
        out = subprocess.run(
            [BIN, "admin", "create-project", "bench"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.headers = {"Authorization": f"Bearer {out.stdout.split()[-1]}"}
        self.p = f"{self.url}/v1/projects/bench"

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{args[0]}-{len(self.processes)}.log", "wb") as log:
            process = subprocess.Popen([BIN, *args], env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def serve(self) -> None:
        self.spawn("serve", "--port", self.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server not ready; see {self.logs}")

    def upload_example(self) -> None:
        data = example_dataset(0)
        rows = [
            {"params": r.params, "data": r.data, "loss": r.loss, "group": r.group}
            for r in data.to_frame().itertuples()
        ]
        httpx.post(f"{self.p}/datasets", json={"name": "runs"}, headers=self.headers)
        r = httpx.post(
            f"{self.p}/datasets/runs/observations", json={"rows": rows}, headers=self.headers
        )
        r.raise_for_status()

    def submit(self, seed: int) -> str:
        r = httpx.post(
            f"{self.p}/fits",
            json={
                "dataset": "runs",
                "family": "chinchilla",
                "sampler": FIT_SAMPLER | {"seed": seed},
            },
            headers=self.headers,
        )
        r.raise_for_status()
        return str(r.json()["id"])

    def wait(self, ids: list[str], timeout: float = 1800) -> list[dict[str, Any]]:
        deadline, done = time.monotonic() + timeout, {}
        while len(done) < len(ids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"fits not finished after {timeout} s")
            for fit_id in set(ids) - set(done):
                fit = httpx.get(f"{self.p}/fits/{fit_id}", headers=self.headers).json()
                if fit["status"] in ("succeeded", "failed"):
                    done[fit_id] = fit
            time.sleep(0.25)
        return [done[i] for i in ids]

    def cpu_seconds(self) -> float:
        """CPU used so far by the server, its in-process workers and the fit workers."""
        return process_tree_cpu_seconds([p.pid for p in self.processes])

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(30)
        self.processes.clear()


async def _load(
    url: str, headers: dict[str, str], body: dict[str, Any], concurrency: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                r = await client.post(url, json=body)
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def predict_load(tmp: Path, quick: bool) -> dict[str, Any]:
    """Embedded server with one in-process worker: fit once, then hammer predict."""
    app = Deployment({"BAYESCALE_DATA_DIR": str(tmp / "embedded"), "BAYESCALE_WORKERS": "1"}, tmp)
    app.serve()
    try:
        app.upload_example()
        fit_id = app.wait([app.submit(1)])[0]["id"]
        url = f"{app.p}/fits/{fit_id}/predict"
        seconds = 4.0 if quick else 15.0
        cases = []
        for points in (1, 100):
            xs = np.geomspace(1e8, 7e10, points)
            body = {"points": [{"params": x, "data": 20 * x} for x in xs], "group": "rwkv"}
            asyncio.run(_load(url, app.headers, body, 4, 1.0))  # first request loads the posterior
            for concurrency in (1, 8, 32):
                with contention(app.cpu_seconds) as c:
                    figures = asyncio.run(_load(url, app.headers, body, concurrency, seconds))
                cases.append(
                    {"points": points, "concurrency": concurrency, **figures, "contention": c}
                )
        # the same load while the worker samples fits (separate process, same 2 cores)
        busy_ids = [app.submit(10 + i) for i in range(2 if quick else 4)]
        time.sleep(3)
        body = {"points": [{"params": 7e9, "data": 1.4e11}], "group": "rwkv"}
        with contention(app.cpu_seconds) as c:
            busy = asyncio.run(_load(url, app.headers, body, 8, seconds))
        app.wait(busy_ids)
        cases.append({"points": 1, "concurrency": 8, "during_fits": True, **busy, "contention": c})
        return {"seconds_per_case": seconds, "cases": cases}
    finally:
        app.stop()


def fit_throughput(tmp: Path, quick: bool) -> dict[str, Any]:
    """Team mode on PostgreSQL + Redis: the same batch of fits with 1 and with 2 workers."""
    from sqlalchemy import create_engine, text

    n_fits = 4 if quick else 8
    engine = create_engine(POSTGRES)
    results = []
    for n_workers in (1, 2):
        schema = f"bayescale_bench_{secrets.token_hex(4)}"
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        env = {
            "BAYESCALE_DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
            "BAYESCALE_REDIS_URL": REDIS,
            "BAYESCALE_REDIS_NAMESPACE": schema,
            "BAYESCALE_DATA_DIR": str(tmp / schema),
        }
        app = Deployment(env, tmp)
        try:
            app.serve()
            app.upload_example()
            for _ in range(n_workers):
                app.spawn("worker")
            # warm-up: every worker compiles once (a cold compile is a per-process cost)
            warm = app.wait([app.submit(100 + i) for i in range(n_workers)])
            assert len({f["worker"] for f in warm}) == n_workers, "a worker got no warm-up fit"
            with contention(app.cpu_seconds) as c:
                start = time.perf_counter()
                done = app.wait([app.submit(i) for i in range(n_fits)])
                wall = time.perf_counter() - start
            ok = sum(f["status"] == "succeeded" for f in done)
            results.append(
                {
                    "workers": n_workers,
                    "fits": n_fits,
                    "succeeded": ok,
                    "wall_s": wall,
                    "fits_per_min": 60 * n_fits / wall,
                    "contention": c,
                }
            )
        finally:
            app.stop()
            with engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            import redis

            client = redis.Redis.from_url(REDIS)
            for key in client.scan_iter(f"{schema}*"):
                client.delete(key)
    engine.dispose()
    results[1]["speedup"] = results[0]["wall_s"] / results[1]["wall_s"]
    return {"sampler": FIT_SAMPLER, "model": "chinchilla, 4 groups x 25 points", "runs": results}


def run(data_dir: Path, out_dir: Path, quick: bool) -> dict[str, Any]:
    """Predict load and fit throughput; print tables and write ``service_load.json``."""
    del data_dir  # simulated data only
    print(header("service_load", quick), flush=True)
    with tempfile.TemporaryDirectory(prefix="bayescale-load-") as tmp:
        result = {
            "mode": "quick" if quick else "full",
            "predict": predict_load(Path(tmp), quick),
            "fit_throughput": fit_throughput(Path(tmp), quick),
        }
    print(report(result))
    print(f"\nwrote {write_json(out_dir, 'service_load', result)}")
    return result


def report(result: dict[str, Any]) -> str:
    """Predict latency table and fit throughput table."""
    rows = [
        [
            c["points"],
            c["concurrency"],
            "yes" if c.get("during_fits") else "no",
            c["requests"],
            c["errors"],
            c["rps"],
            c["p50_ms"],
            c["p99_ms"],
            contention_note(c["contention"]),
        ]
        for c in result["predict"]["cases"]
    ]
    predict = table(
        [
            "points",
            "in flight",
            "fits running",
            "requests",
            "errors",
            "req/s",
            "p50 ms",
            "p99 ms",
            "others' CPU",
        ],
        rows,
        "predict over HTTP (uvicorn, 1 process; 4000 draws)",
    )
    fits = table(
        ["workers", "fits", "succeeded", "wall s", "fits/min", "others' CPU"],
        [
            [
                r["workers"],
                r["fits"],
                r["succeeded"],
                r["wall_s"],
                r["fits_per_min"],
                contention_note(r["contention"]),
            ]
            for r in result["fit_throughput"]["runs"]
        ],
        "fit throughput, team mode (PostgreSQL + Redis), warm workers",
    )
    speedup = result["fit_throughput"]["runs"][1]["speedup"]
    return f"{predict}\n\n{fits}\n2 workers / 1 worker speed-up: {speedup:.2f}x"
