"""How big the load, fuzzing and rendering tests run: full size in CI, smaller in the fast tier.

``--run-slow`` / ``--only-slow`` (what CI runs) set ``BAYESCALE_TESTS_THOROUGH=1`` before any
test module is imported (``tests/conftest.py``); the default fast tier, the developer's inner
loop, runs the same tests on fewer requests, examples or formats. Nothing is skipped either way.
"""

from __future__ import annotations

import os

ENV = "BAYESCALE_TESTS_THOROUGH"


def thorough() -> bool:
    """Whether this run is CI's (every test at full size)."""
    return os.environ.get(ENV) == "1"
