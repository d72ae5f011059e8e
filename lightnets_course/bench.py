"""``lightnets bench``: the one front end of the course's speed benchmarks.

``lightnets bench guidelines`` times ShuffleNetV2's G1-G4 benchmark networks next to the paper's
Tables 1-4; ``lightnets bench models`` times every course model next to its MACs and memory access.
Both print the machine, the command and the load average first, then their tables (``--markdown``
for benchmarks/README.md), and ``--json PATH`` keeps the exact numbers with the machine they come
from (``machine.save_results``); notebooks 06 and 07 read ``benchmarks/results/*.json``. Examples::

    lightnets bench guidelines --device cpu --markdown --json benchmarks/results/guidelines_cpu.json
    lightnets bench models --device cpu --markdown --json benchmarks/results/model_latency_cpu.json
    lightnets bench guidelines --fast --only G1 --scales 1          # a quick look, seconds
"""

from __future__ import annotations

import argparse
import shlex
import time
from collections.abc import Callable

import torch

from .device import pick_device
from .guidelines import GUIDELINES, guideline
from .machine import describe_machine, machine_info, save_results, to_markdown
from .models import get_model, list_models
from .table import Table
from .timing import latency_table

__all__ = ["add_bench_command", "guideline_summary"]

DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _common_options(parser: argparse.ArgumentParser, add_device_option: Callable) -> None:
    add_device_option(parser)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: 1 for guidelines, "
                        "as the paper's ARM numbers; PyTorch's for models)")  # fmt: skip
    parser.add_argument(
        "--clock",
        choices=["wall", "thread"],
        default="wall",
        help="thread: CPU time of the model's thread, for a CPU shared with other programs (needs 1 thread)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed runs at least")
    parser.add_argument("--min-seconds", type=float, default=None, help="timed seconds at least")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for a README)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also save the tables as JSON")


def add_bench_command(
    commands: argparse._SubParsersAction, formatter: type, add_device_option: Callable
) -> None:
    """Add ``lightnets bench guidelines`` and ``lightnets bench models`` to the command line."""
    parser = commands.add_parser(
        "bench",
        help="time ShuffleNetV2's guideline experiments or the course models on this machine",
        description="Measure speed on this machine: `bench guidelines` runs ShuffleNetV2's G1-G4 "
        "experiments next to the paper's numbers, `bench models` times every course model. Every run "
        "starts with a line describing the machine, the command and the load average.",
        epilog="""examples:
  lightnets bench guidelines --fast
  lightnets bench guidelines --device cuda --only G1 G2
  lightnets bench guidelines --device cpu --markdown --json benchmarks/results/guidelines_cpu.json
  lightnets bench models --fast
  lightnets bench models --device cuda --batch-size 1 64 --json results.json""",
        formatter_class=formatter,
    )
    benches = parser.add_subparsers(title="benchmarks", dest="bench", metavar="BENCHMARK", required=True)

    guidelines = benches.add_parser(
        "guidelines",
        help="ShuffleNetV2's G1-G4 at the paper's x1/x2/x4 widths",
        description="Time the benchmark networks of ShuffleNetV2's Tables 1-4 (56x56 inputs, 10 blocks, "
        "batch 1; one thread on the CPU, as the paper's ARM numbers) next to the paper's numbers.",
        formatter_class=formatter,
    )
    guidelines.add_argument("--fast", action="store_true", help="the paper's sizes, fewer timed runs")
    guidelines.add_argument(
        "--only", nargs="+", default=list(GUIDELINES), metavar="G", help="guidelines to run"
    )
    guidelines.add_argument("--scales", nargs="+", type=int, choices=[1, 2, 4], default=[1, 2, 4],
                            help="the paper's widths")  # fmt: skip
    guidelines.add_argument("--widths", choices=["gpu", "cpu"], default=None,
                            help="the paper's GPU or ARM widths (default: gpu on CUDA, else cpu)")  # fmt: skip
    _common_options(guidelines, add_device_option)
    guidelines.set_defaults(run=run_bench_guidelines)

    models = benches.add_parser(
        "models",
        help="latency of every course model",
        description="Time each course model next to its MACs and memory access.",
        formatter_class=formatter,
    )
    models.add_argument("--fast", action="store_true", help="batch 1 unless given, 3 timed runs")
    models.add_argument("--models", nargs="+", default=None, choices=list_models(), metavar="MODEL",
                        help="default: every model")  # fmt: skip
    models.add_argument("--batch-size", nargs="+", type=int, default=None,
                        help="batch sizes (default: 1 64, or 1 with --fast)")  # fmt: skip
    models.add_argument("--input-size", type=int, default=224, help="height = width")
    models.add_argument(
        "--warmup", type=int, default=None, help="untimed runs first (default: 3, or 1 with --fast)"
    )
    models.add_argument("--dtype", choices=list(DTYPES), default="float32", help="precision")
    models.add_argument("--channels-last", action="store_true", help="the channels-last memory layout")
    models.add_argument("--compile", action="store_true", help="torch.compile each model")
    models.add_argument("--cuda-graphs", action="store_true", help="with --compile: mode reduce-overhead")
    _common_options(models, add_device_option)
    models.set_defaults(run=run_bench_models)


def _header(device: torch.device, args: argparse.Namespace) -> float:
    info = machine_info(device)
    print(describe_machine(info))
    print(f"Command: `{shlex.join(['lightnets', *args.argv])}`")
    print(f"Load average before: {info['load_average']}", end="\n\n", flush=True)
    return time.perf_counter()


def _show(table: Table, markdown: bool) -> None:
    print(to_markdown(table) if markdown else table, end="\n\n", flush=True)


def _finish(device: torch.device, args: argparse.Namespace, tables: dict[str, Table], started: float) -> None:
    seconds = round(time.perf_counter() - started, 1)
    load_after = machine_info(device)["load_average"]
    print(f"Load average after: {load_after}; {seconds} s in all")
    if args.json:
        command = shlex.join(["lightnets", *args.argv])
        path = save_results(args.json, tables, device, command, load_after=load_after, seconds=seconds)
        print(f"Saved {path}")


def guideline_summary(name: str, tables: dict[str, Table]) -> Table:
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


def run_bench_guidelines(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    started = _header(device, args)
    tables = {}
    for name in args.only:
        for scale in args.scales:
            table = guideline(
                name, scale, device, widths=args.widths, fast=args.fast, repeats=args.repeats,
                min_seconds=args.min_seconds, threads=args.threads, clock=args.clock,
            )  # fmt: skip
            tables[f"{name.upper()} x{scale}"] = table
            _show(table, args.markdown)
    if len(args.scales) > 1:
        for name in dict.fromkeys(label.split()[0] for label in tables):
            _show(guideline_summary(name, tables), args.markdown)
    _finish(device, args, tables, started)
    return 0


def run_bench_models(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    started = _header(device, args)
    batch_sizes = args.batch_size or ([1] if args.fast else [1, 64])
    timing = {"warmup": 1, "repeats": 3, "min_seconds": 0.0} if args.fast else {"warmup": 3, "repeats": 10}
    given = {"warmup": args.warmup, "repeats": args.repeats, "min_seconds": args.min_seconds}
    timing.update({key: value for key, value in given.items() if value is not None})
    table = latency_table(
        {name: get_model(name) for name in args.models or list_models()},
        (3, args.input_size, args.input_size),
        batch_sizes,
        device,
        threads=args.threads,
        clock=args.clock,
        dtype=DTYPES[args.dtype],
        channels_last=args.channels_last,
        compile=args.compile,
        cuda_graphs=args.cuda_graphs,
        **timing,
    )
    _show(table, args.markdown)
    _finish(device, args, {"models": table}, started)
    return 0
