"""``import models`` is cheap; every public name and submodule still resolves as before."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
import models
cheap = sorted(m for m in ("pandas", "xarray", "scipy", "pymc") if m in sys.modules)
import models.fitting, models.backtesting  # loading the modules leaves the functions alone
out = {
    "cheap": cheap,
    "fit_is_function": not isinstance(models.fit, type(sys)) and callable(models.fit),
    "backtest_is_function": not isinstance(models.backtest, type(sys)),
    "submodule": models.result.__name__,
    "every_name": all(getattr(models, n) is not None for n in models.__all__),
}
try:
    models.no_such_name
except AttributeError:
    out["unknown"] = "AttributeError"
json.dump(out, sys.stdout)
"""


def test_import_is_cheap_and_every_name_resolves():
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True, timeout=300
    )
    assert json.loads(result.stdout) == {
        "cheap": [],
        "fit_is_function": True,
        "backtest_is_function": True,
        "submodule": "models.result",
        "every_name": True,
        "unknown": "AttributeError",
    }
