"""The README's Python-client pipeline, executed verbatim against a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- client-example:start -->", "<!-- client-example:end -->"


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    block = text[text.index(START) + len(START) : text.index(END)].strip()
    assert block.startswith("```python") and block.endswith("```")
    return block.removeprefix("```python").removesuffix("```")


def test_readme_client_example_runs(live, monkeypatch, capsys):
    """Same process as the server, so the fit samples from the prior (fast tier)."""
    monkeypatch.setenv("BAYESCALE_URL", live.url)
    monkeypatch.setenv("BAYESCALE_API_KEY", live.keys.write)
    monkeypatch.setenv("BAYESCALE_PROJECT", "alpha")
    exec(compile(readme_block(), "README.md#python-client", "exec"), {"__name__": "readme"})
    out, err = capsys.readouterr()
    assert "converged:" in out and "2e9 params: loss" in out and "(extrapolation)" in out
    assert "succeeded" in err  # the status line
    from service.client import Client

    with Client(live.url, live.keys.read, "alpha") as client:
        rows = list(client.iter_observations("widths"))
        assert [r.params for r in rows] == [1e6 * 2**i for i in range(10)]
        assert all(r.meta["step"] == 2000 for r in rows)
        # running the pipeline again (a restarted job) stores no row twice
        exec(compile(readme_block(), "README.md#python-client", "exec"), {"__name__": "readme"})
        assert client.get_dataset("widths").observations == 10
        assert len(client.list_fits(dataset="widths")) == 2


@pytest.mark.slow
def test_readme_client_example_with_real_nuts(settings, monkeypatch, capsys):
    """The same block with real sampling: the fit converges."""
    from tests.client.conftest import live_server

    with live_server(settings) as server:
        monkeypatch.setenv("BAYESCALE_URL", server.url)
        monkeypatch.setenv("BAYESCALE_API_KEY", server.keys.write)
        monkeypatch.setenv("BAYESCALE_PROJECT", "alpha")
        exec(compile(readme_block(), "README.md#python-client", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "converged: True" in out and "(extrapolation)" in out
