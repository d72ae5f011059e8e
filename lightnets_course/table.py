"""A small table that looks right in a notebook (HTML) and in a terminal (aligned text).

``complexity.profile``, ``compare``, the timings and the guideline experiments all return one:
print it, show it in Jupyter, or read ``table.rows`` (a list of dicts) for plotting.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["UNIT_SCALES", "Table", "rows_of"]

UNIT_SCALES = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}


class Table:
    """Rows of numbers shown as an HTML table in a notebook and as aligned text in a terminal.

    ``rows`` is a list of dicts (one per row, the same keys in each), ready for tests and plots;
    ``units`` maps a column to ``"K"``, ``"M"`` or ``"G"`` to show it in thousands, millions or
    billions (the header says so). Other whole numbers are shown exactly, with thousands separators.

    Example::

        Table([{"name": "a", "macs": 300_774_272}], units={"macs": "M"})   # shows "300.77"
    """

    def __init__(
        self, rows: Sequence[Mapping[str, Any]], title: str = "", units: Mapping[str, str] | None = None
    ) -> None:
        self.rows = [dict(row) for row in rows]
        self.title = title
        self.units = dict(units or {})
        for column, unit in self.units.items():
            if unit not in UNIT_SCALES:
                raise ValueError(f"units[{column!r}] must be one of 'K', 'M', 'G' or ''; got {unit!r}")

    @property
    def columns(self) -> list[str]:
        """Column names, in the order they first appear in the rows."""
        return list(dict.fromkeys(key for row in self.rows for key in row))

    def header(self, column: str) -> str:
        unit = self.units.get(column, "")
        return f"{column} ({unit})" if unit else column

    def cell(self, column: str, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "" if value is None else str(value)
        unit = self.units.get(column, "")
        if unit:
            return f"{value / UNIT_SCALES[unit]:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        # Four significant digits, but never scientific notation for large measured values.
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"

    def is_numeric(self, column: str) -> bool:
        values = [row[column] for row in self.rows if row.get(column) is not None]
        return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    def __str__(self) -> str:
        columns = self.columns
        cells = [[self.cell(c, row.get(c)) for c in columns] for row in self.rows]
        headers = [self.header(c) for c in columns]
        widths = [max([len(h)] + [len(line[i]) for line in cells]) for i, h in enumerate(headers)]
        numeric = [self.is_numeric(c) for c in columns]

        def line(texts: list[str]) -> str:
            padded = [t.rjust(wd) if num else t.ljust(wd) for t, wd, num in zip(texts, widths, numeric)]
            return "  ".join(padded).rstrip()

        lines = [self.title] if self.title else []
        lines += [line(headers), "  ".join("-" * wd for wd in widths)]
        lines += [line(texts) for texts in cells]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        columns = self.columns
        numeric = {c: self.is_numeric(c) for c in columns}

        def cell(tag: str, column: str, text: str) -> str:
            align = "right" if numeric[column] else "left"
            return f'<{tag} style="text-align: {align}">{html.escape(text)}</{tag}>'

        head = "".join(cell("th", c, self.header(c)) for c in columns)
        body = "".join(
            "<tr>" + "".join(cell("td", c, self.cell(c, row.get(c))) for c in columns) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def rows_of(table: Any) -> list[dict]:
    """The rows of a ``complexity.Table``, or a list of row dicts as loaded from a results JSON file."""
    rows = list(getattr(table, "rows", table))
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise ValueError("expected a Table or a non-empty list of row dicts, e.g. benchmark.guideline('G1')")
    return rows
