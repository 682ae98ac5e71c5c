"""POST /fits/{id}/peak: where the fitted curve peaks, through the API (sampler mocked)."""

from types import SimpleNamespace

import numpy as np
import pytest

import models
from service.config import Settings
from tests.service.conftest import add_dataset, make_project, mocked_app
from tests.service.test_api import assert_problem
from tests.service.test_fits import submit
from tests.service.test_planning_api import fitted

TRUTH = {"E": 0.01, "A": 1.0, "alpha": 1.0, "kappa": 1.0, "h0": 1.0, "w": 0.5}


def sweep_rows():
    """A model-wise double-descent sweep: N from 10 to 1000 at D = 100."""
    n = np.geomspace(10.0, 1000.0, 25)
    inputs = {"params": n, "data": np.full(len(n), 100.0)}
    fam = models.get_family("double_descent")
    data = models.simulate.simulate(fam, TRUTH, inputs, noise=0.02, seed=2)
    rows = zip(n, inputs["data"], data.loss, strict=True)
    return [{"params": p, "data": d, "loss": y} for p, d, y in rows]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("peak"), workers=0)
    with mocked_app(settings) as client:
        keys, other = make_project(settings, "alpha"), make_project(settings, "beta")
        add_dataset(client, keys, "sweep", sweep_rows())
        fits = SimpleNamespace(
            dd=fitted(client, keys, dataset="sweep", family="double_descent"),
            queued=submit(client, keys, dataset="sweep", family="double_descent").json()["id"],
        )
        yield SimpleNamespace(client=client, keys=keys, other=other, fits=fits)


def post(api, body, fit="dd", keys=None):
    url = f"/v1/projects/alpha/fits/{getattr(api.fits, fit)}/peak"
    return api.client.post(url, json=body, headers=(keys or api.keys).headers("read"))


def test_the_route_answers_what_the_library_computes(api):
    body = {"axis": "params", "at": {"data": 100.0}, "probs": [0.9]}
    r = post(api, body)
    assert r.status_code == 200, r.text
    peak = r.json()
    assert peak["fit_id"] == api.fits.dd and peak["axis"] == "params"
    assert peak["at"] == {"data": 100.0} and peak["bracket"] == pytest.approx([10.0, 1000.0])
    posterior = api.client.get(
        f"/v1/projects/alpha/fits/{api.fits.dd}/posterior", headers=api.keys.headers("read")
    )
    fit = models.load_fit(posterior.content)
    expected = models.curve_peak(fit, "params", {"data": 100.0}, probs=(0.9,))
    assert peak["probability"] == pytest.approx(expected.probability)
    if expected.median is None:
        assert peak["median"] is None and peak["intervals"] == {"90": None}
    else:
        assert peak["median"] == pytest.approx(expected.median)
        assert peak["intervals"]["90"] == pytest.approx(list(expected.interval(0.9)))


def test_a_bracket_limits_the_search(api):
    r = post(api, {"axis": "params", "at": {"data": 100.0}, "bracket": [20.0, 50.0]})
    assert r.status_code == 200, r.text
    assert r.json()["bracket"] == [20.0, 50.0]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"axis": "size", "at": {"data": 100.0}}, 422, "axis"),
        ({"axis": "steps", "at": {"data": 100.0}}, 422, "axis"),
        ({"axis": "params"}, 422, "at"),
        ({"axis": "params", "at": {"data": 100.0, "steps": 1.0}}, 422, "at"),
        ({"axis": "params", "at": {"data": 0.0}}, 422, "at"),
        ({"axis": "params", "at": {"data": -1.0}}, 422, "at.data"),
        ({"axis": "params", "at": {"data": 100.0}, "bracket": [50.0, 20.0]}, 422, "bracket"),
        ({"axis": "params", "at": {"data": 100.0}, "bracket": [0.0, 20.0]}, 422, "bracket.0"),
        ({"axis": "params", "at": {"data": 100.0}, "group": "nope"}, 422, "group"),
        ({"axis": "params", "at": {"data": 100.0}, "extra": 1}, 422, "extra"),
    ],
)
def test_bad_requests_are_422_naming_the_field(api, body, status, field):
    assert_problem(post(api, body), status, field)


def test_a_queued_fit_is_a_conflict_and_other_projects_see_nothing(api):
    body = {"axis": "params", "at": {"data": 100.0}}
    assert_problem(post(api, body, fit="queued"), 409, "fit_id")
    assert_problem(post(api, body, keys=api.other), 404, "project")
