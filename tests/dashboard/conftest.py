"""Dashboard fixtures: an app with an admin token, projects alpha and beta, logged-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app

# keys and other (projects alpha and beta) as the API tests make them, on this folder's app
from tests.service.conftest import Keys, keys, make_project, other  # noqa: F401

ADMIN_TOKEN = "test-admin-token-0123456789"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([A-Za-z0-9_-]+)"')


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        workers=0,
        max_batch_rows=500,
        max_body_bytes=200_000,
        admin_token=ADMIN_TOKEN,
    )


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


def post_login(client: TestClient, key: str, **headers: str):
    """The login form as a browser sends it: fetched first (its token), then posted."""
    form = client.get("/login")
    found = _LOGIN_TOKEN.search(form.text)
    assert found, "no login token on the login form"
    return client.post("/login", data={"key": key, "login_token": found.group(1)}, headers=headers)


def login(client: TestClient, key: str) -> str:
    """Log ``client`` in with ``key``; returns the session's CSRF token."""
    r = post_login(client, key)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return csrf_of(client.get("/"))


def csrf_of(response) -> str:
    assert response.status_code == 200, response.text
    found = _CSRF.search(response.text)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def as_role(app, keys) -> Iterator:  # noqa: F811 (keys: the fixture imported above)
    """``as_role("write")``: a new client logged in with alpha's key of that role, and its token."""
    opened: list[TestClient] = []

    def open_as(role: str) -> tuple[TestClient, str]:
        c = TestClient(app, follow_redirects=False)
        opened.append(c)
        return c, login(c, getattr(keys, role))

    yield open_as
    for c in opened:
        c.close()
