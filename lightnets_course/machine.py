"""The machine a measurement comes from, and measurements kept together with it.

A timing means something only next to the machine it was taken on: ``machine_info`` describes it (CPU,
cores, threads, GPU, versions, date, load average), ``save_results`` keeps tables with that
description and the command that made them, and ``recorded_results`` reads back what ``lightnets bench``
recorded in ``benchmarks/results``.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from .complexity import Table
from .device import pick_device
from .paths import REPO_ROOT

__all__ = [
    "BENCHMARK_SCRIPTS",
    "RECORDED_RESULTS",
    "describe_machine",
    "machine_info",
    "recorded_results",
    "report_header",
    "save_results",
    "to_markdown",
]


def _cpu_name() -> str:
    """The CPU's model name: /proc/cpuinfo on Linux, else what the platform module knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages, where the system reports them (not on Windows)."""
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return None
    return round(one, 2), round(five, 2), round(fifteen, 2)


def machine_info(device: str | torch.device | None = None) -> dict[str, Any]:
    """Describe the machine a timing comes from, as a dict that can be saved next to the numbers.

    Always: the device, the CPU model (from ``/proc/cpuinfo`` on Linux), its logical cores, the
    threads PyTorch uses on the CPU, the PyTorch and Python versions, the operating system, the date
    (UTC) and the load average (other programs running at the same time slow a CPU timing down).
    On a GPU also its name and memory and the CUDA and cuDNN versions. ``describe_machine`` turns the
    dict into one line.
    """
    target = torch.device("cpu") if device is None else pick_device(device)
    info: dict[str, Any] = {
        "device": str(target),
        "cpu": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}".strip(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": _load_average(),
    }
    if target.type == "cuda":
        index = target.index if target.index is not None else torch.cuda.current_device()
        properties = torch.cuda.get_device_properties(index)
        info["gpu"] = properties.name
        info["gpu_memory_gb"] = round(properties.total_memory / 1024**3, 1)
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def describe_machine(info: Mapping[str, Any]) -> str:
    """One line from ``machine_info``: what a table of timings should be printed with."""
    host = f"{info['cpu']} ({info['cpu_cores']} logical cores, {info['torch_threads']} torch threads)"
    if "gpu" in info:
        where = (
            f"GPU {info['gpu']} ({info['gpu_memory_gb']} GB, CUDA {info['cuda']}, cuDNN {info['cudnn']}); "
            f"host CPU {host}"
        )
    else:
        where = f"CPU {host}"
    load = info.get("load_average")
    load_text = f"; load average {' '.join(str(x) for x in load)}" if load else ""
    return f"{where}; torch {info['torch']}, Python {info['python']}, {info['os']}; {info['date']}{load_text}"


def report_header(device: str | torch.device | None, command: str) -> str:
    """The Markdown lines that go above a results table: machine, command and date."""
    info = machine_info(device)
    return f"Machine: {describe_machine(info)}\n\nCommand: `{command}`\n"


def _markdown_cell(table: Table, column: str, value: Any) -> str:
    # Speeds span 1 to 100,000: fixed decimals read better in a report than 4 significant digits.
    if isinstance(value, float) and not table.units.get(column):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return table.cell(column, value)


def to_markdown(table: Table) -> str:
    """A ``Table`` as a Markdown table, its title as a paragraph above, for a README or a report."""
    columns = table.columns
    lines = [f"{table.title}\n"] if table.title else []
    lines.append("| " + " | ".join(table.header(c) for c in columns) + " |")
    lines.append("|" + "|".join("---:" if table.is_numeric(c) else "---" for c in columns) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_markdown_cell(table, c, row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def save_results(
    path: str | Path,
    tables: Mapping[str, Table],
    device: str | torch.device | None,
    command: str,
    **extra: Any,
) -> Path:
    """Write tables as JSON together with ``machine_info(device)`` and the command that made them.

    The file holds ``{"machine": {...}, "command": ..., **extra, "tables": {label: {"title", "units",
    "rows"}}}``; ``rows`` are the tables' exact numbers, so a notebook can reload and plot them
    (``charts.plot_latency_vs_macs(data["tables"][label]["rows"])``). Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine_info(device),
        "command": command,
        **extra,
        "tables": {
            label: {"title": table.title, "units": table.units, "rows": table.rows}
            for label, table in tables.items()
        },
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path


# The course repository's benchmarks/results (present in a clone or an editable install).
RECORDED_RESULTS = REPO_ROOT / "benchmarks" / "results"
BENCHMARK_SCRIPTS = ("guidelines", "model_latency", "deploy_runtimes")


def recorded_results(script: str, folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """The timings recorded in ``benchmarks/results/<script>_*.json`` (``lightnets bench guidelines`` /
    ``lightnets bench models ... --json``), one entry per results file, by file name.

    ``script`` is ``"guidelines"`` (ShuffleNetV2's G1-G4 experiments), ``"model_latency"`` (every course
    model) or ``"deploy_runtimes"`` (the shipped networks and G1-G4 in ONNX Runtime:
    ``benchmarks/deploy_runtimes.py``). Each entry is the JSON document ``benchmark.save_results`` wrote: ``machine`` (describe it
    with ``benchmark.describe_machine``), ``command``, and ``tables``, a dict from a label to a table's
    ``title``, ``units`` and ``rows`` (``complexity.Table(**table)`` shows one). Files are read from
    ``folder``, by default the course repository's ``benchmarks/results``; none there gives ``{}``.
    """
    if script not in BENCHMARK_SCRIPTS:
        raise ValueError(f"script must be one of {BENCHMARK_SCRIPTS}; got {script!r}")
    where = Path(folder) if folder is not None else RECORDED_RESULTS
    found = {}
    for path in sorted(where.glob(f"{script}_*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path} is not valid JSON ({err}); restore it or record it again (benchmarks/README.md says how)"
            ) from err
        if not {"machine", "command", "tables"} <= set(document):
            raise ValueError(
                f"{path} lacks machine, command or tables: it was not written by machine.save_results"
            )
        found[path.name] = document
    return found
