"""The client against the real app in process: every route as a typed method."""

from __future__ import annotations

import logging
from unittest.mock import patch

import numpy as np
import pytest

import models
from service.client import BayescaleError, FitFailedError, FitHandle
from service.schemas import BatchResponse, DatasetResponse, FitResponse, PredictResponse
from tests.utils import example_rows, replace_sampler

CSV = "params,data,loss,group,run\n1e8,2e9,3.1,transformer,a\n2e8,4e9,2.9,transformer,b\n"


def test_datasets_and_observations_round_trip(asgi):
    """Create, list, get, append (dicts and CSV) and page through observations."""
    client = asgi.client()
    made = client.create_dataset("runs", "the sweep")
    assert isinstance(made, DatasetResponse) and made.observations == 0
    assert client.create_dataset("runs", exist_ok=True).id == made.id
    with pytest.raises(BayescaleError) as exc:
        client.create_dataset("runs")
    assert exc.value.status == 409
    batch = client.append_observations("runs", example_rows(2))
    assert isinstance(batch, BatchResponse) and batch.rows == 8 and not batch.replayed
    csv = client.append_observations("runs", CSV)
    assert csv.rows == 2
    assert [d.name for d in client.list_datasets()] == ["runs"]
    assert client.get_dataset("runs").observations == 10
    page = client.list_observations("runs", limit=4)
    assert len(page.data) == 4 and page.next_after == page.data[-1].id
    rows = list(client.iter_observations("runs", page_size=3))
    assert len(rows) == 10 and rows[-1].meta == {"run": "b"} and rows[-1].group == "transformer"
    assert rows[-1].run == "b" and rows[0].run is None
    assert [r.id for r in rows] == sorted(r.id for r in rows)


def test_log_observation_stores_a_step_once(asgi):
    """A retried or repeated report of the same (run, step) never doubles a row."""
    client = asgi.client()
    client.create_dataset("runs")
    first = client.log_observation("runs", loss=2.5, params=1e8, data=2e9, run="r1", step=100)
    again = client.log_observation("runs", loss=2.5, params=1e8, data=2e9, run="r1", step=100)
    assert first is not None and again is not None
    assert not first.replayed and again.replayed and again.batch_id == first.batch_id
    client.log_observation("runs", loss=2.4, params=1e8, data=2e9, run="r1", step=200)
    rows = client.list_observations("runs").data
    assert [(r.loss, r.meta, r.run) for r in rows] == [
        (2.5, {"run": "r1", "step": 100}, "r1"),
        (2.4, {"run": "r1", "step": 200}, "r1"),
    ]
    with pytest.raises(BayescaleError) as exc:  # same step, another loss: a conflict, not a row
        client.log_observation("runs", loss=9.9, params=1e8, data=2e9, run="r1", step=100)
    assert exc.value.status == 409 and exc.value.field == "Idempotency-Key"
    assert client.get_dataset("runs").observations == 2


def test_log_observation_without_raising_keeps_training(asgi, caplog):
    """raise_on_error=False: a failure is a logged warning and None, never an exception."""
    client = asgi.client()
    with caplog.at_level(logging.WARNING, logger="bayescale.client"):
        answer = client.log_observation("missing", loss=2.0, params=1e8, raise_on_error=False)
    assert answer is None
    assert "observation not logged to missing" in caplog.text and "404" in caplog.text


def test_log_observations_batches_and_replays(asgi):
    """Rows go in batches keyed by content: sending them again stores nothing."""
    client = asgi.client()
    client.create_dataset("runs")
    rows = example_rows(2)[:7]
    batches = client.log_observations("runs", rows, batch_size=3)
    assert [b.rows for b in batches] == [3, 3, 1] and not any(b.replayed for b in batches)
    again = client.log_observations("runs", rows, batch_size=3)
    assert all(b.replayed for b in again)
    assert client.get_dataset("runs").observations == 7


def test_numpy_scalars_are_sent_as_numbers(asgi):
    """A training loop's numpy (or torch) scalars need no conversion by the caller."""
    client = asgi.client()
    client.create_dataset("runs")
    client.log_observation(
        "runs", loss=np.float32(2.5), params=np.int64(10**8), run="r", step=np.int64(3)
    )
    row = client.list_observations("runs").data[0]
    assert row.loss == 2.5 and row.params == 1e8 and row.meta["step"] == 3


def test_fit_wait_then_every_question(asgi, tmp_path, capsys):
    """Submit, wait with a status line, then predict, plan, compare, suggest, download."""
    client = asgi.client()
    client.create_dataset("runs")
    client.log_observations("runs", example_rows(8))
    handle = client.fit("runs", "chinchilla", sampler={"draws": 40, "tune": 10, "chains": 2})
    assert isinstance(handle, FitHandle) and handle.status == "queued"
    assert handle.wait(timeout=60, poll=0.05, progress=True) is handle
    err = capsys.readouterr().err
    assert f"fit {handle.id[:8]}" in err and "succeeded" in err and "100%" in err
    info = handle.result()
    assert isinstance(info, FitResponse) and info.status == "succeeded"
    assert {p["parameter"] for p in info.parameters} >= {"E", "alpha", "beta"}

    pred = handle.predict([{"params": 7e9, "data": 1.4e11}], probs=[0.9])
    assert isinstance(pred, PredictResponse) and pred.population
    assert pred.predictions[0]["region"] == "extrapolation"
    mamba = client.predict(handle.id, [{"params": 1e8, "data": 2e9}], group="mamba")
    assert mamba.group == "mamba" and not mamba.population
    plan = handle.plan([1e21], group="mamba", probs=[0.9])
    assert plan.budgets[0]["budget"] == 1e21 and plan.group == "mamba"
    prob = handle.probability([{"params": 1e8, "data": 2e9}], 10.0, group="mamba")
    assert 0.0 <= prob.points[0]["probability"] <= 1.0
    compare = handle.compare("mamba", "mamba", 1e21)
    assert compare.probability == pytest.approx(0.5)
    ranked = handle.suggest(
        [{"params": 1e9, "data": 2e10}, {"params": 1e8, "data": 2e9}],
        {"params": 7e9, "data": 1.4e11},
        group="mamba",
        n_outcomes=16,
    )
    assert [c["rank"] for c in ranked.candidates] == [1, 2]
    with pytest.raises(BayescaleError) as exc:  # chinchilla has no scale-time trade-off
        handle.tradeoff(2.0)
    assert exc.value.status == 422 and exc.value.field

    assert "converged" in handle.diagnostics()
    path = handle.download_posterior(tmp_path / "fit.nc")
    assert models.load_fit(path).groups == ["mamba", "rwkv", "transformer", "transformer-moe"]
    assert [f.id for f in client.list_fits(dataset="runs", status="succeeded")] == [handle.id]
    assert client.latest_fit("runs", "chinchilla").id == handle.id
    handle.delete()
    with pytest.raises(BayescaleError) as exc:
        client.get_fit(handle.id)
    assert exc.value.status == 404


def test_backtest_reports_scores(asgi):
    """A backtest is a fit with a holdout; its scores arrive with the result."""
    client = asgi.client()
    client.create_dataset("runs")
    client.log_observations("runs", example_rows(8))
    handle = client.backtest(
        "runs", below={"params": 3e8}, sampler={"draws": 40, "tune": 10, "chains": 2}
    )
    scores = handle.result(timeout=60).backtest
    assert scores is not None and scores["n_train"] + scores["n_test"] == 32
    assert scores["n_test"] > 0 and "rmse_log" in scores["overall"]


def test_failed_fit_raises_with_the_reason(asgi, monkeypatch):
    """wait() turns a failed job into FitFailedError carrying the worker's reason."""

    def broken(*args, **kwargs):
        raise RuntimeError("sampler exploded")

    replace_sampler(monkeypatch, broken)
    client = asgi.client()
    client.create_dataset("runs")
    client.log_observations("runs", example_rows(8))
    handle = client.fit("runs", sampler={"draws": 40, "tune": 10, "chains": 2})
    with pytest.raises(FitFailedError) as exc:
        handle.wait(timeout=60, poll=0.05)
    assert exc.value.fit_id == handle.id and "sampler exploded" in exc.value.detail


def test_wait_times_out_while_queued(settings, mock_sampler):
    """No worker: wait gives up after its timeout with TimeoutError (the fit stays queued)."""
    from fastapi.testclient import TestClient

    from service.client import Client
    from service.main import create_app
    from tests.client.conftest import AppTransport
    from tests.service.conftest import make_project

    with TestClient(create_app(settings)) as app_client:
        keys = make_project(settings, "alpha")
        client = Client("http://t", keys.write, "alpha", transport=AppTransport(app_client))
        client.create_dataset("runs")
        client.log_observations("runs", example_rows(8))
        handle = client.fit("runs")
        with pytest.raises(TimeoutError, match="still queued"):
            handle.wait(timeout=0, poll=1)
        assert client.get_fit(handle).status == "queued"

        # the first polls come soon and double up to ``poll``; the deadline counts the pause
        pauses: list[float] = []

        def pause(seconds: float) -> None:
            pauses.append(seconds)
            clock[0] += seconds

        clock = [0.0]
        client.sleep = pause
        with (
            patch("service.client.fits.time.monotonic", lambda: clock[0]),
            pytest.raises(TimeoutError, match="still queued after 10s"),
        ):
            handle.wait(timeout=10, poll=2)
        assert pauses == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]  # 9.75 s; one more would pass 10


def test_arguments_are_checked_before_sending(asgi):
    """A bad argument is a 422 naming the field, and no request is made."""
    client = asgi.client()
    with pytest.raises(BayescaleError) as exc:
        client.fit("runs", sampler={"draws": 1})
    assert exc.value.status == 422 and exc.value.field == "sampler.draws"
    with pytest.raises(BayescaleError) as exc:
        client.log_observation("runs", loss=-1.0, params=1e8)
    assert exc.value.field == "rows.0.loss"
    with pytest.raises(BayescaleError) as exc:
        client.append_observations("runs", example_rows(1), columns={"group": "arch"})
    assert exc.value.status == 422 and exc.value.field == "columns"


def test_csv_columns_of_other_names_are_read_as_their_fields(asgi):
    client = asgi.client()
    client.create_dataset("runs")
    text = CSV.replace("loss,group,run", "final_loss,arch,seed")
    columns = {"loss": "final_loss", "group": "arch", "run": "seed"}
    assert client.append_observations("runs", text, columns=columns).rows == 2
    rows = list(client.iter_observations("runs"))
    assert [(r.loss, r.group, r.run) for r in rows] == [
        (3.1, "transformer", "a"),
        (2.9, "transformer", "b"),
    ]


def test_server_errors_carry_problem_fields(asgi):
    """401, 403 and a rejected CSV batch arrive as BayescaleError with field and errors."""
    with pytest.raises(BayescaleError) as exc:
        asgi.client("read").create_dataset("x")
    assert exc.value.status == 403 and exc.value.field == "Authorization"
    client = asgi.client()
    client.create_dataset("runs")
    with pytest.raises(BayescaleError) as exc:
        client.append_observations("runs", "params,loss\n1e8,2.0\n2e8,-1\n")
    error = exc.value
    assert error.status == 422 and error.title == "Invalid input"
    assert any("loss" in e["field"] for e in error.errors)
    assert "422 Invalid input" in str(error)


def test_unknown_key_is_401(asgi):
    from service.client import Client

    client = Client(asgi.url, "bsk_nope_nope", "alpha", transport=asgi.transport)
    with pytest.raises(BayescaleError) as exc:
        client.list_datasets()
    assert exc.value.status == 401 and exc.value.field == "Authorization"


def test_keys_families_health(asgi):
    """Admin key routes, and the routes that need no key."""
    admin = asgi.client("admin")
    made = admin.create_key("write", "pipeline")
    assert made.key and made.key.startswith("bsk_") and made.role == "write"
    assert made.prefix in {k.prefix for k in admin.list_keys()}
    assert admin.revoke_key(made.prefix).revoked_at is not None
    with pytest.raises(BayescaleError) as exc:
        asgi.client("write").list_keys()
    assert exc.value.status == 403
    assert "chinchilla" in {f.name for f in admin.families()}
    assert admin.health() == {"status": "ok"}
    assert admin.ready()["status"] == "ready"


def test_fit_of_runs_thins_unless_told_not_to(asgi):
    """``max_per_run``: the server default, a number, or None to keep every checkpoint."""
    client = asgi.client()
    client.create_dataset("runs")
    for step in np.geomspace(100, 1e5, 40):
        loss = 2.0 + 20.0 * step**-0.4
        client.log_observation("runs", loss=loss, steps=step, run="r1", step=int(step))
    sampler = {"draws": 20, "tune": 10, "chains": 1}
    options = {"family_options": {"x": "steps"}, "sampler": sampler}
    kept = {}
    for how in ("default", 10, None):
        handle = client.fit("runs", "power_law", max_per_run=how, **options)  # type: ignore[arg-type]
        info = handle.wait(timeout=60, poll=0.05).result()
        assert info.status == "succeeded", info.error
        kept[how] = (info.spec["max_per_run"], info.diagnostics["thinning"]["rows_after"])
    assert kept == {
        "default": (models.DEFAULT_MAX_PER_RUN, kept["default"][1]),
        10: (10, 10),
        None: (None, 40),
    }
    assert kept["default"][1] <= models.DEFAULT_MAX_PER_RUN
