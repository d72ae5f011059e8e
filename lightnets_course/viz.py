"""Plots for the course: training curves, confusion matrices, prediction grids, feature maps and
Pareto fronts. Every function draws on a matplotlib ``Axes`` (made if not given) and returns the
``Figure`` so notebooks can show it with ``plt.show()`` and tests can inspect it."""

from __future__ import annotations

import matplotlib

if matplotlib.get_backend() == "":  # pragma: no cover - only for odd headless setups
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
