"""Notebook hygiene: what GitHub, nbviewer, Colab and a learner's eyes need from the stored notebooks.

Each check is a small function that takes a notebook and returns its problems, one sentence each
(an empty list for a clean notebook). The tests apply every check to every ``notebooks/*.ipynb``,
and to deliberately broken notebooks to prove that each check catches what it is for. The header
(Colab badge matching the repository setting, setup cell, parameters cell) is checked in
``tests/test_project.py``.

Fix most problems by re-running the notebooks top to bottom in fast mode: ``make refresh-notebooks``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lightnets_course import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_FILES = sorted((ROOT / "notebooks").glob("*.ipynb"))

# A 100 dpi figure of the usual sizes is 30-90 kB as base64 PNG; beyond these limits the notebook
# grows slow on GitHub and heavy in git.
OUTPUT_LIMIT_BYTES = 200_000
NOTEBOOK_LIMIT_BYTES = 1_500_000
# Paths of one machine: user homes, temp files (ipykernel warnings), the author's working folders.
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|tmp|home|Users)/|\b[A-Za-z]:\\{1,2}Users\\")
REFRESH = "re-run the notebook top to bottom with `make refresh-notebooks`"


def _code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def _fails_on_purpose(cell: nbformat.NotebookNode) -> bool:
    # nbval and nbclient let a cell tagged raises-exception fail: a notebook may show an error message.
    return "raises-exception" in cell.metadata.get("tags", [])


def schema_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Problems ``nbformat.validate`` finds against the notebook format's JSON schema."""
    try:
        nbformat.validate(nbformat.from_dict(json.loads(json.dumps(nb))))
    except nbformat.ValidationError as error:
        return [f"not a valid notebook: {error.message}"]
    return []


def kernel_problems(nb: nbformat.NotebookNode) -> list[str]:
    """The notebook must ask for the ``python3`` kernel, which every Jupyter install and Colab have."""
    name = nb.metadata.get("kernelspec", {}).get("name")
    if name != "python3":
        return [f"kernelspec name is {name!r}, expected 'python3' (Kernel > Change Kernel > Python 3)"]
    return []


def execution_order_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Stored outputs must come from one run in a fresh kernel: code cells numbered 1, 2, ..., n."""
    problems = []
    for expected, (index, cell) in enumerate(_code_cells(nb), start=1):
        if cell.execution_count != expected:
            problems.append(f"cell {index} has execution count {cell.execution_count}, expected {expected}")
    if problems:
        problems.append(f"outputs are not from one in-order run: {REFRESH}")
    return problems


def error_output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """No stored error outputs, except in cells tagged ``raises-exception`` that fail on purpose."""
    return [
        f"cell {index} stores an error: {output.get('ename')}: {output.get('evalue')}"
        for index, cell in _code_cells(nb)
        if not _fails_on_purpose(cell)
        for output in cell.outputs
        if output.output_type == "error"
    ]


def _output_texts(output: nbformat.NotebookNode) -> list[str]:
    """The text a stored output carries (images left out: base64 is no place for paths)."""
    if output.output_type == "stream":
        return [output.text]
    if output.output_type == "error":
        return [output.evalue, *output.traceback]
    texts = []
    for mime, value in output.get("data", {}).items():
        if not mime.startswith("image/") or mime == "image/svg+xml":
            texts.append(value if isinstance(value, str) else json.dumps(value))
    return texts


def machine_path_problems(nb: nbformat.NotebookNode) -> list[str]:
    """No absolute path of the author's machine (/home/..., /tmp/..., C:\\Users\\...) in sources or outputs."""
    places = [("notebook metadata", json.dumps(nb.metadata))]
    for index, cell in enumerate(nb.cells):
        places.append((f"cell {index} source", cell.source))
        for output in cell.get("outputs", []):
            places += [(f"cell {index} output", text) for text in _output_texts(output)]
    problems = []
    for place, text in places:
        match = MACHINE_PATH.search(text)
        if match:
            line = next(line for line in text.splitlines() if match.group(0) in line).strip()
            problems.append(f"{place} contains a path of this machine: {line[:120]!r}")
    return problems


def output_size_problems(
    nb: nbformat.NotebookNode,
    output_limit: int = OUTPUT_LIMIT_BYTES,
    notebook_limit: int = NOTEBOOK_LIMIT_BYTES,
) -> list[str]:
    """No single output over ``output_limit`` bytes and no notebook over ``notebook_limit`` bytes."""
    problems = []
    for index, cell in _code_cells(nb):
        for output in cell.outputs:
            size = len(json.dumps(output))
            if size > output_limit:
                problems.append(
                    f"cell {index} has a {size // 1000} kB output (limit {output_limit // 1000} kB): "
                    "save figures as PNG at a modest dpi, print less"
                )
    size = len(nbformat.writes(nb))
    if size > notebook_limit:
        problems.append(f"the notebook is {size // 1000} kB (limit {notebook_limit // 1000} kB)")
    return problems


def widget_state_problems(nb: nbformat.NotebookNode) -> list[str]:
    """``metadata.widgets`` must hold a ``state`` (Colab saves it without one, and GitHub cannot render that)."""
    widgets = nb.metadata.get("widgets")
    if widgets is None:
        return []
    entries = widgets.items() if isinstance(widgets, dict) else [("", widgets)]
    return [
        f"metadata.widgets[{mime!r}] has no 'state' key: GitHub cannot render the notebook; "
        f"delete metadata.widgets or {REFRESH}"
        for mime, entry in entries
        if not isinstance(entry, dict) or "state" not in entry
    ]


def marker_problems(nb: nbformat.NotebookNode) -> list[str]:
    """nbval's markers belong in cell tags (``nbval-check-output``), not in the code a learner reads."""
    return [
        f"cell {index}: move {line.strip()!r} to the cell's tags ({line.strip()[2:].lower().replace('_', '-')})"
        for index, cell in _code_cells(nb)
        for line in cell.source.splitlines()
        if line.strip().startswith("# NBVAL_")
    ]


def explorer_view_problems(nb: nbformat.NotebookNode) -> list[str]:
    """A stored explorer shows its first view as HTML (``widgets.Explorer``), not a widget reference
    that GitHub and nbviewer can only print as ``interactive(children=...)``."""
    return [
        f"cell {index}: a widget stored without its first view; {REFRESH}"
        for index, cell in _code_cells(nb)
        for output in cell.outputs
        if course.WIDGET_VIEW in output.get("data", {})
    ]


CHECKS = (
    schema_problems,
    kernel_problems,
    execution_order_problems,
    error_output_problems,
    machine_path_problems,
    output_size_problems,
    widget_state_problems,
    marker_problems,
    explorer_view_problems,
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda path: path.name)
def test_notebook_is_clean(path, check):
    nb = nbformat.read(path, as_version=4)
    assert check(nb) == []


# --- the checks on notebooks made for the purpose --------------------------------------------------


def _clean_notebook() -> nbformat.NotebookNode:
    """A small notebook as `make refresh-notebooks` leaves one: run once, in order, in python3."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A clean notebook\n\nData lives in `data/`.")]
    for count, source in enumerate(["x = 6 * 7", "print(x)", "x / 2"], start=1):
        nb.cells.append(nbformat.v4.new_code_cell(source, execution_count=count))
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    nb.cells[3].outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "21.0"}, execution_count=3)
    ]
    return nb


def _error_output(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def test_a_clean_notebook_passes_every_check():
    nb = _clean_notebook()
    assert {check.__name__: check(nb) for check in CHECKS} == {check.__name__: [] for check in CHECKS}


def test_an_invalid_notebook_is_flagged():
    nb = _clean_notebook()
    nb.cells[1]["outputs"] = "not a list"
    assert schema_problems(nb) and schema_problems(nb)[0].startswith("not a valid notebook")


def test_a_kernel_other_than_python3_is_flagged():
    nb = _clean_notebook()
    nb.metadata["kernelspec"]["name"] = "conda-env-lightnets-py"
    assert kernel_problems(nb) == [
        "kernelspec name is 'conda-env-lightnets-py', expected 'python3' (Kernel > Change Kernel > Python 3)"
    ]
    del nb.metadata["kernelspec"]
    assert kernel_problems(nb)[0].startswith("kernelspec name is None")


@pytest.mark.parametrize(
    "counts, flagged_cells",
    [
        ((1, 3, 2), [2, 3]),  # run out of order
        ((1, None, 3), [2]),  # a cell never run
        ((2, 3, 4), [1, 2, 3]),  # not a fresh kernel
        ((1, 2, 2), [3]),  # a cell run twice
    ],
)
def test_outputs_not_from_one_in_order_run_are_flagged(counts, flagged_cells):
    nb = _clean_notebook()
    for (_, cell), count in zip(_code_cells(nb), counts):
        cell.execution_count = count
    problems = execution_order_problems(nb)
    assert [int(re.match(r"cell (\d+) ", p).group(1)) for p in problems[:-1]] == flagged_cells
    assert problems[-1].endswith("make refresh-notebooks`")


def test_error_outputs_are_flagged_unless_the_cell_fails_on_purpose():
    nb = _clean_notebook()
    nb.cells[3].outputs = [_error_output("ZeroDivisionError", "division by zero")]
    assert error_output_problems(nb) == ["cell 3 stores an error: ZeroDivisionError: division by zero"]
    nb.cells[3].metadata["tags"] = ["raises-exception"]
    assert error_output_problems(nb) == []


@pytest.mark.parametrize(
    "where, text",
    [
        ("output", "/tmp/ipykernel_4242/1234.py:3: UserWarning: dpi is low\n"),
        ("output", "saved to /home/alice/lightnets/runs/best.pt\n"),
        ("output", "FileNotFoundError: C:\\Users\\alice\\data\\cifar.npz\n"),
        # (split literals: this file must not itself contain the machine paths it tests for)
        ("output", "loaded /ro" + "ot/.cache/torch/hub/checkpoints/mobilenet_v2.pth\n"),
        ("source", 'checkpoint = "/wo' + 'rk/lightnets/data/checkpoints/alexnet.pt"'),
        ("source", "![plot](/Users/alice/Desktop/plot.png)"),
    ],
)
def test_paths_of_the_authors_machine_are_flagged(where, text):
    nb = _clean_notebook()
    if where == "output":
        nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
    else:
        nb.cells[2].source = text
    problems = machine_path_problems(nb)
    assert len(problems) == 1 and problems[0].startswith(f"cell 2 {where} contains a path of this machine")


def test_relative_paths_urls_and_colab_paths_are_not_flagged():
    nb = _clean_notebook()
    nb.cells[0].source = (
        "Data in `data/cifar10_sample.npz`, see https://example.org/home/tmp/page and "
        "`~/lightnets`; on Colab the course lives in /content/lightnets."
    )
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="runs/alexnet/best.pt\n")]
    assert machine_path_problems(nb) == []


def test_path_hidden_in_an_image_payload_is_not_searched():
    nb = _clean_notebook()
    png = base64.b64encode(b"/home/" * 10).decode()
    nb.cells[3].outputs = [
        nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"})
    ]
    assert machine_path_problems(nb) == []


def test_oversized_outputs_and_notebooks_are_flagged():
    nb = _clean_notebook()
    big_png = base64.b64encode(bytes(160_000)).decode()  # about 213 kB once encoded
    nb.cells[3].outputs = [nbformat.v4.new_output("display_data", {"image/png": big_png})]
    problems = output_size_problems(nb)
    assert len(problems) == 1 and problems[0].startswith("cell 3 has a 213 kB output (limit 200 kB)")
    problems = output_size_problems(nb, output_limit=10**6, notebook_limit=100_000)
    assert len(problems) == 1 and re.fullmatch(r"the notebook is 21\d kB \(limit 100 kB\)", problems[0])


def test_nbval_markers_in_source_are_flagged():
    nb = _clean_notebook()
    nb.cells[1].source = "# NBVAL_CHECK_OUTPUT\nprint(1)"
    [problem] = marker_problems(nb)
    assert "move '# NBVAL_CHECK_OUTPUT' to the cell's tags (nbval-check-output)" in problem


def test_widget_metadata_without_state_is_flagged():
    nb = _clean_notebook()
    mime = "application/vnd.jupyter.widget-state+json"
    nb.metadata["widgets"] = {mime: {"version_major": 2, "version_minor": 0, "state": {}}}
    assert widget_state_problems(nb) == []
    del nb.metadata["widgets"][mime]["state"]  # how Colab saves it
    assert widget_state_problems(nb) == [
        f"metadata.widgets['{mime}'] has no 'state' key: GitHub cannot render the notebook; "
        f"delete metadata.widgets or {REFRESH}"
    ]


# --- rendering: HTML for GitHub-like viewers, reveal.js slides for presenting ---------------------


def _slide_notebook(path: Path) -> Path:
    """A notebook with the course header (title slide, setup cell skipped) and one more slide."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = course.header_cells(course.NOTEBOOKS[0])
    slide = nbformat.v4.new_markdown_cell("## Why small networks\n\nPhones have a few watts to spare.")
    slide.metadata["slideshow"] = {"slide_type": "slide"}
    nb.cells.append(slide)
    nbformat.write(nb, path)
    return path


# One generated notebook, so the rendering tests run before any course notebook exists, and the first
# course notebook.
RENDER_SAMPLES = [None, *NOTEBOOK_FILES[:1]]


def _render_sample(sample: Path | None, tmp_path: Path) -> Path:
    return _slide_notebook(tmp_path / "generated.ipynb") if sample is None else sample


@pytest.mark.parametrize("sample", RENDER_SAMPLES, ids=lambda s: "generated" if s is None else s.name)
def test_nbconvert_renders_html(sample, tmp_path):
    path = _render_sample(sample, tmp_path)
    out_dir = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", str(out_dir), str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    html = (out_dir / f"{path.stem}.html").read_text()
    title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ")
    assert title in html


@pytest.mark.parametrize("sample", RENDER_SAMPLES, ids=lambda s: "generated" if s is None else s.name)
def test_build_slides_makes_a_reveal_js_deck(sample, tmp_path):
    path = _render_sample(sample, tmp_path)
    decks = course.build_slides(tmp_path / "slides", [path])
    assert decks == [tmp_path / "slides" / f"{path.stem}.slides.html"]
    deck = decks[0].read_text()
    assert 'class="reveal"' in deck and 'class="slides"' in deck and "<section" in deck
    assert re.search(r"reveal(\.min)?\.js[\"']", deck), "the deck does not load reveal.js"
    assert "google.colab" not in deck, "the setup cell is marked skip and must stay out of the slides"
    if sample is None:
        assert "Why small networks" in deck


def test_a_stored_explorer_keeps_only_its_first_view():
    output = {
        "output_type": "display_data",
        "data": {
            course.WIDGET_VIEW: {"model_id": "abc"},
            "text/plain": "interactive(children=(IntSlider(value=3),))",
            "text/html": f'<div class="{course.STATIC_VIEW_CLASS}"><pre>first</pre></div>',
        },
    }
    course.keep_static_view(output)
    assert course.WIDGET_VIEW not in output["data"] and "first" in output["data"]["text/html"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("explorer()")])
    nb.cells[0].outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {},
                                               "data": {course.WIDGET_VIEW: {"model_id": "x"}}})]  # fmt: skip
    assert explorer_view_problems(nb) == [f"cell 0: a widget stored without its first view; {REFRESH}"]


def test_an_explorer_offers_its_first_view_as_html():
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    from lightnets_course.widgets import conv_cost_explorer

    InteractiveShell.instance()  # display() then publishes rich outputs, as in a notebook's kernel
    bundle = conv_cost_explorer()._repr_mimebundle_()
    assert course.WIDGET_VIEW in bundle
    assert course.STATIC_VIEW_CLASS in bundle["text/html"] and "<table" in bundle["text/html"]
