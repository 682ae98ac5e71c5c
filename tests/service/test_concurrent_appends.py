"""1,000 concurrent observation appends (200 in the fast tier) from many clients, with and
without idempotency keys and with duplicated retries: exactly the right rows stored, none lost
or doubled.

Runs on SQLite (one writer at a time, WAL, busy timeout) and on the machine's PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from tests.service.conftest import make_project
from tests.tiers import thorough

REQUESTS = 1000 if thorough() else 200  # CI's run, the fast tier (tests/tiers.py)
UNIQUE = REQUESTS // 2  # plain appends, each its own batch
KEYED = REQUESTS // 4  # idempotency keys, each sent twice at once (a retry racing the original)


def requests() -> list[tuple[str | None, list[dict]]]:
    out = []
    for i in range(UNIQUE):
        out.append((None, rows(f"u{i}")))
    for i in range(KEYED):
        out += [(f"retry-{i}", rows(f"k{i}"))] * 2
    # interleave so retries race each other and the plain appends
    return [out[j] for j in sorted(range(len(out)), key=lambda j: (j * 7919) % len(out))]


def rows(run: str) -> list[dict]:
    return [
        {"params": 1e8 * (1 + k), "loss": 3.0 - 0.1 * k, "meta": {"run": run, "k": k}}
        for k in range(2)
    ]


def hammer(settings: Settings) -> None:
    keys = make_project(settings, "alpha")
    with TestClient(create_app(settings)) as client:
        h = keys.headers("write")
        client.post("/v1/projects/alpha/datasets", json={"name": "runs"}, headers=h)

        def post(item: tuple[str | None, list[dict]]) -> tuple[str | None, int]:
            key, body = item
            headers = h | ({"Idempotency-Key": key} if key else {})
            r = client.post(
                "/v1/projects/alpha/datasets/runs/observations",
                json={"rows": body},
                headers=headers,
            )
            return key, r.status_code

        work = requests()
        assert len(work) == REQUESTS
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(post, work))
        plain = Counter(code for key, code in results if key is None)
        assert plain == {201: UNIQUE}, plain
        per_key: dict[str, list[int]] = {}
        for key, code in results:
            if key is not None:
                per_key.setdefault(key, []).append(code)
        assert all(sorted(codes) == [200, 201] for codes in per_key.values()), per_key

        stored, after = [], 0
        while True:
            page = client.get(
                f"/v1/projects/alpha/datasets/runs/observations?after={after}&limit=1000",
                headers=keys.headers("read"),
            ).json()
            stored += page["data"]
            if page["next_after"] is None:
                break
            after = page["next_after"]
        seen = Counter((r["meta"]["run"], r["meta"]["k"]) for r in stored)
        expected = {(f"u{i}", k) for i in range(UNIQUE) for k in range(2)} | {
            (f"k{i}", k) for i in range(KEYED) for k in range(2)
        }
        assert set(seen) == expected and set(seen.values()) == {1}
        assert len(stored) == 2 * (UNIQUE + KEYED)


def test_sqlite(tmp_path):
    hammer(Settings(data_dir=tmp_path, workers=0, rate_limit_per_minute=0))


def test_postgres(pg_settings):
    hammer(pg_settings.model_copy(update={"rate_limit_per_minute": 0}))
