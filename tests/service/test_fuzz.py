"""Property-based fuzzing of the OpenAPI schema (schemathesis): no 5xx, responses as declared.

Every operation of ``/openapi.json`` is called with generated requests, valid (positive) and
schema-violating (negative), and each response must not be a server error and must match the
schema: a declared status code, a declared content type, a body valid against its schema.

The fuzzed app holds project ``alpha`` with datasets ``runs`` and ``curves`` and a succeeded
fit on each (sampler mocked, nothing sampled), so path parameters can be valid: each case keeps
its generated ``project``, ``dataset``, ``fit_id``, ``prefix`` (and the ``dataset`` or ``family``
in a query or body) in one draw out of four and uses the real one otherwise, and sends the admin
key, the read key (403 on writes) or its generated ``Authorization``. Random values must give
4xx (mostly 401/404), never 5xx. DELETE removes a spare queued fit or key, replaced at once.

Nothing is excluded. The CSV upload (declared ``{"type": "string"}``) gets generated text; the
posterior download declares no content, so only its status codes and errors are checked.

Bounded and reproducible for CI: ``MAX_EXAMPLES`` per operation, derandomized with a fixed seed,
no Hypothesis example database written to the repository.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import strategies as st
from schemathesis.config import HealthCheck

from service.config import Settings
from service.main import create_app
from tests.service.conftest import add_dataset, fresh_database, make_project, mocked_app
from tests.service.test_api import assert_problem
from tests.service.test_fits import submit
from tests.service.test_planning_api import curve_rows, fitted
from tests.tiers import thorough

MAX_EXAMPLES = 40 if thorough() else 10  # per operation; the fast tier samples fewer

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


# The CSV upload is declared as {"type": "string"}: generated text goes out as the body, as for
# text/plain, which exercises the parser (header, encoding, cells); valid CSV is in test_api.
schemathesis.serializer.alias("text/csv", "text/plain")


@pytest.fixture(scope="module")
def database_url():
    """SQLite by default; ``BAYESCALE_FUZZ_DB=postgresql``: a fresh schema of the machine's one.

    PostgreSQL is where a NUL byte in a string used to be a 500 (SQLite stores it).
    """
    with fresh_database(os.environ.get("BAYESCALE_FUZZ_DB", "sqlite"), "bayescale_fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url):
    """Alpha's datasets with a succeeded fit each, a queued fit and a key that DELETE may remove."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        database_url=database_url,
        workers=0,
        rate_limit_per_minute=0,
    )
    with mocked_app(settings, raise_server_exceptions=False) as client:
        keys = make_project(settings, "alpha")
        make_project(settings, "beta")
        add_dataset(client, keys)
        add_dataset(client, keys, "curves", curve_rows())
        state = SimpleNamespace(
            client=client,
            keys=keys,
            fit=fitted(client, keys),
            scale_time=fitted(client, keys, dataset="curves", family="scale_time"),
        )
        state.spare_fit = _spare_fit(state)
        state.spare_key = _spare_key(state)
        yield state


def _spare_fit(api) -> str:
    """A queued fit that DELETE may remove (the succeeded ones must stay for the other routes).

    On ``curves``: the fuzzer appends any valid rows to ``runs``, which may leave no input that
    every row has (a chinchilla fit on it is then refused).
    """
    r = submit(api.client, api.keys, dataset="curves", family="scale_time")
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _spare_key(api) -> str:
    """The prefix of a key that DELETE /keys may revoke (not the admin key the fuzzer uses)."""
    r = api.client.post(
        "/v1/projects/alpha/keys", json={"role": "read"}, headers=api.keys.headers("admin")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["prefix"])


# The schema of the app the fixture serves (routes are static; no lifespan, nothing on disk).
# Loaded as a dict, not with `schemathesis.openapi.from_asgi`: requests go through the fixture's
# TestClient, so the app runs one lifespan, owned by the fixture (from_asgi starts a second one
# that outlives the test); `schemathesis.pytest.from_fixture` needs pytest < 9.2 (it sets
# `Function._nodeid`, gone in 9.2). Under pytest 9.2 the per-operation items also share one node
# id (their names differ: `-k "tradeoff"` selects one).
schema = schemathesis.openapi.from_dict(create_app(Settings(workers=0)).openapi())
# another seed explores other inputs (BENCHMARKS.md, Reliability, lists the runs)
schema.config.seed = int(os.environ.get("BAYESCALE_FUZZ_SEED", "0"))
# generation time depends on the machine (CI shares its cores); the example count bounds the run
schema.config.suppress_health_check = [HealthCheck.too_slow]
# allow_x00: NUL bytes in generated strings (schemathesis' default, stated: they found 500s)
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=True, database="none", allow_x00=True
)


def _pick(data, label: str, real: Any, generated: Any) -> Any:
    """The real value three times in four (past auth and lookups), else the generated one."""
    return data.draw(st.sampled_from([real, real, real, generated]), label=label)


def _real_fit(case, api) -> str:
    if case.method == "DELETE":
        return str(api.spare_fit)
    if case.operation.path.endswith("/tradeoff"):  # a scale_time question
        return str(api.scale_time)
    return str(api.fit)


def _use_real_values(case, data, api) -> None:
    path = case.path_parameters or {}
    real = {
        "project": "alpha",
        "dataset": "runs",
        "fit_id": _real_fit(case, api),
        "prefix": api.spare_key,
        # plot kind and format: the schema's enums, so the generated values are real ones
        "kind": path.get("kind"),
        "fmt": path.get("fmt"),
    }
    for name in path:
        path[name] = _pick(data, f"path.{name}", real[name], path[name])
    query = case.query or {}
    for name, value in (("dataset", "runs"), ("family", "chinchilla")):
        if name in query:
            query[name] = _pick(data, f"query.{name}", value, query[name])
    if isinstance(case.body, dict) and isinstance(case.body.get("dataset"), str):
        case.body["dataset"] = _pick(data, "body.dataset", "runs", case.body["dataset"])
    if case.operation.path.startswith("/v1/projects/"):
        headers = case.headers if case.headers is not None else {}
        admin = api.keys.headers("admin")["Authorization"]
        read = api.keys.headers("read")["Authorization"]
        generated = headers.get("authorization")
        auth = data.draw(st.sampled_from([admin, admin, admin, read, generated]), label="auth")
        headers.pop("authorization", None)
        if auth is not None:
            headers["Authorization"] = auth
        case.headers = headers


# status classes of every fuzzed request, printed for BENCHMARKS.md (Reliability)
SEEN: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("RELIABILITY " + json.dumps({"test": "schemathesis", **SEEN}))


def _send(client: TestClient, case):
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    kwargs.pop("cookies", None)  # none are declared; httpx deprecates per-request cookies
    if "data" in kwargs:  # raw bodies (CSV, negative cases): httpx calls them content
        kwargs["content"] = kwargs.pop("data")
    response = client.request(**kwargs)
    SEEN[f"{response.status_code // 100}xx"] += 1
    return response


@schema.parametrize()
@schema.given(data=st.data())
def test_api_conforms_to_its_schema(case, data, api):
    _use_real_values(case, data, api)
    response = _send(api.client, case)
    case.validate_response(response, checks=CHECKS)
    if case.method == "DELETE" and response.status_code in (200, 204):
        # the spare was removed: give the next example a fresh one to remove
        if "fit_id" in case.path_parameters:
            api.spare_fit = _spare_fit(api)
        else:
            api.spare_key = _spare_key(api)


# -- regressions of what the fuzzer found ---------------------------------------------------------


def test_every_schema_reference_resolves(api):
    """The observation upload named ObservationBatchRequest, which was not in the components."""
    openapi = api.client.get("/openapi.json").json()

    def refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    components = openapi["components"]["schemas"]
    for ref in set(refs(openapi)):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in components, ref
    body = openapi["paths"]["/v1/projects/{project}/datasets/{dataset}/observations"]["post"]
    assert set(body["requestBody"]["content"]) == {"application/json", "text/csv"}


def test_errors_are_declared_as_problem_json(api):
    """Errors were answered as problem+json but declared as FastAPI's HTTPValidationError only."""
    openapi = api.client.get("/openapi.json").json()
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            statuses = {s for s in operation["responses"] if s.startswith(("4", "5"))}
            if path.startswith("/v1/projects/"):
                assert {"400", "401", "403", "404", "422", "429"} <= statuses, (method, path)
            for status in statuses:
                content = operation["responses"][status]["content"]
                assert content == {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/ProblemResponse"}
                    }
                }, (method, path, status)


def test_a_body_that_is_not_utf8_is_a_declared_400(api):
    """FastAPI's JSON parser answers 400 (not 422) for bytes that are not text; undeclared."""
    r = api.client.post(
        "/v1/projects/alpha/datasets",
        content=b"\xff\xfe{",
        headers=api.keys.headers("write") | {"Content-Type": "application/json"},
    )
    assert_problem(r, 400)
    openapi = api.client.get("/openapi.json").json()
    assert "400" in openapi["paths"]["/v1/projects/{project}/datasets"]["post"]["responses"]


def test_times_carry_their_utc_offset(api):
    """SQLite hands back naive datetimes: they went out without an offset (not RFC 3339)."""
    read = api.keys.headers("admin")
    times = [
        api.client.get("/v1/projects/alpha/keys", headers=read).json()[0]["created_at"],
        api.client.get("/v1/projects/alpha/datasets/runs", headers=read).json()["created_at"],
        api.client.get("/v1/projects/alpha/datasets/runs/observations", headers=read).json()[
            "data"
        ][0]["created_at"],
    ]
    fit = api.client.get(f"/v1/projects/alpha/fits/{api.fit}", headers=read).json()
    times += [fit["created_at"], fit["started_at"], fit["finished_at"]]
    for value in times:
        assert datetime.fromisoformat(value).utcoffset() == timedelta(0), value


def test_tradeoff_with_an_astronomical_size(api):
    """0 steps x an overflowing cost was NaN, which argmin picked as the cheapest size."""
    body = {"target": 1e308, "params_grid": [1e-3, 5.9e16, 4.8e307]}
    r = api.client.post(
        f"/v1/projects/alpha/fits/{api.scale_time}/tradeoff",
        json=body,
        headers=api.keys.headers("read"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["cheapest_params"]["median"] < 1e300  # every size reaches it at 0 steps
