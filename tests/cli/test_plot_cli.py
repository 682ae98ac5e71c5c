"""``bayescale plot`` on a saved fit (sampler mocked): images written, bad requests refused."""

import pytest

from tests.cli.test_cli import run


@pytest.fixture
def plot(capsys, example_fit):
    """``bayescale plot KIND --fit <the example fit> -o OUT ARGV...``: (code, stdout, stderr)."""

    def run_plot(kind, out, *argv):
        return run(capsys, "plot", kind, "--fit", str(example_fit[0]), "-o", str(out), *argv)

    return run_plot


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plot_writes_the_image(tmp_path, plot, suffix):
    out = tmp_path / f"frontier.{suffix}"
    argv = ["--budgets", "1e19,1e20", "--budgets", "1e21", "--group", "mamba"]
    code, stdout, err = plot("frontier", out, *argv)
    assert code == 0, err
    data = out.read_bytes()
    assert len(data) > 5_000 and data[:5] in (b"\x89PNG\r", b"<?xml")
    assert "frontier" in stdout


def test_plot_marks_held_out_runs_from_a_csv(tmp_path, plot, example_fit):
    out = tmp_path / "fit.svg"
    argv = ["--held-out", str(example_fit[1]), "--group-col", "architecture", "--input", "params"]
    code, _, err = plot("fit", out, *argv)
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
def test_bad_plot_requests_exit_2(tmp_path, plot, argv, message):
    kind, *rest = argv
    code, _, err = plot(kind, tmp_path / "x.png", *rest)
    assert code == 2 and message in err and err.startswith("error:")


def test_the_format_comes_from_the_suffix(tmp_path, plot):
    code, _, err = plot("energy", tmp_path / "x.jpg")
    assert code == 2 and ".png or .svg" in err
