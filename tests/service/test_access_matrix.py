"""Project isolation and roles on every project route, enumerated from the OpenAPI schema.

A route added later without an entry in ROLES fails the coverage test, so no route can ship
without its access rule being checked: no key → 401, a revoked key → 401, another project's key
(even admin) → 404 naming the project, a role below the route's → 403; nothing is stored.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.service.conftest import make_project

ROLES = {
    ("get", "/v1/projects/{project}/keys"): "admin",
    ("post", "/v1/projects/{project}/keys"): "admin",
    ("delete", "/v1/projects/{project}/keys/{prefix}"): "admin",
    ("post", "/v1/projects/{project}/datasets"): "write",
    ("get", "/v1/projects/{project}/datasets"): "read",
    ("get", "/v1/projects/{project}/datasets/{dataset}"): "read",
    ("post", "/v1/projects/{project}/datasets/{dataset}/observations"): "write",
    ("get", "/v1/projects/{project}/datasets/{dataset}/observations"): "read",
    ("post", "/v1/projects/{project}/fits"): "write",
    ("get", "/v1/projects/{project}/fits"): "read",
    ("get", "/v1/projects/{project}/fits/{fit_id}"): "read",
    ("delete", "/v1/projects/{project}/fits/{fit_id}"): "write",
    ("get", "/v1/projects/{project}/datasets/{dataset}/fits/latest"): "read",
    ("get", "/v1/projects/{project}/fits/{fit_id}/diagnostics"): "read",
    ("get", "/v1/projects/{project}/fits/{fit_id}/posterior"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/predict"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/peak"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/plan"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/probability"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/compare"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/tradeoff"): "read",
    ("post", "/v1/projects/{project}/fits/{fit_id}/suggest"): "read",
    ("get", "/v1/projects/{project}/fits/{fit_id}/plots/{kind}.{fmt}"): "read",
}
BELOW = {"admin": "write", "write": "read"}
PATH_VALUES = {
    "project": "alpha",
    "dataset": "runs",
    "fit_id": "0" * 32,
    "prefix": "000000000000",
    "kind": "fit",
    "fmt": "png",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from service.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("matrix"), workers=0)
    with TestClient(create_app(settings)) as client:
        alpha, beta = make_project(settings, "alpha"), make_project(settings, "beta")
        client.post(
            "/v1/projects/alpha/datasets", json={"name": "runs"}, headers=alpha.headers("write")
        )
        yield client, alpha, beta


def project_routes(client: TestClient) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, ops in client.app.openapi()["paths"].items()
        if path.startswith("/v1/projects/{project}")
        for method in ops
    ]


def url(path: str) -> str:
    return path.format(**PATH_VALUES)


def stored(client: TestClient, keys) -> tuple[int, int, int]:
    h = keys.headers("admin")
    datasets = client.get("/v1/projects/alpha/datasets", headers=h).json()["data"]
    fits = client.get("/v1/projects/alpha/fits", headers=h).json()["count"]
    keys_n = len(client.get("/v1/projects/alpha/keys", headers=h).json())
    return len(datasets), fits, keys_n


def test_every_project_route_has_an_access_rule(setup):
    client, _, _ = setup
    assert set(project_routes(client)) == set(ROLES)


@pytest.mark.parametrize(("method", "path"), sorted(ROLES))
def test_access_rules(setup, method, path):
    client, alpha, beta = setup
    before = stored(client, alpha)
    body = {} if method == "post" else None
    r = client.request(method, url(path), json=body)
    assert r.status_code == 401 and r.json()["field"] == "Authorization", r.text
    r = client.request(method, url(path), json=body, headers=beta.headers("admin"))
    assert r.status_code == 404 and r.json()["field"] == "project", r.text
    assert "alpha" not in str(r.json().get("errors", ""))
    role = ROLES[(method, path)]
    if role in BELOW:
        r = client.request(method, url(path), json=body, headers=alpha.headers(BELOW[role]))
        assert r.status_code == 403 and r.json()["field"] == "Authorization", r.text
    assert stored(client, alpha) == before


def test_revoked_key_is_refused_everywhere(setup):
    client, alpha, _ = setup
    r = client.post(
        "/v1/projects/alpha/keys", json={"role": "admin"}, headers=alpha.headers("admin")
    )
    secret, prefix = r.json()["key"], r.json()["prefix"]
    h = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/projects/alpha/datasets", headers=h).status_code == 200
    assert (
        client.delete(f"/v1/projects/alpha/keys/{prefix}", headers=alpha.headers("admin"))
    ).status_code == 200
    for method, path in sorted(ROLES):
        r = client.request(method, url(path), json={} if method == "post" else None, headers=h)
        assert r.status_code == 401, (method, path, r.text)


# Routes under /v1 outside a project: public, or guarded by the server's admin token (no project
# key opens them; the admin-token rules themselves are in test_projects.py).
OUTSIDE_PROJECTS = {("get", "/v1/families"): "public", ("post", "/v1/projects"): "admin token"}


def test_every_route_outside_projects_has_an_access_rule(setup):
    client, _, _ = setup
    found = {
        (method, path)
        for path, ops in client.app.openapi()["paths"].items()
        if path.startswith("/v1/") and not path.startswith("/v1/projects/{project}")
        for method in ops
    }
    assert found == set(OUTSIDE_PROJECTS)


def test_a_project_key_cannot_create_projects(setup):
    client, alpha, _ = setup
    r = client.post("/v1/projects", json={"name": "gamma"}, headers=alpha.headers("admin"))
    assert r.status_code == 403 and r.json()["field"] == "Authorization", r.text
