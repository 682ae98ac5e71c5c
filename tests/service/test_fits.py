"""Fit jobs through the API; the worker is run in-process with the sampler mocked (fast tier)."""

import numpy as np
import pytest

import models
from service import jobs
from tests.service.test_api import assert_problem
from tests.utils import replace_sampler


def submit(client, keys, **body):
    request = {
        "dataset": "runs",
        "family": "chinchilla",
        "sampler": {"draws": 50, "tune": 10, "chains": 2},
    }
    return client.post(
        "/v1/projects/alpha/fits", json=request | body, headers=keys.headers("write")
    )


def run_worker(client):
    sessions = client.app.state.sessions
    fit_id = jobs.claim(sessions, "test-worker", lease_s=60)
    assert fit_id is not None
    jobs.run(sessions, fit_id, worker="test-worker")
    return fit_id


def test_submit_poll_predict(client, keys, dataset, mock_sampler):
    r = submit(client, keys, name="first", tags=["nightly"])
    assert r.status_code == 202, r.text
    fit = r.json()
    assert fit["status"] == "queued" and fit["n_observations"] == 32
    assert (
        r.headers["Location"] == f"/v1/projects/alpha/fits/{fit['id']}" and r.headers["Retry-After"]
    )
    assert run_worker(client) == fit["id"]
    done = client.get(r.headers["Location"], headers=keys.headers("read")).json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and done["attempts"] == 1
    assert {p["parameter"] for p in done["parameters"]} >= {"E", "alpha", "beta"}
    assert "converged" in done["diagnostics"] and done["converged"] is not None
    pred = client.post(
        f"/v1/projects/alpha/fits/{fit['id']}/predict",
        json={"points": [{"params": 7e9, "data": 1.4e11}], "probs": [0.9]},
        headers=keys.headers("read"),
    )
    assert pred.status_code == 200, pred.text
    body = pred.json()
    assert body["population"] is True and body["interval_kind"] == "equal-tailed"
    row = body["predictions"][0]
    assert row["region"] == "extrapolation" and set(row["new_run_interval"]) == {"90"}
    group = client.post(
        f"/v1/projects/alpha/fits/{fit['id']}/predict",
        json={"points": [{"params": 1e8, "data": 2e9}], "group": "mamba"},
        headers=keys.headers("read"),
    ).json()
    assert group["population"] is False and group["group"] == "mamba"


def test_snapshot_ignores_later_appends(client, keys, dataset, mock_sampler):
    fit = submit(client, keys).json()
    client.post(
        "/v1/projects/alpha/datasets/runs/observations",
        json={"rows": [{"params": 1e9, "data": 1e10, "loss": 2.5, "group": "new-arch"}]},
        headers=keys.headers("write"),
    )
    run_worker(client)
    done = client.get(f"/v1/projects/alpha/fits/{fit['id']}", headers=keys.headers("read")).json()
    assert done["n_observations"] == 32
    groups = {p["group"] for p in done["parameters"]}
    assert "new-arch" not in groups


def test_posterior_download_loads(client, keys, dataset, mock_sampler, tmp_path):
    fit = submit(client, keys).json()
    run_worker(client)
    r = client.get(f"/v1/projects/alpha/fits/{fit['id']}/posterior", headers=keys.headers("read"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-netcdf"
    loaded = models.load_fit(r.content)
    assert loaded.groups == ["mamba", "rwkv", "transformer", "transformer-moe"]
    diag = client.get(
        f"/v1/projects/alpha/fits/{fit['id']}/diagnostics", headers=keys.headers("read")
    ).json()
    assert {"r_hat_max", "ess_bulk_min", "divergences", "converged"} <= set(diag)


def test_list_latest_delete(client, keys, dataset, mock_sampler):
    a = submit(client, keys, tags=["x"]).json()
    run_worker(client)
    b = submit(client, keys, family="power_law", family_options={"x": "params"}).json()
    listed = client.get(
        "/v1/projects/alpha/fits?family=chinchilla", headers=keys.headers("read")
    ).json()
    assert [f["id"] for f in listed["data"]] == [a["id"]]
    tagged = client.get("/v1/projects/alpha/fits?tag=x", headers=keys.headers("read")).json()
    assert tagged["count"] == 1
    queued = client.get(
        "/v1/projects/alpha/fits?status=queued", headers=keys.headers("read")
    ).json()
    assert [f["id"] for f in queued["data"]] == [b["id"]]
    latest = client.get(
        "/v1/projects/alpha/datasets/runs/fits/latest?family=chinchilla",
        headers=keys.headers("read"),
    ).json()
    assert latest["id"] == a["id"]
    assert (
        client.delete(
            f"/v1/projects/alpha/fits/{a['id']}", headers=keys.headers("write")
        ).status_code
        == 204
    )
    assert_problem(
        client.get(f"/v1/projects/alpha/fits/{a['id']}", headers=keys.headers("read")),
        404,
        "fit_id",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"family": "nope"}, "family"),
        ({"pooling": {"gamma": "partial"}}, "pooling.gamma"),
        ({"priors": {"alpha": {"dist": "Normal", "kwargs": {"mu": 0, "sigma": 1}}}}, "alpha"),
        ({"sampler": {"draws": 100000}}, "sampler.draws"),
        ({"sampler": {"chains": 0}}, "sampler.chains"),
        ({"dataset": "missing"}, "dataset"),
        ({"family": "power_law", "family_options": {"x": "tokens"}}, "family_options.x"),
        ({"filters": {"groups": ["nobody"]}}, "filters"),
        ({"family": "scale_time"}, None),
    ],
)
def test_bad_fit_requests_are_refused_before_queueing(client, keys, dataset, body, field):
    if body.get("family") == "scale_time" and "scale_time" not in models.REGISTRY:
        pytest.skip("family not registered")
    r = submit(client, keys, **body)
    status = 404 if field == "dataset" else 422
    problem = assert_problem(r, status)
    if field:
        assert problem["field"] == field
    assert client.get("/v1/projects/alpha/fits", headers=keys.headers("read")).json()["count"] == 0


def test_fit_that_cannot_run_ends_failed_with_reason(client, keys, dataset, monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("sampler exploded")

    replace_sampler(monkeypatch, broken)
    fit = submit(client, keys).json()
    run_worker(client)
    done = client.get(f"/v1/projects/alpha/fits/{fit['id']}", headers=keys.headers("read")).json()
    assert done["status"] == "failed" and "sampler exploded" in done["error"]["reason"]
    r = client.post(
        f"/v1/projects/alpha/fits/{fit['id']}/predict",
        json={"points": [{"params": 1e9, "data": 1e10}]},
        headers=keys.headers("read"),
    )
    assert_problem(r, 409, "fit_id")


def test_stale_running_fit_is_claimed_again(client, keys, dataset, mock_sampler):
    """A worker killed mid-fit stops heart-beating; after the lease another worker takes over."""
    fit = submit(client, keys).json()
    sessions = client.app.state.sessions
    assert jobs.claim(sessions, "doomed", lease_s=60) == fit["id"]
    assert jobs.claim(sessions, "other", lease_s=60) is None  # still leased
    assert jobs.claim(sessions, "other", lease_s=0) == fit["id"]  # lease expired
    jobs.run(sessions, fit["id"], worker="doomed")  # the stalled first worker wakes up late
    stalled = client.get(f"/v1/projects/alpha/fits/{fit['id']}", headers=keys.headers("read"))
    assert stalled.json()["status"] == "running"  # it could not overwrite its successor's claim
    jobs.run(sessions, fit["id"], worker="other")
    done = client.get(f"/v1/projects/alpha/fits/{fit['id']}", headers=keys.headers("read")).json()
    assert done["status"] == "succeeded" and done["attempts"] == 2 and done["worker"] == "other"


def test_read_key_cannot_submit(client, keys, dataset):
    r = client.post(
        "/v1/projects/alpha/fits", json={"dataset": "runs"}, headers=keys.headers("read")
    )
    assert_problem(r, 403)


def test_predict_validation(client, keys, dataset, mock_sampler):
    fit = submit(client, keys).json()
    run_worker(client)
    url = f"/v1/projects/alpha/fits/{fit['id']}/predict"
    assert_problem(
        client.post(url, json={"points": [{"params": 1e9}]}, headers=keys.headers("read")),
        422,
        "data",
    )
    assert_problem(
        client.post(url, json={"points": []}, headers=keys.headers("read")), 422, "points"
    )
    r = client.post(
        url,
        json={"points": [{"params": 1e9, "data": 1e10}], "probs": [1.5]},
        headers=keys.headers("read"),
    )
    assert_problem(r, 422)
    assert np.isfinite(
        client.post(
            url, json={"points": [{"params": 1e9, "data": 1e10}]}, headers=keys.headers("read")
        ).json()["predictions"][0]["median"]
    )
    point = {"points": [{"params": 1e9, "data": 1e10}], "group": "gpt-9"}
    r = client.post(url, json=point, headers=keys.headers("read"))
    assert_problem(r, 422, "group")
    assert "unknown group 'gpt-9'" in r.json()["detail"]
    r = client.post(url, json=point | {"new_group": True}, headers=keys.headers("read"))
    assert r.status_code == 200 and r.json()["population"] is True and r.json()["group"] == "gpt-9"


def test_fit_over_its_time_limit_ends_failed(client, keys, dataset, monkeypatch):
    seen = {}

    def slow(config, md, settings, *, progress=None, cache=None, time_limit_s=None):
        seen["limit"] = time_limit_s
        raise models.FitTimeoutError("sampling exceeded the time limit of 3 s", field="sampler")

    replace_sampler(monkeypatch, slow)
    fit = submit(client, keys).json()
    sessions = client.app.state.sessions
    jobs.run(sessions, jobs.claim(sessions, "w", lease_s=60), worker="w", time_limit_s=3.0)
    done = client.get(f"/v1/projects/alpha/fits/{fit['id']}", headers=keys.headers("read")).json()
    assert seen["limit"] == 3.0
    assert done["status"] == "failed" and "time limit" in done["error"]["reason"]
    assert done["error"]["field"] == "sampler"


def test_max_draws_null_reaches_the_sampler_and_the_default_samples_longer(
    client, keys, dataset, mock_sampler
):
    # prior draws at 2 x 50 miss the ESS mark (200): by default the fit is sampled longer
    never = submit(client, keys, sampler={"draws": 50, "tune": 10, "chains": 2, "max_draws": None})
    assert never.status_code == 202, never.text
    run_worker(client)
    longer = submit(client, keys)
    run_worker(client)
    path = "/v1/projects/alpha/fits/"
    first = client.get(path + never.json()["id"], headers=keys.headers("read")).json()
    second = client.get(path + longer.json()["id"], headers=keys.headers("read")).json()
    assert first["diagnostics"]["draws"] == 50 and first["diagnostics"]["extension"] is None
    assert second["diagnostics"]["draws"] > 50
    assert second["diagnostics"]["extension"]["draws"] == [50, second["diagnostics"]["draws"]]


def test_max_draws_over_the_server_limit_is_refused_and_the_default_is_capped(
    client, keys, dataset, mock_sampler
):
    client.app.state.settings.max_draws = 200
    over = submit(client, keys, sampler={"draws": 50, "tune": 10, "chains": 2, "max_draws": 300})
    assert over.status_code == 422 and over.json()["field"] == "sampler.max_draws"
    capped = submit(client, keys)  # the default cap (4000) meets the server's 200
    assert capped.status_code == 202, capped.text
    run_worker(client)
    done = client.get(
        f"/v1/projects/alpha/fits/{capped.json()['id']}", headers=keys.headers("read")
    ).json()
    assert 50 < done["diagnostics"]["draws"] <= 200


def _warnings_of_a_csv_fit(client, keys, lines: list[str], code: str, **spec) -> list[str]:
    """Upload ``lines`` as a CSV, fit them with ``spec``, return the messages of ``code``."""
    from tests.service.test_api import create_dataset

    create_dataset(client, keys)
    r = client.post(
        "/v1/projects/alpha/datasets/runs/observations",
        content="\n".join(lines) + "\n",
        headers=keys.headers("write") | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    r = submit(client, keys, **spec)
    assert r.status_code == 202, r.text
    run_worker(client)
    done = client.get(r.headers["Location"], headers=keys.headers("read")).json()
    assert done["status"] == "succeeded", done
    return [w["message"] for w in done["diagnostics"]["warnings"] if w["code"] == code]


def test_a_csv_column_the_fit_does_not_read_is_named_in_its_warnings(client, keys, mock_sampler):
    """A context length uploaded under an unknown name is kept as metadata, and the fit says so."""
    params = np.repeat(np.geomspace(1e7, 1e9, 6), 2)  # each size at two context lengths
    lines = ["params,context,seed,loss"] + [
        f"{n:g},{c:g},{i % 2},{2 + 9 * n**-0.1 + 30 / c:.6f}"
        for i, (n, c) in enumerate(zip(params, np.tile([128, 4096], 6), strict=True))
    ]
    spec = {"family": "power_law", "family_options": {"x": "params"}}
    (message,) = _warnings_of_a_csv_fit(client, keys, lines, "unused_columns", **spec)
    assert "'context', 'seed'" in message


def test_a_csv_group_column_under_another_name_is_named_in_its_warnings(client, keys, mock_sampler):
    """``bayescale example``'s CSV uploaded as is: ``architecture`` is metadata to the service."""
    data = models.example_dataset(0)
    lines = ["params,data,architecture,loss"] + [
        f"{n:g},{d:g},{g},{loss:.6f}"
        for n, d, g, loss in zip(
            data.inputs["params"], data.inputs["data"], data.group, data.loss, strict=True
        )
    ]
    (message,) = _warnings_of_a_csv_fit(client, keys, lines, "pooled_curves", family="chinchilla")
    assert "'architecture' split the rows" in message
