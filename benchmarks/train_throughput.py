"""Training throughput: the course's ``fit`` against the seeds' loop, or against the best plain loop.

``--against seeds`` (the default):

Both train the same model (``get_model(MODEL, num_classes=10, cifar=True)``, the same initial
weights) on the same JPEG files for the same number of steps, timed after a warm-up:

- the seeds' loop: torchvision's ``ImageFolder`` (PIL opens and decodes every image, one at a time)
  with ``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``, ``ToTensor`` and ``Normalize``, a
  ``DataLoader`` with 2 worker processes, batches of 128, float32, and a plain loop of
  ``zero_grad``, forward, ``backward``, ``step`` (SGD with momentum);
- the course's path: the images decoded once into a uint8 tensor on the device, cropped and flipped
  there a batch at a time (``DeviceLoader``), trained by ``fit`` with ``CIFAR10_RECIPE``: on CUDA
  bfloat16 autocast, the channels-last layout and the recipe's batch of 512.

``--against plain`` asks whether ``fit`` costs anything over a hand-written loop on the same data: the
images decoded once into ``DeviceLoader`` batches of 128 for both; a plain loop (``zero_grad``, forward,
``backward``, ``step`` of Nesterov SGD) in each layout and precision the device offers (contiguous or
channels-last, float32 or bfloat16 autocast), against ``fit`` with the setup it chooses itself
(``device.fastest_setup``, the function ``fit`` calls for a long run) and its BatchNorm recomputation
scaled to the epoch (20 batches per 351 steps, as on CIFAR-10). The ratio is ``fit``'s images/s over
the fastest plain loop's.

Prints one Markdown table (machine, command, date and load average first) with the throughputs and
their ratio. By default the images are the shipped sample's (``data/cifar10_sample``, repeated as
needed); ``--images`` takes a CIFAR-10 JPEG tree (``<class>/*.jpg``, or ``train/<class>/*.jpg``).
Examples::

    python benchmarks/train_throughput.py --model mobilenet_v2 shufflenet_v2_x1_0 --device cuda
    python benchmarks/train_throughput.py --model mobilenet_v2 --device cpu --threads 1 --rounds 3
    python benchmarks/train_throughput.py --model shufflenet_v2_x0_5 --fast    # a smoke test, seconds
    python benchmarks/train_throughput.py --against plain --model mobilenet_v1 --device cpu --rounds 3

How the steps are counted: unless ``--steps`` is given, a short trial of both paths estimates their
time per step, and the number of timed steps is chosen so that both together take about
``--seconds``. Each path's warm-up steps are not timed; the clock stops after a CUDA synchronisation.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler
from torchvision import datasets, transforms

from lightnets_course.benchmark import machine_info, report_header, save_results, to_markdown
from lightnets_course.complexity import Table
from lightnets_course.data import CIFAR10_MEAN, CIFAR10_STD, DeviceLoader, TensorImages
from lightnets_course.device import Setup, fastest_setup, pick_device
from lightnets_course.models import get_model, list_models
from lightnets_course.recipe import CIFAR10_RECIPE, recipe_fit_options
from lightnets_course.train import fit

SAMPLE_FOLDER = Path(__file__).resolve().parents[1] / "data" / "cifar10_sample"
SEED_BATCH_SIZE = 128
SEED_WORKERS = 2
WARMUP_STEPS = 3
FAST_BATCH_SIZE = 32
# Distinct images the course's path decodes; it goes round them as often as its steps need.
DECODED_IMAGES = 10_000


def image_folder(path: Path) -> datasets.ImageFolder:
    """The seeds' dataset: ``path/<class>/*.jpg`` (or ``path/train/<class>/*.jpg``), read with PIL
    one image at a time, with the seeds' CIFAR-10 augmentation."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(
            f"--images {path}: no such folder; give a folder of <class>/*.jpg files, such as "
            "data/cifar10_sample or an unpacked cifar10-jpeg/train"
        )
    if (path / "train").is_dir():
        path = path / "train"
    augment = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD),
        ]
    )
    return datasets.ImageFolder(str(path), transform=augment)


def decode(dataset: datasets.ImageFolder, count: int) -> TensorImages:
    """The first ``count`` images of ``dataset`` (all, if it has fewer), decoded once into uint8."""
    samples = dataset.samples[:count]
    to_tensor = transforms.PILToTensor()
    images = torch.stack([to_tensor(dataset.loader(path)) for path, _ in samples])
    labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
    return TensorImages(images, labels, dataset.classes)


def repeated(images: TensorImages, count: int) -> TensorImages:
    """``count`` images, going round ``images`` as often as needed."""
    return images.subset(torch.arange(count) % len(images))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seeds_loop_seconds(
    model: nn.Module,
    dataset: datasets.ImageFolder,
    device: torch.device,
    batch_size: int,
    steps: int,
    warmup: int,
) -> float:
    """Seconds the seeds' loop takes for ``steps`` steps, after ``warmup`` untimed ones."""
    sampler = RandomSampler(dataset, num_samples=(warmup + steps) * batch_size)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=SEED_WORKERS)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    model.to(device).train()
    started = time.perf_counter()
    for step, (images, labels) in enumerate(loader):
        if step == warmup:
            synchronize(device)
            started = time.perf_counter()
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - started


def tuned_seconds(
    model: nn.Module, images: TensorImages, device: torch.device, batch_size: int, steps: int, warmup: int
) -> float:
    """Seconds ``fit`` with ``CIFAR10_RECIPE`` takes for one epoch of ``steps`` steps of data kept on
    the device, after an untimed epoch of ``warmup`` steps."""
    options = dict(recipe_fit_options(), epochs=1, device=device, progress=False)
    warm = DeviceLoader(repeated(images, warmup * batch_size), batch_size, train=True, device=device)
    fit(model, warm, None, **options)
    timed = DeviceLoader(repeated(images, steps * batch_size), batch_size, train=True, device=device)
    return fit(model, timed, None, **options).epoch_time[0]


def course_precision(device: torch.device) -> str:
    """What ``fit`` computes in on ``device`` with the recipe (``amp`` and ``channels_last`` act on
    CUDA only)."""
    if device.type != "cuda":
        return "float32"
    return ("bfloat16" if torch.cuda.is_bf16_supported() else "float16") + ", channels_last"


def fresh_model(name: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return get_model(name, num_classes=10, cifar=True)


def measure(
    name: str,
    dataset: datasets.ImageFolder,
    images: TensorImages,
    device: torch.device,
    batch_sizes: tuple[int, int],
    steps: int,
    warmup: int,
    seed: int,
) -> tuple[float, float]:
    """Seconds of the seeds' loop and of the course's path, each on a fresh copy of the model."""
    seeds_batch, tuned_batch = batch_sizes
    seeds = seeds_loop_seconds(fresh_model(name, seed), dataset, device, seeds_batch, steps, warmup)
    tuned = tuned_seconds(fresh_model(name, seed), images, device, tuned_batch, steps, warmup)
    return seeds, tuned


def throughput_rows(
    name: str,
    dataset: datasets.ImageFolder,
    images: TensorImages,
    device: torch.device,
    batch_sizes: tuple[int, int],
    steps: int | None,
    seconds: float,
    warmup: int,
    rounds: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Two table rows for ``name``: the seeds' loop, then the course's path; each the median of
    ``rounds`` alternating measurements."""
    if steps is None:
        trial = measure(name, dataset, images, device, batch_sizes, 3, warmup, seed)
        steps = max(3, round(seconds / (sum(trial) / 3)))
    measured = [
        measure(name, dataset, images, device, batch_sizes, steps, warmup, seed) for _ in range(rounds)
    ]
    described = [
        ("seeds' loop", "PIL per image, 2 workers", "float32", batch_sizes[0]),
        (
            "course: fit",
            f"uint8 on {device.type}, batched crop+flip",
            course_precision(device),
            batch_sizes[1],
        ),
    ]
    rows = []
    for (loop, pipeline, precision, batch_size), times in zip(described, zip(*measured)):
        rates = sorted(steps * batch_size / t for t in times)
        rows.append(
            {
                "model": name,
                "loop": loop,
                "data": pipeline,
                "precision": precision,
                "batch": batch_size,
                "steps": steps,
                "seconds": round(statistics.median(times), 3),
                "images/s": round(statistics.median(rates), 1),
                "range": f"{rates[0]:.0f}-{rates[-1]:.0f}",
            }
        )
    ratio = rows[1]["images/s"] / rows[0]["images/s"]
    rows[0]["vs seeds"], rows[1]["vs seeds"] = 1.0, round(ratio, 2)
    return rows


# ---------------------------------------------------------------------------------------------------
# fit against the best plain loop

# fit recomputes BatchNorm statistics on 20 training batches per epoch; a CIFAR-10 epoch at batch 128
# has 351 steps. A shorter timed epoch gets the same share.
CIFAR10_STEPS_PER_EPOCH = 351
PRECISE_BN_BATCHES = 20


def plain_candidates(device: torch.device) -> list[Setup]:
    dtypes = [None, torch.bfloat16] if device.type == "cpu" or torch.cuda.is_bf16_supported() else [None]
    return [Setup(layout, dtype) for layout in (False, True) for dtype in dtypes]


def plain_loop_seconds(model: nn.Module, loader: DeviceLoader, setup: Setup, warmup: int) -> float:
    """Seconds a hand-written loop in ``setup`` takes for the steps of ``loader`` after ``warmup``."""
    device = loader.device
    model.to(device).train()
    if setup.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-5)
    criterion = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for step, (images, labels) in enumerate(loader):
        if step == warmup:
            synchronize(device)
            started = time.perf_counter()
        if setup.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with setup.autocast(device):
            loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - started


def fit_seconds(model: nn.Module, loader: DeviceLoader, setup: Setup, warm: DeviceLoader) -> float:
    """Seconds of one ``fit`` epoch over ``loader`` in ``setup``, after an untimed epoch over ``warm``."""
    precise_bn = max(1, round(PRECISE_BN_BATCHES * len(loader) / CIFAR10_STEPS_PER_EPOCH))
    options = {
        "weight_decay": 5e-5,
        "label_smoothing": 0.0,
        "channels_last": setup.channels_last,
        "amp": setup.autocast_dtype is not None,
        "precise_bn": precise_bn,
        "progress": False,
    }
    fit(model, warm, None, 1, **options)
    return fit(model, loader, None, 1, **options).epoch_time[0]


def against_plain_rows(
    name: str, images: TensorImages, device: torch.device, batch_size: int, steps: int, rounds: int, seed: int
) -> list[dict[str, Any]]:
    """One row per plain setup and one for ``fit``, medians of ``rounds`` interleaved rounds."""
    timed = DeviceLoader(
        repeated(images, (steps + WARMUP_STEPS) * batch_size), batch_size, train=True, device=device
    )
    fit_loader = DeviceLoader(repeated(images, steps * batch_size), batch_size, train=True, device=device)
    warm = DeviceLoader(repeated(images, WARMUP_STEPS * batch_size), batch_size, train=True, device=device)
    first_images, first_labels = next(iter(fit_loader))
    chosen = fastest_setup(fresh_model(name, seed), first_images, first_labels)  # what fit would choose
    candidates = plain_candidates(device)
    times: list[list[float]] = [[] for _ in range(len(candidates) + 1)]
    for _ in range(rounds):
        for i, setup in enumerate(candidates):
            times[i].append(plain_loop_seconds(fresh_model(name, seed), timed, setup, WARMUP_STEPS))
        times[-1].append(fit_seconds(fresh_model(name, seed), fit_loader, chosen, warm))
    rows = []
    labels = [f"plain loop, {setup.name}" for setup in candidates] + [f"fit, {chosen.name} (its choice)"]
    for label, seconds in zip(labels, times):
        rates = sorted(steps * batch_size / t for t in seconds)
        rows.append(
            {
                "model": name,
                "loop": label,
                "batch": batch_size,
                "steps": steps,
                "images/s": round(statistics.median(rates), 1),
                "range": f"{rates[0]:.0f}-{rates[-1]:.0f}",
            }
        )
    best_plain = max(row["images/s"] for row in rows[:-1])
    for row in rows:
        row["vs best plain"] = round(row["images/s"] / best_plain, 3)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        nargs="+",
        default=["mobilenet_v2"],
        choices=list_models(),
        metavar="MODEL",
        help="one or more course models",
    )
    parser.add_argument(
        "--against",
        choices=["seeds", "plain"],
        default="seeds",
        help="compare fit with the seeds' loop or plain loops",
    )
    parser.add_argument("--device", help="cuda, cpu or mps (default: the best available; cpu with --fast)")
    parser.add_argument("--images", type=Path, default=SAMPLE_FOLDER, help="folder of <class>/*.jpg files")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per model, both paths")
    parser.add_argument("--steps", type=int, help="timed steps per path (default: what fits --seconds)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate measurements; the median is shown")
    parser.add_argument(
        "--batch-size", type=int, help="the course's batch (default: the recipe's on CUDA, 128 elsewhere)"
    )
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also save the table as JSON")
    parser.add_argument("--fast", action="store_true", help="batches of 32, 2 timed steps: a smoke test")
    args = parser.parse_args(argv)
    for option in ("steps", "rounds", "batch_size", "threads"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1, got {value}")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device or ("cpu" if args.fast else None))
    dataset = image_folder(args.images)
    if args.fast:
        batch_sizes, steps, warmup = (FAST_BATCH_SIZE, FAST_BATCH_SIZE), 2, 1
    else:
        tuned_batch = args.batch_size or (
            CIFAR10_RECIPE["batch_size"] if device.type == "cuda" else SEED_BATCH_SIZE
        )
        batch_sizes, steps, warmup = (SEED_BATCH_SIZE, tuned_batch), args.steps, WARMUP_STEPS
    images = decode(dataset, DECODED_IMAGES)

    command = "python benchmarks/train_throughput.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    load_before = machine_info(device)["load_average"]
    print(report_header(device, command.strip()))
    print(f"Images: {len(dataset)} JPEG files in {dataset.root}\n", flush=True)

    if args.against == "plain":
        steps = 2 if args.fast else args.steps or 30
        rows = []
        for name in args.model:
            rows += against_plain_rows(name, images, device, batch_sizes[1], steps, args.rounds, args.seed)
            print(f"{name}: done", flush=True)
        table = Table(rows, title="Training throughput: fit against plain loops, images per second")
        load_after = machine_info(device)["load_average"]
        print()
        print(to_markdown(table))
        print(
            f"'vs best plain': images/s over the fastest plain loop's. Median of {args.rounds} interleaved "
            f"round(s); 'range' is the slowest to the fastest round. Load average before {load_before}, after "
            f"{load_after}."
        )
        if args.json:
            path = save_results(
                args.json, {"against_plain": table}, device, command.strip(), load_before=load_before,
                load_after=load_after,
            )  # fmt: skip
            print(f"Saved {path}")
        return 0

    rows = []
    for name in args.model:
        rows += throughput_rows(
            name, dataset, images, device, batch_sizes, steps, args.seconds, warmup, args.rounds, args.seed
        )
        print(f"{name}: done", flush=True)
    table = Table(rows, title="Training throughput, images per second (higher is better)")
    load_after = machine_info(device)["load_average"]
    print()
    print(to_markdown(table))
    print(
        f"'vs seeds': the course's images/s over the seeds' loop's. Median of {args.rounds} round(s); "
        f"'range' is the slowest to the fastest round. Load average before {load_before}, after {load_after}."
    )
    if args.json:
        path = save_results(
            args.json,
            {"throughput": table},
            device,
            command.strip(),
            load_before=load_before,
            load_after=load_after,
        )
        print(f"Saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
