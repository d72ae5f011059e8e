"""Latency of every course model at 224x224, at batch 1 and batch 64, next to its MACs and mem_access.

Prints a Markdown table (machine, command, date and load average first) for benchmarks/README.md and
writes the exact numbers to benchmarks/results/model_latency_<device>.json, which notebook 07 reads
(``viz.plot_latency_vs_macs(data["tables"]["models"]["rows"])``). Examples::

    python benchmarks/model_latency.py --device cpu --warmup 2 --repeats 5 --min-seconds 0
    python benchmarks/model_latency.py --device cuda
    python benchmarks/model_latency.py --device cuda --dtype bfloat16 --channels-last --compile
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _script import RESULTS, ScriptRun, add_clock_option  # benchmarks/_script.py

from lightnets_course.benchmark import latency_table, to_markdown
from lightnets_course.models import get_model, list_models

DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    parser.add_argument("--models", nargs="+", default=list_models(), help="default: every course model")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 64])
    parser.add_argument("--input-size", type=int, default=224, help="height = width (default 224)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30, help="timed runs at least")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="timed seconds at least")
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's)")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile each model")
    parser.add_argument("--cuda-graphs", action="store_true", help="with --compile: mode reduce-overhead")
    add_clock_option(parser)
    parser.add_argument("--out", type=Path, help="JSON file (default: results/model_latency_<device>.json)")
    args = parser.parse_args(argv)

    run = ScriptRun("model_latency.py", argv, args.device)

    models = {name: get_model(name) for name in args.models}
    table = latency_table(
        models,
        (3, args.input_size, args.input_size),
        args.batch_sizes,
        args.device,
        warmup=args.warmup,
        repeats=args.repeats,
        min_seconds=args.min_seconds,
        threads=args.threads,
        clock=args.clock,
        dtype=DTYPES[args.dtype],
        channels_last=args.channels_last,
        compile=args.compile,
        cuda_graphs=args.cuda_graphs,
    )
    print(to_markdown(table))

    run.finish(args.out or RESULTS / f"model_latency_{args.device.split(':')[0]}.json", {"models": table})


if __name__ == "__main__":
    main()
