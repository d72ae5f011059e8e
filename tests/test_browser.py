"""The course as a learner meets it: JupyterLab in a real (headless) Chromium, every cell run, sliders moved.

The tests marked ``browser`` start JupyterLab on a copy of ``notebooks/`` with kernels in fast mode,
then for every notebook that has widgets: run all cells, check that no error shows, that widgets and
plots render, and that moving a slider changes what the learner sees. A screenshot of each lands in
``tests/screenshots/``. ``make test`` runs them after the rest of the suite (``pytest -m browser``).

They need Chromium (``apt-get install chromium``) and Playwright (``pip install playwright``): without
them they are skipped, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from browser_lab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    JupyterLab,
    copy_notebooks,
    missing_browser_tools,
    move_first_slider,
    open_notebook,
    output_texts,
    png_output_count,
    run_all_cells,
    visible_problems,
)

from lightnets_course import course

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = ROOT / "tests" / "screenshots"
WIDGET_CODE = re.compile(r"\binteract(?:ive|_manual)?\b|\bwidgets\b")
# Fast mode keeps every notebook well under this on a 2-core machine; a slower one has a problem.
RUN_TIMEOUT_S = 150
# Throwaway notebooks written next to the course's copies: they test the harness itself.
HARNESS_NOTEBOOK = "harness_check.ipynb"
HARNESS_ERROR_NOTEBOOK = "harness_check_error.ipynb"


def uses_widgets(path: Path) -> bool:
    """True when a code cell of the notebook builds ipywidgets (``interact``, ``widgets``...)."""
    nb = nbformat.read(path, as_version=4)
    return any(cell.cell_type == "code" and WIDGET_CODE.search(cell.source) for cell in nb.cells)


WIDGET_NOTEBOOKS = [path for path in course.notebook_paths() if uses_widgets(path)]


def running_under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1"}


def require_browser_tools(missing: str | None, under_ci: bool) -> None:
    """Fail under CI, skip elsewhere, when Chromium or Playwright is missing (``missing`` says which)."""
    if missing is None:
        return
    if under_ci:
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing)


def _code_cell(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _write_notebook(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)


def write_harness_notebooks(folder: Path) -> None:
    """A small notebook shaped like the course's (parameters cell, slider, plots) and one that fails."""
    _write_notebook(
        folder / HARNESS_NOTEBOOK,
        [
            nbformat.v4.new_markdown_cell("# Harness check"),
            _code_cell(
                'import os\n\nFAST = os.environ.get("LIGHTNETS_FAST", "0") == "1"\nprint(f"fast mode: {FAST}")',
                tags=["parameters"],
            ),
            _code_cell(
                "import matplotlib.pyplot as plt\n"
                "from ipywidgets import IntSlider, interact\n"
                "\n"
                "\n"
                "def show_square(n):\n"
                '    print(f"{n} squared is {n * n}")\n'
                "    plt.figure(figsize=(3, 2), dpi=60)\n"
                "    plt.plot(range(n + 1), [k * k for k in range(n + 1)])\n"
                "    plt.show()\n"
                "\n"
                "\n"
                '_ = interact(show_square, n=IntSlider(value=3, min=0, max=10, description="n"))'
            ),
            _code_cell("plt.figure(figsize=(3, 2), dpi=60)\nplt.bar(['a', 'b'], [1, 2])\nplt.show()"),
        ],
    )
    _write_notebook(
        folder / HARNESS_ERROR_NOTEBOOK,
        [
            _code_cell('print("before")'),
            _code_cell('raise ValueError("shown on purpose")', tags=["raises-exception"]),
            _code_cell(
                "from ipywidgets import IntSlider, interact\n\n"
                '_ = interact(lambda n: 1 / (n - 3), n=IntSlider(value=3, description="n"))'
            ),
            _code_cell("1 / 0"),
            _code_cell('print("never reached")'),
        ],
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_browser_tools(missing_browser_tools(), running_under_ci())
    workspace = tmp_path_factory.mktemp("browser")
    root = copy_notebooks(course.NOTEBOOK_DIR, workspace / "notebooks")
    write_harness_notebooks(root)
    with JupyterLab(root_dir=root, home=workspace / "jupyter") as server:
        yield server


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
        lab.shutdown_kernels()


def save_screenshot(page, name: str, capsys) -> Path:
    """A full-page screenshot in tests/screenshots/, with its path printed past pytest's capture."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{Path(name).stem}.png"
    page.screenshot(path=str(path), full_page=True)
    with capsys.disabled():
        print(f"\n  screenshot of {name}: {path}")
    return path


def test_missing_tools_fail_under_ci_and_are_skipped_elsewhere(tmp_path):
    missing = missing_browser_tools(chromium=tmp_path / "no-chromium-here")
    assert str(tmp_path / "no-chromium-here") in missing
    assert "apt-get install chromium" in missing and "pip install playwright" in missing
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        require_browser_tools(missing, under_ci=True)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        require_browser_tools(missing, under_ci=False)
    require_browser_tools(None, under_ci=True)  # nothing missing: the test goes on


@pytest.mark.browser
def test_harness_runs_cells_renders_widgets_and_plots_and_follows_a_slider(page, lab, capsys):
    open_notebook(page, lab, HARNESS_NOTEBOOK)
    run = run_all_cells(page, timeout_s=RUN_TIMEOUT_S)
    assert run.execution_counts == [1, 2, 3]
    assert run.unrendered_widgets == 0
    assert visible_problems(page) == []
    assert any(text.strip() == "fast mode: True" for text in output_texts(page)), "LIGHTNETS_FAST=1 not seen"
    assert page.locator(".jupyter-widgets.widget-slider").count() == 1
    # one plot under the slider (in the widget's output, not the notebook model) and one plain plot
    assert png_output_count(page) == 1
    assert page.locator(".jp-OutputArea-output img").count() == 2

    move = move_first_slider(page)
    assert (move.readout_before, move.readout_after) == ("3", "4")
    assert "3 squared is 9" in move.output_before and "4 squared is 16" in move.output_after
    assert move.images_before != move.images_after
    save_screenshot(page, HARNESS_NOTEBOOK, capsys)


@pytest.mark.browser
def test_harness_reports_an_unexpected_error_and_stops_waiting(page, lab):
    open_notebook(page, lab, HARNESS_ERROR_NOTEBOOK)
    run = run_all_cells(page, timeout_s=RUN_TIMEOUT_S)
    # The raises-exception cell fails on purpose and the run goes on; 1 / 0 stops it. The widget's
    # error shows only on the page (its output area belongs to the widget, not to the notebook).
    assert run.execution_counts == [1, 2, 3, 4, None]
    assert run.unrendered_widgets == 0
    assert visible_problems(page) == [
        "cell 2: a widget shows a traceback",
        "cell 3: ZeroDivisionError: division by zero",
    ]


@pytest.mark.browser
@pytest.mark.parametrize("path", WIDGET_NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_in_jupyterlab_with_working_widgets(path, page, lab, capsys):
    try:
        open_notebook(page, lab, path.name)
        run = run_all_cells(page, timeout_s=RUN_TIMEOUT_S)
        problems = visible_problems(page)
        assert problems == [], f"{path.name} shows errors after Run All: {problems}"
        code_cells = len(run.execution_counts)
        assert run.execution_counts == list(range(1, code_cells + 1)), "every code cell runs once, in order"
        assert run.unrendered_widgets == 0, f"{run.unrendered_widgets} widget(s) not drawn on the page"
        assert page.locator(".jupyter-widgets").count() > 0, "no widget rendered"
        assert page.locator(".widget-slider").count() > 0, "no slider rendered"
        rendered_plots = page.locator(".jp-OutputArea-output img").count()
        assert rendered_plots >= max(1, png_output_count(page)), "plots missing from the page"

        move = move_first_slider(page)
        assert move.readout_after != move.readout_before, "the first slider did not move"
        assert move.result_changed, (
            f"moving the slider {move.readout_before} -> {move.readout_after} changed nothing"
        )
        assert visible_problems(page) == [], "moving the slider made an error appear"
    finally:
        save_screenshot(page, path.name, capsys)
