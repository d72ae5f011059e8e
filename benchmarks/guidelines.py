"""ShuffleNetV2's guideline experiments G1-G4 at the paper's x1/x2/x4 widths on one device.

Prints Markdown tables (machine, command, date and load average first) for benchmarks/README.md and
writes the exact numbers to benchmarks/results/guidelines_<device>.json. Examples::

    python benchmarks/guidelines.py --device cpu                 # the paper's ARM widths, 1 thread
    python benchmarks/guidelines.py --device cuda                # the paper's GTX 1080Ti widths
    python benchmarks/guidelines.py --device cpu --only G1 --scales 1 --fast   # a quick look
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _script import RESULTS, ScriptRun, add_clock_option  # benchmarks/_script.py

from lightnets_course.benchmark import (
    GUIDELINES,
    guideline,
    to_markdown,
)
from lightnets_course.complexity import Table


def summary(name: str, tables: dict[str, Table]) -> Table:
    """One guideline at every width measured: each row's speed relative to the first row, here and in
    the paper. The guideline holds on this machine where the two columns point the same way."""
    rows: dict[str, dict[str, object]] = {}
    for label, table in tables.items():
        guideline_name, scale = label.split()
        if guideline_name != name:
            continue
        for row in table.rows:
            entry = rows.setdefault(row["config"], {"config": row["config"]})
            entry[f"{scale} here"] = round(row["speed_vs_first"], 2)
            entry[f"{scale} paper"] = round(row["paper_vs_first"], 2)
    return Table(list(rows.values()), title=f"{name}: speed relative to the first row, here and in the paper")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    parser.add_argument("--only", nargs="+", default=list(GUIDELINES), metavar="G", help="e.g. --only G1 G3")
    parser.add_argument("--scales", nargs="+", type=int, default=[1, 2, 4], choices=[1, 2, 4])
    parser.add_argument("--widths", choices=["gpu", "cpu"], help="default: gpu on cuda, else cpu")
    parser.add_argument("--fast", action="store_true", help="14x14 inputs, 2 blocks, 3 runs")
    parser.add_argument("--repeats", type=int, help="timed runs at least (default 30)")
    parser.add_argument("--min-seconds", type=float, help="timed seconds at least (default 1.0)")
    parser.add_argument("--threads", type=int, help="CPU threads (default 1 on the CPU, as the paper's ARM)")
    add_clock_option(parser)
    parser.add_argument("--out", type=Path, help="JSON file (default: results/guidelines_<device>.json)")
    args = parser.parse_args(argv)

    run = ScriptRun("guidelines.py", argv, args.device)

    tables = {}
    for name in args.only:
        for scale in args.scales:
            table = guideline(
                name,
                scale,
                args.device,
                widths=args.widths,
                fast=args.fast,
                repeats=args.repeats,
                min_seconds=args.min_seconds,
                threads=args.threads,
                clock=args.clock,
            )
            tables[f"{name.upper()} x{scale}"] = table
            print(to_markdown(table), flush=True)

    for name in dict.fromkeys(label.split()[0] for label in tables):
        print(to_markdown(summary(name, tables)))
    device_type = args.device.split(":")[0]
    run.finish(args.out or RESULTS / f"guidelines_{device_type}{'_fast' if args.fast else ''}.json", tables)


if __name__ == "__main__":
    main()
