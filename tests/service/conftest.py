"""Service test fixtures: an app on a fresh SQLite file, a project with keys of every role."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service import admin
from service.config import Settings
from service.main import create_app
from tests.utils import example_rows, fake_sampler, replace_sampler


@dataclass
class Keys:
    admin: str
    write: str
    read: str

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, workers=0, max_batch_rows=500, max_body_bytes=200_000)


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@contextmanager
def mocked_app(settings: Settings, **client_options: Any) -> Iterator[TestClient]:
    """A client of the app on ``settings`` whose sampler draws from the prior (no NUTS)."""
    with (
        pytest.MonkeyPatch.context() as mp,
        TestClient(create_app(settings), **client_options) as client,
    ):
        replace_sampler(mp, fake_sampler)
        yield client


def make_project(settings: Settings, name: str) -> Keys:
    engine = admin.open_engine(settings)
    try:
        key = admin.create_project(engine, name)
        return Keys(
            key, admin.create_key(engine, name, "write"), admin.create_key(engine, name, "read")
        )
    finally:
        engine.dispose()


@pytest.fixture
def keys(settings, client) -> Keys:
    return make_project(settings, "alpha")


@pytest.fixture
def other(settings, client) -> Keys:
    return make_project(settings, "beta")


def add_dataset(client: TestClient, keys: Keys, name: str = "runs", rows=None) -> str:
    """Dataset ``name`` of project alpha with ``rows`` (default: the example's runs)."""
    write = keys.headers("write")
    r = client.post("/v1/projects/alpha/datasets", json={"name": name}, headers=write)
    assert r.status_code == 201, r.text
    r = client.post(
        f"/v1/projects/alpha/datasets/{name}/observations",
        json={"rows": example_rows() if rows is None else rows},
        headers=write,
    )
    assert r.status_code == 201, r.text
    return name


@pytest.fixture
def dataset(client, keys) -> str:
    """Dataset 'runs' of project alpha: the example's four architectures, 8 runs each."""
    return add_dataset(client, keys)


def postgres_url() -> str | None:
    """The machine's PostgreSQL if reachable; under CI=true its absence is a failure."""
    url = os.environ.get(
        "BAYESCALE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3).close()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
    return url


def redis_url() -> str:
    """The machine's Redis if reachable; under CI=true its absence is a failure."""
    url = os.environ.get("BAYESCALE_TEST_REDIS", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis required under CI=true: {exc}")
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    return url


def drop_redis_namespace(url: str, namespace: str) -> None:
    """Delete every key a test's Dramatiq broker created."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """The URL of a fresh schema ``<prefix>_<hex>`` of the machine's PostgreSQL, dropped after."""
    base = postgres_url()
    schema = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@contextmanager
def fresh_database(kind: str, prefix: str) -> Iterator[str | None]:
    """``sqlite``: None (the default, a SQLite file in data_dir); else a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield None
        return
    with postgres_schema(prefix) as url:
        yield url


@pytest.fixture
def pg_settings(tmp_path) -> Iterator[Settings]:
    """Settings on a fresh schema of the machine's PostgreSQL, dropped afterwards."""
    with postgres_schema("bayescale_test") as url:
        yield Settings(data_dir=tmp_path, database_url=url, workers=0)
