"""Layering: the modelling library never imports the web, database, queue or CLI layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[1] / "models"
FORBIDDEN = frozenset(
    {
        "fastapi",
        "starlette",
        "sqlalchemy",
        "alembic",
        "dramatiq",
        "uvicorn",
        "httpx",
        "service",
        "cli",
        "trackers",
        "mlflow",
        "tensorboard",
    }
)
MODULES = sorted(MODELS.rglob("*.py"))


def imported_roots(source: str, filename: str) -> set[str]:
    """Top-level package of every import statement, wherever it appears (also inside functions)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (  # importlib.import_module("pkg") / __import__("pkg") with a literal name
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (
                    isinstance(node.func, ast.Name)
                    and node.func.id in {"__import__", "import_module"}
                )
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def test_models_package_has_modules() -> None:
    """Guard against the walk silently finding nothing (e.g. after a move)."""
    names = {p.relative_to(MODELS).as_posix() for p in MODULES}
    assert {"__init__.py", "data.py", "build.py", "families/base.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(MODELS).as_posix())
def test_models_module_imports_no_service_layer(path: Path) -> None:
    """models/ must stay usable from notebooks and workers without the web or DB stack."""
    roots = imported_roots(path.read_text(encoding="utf-8"), str(path))
    assert not roots & FORBIDDEN, f"{path.name} imports {sorted(roots & FORBIDDEN)}"


PLOTS = Path(__file__).resolve().parents[1] / "plots"
PLOT_MODULES = sorted(PLOTS.rglob("*.py"))


def test_plots_package_has_modules() -> None:
    names = {p.name for p in PLOT_MODULES}
    assert {"__init__.py", "registry.py", "fit.py", "diagnostics.py"} <= names


@pytest.mark.parametrize("path", PLOT_MODULES, ids=lambda p: p.relative_to(PLOTS).as_posix())
def test_plots_module_imports_no_service_layer(path: Path) -> None:
    """plots/ draws a models.Fit: the API, the CLI and notebooks use it, it uses none of them."""
    roots = imported_roots(path.read_text(encoding="utf-8"), str(path))
    assert not roots & FORBIDDEN, f"{path.name} imports {sorted(roots & FORBIDDEN)}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import fastapi", {"fastapi"}),
        ("import sqlalchemy.orm as orm", {"sqlalchemy"}),
        ("from service.api import app", {"service"}),
        ("def f():\n    from cli import main\n", {"cli"}),
        ("from . import data", set()),
        ("import numpy, pandas", {"numpy", "pandas"}),
        ("importlib.import_module('httpx.client')", {"httpx"}),
        ("__import__('dramatiq')", {"dramatiq"}),
    ],
)
def test_import_scanner_finds_every_form(source: str, expected: set[str]) -> None:
    """The scanner must see plain, dotted, from- and function-local imports."""
    assert imported_roots(source, "<test>") == expected
