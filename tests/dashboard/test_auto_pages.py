"""The dashboard defaults to family auto and shows its candidate laws once the fit ran."""

from __future__ import annotations

from tests.dashboard.test_pages import make_dataset, queue_fit
from tests.service.test_fits import run_worker

CURVE = "data,loss\n" + "".join(
    f"{d:.6g},{1.8 + 40 * d**-0.2:.6f}\n" for d in [1e8 * 1.4**i for i in range(20)]
)


def test_auto_fit_page_names_the_candidates(as_role, client, mock_sampler):
    c, csrf = as_role("write")
    assert '<option value="auto" selected>' in c.get("/fits/new?dataset=runs").text
    make_dataset(c, csrf, "runs", CURVE)
    r = queue_fit(c, csrf, family="auto")
    assert r.status_code == 303, r.text
    fit_id = r.headers["location"].removeprefix("/fits/")
    queued = c.get(f"/fits/{fit_id}")
    assert queued.status_code == 200 and 'id="stacking"' not in queued.text
    assert run_worker(client) == fit_id
    done = c.get(f"/fits/{fit_id}").text
    assert 'id="stacking"' in done and "power_law(x=data)" in done
    assert "broken_power_law(breaks=1,x=data)" in done
    assert "90 % interval" in done
