"""The client stays light: a training job imports it without the server or modelling stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "service" / "client"
HEAVY = ("fastapi", "starlette", "sqlalchemy", "pymc", "pytensor", "numpy", "models", "pandas")


def test_importing_the_client_loads_no_heavy_package():
    """Checked in a fresh interpreter: sys.modules after `import service.client`."""
    code = f"import sys, service.client; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "path", [*sorted(CLIENT.glob("*.py")), CLIENT.parent / "schemas.py"], ids=lambda p: p.name
)
def test_client_modules_import_only_httpx_pydantic_and_stdlib(path):
    """What the client and the schemas it shares with the server may import, statically."""
    allowed = {"httpx", "pydantic", "service"} | set(sys.stdlib_module_names) | {"__future__"}
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("service.") and path.parent == CLIENT:
                assert node.module in {"service.schemas"} or node.module.startswith(
                    "service.client"
                ), node.module
    assert roots <= allowed, roots - allowed
