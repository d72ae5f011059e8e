"""Training: ``fit``, the one loop every notebook and the ``lightnets`` command use.

>>> from lightnets_course.models import get_model
>>> from lightnets_course.data import get_data
>>> from lightnets_course.train import fit
>>> data = get_data("cifar10")
>>> model = get_model("mobilenet_v2", num_classes=10, cifar=True)
>>> history = fit(model, data.train, data.val, epochs=30, checkpoint_dir="runs/mnv2")
>>> history = fit(model, data.train, data.val, budget=20 * 60)   # as many epochs as fit in 20 minutes
>>> history.plot()

A training step reads like the textbook one (forward, loss, backward, step) in ``_train_step``; the
rest of this module is what makes it dependable: the device and the fastest layout and precision for it
(``planning``), BatchNorm statistics that match the weights and a weight average (``averaging``),
checkpoints after every epoch and an exact resume (``checkpoint``), a clean stop on Jupyter's stop
button, a clear message when the loss becomes NaN, and ``torchrun`` (``distributed``). The course's
CIFAR-10 settings are in ``recipe``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchvision import transforms
from tqdm.auto import tqdm

from .averaging import WeightAverage, frozen_batchnorm_to_eval, recompute_batchnorm
from .batches import check_images, check_labels, check_loader, move_batch, unpack_batch
from .checkpoint import attach_metadata, read_resume_checkpoint, restore_run, save_checkpoint, unwrap
from .checks import is_whole_number
from .device import Setup, clock, pick_device
from .distributed import Distributed
from .evaluate import evaluate
from .planning import DEFAULT_EPOCHS, plan_run
from .recipe import BASE_BATCH_SIZE, OPTIMIZERS, default_lr
from .results import History, percent

__all__ = ["SCHEDULES", "TrainingDiverged", "fit", "seed_everything"]

SCHEDULES = ("onecycle", "cosine", "plateau", "constant")

# The loss is read back from the GPU every this many steps, not every step: reading it forces the
# CPU to wait for the GPU, which would stop it from queueing the next steps' work in advance.
_LOSS_CHECK_EVERY = 10


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says where and what to try."""


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's global random generators (CPU and every GPU) with ``seed``.

    Call it before building a model to make its initial weights reproducible: the same seed then gives
    the same weights, bit for bit, on the same machine and torch version.
    """
    random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def _callers_random_state_kept() -> Iterator[None]:
    """Run a block that reseeds the global generators, then give the caller's state back."""
    python_state = random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)


# ---------------------------------------------------------------------------------------------------
# The pieces of a run


def _make_optimizer(
    model: nn.Module, name: str, lr: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(
            "the model has no trainable parameters (all have requires_grad=False); nothing to train"
        )
    # Weight decay pulls weights towards zero; on biases and BatchNorm scales (1-D tensors) that only
    # fights the normalisation, so as usual they are left out of it.
    groups = [
        {"params": [p for _, p in trainable if p.dim() > 1], "weight_decay": weight_decay},
        {"params": [p for _, p in trainable if p.dim() <= 1], "weight_decay": 0.0},
    ]
    groups = [group for group in groups if group["params"]]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)
    return torch.optim.AdamW(groups, lr=lr)


def _make_scheduler(name: str, optimizer: torch.optim.Optimizer, lr: float, total_steps: int) -> Any:
    """The schedule, stepped after every batch (onecycle, cosine) or after every epoch (plateau)."""
    if name == "onecycle":
        # Momentum stays what the caller chose (cycle_momentum=False) rather than cycling 0.85-0.95.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=total_steps, cycle_momentum=False
        )
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=2)
    return None


def _set_epoch(loader: Any, epoch: int) -> None:
    """Tell a loader (or its sampler) the epoch, so its shuffling and augmentation change per epoch."""
    if loader is None:
        return
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)
    elif hasattr(getattr(loader, "sampler", None), "set_epoch"):
        loader.sampler.set_epoch(epoch)


def _seed_epoch(seed: int, epoch: int) -> None:
    """Seed Python's and torch's global generators from (seed, epoch), so every epoch is reproducible
    on its own: DataLoader shuffling, augmentation and dropout of epoch ``e`` are the same whether the
    run started at epoch 0 or resumed at ``e``."""
    epoch_seed = seed * 100_003 + epoch
    random.seed(epoch_seed)
    torch.manual_seed(epoch_seed)


@dataclasses.dataclass
class _DataDetails:
    """What a model needs to remember about its training data (stored in checkpoints)."""

    class_names: list[str] | None
    mean: list[float] | None
    std: list[float] | None
    image_size: int | list[int] | None

    @property
    def normalization(self) -> dict[str, list[float]] | None:
        return (
            {"mean": self.mean, "std": self.std} if self.mean is not None and self.std is not None else None
        )


def _data_details(loader: Any, class_names: Sequence[str] | None) -> _DataDetails:
    """Class names, normalisation and image size from a DeviceLoader's attributes, or from a
    DataLoader's dataset (its ``classes`` and the ``Normalize`` step of its transform)."""
    dataset = getattr(loader, "dataset", None)
    if class_names is None:
        class_names = getattr(loader, "classes", None) or getattr(dataset, "classes", None)
    mean, std = getattr(loader, "mean", None), getattr(loader, "std", None)
    if mean is None or std is None:
        transform = getattr(dataset, "transform", None)
        for step in getattr(transform, "transforms", [transform]):
            if isinstance(step, transforms.Normalize):
                mean, std = step.mean, step.std
    known = mean is not None and std is not None
    return _DataDetails(
        class_names=[str(name) for name in class_names] if class_names is not None else None,
        mean=[float(v) for v in mean] if known else None,
        std=[float(v) for v in std] if known else None,
        image_size=getattr(loader, "image_size", None),
    )


class _Diverged(Exception):
    def __init__(self, step: int, loss: float) -> None:
        super().__init__(step, loss)
        self.step = step
        self.loss = loss


@dataclasses.dataclass
class _Run:
    """Everything one ``fit`` call trains with, made once by ``_start_run``."""

    model: nn.Module  # the network being trained
    net: nn.Module  # the same, maybe wrapped (DistributedDataParallel, torch.compile)
    kept: nn.Module  # what is validated, saved and kept: the weight average, or the model itself
    weight_average: WeightAverage | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any  # torch.amp.GradScaler, enabled only for float16 on CUDA
    criterion: nn.Module
    setup: Setup
    device: torch.device
    distributed: Distributed
    settings: dict[str, Any]  # what a resumed run must match, stored with the checkpoints
    details: _DataDetails
    history: History
    start_epoch: int
    folder: Path | None
    grad_clip: float | None

    @property
    def epochs(self) -> int:
        return self.settings["epochs"]

    def kept_weights(self) -> dict[str, Tensor]:
        return {key: value.detach().clone() for key, value in self.kept.state_dict().items()}

    def save(self, epoch: int, improved: bool) -> None:
        """``last.pt`` (and ``best.pt`` when the validation accuracy improved), on process 0 only."""
        if self.folder is None or not self.distributed.is_main:
            return
        run = dict(self.settings, ema_steps=self.weight_average.steps if self.weight_average else 0)
        run["scaler"] = self.scaler.state_dict() if self.scaler.is_enabled() else None
        extra: dict[str, Any] = {"run": run}
        if self.weight_average is not None:  # the raw weights carry on training after a resume
            extra["raw_model"] = {key: value.detach().cpu() for key, value in self.model.state_dict().items()}
        for name in ("last.pt", "best.pt") if improved else ("last.pt",):
            save_checkpoint(
                self.folder / name, self.kept, optimizer=self.optimizer, scheduler=self.scheduler,
                epoch=epoch, history=self.history, class_names=self.details.class_names,
                mean=self.details.mean, std=self.details.std, image_size=self.details.image_size, extra=extra,
            )  # fmt: skip


def _grad_scaler(enabled: bool) -> Any:
    # float16 gradients underflow to zero unless the loss is scaled up; bfloat16 has float32's range.
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)  # torch < 2.3


def _start_run(
    model: nn.Module,
    train_data: Any,
    val_data: Any,
    distributed: Distributed,
    options: dict[str, Any],
) -> _Run:
    """Plan the run (setup, epochs), build the optimiser, schedule, scaler and weight average, and load
    the state of a run being resumed."""
    device, show = distributed.device, options["progress"] and distributed.is_main
    folder = Path(options["checkpoint_dir"]) if options["checkpoint_dir"] is not None else None
    saved = read_resume_checkpoint(folder / "last.pt") if options["resume"] and folder is not None else None
    model.to(device)
    setup, epochs = plan_run(
        model, train_data, val_data, device, epochs=options["epochs"], budget=options["budget"],
        channels_last=options["channels_last"], amp=options["amp"], precise_bn=options["precise_bn"],
        saved_run=saved.get("run") if saved else None, show=show,
    )  # fmt: skip
    seed_everything(options["seed"])
    if setup.channels_last:
        model.to(memory_format=torch.channels_last)
    lr = options["lr"]
    if lr is None:
        batch_size = getattr(train_data, "batch_size", None) or BASE_BATCH_SIZE
        lr = default_lr(options["optimizer"], batch_size * distributed.world_size)
    settings = {
        "optimizer": options["optimizer"],
        "lr": lr,
        "schedule": options["schedule"],
        "ema_decay": options["ema_decay"],
        "epochs": epochs,
        "steps_per_epoch": len(train_data),
        "seed": options["seed"],
        "channels_last": setup.channels_last,
        "autocast_dtype": str(setup.autocast_dtype).removeprefix("torch.") if setup.autocast_dtype else None,
    }
    optimizer = _make_optimizer(model, options["optimizer"], lr, options["weight_decay"], options["momentum"])
    scheduler = _make_scheduler(options["schedule"], optimizer, lr, epochs * len(train_data))
    scaler = _grad_scaler(setup.autocast_dtype == torch.float16 and device.type == "cuda")
    weight_average = WeightAverage(model, options["ema_decay"]) if options["ema_decay"] is not None else None
    details = _data_details(train_data, options["class_names"])
    history, start_epoch = History(), 0
    if saved is not None:
        assert folder is not None
        history, start_epoch, saved_image_size = restore_run(
            saved, folder / "last.pt", model, optimizer, scheduler, scaler, weight_average, settings
        )
        details.image_size = details.image_size or saved_image_size
        if start_epoch >= epochs and show:
            print(
                f"'{folder / 'last.pt'}' has already trained {start_epoch} of {epochs} epochs; nothing to do"
            )
    net = model
    if distributed.active:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if options["compile"]:
        net = torch.compile(net)
    return _Run(
        model=model, net=net, kept=weight_average.model if weight_average is not None else model,
        weight_average=weight_average, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
        criterion=nn.CrossEntropyLoss(label_smoothing=options["label_smoothing"]), setup=setup, device=device,
        distributed=distributed, settings=settings, details=details, history=history,
        start_epoch=start_epoch, folder=folder, grad_clip=options["grad_clip"],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# One step, one epoch


def _train_step(run: _Run, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Forward, loss, backward, update: one optimiser step. Returns the loss and the logits."""
    with run.setup.autocast(run.device):
        logits = run.net(images)
        loss = run.criterion(logits, labels)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if run.grad_clip is not None:
        run.scaler.unscale_(run.optimizer)  # so that the clipping sees the true gradients
        nn.utils.clip_grad_norm_(run.model.parameters(), run.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    if run.settings["schedule"] in ("onecycle", "cosine"):  # stepped every batch; plateau every epoch
        run.scheduler.step()
    if run.weight_average is not None:
        run.weight_average.update(run.model)
    return loss.detach(), logits.detach()


def _train_one_epoch(run: _Run, data: Iterable, bar: Any, first: bool) -> tuple[float, float, float, Any]:
    """One pass over ``data``; returns the mean loss, the accuracy, the learning rate of the last step
    and the image size of the first batch. Raises _Diverged on a NaN or infinite loss."""
    totals = torch.zeros(3, dtype=torch.float64, device=run.device)  # loss sum, correct, images
    recent: list[Tensor] = []
    image_size, last_lr, step = None, run.optimizer.param_groups[0]["lr"], 0
    for step, batch in enumerate(data, start=1):
        images, labels = unpack_batch(batch, "train_data")
        if first and step == 1:
            check_images(images, "train_data")
            image_size = images.shape[-1] if images.shape[-1] == images.shape[-2] else list(images.shape[-2:])
        images, labels = move_batch(images, labels, run.device, run.setup.channels_last)
        if first and step == 1:
            check_labels(labels, _num_outputs(run, images), "train_data")
        last_lr = run.optimizer.param_groups[0]["lr"]
        loss, logits = _train_step(run, images, labels)
        totals += torch.stack(
            [loss.double() * len(labels), (logits.argmax(1) == labels).sum(), totals.new_tensor(len(labels))]
        )
        recent.append(loss)
        bar.update(1)
        if step % _LOSS_CHECK_EVERY == 0:
            _check_losses(run, recent, step, bar)
    if recent:
        _check_losses(run, recent, step, bar)
    loss_sum, correct, seen = run.distributed.sum(totals).tolist()
    return loss_sum / seen, correct / seen, last_lr, image_size


def _num_outputs(run: _Run, images: Tensor) -> int:
    """The model's number of classes, from its configuration or from one forward pass."""
    config = getattr(run.model, "config", None) or {}
    if "num_classes" in config:
        return int(config["num_classes"])
    with torch.no_grad(), run.setup.autocast(run.device):
        was_training = run.model.training
        run.model.eval()
        outputs = run.model(images[:1]).shape[1]
        run.model.train(was_training)
    return outputs


def _check_losses(run: _Run, recent: list[Tensor], step: int, bar: Any) -> None:
    """Raise _Diverged if one of the recent losses is not finite; show the last one on the bar."""
    losses = torch.stack(recent).float()
    finite = torch.isfinite(losses)
    # Every process must agree to stop, or the others would wait for it forever.
    if run.distributed.sum((~finite).any().to(torch.int64).reshape(1)).item():
        first_bad = int((~finite).nonzero()[0]) if not finite.all() else len(recent) - 1
        loss = float(losses[first_bad]) if not finite.all() else float("nan")
        raise _Diverged(step - len(recent) + 1 + first_bad, loss)
    bar.set_postfix(loss=f"{float(losses[-1]):.3f}", refresh=False)
    recent.clear()


def _end_of_epoch(run: _Run, epoch: int, train: tuple[float, float, float], val_data: Any, precise_bn: int,
                  train_data: Any, started: float) -> bool:  # fmt: skip
    """BatchNorm statistics, validation, the history and the checkpoints after ``epoch`` (from 0).
    Returns whether the validation accuracy improved."""
    if precise_bn:
        recompute_batchnorm(run.kept, train_data, precise_bn, run.setup)
    run.distributed.broadcast_buffers(run.model)
    run.distributed.broadcast_buffers(run.kept)
    history = run.history
    if val_data is not None:
        result = evaluate(run.kept, val_data, device=run.device)
        history.val_loss.append(result.loss)
        history.val_acc.append(result.accuracy)
    if run.settings["schedule"] == "plateau":
        run.scheduler.step(history.val_loss[-1] if val_data is not None else train[0])
    history.train_loss.append(train[0])
    history.train_acc.append(train[1])
    history.lr.append(train[2])
    history.epoch_time.append(clock() - started)
    improved = val_data is not None and (
        history.best_val_acc is None or history.val_acc[-1] > history.best_val_acc
    )
    if improved:
        history.best_epoch, history.best_val_acc = epoch + 1, history.val_acc[-1]
    run.save(epoch + 1, improved)
    return improved


def _epoch_line(run: _Run, epoch: int) -> str:
    history, width = run.history, len(str(run.epochs))
    line = f"epoch {epoch + 1:>{width}}/{run.epochs}  train loss {history.train_loss[-1]:.3f} acc "
    line += percent(history.train_acc[-1])
    if len(history.val_acc) == history.epochs:
        line += f"  val loss {history.val_loss[-1]:.3f} acc {percent(history.val_acc[-1])}"
    return f"{line}  lr {history.lr[-1]:.2e}  {history.epoch_time[-1]:.1f}s"


def _where_kept(run: _Run, epochs_done: int) -> str:
    if not epochs_done:
        return "the weights it had before training"
    where = f" (also in '{run.folder / 'last.pt'}')" if run.folder is not None else ""
    return f"the weights from the end of epoch {epochs_done}{where}"


def _diverged_message(
    epoch: int, epochs: int, diverged: _Diverged, num_steps: int, lr: float, setup: Setup, kept: str
) -> str:
    causes = [
        f"the learning rate is too high (lr={lr:.3g}; try one 10 times smaller)",
        "the images are not normalised (check the mean and std of a batch)",
    ]
    if setup.autocast_dtype == torch.float16:
        causes.append("float16 overflowed (try amp=False)")
    return (
        f"Training diverged: the loss became {diverged.loss} at epoch {epoch}/{epochs}, step "
        f"{diverged.step}/{num_steps}. Probable causes: {'; '.join(causes)}. {kept}"
    )


# ---------------------------------------------------------------------------------------------------
# fit


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# fit's numeric arguments: the test a value must pass, and what the message says it takes.
_ARGUMENT_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": (lambda v: v is None or (is_whole_number(v) and v >= 1), f"a whole number >= 1 (or None: {DEFAULT_EPOCHS})"),
    "budget": (lambda v: v is None or (_number(v) and v > 0), "None or a number of seconds > 0 such as 600"),
    "precise_bn": (lambda v: is_whole_number(v) and v >= 0, "a whole number of batches >= 0 (0: off)"),
    "lr": (lambda v: v is None or (_number(v) and v > 0), "a positive number, or None for the default rule"),
    "weight_decay": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "momentum": (lambda v: _number(v) and 0 <= v < 1, "in [0, 1)"),
    "label_smoothing": (lambda v: _number(v) and 0 <= v < 1, "in [0, 1)"),
    "ema_decay": (lambda v: v is None or (_number(v) and 0 < v < 1), "None or a number between 0 and 1 such as 0.999"),
    "grad_clip": (lambda v: v is None or (_number(v) and v > 0), "None or a positive gradient norm such as 1.0"),
    "seed": (lambda v: is_whole_number(v) and v >= 0, "a whole number >= 0"),
}  # fmt: skip


def _check_fit_arguments(model: object, options: dict[str, Any]) -> None:
    """Reject a bad argument before anything runs, with a message that names it and what it takes."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    for name, (valid, takes) in _ARGUMENT_RULES.items():
        if not valid(options[name]):
            raise ValueError(f"fit: {name} must be {takes}, got {options[name]!r}")
    for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
        if options[name] not in choices:
            raise ValueError(f"fit: {name}={options[name]!r} is not one of {', '.join(map(repr, choices))}")
    if options["resume"] and options["checkpoint_dir"] is None:
        raise ValueError("fit: resume=True needs checkpoint_dir, the folder of the run to continue")


def fit(
    model: nn.Module,
    train_data: Iterable[tuple[Tensor, Tensor]],
    val_data: Iterable[tuple[Tensor, Tensor]] | None = None,
    epochs: int | None = None,
    *,
    budget: float | None = None,
    optimizer: str = "sgd",
    lr: float | None = None,
    weight_decay: float = 5e-4,
    momentum: float = 0.9,
    schedule: str = "onecycle",
    label_smoothing: float = 0.1,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    compile: bool = False,
    ema_decay: float | None = None,
    precise_bn: int = 20,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    class_names: Sequence[str] | None = None,
    grad_clip: float | None = None,
) -> History:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs (or as many as fit in ``budget`` seconds).

    The model is trained in place and ends in eval mode on the device, with ``class_names``,
    ``normalization`` and ``image_size`` from the data attached, so ``predict`` works on it at once.

    Args:
        model, train_data, val_data: the network and its (images, labels) loaders, e.g.
            ``get_data(...).train`` and ``.val`` (validate on held-out training images, never the test set).
        epochs: passes over ``train_data`` (default 10); with ``budget``, the most to train.
        budget: wall-clock seconds for the whole run: the first steps are timed, the epochs that fit are
            chosen (and said), and the schedule is laid out to end on time.
        optimizer, lr, weight_decay, momentum: ``"sgd"`` (Nesterov) or ``"adamw"``; the peak learning
            rate (``None``: ``default_lr`` for the batch size); L2 on conv and linear weights only.
        schedule: ``"onecycle"`` (up for 30% of the steps, then down to almost 0), ``"cosine"``,
            ``"plateau"`` (divide by 10 after 2 epochs without progress) or ``"constant"``.
        label_smoothing: probability spread from the true class over all classes.
        device: ``None`` picks CUDA, then Apple MPS, then the CPU.
        amp, channels_last: mixed precision and the channels-last layout. ``None``: on CUDA, both; on
            the CPU, whichever is measured to be at least 5% faster for this model here
            (``device.fastest_setup``, for runs of ``MIN_STEPS_TO_MEASURE`` steps or more). The choice
            is printed and stored, and a resumed run keeps it.
        compile: run the model through ``torch.compile``.
        ema_decay: keep a moving average of the weights (e.g. 0.999): it is what is validated, saved
            and kept.
        precise_bn: recompute the BatchNorm statistics on this many training batches after every
            epoch (``averaging.recompute_batchnorm``) so they match the weights; 0: off.
        checkpoint_dir, resume: write ``last.pt`` every epoch and ``best.pt`` on a better validation
            accuracy; ``resume=True`` continues ``last.pt`` and ends bit for bit as an unstopped run.
        seed: shuffling, augmentation and dropout come from generators seeded with (seed, epoch); seed
            the initial weights with ``seed_everything`` before building the model. The caller's
            random state is left as it was.
        progress, class_names, grad_clip: progress bars and epoch lines; names stored in checkpoints
            (default: the loader's); clip the gradient norm to this value.

    Returns:
        The ``History``: print it for a table, ``.plot()`` for the curves.

    Raises:
        TrainingDiverged: the loss became NaN or infinite; the model keeps its last good weights.

    Jupyter's stop button (KeyboardInterrupt) ends training cleanly: the model keeps the weights of
    the last finished epoch and the history is returned with ``interrupted=True``. Under ``torchrun``
    each process trains a DistributedDataParallel copy on its share of the data and process 0 writes.
    """
    # Every setting, by name, for the checks and _start_run (as nanoGPT keeps its config).
    options = {
        key: value for key, value in locals().items() if key not in ("model", "train_data", "val_data")
    }
    _check_fit_arguments(model, options)
    check_loader(train_data, "train_data")
    if val_data is not None:
        check_loader(val_data, "val_data")
    with Distributed(pick_device(device)) as distributed, _callers_random_state_kept():
        model = unwrap(model)
        train_data = distributed.shard(train_data, seed, train=True)
        val_data = distributed.shard(val_data, seed, train=False) if val_data is not None else None
        run = _start_run(model, train_data, val_data, distributed, options)
        show = progress and distributed.is_main
        last_good = run.kept_weights()  # what a stop by hand or a divergence falls back to
        epoch = run.start_epoch
        try:
            for epoch in range(run.start_epoch, run.epochs):
                started = clock()
                _seed_epoch(seed, epoch)
                for loader in (train_data, val_data):
                    _set_epoch(loader, epoch)
                run.net.train()
                frozen_batchnorm_to_eval(model)
                with tqdm(total=len(train_data), desc=f"epoch {epoch + 1}/{run.epochs}", leave=False,
                          disable=not show, unit="batch") as bar:  # fmt: skip
                    *train, image_size = _train_one_epoch(
                        run, train_data, bar, first=epoch == run.start_epoch
                    )
                run.details.image_size = run.details.image_size or image_size
                _end_of_epoch(run, epoch, tuple(train), val_data, precise_bn, train_data, started)
                last_good = run.kept_weights()
                if show:
                    print(_epoch_line(run, epoch))
        except _Diverged as diverged:
            run.kept.load_state_dict(last_good)
            model.load_state_dict(last_good)
            lr_now = run.optimizer.param_groups[0]["lr"]
            kept = f"The model keeps {_where_kept(run, epoch)}."
            message = _diverged_message(
                epoch + 1, run.epochs, diverged, len(train_data), lr_now, run.setup, kept
            )
            raise TrainingDiverged(message) from None
        except KeyboardInterrupt:
            run.history.interrupted = True
            run.kept.load_state_dict(last_good)
            if distributed.is_main:
                again = (
                    " fit(..., resume=True) continues the run." if run.folder and run.history.epochs else ""
                )
                print(
                    f"Interrupted during epoch {epoch + 1}: the model keeps {_where_kept(run, run.history.epochs)}; "
                    f"the history has {run.history.epochs} epochs.{again}"
                )
    if run.weight_average is not None:
        model.load_state_dict(run.weight_average.model.state_dict())
    attach_metadata(model, run.details.class_names, run.details.normalization, run.details.image_size)
    model.eval()
    return run.history
