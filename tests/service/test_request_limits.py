"""The body limit and the request slots act before any route: no parsing, no authentication."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest

from service.limits import BodyLimit, ConcurrencyLimit

PREDICT = "/v1/projects/alpha/fits/" + "0" * 32 + "/predict"


def test_a_streamed_body_without_length_is_cut_at_the_limit(client, settings):
    def chunks():
        for _ in range(100):  # 100 x 64 KiB, no Content-Length (chunked)
            yield b" " * 65536

    r = client.post(PREDICT, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "body"


@pytest.mark.parametrize("path", [PREDICT, "/v1/projects/alpha/datasets", "/login", "/nowhere"])
def test_a_declared_length_over_the_limit_is_refused_on_every_route(client, settings, path):
    body = b"x" * (settings.max_body_bytes + 1)
    r = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"


def _scope(app_state):
    return {"type": "http", "path": "/v1/x", "headers": [], "app": SimpleNamespace(state=app_state)}


def test_a_request_waiting_past_the_queue_limit_gets_503_with_retry_after():
    async def main():
        release = anyio.Event()

        async def slow_app(scope, receive, send):
            await release.wait()

        state = SimpleNamespace(
            request_slots=anyio.Semaphore(1),
            settings=SimpleNamespace(max_queue_wait_s=0.2),
        )
        limit = ConcurrencyLimit(slow_app)
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        async with anyio.create_task_group() as tg:
            tg.start_soon(limit, _scope(state), receive, send)  # holds the only slot
            await anyio.sleep(0.05)
            await limit(_scope(state), receive, send)  # waits 0.2 s, then 503
            release.set()
        start = sent[0]
        assert start["status"] == 503
        assert (b"retry-after", b"2") in start["headers"]

    anyio.run(main)


def test_the_body_limit_replays_the_body_it_read():
    async def main():
        seen = []

        async def app(scope, receive, send):
            seen.append(await receive())

        messages = iter(
            [
                {"type": "http.request", "body": b"ab", "more_body": True},
                {"type": "http.request", "body": b"cd", "more_body": False},
            ]
        )

        async def receive():
            return next(messages)

        async def send(message):
            raise AssertionError(message)

        state = SimpleNamespace(settings=SimpleNamespace(max_body_bytes=10))
        await BodyLimit(app)(_scope(state), receive, send)
        assert seen == [{"type": "http.request", "body": b"abcd", "more_body": False}]

    anyio.run(main)
