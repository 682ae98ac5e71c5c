"""Slow tier: the embedded mode end to end — API plus an in-process worker running real NUTS."""

import time

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from tests.service.conftest import make_project

pytestmark = pytest.mark.slow


def wait(client, url, headers, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fit = client.get(url, headers=headers).json()
        if fit["status"] in ("succeeded", "failed"):
            return fit
        time.sleep(1)
    raise AssertionError(f"fit not finished after {timeout} s: {fit}")


def test_embedded_worker_fits_and_predicts(tmp_path):
    settings = Settings(data_dir=tmp_path, workers=1)
    keys = make_project(settings, "alpha")
    with TestClient(create_app(settings)) as client:
        h = keys.headers("write")
        client.post("/v1/projects/alpha/datasets", json={"name": "sweep"}, headers=h)
        sizes = [1e6 * 1.6**i for i in range(16)]
        wiggle = [0.01 * ((7 * i) % 5 - 2) for i in range(16)]  # deterministic 1-2 % scatter
        rows = [
            {"params": n, "loss": (1.5 + 40 * n**-0.3) * (1 + w)}
            for n, w in zip(sizes, wiggle, strict=True)
        ]
        assert (
            client.post(
                "/v1/projects/alpha/datasets/sweep/observations", json={"rows": rows}, headers=h
            ).status_code
            == 201
        )
        r = client.post(
            "/v1/projects/alpha/fits",
            json={
                "dataset": "sweep",
                "family": "power_law",
                "sampler": {"draws": 500, "tune": 500, "chains": 2, "seed": 3},
            },
            headers=h,
        )
        assert r.status_code == 202
        fit = wait(client, r.headers["Location"], keys.headers("read"))
        assert fit["status"] == "succeeded", fit
        alpha = next(p for p in fit["parameters"] if p["parameter"] == "alpha")
        assert alpha["lo_90"] < 0.3 < alpha["hi_90"]
        pred = client.post(
            f"/v1/projects/alpha/fits/{fit['id']}/predict",
            json={"points": [{"params": 1e9}]},
            headers=keys.headers("read"),
        ).json()
        expected = 1.5 + 40 * 1e9**-0.3
        assert abs(pred["predictions"][0]["median"] - expected) / expected < 0.03
