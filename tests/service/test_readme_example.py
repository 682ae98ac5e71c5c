"""Slow tier: the README's quick start, curl walk-through and planning-over-HTTP blocks, verbatim.

The quick start's first block starts the server exactly as written, twice in a row
(``BAYESCALE_PORT`` picks a free port, ``UV_PROJECT`` lets ``uv run`` find the project from a
scratch folder, so nothing is written into the checkout); the walk-through and the planning
block then run against it as one ``bash`` script, twice in a row; the quick start's ``demo``
line runs as written, twice. Its two ``pytest`` lines are this suite itself (``.ci/run`` runs the
second one).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def marked_block(name: str) -> str:
    """The fenced bash block between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = README[README.index(start) + len(start) : README.index(end)].strip()
    assert block.startswith("```bash") and block.endswith("```")
    return block.removeprefix("```bash").removesuffix("```")


def quick_start_blocks() -> list[str]:
    section = README[README.index("## Quick start") : README.index("## Command line")]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    missing = [tool for tool in ("curl", "jq", "uv", "pip") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {missing} for the README examples")
        pytest.skip(f"needs {missing}")
    port = free_port()
    return {k: v for k, v in os.environ.items() if not k.startswith("BAYESCALE_")} | {
        "BAYESCALE_DATA_DIR": str(tmp_path / "data"),
        "BAYESCALE_PORT": str(port),
        "API": f"http://127.0.0.1:{port}",
        "UV_PROJECT": str(ROOT),
    }


def start_quick_start_server(
    env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """The quick start's first block, verbatim, in the background, once it answers /ready."""
    first = quick_start_blocks()[0]
    assert "uv run bayescale serve" in first, first
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            ["bash", "-c", first], env=env, cwd=cwd, stdout=log, stderr=log,
            start_new_session=True,  # bash -> uv -> python: stop the whole group afterwards
        )  # fmt: skip
    deadline = time.monotonic() + 240  # pip, uv and a loaded 2-core machine start slowly
    while True:
        try:
            if httpx.get(f"{env['API']}/ready", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            stop(proc)
            raise AssertionError(log_path.read_text())
        time.sleep(0.3)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """The quick start's server, started twice in a row (the second start finds the first
    start's database and admin project); yields its log while the second one runs."""
    log_path = tmp_path / "serve.log"
    stop(start_quick_start_server(env, tmp_path, log_path))
    assert log_path.read_text().count("its admin key (shown once)") == 1
    proc = start_quick_start_server(env, tmp_path, log_path)
    try:
        yield log_path
    finally:
        stop(proc)
    # the first start alone created project 'default' and printed its key
    assert log_path.read_text().count("its admin key (shown once)") == 1


def run_bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=900
    )


def test_walkthrough_runs_verbatim_twice_and_the_planning_block_after_it(env, server, tmp_path):
    script = marked_block("curl-example") + "\n" + marked_block("planning-example")
    run = run_bash(script, env, tmp_path)
    assert run.returncode == 0, run.stderr + server.read_text()
    out = run.stdout
    # the walk-through: a converged power law and an extrapolated prediction
    assert '"status": "succeeded"' in out and '"converged": true' in out, out
    assert '"region": "extrapolation"' in out and '"new_run_interval"' in out, out
    # the planning block: 100 rows stored, an allocation, a comparison and a backtest
    assert '"stored": 100' in out and '"regret"' in out and '"probability"' in out, out
    assert '"expected_reduction"' in out and '"n_test"' in out, out
    # a request that fails stops the blocks with curl's message and a non-zero exit
    closed = f"http://127.0.0.1:{free_port()}"
    run = run_bash(script, env | {"API": closed}, tmp_path)
    assert run.returncode != 0 and "curl: (7)" in run.stderr, run.stderr
    assert '"status"' not in run.stdout
    # The walk-through a second time, against the same server (a fresh project: it runs again
    # as written), then a planning request its one-input fit cannot answer: curl stops the
    # block with the 422. (The planning block's second run would repeat the first in a fresh
    # project: ~50 s of CI for nothing more.)
    walk, plan = marked_block("curl-example"), marked_block("planning-example")
    plan_call = plan[plan.index("# allocation per budget") : plan.index("# the least compute")]
    run = run_bash(walk + "\n" + plan_call, env, tmp_path)  # $FIT: the power-law fit
    assert '"status": "succeeded"' in run.stdout and '"converged": true' in run.stdout, run.stdout
    assert '"new_run_interval"' in run.stdout, run.stdout
    assert run.returncode != 0 and "422" in run.stderr, run.stderr


def test_quick_start_demo_line_runs_as_written(env, tmp_path):
    second = quick_start_blocks()[1]
    lines = [line.split("#")[0].strip() for line in second.strip().splitlines()]
    demo, *tests = lines
    assert demo == "uv run bayescale demo", lines
    # the other lines are the test commands: this suite, run by .ci/run
    assert tests == ["uv run pytest -n 2", "uv run pytest --run-slow -n 2"], lines
    assert "uv run --frozen pytest --run-slow -n 2" in (ROOT / ".ci/run").read_text()
    for _ in range(2):  # a second run in the same folder works as the first did
        run = run_bash(demo, env, tmp_path)
        assert run.returncode == 0, run.stderr
        assert "FLOPs train N* =" in run.stdout and "next experiment worth running" in run.stdout
        assert (tmp_path / "bayescale-demo" / "runs.csv").is_file()  # in the folder it ran from
