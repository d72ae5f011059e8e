"""Training and evaluation: the one loop every notebook and the ``lightnets`` command use.

>>> from lightnets_course.models import get_model
>>> from lightnets_course.data import get_data
>>> from lightnets_course.train import fit, evaluate, load_model
>>> data = get_data("cifar10", batch_size=256, device="cuda")
>>> model = get_model("mobilenet_v2", num_classes=10, cifar=True)
>>> history = fit(model, data.train, data.val, epochs=30, checkpoint_dir="runs/mnv2")
>>> history.plot()
>>> evaluate(model, data.test)
>>> model = load_model("runs/mnv2/best.pt")

The course trains CIFAR-10 with ``CIFAR10_RECIPE`` (its settings and where they come from are described
under its definition); ``fit(model, data.train, data.val, **recipe_fit_options())`` applies it.

``fit`` picks the device (CUDA, then Apple MPS, then CPU), trains with mixed precision and the
channels-last layout on CUDA, shows progress bars, keeps a ``History``, writes checkpoints that
``fit(..., resume=True)`` continues exactly, stops cleanly when you press stop in Jupyter, stops with
a clear message when the loss becomes NaN, and runs under ``torchrun`` on several GPUs.

Checkpoints are plain dictionaries of tensors, numbers, strings, lists and dicts (no pickled Python
objects), so ``torch.load(path, weights_only=True)`` reads them; ``load_model`` rebuilds the network
from the configuration stored next to its weights.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import math
import os
import random
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .device import Setup, clock, fastest_setup, model_device, pick_device

__all__ = [
    "CIFAR10_RECIPE",
    "CheckpointError",
    "EvalResult",
    "History",
    "TrainingDiverged",
    "compare_state_dicts",
    "default_lr",
    "evaluate",
    "fit",
    "load_checkpoint",
    "load_model",
    "pick_device",
    "recipe_fit_options",
    "recompute_batchnorm",
    "save_checkpoint",
    "seed_everything",
]

OPTIMIZERS = ("sgd", "adamw")
DEFAULT_EPOCHS = 10
SCHEDULES = ("onecycle", "cosine", "plateau", "constant")

# Learning rates for a batch of 256 images; other batch sizes scale them (see default_lr).
BASE_LR = {"sgd": 0.1, "adamw": 1e-3}
BASE_BATCH_SIZE = 256

CIFAR10_RECIPE: dict[str, Any] = {
    "epochs": 40,
    "batch_size": 512,
    "optimizer": "sgd",
    "momentum": 0.9,
    "lr": BASE_LR["sgd"] * 512 / BASE_BATCH_SIZE,
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "label_smoothing": 0.1,
    "ema_decay": 0.995,
    "amp": None,
    "channels_last": None,
    "tta_flip": True,
}
"""How the course trains its 32x32 models (``cifar=True``) from scratch on CIFAR-10.

- ``batch_size`` 512, the images kept on the GPU and augmented there: a random crop of the image
  padded by 4 pixels, and a random horizontal flip (what ``get_data("cifar10")`` does);
- SGD with Nesterov momentum 0.9 and a peak ``lr`` of 0.2, which is ``default_lr``'s rule (0.1 per
  256 images); weight decay 5e-4 on the conv and linear weights;
- the one-cycle ``schedule`` over ``epochs``: the learning rate rises for 30% of the steps, then
  anneals to almost 0;
- ``label_smoothing`` 0.1;
- an exponential moving average of the weights (``ema_decay`` 0.995: about the last 200 steps, two
  epochs at this batch size); the average is what is validated, saved and kept;
- mixed precision (``amp``: bfloat16 on GPUs that have it, else float16) and the channels-last
  layout (``channels_last``) on the GPU;
- at the end, ``evaluate(model, data.test, tta_flip=True)``: each test image is also classified
  mirrored, and the two predictions are averaged.

``fit``'s defaults are this recipe's optimiser, momentum, learning-rate rule, schedule, weight
decay, label smoothing and precision; the recipe adds ``epochs``, ``ema_decay``, ``batch_size``
(a loader setting) and ``tta_flip`` (an ``evaluate`` setting). ``lightnets train --data cifar10``
takes its defaults from here, and so should a notebook that trains on the whole of CIFAR-10. In code::

    data = get_data("cifar10", batch_size=CIFAR10_RECIPE["batch_size"])
    fit(model, data.train, data.val, **recipe_fit_options())
    evaluate(model, data.test, tta_flip=CIFAR10_RECIPE["tta_flip"])

Where it comes from: what the field has published, not a search of our own. kuangliu/pytorch-cifar
and chenyaofo/pytorch-cifar-models train these architectures with SGD (momentum 0.9, lr 0.1 at
batch 128 to 256, weight decay 5e-4, crop and flip) for 200 to 350 epochs, to 93.8-94.4% for
MobileNetV2. airbench (Keller Jordan) reaches 94% in seconds with Nesterov SGD, a short warm-up
and decay, label smoothing, a moving average of the weights, data kept on the GPU and flip
test-time augmentation. The recipe keeps the first two's optimiser settings and borrows airbench's
training tricks that suit any network, leaving out those made for airbench's own network (patch
whitening, identity initialisation, scaled biases, the Muon optimiser).

Not yet verified on a GPU: the number of epochs is an estimate, and whether the recipe reaches the
published accuracies (MobileNetV2 93.79%, ShuffleNetV2 1x 92.98%, 0.5x 90.13%) and how fast is
still to be measured (``benchmarks/cifar10_speedrun.py``; results in ``benchmarks/README.md``).
"""

CHECKPOINT_FORMAT = "lightnets-checkpoint"
CHECKPOINT_VERSION = 1

# The loss is read back from the GPU every this many steps, not every step: reading it forces the
# CPU to wait for the GPU, which would stop it from queueing the next steps' work in advance.
_LOSS_CHECK_EVERY = 10


# ---------------------------------------------------------------------------------------------------
# Results: History and EvalResult


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


@dataclasses.dataclass
class History:
    """What happened during ``fit``, one entry per epoch.

    Attributes:
        train_loss: mean training loss of each epoch (with label smoothing, as optimised).
        train_acc: fraction of training images classified right during each epoch (0 to 1).
        val_loss: validation cross-entropy after each epoch (plain, without label smoothing, so
            it is comparable between runs); empty when ``fit`` had no validation data.
        val_acc: validation accuracy after each epoch (0 to 1); empty without validation data.
        lr: learning rate of the last step of each epoch.
        epoch_time: seconds each epoch took, validation included.
        best_epoch: the epoch (counted from 1) with the highest validation accuracy, or ``None``.
        best_val_acc: that accuracy, or ``None``.
        interrupted: ``True`` when training was stopped by hand (KeyboardInterrupt, Jupyter's stop
            button) before the last epoch.

    ``history.plot()`` draws the curves; ``as_dict()`` and ``History.from_dict()`` convert to and
    from plain data (checkpoints store that).
    """

    train_loss: list[float] = dataclasses.field(default_factory=list)
    train_acc: list[float] = dataclasses.field(default_factory=list)
    val_loss: list[float] = dataclasses.field(default_factory=list)
    val_acc: list[float] = dataclasses.field(default_factory=list)
    lr: list[float] = dataclasses.field(default_factory=list)
    epoch_time: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    best_val_acc: float | None = None
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)

    def plot(self, **kwargs: Any) -> Any:
        """Loss and accuracy curves; see ``lightnets_course.viz.plot_history``. Returns the Figure."""
        from . import viz  # training code knows nothing of plots until one is asked for

        return viz.plot_history(self, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The history as plain lists and numbers (what checkpoints and JSON files store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a History from ``as_dict()``'s output."""
        if not isinstance(data, Mapping):
            raise TypeError(
                f"History.from_dict expects a dict made by History.as_dict(), got {type(data).__name__}"
            )
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"History.from_dict: unknown entries {unknown}; expected some of {names}")
        values = {name: data[name] for name in names if name in data}
        for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time"):
            values[name] = [float(v) for v in values.get(name, [])]
        return cls(**values)

    def __repr__(self) -> str:
        header = f"History: {self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if self.best_epoch is not None:
            header += f", best val acc {_percent(self.best_val_acc)} at epoch {self.best_epoch}"
        if self.interrupted:
            header += " (interrupted)"
        if not self.epochs:
            return header
        has_val = len(self.val_acc) == self.epochs
        columns = (
            "epoch  train loss  train acc"
            + ("  val loss  val acc" if has_val else "")
            + "         lr    time"
        )
        lines = [header, columns]
        shown = list(range(self.epochs))
        if self.epochs > 20:  # long runs: the start and the end tell the story
            shown = shown[:5] + [-1] + shown[-5:]
        for i in shown:
            if i == -1:
                lines.append("  ...")
                continue
            line = f"{i + 1:>5}  {_number(self.train_loss[i]):>10}  {_percent(self.train_acc[i]):>9}"
            if has_val:
                line += f"  {_number(self.val_loss[i]):>8}  {_percent(self.val_acc[i]):>7}"
            line += f"  {self.lr[i]:>9.2e}  {self.epoch_time[i]:>5.1f}s"
            lines.append(line)
        return "\n".join(lines)


@dataclasses.dataclass(repr=False)
class EvalResult:
    """How a model did on a data set (what ``evaluate`` returns).

    Attributes:
        accuracy: fraction of images classified right (0 to 1).
        loss: mean cross-entropy (no label smoothing).
        per_class: class name -> fraction of that class's images classified right (NaN for a class
            with no images).
        confusion: ``K x K`` tensor of counts; row = true class, column = predicted class.
        class_names: the ``K`` class names, in label order.
        num_images: how many images were evaluated.
    """

    accuracy: float
    loss: float
    per_class: dict[str, float]
    confusion: Tensor
    class_names: list[str]
    num_images: int

    def plot(self, **kwargs: Any) -> Any:
        """The confusion matrix; see ``lightnets_course.viz.plot_confusion_matrix``."""
        from . import viz

        return viz.plot_confusion_matrix(self, **kwargs)

    def __repr__(self) -> str:
        lines = [
            f"EvalResult: accuracy {_percent(self.accuracy)} on {self.num_images} images, "
            f"loss {self.loss:.3f}"
        ]
        width = max((len(name) for name in self.per_class), default=0)
        lines += [f"  {name:<{width}}  {_percent(acc):>6}" for name, acc in self.per_class.items()]
        return "\n".join(lines)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says where and what to try."""


class CheckpointError(ValueError):
    """A file is not a readable course checkpoint, or does not fit the model it is loaded into."""


# ---------------------------------------------------------------------------------------------------
# Batches


def _check_loader(data: object, argument: str) -> None:
    """Reject what is not an iterable of batches with a length, before the loop trips over it."""
    if hasattr(data, "train") and hasattr(data, "val") and not hasattr(data, "__iter__"):
        raise TypeError(
            f"{argument} got the whole data bundle; pass its loaders: fit(model, data.train, data.val, ...)"
        )
    if isinstance(data, (int, float)):
        hint = " (did you mean epochs=...? epochs is the fourth argument)" if argument == "val_data" else ""
        raise TypeError(
            f"{argument} must be a loader of (images, labels) batches, got the number {data!r}{hint}"
        )
    if not isinstance(data, Iterable) or not hasattr(data, "__len__"):
        raise TypeError(
            f"{argument} must be an iterable of (images, labels) batches with a length, such as a "
            f"DataLoader or the loaders of lightnets_course.data.get_data; got {type(data).__name__}"
        )
    if len(data) == 0:
        raise ValueError(f"{argument} has no batches (len() is 0); check the data set and the batch size")


def _unpack_batch(batch: object, argument: str) -> tuple[Tensor, Tensor]:
    if (
        not isinstance(batch, (tuple, list))
        or len(batch) != 2
        or not all(isinstance(t, Tensor) for t in batch)
    ):
        raise TypeError(
            f"{argument} must yield (images, labels) pairs of tensors, got {type(batch).__name__}; "
            "wrap tensors in torch.utils.data.TensorDataset and a DataLoader"
        )
    return batch[0], batch[1]


def _move_batch(
    images: Tensor, labels: Tensor, device: torch.device, channels_last: bool
) -> tuple[Tensor, Tensor]:
    if images.device != device:
        images = images.to(device, non_blocking=True)
    if labels.device != device:
        labels = labels.to(device, non_blocking=True)
    if channels_last and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels


def _check_images(images: Tensor, argument: str) -> None:
    if not images.is_floating_point():
        raise TypeError(
            f"{argument} yields images of dtype {images.dtype}; the model needs normalised float images: use "
            "the loaders of lightnets_course.data.get_data, or transforms.ToTensor() and Normalize(mean, std)"
        )


def _check_labels(labels: Tensor, num_classes: int, argument: str) -> None:
    """Catch labels that do not fit the model, with a message instead of a deep traceback."""
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(
            f"{argument} yields labels of dtype {labels.dtype}; class labels must be integers (int64)"
        )
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"{argument} has labels from {low} to {high}, but the model has {num_classes} outputs "
            f"(labels 0 to {num_classes - 1}); build the model with num_classes equal to the number of "
            "classes"
        )


# ---------------------------------------------------------------------------------------------------
# Evaluation


def _class_names_for(num_classes: int, *candidates: object) -> list[str]:
    for names in candidates:
        if names is not None and len(names) == num_classes:  # type: ignore[arg-type]
            return [str(name) for name in names]  # type: ignore[union-attr]
    return [str(i) for i in range(num_classes)]


def _is_sharded(loader: Any) -> bool:
    """Whether ``loader`` gives this process only its share of the data (under torchrun)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return False
    sampler = getattr(loader, "sampler", None)
    return getattr(loader, "world_size", 1) > 1 or isinstance(sampler, torch.utils.data.DistributedSampler)


@torch.no_grad()
def _evaluation_totals(
    model: nn.Module, data: Iterable, device: torch.device, tta_flip: bool
) -> tuple[Tensor, Tensor]:
    """Summed cross-entropy and the confusion counts (K x K, rows = true class) over ``data``."""
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    confusion: Tensor | None = None
    for batch in data:
        images, labels = _unpack_batch(batch, "data")
        images, labels = _move_batch(images, labels, device, channels_last=False)
        logits = model(images).float()
        if tta_flip:
            logits = (logits + model(images.flip(-1)).float()) / 2
        num_classes = logits.shape[1]
        if confusion is None:
            _check_labels(labels, num_classes, "data")
            confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=device)
        loss_sum += F.cross_entropy(logits, labels, reduction="sum")
        predicted = logits.argmax(dim=1)
        confusion += torch.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes)
    if confusion is None:
        raise ValueError("data yielded no batches; check the data set and the batch size")
    return loss_sum, confusion.reshape(num_classes, num_classes)


def evaluate(
    model: nn.Module,
    data: Iterable[tuple[Tensor, Tensor]],
    device: str | torch.device | None = None,
    tta_flip: bool = False,
    class_names: Sequence[str] | None = None,
) -> EvalResult:
    """Accuracy, loss, per-class accuracy and confusion matrix of ``model`` on ``data``.

    Args:
        model: a classifier; it runs in eval mode here and gets its previous mode back afterwards.
        data: (images, labels) batches, such as ``get_data(...).test`` or a DataLoader. Under
            ``torchrun``, when each process holds only its share of the data, the counts of all
            processes are added up, so every process gets the result for the whole data set.
        device: where to compute; ``None`` uses the device the model is already on.
        tta_flip: test-time augmentation: also classify each image mirrored left-right and average
            the two predictions (usually a little more accurate, twice the compute).
        class_names: names for the per-class table; by default the loader's ``classes``, then the
            model's ``class_names``, then the label numbers.

    Returns:
        An ``EvalResult`` (print it for a table; ``.plot()`` draws the confusion matrix).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"evaluate: model must be a torch.nn.Module, got {type(model).__name__}")
    _check_loader(data, "data")
    device = model_device(model) if device is None else pick_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    try:
        loss_sum, confusion = _evaluation_totals(model, data, device, tta_flip)
    finally:
        model.train(was_training)
    if _is_sharded(data):
        import torch.distributed as dist

        dist.all_reduce(loss_sum)
        dist.all_reduce(confusion)

    confusion = confusion.cpu()
    num_classes = confusion.shape[0]
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(
            f"evaluate: {len(class_names)} class names given for a model with {num_classes} outputs"
        )
    num_images = int(confusion.sum())
    names = _class_names_for(
        num_classes, class_names, getattr(data, "classes", None), getattr(model, "class_names", None)
    )
    images_per_class = confusion.sum(dim=1)
    per_class = {
        name: float(confusion[i, i]) / int(images_per_class[i]) if images_per_class[i] else float("nan")
        for i, name in enumerate(names)
    }
    return EvalResult(
        accuracy=float(confusion.diagonal().sum()) / num_images,
        loss=float(loss_sum) / num_images,
        per_class=per_class,
        confusion=confusion,
        class_names=names,
        num_images=num_images,
    )


# ---------------------------------------------------------------------------------------------------
# Checkpoints


def _unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model


def _rng_state() -> dict[str, Any]:
    version, state, gauss_next = random.getstate()
    rng: dict[str, Any] = {"python": [version, list(state), gauss_next], "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def _set_rng_state(rng: Mapping[str, Any]) -> None:
    version, state, gauss_next = rng["python"]
    random.setstate((version, tuple(state), gauss_next))
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _plain_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """A scheduler's state without functions (older torch versions keep one in it), so it loads safely."""
    return {key: value for key, value in state.items() if not callable(value)}


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file next to ``path``, then rename it over ``path``.

    A crash or an interrupt while writing leaves the previous file intact, never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _atomic_write_text(path: Path, text: str) -> None:
    _atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    epoch: int = 0,
    history: History | None = None,
    class_names: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    image_size: int | Sequence[int] | None = None,
    half: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save a model and what is needed to use it (or to continue training it) to ``path``.

    The file is written atomically (to a temporary file in the same folder, then renamed), so an
    interrupted save never leaves a broken checkpoint behind. It holds only tensors, numbers,
    strings, lists and dicts: ``torch.load(path, weights_only=True)`` reads it.

    Args:
        path: the file to write (folders are created).
        model: the trained model; its ``config`` (set by every course model) is stored so that
            ``load_model`` can rebuild it. Wrappers (DistributedDataParallel, torch.compile) are
            removed first, so parameter names never get a ``module.`` prefix.
        optimizer, scheduler: their states, to resume training.
        epoch: number of finished epochs.
        history: the ``History`` so far.
        class_names: names of the output classes, in label order.
        mean, std: the per-channel normalisation the model was trained with.
        image_size: the side (or height, width) of the training images.
        half: store floating-point weights in float16 (half the size; ``load_model`` converts back).
        extra: more plain entries to store (``fit`` keeps its resume state there).

    Returns:
        The path written.
    """
    path = Path(path)
    model = _unwrap(model)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    if half:
        state = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    config = getattr(model, "config", None)
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "model": state,
        "model_config": dict(config) if config is not None else None,
        "class_names": [str(name) for name in class_names] if class_names is not None else None,
        "normalization": (
            {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}
            if mean is not None and std is not None
            else None
        ),
        "image_size": list(image_size) if isinstance(image_size, Sequence) else image_size,
        "epoch": int(epoch),
        "history": history.as_dict() if history is not None else None,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": _plain_state(scheduler.state_dict()) if scheduler is not None else None,
        "rng": _rng_state(),
        "torch_version": str(torch.__version__),
    }
    if extra:
        payload.update(extra)
    _atomic_write(path, lambda file: torch.save(payload, file))
    return path


def _resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"folder '{path}' has no best.pt or last.pt; give the checkpoint file itself")
    if not path.exists():
        raise FileNotFoundError(
            f"checkpoint '{path}' does not exist; fit(..., checkpoint_dir=...) writes best.pt and last.pt "
            "into that folder"
        )
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint`` or ``fit`` (safely: ``weights_only=True``).

    Args:
        path: the ``.pt`` file, or a run folder (its ``best.pt``, else its ``last.pt``).

    Returns:
        The checkpoint dict: ``model`` (state dict), ``model_config``, ``class_names``,
        ``normalization``, ``image_size``, ``epoch``, ``history``, ``optimizer``, ``scheduler``, ...

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is truncated or corrupt, holds pickled Python objects, or is not a
            course checkpoint (the message says which, and what to do).
    """
    path = _resolve_checkpoint_path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        text = str(err)
        first_line = text.splitlines()[0] if text else "no details"
        if "Weights only load failed" in text:
            raise CheckpointError(
                f"'{path}' holds pickled Python objects (saved with torch.save(model)?), which are not "
                "loaded for safety; save the state dict instead, or use the checkpoints fit() writes"
            ) from err
        raise CheckpointError(
            f"'{path}' is truncated or corrupt and cannot be read ({type(err).__name__}: {first_line}); "
            "it was probably copied or saved incompletely: copy it again, or use another checkpoint"
        ) from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        looks_like_state_dict = isinstance(checkpoint, dict) and all(
            isinstance(v, Tensor) for v in checkpoint.values()
        )
        hint = (
            "it looks like a bare state dict: load it with model.load_state_dict(torch.load(path))"
            if looks_like_state_dict and checkpoint
            else "use a file written by fit(checkpoint_dir=...) or save_checkpoint()"
        )
        raise CheckpointError(f"'{path}' is a PyTorch file but not a LightNets checkpoint; {hint}")
    if checkpoint.get("format_version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"'{path}' was written by a newer version of lightnets_course (format "
            f"{checkpoint['format_version']}); upgrade the package to read it"
        )
    return checkpoint


def compare_state_dicts(expected: Mapping[str, Tensor], given: Mapping[str, Tensor], limit: int = 8) -> str:
    """Why ``given`` weights would not load into a model whose state dict is ``expected``.

    Returns:
        An empty string when every name and shape matches; otherwise a readable report of missing
        names, unexpected names and shape mismatches (at most ``limit`` of each listed).
    """

    def listed(names: list[str]) -> str:
        more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more

    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    mismatched = [
        f"{name}: model {tuple(expected[name].shape)}, weights {tuple(given[name].shape)}"
        for name in expected
        if name in given and tuple(expected[name].shape) != tuple(given[name].shape)
    ]
    lines = []
    if missing:
        lines.append(f"  missing from the weights ({len(missing)}): {listed(missing)}")
    if unexpected:
        lines.append(f"  not in the model ({len(unexpected)}): {listed(unexpected)}")
        if all(name.startswith("module.") for name in unexpected):
            lines.append(
                "  (every name starts with 'module.': saved from a DataParallel wrapper; strip that prefix)"
            )
    if mismatched:
        lines.append(f"  different shapes ({len(mismatched)}):")
        lines += [f"    {line}" for line in mismatched[:limit]]
        if len(mismatched) > limit:
            lines.append(f"    ... ({len(mismatched) - limit} more)")
    return "\n".join(lines)


def _describe_config(config: Mapping[str, Any]) -> str:
    return f"{config.get('name', '?')} with {config.get('num_classes', '?')} classes"


def _check_model_fits(model: nn.Module, checkpoint: Mapping[str, Any], path: Path) -> None:
    """Raise CheckpointError when the checkpoint's weights are for another network than ``model``."""
    saved = checkpoint.get("model_config")
    current = getattr(model, "config", None)
    if saved and current:
        if saved.get("name") != current.get("name"):
            raise CheckpointError(
                f"'{path}' holds a {_describe_config(saved)}, but the model is a {current.get('name')}: "
                "another architecture; use the same model, or another checkpoint folder"
            )
        if saved.get("num_classes") != current.get("num_classes"):
            raise CheckpointError(
                f"'{path}' holds a {_describe_config(saved)}, but the model has {current.get('num_classes')} "
                f"classes; build it with num_classes={saved.get('num_classes')}, or use another checkpoint "
                "folder"
            )
        if dict(saved) != dict(current):
            raise CheckpointError(
                f"'{path}' holds a model built with {dict(saved)}, but this one was built with "
                f"{dict(current)}; build it with the same arguments, or use another checkpoint folder"
            )
    report = compare_state_dicts(_unwrap(model).state_dict(), checkpoint["model"])
    if report:
        raise CheckpointError(f"'{path}' does not fit this model (another architecture?):\n{report}")


def _attach_metadata(model: nn.Module, class_names: Any, normalization: Any, image_size: Any) -> None:
    """What predict() needs to know about the training data, kept on the model itself."""
    model.class_names = list(class_names) if class_names is not None else None
    model.normalization = dict(normalization) if normalization is not None else None
    model.image_size = image_size


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """Rebuild a trained model from a checkpoint, ready to predict.

    The network is built with ``get_model(**checkpoint["model_config"])``, its weights are loaded
    (strictly: every name and shape must match), and the training data's details are attached:
    ``model.class_names`` (list of names), ``model.normalization`` (``{"mean": [...], "std":
    [...]}``) and ``model.image_size`` (``None`` where unknown). ``predict`` uses them.

    Args:
        path: a checkpoint file, or a run folder (its ``best.pt``, else ``last.pt``).
        device: where to put the model; ``None`` picks the best available device.

    Returns:
        The model, in eval mode, weights in float32.
    """
    from .models import get_model

    path = _resolve_checkpoint_path(path)
    checkpoint = load_checkpoint(path)
    config = checkpoint.get("model_config")
    if not config:
        raise CheckpointError(
            f"'{path}' has no model configuration (the model had no .config when saved); build the model "
            "yourself and call model.load_state_dict(load_checkpoint(path)['model'])"
        )
    try:
        model = get_model(**config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(
            f"'{path}' stores a model configuration this version cannot build: {err}"
        ) from err
    report = compare_state_dicts(model.state_dict(), checkpoint["model"])
    if report:
        raise CheckpointError(
            f"'{path}': its weights do not fit the {_describe_config(config)} it describes:\n{report}"
        )
    model.load_state_dict(checkpoint["model"])  # float16 weights are converted to the model's float32
    _attach_metadata(
        model, checkpoint.get("class_names"), checkpoint.get("normalization"), checkpoint.get("image_size")
    )
    return model.to(pick_device(device)).eval()


# ---------------------------------------------------------------------------------------------------
# Training pieces: learning rate, optimiser, schedule, weight averaging, distributed runs


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's global random generators (CPU and every GPU) with ``seed``.

    Call it before building a model to make its initial weights reproducible: the same seed then gives
    the same weights, bit for bit, on the same machine and torch version.
    """
    random.seed(seed)
    torch.manual_seed(seed)


def default_lr(optimizer: str, batch_size: int) -> float:
    """The learning rate ``fit`` uses when none is given.

    Rule: SGD uses 0.1 per 256 images, scaled linearly with the batch size (Goyal et al. 2017,
    "Accurate, Large Minibatch SGD"); AdamW uses 0.001 per 256 images, scaled with the square root of
    the batch size (Adam's steps are normalised, so they need less scaling). Under ``torchrun`` the
    batch size is the total over all processes.

    >>> default_lr("sgd", 128)
    0.05
    """
    if optimizer not in BASE_LR:
        raise ValueError(f"optimizer={optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    ratio = batch_size / BASE_BATCH_SIZE
    return BASE_LR[optimizer] * (ratio if optimizer == "sgd" else math.sqrt(ratio))


def recipe_fit_options(recipe: Mapping[str, Any] = CIFAR10_RECIPE) -> dict[str, Any]:
    """The entries of ``recipe`` that are arguments of ``fit``: ``fit(model, train, val, **options)``.

    Left out are the recipe's settings for other functions: ``batch_size`` (give it to ``get_data``)
    and ``tta_flip`` (give it to ``evaluate``).

    >>> recipe_fit_options()["schedule"]
    'onecycle'
    """
    parameters = inspect.signature(fit).parameters
    return {key: value for key, value in recipe.items() if key in parameters}


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


class _WeightAverage:
    """Exponential moving average (EMA) of a model's weights and BatchNorm statistics.

    After every optimiser step: ``average = decay * average + (1 - decay) * weights``. The decay
    starts low and rises to ``decay`` ((1 + steps) / (10 + steps) while that is smaller), so the
    average does not drag the random initial weights along through a short run.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.steps = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        self.steps += 1
        averaged, current = [], []
        for average, value in zip(self.model.state_dict().values(), model.state_dict().values()):
            if average.is_floating_point():
                averaged.append(average)
                current.append(value)
            else:
                average.copy_(value)  # counters such as BatchNorm's num_batches_tracked
        torch._foreach_lerp_(averaged, current, 1.0 - decay)


class _Distributed:
    """A ``torchrun`` launch (``WORLD_SIZE`` > 1): joins the process group on entry, and leaves it on
    exit if it started it. Outside torchrun it is process 0 of 1 and does nothing."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = 0
        self.started_here = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __enter__(self) -> _Distributed:
        if not self.active:
            return self
        import torch.distributed as dist

        if not dist.is_available():
            raise RuntimeError("WORLD_SIZE > 1 but this build of torch has no torch.distributed support")
        if self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(self.device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
            self.started_here = True
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.started_here:
            import torch.distributed as dist

            dist.destroy_process_group()

    def sum(self, tensor: Tensor) -> Tensor:
        """Add ``tensor`` up over all processes, in place."""
        if self.active:
            import torch.distributed as dist

            dist.all_reduce(tensor)
        return tensor

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Give every process rank 0's BatchNorm statistics (each process updated its own copy)."""
        if self.active:
            import torch.distributed as dist

            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def shard(self, loader: Any, seed: int, train: bool) -> Any:
        """The part of ``loader`` this process works on.

        A loader with ``rank`` and ``world_size`` attributes (``DeviceLoader``) made before the process
        group started gets a copy with this process's rank; a training DataLoader gets a
        DistributedSampler. A validation DataLoader without one is read whole by every process.
        """
        if not self.active:
            return loader
        from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

        if isinstance(getattr(loader, "world_size", None), int) and hasattr(loader, "rank"):
            if loader.world_size == self.world_size:
                return loader
            if loader.world_size == 1:
                # DeviceLoader reads rank and world_size when iterating, so a shallow copy (sharing the
                # images already on the device) with this process's rank gives this process's share.
                shard = copy.copy(loader)
                shard.rank, shard.world_size = self.rank, self.world_size
                return shard
            raise ValueError(
                f"a loader was made for {loader.world_size} processes, but torchrun started {self.world_size}"
            )
        if isinstance(loader, DataLoader):
            if isinstance(loader.sampler, DistributedSampler) or not train:
                return loader
            if loader.batch_size is not None:
                sampler = DistributedSampler(
                    loader.dataset,
                    num_replicas=self.world_size,
                    rank=self.rank,
                    shuffle=isinstance(loader.sampler, RandomSampler),
                    seed=seed,
                    drop_last=loader.drop_last,
                )
                return DataLoader(
                    loader.dataset,
                    batch_size=loader.batch_size,
                    sampler=sampler,
                    num_workers=loader.num_workers,
                    collate_fn=loader.collate_fn,
                    pin_memory=loader.pin_memory,
                    drop_last=loader.drop_last,
                    worker_init_fn=loader.worker_init_fn,
                    persistent_workers=loader.persistent_workers,
                )
        if not train:
            return loader
        raise TypeError(
            "under torchrun, fit splits a DeviceLoader or a DataLoader (with a batch_size) between the "
            f"processes; it cannot split a {type(loader).__name__}: give each process its own part of the "
            "data, e.g. with a DistributedSampler"
        )


def _set_epoch(loader: Any, epoch: int) -> None:
    """Tell a loader (or its sampler) the epoch, so its shuffling and augmentation change per epoch."""
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


def _frozen_batchnorm_to_eval(model: nn.Module) -> None:
    """Keep BatchNorm layers whose weights are all frozen in eval mode (see transfer.freeze_features).

    Their running statistics then stay those of the data they were trained on, matching the frozen
    convolutions around them, instead of drifting towards a new data set's small batches.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            parameters = list(module.parameters(recurse=False))
            if parameters and not any(p.requires_grad for p in parameters):
                module.eval()


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
        from torchvision import transforms

        transform = getattr(dataset, "transform", None)
        for step in getattr(transform, "transforms", [transform]):
            if isinstance(step, transforms.Normalize):
                mean, std = step.mean, step.std
    return _DataDetails(
        class_names=[str(name) for name in class_names] if class_names is not None else None,
        mean=[float(v) for v in mean] if mean is not None and std is not None else None,
        std=[float(v) for v in std] if mean is not None and std is not None else None,
        image_size=getattr(loader, "image_size", None),
    )


@dataclasses.dataclass
class _Step:
    """How each training step runs (fixed for the whole fit)."""

    device: torch.device
    setup: Setup
    scaler: Any
    grad_clip: float | None
    batch_scheduler: Any
    weight_average: _WeightAverage | None
    distributed: _Distributed


class _Diverged(Exception):
    def __init__(self, step: int, loss: float) -> None:
        super().__init__(step, loss)
        self.step = step
        self.loss = loss


def _train_one_epoch(
    net: nn.Module,
    model: nn.Module,
    data: Iterable,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    how: _Step,
    progress_bar: Any,
    check_first_batch: bool,
) -> tuple[float, float, float, int | list[int] | None]:
    """One pass over ``data`` with ``net`` (``model``, maybe wrapped); returns the mean loss, the
    accuracy, the learning rate of the last step and the image size of the first batch. Raises
    _Diverged on a NaN or infinite loss."""
    device = how.device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.float64, device=device)
    seen = torch.zeros((), dtype=torch.float64, device=device)
    recent_losses: list[Tensor] = []
    image_size = None
    num_steps = len(data)  # type: ignore[arg-type]

    def check_recent_losses(step: int) -> None:
        losses = torch.stack(recent_losses).float()
        finite = torch.isfinite(losses)
        # Every process must agree to stop, or the others would wait for it forever.
        if how.distributed.sum((~finite).any().to(torch.int64).reshape(1)).item():
            first_bad = int((~finite).nonzero()[0]) if not finite.all() else len(recent_losses) - 1
            loss = float(losses[first_bad]) if not finite.all() else float("nan")
            raise _Diverged(step - len(recent_losses) + 1 + first_bad, loss)
        progress_bar.set_postfix(loss=f"{float(losses[-1]):.3f}", refresh=False)
        recent_losses.clear()

    step = 0
    for step, batch in enumerate(data, start=1):
        images, labels = _unpack_batch(batch, "train_data")
        if check_first_batch and step == 1:
            _check_images(images, "train_data")
            image_size = images.shape[-1] if images.shape[-1] == images.shape[-2] else list(images.shape[-2:])
        images, labels = _move_batch(images, labels, device, how.setup.channels_last)
        with how.setup.autocast(device):
            logits = net(images)
            if check_first_batch and step == 1:
                _check_labels(labels, logits.shape[1], "train_data")
            loss = criterion(logits, labels)

        optimizer.zero_grad(set_to_none=True)
        if how.scaler is not None:
            how.scaler.scale(loss).backward()
            how.scaler.unscale_(optimizer)  # so that grad_clip sees the true gradients
        else:
            loss.backward()
        if how.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), how.grad_clip)
        last_lr = optimizer.param_groups[0]["lr"]
        if how.scaler is not None:
            how.scaler.step(optimizer)
            how.scaler.update()
        else:
            optimizer.step()
        if how.batch_scheduler is not None:
            how.batch_scheduler.step()
        if how.weight_average is not None:
            how.weight_average.update(model)

        loss = loss.detach()
        loss_sum += loss.double() * labels.shape[0]
        correct += (logits.detach().argmax(dim=1) == labels).sum()
        seen += labels.shape[0]
        recent_losses.append(loss)
        progress_bar.update(1)
        if step % _LOSS_CHECK_EVERY == 0 or step == num_steps:
            check_recent_losses(step)
    if recent_losses:
        check_recent_losses(step)

    loss_sum, correct, seen = how.distributed.sum(torch.stack([loss_sum, correct, seen])).tolist()
    return loss_sum / seen, correct / seen, last_lr, image_size


def _diverged_message(
    epoch: int, epochs: int, diverged: _Diverged, num_steps: int, lr: float, autocast_dtype: Any, kept: str
) -> str:
    causes = [
        f"the learning rate is too high (lr={lr:.3g}; try one 10 times smaller)",
        "the images are not normalised (check the mean and std of a batch)",
    ]
    if autocast_dtype == torch.float16:
        causes.append("float16 overflowed (try amp=False)")
    return (
        f"Training diverged: the loss became {diverged.loss} at epoch {epoch}/{epochs}, step "
        f"{diverged.step}/{num_steps}. Probable causes: {'; '.join(causes)}. {kept}"
    )


def _read_run(path: Path) -> dict[str, Any]:
    """The checkpoint ``fit(..., resume=True)`` continues from, with a message if there is none."""
    if not path.is_file():
        raise FileNotFoundError(
            f"fit: resume=True but '{path}' does not exist; run fit once with checkpoint_dir='{path.parent}' "
            "(resume=False) to start the run"
        )
    return load_checkpoint(path)


def _restore_run(
    checkpoint: Mapping[str, Any],
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    weight_average: _WeightAverage | None,
    settings: Mapping[str, Any],
) -> tuple[History, int, Any]:
    """Load ``fit``'s state from ``last.pt``; return the history, the finished epochs, the image size."""
    _check_model_fits(model, checkpoint, path)
    saved = checkpoint.get("run") or {}
    for key in ("optimizer", "lr", "schedule", "ema_decay", "steps_per_epoch"):
        if key in saved and saved[key] != settings[key]:
            what = "the same data and batch size" if key == "steps_per_epoch" else f"the same {key}"
            raise ValueError(
                f"fit: '{path}' was trained with {key}={saved[key]!r}, not {settings[key]!r}; resume with "
                f"{what}, or start a new run in another checkpoint_dir"
            )
    if (
        settings["schedule"] in ("onecycle", "cosine")
        and saved.get("epochs", settings["epochs"]) != settings["epochs"]
    ):
        raise ValueError(
            f"fit: '{path}' was planned for {saved['epochs']} epochs, and the {settings['schedule']} "
            f"schedule is laid out over that many; resume with epochs={saved['epochs']}, or start a new run "
            "to train longer"
        )
    model.load_state_dict(checkpoint.get("raw_model") or checkpoint["model"])
    if weight_average is not None:
        weight_average.model.load_state_dict(checkpoint["model"])
        weight_average.steps = int(saved.get("ema_steps", 0))
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    if scaler is not None and saved.get("scaler") is not None:
        scaler.load_state_dict(saved["scaler"])
    _set_rng_state(checkpoint["rng"])
    history = History.from_dict(checkpoint["history"]) if checkpoint.get("history") else History()
    history.interrupted = False
    return history, int(checkpoint["epoch"]), checkpoint.get("image_size")


# ---------------------------------------------------------------------------------------------------
# BatchNorm statistics that match the weights


def _trainable_batchnorms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """BatchNorm layers that keep running statistics and are not frozen (see transfer.freeze_features)."""
    layers = []
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            parameters = list(module.parameters(recurse=False))
            if not parameters or any(p.requires_grad for p in parameters):
                layers.append(module)
    return layers


@torch.no_grad()
def recompute_batchnorm(
    model: nn.Module,
    data: Iterable[tuple[Tensor, Tensor]],
    batches: int = 20,
    setup: Setup | None = None,
) -> int:
    """Replace the BatchNorm running statistics of ``model`` by exact averages over training batches.

    During training each BatchNorm layer keeps a running average of its inputs' mean and variance,
    updated with ``momentum`` (torchvision's MobileNetV3 uses 0.01: about the last 100 batches). The
    weights move faster than that, so after a short or fast-changing run the statistics describe
    weights from many steps ago, and evaluation mode normalises with the wrong numbers: a
    MobileNetV3-Small trained for 3 epochs on flower photos scored 29% on validation with its running
    statistics and 56% with recomputed ones. "Precise BN" (Wu and Johnson 2021, "Rethinking 'Batch' in
    BatchNorm") fixes that: forget the running averages, run ``batches`` training batches through the
    network in training mode without updating any weight, and keep the plain average of their
    statistics. Dropout stays off meanwhile, and frozen BatchNorm layers keep their statistics.

    Returns the number of batches used (0 if the model has no BatchNorm to recompute).
    """
    layers = _trainable_batchnorms(model)
    if not layers or batches < 1:
        return 0
    device = model_device(model)
    setup = setup or Setup(channels_last=False, autocast_dtype=None)
    was_training = model.training
    momenta = [layer.momentum for layer in layers]
    model.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # None: a cumulative average of every batch seen, all weighted equally
        layer.train()
    used = 0
    try:
        for batch in data:
            if used == batches:
                break
            images, labels = _unpack_batch(batch, "data")
            images, _ = _move_batch(images, labels, device, setup.channels_last)
            with setup.autocast(device):
                model(images)
            used += 1
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.train(was_training)
    return used


# ---------------------------------------------------------------------------------------------------
# A time budget


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


# ---------------------------------------------------------------------------------------------------
# fit


def _check_fit_arguments(
    model: object,
    epochs: object,
    optimizer: object,
    lr: object,
    weight_decay: object,
    momentum: object,
    schedule: object,
    label_smoothing: object,
    ema_decay: object,
    checkpoint_dir: object,
    resume: object,
    seed: object,
    grad_clip: object,
    budget: object = None,
    precise_bn: object = 0,
) -> None:
    def is_number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def is_count(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not isinstance(model, nn.Module):
        raise TypeError(f"fit: model must be a torch.nn.Module, got {type(model).__name__}")
    if epochs is not None and (not is_count(epochs) or epochs < 1):  # type: ignore[operator]
        raise ValueError(
            f"fit: epochs must be a whole number >= 1 (or None: {DEFAULT_EPOCHS}), got {epochs!r}"
        )
    if budget is not None and (not is_number(budget) or not budget > 0):  # type: ignore[operator]
        raise ValueError(f"fit: budget must be None or a number of seconds > 0 such as 600, got {budget!r}")
    if not is_count(precise_bn) or precise_bn < 0:  # type: ignore[operator]
        raise ValueError(
            f"fit: precise_bn must be a whole number of batches >= 0 (0: off), got {precise_bn!r}"
        )
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"fit: optimizer={optimizer!r} is not one of {', '.join(map(repr, OPTIMIZERS))}")
    if schedule not in SCHEDULES:
        raise ValueError(f"fit: schedule={schedule!r} is not one of {', '.join(map(repr, SCHEDULES))}")
    if lr is not None and (not is_number(lr) or not lr > 0):  # type: ignore[operator]
        raise ValueError(f"fit: lr must be a positive number, or None for the default rule; got {lr!r}")
    if not is_number(weight_decay) or weight_decay < 0:  # type: ignore[operator]
        raise ValueError(f"fit: weight_decay must be a number >= 0, got {weight_decay!r}")
    if not is_number(momentum) or not 0 <= momentum < 1:  # type: ignore[operator]
        raise ValueError(f"fit: momentum must be in [0, 1), got {momentum!r}")
    if not is_number(label_smoothing) or not 0 <= label_smoothing < 1:  # type: ignore[operator]
        raise ValueError(f"fit: label_smoothing must be in [0, 1), got {label_smoothing!r}")
    if ema_decay is not None and not (is_number(ema_decay) and 0 < ema_decay < 1):  # type: ignore[operator]
        raise ValueError(
            f"fit: ema_decay must be None or a number between 0 and 1 such as 0.999, got {ema_decay!r}"
        )
    if grad_clip is not None and (not is_number(grad_clip) or not grad_clip > 0):  # type: ignore[operator]
        raise ValueError(
            f"fit: grad_clip must be None or a positive gradient norm such as 1.0, got {grad_clip!r}"
        )
    if not is_count(seed) or seed < 0:  # type: ignore[operator]
        raise ValueError(f"fit: seed must be a whole number >= 0, got {seed!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("fit: resume=True needs checkpoint_dir, the folder of the run to continue")


def _first_batch(data: Any, device: torch.device) -> tuple[Tensor, Tensor]:
    """One training batch on ``device``, taken without touching any global random generator."""
    with torch.random.fork_rng(devices=[]):
        batch = next(iter(data), None)
    if batch is None:
        raise ValueError("fit: train_data yielded no batches; check the data set and the batch size")
    images, labels = _unpack_batch(batch, "train_data")
    _check_images(images, "train_data")
    return _move_batch(images, labels, device, channels_last=False)


# A run of fewer steps than this is not worth the ~20 steps it takes to measure the fastest setup.
MIN_STEPS_TO_MEASURE = 400


def _choose_setup(
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
        setup = Setup(bool(channels_last) and device.type == "cuda", None, reason="the run being resumed")
        return setup, resumed_epochs
    started = clock()
    images, labels = _first_batch(train_data, device)
    measure = budget is not None or (
        device.type != "cuda" and steps_per_epoch * planned >= MIN_STEPS_TO_MEASURE
    )
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
    """Train ``model`` on ``train_data`` for ``epochs`` epochs, or for as long as ``budget`` allows.

    The model is trained in place. It ends on the chosen device, in eval mode, with
    ``model.class_names``, ``model.normalization`` and ``model.image_size`` taken from the data where
    known (as ``load_model`` sets them), so ``predict`` works on it straight away.

    Args:
        model: the network, e.g. ``get_model("mobilenet_v2", num_classes=10, cifar=True)``.
        train_data: (images, labels) batches with a ``len()``: a ``get_data(...).train`` loader or any
            DataLoader. Batches are moved to the device if they are not already there.
        val_data: batches to validate on after every epoch (not the test set: picking the best epoch
            on it would flatter the final result). ``None`` skips validation.
        epochs: passes over ``train_data`` (default 10). With ``budget``, the most epochs to train.
        budget: seconds of wall-clock time the whole run may take. ``fit`` times the first training
            steps, works out how many whole epochs (training, BatchNorm statistics and validation) fit,
            says so, and lays the schedule out over exactly that many, so it ends on time instead of
            being cut off half-way. ``lightnets train --budget 20m`` is the same.
        optimizer: ``"sgd"`` (with Nesterov momentum) or ``"adamw"``.
        lr: peak learning rate; ``None`` uses ``default_lr``: SGD 0.1 x batch/256, AdamW
            0.001 x sqrt(batch/256), with the loader's ``batch_size`` (256 if it has none).
        weight_decay: L2 penalty on conv and linear weights (not on biases and BatchNorm).
        momentum: SGD's momentum (AdamW ignores it).
        schedule: ``"onecycle"`` (rise to ``lr`` over the first 30% of the steps, then anneal to almost
            0), ``"cosine"`` (cosine decay from ``lr`` to 0), ``"plateau"`` (divide by 10 when the
            validation loss has not improved for 2 epochs) or ``"constant"``.
        label_smoothing: probability taken from the true class and spread over all classes (0.1 is
            usual); it discourages over-confident predictions.
        device: ``None`` picks CUDA, then Apple MPS, then the CPU (see ``pick_device``).
        amp: mixed precision. ``None`` (default): on CUDA, bfloat16 where the GPU supports it, else
            float16 with a gradient scaler; on the CPU, bfloat16 only if measured to be clearly faster
            (see ``channels_last``). ``False``: float32. ``True``: mixed precision.
        channels_last: the channels-last memory layout of images and weights. ``None`` (default): on
            CUDA, yes; elsewhere, for runs of at least ``MIN_STEPS_TO_MEASURE`` steps, whichever of the
            layouts (and precisions) is measured to be at least 15% faster for this model on this
            machine (``device.fastest_setup``); shorter runs keep the plain layout. The choice is printed
            and stored with the checkpoints, and a resumed run keeps it.
        compile: run the model through ``torch.compile`` (faster after a slow first epoch).
        ema_decay: keep an exponential moving average of the weights, e.g. 0.999. The average is what
            is validated, saved, and left in ``model`` at the end: it is usually a little more accurate
            than the last weights.
        precise_bn: after every epoch, recompute the BatchNorm statistics of the model that is
            validated and saved on this many training batches (``recompute_batchnorm``), so they match
            its weights. 0 keeps the running averages.
        checkpoint_dir: write ``last.pt`` after every epoch and ``best.pt`` whenever the validation
            accuracy improves (see ``load_model``).
        resume: continue the run saved in ``checkpoint_dir/last.pt``: with the same data, the result is
            the same, bit for bit, as a run that was never stopped. ``epochs`` is the total.
        seed: each epoch starts by seeding Python's and torch's global generators from
            (seed, epoch), so shuffling, augmentation and dropout are reproducible. The initial weights
            are the model's: seed torch before building it (``seed_everything``).
        progress: progress bars and one line per epoch; ``False`` prints nothing.
        class_names: class names to store in checkpoints (default: the loader's ``classes``).
        grad_clip: clip the norm of the gradients to this value (steadies unstable runs).

    Returns:
        The ``History``: print it for a table, ``.plot()`` for the curves.

    Raises:
        TrainingDiverged: the loss became NaN or infinite; the model keeps its last good weights.

    Pressing stop in Jupyter (a KeyboardInterrupt) ends training cleanly: the model gets back the
    weights of the last finished epoch (the ones in ``last.pt``, so ``resume=True`` continues
    exactly), one line says so, and the history so far is returned with ``interrupted=True``.

    Under ``torchrun --nproc_per_node=N`` (``WORLD_SIZE`` > 1 in the environment), ``fit`` joins the
    process group (gloo on CPU, NCCL on CUDA; started here if the script has not), trains a
    DistributedDataParallel copy of the model on this process's share of the batches, adds the
    validation counts of all processes up, and only process 0 prints and writes checkpoints. The
    default learning rate then uses the total batch size of all processes.
    """
    _check_fit_arguments(
        model, epochs, optimizer, lr, weight_decay, momentum, schedule, label_smoothing,
        ema_decay, checkpoint_dir, resume, seed, grad_clip, budget, precise_bn,
    )  # fmt: skip
    _check_loader(train_data, "train_data")
    if val_data is not None:
        _check_loader(val_data, "val_data")
    from tqdm.auto import tqdm

    with _Distributed(pick_device(device)) as distributed:
        device = distributed.device
        model = _unwrap(model)
        train_data = distributed.shard(train_data, seed, train=True)
        if val_data is not None:
            val_data = distributed.shard(val_data, seed, train=False)
        show = progress and distributed.is_main
        folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
        details = _data_details(train_data, class_names)

        model.to(device)
        saved = _read_run(folder / "last.pt") if resume and folder is not None else None
        setup, epochs = _choose_setup(
            model, train_data, val_data, device, epochs=epochs, budget=budget, channels_last=channels_last,
            amp=amp, precise_bn=precise_bn, saved_run=saved.get("run") if saved else None, show=show,
        )  # fmt: skip
        random.seed(seed)
        torch.manual_seed(seed)
        if setup.channels_last:
            model.to(memory_format=torch.channels_last)
        scaler = None
        if setup.autocast_dtype == torch.float16 and device.type == "cuda":
            # float16 gradients underflow to zero unless the loss is scaled up; bfloat16 has float32's range.
            scaler = torch.amp.GradScaler("cuda")
        steps_per_epoch = len(train_data)
        if lr is None:
            batch_size = getattr(train_data, "batch_size", None) or BASE_BATCH_SIZE
            lr = default_lr(optimizer, batch_size * distributed.world_size)
        settings = {
            "optimizer": optimizer,
            "lr": lr,
            "schedule": schedule,
            "ema_decay": ema_decay,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "seed": seed,
            "channels_last": setup.channels_last,
            "autocast_dtype": str(setup.autocast_dtype).removeprefix("torch.")
            if setup.autocast_dtype
            else None,
        }
        optimizer = _make_optimizer(model, optimizer, lr, weight_decay, momentum)
        scheduler = _make_scheduler(schedule, optimizer, lr, epochs * steps_per_epoch)
        weight_average = _WeightAverage(model, ema_decay) if ema_decay is not None else None
        # With weight averaging, the average is what gets validated, saved and kept.
        kept_model = weight_average.model if weight_average is not None else model

        history, start_epoch = History(), 0
        if saved is not None:
            assert folder is not None
            history, start_epoch, saved_image_size = _restore_run(
                saved, folder / "last.pt", model, optimizer, scheduler, scaler, weight_average, settings
            )
            details.image_size = details.image_size or saved_image_size
            if start_epoch >= epochs and show:
                print(
                    f"'{folder / 'last.pt'}' has already trained {start_epoch} of {epochs} epochs; "
                    "nothing to do"
                )

        net: nn.Module = model
        if distributed.active:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        if compile:
            net = torch.compile(net)
        criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        how = _Step(
            device=device,
            setup=setup,
            scaler=scaler,
            grad_clip=grad_clip,
            batch_scheduler=scheduler if schedule in ("onecycle", "cosine") else None,
            weight_average=weight_average,
            distributed=distributed,
        )

        def copy_of_kept_weights() -> dict[str, Tensor]:
            return {key: value.detach().clone() for key, value in kept_model.state_dict().items()}

        # What a stop by hand or a divergence falls back to: the weights of the last finished epoch.
        last_good_weights = copy_of_kept_weights()
        epoch = start_epoch
        try:
            for epoch in range(start_epoch, epochs):
                started = clock()
                _seed_epoch(seed, epoch)
                _set_epoch(train_data, epoch)
                if val_data is not None:
                    _set_epoch(val_data, epoch)
                net.train()
                _frozen_batchnorm_to_eval(model)
                bar = tqdm(
                    total=steps_per_epoch,
                    desc=f"epoch {epoch + 1}/{epochs}",
                    leave=False,
                    disable=not show,
                    unit="batch",
                )
                try:
                    train_loss, train_acc, last_lr, first_image_size = _train_one_epoch(
                        net,
                        model,
                        train_data,
                        optimizer,
                        criterion,
                        how,
                        bar,
                        check_first_batch=epoch == start_epoch,
                    )
                except _Diverged as diverged:
                    kept_model.load_state_dict(last_good_weights)
                    model.load_state_dict(last_good_weights)
                    if epoch == 0:
                        kept = "The model keeps the weights it had before training."
                    else:
                        where = f" (also in '{folder / 'last.pt'}')" if folder is not None else ""
                        kept = f"The model keeps the weights from the end of epoch {epoch}{where}."
                    lr_now = optimizer.param_groups[0]["lr"]
                    message = _diverged_message(
                        epoch + 1, epochs, diverged, steps_per_epoch, lr_now, setup.autocast_dtype, kept
                    )
                    raise TrainingDiverged(message) from None
                finally:
                    bar.close()
                details.image_size = details.image_size or first_image_size
                if precise_bn:
                    recompute_batchnorm(kept_model, train_data, precise_bn, setup)
                distributed.broadcast_buffers(model)
                distributed.broadcast_buffers(kept_model)

                if val_data is not None:
                    result = evaluate(kept_model, val_data, device=device)
                    history.val_loss.append(result.loss)
                    history.val_acc.append(result.accuracy)
                if schedule == "plateau":
                    scheduler.step(history.val_loss[-1] if val_data is not None else train_loss)
                history.train_loss.append(train_loss)
                history.train_acc.append(train_acc)
                history.lr.append(last_lr)
                history.epoch_time.append(clock() - started)
                improved = val_data is not None and (
                    history.best_val_acc is None or history.val_acc[-1] > history.best_val_acc
                )
                if improved:
                    history.best_epoch, history.best_val_acc = epoch + 1, history.val_acc[-1]

                if folder is not None and distributed.is_main:
                    run = dict(settings, ema_steps=weight_average.steps if weight_average else 0)
                    run["scaler"] = scaler.state_dict() if scaler is not None else None
                    extra: dict[str, Any] = {"run": run}
                    if weight_average is not None:
                        extra["raw_model"] = {
                            key: value.detach().cpu() for key, value in model.state_dict().items()
                        }
                    for name in ("last.pt", "best.pt") if improved else ("last.pt",):
                        save_checkpoint(
                            folder / name,
                            kept_model,
                            optimizer=optimizer,
                            scheduler=scheduler,
                            epoch=epoch + 1,
                            history=history,
                            class_names=details.class_names,
                            mean=details.mean,
                            std=details.std,
                            image_size=details.image_size,
                            extra=extra,
                        )
                last_good_weights = copy_of_kept_weights()
                if show:
                    line = f"epoch {epoch + 1:>{len(str(epochs))}}/{epochs}"
                    line += f"  train loss {train_loss:.3f} acc {_percent(train_acc)}"
                    if val_data is not None:
                        line += f"  val loss {history.val_loss[-1]:.3f} acc {_percent(history.val_acc[-1])}"
                    print(f"{line}  lr {history.lr[-1]:.2e}  {history.epoch_time[-1]:.1f}s")
        except KeyboardInterrupt:
            history.interrupted = True
            kept_model.load_state_dict(last_good_weights)
            if history.epochs:
                where = f" (also in '{folder / 'last.pt'}')" if folder is not None else ""
                kept = f"the weights from the end of epoch {history.epochs}{where}"
            else:
                kept = "the weights it had before training"
            if distributed.is_main:
                again = (
                    " fit(..., resume=True) continues the run."
                    if folder is not None and history.epochs
                    else ""
                )
                print(
                    f"Interrupted during epoch {epoch + 1}: the model keeps {kept}; "
                    f"the history has {history.epochs} epochs.{again}"
                )

        if weight_average is not None:
            model.load_state_dict(weight_average.model.state_dict())
        _attach_metadata(model, details.class_names, details.normalization, details.image_size)
        model.eval()
        return history
