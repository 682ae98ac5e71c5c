"""The same store on the machine's real PostgreSQL: migrations, appends, idempotent races."""

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from service.main import create_app
from tests.service.conftest import make_project


def test_postgres_migrates_and_stores(pg_settings):
    from service import admin

    admin.open_engine(pg_settings).dispose()  # the deployment path: `bayescale migrate`
    keys = make_project(pg_settings, "alpha")
    with TestClient(create_app(pg_settings)) as client:
        h = keys.headers("write")
        assert (
            client.post("/v1/projects/alpha/datasets", json={"name": "runs"}, headers=h).status_code
            == 201
        )
        rows = [{"params": 1e8 * (i + 1), "loss": 3.0 - 0.01 * i} for i in range(20)]

        def post(i):
            return client.post(
                "/v1/projects/alpha/datasets/runs/observations",
                json={"rows": rows},
                headers=h | {"Idempotency-Key": f"retry-{i % 4}"},
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(post, range(32)))
        assert codes.count(201) == 4 and codes.count(200) == 28
        got = client.get("/v1/projects/alpha/datasets/runs", headers=keys.headers("read")).json()
        assert got["observations"] == 4 * 20
        assert client.get("/ready").status_code == 200
