"""The fit page offers only what the fit can do, and explains verdicts that look contradictory."""

from __future__ import annotations

from service.dashboard.checks import diagnostic_checks, pareto_advice
from tests.dashboard.test_pages import make_dataset, queue_fit
from tests.service.test_fits import run_worker

ONE_INPUT_CSV = "params,loss\n" + "".join(
    f"{n:.3g},{1.7 + 400 / n**0.3:.4f}\n" for n in (1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9, 3e9)
)


def test_a_fit_that_cannot_plan_shows_no_plan_form_and_says_why(as_role, client, mock_sampler):
    c, csrf = as_role("write")
    make_dataset(c, csrf, csv=ONE_INPUT_CSV)
    fit_id = queue_fit(c, csrf, family="power_law").headers["location"].removeprefix("/fits/")
    run_worker(client)
    page = c.get(f"/fits/{fit_id}").text
    assert "status-succeeded" in page
    assert 'id="plan-unavailable"' in page and "chinchilla" in page
    assert f'action="/fits/{fit_id}/plan' not in page

    make_dataset(c, csrf, name="two")  # the two-input example: the form is there
    fit_id = queue_fit(c, csrf, dataset="two").headers["location"].removeprefix("/fits/")
    run_worker(client)
    page = c.get(f"/fits/{fit_id}").text
    assert f'action="/fits/{fit_id}/plan' in page and 'id="plan-unavailable"' not in page


def diagnostics(converged: bool, k: float) -> dict:
    return {
        "converged": converged,
        "chains": 4,
        "r_hat_max": 1.001,
        "ess_bulk_min": 2000,
        "ess_tail_min": 2000,
        "divergences": 0,
        "bfmi_min": 0.9,
        "pareto_k_max": k,
        "thresholds": {
            "r_hat_max": 1.01,
            "ess_per_chain_min": 100,
            "divergences_max": 0,
            "bfmi_min": 0.3,
            "pareto_k_max": 0.7,
        },
    }


def test_converged_with_a_red_pareto_k_says_what_to_do():
    d = diagnostics(converged=True, k=1.2)
    advice = pareto_advice(d, diagnostic_checks(d))
    assert "student_t" in advice and "backtest" in advice and "sampler" in advice
    for quiet in (diagnostics(converged=True, k=0.4), diagnostics(converged=False, k=1.2)):
        assert pareto_advice(quiet, diagnostic_checks(quiet)) == ""
