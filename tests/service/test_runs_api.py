"""The ``run`` field through the HTTP API: stored, read back, fitted with thinning reported."""

import numpy as np

import models
from service import jobs, schemas
from tests.service.test_fits import run_worker

P = "/v1/projects/alpha"


def trajectory_rows(n_runs=2, n=60):
    data, _ = models.simulate.simulate_runs(
        models.get_family("power_law", x="steps"),
        {"E": 2.0, "A": 20.0, "alpha": 0.4},
        {"steps": np.geomspace(100, 1e5, n)},
        n_runs=n_runs,
    )
    return [
        {"steps": float(s), "loss": float(v), "run": str(r)}
        for s, v, r in zip(data.inputs["steps"], data.loss, data.run, strict=True)
    ]


def make_dataset(client, keys, rows):
    h = keys.headers("write")
    assert client.post(f"{P}/datasets", json={"name": "traj"}, headers=h).status_code == 201
    r = client.post(f"{P}/datasets/traj/observations", json={"rows": rows}, headers=h)
    assert r.status_code == 201, r.text


def test_run_is_stored_and_read_back(client, keys):
    rows = trajectory_rows(n=3)
    make_dataset(client, keys, [*rows, {"steps": 50.0, "loss": 4.0}])
    page = client.get(f"{P}/datasets/traj/observations", headers=keys.headers("read")).json()
    assert [o["run"] for o in page["data"]] == [*(r["run"] for r in rows), None]


def test_csv_run_column_is_text(client, keys):
    h = keys.headers("write")
    client.post(f"{P}/datasets", json={"name": "traj"}, headers=h)
    body = "steps,loss,run\n100,3.0,7\n200,2.9,7\n300,2.8,\n"
    r = client.post(
        f"{P}/datasets/traj/observations",
        content=body,
        headers=h | {"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    page = client.get(f"{P}/datasets/traj/observations", headers=keys.headers("read")).json()
    assert [o["run"] for o in page["data"]] == ["7", "7", None]
    assert [o["meta"] for o in page["data"]] == [{"run": "7"}, {"run": "7"}, {}]


def fit(client, keys, **extra):
    body = {
        "dataset": "traj",
        "family": "power_law",
        "family_options": {"x": "steps"},
        "sampler": {"draws": 50, "tune": 10, "chains": 2},
    }
    r = client.post(f"{P}/fits", json=body | extra, headers=keys.headers("write"))
    assert r.status_code == 202, r.text
    fit_id = run_worker(client)
    return client.get(f"{P}/fits/{fit_id}", headers=keys.headers("read")).json()


def test_fit_thins_runs_and_reports_it(client, keys, mock_sampler):
    make_dataset(client, keys, trajectory_rows(n_runs=2, n=60))
    done = fit(client, keys, max_per_run=10)
    assert done["status"] == "succeeded", done
    assert done["spec"]["max_per_run"] == 10
    thinning = done["diagnostics"]["thinning"]
    assert thinning["rows_before"] == 120 and thinning["rows_after"] <= 20
    assert thinning["runs"] == 2 and thinning["axis"] == "steps"
    assert "sigma_run" in {p["parameter"] for p in done["parameters"]}
    full = fit(client, keys, max_per_run=None)
    assert full["diagnostics"]["thinning"]["rows_after"] == 120
    default = fit(client, keys)
    assert default["spec"]["max_per_run"] == models.DEFAULT_MAX_PER_RUN


def test_schema_default_is_the_models_default():
    assert schemas.DEFAULT_MAX_PER_RUN == models.DEFAULT_MAX_PER_RUN


def test_specs_stored_before_thinning_get_the_default(client, keys, mock_sampler):
    make_dataset(client, keys, trajectory_rows(n_runs=1, n=50))
    body = {"dataset": "traj", "family": "power_law", "family_options": {"x": "steps"}}
    r = client.post(f"{P}/fits", json=body, headers=keys.headers("write"))
    sessions = client.app.state.sessions
    with sessions() as session, session.begin():
        job = session.get(jobs.FitJob, r.json()["id"])
        job.spec = {k: v for k, v in job.spec.items() if k != "max_per_run"} | {
            "settings": job.spec["settings"] | {"draws": 20, "chains": 1}
        }
    run_worker(client)
    done = client.get(f"{P}/fits/{r.json()['id']}", headers=keys.headers("read")).json()
    assert done["diagnostics"]["thinning"]["max_per_run"] == models.DEFAULT_MAX_PER_RUN
