"""The client against a live uvicorn on loopback: real sockets, real timeouts."""

from __future__ import annotations

import pytest

from models.simulate import EXAMPLE_ARCHITECTURES
from service.client import BayescaleError, Client
from tests.client.conftest import free_port, live_server
from tests.utils import example_rows


def test_log_fit_wait_predict_over_tcp(live):
    """The pipeline path: report runs, fit, wait, predict the next scale."""
    with Client(live.url, live.keys.write, "alpha", timeout=5) as client:
        client.create_dataset("runs", exist_ok=True)
        for i, row in enumerate(example_rows(4)):
            client.log_observation("runs", run=f"run-{i}", step=1000, **row)
        assert client.get_dataset("runs").observations == 16
        handle = client.fit("runs", sampler={"draws": 40, "tune": 10, "chains": 2})
        handle.wait(timeout=60, poll=0.1)
        pred = handle.predict([{"params": 7e9, "data": 1.4e11}], group="mamba")
        assert pred.group == "mamba" and pred.predictions[0]["region"] == "extrapolation"
        assert client.latest_fit("runs").id == handle.id


def test_server_down_is_unreachable_after_retries():
    """Nothing listening: every attempt is refused, then one BayescaleError without status."""
    sleeps: list[float] = []
    client = Client(f"http://127.0.0.1:{free_port()}", "k", retries=2, sleep=sleeps.append)
    with pytest.raises(BayescaleError) as exc:
        client.health()
    assert exc.value.status is None and "ConnectError" in exc.value.detail and len(sleeps) == 2


@pytest.mark.slow
def test_real_nuts_end_to_end(settings):
    """Real sampling behind a live server: it converges and the interval covers the truth."""
    e, a, b, alpha, beta = EXAMPLE_ARCHITECTURES["transformer"]
    point = {"params": 3e8, "data": 6e9}
    truth = e + a * point["params"] ** -alpha + b * point["data"] ** -beta
    with live_server(settings) as server, Client(server.url, server.keys.write, "alpha") as client:
        client.create_dataset("runs")
        client.log_observations("runs", example_rows(8))
        sampler = {"draws": 1000, "tune": 1000, "chains": 2, "seed": 1}
        handle = client.fit("runs", sampler=sampler)
        info = handle.result(timeout=900)
        assert info.status == "succeeded" and info.converged, info.diagnostics
        pred = handle.predict([point], group="transformer", probs=[0.9])
        lo, hi = pred.predictions[0]["new_run_interval"]["90"]
        assert lo < truth < hi
