"""The package's shape: one idea per module, no reaching into another module's private names, arrows
that point one way, and a ``fit`` a learner can read in one sitting."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import lightnets_course
from lightnets_course import benchmark, train

PACKAGE = Path(lightnets_course.__file__).resolve().parent
MODULES = sorted(path for path in PACKAGE.rglob("*.py"))
MAX_LINES = 620  # "about 600": one idea per module

# What each low-level module may import from the package: models know nothing of training, training
# nothing of plots (results.py draws only when asked), and nothing imports the widgets or the CLI.
NEVER_IMPORTED = {"widgets", "cli", "exercises", "bench", "export"}


def _package_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names) for every import of the package in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("lightnets_course"):
                found.append((module, [alias.name for alias in node.names]))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_module_holds_one_idea_and_stays_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by idea"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_another_modules_private_names(path):
    private = [
        f"{module}.{name}"
        for module, names in _package_imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    imported = {module.split(".")[1] for module, _ in _package_imports(path) if module.count(".")}
    imported |= {
        name for module, names in _package_imports(path) if module == "lightnets_course" for name in names
    }
    if path.parent.name == "models":
        assert imported <= {"models"}, f"models import only models: {path.name} imports {imported}"
    if path.stem not in NEVER_IMPORTED and path.stem != "__init__" and path.parent.name != "exercises":
        assert not imported & NEVER_IMPORTED, f"{path.name} imports {imported & NEVER_IMPORTED}"
    if path.stem in ("train", "checkpoint", "averaging", "planning", "evaluate", "loader", "data"):
        assert "viz" not in imported, f"{path.name}: training code knows nothing of plots"


def test_fit_reads_in_one_sitting():
    lines = len(inspect.getsource(train.fit).splitlines())
    assert lines <= 135, f"fit is {lines} lines long: move work into named helpers"


def test_the_benchmark_module_gathers_exactly_what_it_says():
    assert all(hasattr(benchmark, name) for name in benchmark.__all__)
