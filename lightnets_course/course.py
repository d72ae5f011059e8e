"""The course itself: its notebooks in order, their Colab badges and setup cells, slides.

The repository address lives in one place, ``[project.urls] Repository`` in ``pyproject.toml``; the
badges and the Colab install cells of every notebook are generated from it here, and a test checks
that the stored notebooks match.

Command line (used by ``make slides`` and ``make refresh-notebooks``)::

    python -m lightnets_course.course slides --out slides     # one reveal.js deck per notebook
    python -m lightnets_course.course refresh                 # re-execute notebooks in fast mode
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .paths import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
COLAB_CHECKOUT = "/content/lightnets"


@dataclass(frozen=True)
class Notebook:
    """One notebook of the course: file name, title, the seed material it grew from, what it teaches,
    and the package's optional extra it needs beyond the course's own dependencies (e.g. ``"deploy"``)."""

    filename: str
    title: str
    seed: str
    teaches: str
    extra: str = ""


NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook(
        "00_start_here.ipynb",
        "Start here",
        "-",
        "Setup and device check, how fast mode works, the shipped data and checkpoints, a first look at CIFAR-10",
    ),
    Notebook(
        "01_alexnet.ipynb",
        "AlexNet",
        "001",
        "Output shapes and parameter arithmetic layer by layer; half-width vs torchvision AlexNet; training",
    ),
    Notebook(
        "02_depthwise_separable.ipynb",
        "Depthwise-separable convolution",
        "000, 002",
        "Standard vs depthwise vs pointwise convolution; cost formulas checked by counting; the 8-9x claim",
    ),
    Notebook(
        "03_mobilenet_v1.ipynb",
        "MobileNetV1",
        "002",
        "Width and resolution multipliers; the paper's Tables 6-7 reproduced; CIFAR-10 training",
    ),
    Notebook(
        "04_mobilenet_v2.ipynb",
        "MobileNetV2",
        "000",
        "Inverted residuals, linear bottlenecks, ReLU6; transfer learning with frozen features",
    ),
    Notebook(
        "05_mobilenet_v3.ipynb",
        "MobileNetV3",
        "003",
        "Squeeze-and-excite, h-swish, the Large/Small tables; torchvision vs PaddleClas",
    ),
    Notebook(
        "06_shufflenet_v2.ipynb",
        "ShuffleNetV2",
        "004",
        "Guidelines G1-G4 measured on your machine; channel split and shuffle; Table 5 reproduced",
    ),
    Notebook(
        "07_comparison.ipynb",
        "Comparison",
        "all",
        "Accuracy vs MACs vs memory access vs latency for every model; Pareto plots",
    ),
    Notebook(
        "08_deployment.ipynb",
        "Deployment",
        "-",
        "ONNX export, int8 quantization, ONNX Runtime: accuracy, size and latency of the trained networks",
        extra="deploy",
    ),
)


def repository_url() -> str:
    """The repository address from ``[project.urls] Repository`` (installed metadata, else pyproject)."""
    pyproject = REPO_ROOT / "pyproject.toml"
    if pyproject.is_file():
        # A checkout's pyproject is the source of truth, even if an older copy is installed.
        match = re.search(r'^Repository\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
        if match:
            return match.group(1).rstrip("/")
    for entry in metadata.metadata("lightnets-course").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip().rstrip("/")
    raise RuntimeError("No Repository URL in [project.urls] of pyproject.toml")


def colab_url(filename: str, branch: str = "main") -> str:
    """The address that opens ``notebooks/<filename>`` of the repository in Google Colab."""
    github_path = repository_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github_path}/blob/{branch}/notebooks/{filename}"


def colab_badge(filename: str) -> str:
    """Markdown for the "Open in Colab" badge of one notebook."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(filename)})"
    )


def setup_cell_source(extra: str = "") -> str:
    """The first code cell of every notebook: installs the course on Colab (with the optional ``extra``
    the notebook needs), does nothing elsewhere."""
    target = f'"{COLAB_CHECKOUT}[{extra}]"' if extra else COLAB_CHECKOUT
    return (
        "# Setup: on Colab this installs the course package; anywhere else it does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f"    !test -d {COLAB_CHECKOUT} || git clone --quiet --depth 1 {repository_url()} {COLAB_CHECKOUT}\n"
        f"    %pip install --quiet -e {target}\n"
        f'    sys.path.insert(0, "{COLAB_CHECKOUT}")  # a running kernel does not see new editable installs'
    )


def header_cells(notebook: Notebook) -> list[dict]:
    """The title cell (with badge) and the setup cell every notebook starts with, as nbformat cells."""
    import nbformat  # the [dev] extra's, imported when used

    title = nbformat.v4.new_markdown_cell(
        f"# {notebook.filename[:2]} {notebook.title}\n\n{colab_badge(notebook.filename)}"
    )
    title.metadata["slideshow"] = {"slide_type": "slide"}
    setup = nbformat.v4.new_code_cell(setup_cell_source(notebook.extra))
    setup.metadata["slideshow"] = {"slide_type": "skip"}
    setup.metadata["tags"] = ["setup"]
    return [title, setup]


def notebook_paths() -> list[Path]:
    """Paths of the course's notebooks that exist, in course order."""
    return [NOTEBOOK_DIR / nb.filename for nb in NOTEBOOKS if (NOTEBOOK_DIR / nb.filename).is_file()]


@contextlib.contextmanager
def _fast_mode_for_kernels() -> Iterator[None]:
    """``LIGHTNETS_FAST=1`` for the kernels started meanwhile (they inherit the environment), and this
    process's own setting back afterwards."""
    before = os.environ.get("LIGHTNETS_FAST")
    os.environ["LIGHTNETS_FAST"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["LIGHTNETS_FAST"]
        else:
            os.environ["LIGHTNETS_FAST"] = before


def execute_notebook(path: Path, timeout: int = 600) -> None:
    """Run a notebook top to bottom in fast mode and store its outputs in place."""
    # nbformat and nbconvert come with the [dev] extra, not with the package: imported when used.
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    nb = nbformat.read(path, as_version=4)
    with _fast_mode_for_kernels():
        ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
            nb, {"metadata": {"path": str(path.parent)}}
        )
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            keep_static_view(output)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


# The class of the HTML an explorer (``widgets.Explorer``) offers as its static first view.
STATIC_VIEW_CLASS = "lightnets-explorer-first-view"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def keep_static_view(output: dict) -> None:
    """An explorer's stored output keeps only its static first view (``widgets.Explorer``): without a
    kernel the widget cannot be drawn, and GitHub or nbviewer would show ``interactive(children=...)``."""
    data = output.get("data", {})
    if WIDGET_VIEW in data and STATIC_VIEW_CLASS in str(data.get("text/html", "")):
        del data[WIDGET_VIEW]
        data["text/plain"] = "(an explorer: run the cell to use its controls)"


def build_slides(out_dir: Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Build one static reveal.js deck per notebook with ``jupyter nbconvert --to slides``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built = []
    for path in notebooks or notebook_paths():
        subprocess.run(
            [sys.executable, "-m", "nbconvert", "--to", "slides", "--output-dir", str(out_dir), str(path)],
            check=True,
            capture_output=True,
        )
        built.append(out_dir / (path.stem + ".slides.html"))
    return built


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lightnets_course.course", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    slides = commands.add_parser("slides", help="build a reveal.js slide deck per notebook")
    slides.add_argument("--out", type=Path, default=REPO_ROOT / "slides")
    refresh = commands.add_parser("refresh", help="re-execute notebooks in fast mode and store outputs")
    refresh.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.command == "slides":
        for deck in build_slides(args.out):
            print(deck)
    else:
        for path in args.notebooks or notebook_paths():
            print(f"executing {path.name} ...", flush=True)
            start = time.perf_counter()
            execute_notebook(path)
            print(f"executed {path.name} in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
