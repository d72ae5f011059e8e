"""Where the course's files live: the repository (in a clone) and the data folder.

>>> from lightnets_course.paths import data_root
>>> data_root()          # LIGHTNETS_DATA, else the clone's data/, else ~/.cache/lightnets
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "PathLike", "data_root", "in_checkout", "search_folders"]

PathLike = str | os.PathLike

# The repository root when the package runs from a checkout (an editable install, a Colab clone); the
# shipped sample, checkpoints and recorded benchmark results live under it.
REPO_ROOT = Path(__file__).resolve().parents[1]


def in_checkout() -> bool:
    """Whether the package runs from a clone of the course repository (not from an installed wheel)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "lightnets_course").is_dir()


def data_root(root: PathLike | None = None) -> Path:
    """The folder that holds the course's datasets.

    In order: ``root`` if given; else the environment variable ``LIGHTNETS_DATA``; else the repository's
    ``data/`` folder when the package runs from a checkout; else ``~/.cache/lightnets``. The current
    directory never matters, so a notebook finds the same data wherever it is started from.
    Downloads go to ``data_root() / "downloads"``.
    """
    if root is not None:
        return Path(root).expanduser()
    from_env = os.environ.get("LIGHTNETS_DATA", "").strip()
    if from_env:
        return Path(from_env).expanduser()
    if in_checkout() and (REPO_ROOT / "data").is_dir():
        return REPO_ROOT / "data"
    return Path.home() / ".cache" / "lightnets"


def search_folders(root: Path) -> tuple[Path, Path]:
    """Where to look for a dataset's files under ``root``: placed by hand, or downloaded."""
    # Files a learner placed by hand sit in the root; files the course downloaded sit in downloads/.
    return root, root / "downloads"
