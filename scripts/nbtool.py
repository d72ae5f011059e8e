"""Author notebooks as readable percent-format scripts and turn them into course notebooks.

    python scripts/nbtool.py build /tmp/03_mobilenet_v1.py        # -> notebooks/03_mobilenet_v1.ipynb
    python scripts/nbtool.py to-py notebooks/03_mobilenet_v1.ipynb    # -> stdout, for editing

Script format: ``# %% [markdown]`` starts a markdown cell whose lines are comments (``# text``);
``# %%`` starts a code cell, optionally followed by ``tags=["parameters", ...]``. The title cell with
its Colab badge and the setup cell are added from ``lightnets_course.course`` so they always match
the repository setting. Slide types follow the headings: ``## `` starts a slide, ``### `` a
sub-slide, everything else continues the current one; the setup and parameters cells are skipped.
Outputs come from ``python -m lightnets_course.course refresh`` (fast mode).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

from lightnets_course.course import NOTEBOOK_DIR, NOTEBOOKS, header_cells

CELL_MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")


def parse_script(text: str) -> list[tuple[str, str, list[str]]]:
    """Split a percent-format script into (kind, source, tags) cells."""
    cells: list[tuple[str, list[str], list[str]]] = []
    for line in text.splitlines():
        marker = CELL_MARKER.match(line)
        if marker:
            kind = "markdown" if marker.group("markdown") else "code"
            tags = json.loads(marker.group("tags")) if marker.group("tags") else []
            cells.append((kind, [], tags))
        elif cells:
            cells[-1][1].append(line)
    parsed = []
    for kind, lines, tags in cells:
        if kind == "markdown":
            lines = [re.sub(r"^# ?", "", line) for line in lines]
        source = "\n".join(lines).strip("\n")
        if source:
            parsed.append((kind, source, tags))
    return parsed


def slide_type(kind: str, source: str, tags: list[str]) -> str:
    if "parameters" in tags:
        return "skip"
    if kind == "markdown" and source.startswith("## "):
        return "slide"
    if kind == "markdown" and source.startswith("### "):
        return "subslide"
    return "-"


def build(script: Path) -> Path:
    """Write ``notebooks/<script stem>.ipynb`` from a percent-format script."""
    name = script.stem + ".ipynb"
    course_notebook = next((nb for nb in NOTEBOOKS if nb.filename == name), None)
    if course_notebook is None:
        raise SystemExit(f"{name} is not in lightnets_course.course.NOTEBOOKS")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = header_cells(course_notebook)
    for kind, source, tags in parse_script(script.read_text()):
        cell = (
            nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        )
        cell.metadata["slideshow"] = {"slide_type": slide_type(kind, source, tags)}
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    out = NOTEBOOK_DIR / name
    nbformat.write(nb, out)
    return out


def to_script(path: Path) -> str:
    """The percent-format script of a notebook (header cells left out: ``build`` adds them)."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells[2:]:
        tags = cell.metadata.get("tags", [])
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + line).rstrip() for line in cell.source.splitlines())
            parts.append(f"# %% [markdown]{suffix}\n{body}")
        else:
            parts.append(f"# %%{suffix}\n{cell.source}")
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    if command == "build":
        print(build(target))
    elif command == "to-py":
        sys.stdout.write(to_script(target))
    else:
        raise SystemExit(__doc__)
