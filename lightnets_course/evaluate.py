"""Evaluation: accuracy, loss, per-class accuracy and the confusion matrix of a model on a data set.

>>> result = evaluate(model, data.test)
>>> result.accuracy, result.per_class["cat"]
>>> result.plot()                 # the confusion matrix
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .batches import check_labels, check_loader, move_batch, unpack_batch
from .device import model_device, pick_device
from .distributed import is_sharded
from .results import EvalResult

__all__ = ["class_names_for", "evaluate"]


def class_names_for(num_classes: int, *candidates: object) -> list[str]:
    for names in candidates:
        if names is not None and len(names) == num_classes:  # type: ignore[arg-type]
            return [str(name) for name in names]  # type: ignore[union-attr]
    return [str(i) for i in range(num_classes)]


@torch.no_grad()
def _evaluation_totals(
    model: nn.Module, data: Iterable, device: torch.device, tta_flip: bool
) -> tuple[Tensor, Tensor]:
    """Summed cross-entropy and the confusion counts (K x K, rows = true class) over ``data``."""
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    confusion: Tensor | None = None
    for batch in data:
        images, labels = unpack_batch(batch, "data")
        images, labels = move_batch(images, labels, device, channels_last=False)
        logits = model(images).float()
        if tta_flip:
            logits = (logits + model(images.flip(-1)).float()) / 2
        num_classes = logits.shape[1]
        if confusion is None:
            check_labels(labels, num_classes, "data")
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
    check_loader(data, "data")
    device = model_device(model) if device is None else pick_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    try:
        loss_sum, confusion = _evaluation_totals(model, data, device, tta_flip)
    finally:
        model.train(was_training)
    if is_sharded(data):
        dist.all_reduce(loss_sum)
        dist.all_reduce(confusion)

    confusion = confusion.cpu()
    num_classes = confusion.shape[0]
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(
            f"evaluate: {len(class_names)} class names given for a model with {num_classes} outputs"
        )
    num_images = int(confusion.sum())
    names = class_names_for(
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
