"""The dashboard shows each observation's run and what thinning kept of a fit's runs."""

from __future__ import annotations

from tests.dashboard.test_pages import cells, make_dataset, queue_fit
from tests.service.test_fits import run_worker

TRAJECTORIES = "steps,loss,run\n" + "".join(
    f"{s},{2 + 20 * s**-0.4:.6f},{run}\n" for run in ("a", "b") for s in range(100, 2100, 100)
)


def test_dataset_table_has_a_run_column_only_with_runs(as_role):
    c, csrf = as_role("write")
    make_dataset(c, csrf, "traj", TRAJECTORIES)
    page = c.get("/datasets/traj")
    assert "<th>run</th>" in page.text
    rows = cells(page.text, "observations")
    assert [r[4] for r in rows[:2]] == ["a", "a"] and rows[-1][4] == "b"
    make_dataset(c, csrf, "plain", "steps,loss\n100,3\n200,2.9\n")
    assert "<th>run</th>" not in c.get("/datasets/plain").text


def test_fit_page_reports_thinning(as_role, client, mock_sampler):
    c, csrf = as_role("write")
    make_dataset(c, csrf, "runs", TRAJECTORIES)
    r = queue_fit(c, csrf, family="power_law", family_options="x=steps")
    assert r.status_code == 303, r.text
    fit_id = r.headers["location"].removeprefix("/fits/")
    assert run_worker(client) == fit_id
    done = c.get(f"/fits/{fit_id}").text
    assert 'id="thinning"' in done and "2 runs, thinned to at most 30" in done
    assert "40 → 40 rows" in done
