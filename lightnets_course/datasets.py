"""Datasets that fit in memory: CIFAR-10 and the shipped sample, as ``TensorImages``.

``TensorImages`` holds a whole dataset as one uint8 tensor and behaves like torch's datasets:
``len(data)``, ``data[0]`` gives an image and its label, and it can go straight into a ``DataLoader``.
For training, ``DeviceLoader`` (``loader``) is faster: it batches and augments on the device.

>>> sample = cifar10_sample()          # 1,000 real CIFAR-10 test images, shipped with the course
>>> image, label = sample[0]
>>> sample.classes[label], image.shape
('airplane', torch.Size([3, 32, 32]))
"""

from __future__ import annotations

import http.client
import io
import os
import random
import tarfile
import urllib.error
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torchvision import transforms
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import download_url

from .download import (
    ChecksumError,
    DownloadError,
    describe_error,
    extract_tar,
    file_md5,
    manual_download_help,
)
from .paths import REPO_ROOT, PathLike, data_root, search_folders

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "TensorImages",
    "cifar10",
    "cifar10_calibration",
    "cifar10_sample",
    "decode_rgb",
    "jpeg_split_files",
    "sample_folder",
    "stratified_split",
]

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
# Per-channel statistics of the CIFAR-10 training images, in [0, 1].
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

# torchvision's copy of the original CIFAR-10 release ("CIFAR-10 python version").
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_JPEG = "cifar10-jpeg"
_SAMPLE_FOLDER = "cifar10_sample"
_CALIBRATION_FOLDER = "cifar10_calibration"
_MANIFEST = "MANIFEST.tsv"


def _check_fraction(val_fraction: float) -> None:
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise TypeError(f"val_fraction must be a number between 0 and 1, got {val_fraction!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(
            f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}; "
            "0.1 keeps one image in ten for validation"
        )


def stratified_split(labels: Sequence[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Positions of ``labels`` for training and validation: ``val_fraction`` of every class, chosen by a
    ``random.Random(seed)`` shuffle of each class's positions in their given order, so the same input
    order gives the same split on every machine."""
    _check_fraction(val_fraction)
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for position, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(position)
    train: list[int] = []
    val: list[int] = []
    for label in sorted(by_class):
        positions = by_class[label]
        rng.shuffle(positions)
        # Round half up (not Python's round-half-even); keep at least one image on each side when a
        # class has two or more.
        n_val = int(len(positions) * val_fraction + 0.5)
        if len(positions) >= 2:
            n_val = min(max(n_val, 1), len(positions) - 1)
        val += positions[:n_val]
        train += positions[n_val:]
    return sorted(train), sorted(val)


@dataclass(repr=False)
class TensorImages:
    """A whole image dataset in memory: ``images`` uint8 (N, 3, H, W), ``labels`` int64 (N,), ``classes``.

    Kept as uint8 (a quarter of float32's memory) so even CIFAR-10's 60,000 images fit on any GPU;
    ``DeviceLoader`` turns batches into normalised floats on the device.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]

    def __post_init__(self) -> None:
        if not isinstance(self.images, torch.Tensor) or self.images.dtype != torch.uint8:
            raise TypeError(f"images must be a uint8 tensor, got {_describe(self.images)}")
        if self.images.dim() != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(self.images.shape)}")
        if not isinstance(self.labels, torch.Tensor) or self.labels.dtype != torch.int64:
            raise TypeError(f"labels must be an int64 tensor, got {_describe(self.labels)}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},), one per image, got {tuple(self.labels.shape)}"
            )
        self.classes = list(self.classes)
        if len(self.labels) and not 0 <= int(self.labels.min()) <= int(self.labels.max()) < len(self.classes):
            raise ValueError(
                f"labels must lie in 0..{len(self.classes) - 1} (one per class name), "
                f"got values from {int(self.labels.min())} to {int(self.labels.max())}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """The image (uint8, 3 x H x W) and its label, as torch's datasets give them."""
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        shape = "x".join(str(size) for size in self.images.shape[1:])
        names = ", ".join(self.classes[:10]) + (", ..." if len(self.classes) > 10 else "")
        return f"TensorImages({len(self)} images {shape}, {len(self.classes)} classes: {names})"

    def subset(self, indices: Sequence[int] | torch.Tensor) -> TensorImages:
        """The images at ``indices``, in that order."""
        index = torch.as_tensor(indices, dtype=torch.int64)
        return TensorImages(self.images[index], self.labels[index], list(self.classes))

    def split(self, val_fraction: float = 0.1, seed: int = 0) -> tuple[TensorImages, TensorImages]:
        """``(train, val)``: ``val_fraction`` of every class goes to ``val``, the same for the same seed."""
        train, val = stratified_split(self.labels.tolist(), val_fraction, seed)
        return self.subset(train), self.subset(val)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor"
    return type(value).__name__


def decode_rgb(data: bytes) -> torch.Tensor:
    """Encoded image bytes to a uint8 (3, H, W) tensor."""
    with Image.open(io.BytesIO(data)) as image:
        return transforms.functional.pil_to_tensor(image.convert("RGB"))


def sample_folder(name: str = _SAMPLE_FOLDER) -> Path:
    """The folder of a shipped CIFAR-10 sample (``<class>/<file>.jpg`` and ``MANIFEST.tsv``): the test
    images ``"cifar10_sample"`` (default) or the training images ``"cifar10_calibration"``."""
    shipped = REPO_ROOT / "data" / name
    if (shipped / _MANIFEST).is_file():
        return shipped
    placed = data_root() / name
    if (placed / _MANIFEST).is_file():
        return placed
    raise FileNotFoundError(
        f"The shipped {name} folder is not in {shipped} nor in {placed}. It comes with a clone of the "
        f"course repository (git clone, then `pip install -e .`); a copy of its data/{name} folder "
        "in the data folder (see LIGHTNETS_DATA) works too."
    )


def _read_manifest(folder: Path) -> list[tuple[str, str, str]]:
    """Rows ``(relative path, class, sha256)`` of a sample's MANIFEST.tsv."""
    lines = (folder / _MANIFEST).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines[1:] if line.strip()]  # type: ignore[misc]


def _read_sample(name: str) -> TensorImages:
    folder = sample_folder(name)
    rows = _read_manifest(folder)
    images = [decode_rgb((folder / path).read_bytes()) for path, _, _ in rows]
    labels = [CIFAR10_CLASSES.index(name) for _, name, _ in rows]
    return TensorImages(torch.stack(images), torch.tensor(labels, dtype=torch.int64), list(CIFAR10_CLASSES))


def cifar10_sample() -> TensorImages:
    """The 1,000 real CIFAR-10 test images shipped with the course (100 per class), no download needed.

    Enough to run every notebook offline in fast mode; far too few to train a good model. Its files and
    their checksums are listed in ``data/cifar10_sample/MANIFEST.tsv``.
    """
    return _read_sample(_SAMPLE_FOLDER)


def cifar10_calibration() -> TensorImages:
    """500 real CIFAR-10 training images shipped with the course (50 per class), no download needed.

    What int8 quantization calibrates on (``deploy.quantize_int8``): the ranges of a network's
    activations must come from images like those it was trained on, never from the test images its
    accuracy is then measured on. Listed in ``data/cifar10_calibration/MANIFEST.tsv``.
    """
    return _read_sample(_CALIBRATION_FOLDER)


def cifar10(split: str = "train", root: PathLike | None = None, download: bool = True) -> TensorImages:
    """CIFAR-10's ``"train"`` (50,000) or ``"test"`` (10,000) images as ``TensorImages``.

    Looks in ``data_root(root)`` and its ``downloads/`` folder for, in order: torchvision's extracted
    ``cifar-10-batches-py/``; the original archive ``cifar-10-python.tar.gz`` (md5 checked, then
    extracted); a JPEG copy laid out ``cifar10-jpeg/{train,test}/<class>/*.jpg`` or its
    ``cifar10-jpeg.tar.gz`` (decoded once, then cached as a ``.pt`` file next to it). Without any of
    them it downloads the archive through torchvision (163 MiB, md5 checked) unless
    ``download=False``. Offline, the error says which file to place in which folder.
    """
    if split not in ("train", "test"):
        raise ValueError(f'split must be "train" or "test", got {split!r}')
    root = data_root(root)
    folders = search_folders(root)
    for folder in folders:
        if (folder / "cifar-10-batches-py").is_dir():
            return _cifar10_from_batches(folder, split)
    for folder in folders:
        archive = folder / CIFAR10_ARCHIVE
        if archive.is_file():
            if file_md5(archive) == CIFAR10_MD5:
                extract_tar(archive, folder)
                return _cifar10_from_batches(folder, split)
            if folder == root:
                raise ChecksumError(
                    f"{archive} is not the CIFAR-10 archive (its md5 is not {CIFAR10_MD5}): it is incomplete "
                    f"or another file. Delete it, then download {CIFAR10_URL} again."
                )
            # An earlier download into downloads/ was cut short: fetch it again below.
            archive.unlink()
    for folder in folders:
        if (folder / CIFAR10_JPEG).is_dir() or (folder / f"{CIFAR10_JPEG}.tar.gz").is_file():
            return _cifar10_from_jpegs(folder, split)
    if not download:
        raise FileNotFoundError(
            f"CIFAR-10 is not in {root}: place {CIFAR10_ARCHIVE} (from {CIFAR10_URL}) or the extracted "
            "cifar-10-batches-py/ folder there, or call cifar10(download=True). Set LIGHTNETS_DATA to use "
            'another data folder; get_data("sample") runs on the shipped sample meanwhile.'
        )
    _download_cifar10(root / "downloads", root)
    return _cifar10_from_batches(root / "downloads", split)


def _download_cifar10(into: Path, root: Path) -> None:
    archive = into / CIFAR10_ARCHIVE
    try:
        download_url(CIFAR10_URL, str(into), CIFAR10_ARCHIVE, md5=CIFAR10_MD5)
    except (urllib.error.URLError, OSError, http.client.HTTPException, RuntimeError) as error:
        # torchvision writes straight into the archive's name: never leave a truncated one behind.
        archive.unlink(missing_ok=True)
        reason = describe_error(error)
        if isinstance(error, RuntimeError) and not isinstance(error, RecursionError):
            reason += " (the downloaded file failed torchvision's md5 check)"
        raise DownloadError(
            f"Could not download CIFAR-10 from {CIFAR10_URL}: {reason}.\n"
            + manual_download_help(
                CIFAR10_URL,
                root / CIFAR10_ARCHIVE,
                also=' The extracted cifar-10-batches-py/ folder works too. Meanwhile get_data("sample") runs '
                "the course on the shipped 1,000-image sample.",
            )
        ) from None
    extract_tar(archive, into)


def _cifar10_from_batches(folder: Path, split: str) -> TensorImages:
    try:
        dataset = CIFAR10(str(folder), train=split == "train", download=False)
    except RuntimeError:
        raise ChecksumError(
            f"{folder / 'cifar-10-batches-py'} is incomplete or corrupted (a batch file is missing or has "
            "the wrong md5). Delete that folder and run again."
        ) from None
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(dataset.targets, dtype=torch.int64)
    return TensorImages(images, labels, list(dataset.classes))


def jpeg_split_files(source: Path, split: str) -> dict[tuple[str, str], bytes]:
    """``{(class, file name): JPEG bytes}`` of ``cifar10-jpeg/<split>/<class>/*.jpg`` in a folder or a
    .tar.gz (read straight from the archive: unpacking 60,000 small files is slower than decoding them)."""
    encoded = {}
    if source.is_dir():
        for file in sorted((source / split).glob("*/*.jpg")):
            encoded[file.parent.name, file.name] = file.read_bytes()
        return encoded
    with tarfile.open(source) as tar:
        for member in tar:
            parts = member.name.removeprefix("./").split("/")
            if member.isfile() and len(parts) == 4 and parts[1] == split and parts[3].endswith(".jpg"):
                encoded[parts[2], parts[3]] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return encoded


def _cifar10_from_jpegs(folder: Path, split: str) -> TensorImages:
    """Decode ``cifar10-jpeg/<split>/`` (a folder or a .tar.gz) once; later calls read the cached tensors."""
    source = folder / CIFAR10_JPEG
    if not source.is_dir():
        source = folder / f"{CIFAR10_JPEG}.tar.gz"
    cache = folder / f"{CIFAR10_JPEG}-{split}.pt"
    if cache.is_file() and cache.stat().st_mtime >= source.stat().st_mtime:
        saved = torch.load(cache, weights_only=True)
        return TensorImages(saved["images"], saved["labels"], list(saved["classes"]))

    encoded = jpeg_split_files(source, split)
    found = {name for name, _ in encoded}
    if not encoded or not found <= set(CIFAR10_CLASSES):
        raise ValueError(
            f"{source} does not hold CIFAR-10's {split} split as {CIFAR10_JPEG}/{split}/<class>/*.jpg with the "
            f"classes {', '.join(CIFAR10_CLASSES)} (found classes: {', '.join(sorted(found)) or 'none'})"
        )

    keys = sorted(encoded, key=lambda key: (CIFAR10_CLASSES.index(key[0]), key[1]))
    images = torch.stack([decode_rgb(encoded[key]) for key in keys])
    labels = torch.tensor([CIFAR10_CLASSES.index(name) for name, _ in keys], dtype=torch.int64)
    data = TensorImages(images, labels, list(CIFAR10_CLASSES))
    try:
        temporary = cache.with_name(cache.name + ".tmp")
        torch.save({"images": images, "labels": labels, "classes": data.classes}, temporary)
        os.replace(temporary, cache)
    except OSError as error:
        warnings.warn(
            f"Could not cache the decoded images in {cache} ({error}); decoding again next time.",
            stacklevel=3,
        )
    return data
