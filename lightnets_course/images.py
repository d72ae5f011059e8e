"""Photos on disk: reading any image file, folders of photos by class, TensorFlow's flower photos,
their transforms, and the ``DataLoader`` that reads them.

>>> train, val = image_folder("my_photos")      # my_photos/<class>/*.jpg, split 9:1 reproducibly
>>> loader = file_loader(train, batch_size=32, train=True)
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from .checks import check_batch_size, check_image_size
from .datasets import stratified_split
from .distributed import sampler_for
from .download import ChecksumError, download, extract_tar, file_sha256
from .paths import PathLike, data_root, search_folders

__all__ = [
    "FLOWERS_SHA256",
    "FLOWERS_URL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageFileDataset",
    "eval_transform",
    "file_loader",
    "flowers",
    "image_folder",
    "is_image",
    "list_files",
    "load_image",
    "train_transform",
]

# The statistics every torchvision ImageNet model was trained with: use them when fine-tuning one.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The same file is served as http://download.tensorflow.org/example_images/flower_photos.tgz; its sha256
# (228,813,984 bytes) is the one tensorflow_datasets records for tf_flowers (url_checksums/tf_flowers.txt).
FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
FLOWERS_SHA256 = "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c"
FLOWERS_ARCHIVE = "flower_photos.tgz"
FLOWERS_FOLDER = "flower_photos"
_VAL_FOLDER_NAMES = ("val", "valid", "validation")


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


def is_image(path: Path) -> bool:
    """Whether Pillow can read ``path`` as an image (the file's content decides, not its name)."""
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def _keep_images(paths: list[Path], where: Path | None = None) -> list[Path]:
    """The paths that are images. The others are named in one warning, now rather than mid-epoch."""
    readable = [is_image(path) for path in paths]
    skipped = [path for path, ok in zip(paths, readable) if not ok]
    if skipped:
        shown = [str(path.relative_to(where) if where else path) for path in skipped[:20]]
        more = f" and {len(skipped) - 20} more" if len(skipped) > 20 else ""
        place = f" in {where}" if where else ""
        warnings.warn(
            f"Skipped {len(skipped)} file(s){place} that are not images: {', '.join(shown)}{more}",
            stacklevel=2,
        )
    return [path for path, ok in zip(paths, readable) if ok]


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
    check_image_size(image_size)
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
    check_image_size(image_size)
    if _is_small(image_size):
        resize = [transforms.Resize((image_size, image_size))]
    else:
        resize = [
            transforms.Resize(int(round(image_size * 8 / 7)), antialias=True),
            transforms.CenterCrop(image_size),
        ]
    return transforms.Compose([*resize, transforms.ToTensor(), transforms.Normalize(mean, std)])


def _visible(folder: Path) -> list[Path]:
    # Hidden entries are system or editor files (.DS_Store, .ipynb_checkpoints), never data.
    return sorted(
        (entry for entry in folder.iterdir() if not entry.name.startswith(".")), key=lambda p: p.name
    )


def _class_folders(folder: Path) -> list[str]:
    return [entry.name for entry in _visible(folder) if entry.is_dir()]


def list_files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
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
    samples = list_files(folder, classes)
    found = {label for _, label in samples}
    empty = [name for label, name in enumerate(classes) if label not in found]
    if empty:
        raise ValueError(f"These class folders of {folder} hold no images: {', '.join(empty)}")
    return samples, classes


def _split_samples(
    samples: list[tuple[Path, int]], val_fraction: float, seed: int
) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    train, val = stratified_split([label for _, label in samples], val_fraction, seed)
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
        train_samples, val_samples = samples, list_files(val_folder, classes)
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
    folders = search_folders(root)
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
    extract_tar(archive, unpacking)
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
    check_batch_size(batch_size)
    if workers is None:
        workers = _default_workers()
    drop_last = train and len(dataset) > batch_size  # type: ignore[arg-type]
    sampler = sampler_for(dataset, shuffle=train, drop_last=drop_last)
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
