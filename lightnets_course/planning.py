"""How a training run is laid out before its first step: the memory layout and precision (measured
where it matters), and for a time budget the number of epochs that ends on time.

>>> plan_epochs(budget=20 * 60, epoch_seconds=95)   # 20 minutes, 95 s per epoch
12
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from .batches import check_images, move_batch, unpack_batch
from .device import Setup, clock, cuda_autocast_dtype, fastest_setup

__all__ = ["DEFAULT_EPOCHS", "MIN_STEPS_TO_MEASURE", "first_batch", "plan_epochs", "plan_run"]

DEFAULT_EPOCHS = 10


def first_batch(data: Any, device: torch.device) -> tuple[Tensor, Tensor]:
    """One training batch on ``device``, taken without touching any global random generator."""
    with torch.random.fork_rng(devices=[]):
        batch = next(iter(data), None)
    if batch is None:
        raise ValueError("fit: train_data yielded no batches; check the data set and the batch size")
    images, labels = unpack_batch(batch, "train_data")
    check_images(images, "train_data")
    return move_batch(images, labels, device, channels_last=False)


# A run of fewer steps than this is not worth the ~20 steps it takes to measure the fastest setup.
MIN_STEPS_TO_MEASURE = 400


def plan_epochs(
    budget: float, epoch_seconds: float, spent: float = 0.0, max_epochs: int | None = None
) -> int:
    """How many whole epochs fit in ``budget`` seconds when one takes ``epoch_seconds``.

    ``spent`` seconds of the budget are already used (measuring, loading). 5% of what is left is kept
    back, for the first epoch's warm-up and a machine that slows down. ``max_epochs`` caps the answer.

    Raises:
        ValueError: not even one epoch fits; the message says how much time one needs.

    >>> plan_epochs(600, 50)  # 10 minutes, 50 s per epoch
    11
    """
    left = (budget - spent) * 0.95
    epochs = int(left // epoch_seconds) if epoch_seconds > 0 else max_epochs or 1
    if epochs < 1:
        need = spent + epoch_seconds / 0.95
        raise ValueError(
            f"fit: budget={budget:.0f}s is too short for one epoch here: measuring took {spent:.0f}s and one "
            f"epoch takes about {epoch_seconds:.0f}s; give budget >= {math.ceil(need)}, or use less data or a "
            "smaller model"
        )
    return min(epochs, max_epochs) if max_epochs is not None else epochs


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def plan_run(
    model: nn.Module,
    train_data: Any,
    val_data: Any,
    device: torch.device,
    *,
    epochs: int | None,
    budget: float | None,
    channels_last: bool | None,
    amp: bool | None,
    precise_bn: int,
    saved_run: Mapping[str, Any] | None,
    show: bool,
) -> tuple[Setup, int]:
    """The layout, precision and number of epochs of a run: measured, planned for ``budget``, or
    taken from the run being resumed."""
    steps_per_epoch = len(train_data)
    # A resumed run keeps its plan unless epochs are given (and then they must match it).
    resumed_epochs = int(saved_run.get("epochs", DEFAULT_EPOCHS)) if saved_run is not None else 0
    if saved_run is not None and epochs is not None and budget is None:
        resumed_epochs = epochs
    if saved_run is not None and "channels_last" in saved_run:
        dtype = saved_run.get("autocast_dtype")
        setup = Setup(
            bool(saved_run["channels_last"]),
            getattr(torch, dtype) if dtype else None,
            reason="the setup of the run being resumed",
        )
        return setup, resumed_epochs
    planned = epochs or DEFAULT_EPOCHS
    if saved_run is not None:  # written before the setup was stored: the rule it was trained with
        on_cuda = device.type == "cuda"
        dtype = cuda_autocast_dtype() if on_cuda and amp is not False else None
        setup = Setup(
            on_cuda and channels_last is not False, dtype, reason="the rule of the run being resumed"
        )
        return setup, resumed_epochs
    started = clock()
    images, labels = first_batch(train_data, device)
    open_choice = channels_last is None or amp is None
    long_run = steps_per_epoch * planned >= MIN_STEPS_TO_MEASURE
    measure = budget is not None or (device.type != "cuda" and open_choice and long_run)
    setup = fastest_setup(model, images, labels, channels_last=channels_last, amp=amp, measure=measure)
    if show and measure:
        print(f"Training setup: {setup.name} ({setup.reason})")
    if budget is None:
        return setup, planned
    assert setup.step_seconds is not None and setup.eval_seconds is not None
    val_steps = len(val_data) if val_data is not None else 0
    bn_steps = min(precise_bn, steps_per_epoch)
    epoch_seconds = steps_per_epoch * setup.step_seconds + (val_steps + bn_steps) * setup.eval_seconds
    spent = clock() - started
    chosen = plan_epochs(budget, epoch_seconds, spent=spent, max_epochs=epochs)
    if show:
        print(
            f"Time budget {_minutes(budget)}: one epoch takes about {_minutes(epoch_seconds)} here "
            f"({steps_per_epoch} steps of {1000 * setup.step_seconds:.0f} ms, measured), so {chosen} "
            f"epoch{'s' if chosen != 1 else ''}; the schedule ends after about "
            f"{_minutes(spent + chosen * epoch_seconds)}."
        )
    return setup, chosen
