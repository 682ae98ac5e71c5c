"""CLI fixtures: the bundled example as a CSV file, and a fit of it made with the sampler mocked."""

from pathlib import Path

import pytest

from cli.main import main
from tests.utils import fake_sampler, replace_sampler

SAMPLER = ["--draws", "40", "--tune", "10", "--chains", "2", "--quiet"]


@pytest.fixture
def example_csv(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    assert main(["example", str(path)]) == 0
    capsys.readouterr()
    return path


@pytest.fixture(scope="session")
def example_fit(tmp_path_factory) -> tuple[Path, Path]:
    """A hierarchical chinchilla fit of the example's four architectures (prior draws): the
    saved fit and the CSV it was made from."""
    folder = tmp_path_factory.mktemp("example_fit")
    csv, path = folder / "runs.csv", folder / "fit.nc"
    with pytest.MonkeyPatch.context() as mp:
        replace_sampler(mp, fake_sampler)
        assert main(["example", str(csv)]) == 0
        argv = ["fit", str(csv), "--group-col", "architecture", *SAMPLER, "-o", str(path)]
        assert main(argv) == 0
    return path, csv
