"""Build the CIFAR-10 samples the course ships: data/cifar10_sample/ and data/cifar10_calibration/.

    python scripts/build_cifar10_sample.py ARCHIVE [--per-class 100] [--seed 0] [--out DIR]
    python scripts/build_cifar10_sample.py ARCHIVE --split train --per-class 50 --out data/cifar10_calibration

ARCHIVE is CIFAR-10 as JPEG files, a .tar.gz laid out cifar10-jpeg/{train,test}/<class>/NNNN.jpg.
The sample takes --per-class images of every class from the TEST split by default (the shipped
checkpoints never train on them; the notebooks measure accuracy on them); the calibration sample that
int8 quantization calibrates on comes from the TRAIN split, never from the test images. Each class's
file names are sorted, shuffled by random.Random(seed), and the first --per-class kept, so the same archive and seed always give the same files. They are copied byte for byte
to DIR/<class>/<original name>.jpg, with DIR/MANIFEST.tsv listing path, class and sha256 of each.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))  # the script also runs from a checkout without an installed package

# The archive reader the package's cifar10() uses, so both read the same files the same way.
from lightnets_course.datasets import CIFAR10_CLASSES, jpeg_split_files  # noqa: E402


def read_split(archive: Path, split: str) -> dict[str, dict[str, bytes]]:
    """``{class: {file name: JPEG bytes}}`` of one split of the archive."""
    files: dict[str, dict[str, bytes]] = {}
    for (name, file_name), data in jpeg_split_files(archive, split).items():
        files.setdefault(name, {})[file_name] = data
    return files


def choose(names_by_class: dict[str, list[str]], per_class: int, seed: int) -> dict[str, list[str]]:
    """``per_class`` names of every class: sorted, shuffled by one seeded generator, the first kept."""
    rng = random.Random(seed)
    chosen = {}
    for name in CIFAR10_CLASSES:
        names = sorted(names_by_class[name])
        rng.shuffle(names)
        chosen[name] = sorted(names[:per_class])
    return chosen


def write_sample(files: dict[str, dict[str, bytes]], chosen: dict[str, list[str]], out: Path) -> int:
    """Write the chosen files and MANIFEST.tsv into ``out`` (replacing an earlier sample); returns bytes."""
    if out.exists():
        if not (out / "MANIFEST.tsv").is_file():
            raise SystemExit(f"{out} exists and is not a sample built by this script; not overwriting it")
        shutil.rmtree(out)
    rows = ["path\tclass\tsha256"]
    size = 0
    for name in CIFAR10_CLASSES:
        (out / name).mkdir(parents=True)
        for file_name in chosen[name]:
            data = files[name][file_name]
            (out / name / file_name).write_bytes(data)
            rows.append(f"{name}/{file_name}\t{name}\t{hashlib.sha256(data).hexdigest()}")
            size += len(data)
    (out / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="cifar10-jpeg.tar.gz (CIFAR-10 as JPEG files)")
    parser.add_argument("--per-class", type=int, default=100, help="images per class (default 100)")
    parser.add_argument(
        "--split",
        choices=["test", "train"],
        default="test",
        help="which split to take images from (default test)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle that picks them (default 0)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_DIR / "data" / "cifar10_sample",
        help="output folder (default data/cifar10_sample)",
    )
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        raise SystemExit(f"No archive at {args.archive}")
    if args.per_class < 1:
        raise SystemExit(f"--per-class must be at least 1, got {args.per_class}")

    split = args.split
    files = read_split(args.archive, split)
    if sorted(files) != sorted(CIFAR10_CLASSES):
        raise SystemExit(
            f"{args.archive} has classes {sorted(files)} in its {split} split, expected {CIFAR10_CLASSES}"
        )
    too_small = [name for name in CIFAR10_CLASSES if len(files[name]) < args.per_class]
    if too_small:
        raise SystemExit(f"Fewer than {args.per_class} {split} images in: {', '.join(too_small)}")
    chosen = choose({name: list(files[name]) for name in CIFAR10_CLASSES}, args.per_class, args.seed)
    size = write_sample(files, chosen, args.out)
    count = args.per_class * len(CIFAR10_CLASSES)
    print(f"Wrote {count} images ({size / 1e6:.2f} MB) and MANIFEST.tsv to {args.out}")


if __name__ == "__main__":
    main()
