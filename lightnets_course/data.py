"""Datasets for the course: CIFAR-10, TensorFlow's flower photos, any image folder, and the shipped sample.

Two kinds of loaders feed the training loop:

- Small datasets (CIFAR-10 and the shipped sample) live on the device as uint8 tensors
  (``TensorImages``) and are augmented there, a whole batch at a time, by ``DeviceLoader``. A per-image
  PIL pipeline would keep a modern GPU waiting for data.
- Photos of any size (flowers, your own folders) are read from disk by a standard torch
  ``DataLoader`` over an ``ImageFileDataset`` (``file_loader``).

``get_data(name)`` is the one entry point the notebooks and the ``lightnets`` command use: it returns a
``DataBundle`` with train / validation / test loaders, the class names and the normalisation.

Where files live: ``data_root()`` is the ``root=`` argument, else the environment variable
``LIGHTNETS_DATA``, else the repository's ``data/`` folder in a checkout, else ``~/.cache/lightnets``.
Downloads go to ``<root>/downloads/``. Every download shows progress, verifies a checksum, resumes
after an interruption, and fails offline with a message that says which file to place where.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import math
import multiprocessing
import os
import random
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from tqdm.auto import tqdm

from .device import default_device

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "FLOWERS_URL",
    "FLOWERS_SHA256",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ChecksumError",
    "DataBundle",
    "DeviceLoader",
    "DownloadError",
    "ImageFileDataset",
    "TensorImages",
    "cifar10",
    "cifar10_sample",
    "data_root",
    "default_device",
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

PathLike = str | os.PathLike

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
# The statistics every torchvision ImageNet model was trained with: use them when fine-tuning one.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's copy of the original CIFAR-10 release ("CIFAR-10 python version").
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_JPEG = "cifar10-jpeg"

# The same file is served as http://download.tensorflow.org/example_images/flower_photos.tgz; its sha256
# (228,813,984 bytes) is the one tensorflow_datasets records for tf_flowers (url_checksums/tf_flowers.txt).
FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
FLOWERS_SHA256 = "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c"
FLOWERS_ARCHIVE = "flower_photos.tgz"
FLOWERS_FOLDER = "flower_photos"

# The repository root when the package runs from a checkout (editable install, Colab clone).
_REPO_DIR = Path(__file__).resolve().parents[1]
_SAMPLE_FOLDER = "cifar10_sample"
_MANIFEST = "MANIFEST.tsv"
_VAL_FOLDER_NAMES = ("val", "valid", "validation")
_USER_AGENT = "lightnets-course"
_TIMEOUT_S = 30
_CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message says which file to place where to go on offline."""


class ChecksumError(DownloadError):
    """A downloaded or placed file does not have the expected checksum."""


# ---------------------------------------------------------------------------------------------------
# Where data lives


def data_root(root: PathLike | None = None) -> Path:
    """The folder that holds the course's datasets.

    In order: ``root`` if given; else the environment variable ``LIGHTNETS_DATA``; else the repository's
    ``data/`` folder when the package runs from a checkout; else ``~/.cache/lightnets``. The current
    directory never matters, so a notebook finds the same data wherever it is started from.
    Downloads go to ``data_root() / "downloads"``.
    """
    if root is not None:
        return Path(root).expanduser()
    from_env = os.environ.get("LIGHTNETS_DATA", "").strip()
    if from_env:
        return Path(from_env).expanduser()
    repo_data = _REPO_DIR / "data"
    if repo_data.is_dir() and (_REPO_DIR / "pyproject.toml").is_file():
        return repo_data
    return Path.home() / ".cache" / "lightnets"


def _search_folders(root: Path) -> tuple[Path, Path]:
    # Files a learner placed by hand sit in the root; files the course downloaded sit in downloads/.
    return root, root / "downloads"


# ---------------------------------------------------------------------------------------------------
# Downloads


def _hash_file(path: PathLike, digest: Any) -> str:
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: PathLike) -> str:
    """The SHA-256 checksum of a file, as lowercase hex (what ``sha256sum`` prints)."""
    return _hash_file(path, hashlib.sha256())


def _manual_download_help(url: str, dest: Path, also: str = "") -> str:
    return (
        f"To go on offline, download {url} on a machine with internet access (a browser, or "
        f"`curl -L -O {url}`) and save it unchanged as\n    {dest}\n"
        f"(file {dest.name!r} in folder {str(dest.parent)!r}).{also}\n"
        "To keep the course's data in another folder, set the environment variable LIGHTNETS_DATA to it."
    )


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"no connection ({error.reason})"
    return str(error) or type(error).__name__


def download(url: str, dest: PathLike, sha256: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to the file ``dest`` and return its path.

    The bytes stream into ``dest + ".part"`` with a progress bar. If an earlier download was interrupted,
    the ``.part`` file is resumed with an HTTP Range request (from scratch if the server ignores it).
    With ``sha256`` the file is checked, and it is renamed to ``dest`` only when the checksum matches, so
    ``dest`` either does not exist or is complete. An existing ``dest`` is checked and reused.

    Raises ``DownloadError`` (offline, server error, connection lost: the ``.part`` is kept for resuming)
    and ``ChecksumError`` (wrong bytes: the partial file is deleted), each saying what to do.
    """
    dest = Path(dest).expanduser()
    expected = sha256.lower() if sha256 else None
    if dest.is_file():
        if expected is None:
            return dest
        got = file_sha256(dest)
        if got == expected:
            return dest
        raise ChecksumError(
            f"{dest} exists but its sha256 is {got}, expected {expected}: it is not the file at {url}. "
            "Delete it and run again to download a fresh copy."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, part, progress)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        resume = (
            f"\nThe partial download {part} is kept: running this again resumes it."
            if part.is_file() and part.stat().st_size > 0
            else ""
        )
        # `from None`: the urllib traceback says nothing a learner can act on; the message does.
        raise DownloadError(
            f"Could not download {url}: {_reason(error)}.{resume}\n" + _manual_download_help(url, dest)
        ) from None
    if expected is not None:
        got = file_sha256(part)
        if got != expected:
            part.unlink()
            raise ChecksumError(
                f"The file downloaded from {url} has sha256 {got}, expected {expected}; it was deleted. "
                "The server sent different bytes (a proxy or captive portal page, or a changed file). "
                "Run again; if it fails the same way, fetch the file by hand.\n"
                + _manual_download_help(url, dest)
            )
    os.replace(part, dest)  # atomic: `dest` appears only once it is complete and verified
    return dest


def _fetch(url: str, part: Path, progress: bool) -> None:
    """Stream ``url`` into ``part``, continuing from the bytes already there when the server allows."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            # "Range not satisfiable": the partial file is not a prefix we can continue; start over.
            part.unlink()
            return _fetch(url, part, progress)
        raise
    with response:
        content_range = response.headers.get("Content-Range", "")
        if not (offset and response.status == 206 and content_range.startswith(f"bytes {offset}-")):
            offset = 0  # the server sends the whole file: overwrite instead of appending
        remaining = response.length
        total = None if remaining is None else offset + remaining
        with (
            open(part, "ab" if offset else "wb") as file,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            while chunk := response.read(_CHUNK_BYTES):
                file.write(chunk)
                bar.update(len(chunk))
    received = part.stat().st_size
    if total is not None and received < total:
        raise ConnectionError(f"the connection closed after {received:,} of {total:,} bytes")


def _extract_tar(archive: Path, into: Path) -> None:
    """Extract ``archive`` into ``into``, refusing members that would land outside it."""
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # Pythons older than 3.10.12 and 3.11.4 have no extraction filters
            base = into.resolve()
            for member in tar.getmembers():
                target = (base / member.name).resolve()
                outside = target != base and base not in target.parents
                if outside or member.issym() or member.islnk():
                    raise ValueError(f"{archive} has an unsafe member {member.name!r}; not extracting it")
            tar.extractall(into)


# ---------------------------------------------------------------------------------------------------
# Tensor datasets: CIFAR-10 and the shipped sample


def _check_fraction(val_fraction: float) -> None:
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise TypeError(f"val_fraction must be a number between 0 and 1, got {val_fraction!r}")
    if not 0 < val_fraction < 1:
        raise ValueError(
            f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}; "
            "0.1 keeps one image in ten for validation"
        )


def _stratified_split(labels: Sequence[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
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
        train, val = _stratified_split(self.labels.tolist(), val_fraction, seed)
        return self.subset(train), self.subset(val)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor"
    return type(value).__name__


def _decode_rgb(data: bytes) -> torch.Tensor:
    """Encoded image bytes to a uint8 (3, H, W) tensor."""
    with Image.open(io.BytesIO(data)) as image:
        return transforms.functional.pil_to_tensor(image.convert("RGB"))


def _sample_folder() -> Path:
    shipped = _REPO_DIR / "data" / _SAMPLE_FOLDER
    if (shipped / _MANIFEST).is_file():
        return shipped
    placed = data_root() / _SAMPLE_FOLDER
    if (placed / _MANIFEST).is_file():
        return placed
    raise FileNotFoundError(
        f"The shipped CIFAR-10 sample is not in {shipped} nor in {placed}. It comes with a clone of the "
        "course repository (git clone, then `pip install -e .`); a copy of its data/cifar10_sample folder "
        "in the data folder (see LIGHTNETS_DATA) works too."
    )


def _read_manifest(folder: Path) -> list[tuple[str, str, str]]:
    """Rows ``(relative path, class, sha256)`` of a sample's MANIFEST.tsv."""
    lines = (folder / _MANIFEST).read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines[1:] if line.strip()]  # type: ignore[misc]


def cifar10_sample() -> TensorImages:
    """The 1,000 real CIFAR-10 test images shipped with the course (100 per class), no download needed.

    Enough to run every notebook offline in fast mode; far too few to train a good model. Its files and
    their checksums are listed in ``data/cifar10_sample/MANIFEST.tsv``.
    """
    folder = _sample_folder()
    rows = _read_manifest(folder)
    images = [_decode_rgb((folder / path).read_bytes()) for path, _, _ in rows]
    labels = [CIFAR10_CLASSES.index(name) for _, name, _ in rows]
    return TensorImages(torch.stack(images), torch.tensor(labels, dtype=torch.int64), list(CIFAR10_CLASSES))


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
    folders = _search_folders(root)
    for folder in folders:
        if (folder / "cifar-10-batches-py").is_dir():
            return _cifar10_from_batches(folder, split)
    for folder in folders:
        archive = folder / CIFAR10_ARCHIVE
        if archive.is_file():
            if _md5(archive) == CIFAR10_MD5:
                _extract_tar(archive, folder)
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


def _md5(path: Path) -> str:
    # md5 only because the CIFAR-10 release publishes no other checksum.
    return _hash_file(path, hashlib.md5(usedforsecurity=False))


def _download_cifar10(into: Path, root: Path) -> None:
    from torchvision.datasets.utils import download_url

    archive = into / CIFAR10_ARCHIVE
    try:
        download_url(CIFAR10_URL, str(into), CIFAR10_ARCHIVE, md5=CIFAR10_MD5)
    except (urllib.error.URLError, OSError, http.client.HTTPException, RuntimeError) as error:
        # torchvision writes straight into the archive's name: never leave a truncated one behind.
        archive.unlink(missing_ok=True)
        reason = _reason(error)
        if isinstance(error, RuntimeError) and not isinstance(error, RecursionError):
            reason += " (the downloaded file failed torchvision's md5 check)"
        raise DownloadError(
            f"Could not download CIFAR-10 from {CIFAR10_URL}: {reason}.\n"
            + _manual_download_help(
                CIFAR10_URL,
                root / CIFAR10_ARCHIVE,
                also=' The extracted cifar-10-batches-py/ folder works too. Meanwhile get_data("sample") runs '
                "the course on the shipped 1,000-image sample.",
            )
        ) from None
    _extract_tar(archive, into)


def _cifar10_from_batches(folder: Path, split: str) -> TensorImages:
    from torchvision.datasets import CIFAR10

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


def _jpeg_split_files(source: Path, split: str) -> dict[tuple[str, str], bytes]:
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

    encoded = _jpeg_split_files(source, split)
    found = {name for name, _ in encoded}
    if not encoded or not found <= set(CIFAR10_CLASSES):
        raise ValueError(
            f"{source} does not hold CIFAR-10's {split} split as {CIFAR10_JPEG}/{split}/<class>/*.jpg with the "
            f"classes {', '.join(CIFAR10_CLASSES)} (found classes: {', '.join(sorted(found)) or 'none'})"
        )

    keys = sorted(encoded, key=lambda key: (CIFAR10_CLASSES.index(key[0]), key[1]))
    images = torch.stack([_decode_rgb(encoded[key]) for key in keys])
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


# ---------------------------------------------------------------------------------------------------
# Image files: flowers and any folder of photos


def load_image(path: PathLike) -> Image.Image:
    """Open an image file as an RGB ``PIL.Image``, the form every transform of the course expects.

    Grayscale and palette images become RGB; transparent parts (RGBA, LA, palette with transparency)
    are laid on white; a camera's EXIF orientation is applied, so phone photos stand upright.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No image file at {path}")
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{path} is not an image Pillow can read ({error})") from None
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def _is_image(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def _keep_images(paths: list[Path], where: Path | None = None) -> list[Path]:
    """The paths that are images. The others are named in one warning, now rather than mid-epoch."""
    is_image = [_is_image(path) for path in paths]
    skipped = [path for path, ok in zip(paths, is_image) if not ok]
    if skipped:
        shown = [str(path.relative_to(where) if where else path) for path in skipped[:20]]
        more = f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        place = f" in {where}" if where else ""
        warnings.warn(
            f"Skipped {len(skipped)} file(s){place} that are not images: {', '.join(shown)}{more}",
            stacklevel=2,
        )
    return [path for path, ok in zip(paths, is_image) if ok]


class ImageFileDataset(Dataset):
    """A torch ``Dataset`` of image files: item ``i`` is ``(transform(load_image(path)), label)``.

    ``samples`` is a list of ``(path, label)``; ``classes`` names the labels. With ``check=True`` (the
    default) files that are not images are dropped at once, with a warning naming them, rather than
    crashing an epoch halfway. Without a transform, items are float tensors in [0, 1].
    """

    def __init__(
        self,
        samples: Sequence[tuple[PathLike, int]],
        classes: Sequence[str],
        transform: Callable[[Image.Image], torch.Tensor] | None = None,
        *,
        check: bool = True,
    ) -> None:
        self.classes = list(classes)
        samples = [(Path(path), int(label)) for path, label in samples]
        for path, label in samples:
            if not 0 <= label < len(self.classes):
                raise ValueError(f"label {label} of {path} is not in 0..{len(self.classes) - 1}")
        if check:
            kept = set(_keep_images([path for path, _ in samples]))
            samples = [(path, label) for path, label in samples if path in kept]
        self.samples = samples
        self.targets = [label for _, label in samples]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        image = load_image(path)
        if self.transform is None:
            return transforms.functional.to_tensor(image), label
        return self.transform(image), label

    def __repr__(self) -> str:
        return f"ImageFileDataset({len(self)} images, {len(self.classes)} classes: {', '.join(self.classes)})"


def _is_small(image_size: int) -> bool:
    # CIFAR-sized images: a random-resized crop would throw most of a 32x32 image away.
    return image_size <= 32


def train_transform(
    image_size: int = 224, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> transforms.Compose:
    """Training augmentation for photos: a random crop of random size and shape resized to
    ``image_size`` (RandomResizedCrop), a random horizontal flip, then ``Normalize(mean, std)``.

    For CIFAR-sized images (``image_size <= 32``) the crop is CIFAR's usual one, the same as
    ``DeviceLoader`` applies: pad by ``image_size // 8`` and cut ``image_size`` pixels at a random offset.
    """
    _check_image_size(image_size)
    if _is_small(image_size):
        crop = [
            transforms.Resize((image_size, image_size)),
            transforms.RandomCrop(image_size, padding=image_size // 8),
        ]
    else:
        crop = [transforms.RandomResizedCrop(image_size, antialias=True)]
    return transforms.Compose(
        [*crop, transforms.RandomHorizontalFlip(), transforms.ToTensor(), transforms.Normalize(mean, std)]
    )


def eval_transform(
    image_size: int = 224, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> transforms.Compose:
    """Evaluation preprocessing: resize the short side to ``image_size * 8 / 7`` (256 for 224), cut the
    centre ``image_size`` square, then ``Normalize(mean, std)``, as torchvision evaluates ImageNet models.

    For CIFAR-sized images (``image_size <= 32``) it is only ToTensor + Normalize (images of another
    size are first resized to ``image_size`` square).
    """
    _check_image_size(image_size)
    if _is_small(image_size):
        resize = [transforms.Resize((image_size, image_size))]
    else:
        resize = [
            transforms.Resize(int(round(image_size * 8 / 7)), antialias=True),
            transforms.CenterCrop(image_size),
        ]
    return transforms.Compose([*resize, transforms.ToTensor(), transforms.Normalize(mean, std)])


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")


def _check_image_size(image_size: Any) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(
            f"image_size must be a positive whole number of pixels (like 224), got {image_size!r}"
        )


def _visible(folder: Path) -> list[Path]:
    # Hidden entries are system or editor files (.DS_Store, .ipynb_checkpoints), never data.
    return sorted(
        (entry for entry in folder.iterdir() if not entry.name.startswith(".")), key=lambda p: p.name
    )


def _class_folders(folder: Path) -> list[str]:
    return [entry.name for entry in _visible(folder) if entry.is_dir()]


def _list_files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """``(path, label)`` of the images under ``folder/<class>/``, sorted by class then file name."""
    samples = []
    for label, name in enumerate(classes):
        class_dir = folder / name
        if class_dir.is_dir():
            samples += [(entry, label) for entry in _visible(class_dir) if entry.is_file()]
    images = set(_keep_images([path for path, _ in samples], folder))
    return [(path, label) for path, label in samples if path in images]


def _scan_classes(folder: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """The images of ``folder/<class>/*`` and the sorted class names; every class must have images."""
    classes = _class_folders(folder)
    if not classes:
        raise ValueError(
            f"{folder} has no class folders: lay the images out as {folder}/<class name>/<image files>"
        )
    samples = _list_files(folder, classes)
    found = {label for _, label in samples}
    empty = [name for label, name in enumerate(classes) if label not in found]
    if empty:
        raise ValueError(f"These class folders of {folder} hold no images: {', '.join(empty)}")
    return samples, classes


def _split_samples(
    samples: list[tuple[Path, int]], val_fraction: float, seed: int
) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    train, val = _stratified_split([label for _, label in samples], val_fraction, seed)
    return [samples[i] for i in train], [samples[i] for i in val]


def image_folder(
    path: PathLike,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    image_size: int = 224,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> tuple[ImageFileDataset, ImageFileDataset]:
    """``(train, val)`` datasets from a folder of your own images.

    Accepted layouts: ``path/<class>/<images>``, or ``path/train/<class>/<images>`` with an optional
    ``path/val/<class>/<images>`` (also named ``valid`` or ``validation``). Without a validation folder,
    ``val_fraction`` of every class is set aside: a seeded shuffle of the sorted file names, so the split
    is the same on every machine. Class names are the sorted folder names; files that are not images
    are skipped with a warning that names them.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No folder at {folder}: give a folder laid out as <class name>/<image files>"
        )
    train_folder = folder / "train" if (folder / "train").is_dir() else folder
    val_folder = next((folder / name for name in _VAL_FOLDER_NAMES if (folder / name).is_dir()), None)
    samples, classes = _scan_classes(train_folder)
    if train_folder == folder or val_folder is None:
        train_samples, val_samples = _split_samples(samples, val_fraction, seed)
    else:
        unknown = sorted(set(_class_folders(val_folder)) - set(classes))
        if unknown:
            raise ValueError(
                f"{val_folder} has class folders that {train_folder} lacks: {', '.join(unknown)}; "
                "both must use the same class names"
            )
        train_samples, val_samples = samples, _list_files(val_folder, classes)
    train = ImageFileDataset(train_samples, classes, train_transform(image_size, mean, std), check=False)
    val = ImageFileDataset(val_samples, classes, eval_transform(image_size, mean, std), check=False)
    return train, val


def flowers(
    root: PathLike | None = None,
    download: bool = True,
    val_fraction: float = 0.1,
    seed: int = 0,
    image_size: int = 224,
) -> tuple[ImageFileDataset, ImageFileDataset]:
    """TensorFlow's flower photos (3,670 photos of daisy, dandelion, roses, sunflowers, tulips) as
    ``(train, val)`` datasets, split 9:1 per class reproducibly (sorted names, seeded shuffle).

    Uses ``flower_photos/`` or ``flower_photos.tgz`` from ``data_root(root)`` or its ``downloads/``
    folder; otherwise downloads the archive (218 MiB, sha256 checked, resumable) unless
    ``download=False``. Normalised with ImageNet's statistics, for fine-tuning ImageNet models.
    """
    root = data_root(root)
    samples, classes = _scan_classes(_flowers_folder(root, download))
    train_samples, val_samples = _split_samples(samples, val_fraction, seed)
    train = ImageFileDataset(
        train_samples, classes, train_transform(image_size, IMAGENET_MEAN, IMAGENET_STD), check=False
    )
    val = ImageFileDataset(
        val_samples, classes, eval_transform(image_size, IMAGENET_MEAN, IMAGENET_STD), check=False
    )
    return train, val


def _flowers_folder(root: Path, download_allowed: bool) -> Path:
    folders = _search_folders(root)
    for folder in folders:
        if (folder / FLOWERS_FOLDER).is_dir():
            return folder / FLOWERS_FOLDER
    archive = next(
        (folder / FLOWERS_ARCHIVE for folder in folders if (folder / FLOWERS_ARCHIVE).is_file()), None
    )
    if archive is None:
        if not download_allowed:
            raise FileNotFoundError(
                f"The flower photos are not in {root}: place {FLOWERS_ARCHIVE} (from {FLOWERS_URL}) or its "
                f"extracted {FLOWERS_FOLDER}/ folder there, or call flowers(download=True). "
                "Set LIGHTNETS_DATA to use another data folder."
            )
        archive = download(FLOWERS_URL, root / "downloads" / FLOWERS_ARCHIVE, sha256=FLOWERS_SHA256)
    else:
        got = file_sha256(archive)
        if got != FLOWERS_SHA256:
            raise ChecksumError(
                f"{archive} has sha256 {got}, expected {FLOWERS_SHA256}: it is incomplete or another file. "
                f"Delete it and run again to download {FLOWERS_URL}."
            )
    # Extract beside the final place and rename, so an interrupted extraction is never taken for data.
    unpacking = archive.parent / f".{FLOWERS_FOLDER}.unpacking"
    shutil.rmtree(unpacking, ignore_errors=True)
    _extract_tar(archive, unpacking)
    target = archive.parent / FLOWERS_FOLDER
    os.replace(unpacking / FLOWERS_FOLDER, target)
    shutil.rmtree(unpacking, ignore_errors=True)
    return target


def _default_workers() -> int:
    # Worker processes pay off only where they start by fork (Linux). Windows and macOS start them by
    # spawn, which re-imports the main module in every worker: a script without an
    # `if __name__ == "__main__":` guard runs again, and a transform defined in a notebook cannot be
    # pickled. There images load in the main process: slower, but it always works.
    method = multiprocessing.get_start_method(allow_none=True)
    if method is None:
        method = "fork" if sys.platform.startswith("linux") and sys.version_info < (3, 14) else "spawn"
    if method != "fork":
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(4, cpus)


def file_loader(
    dataset: Dataset, batch_size: int = 64, train: bool = False, workers: int | None = None
) -> DataLoader:
    """A ``DataLoader`` for an ``ImageFileDataset``: shuffled for training, in order for evaluation.

    ``workers=None`` picks background processes where they work everywhere, including notebooks: up to
    4 on Linux, none on Windows and macOS (there a worker re-imports the main module, which breaks
    unguarded scripts and notebook-defined transforms). With CUDA, batches go to pinned (page-locked)
    memory, which copies to the GPU faster. Training drops a last incomplete batch, because a batch of a single
    image breaks BatchNorm. Under ``torchrun`` every process reads its own shard; call
    ``loader.sampler.set_epoch(epoch)`` each epoch.
    """
    _check_batch_size(batch_size)
    if workers is None:
        workers = _default_workers()
    drop_last = train and len(dataset) > batch_size  # type: ignore[arg-type]
    sampler = None
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed and torch.distributed.get_world_size() > 1:
        sampler = torch.utils.data.DistributedSampler(dataset, shuffle=train, drop_last=drop_last)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train if sampler is None else None,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        drop_last=drop_last,
        persistent_workers=workers > 0,
    )


# ---------------------------------------------------------------------------------------------------
# The loader that keeps a whole dataset on the device


class DeviceLoader:
    """Batches of a ``TensorImages`` dataset that lives on the device, augmented on the device.

    The images are copied to ``device`` once, as uint8. Each batch is picked by index, then, for
    training, every image is padded by ``crop_padding`` zeros and cropped back at a random offset and
    flipped left-right with probability 1/2 (all images of the batch at once, no Python loop); finally it
    becomes float32 and is normalised with ``mean`` and ``std``. It yields ``(images, labels)``:
    float32 (B, 3, H, W) and int64 (B,), both on ``device``.

    The randomness (order, crops, flips) comes from a generator seeded with ``(seed, epoch)``: call
    ``set_epoch(epoch)`` before each epoch, as with torch's ``DistributedSampler``. The same epoch always
    gives the same batches, on any device, which makes resuming a training run exact.

    Training loaders shuffle and drop the last incomplete batch (``drop_last=None`` means "when
    training", unless the images do not fill a single batch); evaluation loaders keep the dataset's
    order, do not augment and keep every image. Under ``torch.distributed`` (or with ``rank`` and ``world_size``) each process gets its own share:
    in training, equal-sized disjoint shards; in evaluation, disjoint shards that together hold every
    image exactly once. ``image_size`` resizes batches on the device (for models that expect, say, 224).
    """

    def __init__(
        self,
        data: TensorImages,
        batch_size: int = 512,
        *,
        train: bool = False,
        device: str | torch.device | None = None,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
        crop_padding: int = 4,
        flip: bool = True,
        drop_last: bool | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        image_size: int | None = None,
    ) -> None:
        if not isinstance(data, TensorImages):
            raise TypeError(
                f"data must be a TensorImages (from cifar10(), cifar10_sample() or TensorImages(...)), "
                f"got {type(data).__name__}; for image files use file_loader(ImageFileDataset(...))"
            )
        _check_batch_size(batch_size)
        if isinstance(crop_padding, bool) or not isinstance(crop_padding, int) or crop_padding < 0:
            raise ValueError(
                f"crop_padding must be a whole number >= 0 (0 turns cropping off), got {crop_padding!r}"
            )
        if len(mean) != 3 or len(std) != 3 or any(value <= 0 for value in std):
            raise ValueError(
                f"mean and std need one value per RGB channel, std > 0; got mean={mean}, std={std}"
            )
        if image_size is not None:
            _check_image_size(image_size)
        self.rank, self.world_size = _rank_and_world_size(rank, world_size)

        self.device = torch.device(device) if device is not None else default_device()
        self.classes = list(data.classes)
        self.mean = tuple(float(value) for value in mean)
        self.std = tuple(float(value) for value in std)
        self.batch_size = batch_size
        self.train = train
        self.crop_padding = crop_padding if train else 0
        self.flip = flip and train
        self.seed = seed
        self.epoch = 0
        self.dataset_size = len(data)
        self.drop_last = train if drop_last is None else drop_last
        if drop_last is None and self._shard_size() < batch_size:
            self.drop_last = False  # fewer images than one batch: dropping it would leave no batch at all
        height, width = data.images.shape[-2:]
        self.image_size = image_size or width
        self._resize = image_size is not None and (image_size, image_size) != (height, width)
        self.images = data.images.to(self.device).contiguous()
        self.labels = data.labels.to(self.device)
        # Normalising in [0, 1] units: (x / 255 - mean) / std, exactly what ToTensor + Normalize compute.
        self._mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order and augmentation the next iteration uses."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a whole number >= 0, got {epoch!r}")
        self.epoch = epoch

    def _shard_size(self) -> int:
        if self.train:
            return self.dataset_size // self.world_size
        return len(range(self.rank, self.dataset_size, self.world_size))

    def __len__(self) -> int:
        if self.drop_last:
            return self._shard_size() // self.batch_size
        return math.ceil(self._shard_size() / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # A CPU generator: the same (seed, epoch) gives the same batches on CUDA, MPS and CPU.
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = self.dataset_size
        if self.train:
            # Every process draws the same permutation and takes every world_size-th entry of it.
            order = torch.randperm(n, generator=generator)
            order = order[: self._shard_size() * self.world_size][self.rank :: self.world_size]
        else:
            order = torch.arange(self.rank, n, self.world_size)
        padding = self.crop_padding
        # Drawn for every image of the dataset, so each process sees the same augmentation per image.
        offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator) if padding else None
        flips = torch.rand(n, generator=generator) < 0.5 if self.flip else None

        order = order.to(self.device)
        if offsets is not None:
            offsets = offsets.to(self.device)
        if flips is not None:
            flips = flips.to(self.device)
        for batch_index in range(len(self)):
            index = order[batch_index * self.batch_size : (batch_index + 1) * self.batch_size]
            images = self.images[index]
            if offsets is not None or flips is not None:
                images = _crop_and_flip(
                    images,
                    padding,
                    offsets[index] if offsets is not None else None,
                    flips[index] if flips is not None else None,
                )
            images = images.float().div_(255).sub_(self._mean).div_(self._std)
            if self._resize:
                images = F.interpolate(
                    images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False
                )
            yield images, self.labels[index]

    def __repr__(self) -> str:
        shard = f", rank {self.rank} of {self.world_size}" if self.world_size > 1 else ""
        return (
            f"DeviceLoader({self.dataset_size} images on {self.device}, batch_size={self.batch_size}, "
            f"train={self.train}, {len(self)} batches{shard})"
        )


def _crop_and_flip(
    images: torch.Tensor, padding: int, offsets: torch.Tensor | None, flips: torch.Tensor | None
) -> torch.Tensor:
    """Random crops and flips of a uint8 batch as one gather.

    Image ``i`` of the result is ``pad(images[i])[:, y:y+H, x:x+W]`` with ``(y, x) = offsets[i]``,
    mirrored left-right where ``flips[i]``: the row and column indices of every output pixel are
    computed first, then all pixels are read at once.
    """
    batch, channels, height, width = images.shape
    device = images.device
    if padding:
        images = F.pad(images, (padding, padding, padding, padding))
    rows = torch.arange(height, device=device).expand(batch, height)
    columns = torch.arange(width, device=device).expand(batch, width)
    if flips is not None:
        columns = torch.where(flips[:, None], columns.flip(1), columns)
    if offsets is not None:
        rows = rows + offsets[:, :1]
        columns = columns + offsets[:, 1:]
    return images[
        torch.arange(batch, device=device)[:, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]


def _rank_and_world_size(rank: int | None, world_size: int | None) -> tuple[int, int]:
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if world_size is None:
        world_size = torch.distributed.get_world_size() if distributed else 1
    if rank is None:
        rank = torch.distributed.get_rank() if distributed else 0
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"rank must be in 0..world_size-1 and world_size >= 1, got rank={rank}, world_size={world_size}"
        )
    return rank, world_size


# ---------------------------------------------------------------------------------------------------
# One entry point


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
        return (
            f"DataBundle({self.kind}: {sizes} images, {len(self.classes)} classes, "
            f"{self.image_size}x{self.image_size})"
        )


def _loader_size(loader: Any) -> int:
    if isinstance(loader, DeviceLoader):
        return loader.dataset_size
    return len(loader.dataset)


_NAMES = ("cifar10", "flowers", "sample")


@contextlib.contextmanager
def _main_process_first() -> Iterator[None]:
    # Under torchrun, one process downloads and unpacks while the others wait, then they read the files.
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed and torch.distributed.get_rank() != 0:
        torch.distributed.barrier()
    yield
    if distributed and torch.distributed.get_rank() == 0:
        torch.distributed.barrier()


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
        _check_batch_size(batch_size)
    device = torch.device(device) if device is not None else default_device()
    on_gpu = device.type == "cuda"

    if kind in ("cifar10", "sample"):
        with _main_process_first():
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
    with _main_process_first():
        if kind == "flowers":
            train_set, val_set = flowers(root=root, download=download, seed=seed, image_size=image_size)
        else:
            folder = Path(name).expanduser()
            train_set, val_set = image_folder(folder, seed=seed, image_size=image_size)
            if (folder / "train").is_dir() and (folder / "test").is_dir():
                test_samples = _list_files(folder / "test", train_set.classes)
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
