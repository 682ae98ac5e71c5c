import json

import pytest

ROWS = [
    {"params": 1e8, "data": 2e9, "loss": 3.1, "group": "transformer", "meta": {"run": "r1"}},
    {"params": 2e8, "data": 4e9, "loss": 2.9, "group": "transformer"},
    {"params": 1e8, "data": 2e9, "loss": 3.3, "group": "mamba"},
]


def create_dataset(client, keys, name="runs"):
    r = client.post(
        "/v1/projects/alpha/datasets", json={"name": name}, headers=keys.headers("write")
    )
    assert r.status_code == 201, r.text
    return r.json()


def append(client, keys, rows=ROWS, dataset="runs", **headers):
    return client.post(
        f"/v1/projects/alpha/datasets/{dataset}/observations",
        json={"rows": rows},
        headers=keys.headers("write") | headers,
    )


def count(client, keys, dataset="runs"):
    return client.get(
        f"/v1/projects/alpha/datasets/{dataset}", headers=keys.headers("read")
    ).json()["observations"]


def assert_problem(response, status, field=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


class TestHealth:
    def test_health_and_ready(self, client):
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"

    def test_families_are_public(self, client):
        names = {f["name"] for f in client.get("/v1/families").json()}
        assert {"power_law", "chinchilla"} <= names

    def test_openapi_lists_the_routes(self, client):
        paths = client.get("/openapi.json").json()["paths"]
        assert "/v1/projects/{project}/datasets/{dataset}/observations" in paths


class TestAuth:
    def test_missing_key_is_401(self, client, keys):
        assert_problem(client.get("/v1/projects/alpha/datasets"), 401, "Authorization")

    def test_unknown_key_is_401(self, client, keys):
        r = client.get(
            "/v1/projects/alpha/datasets", headers={"Authorization": "Bearer bsk_000000000000_nope"}
        )
        assert_problem(r, 401, "Authorization")

    def test_other_projects_key_is_404_on_every_route(self, client, keys, other):
        create_dataset(client, keys)
        h = other.headers("admin")
        for method, path, body in [
            ("get", "/v1/projects/alpha/datasets", None),
            ("post", "/v1/projects/alpha/datasets", {"name": "x"}),
            ("get", "/v1/projects/alpha/datasets/runs", None),
            ("post", "/v1/projects/alpha/datasets/runs/observations", {"rows": ROWS}),
            ("get", "/v1/projects/alpha/datasets/runs/observations", None),
            ("get", "/v1/projects/alpha/keys", None),
            ("post", "/v1/projects/alpha/keys", {"role": "read"}),
        ]:
            r = client.request(method, path, json=body, headers=h)
            assert_problem(r, 404, "project")
        assert count(client, keys) == 0

    def test_read_key_cannot_write(self, client, keys):
        create_dataset(client, keys)
        r = client.post(
            "/v1/projects/alpha/datasets", json={"name": "x"}, headers=keys.headers("read")
        )
        assert_problem(r, 403, "Authorization")
        assert_problem(append(client, keys, **keys.headers("read")), 403)
        assert count(client, keys) == 0

    def test_write_key_cannot_manage_keys(self, client, keys):
        assert_problem(client.get("/v1/projects/alpha/keys", headers=keys.headers("write")), 403)

    def test_keys_are_created_shown_once_and_revocable(self, client, keys):
        r = client.post(
            "/v1/projects/alpha/keys",
            json={"role": "write", "name": "ci"},
            headers=keys.headers("admin"),
        )
        assert r.status_code == 201
        new = r.json()
        assert new["key"].startswith("bsk_") and new["role"] == "write"
        listed = client.get("/v1/projects/alpha/keys", headers=keys.headers("admin")).json()
        assert all(k["key"] is None for k in listed) and new["prefix"] in {
            k["prefix"] for k in listed
        }
        h = {"Authorization": f"Bearer {new['key']}"}
        assert client.get("/v1/projects/alpha/datasets", headers=h).status_code == 200
        r = client.delete(f"/v1/projects/alpha/keys/{new['prefix']}", headers=keys.headers("admin"))
        assert r.status_code == 200 and r.json()["revoked_at"]
        assert_problem(client.get("/v1/projects/alpha/datasets", headers=h), 401)

    def test_bad_role_names_the_field(self, client, keys):
        r = client.post(
            "/v1/projects/alpha/keys", json={"role": "owner"}, headers=keys.headers("admin")
        )
        assert_problem(r, 422, "role")


class TestDatasets:
    def test_create_list_read(self, client, keys):
        created = create_dataset(client, keys)
        assert created["observations"] == 0
        listed = client.get("/v1/projects/alpha/datasets", headers=keys.headers("read")).json()
        assert listed["count"] == 1 and listed["data"][0]["name"] == "runs"
        by_id = client.get(
            f"/v1/projects/alpha/datasets/{created['id']}", headers=keys.headers("read")
        )
        assert by_id.json()["name"] == "runs"

    def test_duplicate_name_conflicts(self, client, keys):
        create_dataset(client, keys)
        r = client.post(
            "/v1/projects/alpha/datasets", json={"name": "runs"}, headers=keys.headers("write")
        )
        assert_problem(r, 409, "name")

    @pytest.mark.parametrize("name", ["", "../etc", "a b", "x" * 200, "-lead"])
    def test_bad_names_are_refused(self, client, keys, name):
        r = client.post(
            "/v1/projects/alpha/datasets", json={"name": name}, headers=keys.headers("write")
        )
        assert_problem(r, 422, "name")

    def test_unknown_dataset_is_404(self, client, keys):
        assert_problem(
            client.get("/v1/projects/alpha/datasets/nope", headers=keys.headers("read")),
            404,
            "dataset",
        )


class TestObservations:
    def test_append_and_page(self, client, keys):
        create_dataset(client, keys)
        r = append(client, keys)
        assert r.status_code == 201 and r.json()["rows"] == 3 and not r.json()["replayed"]
        page = client.get(
            "/v1/projects/alpha/datasets/runs/observations?limit=2", headers=keys.headers("read")
        ).json()
        assert [o["loss"] for o in page["data"]] == [3.1, 2.9] and page["next_after"] is not None
        assert (
            page["data"][0]["meta"] == {"run": "r1"} and page["data"][0]["group"] == "transformer"
        )
        rest = client.get(
            f"/v1/projects/alpha/datasets/runs/observations?after={page['next_after']}",
            headers=keys.headers("read"),
        ).json()
        assert [o["loss"] for o in rest["data"]] == [3.3] and rest["next_after"] is None

    def test_csv_upload(self, client, keys):
        create_dataset(client, keys)
        csv = "params,data,loss,architecture,run\n1e8,2e9,3.1,t,a\n2e8,4e9,2.9,t,b\n"
        r = client.post(
            "/v1/projects/alpha/datasets/runs/observations",
            content=csv,
            headers=keys.headers("write") | {"Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
        rows = client.get(
            "/v1/projects/alpha/datasets/runs/observations", headers=keys.headers("read")
        ).json()["data"]
        assert rows[0]["meta"] == {"architecture": "t", "run": "a"} and rows[1]["params"] == 2e8

    def test_bad_batch_names_every_bad_row_and_stores_nothing(self, client, keys):
        create_dataset(client, keys)
        rows = [
            dict(ROWS[0]),
            {"params": -1, "loss": 3.0},
            {"params": 1e8, "loss": 0},
            {"params": 1e8},
        ]
        r = append(client, keys, rows)
        body = assert_problem(r, 422)
        got = {(e["row"], e["field"]) for e in body["errors"]}
        assert got == {(1, "params"), (2, "loss"), (3, "loss")}
        assert count(client, keys) == 0

    def test_row_without_inputs_is_refused(self, client, keys):
        create_dataset(client, keys)
        body = assert_problem(append(client, keys, [{"loss": 2.0}]), 422)
        assert body["errors"][0]["row"] == 0
        assert count(client, keys) == 0

    @pytest.mark.parametrize(
        ("content", "ctype"),
        [
            (b"params,loss\n1e8,\xff\xfe\n", "text/csv"),
            (b"params,loss\n1e8,nan\n", "text/csv"),
            (b"params,data\n1e8,2e9\n", "text/csv"),
            (b"{not json", "application/json"),
            (b'{"rows": []}', "application/json"),
            (b'{"rows": [{"params": 1e8, "loss": 2.0, "bogus": 1}]}', "application/json"),
            (b"<xml/>", "application/xml"),
        ],
    )
    def test_malformed_uploads_are_refused(self, client, keys, content, ctype):
        create_dataset(client, keys)
        r = client.post(
            "/v1/projects/alpha/datasets/runs/observations",
            content=content,
            headers=keys.headers("write") | {"Content-Type": ctype},
        )
        assert_problem(r, 415 if ctype == "application/xml" else 422)
        assert count(client, keys) == 0

    def test_nan_in_json_is_refused(self, client, keys):
        create_dataset(client, keys)
        r = client.post(
            "/v1/projects/alpha/datasets/runs/observations",
            content=b'{"rows": [{"params": NaN, "loss": 2.0}]}',
            headers=keys.headers("write") | {"Content-Type": "application/json"},
        )
        assert assert_problem(r, 422)["errors"][0]["field"] == "params"

    def test_idempotent_retry_stores_once(self, client, keys):
        create_dataset(client, keys)
        first = append(client, keys, **{"Idempotency-Key": "run-42-step-1000"})
        again = append(client, keys, **{"Idempotency-Key": "run-42-step-1000"})
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["replayed"] and again.json()["batch_id"] == first.json()["batch_id"]
        assert count(client, keys) == 3

    def test_retry_with_other_whitespace_and_key_order_replays(self, client, keys):
        """The same JSON written differently is the same request (found: raw bytes gave 409)."""
        create_dataset(client, keys)
        rows = [{"params": 1e8, "data": 2e9, "loss": 2.5, "meta": {"a": 1, "b": "x"}}]
        compact = json.dumps({"rows": rows}, separators=(",", ":"))
        spaced = json.dumps(
            {"rows": [dict(reversed(rows[0].items())) | {"meta": {"b": "x", "a": 1}}]}, indent=2
        )
        responses = [
            client.post(
                "/v1/projects/alpha/datasets/runs/observations",
                content=body,
                headers=keys.headers("write")
                | {"Content-Type": "application/json", "Idempotency-Key": "k-canon"},
            )
            for body in (compact, spaced)
        ]
        assert [r.status_code for r in responses] == [201, 200], responses[1].text
        assert responses[1].json()["batch_id"] == responses[0].json()["batch_id"]
        assert count(client, keys) == 1

    def test_reused_key_with_other_body_conflicts(self, client, keys):
        create_dataset(client, keys)
        append(client, keys, **{"Idempotency-Key": "k1"})
        r = append(client, keys, ROWS[:1], **{"Idempotency-Key": "k1"})
        assert_problem(r, 409, "Idempotency-Key")
        assert count(client, keys) == 3

    def test_batch_and_body_limits(self, client, keys):
        create_dataset(client, keys)
        assert_problem(append(client, keys, [ROWS[1]] * 501), 413, "rows")
        huge = json.dumps({"rows": [ROWS[0] | {"meta": {"pad": "x" * 300_000}}]})
        r = client.post(
            "/v1/projects/alpha/datasets/runs/observations",
            content=huge,
            headers=keys.headers("write") | {"Content-Type": "application/json"},
        )
        assert_problem(r, 413, "body")
        assert count(client, keys) == 0


def test_a_failed_commit_is_never_acknowledged(client, keys, monkeypatch):
    """The commit happens before the response: a write whose commit fails is a 503, not a 201."""
    from sqlalchemy.engine import Connection
    from sqlalchemy.exc import OperationalError

    def fail(self, *args, **kwargs):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Connection, "_commit_impl", fail)  # the database's COMMIT itself
    r = client.post(
        "/v1/projects/alpha/datasets", json={"name": "lost"}, headers=keys.headers("write")
    )
    assert_problem(r, 503)
    monkeypatch.undo()
    r = client.get("/v1/projects/alpha/datasets/lost", headers=keys.headers("read"))
    assert_problem(r, 404)
