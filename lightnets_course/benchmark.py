"""How fast a model really runs, and ShuffleNetV2's four guidelines measured on this machine.

Counting MACs is not timing. ShuffleNetV2 (Ma et al., 2018) showed that networks with the same MACs
can run at very different speeds, and gave four guidelines, each checked with a small benchmark
network (Tables 1-4 of the paper):

- G1: a 1x1 convolution with equal input and output channels needs the least memory access;
- G2: group convolution increases memory access;
- G3: splitting a block into many small fragments reduces parallelism;
- G4: element-wise operations (ReLU, shortcut additions) cost time although they cost no MACs.

This module holds the timing (``latency``, ``throughput``, ``machine_info``), the four benchmark
networks (``g1_network`` ... ``g4_network``) and the experiments that time them next to the paper's
numbers (``guideline``), ``latency_table`` for whole models, and ``to_markdown`` / ``save_results``
to keep the results with the machine they come from.

Timing you can trust: a warm-up first, then many repetitions (at least ``repeats`` and at least
``min_seconds``), reported as the median with its spread; fresh random inputs; eval mode and no
autograd; on a GPU, CUDA events and a synchronisation after every run. A timing is only meaningful
together with the machine it was taken on, so every ``Timing`` carries a description of it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import platform
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightnets_course.complexity import Table, _check_batch_size, _check_input_size, _run_model, profile
from lightnets_course.device import model_device, pick_device

__all__ = [
    "G3_STRUCTURES",
    "GUIDELINES",
    "PAPER_SOURCE",
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
    "report_header",
    "save_results",
    "throughput",
    "to_markdown",
]

# ---------------------------------------------------------------------------------------------------
# The machine


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


# ---------------------------------------------------------------------------------------------------
# A timing and its summary


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks, as ``numpy.quantile`` does by default."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclasses.dataclass
class Timing:
    """The result of ``latency`` / ``throughput``: every measured run, and what they were run on.

    Attributes:
        times_s: seconds per forward pass of one batch, one entry per measured run (warm-up excluded).
        batch_size, input_size: the batch that was timed, ``input_size`` without the batch dimension.
        device, dtype: where and in which precision the model ran.
        threads: CPU threads PyTorch used (``None`` on a GPU, where they matter little).
        channels_last: whether the model and inputs used the channels-last memory format.
        compile_mode: the ``torch.compile`` mode used, or ``None`` for the plain (eager) model.
        clock: ``"wall"`` (elapsed time) or ``"thread"`` (CPU time of the model's thread).
        machine: ``machine_info(device)`` at the time of the measurement.

    The median is the headline number: unlike the mean, one run slowed down by another program does
    not move it. The spread (``p10_ms`` - ``p90_ms``) says how stable the machine was.
    """

    times_s: list[float]
    batch_size: int
    input_size: tuple[int, ...]
    device: str
    dtype: str
    threads: int | None
    channels_last: bool = False
    compile_mode: str | None = None
    clock: str = "wall"
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)

    def _ms(self, q: float) -> float:
        return 1000 * _quantile(sorted(self.times_s), q)

    @property
    def runs(self) -> int:
        """How many runs were measured."""
        return len(self.times_s)

    @property
    def median_ms(self) -> float:
        """Median milliseconds per batch: the latency."""
        return self._ms(0.5)

    @property
    def p10_ms(self) -> float:
        """The fastest 10% of runs took at most this many milliseconds."""
        return self._ms(0.1)

    @property
    def p90_ms(self) -> float:
        """90% of runs took at most this many milliseconds."""
        return self._ms(0.9)

    @property
    def batches_per_s(self) -> float:
        """Batches per second at the median time (the paper's GPU unit)."""
        return 1000 / self.median_ms

    @property
    def images_per_s(self) -> float:
        """Images per second at the median time: the throughput (the paper's ARM unit)."""
        return self.batch_size * self.batches_per_s

    def to_dict(self) -> dict[str, Any]:
        """Summary numbers and settings as plain Python values, ready for ``json.dump``."""
        return {
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "images_per_s": self.images_per_s,
            "batches_per_s": self.batches_per_s,
            "runs": self.runs,
            "batch_size": self.batch_size,
            "input_size": list(self.input_size),
            "device": self.device,
            "dtype": self.dtype,
            "threads": self.threads,
            "channels_last": self.channels_last,
            "compile_mode": self.compile_mode,
            "clock": self.clock,
            "machine": dict(self.machine),
        }

    def __str__(self) -> str:
        size = "x".join(str(n) for n in self.input_size)
        settings = [self.device, self.dtype]
        if self.threads is not None:
            settings.append(f"{self.threads} thread{'s' if self.threads != 1 else ''}")
        if self.channels_last:
            settings.append("channels_last")
        if self.compile_mode is not None:
            settings.append(f"compiled ({self.compile_mode})")
        if self.clock != "wall":
            settings.append(f"{self.clock} clock")
        return (
            f"{self.median_ms:.3g} ms per batch (median of {self.runs} runs; p10-p90 "
            f"{self.p10_ms:.3g}-{self.p90_ms:.3g} ms) = {self.images_per_s:,.1f} images/s; "
            f"batch {self.batch_size} x {size}, {', '.join(settings)}"
        )

    __repr__ = __str__


# ---------------------------------------------------------------------------------------------------
# Argument checks


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return value


def _same_device(a: torch.device, b: torch.device) -> bool:
    # "cuda" means whichever GPU is current, so it matches a model on "cuda:0".
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


# ---------------------------------------------------------------------------------------------------
# latency and throughput

# Inputs are rotated through a few pre-made random batches: an all-zero input can take fast paths
# (sparse activations, zero-skipping kernels) that real images never take, and making a new batch
# in every run would time the random number generator too.
_INPUT_BATCHES = 3
# A cap on the runs that min_seconds can ask for, for a model so small that a run takes microseconds.
_MAX_RUNS = 100_000


def _timed_copy(
    model: nn.Module, device: torch.device, dtype: torch.dtype | None, channels_last: bool
) -> nn.Module:
    """The model itself when it can be timed as it is, otherwise a converted copy.

    Moving or converting a module changes it in place; timing must not change the learner's model.
    """
    floating = [t for t in [*model.parameters(), *model.buffers()] if t.is_floating_point()]
    needs_dtype = dtype is not None and any(t.dtype != dtype for t in floating)
    if _same_device(model_device(model), device) and not needs_dtype and not channels_last:
        return model
    work = copy.deepcopy(model).to(device)
    if dtype is not None:
        work = work.to(dtype)
    if channels_last:
        work = work.to(memory_format=torch.channels_last)
    return work


def _random_batches(
    batch_size: int,
    input_size: tuple[int, ...],
    device: torch.device,
    dtype: torch.dtype,
    channels_last: bool,
) -> list[torch.Tensor]:
    # A private generator: timing must not change the global random state a notebook relies on.
    generator = torch.Generator().manual_seed(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return [
        torch.randn(batch_size, *input_size, generator=generator)
        .to(device=device, dtype=dtype)
        .contiguous(memory_format=memory_format)
        for _ in range(_INPUT_BATCHES)
    ]


def _compiled(
    work: nn.Module, device: torch.device, cuda_graphs: bool, first_batch: torch.Tensor
) -> tuple[Callable[[torch.Tensor], Any], str | None]:
    """``torch.compile`` the model, or warn and return ``(work, None)`` when this setup cannot."""
    if device.type == "cuda":
        mode = "reduce-overhead" if cuda_graphs else "max-autotune-no-cudagraphs"
    else:
        # max-autotune's kernel search is aimed at GPUs; on the CPU it adds minutes of compiling.
        mode = "default"
    try:
        # A fresh start: compiled code of earlier models would count against dynamo's recompile limit.
        torch.compiler.reset()
        compiled = torch.compile(work, mode=mode)
        compiled(first_batch)  # compiling happens on the first call
    # torch.compile fails in many ways depending on the platform (no C++ compiler, an unsupported
    # Python, Windows, a missing Triton), each with its own exception type.
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        warnings.warn(
            f"torch.compile is not available here ({type(err).__name__}: {reason}); "
            "timing the model without compiling. Pass compile=False to time it this way on purpose.",
            RuntimeWarning,
            stacklevel=3,
        )
        return work, None
    if cuda_graphs:

        def run_graph(batch: torch.Tensor) -> Any:
            # Tells the CUDA-graph runner that the previous run's outputs are no longer needed.
            torch.compiler.cudagraph_mark_step_begin()
            return compiled(batch)

        return run_graph, mode
    return compiled, mode


def _clock(
    device: torch.device, clock: str = "wall"
) -> Callable[[Callable[[torch.Tensor], Any], torch.Tensor], float]:
    """A function that runs ``run(batch)`` once and returns how many seconds it took on ``device``."""
    if device.type == "cuda":
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)

        def time_cuda(run: Callable[[torch.Tensor], Any], batch: torch.Tensor) -> float:
            # GPU work is queued asynchronously: a host clock would time the queueing. The events are
            # stamped by the GPU itself; waiting for the end event makes each run a complete one.
            start.record()
            run(batch)
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000

        return time_cuda
    if device.type == "mps":

        def time_mps(run: Callable[[torch.Tensor], Any], batch: torch.Tensor) -> float:
            torch.mps.synchronize()
            begin = time.perf_counter()
            run(batch)
            torch.mps.synchronize()
            return time.perf_counter() - begin

        return time_mps

    def time_cpu(run: Callable[[torch.Tensor], Any], batch: torch.Tensor) -> float:
        begin = time.perf_counter()
        run(batch)
        return time.perf_counter() - begin

    def time_thread(run: Callable[[torch.Tensor], Any], batch: torch.Tensor) -> float:
        # Counts only while this thread runs: the time other programs hold the core is left out.
        begin = time.thread_time()
        run(batch)
        return time.thread_time() - begin

    return time_thread if clock == "thread" else time_cpu


@contextlib.contextmanager
def _timing_settings(threads: int | None) -> Iterator[None]:
    """CPU threads as asked, and cuDNN's benchmark mode on; both put back afterwards.

    In benchmark mode cuDNN tries its algorithms for each new input shape during the warm-up and
    keeps the fastest, as the ShuffleNetV2 paper's GPU measurements did.
    """
    threads_before = torch.get_num_threads()
    cudnn_before = torch.backends.cudnn.benchmark
    if threads is not None:
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.set_num_threads(threads_before)
        torch.backends.cudnn.benchmark = cudnn_before


def latency(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    device: str | torch.device | None = None,
    *,
    warmup: int = 10,
    repeats: int = 30,
    min_seconds: float = 1.0,
    channels_last: bool = False,
    dtype: torch.dtype | None = None,
    compile: bool = False,
    cuda_graphs: bool = False,
    threads: int | None = None,
    clock: str = "wall",
) -> Timing:
    """Time one forward pass of ``model`` on a batch of random images; returns a ``Timing``.

    Args:
        model: any ``nn.Module``. It runs in eval mode under ``torch.inference_mode()``, and every
            module's train/eval flag is put back afterwards. When ``device``, ``dtype`` or
            ``channels_last`` ask for a change, a converted copy is timed and the model stays as it is.
        input_size: (channels, height, width) of one image, without the batch dimension.
        batch_size: images per forward pass. Batch 1 gives the latency an app sees for one image;
            a large batch gives throughput (see ``throughput``).
        device: ``"cpu"``, ``"cuda"`` or ``"mps"``; by default the device the model is on.
        warmup: untimed runs first, so one-off costs (memory allocation, kernel selection,
            cuDNN benchmarking) are not timed.
        repeats, min_seconds: timed runs continue until there are at least ``repeats`` of them and
            they took at least ``min_seconds`` together; a fast model gets more runs, so its median
            is as stable as a slow model's.
        channels_last: time the model and inputs in the channels-last memory format, which GPUs'
            tensor cores and oneDNN on CPUs often prefer.
        dtype: time in another precision, e.g. ``torch.bfloat16`` or ``torch.float16`` on a GPU.
        compile: time ``torch.compile(model)`` (mode ``"max-autotune-no-cudagraphs"`` on a GPU,
            the default mode elsewhere); compiling happens during the warm-up. Where torch.compile
            cannot run, a warning says why and the plain model is timed.
        cuda_graphs: with ``compile=True`` on a GPU, use mode ``"reduce-overhead"``, which replays
            the whole forward pass as one CUDA graph and so removes the per-kernel launch cost.
        threads: CPU threads for PyTorch during the timing (by default as set now); the paper's
            ARM numbers are single-threaded, ``threads=1`` matches them.
        clock: ``"wall"`` (elapsed time, what a user waits) or, on the CPU with ``threads=1``,
            ``"thread"``: the CPU time of the thread running the model (``time.thread_time``). On a
            machine busy with other programs the wall clock also counts the moments they hold the
            core; the thread clock measures the model's own work, as on an idle machine.

    On the CPU each run is timed with ``time.perf_counter``; on a GPU with CUDA events, waiting for
    each run to finish before the next starts, with cuDNN's benchmark mode on (it picks the fastest
    algorithm for each layer during the warm-up). Inputs are random (``torch.randn``), a few
    batches made in advance and used in turn. Example::

        >>> t = latency(get_model("mobilenet_v2"))
        >>> t.median_ms, t.images_per_s
        >>> print(t.machine)
    """
    if isinstance(model, str) or not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module (build it first, e.g. get_model('mobilenet_v2')); "
            f"got {type(model).__name__}"
        )
    input_size = _check_input_size(input_size)
    _check_batch_size(batch_size)
    _check_count(warmup, "warmup", 0)
    _check_count(repeats, "repeats", 1)
    if isinstance(min_seconds, bool) or not isinstance(min_seconds, (int, float)) or min_seconds < 0:
        raise ValueError(f"min_seconds must be a number >= 0; got {min_seconds!r}")
    if threads is not None:
        _check_count(threads, "threads", 1)
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(
            f"dtype must be a floating-point torch dtype such as torch.bfloat16 or torch.float16; got {dtype!r}"
        )
    target = model_device(model) if device is None else pick_device(device)
    if target.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={str(target)!r}: timing supports 'cpu', 'cuda' and 'mps'")
    if cuda_graphs and not compile:
        raise ValueError(
            "cuda_graphs=True needs compile=True: the CUDA graphs are captured by torch.compile's "
            "'reduce-overhead' mode"
        )
    if cuda_graphs and target.type != "cuda":
        raise ValueError(f"cuda_graphs=True needs device='cuda'; the model is timed on {str(target)!r}")
    if clock not in ("wall", "thread"):
        raise ValueError(f"clock must be 'wall' or 'thread'; got {clock!r}")
    if clock == "thread" and (target.type != "cpu" or (threads or torch.get_num_threads()) != 1):
        raise ValueError(
            "clock='thread' counts the CPU time of one thread, so it needs device='cpu' and threads=1 "
            "(with more threads, their work would be missed)"
        )

    work = _timed_copy(model, target, dtype, channels_last)
    floating = next((p for p in work.parameters() if p.is_floating_point()), None)
    input_dtype = dtype or (floating.dtype if floating is not None else torch.float32)
    batches = _random_batches(batch_size, input_size, target, input_dtype, channels_last)
    timer = _clock(target, clock)
    modes = [(module, module.training) for module in model.modules()]
    try:
        with _timing_settings(threads), torch.inference_mode():
            work.eval()
            # The first run also checks that the model takes this input, with a clear error if not.
            _run_model(work, batches[0])
            run, compile_mode = _compiled(work, target, cuda_graphs, batches[0]) if compile else (work, None)
            for index in range(warmup):
                run(batches[index % len(batches)])
            if target.type == "cuda":
                torch.cuda.synchronize(target)
            times: list[float] = []
            while len(times) < repeats or (sum(times) < min_seconds and len(times) < _MAX_RUNS):
                times.append(timer(run, batches[len(times) % len(batches)]))
            used_threads = torch.get_num_threads() if target.type == "cpu" else None
    finally:
        for module, training in modes:
            module.training = training

    return Timing(
        times_s=times,
        batch_size=batch_size,
        input_size=input_size,
        device=str(target),
        dtype=str(input_dtype).replace("torch.", ""),
        threads=used_threads,
        channels_last=channels_last,
        compile_mode=compile_mode,
        clock=clock,
        machine=machine_info(target),
    )


def throughput(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 64,
    device: str | torch.device | None = None,
    **options: Any,
) -> Timing:
    """Images per second on large batches: ``latency`` with a batch of 64 by default.

    Read ``.images_per_s`` and ``.batches_per_s`` of the returned ``Timing`` (both come from the
    same median time). Keyword options are those of ``latency``. Throughput and batch-1 latency
    rank models differently: a large batch hides the fixed cost of each layer, one image does not.
    """
    return latency(model, input_size, batch_size, device, **options)


# ---------------------------------------------------------------------------------------------------
# ShuffleNetV2's guideline experiments: the benchmark networks

PAPER_SOURCE = (
    "Ma, Zhang, Zheng and Sun, 'ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture "
    "Design', ECCV 2018 (arXiv 1807.11164), Tables 1-4. GPU: one GTX 1080Ti, cuDNN 7.0, batches/s. "
    "ARM: Snapdragon 810, single thread, images/s. Each network is 10 stacked blocks on a 56x56 input."
)

GUIDELINES = {
    "G1": "equal channel width minimizes memory access cost",
    "G2": "excessive group convolution increases memory access cost",
    "G3": "network fragmentation reduces the degree of parallelism",
    "G4": "element-wise operations are non-negligible",
}


def _init_unit_gain(network: nn.Module) -> nn.Module:
    """Weights that keep activations near unit scale through every stacked layer.

    PyTorch's default initialisation shrinks the signal about threefold per layer; after 20 layers
    the values come close to subnormal floats, which many CPUs process far more slowly, and the
    timing would measure that instead of the layer shapes.
    """
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.weight[0].numel()
            nn.init.normal_(module.weight, std=fan_in**-0.5)
    return network


def _conv1x1(c_in: int, c_out: int, groups: int = 1) -> nn.Conv2d:
    # Bias-free, as in the paper's formulas: memory access is input + weights + output.
    return nn.Conv2d(c_in, c_out, kernel_size=1, groups=groups, bias=False)


def g1_network(c1: int, c2: int, blocks: int = 10) -> nn.Sequential:
    """G1's network: ``blocks`` blocks of two 1x1 convolutions, ``c1 -> c2 -> c1`` channels.

    For a fixed number of MACs (``2 * h * w * c1 * c2`` per block), memory access
    ``h*w*(c1 + c2) + c1*c2`` per convolution is smallest when ``c1 == c2``.
    """
    layers = []
    for _ in range(blocks):
        layers += [_conv1x1(c1, c2), _conv1x1(c2, c1)]
    return _init_unit_gain(nn.Sequential(*layers))


def g2_network(channels: int, groups: int, blocks: int = 10) -> nn.Sequential:
    """G2's network: ``blocks`` 1x1 group convolutions, ``channels -> channels`` with ``groups`` groups.

    Each costs ``h * w * channels**2 / groups`` MACs and ``h*w*2*channels + channels**2 / groups``
    memory access: at equal MACs, more groups mean wider feature maps to read and write.
    """
    if channels % groups:
        raise ValueError(f"groups={groups} must divide channels={channels}")
    return _init_unit_gain(nn.Sequential(*[_conv1x1(channels, channels, groups) for _ in range(blocks)]))


class ParallelFragments(nn.Module):
    """``fragments`` 1x1 convolutions side by side, each reading the whole input and making
    ``channels / fragments`` output channels, joined by concatenation (as in an Inception module).

    Together they cost exactly the MACs of one ``channels -> channels`` 1x1 convolution, but as
    several small kernels instead of one large one, and the input is read once per fragment.
    """

    def __init__(self, channels: int, fragments: int) -> None:
        super().__init__()
        if channels % fragments:
            raise ValueError(f"fragments={fragments} must divide channels={channels}")
        self.branches = nn.ModuleList(_conv1x1(channels, channels // fragments) for _ in range(fragments))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


G3_STRUCTURES = (
    "1-fragment",
    "2-fragment-series",
    "4-fragment-series",
    "2-fragment-parallel",
    "4-fragment-parallel",
)


def g3_series_width(channels: int, fragments: int) -> int:
    """Width of each of ``fragments`` 1x1 convolutions in series with the MACs of one at ``channels``.

    ``fragments * w**2 == channels**2`` gives ``w = channels / sqrt(fragments)``, rounded.
    """
    return round(channels / math.sqrt(fragments))


def g3_network(structure: str, channels: int, blocks: int = 10) -> nn.Sequential:
    """G3's network: ``blocks`` blocks, each 1, 2 or 4 1x1 convolutions in series or in parallel.

    ``channels`` is the width of the 1-fragment block; every structure has (close to) its MACs:

    - ``"k-fragment-series"``: k convolutions one after another, each ``w -> w`` with
      ``w = channels / sqrt(k)`` (``g3_series_width``); the network's input has ``w`` channels;
    - ``"k-fragment-parallel"``: k convolutions side by side, each ``channels -> channels / k``,
      concatenated (``ParallelFragments``): exactly the 1-fragment's MACs.

    The paper shows its blocks only as a figure and says the channels were adjusted to keep the
    FLOPs equal; this is the course's construction of that rule, with no element-wise operations,
    so that G4's effect stays out of G3.
    """
    if structure not in G3_STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(G3_STRUCTURES)}; got {structure!r}")
    fragments = int(structure[0])
    if structure.endswith("parallel"):
        stack = [ParallelFragments(channels, fragments) for _ in range(blocks)]
    else:
        width = g3_series_width(channels, fragments)
        stack = [nn.Sequential(*[_conv1x1(width, width) for _ in range(fragments)]) for _ in range(blocks)]
    return _init_unit_gain(nn.Sequential(*stack))


class Bottleneck(nn.Module):
    """ResNet's bottleneck unit without BatchNorm: 1x1 conv ``channels -> channels/4``, 3x3 conv,
    1x1 conv back to ``channels``; ReLUs and the identity shortcut can be switched off (G4).

    ``relu`` puts a ReLU after the first two convolutions and after the addition, as in ResNet.
    """

    def __init__(self, channels: int, relu: bool = True, shortcut: bool = True) -> None:
        super().__init__()
        if channels % 4:
            raise ValueError(f"channels={channels} must be a multiple of 4 (the bottleneck is channels / 4)")
        mid = channels // 4

        def activation() -> nn.Module:
            return nn.ReLU(inplace=True) if relu else nn.Identity()

        self.body = nn.Sequential(
            _conv1x1(channels, mid),
            activation(),
            nn.Conv2d(mid, mid, kernel_size=3, padding=1, bias=False),
            activation(),
            _conv1x1(mid, channels),
        )
        self.shortcut = shortcut
        self.out_activation = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut:
            out = out + x
        return self.out_activation(out)


def g4_network(channels: int, relu: bool = True, shortcut: bool = True, blocks: int = 10) -> nn.Sequential:
    """G4's network: ``blocks`` ResNet bottlenecks (``Bottleneck``) with ``channels`` in and out.

    Switching off the ReLUs or the shortcut removes element-wise operations: no MACs change, yet
    the paper measured about 20% more speed without both.
    """
    return _init_unit_gain(nn.Sequential(*[Bottleneck(channels, relu, shortcut) for _ in range(blocks)]))


# ---------------------------------------------------------------------------------------------------
# The paper's Tables 1-4 (source: PAPER_SOURCE): the widths at x1 and the measured speeds at x1, x2, x4.
# Each row: configuration, GPU widths, GPU batches/s, ARM widths, ARM images/s.

_TABLE_1 = (  # G1: c1:c2 ratio, (c1, c2)
    ("1:1", (128, 128), (1480, 723, 232), (32, 32), (76.2, 21.7, 5.3)),
    ("1:2", (90, 180), (1296, 586, 206), (22, 44), (72.9, 20.5, 5.1)),
    ("1:6", (52, 312), (876, 489, 189), (13, 78), (69.1, 17.9, 4.6)),
    ("1:12", (36, 432), (748, 392, 163), (9, 108), (57.6, 15.1, 4.4)),
)
_TABLE_2 = (  # G2: groups, channels
    (1, 128, (2451, 1289, 437), 64, (40.0, 10.2, 2.3)),
    (2, 180, (1725, 873, 341), 90, (35.0, 9.5, 2.2)),
    (4, 256, (1026, 644, 338), 128, (32.9, 8.7, 2.1)),
    (8, 360, (634, 445, 230), 180, (27.8, 7.5, 1.8)),
)
_TABLE_3 = (  # G3: structure, channels of the 1-fragment block
    ("1-fragment", 128, (2446, 1274, 434), 64, (40.2, 10.1, 2.3)),
    ("2-fragment-series", 128, (1790, 909, 336), 64, (38.6, 10.1, 2.2)),
    ("4-fragment-series", 128, (752, 745, 349), 64, (38.4, 10.1, 2.3)),
    ("2-fragment-parallel", 128, (1537, 803, 320), 64, (33.4, 9.1, 2.2)),
    ("4-fragment-parallel", 128, (691, 572, 292), 64, (35.0, 8.4, 2.1)),
)
_TABLE_4 = (  # G4: (ReLU, shortcut), channels of the unit
    ((True, True), 32, (2427, 2066, 1436), 32, (56.7, 16.9, 5.0)),
    ((True, False), 32, (2647, 2256, 1735), 32, (61.9, 18.8, 5.2)),
    ((False, True), 32, (2672, 2121, 1458), 32, (57.3, 18.2, 5.1)),
    ((False, False), 32, (2842, 2376, 1782), 32, (66.3, 20.2, 5.4)),
)
_SCALES = (1, 2, 4)


@dataclasses.dataclass(frozen=True)
class _Setup:
    """One row of a guideline experiment: how to build its network and what the paper measured."""

    config: str
    channels: str
    in_channels: int
    build: Callable[..., nn.Module]  # called with blocks=
    paper: float


def _setups(name: str, widths: str, scale: int) -> list[_Setup]:
    column = _SCALES.index(scale)
    gpu = widths == "gpu"
    setups = []
    if name == "G1":
        for ratio, gpu_pair, gpu_speed, cpu_pair, cpu_speed in _TABLE_1:
            c1, c2 = (scale * c for c in (gpu_pair if gpu else cpu_pair))
            paper = (gpu_speed if gpu else cpu_speed)[column]
            setups.append(_Setup(ratio, f"c1={c1}, c2={c2}", c1, partial(g1_network, c1, c2), paper))
    elif name == "G2":
        for groups, gpu_c, gpu_speed, cpu_c, cpu_speed in _TABLE_2:
            # The paper's 180 channels on ARM cannot be split into 8 groups; the next width that can,
            # 184, keeps the MACs within 4% of the other rows (x2 and x4 need no change).
            c = groups * math.ceil(scale * (gpu_c if gpu else cpu_c) / groups)
            paper = (gpu_speed if gpu else cpu_speed)[column]
            setups.append(_Setup(f"g={groups}", f"c={c}", c, partial(g2_network, c, groups), paper))
    elif name == "G3":
        for structure, gpu_c, gpu_speed, cpu_c, cpu_speed in _TABLE_3:
            c = scale * (gpu_c if gpu else cpu_c)
            paper = (gpu_speed if gpu else cpu_speed)[column]
            fragments = int(structure[0])
            if structure.endswith("series"):
                in_channels = g3_series_width(c, fragments)
                text = f"c={c}: {fragments} x ({in_channels} -> {in_channels})"
            else:
                in_channels = c
                text = f"c={c}" if fragments == 1 else f"c={c}: {fragments} x ({c} -> {c // fragments})"
            setups.append(_Setup(structure, text, in_channels, partial(g3_network, structure, c), paper))
    else:
        for (relu, shortcut), gpu_c, gpu_speed, cpu_c, cpu_speed in _TABLE_4:
            c = scale * (gpu_c if gpu else cpu_c)
            paper = (gpu_speed if gpu else cpu_speed)[column]
            config = f"{'ReLU' if relu else 'no ReLU'}, {'shortcut' if shortcut else 'no shortcut'}"
            text = f"c={c} ({c} -> {c // 4} -> {c})"
            setups.append(_Setup(config, text, c, partial(g4_network, c, relu, shortcut), paper))
    return setups


_GUIDELINE_COLUMNS = {"macs": "M", "mem_access": "M"}
_TABLE_NUMBERS = {"G1": 1, "G2": 2, "G3": 3, "G4": 4}


def guideline(
    name: str,
    scale: int = 1,
    device: str | torch.device | None = None,
    *,
    widths: str | None = None,
    fast: bool = False,
    batch_size: int = 1,
    warmup: int | None = None,
    repeats: int | None = None,
    min_seconds: float | None = None,
    threads: int | None = None,
    clock: str = "wall",
) -> Table:
    """Run one of ShuffleNetV2's guideline experiments on this machine, next to the paper's numbers.

    Args:
        name: ``"G1"``, ``"G2"``, ``"G3"`` or ``"G4"`` (see ``GUIDELINES``).
        scale: 1, 2 or 4, the paper's x1 / x2 / x4 columns: every width times ``scale``.
        device: ``"cpu"``, ``"cuda"`` or ``"mps"``; by default a GPU when there is one.
        widths: ``"gpu"`` or ``"cpu"``: which of the paper's two sets of widths to build, and so which
            of its numbers to compare with (GTX 1080Ti batches/s, or ARM images/s). By default
            ``"gpu"`` on a CUDA device, else ``"cpu"``.
        fast: a quick version for tests and notebooks in fast mode: 14x14 inputs, 2 blocks and 3
            timed runs. Its speeds are not the paper's setup; only the relative columns compare.
        batch_size: images per run. The paper does not give the batch for Tables 1-4, but its GPU
            speeds only fit batch 1 (at batch 8 its x4 G1 network would need 60 TFLOP/s, five
            times what a GTX 1080Ti can do), so batch 1 is the default on every device; at batch 1
            batches/s and images/s are the same number.
        warmup, repeats, min_seconds: how each row is timed (defaults 10, 30 and 1.0 s; in fast
            mode 1, 3 and 0 s). The rows are timed in three interleaved rounds, each with its own
            warm-up and a third of the runs and seconds, so that a change in the machine's load
            during the experiment affects every row alike.
        threads: CPU threads; by default 1 on the CPU, as the paper's single-threaded ARM numbers.
        clock: ``"wall"``, or ``"thread"`` on a CPU shared with other programs (see ``latency``).

    Returns a ``Table`` with one row per configuration: ``config``, ``channels``, ``macs`` and
    ``mem_access`` per image (from ``profile``), the measured ``speed`` (median; batches/s with GPU
    widths, images/s with CPU widths) with ``speed_p10`` / ``speed_p90`` (the slowest and fastest
    10% of runs), ``speed_vs_first`` (relative to the first row), and the paper's figure
    ``paper`` with ``paper_vs_first``. Compare the ``_vs_first`` columns: machines differ, the
    direction of an effect is what a guideline predicts. ``viz.plot_guideline(table)`` draws it.
    """
    key = name.upper() if isinstance(name, str) else name
    if key not in GUIDELINES:
        raise ValueError(f"name must be one of 'G1', 'G2', 'G3', 'G4'; got {name!r}")
    if scale not in _SCALES:
        raise ValueError(f"scale must be 1, 2 or 4 (the paper's x1, x2, x4 widths); got {scale!r}")
    target = pick_device(device)
    if widths is None:
        widths = "gpu" if target.type == "cuda" else "cpu"
    if widths not in ("gpu", "cpu"):
        raise ValueError(f"widths must be 'gpu' or 'cpu' (the paper's two sets of widths); got {widths!r}")
    size, blocks = (14, 2) if fast else (56, 10)
    timing_options = {
        "warmup": warmup if warmup is not None else (1 if fast else 10),
        "repeats": repeats if repeats is not None else (3 if fast else 30),
        "min_seconds": min_seconds if min_seconds is not None else (0.0 if fast else 1.0),
        # One thread on the CPU, as the paper's ARM numbers. It also keeps the timing honest on a busy
        # machine: threads of one operator wait for each other, and one descheduled thread stalls all.
        "threads": threads if threads is not None or target.type != "cpu" else 1,
        "clock": clock,
    }

    setups = _setups(key, widths, scale)
    networks = [setup.build(blocks=blocks) for setup in setups]
    input_sizes = [(setup.in_channels, size, size) for setup in setups]
    # The rows are timed in interleaved rounds, each with its own warm-up: when other programs start
    # or stop during the experiment, every row shares the change instead of one row taking it all.
    rounds = 1 if fast else 3
    round_options = {
        **timing_options,
        "repeats": math.ceil(timing_options["repeats"] / rounds),
        "min_seconds": timing_options["min_seconds"] / rounds,
    }
    times: list[list[float]] = [[] for _ in setups]
    for _ in range(rounds):
        for index, (network, input_size) in enumerate(zip(networks, input_sizes)):
            timing = latency(network, input_size, batch_size, target, **round_options)
            times[index] += timing.times_s

    # The paper counts batches on the GPU and images on ARM; a run is one batch of batch_size images.
    per_run = 1 if widths == "gpu" else batch_size
    rows = []
    for setup, network, input_size, row_times in zip(setups, networks, input_sizes, times):
        cost = profile(network, input_size)
        ordered = sorted(row_times)
        rows.append(
            {
                "config": setup.config,
                "channels": setup.channels,
                "macs": cost.macs,
                "mem_access": cost.mem_access,
                "speed": per_run / _quantile(ordered, 0.5),
                # The slowest 10% of runs set the low end of the speed, the fastest 10% the high end.
                "speed_p10": per_run / _quantile(ordered, 0.9),
                "speed_p90": per_run / _quantile(ordered, 0.1),
                "paper": setup.paper,
            }
        )
    for row in rows:
        row["speed_vs_first"] = row["speed"] / rows[0]["speed"]
        row["paper_vs_first"] = row["paper"] / rows[0]["paper"]

    unit = "batches/s" if widths == "gpu" else "images/s"
    where = "GTX 1080Ti batches/s" if widths == "gpu" else "ARM Snapdragon 810 images/s"
    threads_text = f", {timing.threads} thread{'s' if timing.threads != 1 else ''}" if timing.threads else ""
    title = (
        f"{key}: {GUIDELINES[key]}. x{scale}, the paper's {widths.upper()} widths; "
        f"speed in {unit} on {target}{threads_text}{', thread clock' if clock == 'thread' else ''} "
        f"(median of >= {timing_options['repeats']} runs), "
        f"batch {batch_size}, {size}x{size} input, {blocks} blocks{' (fast mode)' if fast else ''}; "
        f"paper: {where} (ShuffleNetV2 Table {_TABLE_NUMBERS[key]}). MACs and mem_access per image."
    )
    return Table(rows, title=title, units=_GUIDELINE_COLUMNS)


# ---------------------------------------------------------------------------------------------------
# Whole models


def latency_table(
    models: Mapping[str, nn.Module],
    input_size: Sequence[int] = (3, 224, 224),
    batch_sizes: Sequence[int] = (1,),
    device: str | torch.device | None = None,
    **options: Any,
) -> Table:
    """Time several models at several batch sizes; one row per model and batch size.

    ``models`` maps a label to a built model, e.g. ``{name: get_model(name) for name in list_models()}``.
    Columns: ``model``, ``batch_size``, ``params``, ``macs`` and ``mem_access`` per image (from
    ``profile``), ``latency_ms`` (median per batch) with ``p10_ms`` / ``p90_ms``, ``images_per_s`` and
    ``ms_per_image``. Keyword options are those of ``latency`` (``repeats``, ``dtype``, ...).
    ``viz.plot_latency_vs_macs(table)`` plots it: MACs alone do not predict the time.
    """
    if not isinstance(models, Mapping):
        raise TypeError(
            "models must be a dict from a label to a built model, e.g. "
            f"{{'mobilenet_v2': get_model('mobilenet_v2')}}; got {type(models).__name__}"
        )
    if not models:
        raise ValueError("models is empty: pass at least one model to time")
    if isinstance(batch_sizes, int):
        batch_sizes = [batch_sizes]
    rows = []
    for label, model in models.items():
        cost = profile(model, input_size)
        for batch_size in batch_sizes:
            timing = latency(model, input_size, batch_size, device, **options)
            rows.append(
                {
                    "model": label,
                    "batch_size": batch_size,
                    "params": cost.params,
                    "macs": cost.macs,
                    "mem_access": cost.mem_access,
                    "latency_ms": timing.median_ms,
                    "p10_ms": timing.p10_ms,
                    "p90_ms": timing.p90_ms,
                    "images_per_s": timing.images_per_s,
                    "ms_per_image": timing.median_ms / batch_size,
                }
            )
    size = "x".join(str(n) for n in input_size)
    title = f"Input {size} on {timing.device} ({timing.dtype}); median latency per batch; MACs and mem_access per image"
    return Table(rows, title=title, units={"params": "M", "macs": "M", "mem_access": "M"})


def _markdown_cell(table: Table, column: str, value: Any) -> str:
    # Speeds span 1 to 100,000: fixed decimals read better in a report than 4 significant digits.
    if isinstance(value, float) and not table.units.get(column):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return table._cell(column, value)


def to_markdown(table: Table) -> str:
    """A ``Table`` as a Markdown table, its title as a paragraph above, for a README or a report."""
    columns = table.columns
    lines = [f"{table.title}\n"] if table.title else []
    lines.append("| " + " | ".join(table._header(c) for c in columns) + " |")
    lines.append("|" + "|".join("---:" if table._is_numeric(c) else "---" for c in columns) + "|")
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
    (``viz.plot_latency_vs_macs(data["tables"][label]["rows"])``). Returns the path written.
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
RECORDED_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
BENCHMARK_SCRIPTS = ("guidelines", "model_latency")


def recorded_results(script: str, folder: str | os.PathLike | None = None) -> dict[str, dict]:
    """The timings that ``benchmarks/<script>.py`` saved, one entry per results file, by file name.

    ``script`` is ``"guidelines"`` (ShuffleNetV2's G1-G4 experiments) or ``"model_latency"`` (every course
    model). Each entry is the JSON document ``benchmark.save_results`` wrote: ``machine`` (describe it
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
                f"{path} is not valid JSON ({err}); restore it or run benchmarks/{script}.py again"
            ) from err
        if not {"machine", "command", "tables"} <= set(document):
            raise ValueError(
                f"{path} lacks machine, command or tables: it was not written by benchmark.save_results"
            )
        found[path.name] = document
    return found
