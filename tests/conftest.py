"""Shared test options and fixtures.

Tiers: the default run is fast (pure math, graph checks, fake posteriors; no NUTS). Tests marked
``slow`` run real NUTS and are skipped unless ``--run-slow`` (both tiers) or ``--only-slow``;
CI runs both. Everything is seeded. The load, fuzzing and rendering tests run at full size only
with ``--run-slow`` and smaller in the fast tier (``tests/tiers.py``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from models import SamplerSettings
from tests.tiers import ENV as THOROUGH_ENV
from tests.utils import fake_sampler, replace_sampler

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# The one place sampler sizes for tests live.
TINY = SamplerSettings(draws=50, tune=50, chains=2, seed=0)
SLOW = SamplerSettings(draws=1000, tune=1000, chains=4, seed=1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run slow (real NUTS) tests")
    parser.addoption("--only-slow", action="store_true", help="run only slow tests")


def _runs_slow(config: pytest.Config) -> bool:
    return bool(config.getoption("--run-slow") or config.getoption("--only-slow"))


def pytest_configure(config: pytest.Config) -> None:
    # CI's run (--run-slow) sizes the load, fuzzing and rendering tests fully (tests/tiers.py);
    # set before collection imports the test modules, and inherited by xdist's workers
    if _runs_slow(config):
        os.environ[THOROUGH_ENV] = "1"
    # One BLAS thread per test process, set before xdist starts its workers (and inherited by
    # the interpreters tests start): `-n 2` already runs a test on each of two cores, and BLAS's
    # own threads on top made linear-algebra tests fight over them (a 200 x 200
    # eigendecomposition test took 2 s alone and 12 s beside another worker).
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = _runs_slow(config)
    only_slow = config.getoption("--only-slow")
    skip_slow = pytest.mark.skip(reason="slow: real NUTS (use --run-slow)")
    skip_fast = pytest.mark.skip(reason="fast test skipped by --only-slow")
    for item in items:
        is_slow = "slow" in item.keywords
        if is_slow and not run_slow:
            item.add_marker(skip_slow)
        elif not is_slow and only_slow:
            item.add_marker(skip_fast)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def mock_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    """NUTS replaced by prior draws (fast tier): fit -> store -> load -> predict end to end."""
    replace_sampler(monkeypatch, fake_sampler)
