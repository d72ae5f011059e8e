"""Classify images with a trained model: files, PIL images or uint8 tensors in, top-k classes out.

>>> from lightnets_course.train import load_model
>>> from lightnets_course.predict import predict
>>> model = load_model("runs/mnv2/best.pt")
>>> predict(model, ["my_cat.jpg"], topk=3)
[Prediction(my_cat.jpg: cat 81.4% | dog 9.9% | deer 3.0%)]

Images go through the same evaluation preprocessing as in training (``data.eval_transform``): resized
to the model's image size, converted to floats and normalised with the mean and standard deviation
the model was trained with. ``load_model`` and ``fit`` record those on the model
(``model.normalization``, ``model.image_size``, ``model.class_names``), so usually nothing needs to
be passed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn
from torchvision.transforms import functional as TF

from .data import eval_transform, load_image
from .device import model_device, pick_device

__all__ = ["Prediction", "predict"]

# Images are classified this many at a time, so a long list of photos does not fill the memory.
_BATCH_SIZE = 64


@dataclasses.dataclass(repr=False)
class Prediction:
    """The top classes for one image, best first.

    Attributes:
        source: the file path, or ``"image <i>"`` for the i-th image given as a PIL image or tensor.
        labels: class names (or numbers, without names), most probable first.
        probabilities: their probabilities (softmax of the model's outputs), from 0 to 1.
        indices: their class indices.
    """

    source: str
    labels: list[str]
    probabilities: list[float]
    indices: list[int]

    @property
    def label(self) -> str:
        """The most probable class."""
        return self.labels[0]

    @property
    def probability(self) -> float:
        """Its probability."""
        return self.probabilities[0]

    def __str__(self) -> str:
        ranked = " | ".join(f"{label} {100 * p:.1f}%" for label, p in zip(self.labels, self.probabilities))
        return f"{self.source}: {ranked}"

    def __repr__(self) -> str:
        return f"Prediction({self})"


def _as_list(images_or_paths: Any) -> list[Any]:
    """One image, a batch tensor or a sequence of images, as a list of single images."""
    if isinstance(images_or_paths, (str, os.PathLike, Image.Image)):
        return [images_or_paths]
    if isinstance(images_or_paths, Tensor):
        if images_or_paths.dim() == 4:
            return list(images_or_paths.unbind(0))
        return [images_or_paths]
    if isinstance(images_or_paths, Sequence):
        return list(images_or_paths)
    raise TypeError(
        "images_or_paths must be a file path, a PIL image, a uint8 tensor (3, H, W) or (N, 3, H, W), or a "
        f"list of these; got {type(images_or_paths).__name__}"
    )


def _to_pil(item: Any, index: int) -> tuple[Image.Image, str]:
    """The image as an RGB PIL image, and the name predictions give it."""
    if isinstance(item, (str, os.PathLike)):
        return load_image(item), str(item)  # load_image names the file in its errors
    if isinstance(item, Image.Image):
        return item.convert("RGB"), f"image {index}"
    if isinstance(item, Tensor):
        if item.dtype != torch.uint8:
            raise TypeError(
                f"image {index} is a {item.dtype} tensor; predict takes uint8 images with values 0-255 (as "
                "torchvision.io.read_image gives) and normalises them itself. For a batch that is already "
                "normalised, call model(batch) directly"
            )
        if item.dim() != 3 or item.shape[0] not in (1, 3):
            raise ValueError(
                f"image {index} has shape {tuple(item.shape)}; an image tensor must be (3, H, W)"
            )
        return TF.to_pil_image(item.cpu()).convert("RGB"), f"image {index}"
    raise TypeError(
        f"image {index} is a {type(item).__name__}; give file paths, PIL images or uint8 tensors (3, H, W)"
    )


def _default_image_size(model: nn.Module) -> int:
    size = getattr(model, "image_size", None)
    if isinstance(size, int):
        return size
    config = getattr(model, "config", None)
    if config is not None and "cifar" in config:
        return 32 if config["cifar"] else 224
    raise ValueError(
        "predict does not know the image size this model expects; pass image_size= (e.g. 32 for CIFAR-10, "
        "224 for ImageNet-style models), or load the model with train.load_model()"
    )


def predict(
    model: nn.Module,
    images_or_paths: Any,
    class_names: Sequence[str] | None = None,
    topk: int = 5,
    device: str | torch.device | None = None,
    image_size: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> list[Prediction]:
    """The ``topk`` most probable classes of each image.

    Args:
        model: a trained classifier, e.g. from ``train.load_model`` or after ``train.fit``.
        images_or_paths: a file path, a PIL image, a uint8 tensor (3, H, W) or a batch (N, 3, H, W),
            or a list of any of these.
        class_names: names of the model's classes; default ``model.class_names``, else numbers.
        topk: how many classes to report per image (at most the number of classes).
        device: where to compute; ``None`` uses the device the model is on.
        image_size: side of the square the model sees; default ``model.image_size``, else 32 for a
            course model built with ``cifar=True`` and 224 otherwise.
        mean, std: the normalisation the model was trained with; default ``model.normalization``.

    Returns:
        One ``Prediction`` per image, in the order given.

    Raises:
        FileNotFoundError: a path does not exist (the message names it).
        ValueError: a file is not an image, or the normalisation is unknown.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"predict: model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
        raise ValueError(f"predict: topk must be a whole number >= 1, got {topk!r}")
    if (mean is None) != (std is None):
        raise ValueError("predict: give both mean and std, or neither (to use model.normalization)")
    if mean is None:
        normalization = getattr(model, "normalization", None)
        if not normalization:
            raise ValueError(
                "predict needs the normalisation the model was trained with: pass mean= and std= (for "
                "CIFAR-10 data.CIFAR10_MEAN and data.CIFAR10_STD), or load the model with train.load_model()"
            )
        mean, std = normalization["mean"], normalization["std"]
    image_size = image_size if image_size is not None else _default_image_size(model)
    transform = eval_transform(image_size, mean, std)
    items = _as_list(images_or_paths)
    if not items:
        raise ValueError("predict: images_or_paths is empty; give at least one image")
    # Read every image first, so that a bad file is reported before any computing starts.
    prepared = [_to_pil(item, i) for i, item in enumerate(items)]
    device = model_device(model) if device is None else pick_device(device)
    model.to(device)

    was_training = model.training
    model.eval()
    probabilities = []
    try:
        with torch.no_grad():
            for start in range(0, len(prepared), _BATCH_SIZE):
                chunk = prepared[start : start + _BATCH_SIZE]
                batch = torch.stack([transform(image) for image, _ in chunk]).to(device)
                probabilities.append(model(batch).float().softmax(dim=1).cpu())
    finally:
        model.train(was_training)
    probabilities = torch.cat(probabilities)

    num_classes = probabilities.shape[1]
    names = class_names if class_names is not None else getattr(model, "class_names", None)
    if names is not None and len(names) != num_classes:
        raise ValueError(f"predict: {len(names)} class names given for a model with {num_classes} outputs")
    names = [str(name) for name in names] if names is not None else [str(i) for i in range(num_classes)]
    top_probabilities, top_indices = probabilities.topk(min(topk, num_classes), dim=1)
    return [
        Prediction(
            source=source,
            labels=[names[i] for i in indices.tolist()],
            probabilities=values.tolist(),
            indices=indices.tolist(),
        )
        for (_, source), values, indices in zip(prepared, top_probabilities, top_indices)
    ]
