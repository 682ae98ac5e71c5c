"""POST /v1/projects: project creation with the server's admin token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from tests.service.test_api import assert_problem

TOKEN = "admin-token-for-tests-0123456789"


@pytest.fixture
def api(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, workers=0, admin_token=TOKEN))) as c:
        yield c


def create(client, name, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/v1/projects", json={"name": name}, headers=headers)


def test_creates_a_project_with_a_working_admin_key(api):
    r = create(api, "vision")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "vision" and body["key"].startswith("bsk_") and body["id"]
    keys = api.get("/v1/projects/vision/keys", headers={"Authorization": f"Bearer {body['key']}"})
    assert keys.status_code == 200 and [k["role"] for k in keys.json()] == ["admin"]


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN[:-1]])
def test_a_missing_or_wrong_token_is_401(api, token):
    """Anything but the exact token is refused, and no project appears."""
    assert_problem(create(api, "vision", token), 401, field="Authorization")
    assert create(api, "vision").status_code == 201  # the name was never taken


def test_a_project_key_is_not_an_admin_token(api):
    key = create(api, "vision").json()["key"]
    assert_problem(create(api, "other", key), 401, field="Authorization")


def test_disabled_without_a_configured_token(tmp_path):
    """Without BAYESCALE_ADMIN_TOKEN every call is a 403 that says how to enable it."""
    with TestClient(create_app(Settings(data_dir=tmp_path, workers=0))) as c:
        for token in (None, "anything", ""):
            body = assert_problem(create(c, "vision", token), 403, field="Authorization")
            assert "BAYESCALE_ADMIN_TOKEN" in body["detail"]


def test_a_duplicate_name_is_409(api):
    assert create(api, "vision").status_code == 201
    assert_problem(create(api, "vision"), 409, field="name")


@pytest.mark.parametrize("name", ["", "-dash", "has space", "x" * 65, "ünïcode"])
def test_a_bad_name_is_422_naming_the_field(api, name):
    assert_problem(create(api, name), 422, field="name")


def test_the_token_is_checked_before_the_body(api):
    """An unauthenticated caller learns nothing about the body rules."""
    r = api.post("/v1/projects", json={"nope": 1}, headers={"Authorization": "Bearer wrong"})
    assert_problem(r, 401)


def test_problem_responses_are_declared(api):
    operation = api.get("/openapi.json").json()["paths"]["/v1/projects"]["post"]
    assert {"201", "400", "401", "403", "409", "422"} <= set(operation["responses"])
