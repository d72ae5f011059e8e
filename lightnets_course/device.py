"""Where and how a network computes: the device, and the fastest memory layout and precision for it.

>>> from lightnets_course.device import pick_device, model_device
>>> pick_device()                 # CUDA, then Apple's MPS, then the CPU
device(type='cpu')

``fastest_setup`` answers a question every training loop has to answer and most answer by rule:
is this network faster in the channels-last layout, or in bfloat16, *on this machine*? On the
course's 2-core CPU, channels-last trains the MobileNets about 1.4x faster and ShuffleNetV2 no faster;
bfloat16 helps one model by 10% and slows another. So off CUDA the answer is measured: a few training
steps of each candidate on a copy of the model, interleaved so that a slow moment of the machine hits
all of them alike.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = [
    "Setup",
    "clock",
    "cuda_autocast_dtype",
    "default_device",
    "fastest_setup",
    "model_device",
    "pick_device",
    "pick_fastest",
]

# What every timing in the package reads; tests replace it with a fake clock.
clock: Callable[[], float] = time.perf_counter

# A layout or precision other than the plain one (contiguous, float32) is chosen only when it is at
# least this much faster: smaller differences are within the noise of a few timed steps, and a choice
# that flips from run to run between near-equal setups would make the same command give different
# weights for no gain.
MIN_SPEEDUP = 1.05


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def default_device() -> torch.device:
    """The fastest device here: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: the one asked for, or the best available one.

    Args:
        device: ``None`` picks CUDA if there is an NVIDIA GPU, else Apple's MPS if this is a Mac with
            Apple silicon, else the CPU. A name such as ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or
            ``"mps"`` (or a ``torch.device``) is checked and returned.

    Raises:
        ValueError: the name is not a device, or that device is not available on this machine.
        TypeError: ``device`` is neither a string, a ``torch.device`` nor ``None``.
    """
    if device is None:
        return default_device()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"device must be a name such as 'cpu', 'cuda' or 'mps', a torch.device or None (the best "
            f"available), got {type(device).__name__} {device!r}"
        )
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"device={device!r} is not a device name; use 'cpu', 'cuda', 'cuda:1', 'mps' or None "
            "(picks the best available)"
        ) from err
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r}: CUDA is not available on this machine (no NVIDIA GPU, or a CPU-only "
                "build of torch); use device='cpu', or None to pick the best available device"
            )
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                f"numbered 0 to {torch.cuda.device_count() - 1}"
            )
    elif chosen.type == "mps":
        if not _mps_available():
            raise ValueError(
                f"device={device!r}: Apple's MPS backend is not available here (it needs a Mac with "
                "Apple silicon and macOS 12.3+); use device='cpu', or None to pick the best available"
            )
    elif chosen.type != "cpu":
        backend = getattr(torch, chosen.type, None)
        if backend is None or not hasattr(backend, "is_available") or not backend.is_available():
            raise ValueError(
                f"device={device!r} is not available on this machine; use 'cpu', 'cuda' or 'mps', or "
                "None to pick the best available"
            )
    return chosen


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model with neither)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def cuda_autocast_dtype() -> torch.dtype:
    """bfloat16 on GPUs that have it (float32's range, no gradient scaler needed), else float16."""
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _cpu_has_fast_bfloat16() -> bool:
    # oneDNN's bfloat16 kernels need AVX-512 BF16 or AMX; without them bfloat16 is emulated and slow.
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


@dataclasses.dataclass
class Setup:
    """How training steps run: memory layout, precision, and what a step was measured to cost.

    ``step_seconds`` / ``eval_seconds`` are the median time of one training step and of one
    evaluation step (forward only) at the measured batch size, ``None`` when nothing was measured.
    ``reason`` says in one line why this setup was chosen.
    """

    channels_last: bool
    autocast_dtype: torch.dtype | None
    step_seconds: float | None = None
    eval_seconds: float | None = None
    reason: str = ""

    @property
    def name(self) -> str:
        layout = "channels_last" if self.channels_last else "contiguous"
        precision = {None: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[
            self.autocast_dtype
        ]
        return f"{layout}, {precision}"

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """The autocast context of this setup (a no-op in float32)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)


def _time_steps(
    candidates: list[Setup], model: nn.Module, images: Tensor, labels: Tensor, repeats: int, warmup: int
) -> None:
    """Fill in each candidate's ``step_seconds`` and ``eval_seconds`` (medians of interleaved repeats)."""
    device = images.device
    copies, optimizers = [], []
    for setup in candidates:
        copy_ = copy.deepcopy(model).to(device).train()
        if setup.channels_last:
            copy_ = copy_.to(memory_format=torch.channels_last)
        copies.append(copy_)
        # Any optimiser does: what is timed is the forward, the backward and one update of every weight.
        optimizers.append(torch.optim.SGD(copy_.parameters(), lr=1e-6, momentum=0.9))
    criterion = nn.CrossEntropyLoss()

    def train_step(i: int) -> None:
        setup, net = candidates[i], copies[i]
        batch = images.contiguous(memory_format=torch.channels_last) if setup.channels_last else images
        with setup.autocast(device):
            loss = criterion(net(batch), labels)
        optimizers[i].zero_grad(set_to_none=True)
        loss.backward()
        optimizers[i].step()
        loss.item()  # waits for an asynchronous device

    @torch.no_grad()
    def eval_step(i: int) -> None:
        setup, net = candidates[i], copies[i]
        batch = images.contiguous(memory_format=torch.channels_last) if setup.channels_last else images
        with setup.autocast(device):
            net.eval()
            net(batch).float().sum().item()
            net.train()

    train_times: list[list[float]] = [[] for _ in candidates]
    eval_times: list[list[float]] = [[] for _ in candidates]
    for repeat in range(warmup + repeats):
        for i in range(len(candidates)):
            started = clock()
            train_step(i)
            middle = clock()
            eval_step(i)
            if repeat >= warmup:
                train_times[i].append(middle - started)
                eval_times[i].append(clock() - middle)
    for i, setup in enumerate(candidates):
        setup.step_seconds = statistics.median(train_times[i])
        setup.eval_seconds = statistics.median(eval_times[i])


def fastest_setup(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    channels_last: bool | None = None,
    amp: bool | None = None,
    measure: bool = True,
    repeats: int = 5,
    warmup: int = 2,
) -> Setup:
    """The memory layout and precision to train ``model`` with, on the device ``images`` are on.

    Args:
        model: the network; it is not changed (copies are timed), nor is any random generator.
        images, labels: one training batch, already on the device.
        channels_last, amp: ``True`` or ``False`` fixes that choice; ``None`` leaves it open.
        measure: time the open candidates (and the chosen setup's step, for a time budget). ``False``
            decides by rule: the plain setup off CUDA.
        repeats, warmup: timed and untimed steps per candidate.

    On CUDA the open choices are decided by rule, measured once on an H100 for this course's models:
    channels-last and mixed precision (bfloat16 where the GPU has it). On the CPU and on MPS the
    candidates are the plain setup (contiguous, float32), channels-last, and bfloat16 autocast where
    the CPU computes it natively; each is timed for ``warmup + repeats`` steps, interleaved, and a
    setup other than the plain one wins only when its median step is at least ``MIN_SPEEDUP`` (1.05x)
    faster. Bad for very small runs: measuring costs about ``3 x (warmup + repeats)`` steps.
    """
    device = images.device
    if device.type == "cuda":
        dtype = cuda_autocast_dtype() if amp is not False else None
        candidates = [Setup(channels_last is not False, dtype, reason="the rule on CUDA")]
    else:
        layouts = [channels_last] if channels_last is not None else [False, True]
        dtypes: list[torch.dtype | None] = [None]
        if amp or (amp is None and device.type == "cpu" and _cpu_has_fast_bfloat16()):
            dtypes.append(torch.bfloat16)
        if amp:
            dtypes = [torch.bfloat16]
        candidates = [Setup(layout, dtype) for layout in layouts for dtype in dtypes]
    if not measure:
        plain = candidates[0]
        plain.reason = plain.reason or "not measured (a short run); the plain setup"
        return plain
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        _time_steps(candidates, model, images, labels, repeats, warmup)
    return pick_fastest(candidates)


def pick_fastest(candidates: list[Setup]) -> Setup:
    """The measured candidate to train with: the first (plain) one, unless another is ``MIN_SPEEDUP``
    times faster per step. Its ``reason`` says what was measured."""
    plain = candidates[0]
    if len(candidates) == 1:
        plain.reason = plain.reason or "the one asked for"
        return plain
    assert all(setup.step_seconds is not None for setup in candidates), "measure the candidates first"
    best = min(candidates, key=lambda setup: setup.step_seconds)  # type: ignore[arg-type,return-value]
    speedup = plain.step_seconds / best.step_seconds  # type: ignore[operator]
    timings = ", ".join(f"{setup.name} {1000 * setup.step_seconds:.0f} ms" for setup in candidates)  # type: ignore[operator]
    if best is not plain and speedup >= MIN_SPEEDUP:
        best.reason = f"measured {speedup:.2f}x faster than {plain.name} per step ({timings})"
        return best
    plain.reason = f"measured; nothing else was {MIN_SPEEDUP}x faster ({timings})"
    return plain
