"""Comparing the course's models: cost (MACs, params, memory access, latency) against accuracy,
rank correlations, and Pareto fronts (notebook 07).
"""

from __future__ import annotations

from collections.abc import Sequence

from torchvision.models import get_model_weights

from .models import list_models
from .papers import PAPER_IMAGENET_TOP1
from .table import Table, rows_of
from .transfer import IMAGENET_WEIGHTS

__all__ = [
    "COMPARISON_COSTS",
    "comparison_rows",
    "comparison_table",
    "imagenet_top1",
    "latency_rank_correlations",
    "pareto_front",
    "ranking_verdict",
    "spearman",
]


# What a comparison can put on the cost axis: (label, column).
COMPARISON_COSTS = (
    ("MACs", "macs"),
    ("params", "params"),
    ("mem_access", "mem_access"),
    ("latency", "latency_ms"),
)


def imagenet_top1(name: str) -> dict[str, float | str | None]:
    """ImageNet top-1 accuracy (percent, 224x224) of a course model: torchvision's and the paper's.

    Returns a dict:

    - ``torchvision``: what torchvision publishes for its default weights of the model, read from the
      installed package (``get_model_weights(name).DEFAULT.meta``; nothing is downloaded). These are
      the weights ``transfer.load_imagenet_weights`` puts into the course's model.
    - ``paper``: the paper's number (``PAPER_IMAGENET_TOP1``), and ``paper_source``.
    - ``top1``: torchvision's where it has weights, else the paper's; ``source`` says which.

    All ``None`` for a model with neither (``alexnet_half``).
    """
    if name not in list_models():
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}")
    torchvision_top1 = None
    if name in IMAGENET_WEIGHTS:
        torchvision_top1 = get_model_weights(name).DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    paper_top1, paper_source = PAPER_IMAGENET_TOP1.get(name, (None, None))
    if torchvision_top1 is not None:
        top1, source = torchvision_top1, "torchvision weights"
    elif paper_top1 is not None:
        top1, source = paper_top1, paper_source
    else:
        top1, source = None, None
    return {
        "torchvision": torchvision_top1,
        "paper": paper_top1,
        "paper_source": paper_source,
        "top1": top1,
        "source": source,
    }


def comparison_rows(
    costs: Table | list[dict], latency_ms: dict[str, float] | None = None, accuracy: str = "paper"
) -> list[dict]:
    """One dict per model for comparing and plotting: cost, speed and ImageNet accuracy together.

    ``costs`` is ``complexity.compare(...)`` for course models at 224x224: its ``name`` becomes
    ``model``, and ``params``, ``macs`` and ``mem_access`` are kept (``flops`` is just ``2 * macs``).
    ``latency_ms`` maps a model name to its measured latency in milliseconds (models missing from it
    get ``None``). ``top1`` comes from one source for every model, so that a Pareto front compares like
    with like: ``accuracy="paper"`` (each paper's own training) or ``"torchvision"`` (torchvision's
    weights, trained with its newer recipes; models without weights get ``None``). ``source`` names it.
    """
    if accuracy not in ("paper", "torchvision"):
        raise ValueError(f'accuracy must be "paper" or "torchvision"; got {accuracy!r}')
    rows = list(getattr(costs, "rows", costs))
    if not rows or not all(isinstance(row, dict) and "name" in row for row in rows):
        raise ValueError("costs must be complexity.compare([...]) or its rows (dicts with a 'name' column)")
    combined = []
    for row in rows:
        top1 = imagenet_top1(row["name"])
        entry = {"model": row["name"], **{key: row[key] for key in ("params", "macs", "mem_access")}}
        if latency_ms is not None:
            entry["latency_ms"] = latency_ms.get(row["name"])
        entry["top1"] = top1[accuracy]
        entry["source"] = top1["paper_source"] if accuracy == "paper" else "torchvision weights"
        combined.append(entry)
    return combined


def _ranks(values: Sequence[float]) -> list[float]:
    """Rank 1 for the smallest value; equal values share the average of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences of numbers.

    1 when ``y`` grows whenever ``x`` grows, -1 when it always falls, near 0 when the order of one says
    little about the order of the other. It is the Pearson correlation of the ranks (tied values share
    their average rank), so it asks "does the cheaper model run faster?" without letting one extreme
    model (AlexNet's 61 M parameters) decide the answer. Example::

        >>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 3)
        0.8
    """
    x, y = list(x), list(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must be equally long; got {len(x)} and {len(y)} values")
    if len(x) < 2:
        raise ValueError(f"a correlation needs at least 2 pairs of values; got {len(x)}")
    rank_x, rank_y = _ranks(x), _ranks(y)
    mean = (len(x) + 1) / 2  # the mean rank, ties or not
    covariance = sum((a - mean) * (b - mean) for a, b in zip(rank_x, rank_y))
    spread_x = sum((a - mean) ** 2 for a in rank_x) ** 0.5
    spread_y = sum((b - mean) ** 2 for b in rank_y) ** 0.5
    if spread_x == 0 or spread_y == 0:
        raise ValueError("all values of x (or of y) are equal, so their order says nothing: no correlation")
    return covariance / (spread_x * spread_y)


def latency_rank_correlations(
    timings: Table | list[dict], costs: Sequence[str] = ("macs", "mem_access", "params")
) -> dict[str, tuple[float, float, float]]:
    """How well each cost ranks the measured latencies: Spearman's correlation, three times.

    ``timings`` is a ``latency_table`` (one row per model, with the cost columns and ``p10_ms``,
    ``latency_ms``, ``p90_ms``). Each cost gets ``(p10, median, p90)``: its correlation with the fast
    end, the median and the slow end of every model's runs, so that one lucky or unlucky run cannot
    decide a conclusion by itself.
    """
    rows = rows_of(timings)
    return {
        cost: tuple(
            spearman([row[cost] for row in rows], [row[q] for row in rows])
            for q in ("p10_ms", "latency_ms", "p90_ms")
        )
        for cost in costs
    }


def ranking_verdict(correlations: dict[str, tuple[float, float, float]], margin: float = 0.05) -> str:
    """Which of MACs and memory access ranks the latency better, said only where the timings agree.

    A direction is named only when ``mem_access``'s correlation beats (or trails) ``macs``'s by more
    than ``margin`` at the fast end, the median and the slow end alike; otherwise "no clear difference
    here". ``correlations`` is what ``latency_rank_correlations`` returns.
    """
    gaps = [mem - macs for mem, macs in zip(correlations["mem_access"], correlations["macs"])]
    if all(gap > margin for gap in gaps):
        return "on this machine mem_access ranks the latency better than MACs"
    if all(gap < -margin for gap in gaps):
        return "on this machine MACs rank the latency better than mem_access"
    return "MACs and mem_access: no clear difference here in how well they rank the latency"


def comparison_table(
    rows: Table | list[dict], models: Sequence[str] | None = None, cost: str = "macs", score: str = "top1"
) -> Table:
    """The rows of ``models`` (all by default), cheapest first by ``cost``, with a ``pareto`` column.

    ``rows`` are dicts with a ``model`` name and the ``cost`` and ``score`` columns, such as
    ``comparison_rows(...)`` makes. ``pareto`` is ``"yes"`` for a model on the Pareto front among the
    chosen ones (``viz.pareto_front``): no other chosen model is as cheap and as accurate or better.
    """
    rows = list(getattr(rows, "rows", rows))
    known = [row["model"] for row in rows]
    if isinstance(models, str):
        models = [models]
    unknown = [name for name in (models or []) if name not in known]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the rows hold {known}")
    chosen = [row for row in rows if models is None or row["model"] in models]
    if not chosen:
        raise ValueError("choose at least one model")
    for column in (cost, score):
        if any(column not in row for row in chosen):
            raise ValueError(
                f"cost and score must be columns of the rows, such as 'macs' and 'top1'; got {column!r}"
            )
    front = {row["model"] for row in pareto_front(chosen, cost, score)}
    ordered = sorted(chosen, key=lambda row: (row[cost] is None, row[cost] if row[cost] is not None else 0))
    columns = list(dict.fromkeys(["model", "params", "macs", "mem_access", "latency_ms", cost, score]))
    table_rows = [
        {**{c: row[c] for c in columns if c in row}, "pareto": "yes" if row["model"] in front else ""}
        for row in ordered
    ]
    title = (
        f"{len(table_rows)} models, cheapest first by {cost}; pareto: on the front of {score} against {cost}"
    )
    return Table(table_rows, title=title, units={"params": "M", "macs": "M", "flops": "M", "mem_access": "M"})


def pareto_front(rows: list[dict], x: str, y: str) -> list[dict]:
    """The rows no other row beats: none has a ``x`` as small or smaller and a ``y`` as large or larger
    (and is better in at least one). Returned cheapest first.

    ``x`` is a cost (MACs, latency: smaller is better), ``y`` a score (accuracy: larger is better); rows
    without a value for either are left out. Any model off the front has a cheaper and at least as
    accurate alternative; along the front, more accuracy always costs more.
    """
    rows = rows_of(rows)
    for column in (x, y):
        if not any(column in row for row in rows):
            raise ValueError(f"no row has a {column!r} column; the rows have {sorted(rows[0])}")
    points = [row for row in rows if row.get(x) is not None and row.get(y) is not None]

    def beaten(row: dict) -> bool:
        return any(
            other[x] <= row[x] and other[y] >= row[y] and (other[x] < row[x] or other[y] > row[y])
            for other in points
        )

    return sorted((row for row in points if not beaten(row)), key=lambda row: row[x])
