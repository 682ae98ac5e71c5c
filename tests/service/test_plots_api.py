"""The plot route: images of a succeeded fit, held-out runs of a backtest, errors as problems."""

from __future__ import annotations

import inspect

import pytest

import plots
from service.routes.plots import read_plot
from tests.service.test_api import assert_problem
from tests.service.test_planning_api import app_with_fits
from tests.tiers import thorough


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with app_with_fits(
        tmp_path_factory,
        "plots",
        chinchilla={},
        backtest={"holdout": {"below": {"params": 5e8}}},
        scale_time={"dataset": "curves", "family": "scale_time"},
    ) as api:
        yield api


def get(api, fit, path, keys=None, **params):
    return api.client.get(
        f"/v1/projects/alpha/fits/{fit}/plots/{path}",
        params=params,
        headers=(keys or api.keys).headers("read"),
    )


@pytest.mark.parametrize(
    ("fmt", "media", "magic"),
    [("png", "image/png", b"\x89PNG"), ("svg", "image/svg+xml", b"<?xml")],
)
def test_a_plot_in_each_format(api, fmt, media, magic):
    r = get(api, api.fits.chinchilla, f"fit.{fmt}", group="transformer")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    assert r.content.startswith(magic) and len(r.content) > 5_000


def test_every_kind_the_family_takes(api):
    """Each kind through the route (CI's run; the fast tier routes three, plots render all)."""
    kinds = list(plots.KINDS) if thorough() else ["fit", "iso_loss", "frontier"]
    for kind in kinds:
        fit = api.fits.scale_time if kind == "iso_loss" else api.fits.chinchilla
        if kind in ("double_descent", "members"):
            continue  # no double_descent or auto fit here; refused below
        r = get(api, fit, f"{kind}.png")
        assert r.status_code == 200, (kind, r.text)


def test_a_backtest_marks_its_held_out_runs(api):
    """The held-out runs come from the fit's own split; an ordinary fit marks none."""
    held = get(api, api.fits.backtest, "fit.svg", input="params").content
    plain = get(api, api.fits.chinchilla, "fit.svg", input="params").content
    assert held.count(b"held out") >= 1 and plain.count(b"held out") == 0


def test_options_reach_the_plot(api):
    one = get(api, api.fits.chinchilla, "frontier.svg", budgets=[1e19, 1e21], group="mamba")
    assert one.status_code == 200, one.text
    r = get(api, api.fits.chinchilla, "trace.png", var=["sigma"])
    assert r.status_code == 200, r.text


def test_unknown_fit_is_404(api):
    assert_problem(get(api, "0" * 32, "fit.png"), 404, "fit_id")


def test_a_fit_that_has_not_succeeded_is_409(api):
    assert_problem(get(api, api.fits.queued, "fit.png"), 409, "fit_id")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("nope.png", {}, "kind"),
        ("fit.jpg", {}, "fmt"),
        ("fit.png", {"target": 2.0}, "target"),
        ("fit.png", {"group": "gpt-9"}, "group"),
        ("frontier.png", {"budgets": ["x"]}, "budgets.0"),
        ("frontier.png", {"budgets": [-1.0]}, "budgets"),
        ("iso_loss.png", {}, "kind"),
        ("double_descent.svg", {}, "kind"),
    ],
)
def test_bad_requests_are_422_naming_the_field(api, path, params, field):
    body = assert_problem(get(api, api.fits.chinchilla, path, **params), 422, field)
    if path.startswith("iso_loss"):
        assert "scale_time" in body["detail"] and "chinchilla" in body["detail"]


def test_another_projects_key_sees_nothing(api):
    assert_problem(get(api, api.fits.chinchilla, "fit.png", keys=api.other), 404, "project")


def test_the_route_offers_every_plot_option():
    """Query parameters and the registry's options stay in step."""
    query = set(inspect.signature(read_plot).parameters) - {
        "fit_id",
        "kind",
        "fmt",
        "project",
        "session",
        "settings",
        "cache",
    }
    assert query == set(plots.option_names())


def test_openapi_declares_both_image_types(api):
    openapi = api.client.get("/openapi.json").json()
    op = openapi["paths"]["/v1/projects/{project}/fits/{fit_id}/plots/{kind}.{fmt}"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"image/png", "image/svg+xml"}
    assert {"404", "409", "422"} <= set(op["responses"])
