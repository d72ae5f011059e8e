"""Tests of lightnets_course.data: the shipped sample, splits, the device loader, image files,
CIFAR-10 and flower sources, downloads (against a local HTTP server) and get_data."""

from __future__ import annotations

import hashlib
import io
import os
import random
import tarfile
import time
from pathlib import Path

import pytest
import torch
from _http_server import FileServer, closed_port_url
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms

import lightnets_course
from lightnets_course import data, datasets, images, paths
from lightnets_course.data import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    ChecksumError,
    DeviceLoader,
    DownloadError,
    ImageFileDataset,
    TensorImages,
    cifar10_sample,
)

SAMPLE_DIR = Path(lightnets_course.__file__).resolve().parents[1] / "data" / "cifar10_sample"


# ---------------------------------------------------------------------------------------------------
# Small builders


def numbered_images(n: int, size: int = 8, seed: int = 0) -> TensorImages:
    """Random images whose label is their index, so a batch tells which original each image came from."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)
    return TensorImages(images, torch.arange(n), [str(i) for i in range(n)])


def write_jpeg(path: Path, color: tuple[int, int, int], size: int = 32) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path, quality=95)


def class_color(label: int) -> tuple[int, int, int]:
    return (20 * label, 250 - 20 * label, 128)


def make_cifar10_jpeg_tree(base: Path, per_class: dict[str, int]) -> None:
    """``base/cifar10-jpeg/<split>/<class>/NNNN.jpg``, each class one solid colour."""
    for split, count in per_class.items():
        for label, name in enumerate(CIFAR10_CLASSES):
            for i in range(count):
                write_jpeg(base / "cifar10-jpeg" / split / name / f"{i:04d}.jpg", class_color(label))


def make_class_tree(base: Path, counts: dict[str, int], reverse: bool = False) -> None:
    """``base/<class>/img_NN.jpg``; ``reverse`` creates the files in the opposite order."""
    files = [(name, i) for name, count in counts.items() for i in range(count)]
    for name, i in reversed(files) if reverse else files:
        write_jpeg(base / name / f"img_{i:02d}.jpg", (i * 10 % 256, 0, 0), size=8)


def tgz_of(folder: Path, arcname: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return buffer.getvalue()


def relative(samples: list[tuple[Path, int]], base: Path) -> list[tuple[str, int]]:
    return [(path.relative_to(base).as_posix(), label) for path, label in samples]


# ---------------------------------------------------------------------------------------------------
# The shipped sample


def test_sample_is_real_class_balanced_cifar10_and_loads_fast():
    start = time.perf_counter()
    sample = data.cifar10_sample()
    elapsed = time.perf_counter() - start

    assert elapsed < 2.0  # about 0.2 s; the budget leaves room for a busy machine
    assert sample.images.shape == (1000, 3, 32, 32) and sample.images.dtype == torch.uint8
    assert sample.classes == CIFAR10_CLASSES
    assert torch.bincount(sample.labels, minlength=10).tolist() == [100] * 10
    # Real CIFAR-10 pixels, decoded in RGB order: the channel means are CIFAR-10's.
    mean = sample.images.float().div(255).mean(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.tensor(CIFAR10_MEAN), atol=0.02)


def test_sample_files_match_their_manifest():
    lines = (SAMPLE_DIR / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "path\tclass\tsha256"
    rows = [line.split("\t") for line in lines[1:]]
    on_disk = sorted(path.relative_to(SAMPLE_DIR).as_posix() for path in SAMPLE_DIR.glob("*/*"))
    assert sorted(path for path, _, _ in rows) == on_disk
    for path, name, sha256 in rows:
        assert path.split("/")[0] == name
        assert hashlib.sha256((SAMPLE_DIR / path).read_bytes()).hexdigest() == sha256


# ---------------------------------------------------------------------------------------------------
# TensorImages


def test_split_is_stratified_disjoint_and_reproducible():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    dataset = TensorImages(torch.zeros(100, 3, 2, 2, dtype=torch.uint8), labels, ["a", "b", "c"])
    dataset.images[:, 0, 0, 0] = torch.arange(100, dtype=torch.uint8)  # pixel = original index

    train, val = dataset.split(0.1, seed=0)
    assert torch.bincount(val.labels).tolist() == [5, 3, 2]
    assert torch.bincount(train.labels).tolist() == [45, 27, 18]
    train_ids = set(train.images[:, 0, 0, 0].tolist())
    val_ids = set(val.images[:, 0, 0, 0].tolist())
    assert not train_ids & val_ids and train_ids | val_ids == set(range(100))

    train_again, val_again = dataset.split(0.1, seed=0)
    assert torch.equal(val_again.images, val.images) and torch.equal(train_again.labels, train.labels)
    _, val_other_seed = dataset.split(0.1, seed=1)
    assert not torch.equal(val_other_seed.images, val.images)


def test_split_and_tensor_images_reject_bad_input_clearly():
    dataset = numbered_images(10)
    with pytest.raises(ValueError, match=r"val_fraction must be between 0 and 1 \(exclusive\), got 1.5"):
        dataset.split(1.5)
    with pytest.raises(TypeError, match="images must be a uint8 tensor, got a torch.float32 tensor"):
        TensorImages(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), ["a"])
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        TensorImages(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 5]), ["a", "b"])


# ---------------------------------------------------------------------------------------------------
# DeviceLoader


def test_device_loader_shapes_dtypes_and_batch_counts():
    dataset = numbered_images(100)
    train = DeviceLoader(dataset, 32, train=True, device="cpu")
    evaluation = DeviceLoader(dataset, 32, device="cpu")

    assert len(train) == 3 and len(evaluation) == 4  # training drops the last 4 images, evaluation keeps them
    batches = list(train)
    assert len(batches) == 3
    images, labels = batches[0]
    assert images.shape == (32, 3, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (32,) and labels.dtype == torch.int64
    assert [len(labels) for _, labels in evaluation] == [32, 32, 32, 4]
    # Evaluation keeps the dataset's order and does not augment.
    assert torch.equal(torch.cat([labels for _, labels in evaluation]), torch.arange(100))
    assert train.classes == dataset.classes and train.dataset_size == 100
    assert train.mean == CIFAR10_MEAN and train.std == CIFAR10_STD and train.device == torch.device("cpu")


def test_device_loader_normalises_a_known_pixel():
    images = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    images[0, :, 1, 2] = torch.tensor([255, 0, 128], dtype=torch.uint8)
    loader = DeviceLoader(TensorImages(images, torch.tensor([0, 1]), ["a", "b"]), 2, device="cpu")
    batch, _ = next(iter(loader))
    mean, std = torch.tensor(CIFAR10_MEAN), torch.tensor(CIFAR10_STD)
    expected = (torch.tensor([255.0, 0.0, 128.0]) / 255 - mean) / std
    assert torch.allclose(batch[0, :, 1, 2], expected, atol=1e-6)
    assert torch.allclose(batch[1, :, 0, 0], -mean / std, atol=1e-6)


def test_device_loader_crops_are_translations_of_the_padded_image():
    dataset = numbered_images(64)
    loader = DeviceLoader(
        dataset, 64, train=True, device="cpu", mean=(0, 0, 0), std=(1, 1, 1), crop_padding=2
    )
    padded = torch.nn.functional.pad(dataset.images, (2, 2, 2, 2))
    offsets_seen = set()
    flips_seen = set()
    images, labels = next(iter(loader))
    for image, label in zip(images, labels):
        pixels = (image * 255).round().to(torch.uint8)
        source = padded[label]
        matches = [
            (y, x, flipped)
            for y in range(5)
            for x in range(5)
            for flipped in (False, True)
            if torch.equal(
                pixels,
                source[:, y : y + 8, x : x + 8].flip(-1) if flipped else source[:, y : y + 8, x : x + 8],
            )
        ]
        assert len(matches) == 1, f"image {label} is not one crop of its padded original"
        offsets_seen.add(matches[0][:2])
        flips_seen.add(matches[0][2])
    assert len(offsets_seen) > 10 and flips_seen == {False, True}


def test_device_loader_flips_about_half_the_images():
    dataset = numbered_images(1000, size=4)
    loader = DeviceLoader(
        dataset, 1000, train=True, device="cpu", mean=(0, 0, 0), std=(1, 1, 1), crop_padding=0
    )
    images, labels = next(iter(loader))
    pixels = (images * 255).round().to(torch.uint8)
    originals = dataset.images[labels]
    flipped = (pixels == originals.flip(-1)).flatten(1).all(dim=1)
    unchanged = (pixels == originals).flatten(1).all(dim=1)
    assert bool((flipped | unchanged).all())
    assert 0.4 < flipped.float().mean().item() < 0.6


def test_device_loader_same_epoch_same_batches_other_epoch_other_batches():
    loader = DeviceLoader(numbered_images(50), 16, train=True, device="cpu")

    def run() -> list[tuple[torch.Tensor, torch.Tensor]]:
        return list(loader)

    loader.set_epoch(3)
    first, second = run(), run()
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second))
    loader.set_epoch(4)
    other = run()
    assert not torch.equal(first[0][1], other[0][1])
    # A fresh loader resumed at epoch 3 gives exactly epoch 3's batches.
    resumed = DeviceLoader(numbered_images(50), 16, train=True, device="cpu")
    resumed.set_epoch(3)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, resumed))


def test_device_loader_shards_are_disjoint_and_equal_sized():
    dataset = numbered_images(100)
    shards = [
        torch.cat(
            [labels for _, labels in DeviceLoader(dataset, 8, train=True, device="cpu", rank=r, world_size=3)]
        )
        for r in range(3)
    ]
    assert [len(shard) for shard in shards] == [32, 32, 32]  # 33 per rank, whole batches of 8
    everything = torch.cat(shards).tolist()
    assert len(set(everything)) == len(everything)
    # Evaluation shards hold every image exactly once, so metrics summed over ranks are exact.
    evaluation = [
        torch.cat([labels for _, labels in DeviceLoader(dataset, 8, device="cpu", rank=r, world_size=3)])
        for r in range(3)
    ]
    assert sorted(torch.cat(evaluation).tolist()) == list(range(100))
    with pytest.raises(ValueError, match="rank must be in 0..world_size-1"):
        DeviceLoader(dataset, 8, device="cpu", rank=3, world_size=3)


def test_device_loader_keeps_a_partial_batch_when_the_data_do_not_fill_one():
    loader = DeviceLoader(numbered_images(10), 64, train=True, device="cpu")
    assert len(loader) == 1 and len(next(iter(loader))[1]) == 10


def test_device_loader_resizes_on_request_and_rejects_bad_input():
    loader = DeviceLoader(numbered_images(4), 4, device="cpu", image_size=16)
    images, _ = next(iter(loader))
    assert images.shape == (4, 3, 16, 16)
    with pytest.raises(TypeError, match="data must be a TensorImages"):
        DeviceLoader([1, 2, 3], 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be a positive whole number, got 0"):
        DeviceLoader(numbered_images(4), 0)


# ---------------------------------------------------------------------------------------------------
# Image files


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Two classes of PNGs in the modes a learner's photos come in, plus two files that are not images."""
    folder = tmp_path / "mine"
    (folder / "cats").mkdir(parents=True)
    (folder / "dogs").mkdir()
    Image.new("L", (6, 6), 100).save(folder / "cats" / "gray.png")
    rgba = Image.new("RGBA", (6, 6), (10, 20, 30, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent corner
    rgba.save(folder / "cats" / "rgba.png")
    palette = Image.new("P", (6, 6), 1)
    palette.putpalette([0, 0, 0, 200, 50, 25] + [0] * 762)
    palette.save(folder / "dogs" / "palette.png")
    write_jpeg(folder / "dogs" / "photo.jpg", (0, 90, 0), size=6)
    (folder / "dogs" / "notes.txt").write_text("not an image")
    (folder / "cats" / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a JPEG")
    (folder / ".ipynb_checkpoints").mkdir()  # hidden: never a class
    return folder


def test_load_image_gives_rgb_for_grayscale_rgba_and_palette(mixed_folder: Path):
    gray = data.load_image(mixed_folder / "cats" / "gray.png")
    rgba = data.load_image(mixed_folder / "cats" / "rgba.png")
    palette = data.load_image(mixed_folder / "dogs" / "palette.png")
    assert gray.mode == rgba.mode == palette.mode == "RGB"
    assert gray.getpixel((3, 3)) == (100, 100, 100)
    assert rgba.getpixel((3, 3)) == (10, 20, 30) and rgba.getpixel((0, 0)) == (255, 255, 255)
    assert palette.getpixel((3, 3)) == (200, 50, 25)
    with pytest.raises(ValueError, match="notes.txt is not an image Pillow can read"):
        data.load_image(mixed_folder / "dogs" / "notes.txt")
    with pytest.raises(FileNotFoundError, match="No image file at"):
        data.load_image(mixed_folder / "missing.png")


def test_image_folder_skips_non_images_and_names_them(mixed_folder: Path):
    with pytest.warns(UserWarning, match="Skipped 2 file") as caught:
        train, val = data.image_folder(mixed_folder, val_fraction=0.5, image_size=32)
    message = str(caught[0].message)
    assert "cats/broken.jpg" in message and "dogs/notes.txt" in message
    assert train.classes == ["cats", "dogs"]
    names = sorted(path.name for path, _ in train.samples + val.samples)
    assert names == ["gray.png", "palette.png", "photo.jpg", "rgba.png"]
    for dataset in (train, val):
        for index in range(len(dataset)):
            image, label = dataset[index]
            assert image.shape == (3, 32, 32) and label in (0, 1)


def test_image_file_dataset_checks_its_samples(mixed_folder: Path):
    samples = [(mixed_folder / "cats" / "gray.png", 0), (mixed_folder / "dogs" / "notes.txt", 1)]
    with pytest.warns(UserWarning, match="notes.txt"):
        dataset = ImageFileDataset(samples, ["cats", "dogs"])
    assert len(dataset) == 1
    image, label = dataset[0]
    assert image.shape == (3, 6, 6) and image.dtype == torch.float32 and label == 0


def test_transforms_resize_crop_and_normalise():
    photo = Image.new("RGB", (400, 300), (255, 0, 0))
    assert data.eval_transform(224)(photo).shape == (3, 224, 224)
    assert data.train_transform(224)(photo).shape == (3, 224, 224)
    # CIFAR-sized evaluation is only ToTensor + Normalize.
    small = Image.fromarray(torch.randint(0, 256, (32, 32, 3), dtype=torch.uint8).numpy())
    expected = (
        transforms.functional.to_tensor(small) - torch.tensor(CIFAR10_MEAN)[:, None, None]
    ) / torch.tensor(CIFAR10_STD)[:, None, None]
    assert torch.allclose(data.eval_transform(32, CIFAR10_MEAN, CIFAR10_STD)(small), expected, atol=1e-6)
    assert data.train_transform(32)(small).shape == (3, 32, 32)


# ---------------------------------------------------------------------------------------------------
# Flower photos


FLOWER_COUNTS = {"daisy": 20, "dandelion": 20, "roses": 30, "sunflowers": 10, "tulips": 20}


def test_flowers_split_is_9_to_1_per_class_and_reproducible(tmp_path: Path):
    make_class_tree(tmp_path / "a" / "flower_photos", FLOWER_COUNTS)
    (tmp_path / "a" / "flower_photos" / "LICENSE.txt").write_text("photos under CC-BY")
    # The same files created in the opposite order: the split must not depend on the listing order.
    make_class_tree(tmp_path / "b" / "flower_photos", FLOWER_COUNTS, reverse=True)

    train, val = data.flowers(root=tmp_path / "a", download=False, image_size=32)
    assert train.classes == sorted(FLOWER_COUNTS)
    assert [val.targets.count(c) for c in range(5)] == [2, 2, 3, 1, 2]
    assert [train.targets.count(c) for c in range(5)] == [18, 18, 27, 9, 18]
    base_a, base_b = tmp_path / "a" / "flower_photos", tmp_path / "b" / "flower_photos"
    assert not set(relative(train.samples, base_a)) & set(relative(val.samples, base_a))

    _, val_again = data.flowers(root=tmp_path / "a", download=False, image_size=32)
    _, val_other_machine = data.flowers(root=tmp_path / "b", download=False, image_size=32)
    _, val_other_seed = data.flowers(root=tmp_path / "a", download=False, seed=1, image_size=32)
    assert relative(val_again.samples, base_a) == relative(val.samples, base_a)
    assert relative(val_other_machine.samples, base_b) == relative(val.samples, base_a)
    assert relative(val_other_seed.samples, base_a) != relative(val.samples, base_a)


def test_flowers_offline_without_files_says_what_to_place(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="place flower_photos.tgz .* LIGHTNETS_DATA"):
        data.flowers(root=tmp_path, download=False)


def test_flowers_downloads_verifies_and_extracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_class_tree(tmp_path / "source", {"daisy": 10, "roses": 10})
    archive = tgz_of(tmp_path / "source", "flower_photos")
    with FileServer({"/flower_photos.tgz": archive}) as server:
        monkeypatch.setattr(images, "FLOWERS_URL", server.url("/flower_photos.tgz"))
        monkeypatch.setattr(images, "FLOWERS_SHA256", hashlib.sha256(archive).hexdigest())
        train, val = data.flowers(root=tmp_path / "root", image_size=32)
    assert (len(train), len(val)) == (18, 2)
    assert (tmp_path / "root" / "downloads" / "flower_photos.tgz").read_bytes() == archive
    assert train[0][0].shape == (3, 32, 32)


def test_flowers_rejects_a_placed_archive_with_the_wrong_checksum(tmp_path: Path):
    (tmp_path / "flower_photos.tgz").write_bytes(b"half a download")
    with pytest.raises(ChecksumError, match="flower_photos.tgz has sha256 .* Delete it and run again"):
        data.flowers(root=tmp_path)


# ---------------------------------------------------------------------------------------------------
# CIFAR-10 sources


def test_cifar10_reads_a_jpeg_tree_and_caches_the_decoded_tensors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    make_cifar10_jpeg_tree(tmp_path, {"train": 3, "test": 2})
    test = data.cifar10("test", root=tmp_path, download=False)
    assert test.images.shape == (20, 3, 32, 32) and test.classes == CIFAR10_CLASSES
    assert test.labels.tolist() == [label for label in range(10) for _ in range(2)]
    for image, label in zip(test.images, test.labels):
        # JPEG is lossy: a solid colour comes back within a few levels.
        assert (image[:, 16, 16].int() - torch.tensor(class_color(int(label)))).abs().max() <= 4
    assert (tmp_path / "cifar10-jpeg-test.pt").is_file()

    def no_decoding(_: bytes) -> torch.Tensor:
        raise AssertionError("the second load must come from the cache")

    monkeypatch.setattr(datasets, "decode_rgb", no_decoding)
    cached = data.cifar10("test", root=tmp_path, download=False)
    assert torch.equal(cached.images, test.images) and torch.equal(cached.labels, test.labels)


def test_cifar10_reads_the_jpeg_archive(tmp_path: Path):
    make_cifar10_jpeg_tree(tmp_path / "tree", {"train": 2, "test": 1})
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "cifar10-jpeg.tar.gz").write_bytes(
        tgz_of(tmp_path / "tree" / "cifar10-jpeg", "cifar10-jpeg")
    )
    train = data.cifar10("train", root=tmp_path / "root", download=False)
    assert len(train) == 20 and torch.bincount(train.labels).tolist() == [2] * 10


def test_cifar10_missing_offline_and_corrupt_sources_give_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with pytest.raises(FileNotFoundError, match=r"place cifar-10-python.tar.gz .* LIGHTNETS_DATA"):
        data.cifar10(root=tmp_path, download=False)
    with pytest.raises(ValueError, match=r'split must be "train" or "test", got \'val\''):
        data.cifar10("val", root=tmp_path)

    url = closed_port_url("/cifar-10-python.tar.gz")
    monkeypatch.setattr(datasets, "CIFAR10_URL", url)
    with pytest.raises(DownloadError) as caught:
        data.cifar10(root=tmp_path)
    message = str(caught.value)
    assert url in message and "no connection" in message and "LIGHTNETS_DATA" in message
    assert f"file 'cifar-10-python.tar.gz' in folder {str(tmp_path)!r}" in message
    assert not (tmp_path / "downloads" / "cifar-10-python.tar.gz").exists()

    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(ChecksumError, match="is not the CIFAR-10 archive"):
        data.cifar10(root=tmp_path)


# ---------------------------------------------------------------------------------------------------
# download()


def archive_bytes(size: int = 300_000) -> bytes:
    payload = random.Random(0).randbytes(size)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("payload.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def test_download_streams_verifies_and_reuses(tmp_path: Path):
    archive = archive_bytes()
    sha256 = hashlib.sha256(archive).hexdigest()
    dest = tmp_path / "downloads" / "a.tgz"
    with FileServer({"/a.tgz": archive}) as server:
        assert data.download(server.url("/a.tgz"), dest, sha256=sha256, progress=False) == dest
        assert data.download(server.url("/a.tgz"), dest, sha256=sha256, progress=False) == dest
        assert len(server.requests) == 1  # the verified file is reused, not fetched again
    assert dest.read_bytes() == archive and not dest.with_name("a.tgz.part").exists()


def test_download_with_wrong_checksum_leaves_nothing_behind(tmp_path: Path):
    dest = tmp_path / "a.tgz"
    with FileServer({"/a.tgz": archive_bytes()}) as server:
        with pytest.raises(ChecksumError, match=r"has sha256 [0-9a-f]{64}, expected 0{64}; it was deleted"):
            data.download(server.url("/a.tgz"), dest, sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_resumes_with_a_range_request(tmp_path: Path):
    archive = archive_bytes()
    dest = tmp_path / "a.tgz"
    part = tmp_path / "a.tgz.part"
    with FileServer({"/a.tgz": archive}) as server:
        server.truncate_next.add("/a.tgz")
        with pytest.raises(
            DownloadError, match=r"(?s)connection closed after .* running this again resumes it"
        ):
            data.download(
                server.url("/a.tgz"), dest, sha256=hashlib.sha256(archive).hexdigest(), progress=False
            )
        assert not dest.exists() and part.stat().st_size == len(archive) // 2

        data.download(server.url("/a.tgz"), dest, sha256=hashlib.sha256(archive).hexdigest(), progress=False)
        assert server.requests[-1] == ("/a.tgz", f"bytes={len(archive) // 2}-")
    assert dest.read_bytes() == archive and not part.exists()


def test_download_starts_over_when_the_server_ignores_range_or_the_part_is_too_long(tmp_path: Path):
    archive = archive_bytes()
    sha256 = hashlib.sha256(archive).hexdigest()
    with FileServer({"/a.tgz": archive, "/b.tgz": archive}) as server:
        server.ignore_range.add("/a.tgz")
        (tmp_path / "a.tgz.part").write_bytes(b"stale bytes from another file")
        data.download(server.url("/a.tgz"), tmp_path / "a.tgz", sha256=sha256, progress=False)

        (tmp_path / "b.tgz.part").write_bytes(archive + b"extra")  # longer than the file: 416
        data.download(server.url("/b.tgz"), tmp_path / "b.tgz", sha256=sha256, progress=False)
    assert (tmp_path / "a.tgz").read_bytes() == archive == (tmp_path / "b.tgz").read_bytes()


def test_download_offline_or_missing_file_says_what_to_do(tmp_path: Path):
    url = closed_port_url("/a.tgz")
    dest = tmp_path / "downloads" / "a.tgz"
    with pytest.raises(DownloadError) as caught:
        data.download(url, dest, progress=False)
    message = str(caught.value)
    assert message.startswith(f"Could not download {url}: no connection")
    assert str(dest) in message and "LIGHTNETS_DATA" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no urllib traceback

    with FileServer({}) as server:
        with pytest.raises(DownloadError, match="the server answered HTTP 404"):
            data.download(server.url("/missing.tgz"), dest, progress=False)


# ---------------------------------------------------------------------------------------------------
# data_root and get_data


def test_data_root_prefers_argument_then_environment_then_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LIGHTNETS_DATA", str(tmp_path / "env"))
    assert data.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data.data_root() == tmp_path / "env"
    monkeypatch.delenv("LIGHTNETS_DATA")
    assert data.data_root() == SAMPLE_DIR.parent
    monkeypatch.chdir(tmp_path)  # the current directory never matters
    assert data.data_root() == SAMPLE_DIR.parent
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "site-packages")  # installed, not a checkout
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.data_root() == tmp_path / "home" / ".cache" / "lightnets"


def test_get_data_sample_gives_device_loaders():
    bundle = data.get_data("sample", device="cpu")
    assert bundle.kind == "sample" and bundle.test is None and bundle.image_size == 32
    assert isinstance(bundle.train, DeviceLoader) and bundle.train.train and not bundle.val.train
    assert (bundle.train.dataset_size, bundle.val.dataset_size) == (800, 200)
    assert bundle.classes == CIFAR10_CLASSES and bundle.mean == CIFAR10_MEAN
    images, labels = next(iter(bundle.train))
    assert images.shape == (64, 3, 32, 32) and labels.dtype == torch.int64


def test_get_data_folder_gives_file_loaders(tmp_path: Path):
    make_class_tree(tmp_path / "train", {"a": 5, "b": 5})
    make_class_tree(tmp_path / "val", {"a": 2, "b": 2})
    make_class_tree(tmp_path / "test", {"a": 1, "b": 1})
    bundle = data.get_data(str(tmp_path), device="cpu", batch_size=4, image_size=32)
    assert bundle.kind == "folder" and bundle.classes == ["a", "b"]
    assert isinstance(bundle.train, DataLoader)
    assert [len(loader.dataset) for loader in (bundle.train, bundle.val, bundle.test)] == [10, 4, 2]
    images, labels = next(iter(bundle.val))
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == [0, 0, 1, 1]


def test_get_data_cifar10_carves_validation_from_the_training_split(tmp_path: Path):
    make_cifar10_jpeg_tree(tmp_path, {"train": 10, "test": 2})
    bundle = data.get_data("cifar10", root=tmp_path, device="cpu", batch_size=8, seed=0)
    assert bundle.kind == "cifar10" and bundle.classes == CIFAR10_CLASSES
    assert (bundle.train.dataset_size, bundle.val.dataset_size, bundle.test.dataset_size) == (90, 10, 20)
    assert bundle.train.train and not bundle.val.train and not bundle.test.train
    assert torch.cat([labels for _, labels in bundle.val]).tolist() == list(range(10))  # one per class


@pytest.mark.parametrize("name", ["imagenet", "no/such/folder", ""])
def test_get_data_unknown_name_lists_the_choices(name: str):
    expected = (
        f"Unknown dataset {name!r}: choose one of 'cifar10', 'flowers', 'sample', or give the path of an "
        "existing folder"
    )
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        data.get_data(name)


def test_get_data_rejects_a_file_path(tmp_path: Path):
    file = tmp_path / "images.zip"
    file.write_bytes(b"zip")
    with pytest.raises(ValueError, match="existing folder"):
        data.get_data(os.fspath(file))


def test_tensor_images_index_and_batch_like_torch_datasets():
    sample = cifar10_sample()
    image, label = sample[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8
    assert isinstance(label, int) and sample.classes[label] == CIFAR10_CLASSES[label]
    assert torch.equal(image, sample.images[0]) and label == int(sample.labels[0])
    images, labels = next(iter(DataLoader(sample, batch_size=4)))
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == sample.labels[:4].tolist()
