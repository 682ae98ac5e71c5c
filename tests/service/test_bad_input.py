"""Malformed requests across every route: each a 4xx problem+json naming the field, none stored.

One table, one app (module scope) with a dataset and a succeeded fit (sampler mocked), so each
case runs against real state; after every case the stored counts (datasets, observations, fits,
keys) must be unchanged.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from service.config import Settings
from tests.service.conftest import add_dataset, fresh_database, make_project, mocked_app
from tests.service.test_fits import run_worker, submit

P = "/v1/projects/alpha"
FIT = "{fit}"  # replaced by the succeeded fit's id
ROW = {"params": 1e8, "data": 2e9, "loss": 2.5}
POINT = {"params": 7e9, "data": 1.4e11}
CSV = "text/csv"
JSON = "application/json"


def _dist(name: str, **kwargs: float) -> dict:
    return {"dist": name, "kwargs": kwargs}


HALF = _dist("HalfNormal", sigma=1)


def _nested(depth: int) -> dict:
    value: dict = {"a": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# (id, method, path, body, content type, status, field). body: dict -> JSON; str/bytes -> raw.
CASES = [
    # datasets
    ("dataset-no-name", "post", "/datasets", {}, JSON, 422, "name"),
    ("dataset-name-number", "post", "/datasets", {"name": 5}, JSON, 422, "name"),
    ("dataset-name-traversal", "post", "/datasets", {"name": "../etc"}, JSON, 422, "name"),
    ("dataset-name-slash", "post", "/datasets", {"name": "a/b"}, JSON, 422, "name"),
    ("dataset-name-empty", "post", "/datasets", {"name": ""}, JSON, 422, "name"),
    ("dataset-name-huge", "post", "/datasets", {"name": "x" * 500}, JSON, 422, "name"),
    ("dataset-extra-field", "post", "/datasets", {"name": "ok", "bogus": 1}, JSON, 422, "bogus"),
    ("dataset-duplicate", "post", "/datasets", {"name": "runs"}, JSON, 409, "name"),
    ("dataset-not-json", "post", "/datasets", "{name:", JSON, 422, None),
    ("dataset-unknown", "get", "/datasets/nope", None, None, 404, "dataset"),
    # observations (JSON)
    ("obs-no-rows", "post", "/datasets/runs/observations", {}, JSON, 422, "rows"),
    ("obs-empty-rows", "post", "/datasets/runs/observations", {"rows": []}, JSON, 422, "rows"),
    ("obs-rows-not-list", "post", "/datasets/runs/observations", {"rows": 3}, JSON, 422, "rows"),
    (
        "obs-loss-missing",
        "post",
        "/datasets/runs/observations",
        {"rows": [{"params": 1e8}]},
        JSON,
        422,
        "rows.0.loss",
    ),
    (
        "obs-loss-string",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"loss": "low"}]},
        JSON,
        422,
        "rows.0.loss",
    ),
    (
        "obs-loss-negative",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"loss": -1.0}]},
        JSON,
        422,
        "rows.0.loss",
    ),
    (
        "obs-loss-zero",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"loss": 0}]},
        JSON,
        422,
        "rows.0.loss",
    ),
    (
        "obs-loss-nan",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": NaN}]}',
        JSON,
        422,
        None,
    ),
    (
        "obs-loss-inf",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 1e400}]}',
        JSON,
        422,
        None,
    ),
    (
        "obs-params-zero",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"params": 0}]},
        JSON,
        422,
        "rows.0.params",
    ),
    (
        "obs-params-negative",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"params": -5}]},
        JSON,
        422,
        "rows.0.params",
    ),
    (
        "obs-data-bool",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"data": True}]},
        JSON,
        422,
        "rows.0.data",
    ),
    (
        "obs-label-noise-over-1",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"label_noise": 1.5}]},
        JSON,
        422,
        "rows.0.label_noise",
    ),
    (
        "obs-no-inputs",
        "post",
        "/datasets/runs/observations",
        {"rows": [{"loss": 2.0}]},
        JSON,
        422,
        "rows.0.params",
    ),
    (
        "obs-unknown-field",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"bogus": 1}]},
        JSON,
        422,
        "rows.0.bogus",
    ),
    (
        "obs-group-number",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"group": 7}]},
        JSON,
        422,
        "rows.0.group",
    ),
    (
        "obs-run-number",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"run": 7}]},
        JSON,
        422,
        "rows.0.run",
    ),
    (
        "obs-run-empty",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"run": ""}]},
        JSON,
        422,
        "rows.0.run",
    ),
    (
        "obs-run-blank",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW, ROW | {"run": "  "}]},
        JSON,
        422,
        "rows.1.run",
    ),
    (
        "obs-run-list",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"run": ["a"]}]},
        JSON,
        422,
        "rows.0.run",
    ),
    (
        "obs-second-row-bad",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW, ROW | {"loss": -2}]},
        JSON,
        422,
        "rows.1.loss",
    ),
    (
        "obs-too-many-rows",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW] * 501},
        JSON,
        413,
        "rows",
    ),
    (
        "obs-unknown-dataset",
        "post",
        "/datasets/nope/observations",
        {"rows": [ROW]},
        JSON,
        404,
        "dataset",
    ),
    (
        "obs-wrong-content-type",
        "post",
        "/datasets/runs/observations",
        "params,loss\n1,2",
        "text/plain",
        415,
        None,
    ),
    # observations (CSV)
    (
        "csv-bad-encoding",
        "post",
        "/datasets/runs/observations",
        b"params,loss\n1e8,\xff\xfe\n",
        CSV,
        422,
        None,
    ),
    (
        "csv-no-loss-column",
        "post",
        "/datasets/runs/observations",
        "params,data\n1e8,2e9\n",
        CSV,
        422,
        "loss",
    ),
    (
        "csv-loss-text",
        "post",
        "/datasets/runs/observations",
        "params,loss\n1e8,high\n",
        CSV,
        422,
        "rows.0.loss",
    ),
    ("csv-header-only", "post", "/datasets/runs/observations", "params,loss\n", CSV, 422, "rows"),
    # found by the fuzzer: the csv module's own errors (a bare CR in a field) were 500s
    (
        "csv-nul-byte",
        "post",
        "/datasets/runs/observations",
        "params,loss\n1e8,\x002\n",
        CSV,
        422,
        "rows.0.loss",
    ),
    (
        "csv-open-quote",
        "post",
        "/datasets/runs/observations",
        'params,loss\n1e8,"2.0\n',
        CSV,
        422,
        None,
    ),
    ("csv-empty", "post", "/datasets/runs/observations", "", CSV, 422, None),
    (
        "csv-bare-cr-in-field",
        "post",
        "/datasets/runs/observations",
        "params,loss\n1e8,2\rx,3\n",
        CSV,
        422,
        None,
    ),
    (
        "csv-negative",
        "post",
        "/datasets/runs/observations",
        "params,loss\n-1e8,2.0\n",
        CSV,
        422,
        "rows.0.params",
    ),
    # fits
    ("fit-no-dataset", "post", "/fits", {"family": "chinchilla"}, JSON, 422, "dataset"),
    ("fit-unknown-dataset", "post", "/fits", {"dataset": "nope"}, JSON, 404, "dataset"),
    (
        "fit-unknown-family",
        "post",
        "/fits",
        {"dataset": "runs", "family": "nope"},
        JSON,
        422,
        "family",
    ),
    (
        "fit-bad-family-option",
        "post",
        "/fits",
        {"dataset": "runs", "family": "power_law", "family_options": {"x": "tokens"}},
        JSON,
        422,
        "family_options.x",
    ),
    (
        "fit-pooling-unknown-param",
        "post",
        "/fits",
        {"dataset": "runs", "family": "chinchilla", "pooling": {"gamma": "partial"}},
        JSON,
        422,
        "pooling.gamma",
    ),
    (
        "fit-auto-per-parameter-pooling",  # auto is several laws: one pooling word for all
        "post",
        "/fits",
        {"dataset": "runs", "pooling": {"E": "partial"}},
        JSON,
        422,
        "pooling",
    ),
    (
        "fit-auto-family-options",
        "post",
        "/fits",
        {"dataset": "runs", "family": "auto", "family_options": {"x": "data"}},
        JSON,
        422,
        "family_options",
    ),
    (
        "fit-auto-law-prior",
        "post",
        "/fits",
        {"dataset": "runs", "priors": {"E": {"dist": "Normal", "kwargs": {"mu": 0, "sigma": 1}}}},
        JSON,
        422,
        "priors",
    ),
    (
        "fit-pooling-bad-value",
        "post",
        "/fits",
        {"dataset": "runs", "pooling": "sometimes"},
        JSON,
        422,
        "pooling.E",
    ),
    (
        "fit-prior-unknown-dist",
        "post",
        "/fits",
        {"dataset": "runs", "priors": {"alpha": {"dist": "Cauchyish", "kwargs": {}}}},
        JSON,
        422,
        None,
    ),
    (
        "fit-prior-unknown-param",
        "post",
        "/fits",
        {
            "dataset": "runs",
            "priors": {"gamma": {"dist": "Normal", "kwargs": {"mu": 0, "sigma": 1}}},
        },
        JSON,
        422,
        None,
    ),
    (
        "fit-draws-over-limit",
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"draws": 10**6}},
        JSON,
        422,
        "sampler.draws",
    ),
    (
        "fit-chains-zero",
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"chains": 0}},
        JSON,
        422,
        "sampler.chains",
    ),
    (
        "fit-tune-zero",  # nutpie panics on tune=0 (found by hand, 2026-11-24)
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"tune": 0}},
        JSON,
        422,
        "sampler.tune",
    ),
    (
        "fit-seed-2-64",  # was accepted, then an OverflowError in the sampler
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"seed": 2**64}},
        JSON,
        422,
        "sampler.seed",
    ),
    (
        "fit-prior-overflows",  # was accepted, then a Rust backtrace in error.reason
        "post",
        "/fits",
        {
            "dataset": "runs",
            "family": "chinchilla",
            "priors": {"alpha": {"mu": _dist("Normal", mu=1e300, sigma=1), "sigma": HALF}},
        },
        JSON,
        422,
        "alpha_mu",
    ),
    (
        "fit-prior-lognormal-overflows",
        "post",
        "/fits",
        {
            "dataset": "runs",
            "family": "chinchilla",
            "priors": {
                "alpha": {
                    "mu": _dist("Normal", mu=0, sigma=1),
                    "sigma": _dist("LogNormal", mu=800, sigma=1),
                }
            },
        },
        JSON,
        422,
        "alpha_sigma",
    ),
    (
        "fit-init-unknown",
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"init": "random"}},
        JSON,
        422,
        "sampler.init",
    ),
    (
        "fit-target-accept-1",
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"target_accept": 1.0}},
        JSON,
        422,
        "sampler.target_accept",
    ),
    (
        "fit-max-draws-too-few",
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"max_draws": 5}},
        JSON,
        422,
        "sampler.max_draws",
    ),
    (
        "fit-max-draws-text",
        "post",
        "/fits",
        {"dataset": "runs", "sampler": {"max_draws": "many"}},
        JSON,
        422,
        "sampler.max_draws",
    ),
    (
        "fit-max-per-run-one",
        "post",
        "/fits",
        {"dataset": "runs", "max_per_run": 1},
        JSON,
        422,
        "max_per_run",
    ),
    (
        "fit-max-per-run-text",
        "post",
        "/fits",
        {"dataset": "runs", "max_per_run": "30"},
        JSON,
        422,
        "max_per_run",
    ),
    (
        "fit-likelihood-unknown",
        "post",
        "/fits",
        {"dataset": "runs", "likelihood": "cauchy"},
        JSON,
        422,
        "likelihood",
    ),
    (
        "fit-filter-unknown-group",
        "post",
        "/fits",
        {"dataset": "runs", "filters": {"groups": ["nobody"]}},
        JSON,
        422,
        "filters",
    ),
    (
        "fit-family-needs-steps",
        "post",
        "/fits",
        {"dataset": "runs", "family": "scale_time"},
        JSON,
        422,
        None,
    ),
    (
        "fit-holdout-empty-test",
        "post",
        "/fits",
        {"dataset": "runs", "holdout": {"below": {"params": 1e30}}},
        JSON,
        422,
        "holdout",
    ),
    ("fit-unknown-id", "get", "/fits/" + "0" * 32, None, None, 404, "fit_id"),
    ("fit-id-traversal", "get", "/fits/..%2F..%2Fetc", None, None, 404, None),
    ("fit-list-bad-status", "get", "/fits?status=done", None, None, 422, "status"),
    ("fit-delete-unknown", "delete", "/fits/" + "0" * 32, None, None, 404, "fit_id"),
    # predict and planning on the succeeded fit
    ("predict-no-points", "post", f"/fits/{FIT}/predict", {}, JSON, 422, "points"),
    (
        "predict-missing-input",
        "post",
        f"/fits/{FIT}/predict",
        {"points": [{"params": 1e9}]},
        JSON,
        422,
        "data",
    ),
    (
        "predict-negative",
        "post",
        f"/fits/{FIT}/predict",
        {"points": [POINT | {"params": -1}]},
        JSON,
        422,
        "points.0.params",
    ),
    (
        "predict-prob-1",
        "post",
        f"/fits/{FIT}/predict",
        {"points": [POINT], "probs": [1.0]},
        JSON,
        422,
        None,
    ),
    (
        "predict-unknown-fit",
        "post",
        "/fits/" + "0" * 32 + "/predict",
        {"points": [POINT]},
        JSON,
        404,
        "fit_id",
    ),
    ("plan-negative-budget", "post", f"/fits/{FIT}/plan", {"budgets": [-1e20]}, JSON, 422, None),
    ("plan-nothing-asked", "post", f"/fits/{FIT}/plan", {}, JSON, 422, "budgets"),
    (
        "suggest-no-candidates",
        "post",
        f"/fits/{FIT}/suggest",
        {"candidates": [], "target": POINT},
        JSON,
        422,
        None,
    ),
    (
        "compare-negative-budget",
        "post",
        f"/fits/{FIT}/compare",
        {"a": "mamba", "b": "rwkv", "budget": -1e21},
        JSON,
        422,
        "budget",
    ),
    (
        "probability-string-target",
        "post",
        f"/fits/{FIT}/probability",
        {"points": [POINT], "target": "low"},
        JSON,
        422,
        "target",
    ),
    ("no-such-route", "get", "/nothing-here", None, None, 404, None),
    ("method-not-allowed", "put", "/datasets", {"name": "x"}, JSON, 405, None),
    # keys
    ("key-bad-role", "post", "/keys", {"role": "owner"}, JSON, 422, "role"),
    ("key-revoke-unknown", "delete", "/keys/000000000000", None, None, 404, None),
    # hostile input found by an outside attack (issue 15): each was a 500 or stored unservable
    (
        "obs-5000-digit-integer",  # Python refuses to parse ints of more than 4300 digits
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1' + "0" * 5000 + ', "loss": 2.5}]}',
        JSON,
        422,
        "rows.0.params",
    ),
    (
        "obs-meta-nested-5000-deep",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 2.5, "meta": '
        + '{"a": ' * 5000
        + "1"
        + "}" * 5000
        + "}]}",
        JSON,
        422,
        "body",
    ),
    (
        "obs-meta-nested-40-deep",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"meta": _nested(40)}]},
        JSON,
        422,
        "rows.0.meta.a",
    ),
    (
        "obs-100000-brackets",
        "post",
        "/datasets/runs/observations",
        "[" * 100_000,
        JSON,
        422,
        "body",
    ),
    ("fit-100000-brackets", "post", "/fits", "[" * 100_000, JSON, 422, "body"),
    (
        "obs-meta-nan",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 2.5, "meta": {"x": NaN}}]}',
        JSON,
        422,
        "rows.0.meta.x",
    ),
    (
        "obs-meta-infinity",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 2.5, "meta": {"x": -Infinity}}]}',
        JSON,
        422,
        "rows.0.meta.x",
    ),
    (
        "obs-meta-1e400",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 2.5, "meta": {"x": [1e400]}}]}',
        JSON,
        422,
        "rows.0.meta.x.0",
    ),
    (
        "obs-meta-lone-surrogate",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 2.5, "meta": {"note": "\\udfff"}}]}',
        JSON,
        422,
        "rows.0.meta.note",
    ),
    (
        "obs-meta-key-surrogate",
        "post",
        "/datasets/runs/observations",
        '{"rows": [{"params": 1e8, "loss": 2.5, "meta": {"\\ud800": 1}}]}',
        JSON,
        422,
        "rows.0.meta",
    ),
    (
        "obs-group-nul",
        "post",
        "/datasets/runs/observations",
        {"rows": [ROW | {"group": "a\x00b"}]},
        JSON,
        422,
        "rows.0.group",
    ),
    (
        "csv-group-nul",
        "post",
        "/datasets/runs/observations",
        "params,loss,group\n1e8,2.5,a\x00b\n",
        CSV,
        422,
        "rows.0.group",
    ),
    (
        "csv-meta-nul",
        "post",
        "/datasets/runs/observations",
        "params,loss,arch\n1e8,2.5,a\x00b\n",
        CSV,
        422,
        "rows.0.arch",
    ),
    (
        "dataset-description-nul",
        "post",
        "/datasets",
        {"name": "fine", "description": "a\x00b"},
        JSON,
        422,
        "description",
    ),
    ("fit-name-nul", "post", "/fits", {"dataset": "runs", "name": "a\x00b"}, JSON, 422, "name"),
    ("key-name-nul", "post", "/keys", {"role": "read", "name": "a\x00b"}, JSON, 422, "name"),
    ("path-nul", "get", "/datasets/a%00b", None, None, 422, "path"),
    ("query-nul", "get", "/fits?family=a%00b", None, None, 422, "family"),
    (
        "after-beyond-int64",
        "get",
        "/datasets/runs/observations?after=" + "9" * 23,
        None,
        None,
        422,
        "after",
    ),
    (
        "after-beyond-int32",
        "get",
        "/datasets/runs/observations?after=2147483648",
        None,
        None,
        422,
        "after",
    ),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    with fresh_database(request.param, "bayescale_bad") as url:
        yield url


@pytest.fixture(scope="module")
def api(tmp_path_factory, database_url):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("bad"),
        database_url=database_url,
        workers=0,
        max_batch_rows=500,
    )
    with mocked_app(settings) as client:
        keys = make_project(settings, "alpha")
        add_dataset(client, keys)
        fit = submit(client, keys).json()["id"]
        assert run_worker(client) == fit
        yield SimpleNamespace(client=client, keys=keys, fit=fit)


def counts(api) -> tuple[int, ...]:
    h = api.keys.headers("admin")
    datasets = api.client.get(f"{P}/datasets", headers=h).json()["data"]
    fits = api.client.get(f"{P}/fits", headers=h).json()["count"]
    keys = len(api.client.get(f"{P}/keys", headers=h).json())
    return len(datasets), sum(d["observations"] for d in datasets), fits, keys


def test_the_table_is_large_and_covers_every_route_kind():
    assert len(CASES) >= 50
    assert {c[1] for c in CASES} >= {"get", "post", "delete"}


@pytest.mark.parametrize(
    ("method", "path", "body", "ctype", "status", "field"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_malformed_request(api, method, path, body, ctype, status, field):
    before = counts(api)
    headers = api.keys.headers("admin")
    kwargs: dict = {}
    if isinstance(body, dict):
        kwargs["json"] = body
    elif body is not None:
        kwargs["content"] = body
        headers = headers | {"Content-Type": ctype}
    r = api.client.request(method, P + path.replace(FIT, api.fit), headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    problem = r.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field is not None:  # batch errors name row and field: "rows.<i>.<field>"
        fields = {problem.get("field")} | {
            e["field"] if e.get("row") is None else f"rows.{e['row']}.{e['field']}"
            for e in problem.get("errors", [])
        }
        assert any(f == field or str(f).startswith(field + ".") for f in fields), problem
    assert counts(api) == before


@pytest.mark.parametrize(
    ("form", "cookie"),
    [({"key": "bsk_a\x00b"}, None), ({}, "x.bsk_a\x00b")],
    ids=["login-form-nul", "session-cookie-nul"],
)
def test_nul_in_the_dashboard_login_or_cookie_is_refused(api, form, cookie):
    before = counts(api)
    headers = {"Cookie": f"bayescale_session={cookie}"} if cookie else {}
    r = api.client.post("/login", data=form, headers=headers, follow_redirects=False)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == ("key" if form else "cookie")
    assert counts(api) == before
