"""The deployment files agree with the code: compose commands parse, env vars are settings.

No Docker engine runs where the tests run, so these checks are what keeps the files honest; the
processes they describe are exercised for real in tests/service/test_team_mode.py.
"""

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


def test_image_contains_every_package():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("models", "service", "cli"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "uv sync --frozen" in dockerfile
