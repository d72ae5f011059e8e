"""The benchmarks in one import: timing, the machine, and ShuffleNetV2's guideline experiments.

``from lightnets_course import benchmark`` gives a notebook everything it times with; each name lives
in the module that owns it:

- ``timing``: ``latency``, ``throughput``, ``latency_table``, ``Timing`` (median, spread, machine);
- ``machine``: ``machine_info``, ``describe_machine``, ``save_results``, ``recorded_results``,
  ``to_markdown``;
- ``guidelines``: ``g1_network`` ... ``g4_network`` and ``guideline`` (the paper's Tables 1-4 are in
  ``papers``).

The ``lightnets bench`` command and the scripts in ``benchmarks/`` run the same functions.
"""

from __future__ import annotations

from .guidelines import (
    G3_STRUCTURES,
    GUIDELINES,
    Bottleneck,
    ParallelFragments,
    g1_network,
    g2_network,
    g3_network,
    g3_series_width,
    g4_network,
    guideline,
)
from .machine import (
    BENCHMARK_SCRIPTS,
    RECORDED_RESULTS,
    describe_machine,
    machine_info,
    recorded_results,
    report_header,
    save_results,
    to_markdown,
)
from .papers import SHUFFLENET_V2_GUIDELINE_SOURCE as PAPER_SOURCE
from .timing import Timing, latency, latency_table, quantile, throughput

__all__ = [
    "BENCHMARK_SCRIPTS",
    "G3_STRUCTURES",
    "GUIDELINES",
    "PAPER_SOURCE",
    "RECORDED_RESULTS",
    "Bottleneck",
    "ParallelFragments",
    "Timing",
    "describe_machine",
    "g1_network",
    "g2_network",
    "g3_network",
    "g3_series_width",
    "g4_network",
    "guideline",
    "latency",
    "latency_table",
    "machine_info",
    "quantile",
    "recorded_results",
    "report_header",
    "save_results",
    "throughput",
    "to_markdown",
]
