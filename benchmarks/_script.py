"""What the timing scripts in benchmarks/ share: the --clock option, and a run's header, load
averages, duration and saved JSON (``lightnets_course.benchmark.save_results``)."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from lightnets_course.benchmark import machine_info, report_header, save_results
from lightnets_course.complexity import Table

RESULTS = Path(__file__).resolve().parent / "results"


def add_clock_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clock",
        choices=["wall", "thread"],
        default="wall",
        help="thread: CPU time of the model's thread, for a CPU shared with other programs (needs 1 thread)",
    )


class ScriptRun:
    """Prints the machine, command and load average when a script starts; ``finish`` saves its tables."""

    def __init__(self, script: str, argv: list[str] | None, device: str) -> None:
        self.device = device
        self.command = f"python benchmarks/{script} " + shlex.join(sys.argv[1:] if argv is None else argv)
        self.command = self.command.strip()
        self.load_before = machine_info(device)["load_average"]
        self.started = time.perf_counter()
        print(report_header(device, self.command))
        print(f"Load average before: {self.load_before}\n", flush=True)

    def finish(self, out: Path, tables: dict[str, Table]) -> Path:
        seconds = round(time.perf_counter() - self.started, 1)
        load_after = machine_info(self.device)["load_average"]
        print(f"Load average after: {load_after}; {seconds} s in all\n")
        path = save_results(
            out,
            tables,
            self.device,
            self.command,
            load_before=self.load_before,
            load_after=load_after,
            seconds=seconds,
        )
        print(f"Saved {path}")
        return path
