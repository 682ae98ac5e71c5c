"""Static guarantees about the product code: no pickle, eval or shell, SQL only through the ORM.

A fit file or request body is user content; nothing in models/, service/ or cli/ may turn it
into code. These checks read the source (tokens, not comments or docstrings), so they fail the
moment someone adds such a call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("models", "service", "cli") for p in (ROOT / d).rglob("*.py"))
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_from_data(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & FORBIDDEN_MODULES, path
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in FORBIDDEN_MODULES, path
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            assert name not in FORBIDDEN_CALLS or isinstance(func, ast.Attribute), (
                f"{path}:{node.lineno} calls {name}"
            )
            for kw in node.keywords:  # subprocess(..., shell=True)
                shell = kw.arg == "shell" and isinstance(kw.value, ast.Constant)
                assert not (shell and kw.value.value is True), f"{path}:{node.lineno}"
            # SQL text built from strings: text(f"...") or text("..." + x) or "...".format()
            if name == "text" and node.args and not isinstance(node.args[0], ast.Constant):
                pytest.fail(f"{path}:{node.lineno}: SQL text() from a non-literal")
