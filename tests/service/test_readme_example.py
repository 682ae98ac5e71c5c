"""Slow tier: the README's curl walk-through, run verbatim against a live `bayescale serve`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- curl-example:start -->", "<!-- curl-example:end -->"


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    block = text[text.index(START) + len(START) : text.index(END)].strip()
    assert block.startswith("```bash") and block.endswith("```")
    return block.removeprefix("```bash").removesuffix("```")


def test_readme_curl_example_runs(tmp_path):
    missing = [tool for tool in ("curl", "jq", "uv") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {missing} for the README example")
        pytest.skip(f"needs {missing}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAYESCALE_")} | {
        "BAYESCALE_DATA_DIR": str(tmp_path / "data"),
        "API": f"http://127.0.0.1:{port}",
    }
    bayescale = str(Path(sys.executable).parent / "bayescale")
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [bayescale, "serve", "--port", str(port)], env=env, stdout=log, stderr=log, cwd=ROOT
        )
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine starts it slowly
        while True:
            try:
                if httpx.get(f"{env['API']}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.3)
        # verbatim, as `bash walkthrough.sh`, twice: a second run must work as the first did
        for _ in range(2):
            run = run_block(env)
            assert run.returncode == 0, run.stderr + (tmp_path / "serve.log").read_text()
            out = run.stdout
            assert '"status": "succeeded"' in out and '"converged": true' in out, out
            assert '"region": "extrapolation"' in out and '"new_run_interval"' in out, out
        # a request that fails stops the block with curl's message and a non-zero exit
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{s.getsockname()[1]}"
        run = run_block(env | {"API": closed})
        assert run.returncode != 0 and "curl: (7)" in run.stderr, run.stderr
        assert '"status"' not in run.stdout
    finally:
        server.terminate()
        server.wait(30)


def run_block(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", readme_block()],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
