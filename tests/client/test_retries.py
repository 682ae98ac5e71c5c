"""Retries: lost answers, proxies' 5xx and 429 are retried; a repeat never doubles a row."""

from __future__ import annotations

import random

import httpx
import pytest

from service.client import BayescaleError, Client, RetryPolicy
from service.config import Settings
from tests.client.conftest import FaultyTransport, lost_answer, refused, status
from tests.utils import example_rows


def faulty(asgi, *faults, **options) -> tuple[Client, FaultyTransport]:
    transport = FaultyTransport(asgi.transport, list(faults))
    return asgi.client(transport=transport, **options), transport


def test_lost_answers_and_503_then_success_store_one_row(asgi):
    """The server stored the row but the answer was lost; the retry replays, never re-adds."""
    asgi.client().create_dataset("runs")
    client, transport = faulty(asgi, lost_answer, status(503), refused, lost_answer)
    answer = client.log_observation("runs", loss=2.5, params=1e8, run="r1", step=1)
    assert answer is not None and answer.replayed and answer.rows == 1
    assert len(transport.requests) == 5
    keys = {r.headers["Idempotency-Key"] for r in transport.requests}
    assert len(keys) == 1
    assert asgi.client().get_dataset("runs").observations == 1
    # exponential backoff with equal jitter: attempt i waits in [b 2^i / 2, b 2^i]
    assert len(asgi.sleeps) == 4
    for i, wait in enumerate(asgi.sleeps):
        assert 0.25 * 2**i <= wait <= 0.5 * 2**i


def test_batches_survive_lost_answers(asgi):
    asgi.client().create_dataset("runs")
    client, _ = faulty(asgi, lost_answer, lost_answer)
    client.log_observations("runs", example_rows(2), batch_size=5)
    assert asgi.client().get_dataset("runs").observations == 8


def test_client_errors_are_not_retried(asgi):
    """A 4xx fails the same way every time: one attempt, no wait."""
    client, transport = faulty(asgi)
    with pytest.raises(BayescaleError) as exc:
        client.log_observation("missing", loss=2.0, params=1e8, run="r", step=1)
    assert exc.value.status == 404 and len(transport.requests) == 1 and asgi.sleeps == []


def test_429_waits_retry_after(asgi):
    """The server's Retry-After is the wait (capped at max_backoff_s)."""
    asgi.client().create_dataset("runs")
    client, _ = faulty(asgi, status(429, **{"Retry-After": "7"}), status(429))
    client.log_observation("runs", loss=2.0, params=1e8, run="r", step=1)
    assert asgi.sleeps[0] == 7.0 and 0.5 <= asgi.sleeps[1] <= 1.0
    client, _ = faulty(asgi, status(429, **{"Retry-After": "120"}), max_backoff_s=30)
    client.get_dataset("runs")
    assert asgi.sleeps[-1] == 30.0


def test_rate_limited_by_the_server(tmp_path, mock_sampler):
    """The real limiter's 429 arrives as BayescaleError with retry_after when retries run out."""
    from fastapi.testclient import TestClient

    from service.main import create_app
    from tests.client.conftest import AppTransport
    from tests.service.conftest import make_project

    settings = Settings(data_dir=tmp_path, workers=0, rate_limit_per_minute=2)
    with TestClient(create_app(settings)) as app_client:
        keys = make_project(settings, "alpha")
        sleeps: list[float] = []
        client = Client(
            "http://t",
            keys.read,
            "alpha",
            transport=AppTransport(app_client),
            retries=2,
            sleep=sleeps.append,
        )
        with pytest.raises(BayescaleError) as exc:
            for _ in range(5):
                client.list_datasets()
    assert exc.value.status == 429 and exc.value.retry_after and exc.value.retry_after >= 1
    assert sleeps == [exc.value.retry_after] * 2


def test_fit_submission_is_never_repeated_after_it_may_have_arrived(asgi):
    """Creating a fit is not idempotent: a lost answer raises instead of risking a second fit."""
    writer = asgi.client()
    writer.create_dataset("runs")
    writer.log_observations("runs", example_rows(8))
    client, transport = faulty(asgi, lost_answer)
    with pytest.raises(BayescaleError) as exc:
        client.fit("runs")
    assert exc.value.status is None and exc.value.title == "Unreachable"
    assert len(transport.requests) == 1
    client, transport = faulty(asgi, refused, status(503))
    with pytest.raises(BayescaleError) as exc:  # a 5xx may have created it: not retried either
        client.fit("runs")
    assert exc.value.status == 503 and len(transport.requests) == 2
    assert len(writer.list_fits()) == 1  # the lost answer's; the proxy's 503 never reached it


def test_connection_refused_exhausts_retries(asgi):
    client, transport = faulty(asgi, *[refused] * 10, retries=3)
    with pytest.raises(BayescaleError, match="no answer after 4 attempt"):
        client.health()
    assert len(transport.requests) == 4 and len(asgi.sleeps) == 3


def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(retries=10, backoff_s=1.0, max_backoff_s=8.0)
    rng = random.Random(0)
    waits = [policy.delay(i, rng) for i in range(8)]
    assert all(0.5 * min(8, 2**i) <= w <= min(8, 2**i) for i, w in enumerate(waits))
    assert len(set(waits)) == len(waits)


def test_timeout_is_per_attempt():
    client = Client("http://127.0.0.1:9", timeout=2.5)
    assert client.http.timeout == httpx.Timeout(2.5)
    client.close()
