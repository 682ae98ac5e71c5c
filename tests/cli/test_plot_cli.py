"""``bayescale plot`` on a saved fit (sampler mocked): images written, bad requests refused."""

import pytest

from cli.main import main
from tests.cli.test_cli import run
from tests.utils import fake_sampler, replace_sampler

SAMPLER = ["--draws", "40", "--tune", "10", "--chains", "2", "--quiet"]


@pytest.fixture(scope="module")
def fit_path(tmp_path_factory):
    """A hierarchical chinchilla fit of the example's runs below 1e9 parameters, and the rest."""
    folder = tmp_path_factory.mktemp("plot")
    csv, path = folder / "runs.csv", folder / "fit.nc"
    with pytest.MonkeyPatch.context() as mp:
        replace_sampler(mp, fake_sampler)
        assert main(["example", str(csv)]) == 0
        argv = ["fit", str(csv), "--group-col", "architecture", *SAMPLER, "-o", str(path)]
        assert main(argv) == 0
    return path, csv


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plot_writes_the_image(capsys, tmp_path, fit_path, suffix):
    out = tmp_path / f"frontier.{suffix}"
    code, stdout, err = run(
        capsys,
        "plot",
        "frontier",
        "--fit",
        str(fit_path[0]),
        "-o",
        str(out),
        "--budgets",
        "1e19,1e20",
        "--budgets",
        "1e21",
        "--group",
        "mamba",
    )
    assert code == 0, err
    data = out.read_bytes()
    assert len(data) > 5_000 and data[:5] in (b"\x89PNG\r", b"<?xml")
    assert "frontier" in stdout


def test_plot_marks_held_out_runs_from_a_csv(capsys, tmp_path, fit_path):
    out = tmp_path / "fit.svg"
    code, _, err = run(
        capsys,
        "plot",
        "fit",
        "--fit",
        str(fit_path[0]),
        "-o",
        str(out),
        "--held-out",
        str(fit_path[1]),
        "--group-col",
        "architecture",
        "--input",
        "params",
    )
    assert code == 0, err
    assert b"held out" in out.read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["iso_loss"], "needs a scale_time fit"),
        (["fit", "--target", "2"], "takes no option 'target'"),
        (["fit", "--group", "gpt"], "no group 'gpt'"),
    ],
)
def test_bad_plot_requests_exit_2(capsys, tmp_path, fit_path, argv, message):
    kind, *rest = argv
    code, _, err = run(
        capsys, "plot", kind, "--fit", str(fit_path[0]), "-o", str(tmp_path / "x.png"), *rest
    )
    assert code == 2 and message in err and err.startswith("error:")


def test_the_format_comes_from_the_suffix(capsys, tmp_path, fit_path):
    code, _, err = run(
        capsys, "plot", "energy", "--fit", str(fit_path[0]), "-o", str(tmp_path / "x.jpg")
    )
    assert code == 2 and ".png or .svg" in err
