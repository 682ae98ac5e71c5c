"""Client fixtures: the real app in process (ASGI) and on a live uvicorn, with a fit worker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from service import jobs
from service.client import Client
from service.config import Settings
from service.main import create_app
from tests.service.conftest import Keys, make_project


class AppTransport(httpx.BaseTransport):
    """Requests of a sync ``httpx.Client`` answered by the app inside a running TestClient."""

    def __init__(self, app_client: TestClient) -> None:
        self.app_client = app_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # TestClient speaks its own httpx fork's types: rebuild the request in its terms
        answer = self.app_client.request(
            request.method,
            str(request.url),
            headers=dict(request.headers),
            content=request.read(),
            follow_redirects=False,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


Fault = Callable[[httpx.Request, httpx.BaseTransport], httpx.Response]


@dataclass
class FaultyTransport(httpx.BaseTransport):
    """Plays ``faults`` one per request (None: pass through), then passes everything through."""

    inner: httpx.BaseTransport
    faults: list[Fault | None] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = self.faults.pop(0) if self.faults else None
        return fault(request, self.inner) if fault else self.inner.handle_request(request)


def refused(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """The connection was refused: the server never saw the request."""
    raise httpx.ConnectError("connection refused", request=request)


def lost_answer(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """The server handled the request but the answer never arrived (the dangerous case)."""
    inner.handle_request(request)
    raise httpx.ReadTimeout("read timed out", request=request)


def status(code: int, **headers: str) -> Fault:
    """A proxy's answer with ``code`` instead of the server's."""

    def answer(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        return httpx.Response(code, headers=headers, text="upstream unavailable")

    return answer


@dataclass
class Server:
    """The app with project ``alpha`` (keys of every role) and a fit worker thread."""

    settings: Settings
    keys: Keys
    transport: httpx.BaseTransport | None
    url: str
    sleeps: list[float] = field(default_factory=list)

    def client(self, role: str = "write", **options) -> Client:
        """A client of project alpha whose waits are recorded and cut to 20 ms."""
        options.setdefault("transport", self.transport)
        options.setdefault("sleep", self.nap)
        return Client(self.url, getattr(self.keys, role), "alpha", **options)

    def nap(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(min(seconds, 0.02))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, workers=0)


@contextmanager
def fit_worker(sessions) -> Iterator[None]:
    """An in-process worker thread (so a monkeypatched sampler applies), stopped afterwards."""
    stop = threading.Event()
    thread = threading.Thread(
        target=jobs.work,
        args=(sessions,),
        kwargs={"lease_s": 60, "stop": stop, "idle_s": 0.05},
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture
def asgi(settings, mock_sampler) -> Iterator[Server]:
    """The app in process behind an httpx transport (lifespan run by TestClient)."""
    with TestClient(create_app(settings)) as app_client:
        keys = make_project(settings, "alpha")
        with fit_worker(app_client.app.state.sessions):
            yield Server(settings, keys, AppTransport(app_client), "http://testserver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(settings: Settings) -> Iterator[Server]:
    """uvicorn on a free loopback port in a thread, with a fit worker thread."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        keys = make_project(settings, "alpha")
        with fit_worker(app.state.sessions):
            yield Server(settings, keys, None, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def live(settings, mock_sampler) -> Iterator[Server]:
    """A live server whose fits sample from the prior (fast tier)."""
    with live_server(settings) as server:
        yield server
