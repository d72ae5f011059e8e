"""What a batch is: ``(images, labels)`` pairs, checked with messages a learner can act on, and moved
to the device in the layout training uses. ``fit``, ``evaluate`` and ``recompute_batchnorm`` share these."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

__all__ = ["check_images", "check_labels", "check_loader", "move_batch", "unpack_batch"]


def check_loader(data: object, argument: str) -> None:
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


def unpack_batch(batch: object, argument: str) -> tuple[Tensor, Tensor]:
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


def move_batch(
    images: Tensor, labels: Tensor, device: torch.device, channels_last: bool
) -> tuple[Tensor, Tensor]:
    if images.device != device:
        images = images.to(device, non_blocking=True)
    if labels.device != device:
        labels = labels.to(device, non_blocking=True)
    if channels_last and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels


def check_images(images: Tensor, argument: str) -> None:
    if not images.is_floating_point():
        raise TypeError(
            f"{argument} yields images of dtype {images.dtype}; the model needs normalised float images: use "
            "the loaders of lightnets_course.data.get_data, or transforms.ToTensor() and Normalize(mean, std)"
        )


def check_labels(labels: Tensor, num_classes: int, argument: str) -> None:
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
