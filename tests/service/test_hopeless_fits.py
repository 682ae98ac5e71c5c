"""Slow tier: fits that cannot succeed end with a reason, never hang (real NUTS, in-process worker).

Too few points for the family (refused at submission), a surface with an unidentified half, a
time limit that cannot be met: each ends ``failed`` with its reason and field, or ``succeeded``
with ``converged`` false or warnings that say why the answer is weak.
"""

from __future__ import annotations

import time

import pytest

from service import jobs
from tests.service.test_fits import submit

pytestmark = pytest.mark.slow


def upload(client, keys, rows):
    h = keys.headers("write")
    assert client.post("/v1/projects/alpha/datasets", json={"name": "runs"}, headers=h).is_success
    r = client.post("/v1/projects/alpha/datasets/runs/observations", json={"rows": rows}, headers=h)
    assert r.status_code == 201, r.text


def finish(client, keys, fit_id, *, time_limit_s=120.0):
    sessions = client.app.state.sessions
    assert jobs.claim(sessions, "w", lease_s=600) == fit_id
    start = time.monotonic()
    jobs.run(sessions, fit_id, worker="w", time_limit_s=time_limit_s)
    assert time.monotonic() - start < time_limit_s + 60  # ended, and near its limit at worst
    return client.get(f"/v1/projects/alpha/fits/{fit_id}", headers=keys.headers("read")).json()


def chinchilla(n, d):
    return 1.8 + 400 * n**-0.34 + 400 * d**-0.28


def test_too_few_points_are_refused_with_the_reason(client, keys):
    upload(
        client,
        keys,
        [{"params": n, "data": 2e10, "loss": chinchilla(n, 2e10)} for n in (1e8, 1e9, 1e10)],
    )
    r = submit(client, keys)  # refused before queueing: nothing to wait for
    assert r.status_code == 422 and r.json()["field"] == "loss", r.text
    assert "3 observations cannot fit 5 parameters" in r.json()["detail"]
    assert client.get("/v1/projects/alpha/fits", headers=keys.headers("read")).json()["count"] == 0


def test_unidentified_data_term_succeeds_with_warnings(client, keys):
    """Every run at one data size: B and beta are not identified, and the fit must say so."""
    sizes = [1e7 * 2.2**i for i in range(10)]
    upload(
        client,
        keys,
        [
            {
                "params": n,
                "data": 2e10,
                "loss": chinchilla(n, 2e10) * (1 + 0.01 * ((3 * i) % 5 - 2)),
            }
            for i, n in enumerate(sizes)
        ],
    )
    r = submit(client, keys, sampler={"draws": 300, "tune": 300, "chains": 2, "seed": 3})
    done = finish(client, keys, r.json()["id"])
    assert done["status"] == "succeeded", done
    codes = {w["code"] for w in done["warnings"]}
    assert done["converged"] is False or codes & {"prior_dominates", "too_few_points"}, done


def test_a_time_limit_that_cannot_be_met_fails_with_the_reason(client, keys):
    sizes = [1e7 * 2.2**i for i in range(10)]
    upload(
        client, keys, [{"params": n, "data": 5 * n, "loss": chinchilla(n, 5 * n)} for n in sizes]
    )
    r = submit(client, keys, sampler={"draws": 4000, "tune": 4000, "chains": 4, "seed": 1})
    done = finish(client, keys, r.json()["id"], time_limit_s=2.0)
    assert done["status"] == "failed", done
    assert "time limit" in done["error"]["reason"] and done["error"]["field"] == "sampler"
