"""Exercises of notebook 00 (Start here): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import functools

from lightnets_course.data import get_data
from lightnets_course.exercises.feedback import as_number, close, report, unanswered

__all__ = ["check_batch_shape", "check_batches_per_epoch"]


@functools.lru_cache(maxsize=1)
def _sample_training_loader() -> tuple[tuple[int, ...], int, int, int]:
    """(shape of one image batch, batches per epoch, batch size, training images) of get_data("sample")."""

    train = get_data("sample", device="cpu").train
    images, _ = next(iter(train))
    return tuple(images.shape), len(train), train.batch_size, train.dataset_size


def check_batch_shape(answer: object) -> bool:
    """Notebook 00: the shape of one batch of images from ``get_data("sample").train``."""
    if unanswered(answer):
        return False
    right, _, batch_size, images = _sample_training_loader()
    try:
        shape = tuple(int(size) for size in answer)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return report(False, "", f"the answer is a shape such as (1, 2, 3) or a torch.Size; got {answer!r}")
    if shape == right:
        return report(
            True,
            f"{right}: {right[0]} images, each with {right[1]} colour channels of {right[2]} x {right[3]} "
            "pixels. PyTorch puts the channels before height and width.",
            "",
        )
    if shape == right[1:]:
        hint = "that is one image. A batch stacks several images along a new first dimension."
    elif len(shape) == 4 and shape[0] == right[0] and shape[3] == right[1]:
        hint = "PyTorch stores images channels first: (batch, channels, height, width)."
    elif len(shape) == 4 and shape[0] == images:
        hint = f"{images} is the whole training split; a loader hands it out {batch_size} images at a time."
    elif shape == right[:1]:
        hint = "that is the shape of the labels of a batch; the question asks about the images."
    else:
        hint = "take one batch with images, labels = next(iter(bundle.train)) and look at images.shape."
    return report(False, "", hint)


def check_batches_per_epoch(answer: object) -> bool:
    """Notebook 00: how many batches ``get_data("sample").train`` yields in one epoch."""
    if unanswered(answer):
        return False
    _, right, batch_size, images = _sample_training_loader()
    value = as_number(answer)
    if value is None:
        return report(False, "", f"the answer is one whole number; got {answer!r}")
    if value == right:
        return report(
            True,
            f"{images} // {batch_size} = {right}: the training loader drops the last, incomplete batch of "
            f"{images % batch_size} images, so every step sees a full batch (and BatchNorm never gets a "
            "batch of one).",
            "",
        )
    if close(value, images / batch_size, 0.001):
        hint = "a loader hands out whole batches; what happens to the images left over?"
    elif value == right + 1:
        hint = "a validation loader would keep the incomplete last batch; the training loader drops it."
    elif value in (images, batch_size):
        hint = f"the training split has {images} images and the batch size is {batch_size}: divide."
    else:
        hint = f"the training split has {images} images, handed out {batch_size} at a time."
    return report(False, "", hint)
