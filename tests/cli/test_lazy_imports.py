"""An instant CLI: each command imports only what it runs, checked in a fresh interpreter.

No command that reads a saved fit (predict, summary, plan, plot), lists or explains
(``--help``, ``families``) or talks to a server (``remote``) may import PyMC, PyTensor or nutpie:
they cost seconds and only sampling needs them. ``--help`` and ``families`` import no pandas,
xarray, scipy, matplotlib or HTTP client either. One interpreter per class of command runs its
commands in turn and records what each one added (a fresh process per command would cost the
fast tier seconds each).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import models
from tests.utils import fake_fit

SAMPLERS = ("pymc", "pytensor", "nutpie")
DATA_STACK = ("pandas", "xarray", "scipy", "matplotlib", "httpx", "pydantic", "arviz_stats")

RUNNER = """
import contextlib, io, json, sys
from cli.main import main
watch, commands, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), []
for argv in commands:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    report.append({"argv": argv, "code": code, "modules": [m for m in watch if m in sys.modules]})
json.dump(report, sys.stdout)
"""


def run_in_turn(commands: list[list[str]], watch: tuple[str, ...]) -> list[dict]:
    """Per command (in order, one fresh interpreter): exit code and which of ``watch`` are
    imported after it ran."""
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(watch), json.dumps(commands)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def fit_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "fit.nc"
    models.save_fit(fake_fit(groups=["a", "b"]), path)
    return path


def test_help_and_families_import_no_sampler_and_no_data_stack():
    """Parsing arguments and listing families needs numpy at most: help is instant."""
    commands = [["--help"], ["families"], ["fit", "--help"], ["plan", "--help"]]
    commands += [["remote", "fit", "--help"], ["families", "--json"]]
    for step in run_in_turn(commands, (*SAMPLERS, *DATA_STACK)):
        assert step["code"] == 0 and step["modules"] == [], step


def test_commands_on_a_saved_fit_import_no_sampler(fit_file):
    fit, image = str(fit_file), str(fit_file.parent / "fit.png")
    commands = [
        ["predict", fit, "--at", "params=1e9,data=2e10"],
        ["summary", fit],
        ["plan", fit, "--budget", "1e21"],
        ["peak", fit, "--axis", "params", "--at", "data=2e10", "--group", "a"],
        ["plot", "fit", "--fit", fit, "-o", image],
    ]
    for step in run_in_turn(commands, (*SAMPLERS, "xarray")):
        # xarray: the command really loaded the fit
        assert step["code"] == 0 and step["modules"] == ["xarray"], step


class _Refuses(BaseHTTPRequestHandler):
    """A server that answers every request 401 at once (no retry, no wait)."""

    def do_GET(self) -> None:
        body = json.dumps({"title": "unauthorized", "status": 401, "detail": "bad key"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_remote_commands_import_no_sampler():
    """A remote command builds its client and hears the server's answer, without the samplers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        argv = ["remote", "fits", "--url", url, "--key", "bsk_x", "--project", "p"]
        (step,) = run_in_turn([argv], (*SAMPLERS, "httpx"))
    finally:
        server.shutdown()
        server.server_close()
    assert step["code"] == 2 and step["modules"] == ["httpx"], step  # httpx: its client ran
