"""No API key ever reaches a log: not on success, not when refused, not in an error's traceback."""

from __future__ import annotations

import logging

import pytest

from service import security
from tests.service.conftest import add_dataset


@pytest.fixture
def all_logs(caplog):
    """Every record of every logger, DEBUG and up (uvicorn, sqlalchemy, bayescale, dramatiq)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def test_keys_never_reach_the_logs(client, keys, all_logs):
    unknown, _, _ = security.new_key()
    add_dataset(client, keys)
    created = client.post(
        "/v1/projects/alpha/keys", json={"role": "write"}, headers=keys.headers("admin")
    ).json()
    new = created["key"]
    revoked = client.delete(
        f"/v1/projects/alpha/keys/{created['prefix']}", headers=keys.headers("admin")
    )
    assert revoked.status_code == 200
    calls = [
        ("get", "/v1/projects/alpha/datasets", keys.headers("read"), 200),
        ("get", "/v1/projects/alpha/datasets", {"Authorization": f"Bearer {unknown}"}, 401),
        ("get", "/v1/projects/alpha/datasets", {"Authorization": f"Bearer {new}"}, 401),
        ("get", "/v1/projects/beta/datasets", keys.headers("admin"), 404),
        ("post", "/v1/projects/alpha/datasets", keys.headers("read"), 403),
        ("get", "/v1/projects/alpha/datasets", {"Authorization": keys.admin}, 401),  # no Bearer
    ]
    for method, path, headers, status in calls:
        assert (
            client.request(method, path, headers=headers, json={"name": "x"}).status_code == status
        )
    secrets = [keys.admin, keys.write, keys.read, unknown, new]
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in all_logs.records)
    assert all_logs.records, "nothing was logged: the check would be vacuous"
    for secret in secrets:
        assert secret not in text
        assert secret[12:] not in text  # nor the secret part without its public prefix
