"""The course's data in one import: ``get_data(name)`` gives train / validation / test loaders.

>>> data = get_data("cifar10")       # or "sample" (shipped, offline), "flowers", or a folder of photos
>>> data
DataBundle(cifar10: train 45000, val 5000, test 10000 images, 10 classes, 32x32, batches of 128)
>>> fit(model, data.train, data.val)

Two kinds of loaders feed the training loop:

- Small datasets (CIFAR-10 and the shipped sample) live on the device as uint8 tensors
  (``TensorImages``, in ``datasets``) and are augmented there, a whole batch at a time, by
  ``DeviceLoader`` (``loader``). A per-image PIL pipeline would keep a modern GPU waiting for data.
- Photos of any size (flowers, your own folders) are read from disk by a standard torch
  ``DataLoader`` over an ``ImageFileDataset`` (``images``).

This module also gathers the names a notebook needs from those modules (``from lightnets_course.data
import cifar10_sample, DeviceLoader, ...``). Where files live: ``paths.data_root``. Downloads show
progress, verify a checksum, resume, and fail offline with a message that says which file to place
where (``download``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checks import check_batch_size
from .datasets import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    TensorImages,
    cifar10,
    cifar10_calibration,
    cifar10_sample,
)
from .device import default_device
from .distributed import main_process_first
from .download import ChecksumError, DownloadError, download, file_sha256
from .images import (
    FLOWERS_SHA256,
    FLOWERS_URL,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageFileDataset,
    eval_transform,
    file_loader,
    flowers,
    image_folder,
    list_files,
    load_image,
    train_transform,
)
from .loader import DeviceLoader
from .paths import PathLike, data_root

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DATA_CHOICES",
    "FLOWERS_SHA256",
    "FLOWERS_URL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ChecksumError",
    "DataBundle",
    "DeviceLoader",
    "DownloadError",
    "ImageFileDataset",
    "TensorImages",
    "cifar10",
    "cifar10_calibration",
    "cifar10_sample",
    "data_root",
    "download",
    "eval_transform",
    "file_loader",
    "file_sha256",
    "flowers",
    "get_data",
    "image_folder",
    "load_image",
    "train_transform",
]


@dataclass
class DataBundle:
    """Everything a training run needs to know about its data.

    ``train`` / ``val`` / ``test`` are loaders (``DeviceLoader`` for CIFAR-10 and the sample, a
    ``DataLoader`` for image files); ``test`` is ``None`` when the dataset has no test split. Evaluate on
    ``test`` once, at the end: choose models and settings on ``val``. ``mean`` / ``std`` are the
    normalisation applied (to undo it for plots), ``image_size`` the side of the images the model sees,
    and ``kind`` one of ``"cifar10"``, ``"sample"``, ``"flowers"``, ``"folder"``.
    """

    train: Any
    val: Any
    test: Any | None
    classes: list[str]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    image_size: int
    kind: str

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{name} {_loader_size(loader)}"
            for name, loader in (("train", self.train), ("val", self.val), ("test", self.test))
            if loader is not None
        )
        # The batch size is shown because its default depends on the device (and fit's default learning
        # rate on the batch size): a GPU gets larger batches than a CPU.
        return (
            f"DataBundle({self.kind}: {sizes} images, {len(self.classes)} classes, "
            f"{self.image_size}x{self.image_size}, batches of {self.train.batch_size})"
        )


def _loader_size(loader: Any) -> int:
    if isinstance(loader, DeviceLoader):
        return loader.dataset_size
    return len(loader.dataset)


_NAMES = ("cifar10", "flowers", "sample")
# How a command's help names what ``get_data`` takes.
DATA_CHOICES = "cifar10, flowers, sample, or the path of a folder of images (one sub-folder per class)"


def get_data(
    name: PathLike,
    *,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    root: PathLike | None = None,
    download: bool = True,
    image_size: int | None = None,
    seed: int = 0,
) -> DataBundle:
    """Loaders for one of the course's datasets, by name: the entry point of the notebooks and the CLI.

    - ``"cifar10"``: 45,000 training and 5,000 validation images carved from CIFAR-10's training split
      (stratified, seeded), and the 10,000-image test split; ``DeviceLoader``s, batch size 512 on a
      GPU and 128 otherwise.
    - ``"sample"``: the shipped 1,000-image sample, 800 for training and 200 for validation, no test
      split; for fast mode, batch size 64.
    - ``"flowers"``: the flower photos, 9:1; ``DataLoader``s over files, batch size 64 on a GPU, 32
      otherwise, ``image_size`` 224 unless given.
    - a folder path: your own images, laid out as ``image_folder`` describes.

    ``seed`` fixes the validation split and the training loader's shuffling and augmentation.
    """
    if isinstance(name, (str, os.PathLike)) and str(name) in _NAMES:
        kind = str(name)
    elif isinstance(name, (str, os.PathLike)) and str(name).strip() and Path(name).expanduser().is_dir():
        kind = "folder"
    else:
        raise ValueError(
            f"Unknown dataset {name!r}: choose one of {', '.join(repr(n) for n in _NAMES)}, or give the path "
            "of an existing folder of images laid out as <class name>/<image files>"
        )
    if batch_size is not None:
        check_batch_size(batch_size)
    device = torch.device(device) if device is not None else default_device()
    on_gpu = device.type == "cuda"

    if kind in ("cifar10", "sample"):
        with main_process_first():
            if kind == "cifar10":
                train_data, val_data = cifar10("train", root=root, download=download).split(0.1, seed)
                test_data: TensorImages | None = cifar10("test", root=root, download=download)
            else:
                train_data, val_data = cifar10_sample().split(0.2, seed)
                test_data = None
        if batch_size is None:
            batch_size = 64 if kind == "sample" else (512 if on_gpu else 128)
        loader_options = {
            "device": device,
            "mean": CIFAR10_MEAN,
            "std": CIFAR10_STD,
            "image_size": image_size,
        }
        train = DeviceLoader(train_data, batch_size, train=True, seed=seed, **loader_options)
        val = DeviceLoader(val_data, batch_size, **loader_options)
        test = DeviceLoader(test_data, batch_size, **loader_options) if test_data is not None else None
        return DataBundle(
            train, val, test, list(train_data.classes), CIFAR10_MEAN, CIFAR10_STD, train.image_size, kind
        )

    image_size = image_size or 224
    if batch_size is None:
        batch_size = 64 if on_gpu else 32
    test_set = None
    with main_process_first():
        if kind == "flowers":
            train_set, val_set = flowers(root=root, download=download, seed=seed, image_size=image_size)
        else:
            folder = Path(name).expanduser()
            train_set, val_set = image_folder(folder, seed=seed, image_size=image_size)
            if (folder / "train").is_dir() and (folder / "test").is_dir():
                test_samples = list_files(folder / "test", train_set.classes)
                test_set = ImageFileDataset(
                    test_samples, train_set.classes, eval_transform(image_size), check=False
                )
    return DataBundle(
        file_loader(train_set, batch_size, train=True),
        file_loader(val_set, batch_size),
        file_loader(test_set, batch_size) if test_set is not None else None,
        list(train_set.classes),
        IMAGENET_MEAN,
        IMAGENET_STD,
        image_size,
        kind,
    )
