"""How fast a model really runs: latency and throughput you can trust, with their spread.

Counting MACs is not timing. A warm-up first, then many repetitions (at least ``repeats`` and at least
``min_seconds``), reported as the median with its spread; fresh random inputs; eval mode and no
autograd; on a GPU, CUDA events and a synchronisation after every run. Every ``Timing`` carries the
machine it was taken on (``machine.machine_info``).

>>> latency(get_model("mobilenet_v2"), device="cpu")
>>> latency_table(["mobilenet_v2", "shufflenet_v2_x1_0"], device="cpu")
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .checks import check_batch_size, whole_number
from .complexity import Table, check_input_size, profile, run_model
from .device import model_device, pick_device
from .machine import machine_info

__all__ = [
    "SpeedComparison",
    "Timing",
    "compare_speed",
    "latency",
    "latency_table",
    "measure",
    "quantile",
    "throughput",
    "wall_clock",
]


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 to 1) of values sorted in increasing order: linear interpolation between
    the closest ranks, as ``numpy.quantile`` does by default."""
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
        runtime: what ran the model: ``"pytorch"`` (eager or compiled), or an exported model's runtime
            such as ``"onnxruntime"`` (see ``deploy``).
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
    runtime: str = "pytorch"
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)

    def _ms(self, q: float) -> float:
        return 1000 * quantile(sorted(self.times_s), q)

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
            "runtime": self.runtime,
            "machine": dict(self.machine),
        }

    def __str__(self) -> str:
        size = "x".join(str(n) for n in self.input_size)
        settings = [self.device, self.dtype]
        if self.runtime != "pytorch":
            settings.insert(0, self.runtime)
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


def _same_device(a: torch.device, b: torch.device) -> bool:
    # "cuda" means whichever GPU is current, so it matches a model on "cuda:0".
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


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


def wall_clock(run: Callable[[Any], Any], batch: Any) -> float:
    """Seconds that ``run(batch)`` took by the wall clock (what a user waits for)."""
    begin = time.perf_counter()
    run(batch)
    return time.perf_counter() - begin


def measure(
    run: Callable[[Any], Any],
    inputs: Sequence[Any],
    *,
    warmup: int = 10,
    repeats: int = 30,
    min_seconds: float = 1.0,
    timer: Callable[[Callable[[Any], Any], Any], float] = wall_clock,
    before_timing: Callable[[], Any] | None = None,
) -> list[float]:
    """The course's timing method for any callable: seconds per call of ``run(x)``, one per timed run.

    ``warmup`` untimed calls first (memory allocation, kernel selection and caches are one-off costs),
    then timed calls until there are at least ``repeats`` of them and they took ``min_seconds``
    together, the ``inputs`` used in turn. ``timer(run, x)`` times one call (the wall clock by
    default); ``before_timing`` runs once between warm-up and timing (a GPU synchronisation). ``latency``
    times PyTorch models with it; ``deploy`` times ONNX Runtime sessions the same way.
    """
    for index in range(warmup):
        run(inputs[index % len(inputs)])
    if before_timing is not None:
        before_timing()
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < _MAX_RUNS):
        times.append(timer(run, inputs[len(times) % len(inputs)]))
    return times


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

    def time_thread(run: Callable[[torch.Tensor], Any], batch: torch.Tensor) -> float:
        # Counts only while this thread runs: the time other programs hold the core is left out.
        begin = time.thread_time()
        run(batch)
        return time.thread_time() - begin

    return time_thread if clock == "thread" else wall_clock


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
    input_size = check_input_size(input_size)
    check_batch_size(batch_size)
    whole_number(warmup, "warmup", 0)
    whole_number(repeats, "repeats", 1)
    if isinstance(min_seconds, bool) or not isinstance(min_seconds, (int, float)) or min_seconds < 0:
        raise ValueError(f"min_seconds must be a number >= 0; got {min_seconds!r}")
    if threads is not None:
        whole_number(threads, "threads", 1)
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
            run_model(work, batches[0])
            run, compile_mode = _compiled(work, target, cuda_graphs, batches[0]) if compile else (work, None)
            times = measure(
                run, batches, warmup=warmup, repeats=repeats, min_seconds=min_seconds, timer=timer,
                before_timing=(lambda: torch.cuda.synchronize(target)) if target.type == "cuda" else None,
            )  # fmt: skip
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
    ``charts.plot_latency_vs_macs(table)`` plots it: MACs alone do not predict the time.
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


@dataclasses.dataclass
class SpeedComparison:
    """Two networks timed in interleaved rounds, with the noise of the machine measured beside them.

    ``ratios`` holds, per round, how many times faster ``second`` ran than ``first`` (the ratio of
    their median latencies); ``noise`` is how far two timings of ``first`` in the same round
    disagreed at most (0.05: 5%). A difference is claimed only when every round's ratio lies beyond
    the noise on the same side of 1.
    """

    names: tuple[str, str]
    ratios: list[float]
    noise: float
    first_ms: float
    second_ms: float

    @property
    def ratio(self) -> float:
        """The median over rounds: how many times faster the second ran."""
        return statistics.median(self.ratios)

    @property
    def clear(self) -> bool:
        """Whether every round puts the difference beyond the noise, on the same side."""
        return all(r > 1 + self.noise for r in self.ratios) or all(
            r < 1 / (1 + self.noise) for r in self.ratios
        )

    def verdict(self) -> str:
        first, second = self.names
        spread = f"rounds {min(self.ratios):.2f}-{max(self.ratios):.2f}x, noise +-{self.noise:.0%}"
        if not self.clear:
            return f"{second} vs {first}: {self.ratio:.2f}x ({spread}): no clear difference here"
        faster, slower = (second, first) if self.ratio > 1 else (first, second)
        return f"{faster} is {max(self.ratio, 1 / self.ratio):.2f}x faster than {slower} here ({spread})"


def compare_speed(
    first: nn.Module,
    second: nn.Module,
    input_size: Sequence[int],
    names: tuple[str, str] = ("first", "second"),
    *,
    rounds: int = 5,
    device: str | torch.device | None = None,
    repeats: int = 5,
    min_seconds: float = 0.0,
    threads: int | None = None,
) -> SpeedComparison:
    """Time ``first`` and ``second`` (batch 1, ``input_size``) in ``rounds`` interleaved rounds, and
    ``first`` twice a round to measure the noise; see ``SpeedComparison``."""
    whole_number(rounds, "rounds", 2)
    options = {
        "device": device,
        "warmup": 2,
        "repeats": repeats,
        "min_seconds": min_seconds,
        "threads": threads,
    }
    ratios, noise, first_ms, second_ms = [], 0.0, [], []
    for _ in range(rounds):
        a = latency(first, input_size, **options).median_ms
        b = latency(second, input_size, **options).median_ms
        again = latency(first, input_size, **options).median_ms
        ratios.append(a / b)
        noise = max(noise, abs(math.log(again / a)))
        first_ms.append(a)
        second_ms.append(b)
    return SpeedComparison(
        names, ratios, math.exp(noise) - 1, statistics.median(first_ms), statistics.median(second_ms)
    )
