"""CSV uploads that name their group, run, inputs or loss under other column names."""

from __future__ import annotations

import pytest

from tests.service.test_api import assert_problem, count, create_dataset

CSV = "n_params,tokens,final_loss,architecture,seed,group\n1e8,2e9,3.1,t,a,x\n2e8,4e9,2.9,m,b,x\n"
URL = "/v1/projects/alpha/datasets/runs/observations"


def upload(client, keys, params, body: str = CSV, content_type: str = "text/csv"):
    return client.post(
        URL,
        params=params,
        content=body,
        headers=keys.headers("write") | {"Content-Type": content_type},
    )


def test_mapped_columns_are_read_as_their_fields(client, keys):
    create_dataset(client, keys)
    params = [
        ("group_col", "architecture"),
        ("run_col", "seed"),
        ("map", "params=n_params"),
        ("map", "data=tokens"),
        ("map", "loss=final_loss"),
    ]
    r = upload(client, keys, params)
    assert r.status_code == 201, r.text
    rows = client.get(URL, headers=keys.headers("read")).json()["data"]
    assert [(r["group"], r["run"], r["params"], r["data"], r["loss"]) for r in rows] == [
        ("t", "a", 1e8, 2e9, 3.1),
        ("m", "b", 2e8, 4e9, 2.9),
    ]
    # the column that was named group is kept, as metadata that cannot be read as the group
    assert rows[0]["meta"] == {"group_": "x", "run": "a"}


def test_map_takes_group_and_run_too(client, keys):
    create_dataset(client, keys)
    r = upload(client, keys, [("map", "group=architecture"), ("map", "params=n_params"),
                              ("map", "loss=final_loss")])  # fmt: skip
    assert r.status_code == 201, r.text
    rows = client.get(URL, headers=keys.headers("read")).json()["data"]
    assert [r["group"] for r in rows] == ["t", "m"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ([("map", "params")], "map", "is not FIELD=COLUMN"),
        ([("map", "width=n_params")], "map", "'width' is not a field"),
        ([("map", "loss=final_loss"), ("map", "loss=tokens")], "map", "names loss twice"),
        ([("map", "params=tokens"), ("map", "data=tokens")], "map", "'tokens' is mapped to"),
        ([("group_col", "arch")], "group_col", "'arch' (group_col) is not in the CSV header"),
        ([("run_col", " ")], "run_col", "run_col is empty"),
        ([("map", "group=seed"), ("group_col", "architecture")], "group_col", "both name"),
    ],
)
def test_a_bad_mapping_is_a_422_naming_its_parameter_and_stores_nothing(
    client, keys, params, field, words
):
    create_dataset(client, keys)
    body = assert_problem(upload(client, keys, params), 422, field=field)
    assert words in body["detail"]
    assert count(client, keys) == 0


def test_a_mapping_with_a_json_body_is_refused(client, keys):
    create_dataset(client, keys)
    rows = '{"rows": [{"params": 1e8, "loss": 3.0}]}'
    r = upload(client, keys, [("group_col", "architecture")], rows, "application/json")
    body = assert_problem(r, 422, field="group_col")
    assert "a JSON body names its fields" in body["detail"]
    assert count(client, keys) == 0


def test_counts_with_a_magnitude_suffix_are_read_in_a_csv_not_in_json(client, keys):
    create_dataset(client, keys)
    r = upload(client, keys, [], "params,loss\n125m,3.1\n1.3B,2.5\n")
    assert r.status_code == 201, r.text
    rows = client.get(URL, headers=keys.headers("read")).json()["data"]
    assert [r["params"] for r in rows] == [1.25e8, 1.3e9]
    body = assert_problem(upload(client, keys, [], "params,loss\n1e8,2m\n"), 422)
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(0, "loss")}
    rows_json = '{"rows": [{"params": "1.3B", "loss": 3.0}]}'
    body = assert_problem(upload(client, keys, [], rows_json, "application/json"), 422)
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(0, "params")}
    assert count(client, keys) == 2


def test_a_csv_without_a_header_row_is_named_as_such(client, keys):
    create_dataset(client, keys)
    body = assert_problem(upload(client, keys, [], "63.5,2.391\n75.2,2.369\n"), 422, field="loss")
    assert "no header row" in body["detail"] and "'63.5', '2.391'" in body["detail"]
    r = upload(client, keys, [("map", "loss=y")], "63.5,2.391\n75.2,2.369\n")
    assert "no header row" in assert_problem(r, 422, field="map")["detail"]
    assert count(client, keys) == 0


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_or_semicolon_separated_uploads_are_read(client, keys, sep):
    create_dataset(client, keys)
    params = [("group_col", "architecture"), ("map", "params=n_params"), ("map", "loss=final_loss")]
    r = upload(client, keys, params, CSV.replace(",", sep))
    assert r.status_code == 201, r.text
    rows = client.get(URL, headers=keys.headers("read")).json()["data"]
    assert [(r["group"], r["params"], r["loss"]) for r in rows] == [
        ("t", 1e8, 3.1),
        ("m", 2e8, 2.9),
    ]
