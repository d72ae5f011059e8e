"""The project's setup: dependencies, the conda route, the README and the notebooks' headers."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from lightnets_course import course

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# conda-forge names that differ from the PyPI names
CONDA_TO_PIP = {"pytorch": "torch", "playwright-python": "playwright"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*([^;#]*?)\s*(?:;.*)?$")


def _split(requirement: str) -> tuple[str, str]:
    name, spec = REQUIREMENT.match(requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pip_requirements() -> dict[str, str]:
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    reqs = list(project["dependencies"]) + list(extras["dev"]) + list(extras["deploy"])
    # tomli only backports tomllib for Python 3.10; conda's environment pins a newer Python's stdlib.
    return dict(_split(r) for r in reqs if "python_version" not in r)


def _conda_requirements() -> dict[str, str]:
    text = (ROOT / "environment.yml").read_text()
    deps: dict[str, str] = {}
    for line in text.splitlines():
        item = re.match(r"^\s+-\s+([^#]+?)\s*(?:#.*)?$", line)
        if not item or item.group(1) in {"conda-forge", "nodefaults", "pip", "pip:", "-e ."}:
            continue
        name, spec = _split(item.group(1))
        if name != "python":
            deps[CONDA_TO_PIP.get(name, name)] = spec
    return deps


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert _conda_requirements() == _pip_requirements()


def test_dependencies_are_ranges_never_pins():
    for name, spec in _pip_requirements().items():
        assert "==" not in spec, f"{name} is pinned ({spec}); use a range"
        assert spec.startswith(">="), f"{name} needs a lower bound, got {spec!r}"


def test_torch_floor_does_not_force_a_download():
    # A floor above the locally available build would make fresh machines fetch a multi-GB wheel.
    floor = tuple(int(p) for p in _pip_requirements()["torch"].removeprefix(">=").split("."))
    assert floor <= (2, 14, 1)


def test_python_versions_supported():
    assert PYPROJECT["project"]["requires-python"] == ">=3.10"
    classifiers = PYPROJECT["project"]["classifiers"]
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_repository_url_has_one_source():
    url = PYPROJECT["project"]["urls"]["Repository"]
    assert course.repository_url() == url.rstrip("/")
    assert course.colab_url("00_start_here.ipynb") == (
        "https://colab.research.google.com/github/"
        + url.removeprefix("https://github.com/")
        + "/blob/main/notebooks/00_start_here.ipynb"
    )


@pytest.mark.parametrize("extra", ["", "deploy"])
def test_setup_cell_is_a_no_op_outside_colab(extra):
    # Run the cell's Python with the IPython magics removed: nothing may happen outside Colab.
    source = course.setup_cell_source(extra)
    assert course.repository_url() in source
    python_only = "\n".join(line for line in source.splitlines() if not line.strip().startswith(("!", "%")))
    before = list(sys.path)
    exec(compile(python_only, "setup-cell", "exec"), {})
    assert sys.path == before


NOTEBOOK_FILES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_a_notebook_that_needs_an_extra_installs_it_on_colab():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for notebook in course.NOTEBOOKS:
        if notebook.extra:
            assert notebook.extra in extras, (
                f"{notebook.filename} needs [{notebook.extra}], which pyproject lacks"
            )
            assert f'-e "{course.COLAB_CHECKOUT}[{notebook.extra}]"' in course.setup_cell_source(
                notebook.extra
            )


def test_every_notebook_is_in_the_course_map():
    listed = {nb.filename for nb in course.NOTEBOOKS}
    for path in NOTEBOOK_FILES:
        assert path.name in listed, f"{path.name} is not listed in lightnets_course.course.NOTEBOOKS"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_header_matches_the_repository_setting(path):
    nb = nbformat.read(path, as_version=4)
    assert course.colab_badge(path.name) in nb.cells[0].source
    assert nb.cells[1].cell_type == "code"
    extra = next(notebook.extra for notebook in course.NOTEBOOKS if notebook.filename == path.name)
    assert nb.cells[1].source == course.setup_cell_source(extra)
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1, "exactly one cell tagged 'parameters'"
    assert 'os.environ.get("LIGHTNETS_FAST"' in parameters[0].source


@pytest.mark.parametrize("notebook", course.NOTEBOOKS, ids=lambda n: n.filename)
def test_readme_course_map_links_each_existing_notebook(notebook):
    if not (ROOT / "notebooks" / notebook.filename).is_file():
        pytest.skip(f"{notebook.filename} is not written yet")
    readme = (ROOT / "README.md").read_text()
    assert course.colab_badge(notebook.filename) in readme
