"""Per-key rate limit: a token bucket, 429 with Retry-After, per key, configurable, off at 0."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from service.ratelimit import RateLimited, RateLimiter
from tests.service.conftest import make_project


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_the_burst_then_refills_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one a second, bursts of 60
    for _ in range(60):
        limiter.check("k")
    with pytest.raises(RateLimited) as exc:
        limiter.check("k")
    assert exc.value.retry_after == pytest.approx(1.0)
    limiter.check("other")  # keys are independent
    clock.t = 1.0
    limiter.check("k")
    with pytest.raises(RateLimited):
        limiter.check("k")
    clock.t = 1000.0  # refills only up to the burst size
    for _ in range(60):
        limiter.check("k")
    with pytest.raises(RateLimited):
        limiter.check("k")


def test_zero_disables():
    limiter = RateLimiter(0)
    for _ in range(10_000):
        limiter.check("k")


def test_over_the_limit_is_429_with_retry_after_and_stores_nothing(tmp_path):
    settings = Settings(data_dir=tmp_path, workers=0, rate_limit_per_minute=5)
    keys = make_project(settings, "alpha")
    with TestClient(create_app(settings)) as client:
        h = keys.headers("write")
        codes = [
            client.post(
                "/v1/projects/alpha/datasets", json={"name": f"d{i}"}, headers=h
            ).status_code
            for i in range(7)
        ]
        assert codes == [201] * 5 + [429] * 2
        r = client.post("/v1/projects/alpha/datasets", json={"name": "late"}, headers=h)
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["field"] == "Authorization"
        listed = client.get("/v1/projects/alpha/datasets", headers=keys.headers("read")).json()
        assert sorted(d["name"] for d in listed["data"]) == [f"d{i}" for i in range(5)]
        assert client.get("/health").status_code == 200  # unauthenticated routes are not limited
