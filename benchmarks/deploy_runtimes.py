"""Deployment at full size: accuracy, file size and batch-1 latency of the shipped CIFAR-10 networks in
PyTorch eager, ONNX Runtime float32 and ONNX Runtime int8 (one scale per tensor and per channel).

Notebook 08 runs the same steps on the shipped 1,000-image sample with few timed runs; this script
measures accuracy on CIFAR-10's full 10,000-image test split (``LIGHTNETS_DATA`` must hold CIFAR-10)
and times every variant with the course's method: interleaved rounds, each with a warm-up and at least
``--repeats`` runs lasting ``--seconds``, the median over rounds, and each row's noise. int8 calibrates
on the 500 shipped CIFAR-10 *training* images (``data/cifar10_calibration``). Run it on an idle
machine; it prints one Markdown table per thread count, with the machine, command, date and load,
then ShuffleNetV2's guideline experiments G1-G4 run in ONNX Runtime (one thread, the paper's x1 ARM
widths), each row's verdict against the noise measured with it::

    python benchmarks/deploy_runtimes.py --json benchmarks/results/deploy_runtimes_cpu.json   # ~6 min
    python benchmarks/deploy_runtimes.py --models mobilenet_v2 --threads 1 --no-guidelines
    python benchmarks/deploy_runtimes.py --fast                   # the sample, few runs: a smoke test

Notebook 08 shows the recorded file (``machine.recorded_results("deploy_runtimes")``) beside its live run.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

from lightnets_course import deploy
from lightnets_course.benchmark import machine_info, report_header, save_results, to_markdown
from lightnets_course.complexity import Table, profile
from lightnets_course.data import cifar10, cifar10_calibration, cifar10_sample
from lightnets_course.guidelines import guideline, guideline_verdicts
from lightnets_course.shipped import list_pretrained_cifar10, load_pretrained_cifar10

VARIANTS = ("ORT float32", "ORT int8 per tensor", "ORT int8 per channel")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=None, help="shipped networks (default: all of them)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, os.cpu_count() or 1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--fast", action="store_true", help="the shipped sample and few runs: a smoke test")
    parser.add_argument("--no-guidelines", action="store_true", help="leave out G1-G4 in ONNX Runtime")
    parser.add_argument("--json", default=None, help="also save the tables and the machine to this file")
    args = parser.parse_args(argv)
    if args.fast:
        args.rounds, args.repeats, args.seconds = 2, 3, 0.0
    shipped = list_pretrained_cifar10()
    names = args.models or sorted(shipped)
    unknown = [name for name in names if name not in shipped]
    if unknown:
        parser.error(f"no shipped checkpoint of {unknown}; shipped: {sorted(shipped)}")
    missing = deploy.deploy_packages_missing()
    if missing:
        parser.error(f"needs {', '.join(missing)}: {deploy.INSTALL_DEPLOY}")

    test_images = cifar10_sample() if args.fast else cifar10("test", download=False)
    calibration = cifar10_calibration()
    load_before = machine_info("cpu")["load_average"]
    rows, variants = [], {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            model = load_pretrained_cifar10(name, "cpu")
            files = {"ORT float32": deploy.export_onnx(model, Path(folder) / f"{name}.onnx")}
            for per_channel, variant in ((False, VARIANTS[1]), (True, VARIANTS[2])):
                files[variant] = deploy.quantize_int8(
                    files["ORT float32"], Path(folder) / f"{name}-{per_channel}.onnx", calibration,
                    per_channel=per_channel, model=model,
                )  # fmt: skip
            variants[name] = {"PyTorch eager": model, **files}
            macs = profile(model, (3, 32, 32)).macs
            for variant, path in files.items():
                session = deploy.onnx_session(path, threads=os.cpu_count() or 1)
                rows.append(
                    {"model": name, "variant": variant, "macs": macs, "size_kb": path.stat().st_size / 1024,
                     "test_acc": 100 * deploy.onnx_accuracy(session, test_images, model)}
                )  # fmt: skip
        latency = deploy.compare_runtimes(
            variants, threads=args.threads, rounds=args.rounds, repeats=args.repeats, min_seconds=args.seconds
        )
    load_after = machine_info("cpu")["load_average"]

    accuracy = {(row["model"], row["variant"]): row for row in rows}
    command = "python " + shlex.join(["benchmarks/deploy_runtimes.py", *(argv or sys.argv[1:])])
    print(report_header("cpu", command))
    print(f"Load average before and after: {load_before} / {load_after}\n")
    tables = {}
    for threads in args.threads:
        table_rows = []
        for row in latency.rows:
            if row["threads"] != threads:
                continue
            # PyTorch eager computes what ORT float32 does (the export is checked): same accuracy and MACs.
            variant = "ORT float32" if row["variant"] == "PyTorch eager" else row["variant"]
            known = accuracy[row["model"], variant]
            table_rows.append(
                {"model": row["model"], "variant": row["variant"], "macs": known["macs"],
                 "size_kb": None if row["variant"] == "PyTorch eager" else known["size_kb"],
                 "test_acc": known["test_acc"],
                 "latency_ms": row["latency_ms"], "noise": f"+-{100 * row['noise']:.0f}%"}
            )  # fmt: skip
        where = "the shipped sample (1,000 test images)" if args.fast else "CIFAR-10's 10,000 test images"
        tables[f"threads_{threads}"] = Table(
            table_rows,
            title=f"{threads} thread(s), batch 1; test_acc (%) on {where}; size in KB; MACs per image",
            units={"macs": "M"},
        )
        print(to_markdown(tables[f"threads_{threads}"]))
    if not args.no_guidelines:
        for name in ("G1", "G2", "G3", "G4"):
            table = guideline(name, runtime="onnxruntime", fast=args.fast)
            tables[f"guideline_{name}"] = table
            print(f"{table.title}\n")
            print("\n".join(f"- {line.strip()}" for line in guideline_verdicts(table)) + "\n")
    if args.json:
        print(
            f"Saved {save_results(args.json, tables, 'cpu', command, load_before=load_before, load_after=load_after)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
