"""``bayescale plan``, ``suggest`` and ``backtest`` on a fit made with the sampler mocked."""

import json

import pytest

import models
from tests.cli.conftest import SAMPLER
from tests.cli.test_cli import run


@pytest.fixture(scope="module")
def fit_path(example_fit):
    return str(example_fit[0])


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


class TestPlan:
    def test_table_has_a_row_per_budget_and_the_exponent(self, capsys, fit_path):
        code, out, err = run(
            capsys, "plan", fit_path, "--budget", "1e20", "--budget", "5.76e23", "--group", "mamba"
        )
        assert code == 0, err
        assert "group mamba" in out and "exponent a (N* ∝ C^a)" in out and "regret" in out
        rows = [line for line in out.splitlines() if line.startswith(("1e+20", "5.76e+23"))]
        assert len(rows) == 2 and all("[" in r for r in rows)

    def test_json_respects_constraints_and_answers_a_target(self, capsys, fit_path):
        argv = ["plan", fit_path, "--budget", "1e22", "--group", "rwkv", "--max-params", "1e9"]
        plan = run_json(capsys, *argv)
        assert plan["constraints"]["max_params"] == 1e9 and plan["target_compute"] is None
        (budget,) = plan["budgets"]
        assert budget["params"]["interval"]["90"][1] <= 1e9 * (1 + 1e-9)
        assert 6 * budget["expected_optimal"]["params"] * budget["expected_optimal"]["data"] == (
            pytest.approx(1e22, rel=1e-9)
        )
        target = 1.02 * budget["loss"]["median"]
        argv = ["plan", fit_path, "--group", "rwkv", "--max-params", "1e9"]
        both = run_json(capsys, *argv, "--target", str(target), "--q", "0.5")
        reach = both["target_compute"]
        assert reach["probability"] == pytest.approx(0.5, abs=0.01)
        assert both["budgets"][0]["budget"] == pytest.approx(reach["compute"])
        code, out, _ = run(capsys, *argv, "--target", str(target), "--q", "0.5")
        assert code == 0 and f"target loss {target:g}" in out

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            ([], "give budgets, or a target loss"),
            (["--budget", "-1"], "'budgets' must be finite positive numbers"),
            (["--budget", "1e21", "--input", "label_noise=x"], "input: 'x' is not a number"),
            (["--budget", "1e21", "--fixed-params", "1e9", "--fixed-data", "1e9"], "at most one"),
            (["--budget", "1e21", "--prob", "2"], "interval probabilities"),
            (["--target", "1e-9"], "not reached"),
        ],
    )
    def test_errors_are_one_line_with_exit_2(self, capsys, fit_path, argv, message):
        code, _, err = run(capsys, "plan", fit_path, *argv)
        assert code == 2 and err.startswith("error: ") and message in err
        assert err.count("\n") == 1


class TestSuggest:
    ARGS = ("--target", "params=7e9,data=1.4e11", "--group", "transformer", "--n-outcomes", "16")

    def test_candidates_ranked_in_text_and_json(self, capsys, fit_path):
        near, far = "params=5e9,data=1e11,cost=2", "params=3e7,data=6e8"
        argv = ["suggest", fit_path, "--candidate", far, "--candidate", near, *self.ARGS]
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert "variance of log loss" in out and "rank" in out and "params=5e+09" in out
        res = run_json(capsys, *argv)
        assert [c["rank"] for c in res["candidates"]] == [1, 2] and res["n_outcomes"] == 16
        costs = {c["inputs"]["params"]: c["cost"] for c in res["candidates"]}
        assert costs == {5e9: 2.0, 3e7: pytest.approx(6 * 3e7 * 6e8)}

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            ([], "--candidate"),
            (["--candidate", "params=1e9"], "prediction needs input(s) data"),
            (["--candidate", "params=1e9,data"], "expected KEY=VALUE"),
            (["--candidate", "params=1e9,data=1e10,cost=0"], "'cost' must be"),
        ],
    )
    def test_errors_are_one_line_with_exit_2(self, capsys, fit_path, argv, message):
        code, _, err = run(capsys, "suggest", fit_path, *argv, *self.ARGS)
        assert code == 2 and err.startswith("error: ") and message in err
        assert err.count("\n") == 1


def backtest_argv(csv):
    """A chinchilla backtest of the example CSV, a group per architecture."""
    return ["backtest", str(csv), "--family", "chinchilla", "--group-col", "architecture", *SAMPLER]


@pytest.mark.usefixtures("mock_sampler")
class TestBacktest:
    def test_fraction_split_scores_every_group(self, capsys, example_csv):
        argv = backtest_argv(example_csv)
        res = run_json(capsys, *argv, "--fraction", "0.75")
        assert res["split"] == {"fraction": 0.75, "by": "params"}
        assert res["n_train"] == 76 and res["n_test"] == 24  # round(0.75 x 25) = 19 per group
        assert set(res["overall"]["coverage"]) == {"50", "80", "90", "95"}
        assert set(res["groups"]) == {"mamba", "rwkv", "transformer", "transformer-moe"}

    def test_below_split_table_and_saved_training_fit(self, capsys, tmp_path, example_csv):
        saved = tmp_path / "train.nc"
        argv = backtest_argv(example_csv)
        code, out, err = run(capsys, *argv, "--below", "params=1e9", "-o", str(saved))
        assert code == 0, err
        assert "backtest of chinchilla" in out and "overall" in out and "cov90" in out
        train = models.load_fit(saved)
        assert train.data.inputs["params"].max() <= 1e9

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            ([], "give exactly one of below or fraction"),
            (["--fraction", "0.5", "--below", "params=1e9"], "give exactly one"),
            (["--below", "params=1e30"], "leaves the test set empty"),
            (["--below", "params=big"], "below: 'big' is not a number"),
            (["--fraction", "0.5", "--by", "steps"], "cannot order by 'steps'"),
        ],
    )
    def test_errors_are_one_line_with_exit_2(self, capsys, example_csv, argv, message):
        code, _, err = run(capsys, "backtest", str(example_csv), *SAMPLER, *argv)
        assert code == 2 and err.startswith("error: ") and message in err
        assert err.count("\n") == 1


@pytest.fixture(scope="module")
def dd_path(tmp_path_factory):
    """A double-descent fit (fake posterior: the peak is known)."""
    from tests.models.test_peaks import STEEP, dd_fit

    path = tmp_path_factory.mktemp("peak") / "dd.nc"
    models.save_fit(dd_fit(STEEP, chains=2, draws=200, spread=0.01), path)
    return str(path)


class TestPeak:
    """``bayescale peak``: where the loss curve peaks."""

    def test_text_and_json_agree_with_the_library(self, capsys, dd_path):
        code, out, err = run(capsys, "peak", dd_path, "--axis", "params", "--at", "data=100")
        assert code == 0, err
        assert "P(the curve peaks inside that range) = 1.000" in out and "90%" in out
        record = run_json(
            capsys, "peak", dd_path, "--axis", "params", "--at", "data=100", "--prob", "0.8"
        )
        expected = models.curve_peak(
            models.load_fit(dd_path), "params", {"data": 100.0}, probs=(0.8,)
        )
        assert record["median"] == pytest.approx(expected.median)
        assert record["intervals"]["80"] == pytest.approx(list(expected.interval(0.8)))

    def test_a_monotone_fit_says_it_has_no_peak(self, capsys, fit_path):
        argv = ["peak", fit_path, "--axis", "params", "--at", "data=2e10", "--group", "mamba"]
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert "no posterior draw has an interior maximum" in out

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--axis", "steps", "--at", "data=100"], "'steps' is not an input"),
            (["--axis", "params"], "needs a value for data"),
            (["--axis", "params", "--at", "data=x"], "at: 'x' is not a number"),
            (["--axis", "params", "--at", "data=100", "--bracket", "5"], "bracket: expected"),
            (["--axis", "params", "--at", "data=100", "--bracket", "5,1"], "low < high"),
        ],
    )
    def test_bad_input_is_one_line_naming_the_field(self, capsys, dd_path, argv, message):
        code, out, err = run(capsys, "peak", dd_path, *argv)
        assert code == 2 and message in err and not out, (out, err)
