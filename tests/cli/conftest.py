"""CLI fixtures: the bundled example as a CSV file."""

import pytest

from cli.main import main


@pytest.fixture
def example_csv(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    assert main(["example", str(path)]) == 0
    capsys.readouterr()
    return path
