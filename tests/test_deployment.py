"""The deployment files agree with the code: compose commands parse, env vars are settings.

No Docker engine runs where the tests run, so these checks are what keeps the files honest; the
processes they describe are exercised for real in tests/service/test_team_mode.py.
"""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from cli.main import _parser
from service.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_healthchecks(compose):
    services = compose["services"]
    assert {"api", "worker", "postgres", "redis", "migrate"} <= set(services)
    for name in ("api", "worker", "postgres", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "--appendonly" in services["redis"]["command"]
    for name, volume in (("postgres", "pgdata"), ("redis", "redisdata")):
        assert any(v.startswith(f"{volume}:") for v in services[name]["volumes"])


@pytest.mark.parametrize("service", ["api", "worker", "migrate"])
def test_commands_are_real_cli_commands(compose, service):
    args = _parser().parse_args(compose["services"][service]["command"])
    assert callable(args.handler)


def test_environment_names_settings(compose):
    fields = {name.upper() for name in Settings.model_fields}
    for service in ("api", "worker", "migrate"):
        env = compose["services"][service]["environment"]
        for key in env:
            assert key.startswith("BAYESCALE_") and key.removeprefix("BAYESCALE_") in fields, key
    settings = Settings(**{k.removeprefix("BAYESCALE_").lower(): v for k, v in env.items()})
    assert settings.redis_url and settings.resolved_database_url.startswith("postgresql")


# The image's install steps (Dockerfile), replayed below without a Docker engine.
BUILD_WHEEL = "uv build --wheel --out-dir /dist"
EXPORT_LOCKED = "uv export --frozen --no-dev --no-emit-project -o requirements.txt"


def test_the_image_installs_the_wheel_on_the_locked_dependencies():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert BUILD_WHEEL in dockerfile and EXPORT_LOCKED in dockerfile
    assert "-r requirements.txt" in dockerfile and "--no-deps /dist/*.whl" in dockerfile
    # the wheel stage copies exactly the packages the wheel ships (plots was once left out)
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]["packages"]
    copied = re.findall(r"^COPY (\w+) \1$", dockerfile, re.M)
    assert sorted(copied) == sorted(shipped)
    # and never a local environment
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


@pytest.mark.slow  # about 20 s idle (uv installs from its cache), minutes on a loaded machine
def test_the_image_file_set_runs_every_compose_command(tmp_path):
    """Build the wheel, install it with the locked deps into a fresh venv, run the commands.

    Nothing of the checkout is importable there: a package pyproject.toml forgets to ship (as
    `plots` was missing from the image) fails `bayescale --help` at once.
    """
    uv = shutil.which("uv")
    assert uv, "uv is how the image installs the project"
    dist, venv = tmp_path / "dist", tmp_path / "venv"

    def run(*args: str, cwd: Path = tmp_path, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
        return done.stdout

    run(*BUILD_WHEEL.replace("/dist", str(dist)).split(), cwd=ROOT)
    run(*EXPORT_LOCKED.replace("requirements.txt", str(tmp_path / "req.txt")).split(), cwd=ROOT)
    run(uv, "venv", "-q", str(venv), "--python", sys.executable)
    python = str(venv / "bin" / "python")
    run(uv, "pip", "install", "-q", "--python", python, "-r", str(tmp_path / "req.txt"))
    (wheel,) = dist.glob("*.whl")
    run(uv, "pip", "install", "-q", "--python", python, "--no-deps", str(wheel))

    # the image's environment: its venv on PATH, nothing of ours (PYTHONPATH, BAYESCALE_*)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BAYESCALE_DATA_DIR": str(tmp_path / "data"),
        "BAYESCALE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'bayescale.db'}",
    }
    assert "serve" in run("bayescale", "--help", env=env)
    assert "newest schema" in run("bayescale", "migrate", env=env)
    assert run("bayescale", "worker", "--help", env=env).startswith("usage: bayescale worker")
