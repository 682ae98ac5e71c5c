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


# -- no import cycle inside models/ -------------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    """Dotted name of a module file under ``root`` (a package's ``__init__`` is the package)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, filename: str, name: str, known: set[str]) -> set[str]:
    """Modules of ``known`` that one module imports, wherever the import stands.

    Counts imports inside functions and under ``TYPE_CHECKING`` too: an import moved into a
    function or behind a type-checking guard still closes a loop. ``from pkg import sub`` counts
    the submodule ``pkg.sub`` when there is one, else the package.
    """
    package = name if filename.endswith("__init__.py") else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != name}


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> modules of the same package tree it imports."""
    paths = sorted(root.rglob("*.py"))
    names = {module_name(p, root): p for p in paths}
    return {
        name: imported_modules(path.read_text(encoding="utf-8"), str(path), name, set(names))
        for name, path in names.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path ``[a, b, ..., a]``, or an empty list when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_models_modules_import_no_cycle() -> None:
    """The result type sits below io, checks, fitting and planning; nothing imports back up."""
    graph = import_graph(MODELS)
    assert "models.result" in graph and graph["models.fitting"] >= {"models.result"}
    cycle = find_cycle(graph)
    assert not cycle, "import cycle in models/: " + " -> ".join(cycle)


def test_cycle_finder_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """A loop closed by an import inside a function (or a relative one) is still a loop."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    assert find_cycle(import_graph(pkg)) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nimport pkg\n")
    assert find_cycle(import_graph(pkg)) == []


# -- service/ and plots/ use the models package's public names only ------------------------------

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = sorted([*(ROOT / "service").rglob("*.py"), *(ROOT / "plots").rglob("*.py")])


def models_names_used(source: str, filename: str) -> tuple[set[str], set[str]]:
    """(names taken from ``models``, submodules of ``models`` imported) by one module.

    Names: ``from models import X`` and ``models.X`` attribute reads. Submodules: any
    ``import models.sub`` or ``from models.sub import ...``, wherever it stands.
    """
    names: set[str] = set()
    submodules: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "models":
                names.update(alias.name for alias in node.names)
            elif node.module.startswith("models."):
                submodules.add(node.module)
        elif isinstance(node, ast.Import):
            submodules.update(a.name for a in node.names if a.name.startswith("models."))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "models"
        ):
            names.add(node.attr)
    return names, submodules


@pytest.mark.parametrize("path", CONSUMERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_service_and_plots_use_only_public_models_names(path: Path) -> None:
    """models' submodules may be reorganised freely: these layers see only ``models.__all__``."""
    import models

    names, submodules = models_names_used(path.read_text(encoding="utf-8"), str(path))
    assert not submodules, f"{path.name} imports models submodules {sorted(submodules)}"
    private = names - set(models.__all__)
    assert not private, f"{path.name} uses names models does not export: {sorted(private)}"


def test_public_names_scanner_sees_every_form() -> None:
    source = (
        "import models\nimport models.build\nfrom models import Fit\n"
        "from models.fitting import fit\nmodels.data.INPUTS\nmodels.fit(x)\n"
    )
    names, submodules = models_names_used(source, "<test>")
    assert names == {"Fit", "data", "fit"}
    assert submodules == {"models.build", "models.fitting"}


def test_no_public_name_hides_a_models_submodule() -> None:
    """``models.fit`` the function once hid ``models.fit`` the module (hence *_module aliases)."""
    import models

    submodules = {p.stem for p in MODELS.glob("*.py")} | {
        p.name for p in MODELS.iterdir() if p.is_dir()
    }
    assert not set(models.__all__) & submodules
