"""Time to accuracy on CIFAR-10 with the course's recipe, and the checkpoints the course ships.

Trains ``get_model(MODEL, num_classes=10, cifar=True)`` with ``fit`` and ``CIFAR10_RECIPE`` on
CIFAR-10: 45,000 training and 5,000 validation images carved from the training split; the 10,000
test images are evaluated only at the end, never to choose anything. Prints the machine, the command,
the recipe, and one Markdown table: the wall time to each validation-accuracy milestone, the training
time, and the test accuracy with and without flip test-time augmentation (TTA).

With ``--ship`` the trained model becomes one of the course's shipped checkpoints
(``shipped.save_pretrained_cifar10``: float16 weights in ``data/checkpoints/MODEL.pt`` and an entry in
its ``manifest.json``, which says whether its test accuracy, without TTA, reaches the model's floor in
``shipped.FLOORS``). The CPU checkpoints come from ``scripts/cifar10_checkpoints.py``. Examples::

    python benchmarks/cifar10_speedrun.py --model mobilenet_v2 --device cuda
    python benchmarks/cifar10_speedrun.py --model mobilenet_v2 --device cuda --minutes 4.5 --ship
    python benchmarks/cifar10_speedrun.py --model shufflenet_v2_x0_5 --fast   # the sample, CPU, seconds

How time is measured: the training time is the sum of ``fit``'s epoch times (``History.epoch_time``,
``time.perf_counter`` around each epoch's training steps and its validation pass; both end by reading
a result back, which waits for the GPU). It leaves out reading and decoding the data, copying it to
the GPU, building the model, a warm-up of a few steps on a copy of the model (CUDA start-up, cuDNN
and, with ``--compile``, compilation), and the final test evaluations. The time to a milestone is the
training time up to the end of the first epoch whose validation accuracy reached it.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightnets_course.benchmark import machine_info, report_header, to_markdown
from lightnets_course.complexity import Table
from lightnets_course.data import (
    DataBundle,
    DeviceLoader,
    TensorImages,
    get_data,
)
from lightnets_course.device import pick_device
from lightnets_course.evaluate import evaluate
from lightnets_course.models import get_model, list_models
from lightnets_course.recipe import CIFAR10_RECIPE, default_lr, recipe_fit_options
from lightnets_course.results import History
from lightnets_course.shipped import (
    MANIFEST,
    checkpoint_problems,
    round_to_half,
    sample_accuracy,
    save_pretrained_cifar10,
    size_problem,
)
from lightnets_course.train import fit

MILESTONES = (80.0, 85.0, 90.0, 93.0, 94.0)  # validation accuracy, percent
WARMUP_STEPS = 10  # per warm-up epoch; the warm-up runs two epochs on a copy of the model


# ---------------------------------------------------------------------------------------------------
# The run


def warm_up(
    model: nn.Module, data: DataBundle, options: Mapping[str, Any], device: torch.device, steps: int
) -> float:
    """Train a copy of ``model`` for two epochs of ``steps`` steps, so that start-up costs (CUDA,
    cuDNN, compilation) fall outside the timed run; return the seconds one full epoch will take,
    estimated from the second warm-up epoch and one validation pass."""
    train = data.train
    images = TensorImages(
        train.images[: steps * train.batch_size], train.labels[: steps * train.batch_size], train.classes
    )
    loader = DeviceLoader(images, train.batch_size, train=True, device=device)
    spare = copy.deepcopy(model)
    history = fit(spare, loader, None, **dict(options, epochs=2), device=device, progress=False)
    step_seconds = history.epoch_time[-1] / len(loader)
    started = time.perf_counter()
    evaluate(spare, data.val)
    return step_seconds * len(train) + time.perf_counter() - started


def milestone_times(
    history: History, milestones: tuple[float, ...] = MILESTONES
) -> dict[float, tuple[float, int]]:
    """Milestone (percent) -> (training seconds, epoch) at the end of the first epoch whose validation
    accuracy reached it; milestones never reached are left out."""
    reached: dict[float, tuple[float, int]] = {}
    elapsed = 0.0
    for epoch, (seconds, accuracy) in enumerate(zip(history.epoch_time, history.val_acc), start=1):
        elapsed += seconds
        for milestone in milestones:
            if milestone not in reached and 100 * accuracy >= milestone:
                reached[milestone] = (elapsed, epoch)
    return reached


def describe_recipe(recipe: Mapping[str, Any]) -> str:
    """The recipe in one line, every setting named as in ``CIFAR10_RECIPE``."""
    return ", ".join(f"{key} {value}" for key, value in recipe.items())


def results_table(name: str, history: History, test: float, test_tta: float, sample: float) -> Table:
    """The run as one row: time to each milestone, training time, test and sample accuracies."""
    reached = milestone_times(history)
    row: dict[str, Any] = {"model": name, "epochs": history.epochs}
    for milestone in MILESTONES:
        seconds, epoch = reached.get(milestone, (None, None))
        row[f"val {milestone:g}%"] = "-" if seconds is None else f"{seconds:.1f} s (ep {epoch})"
    best = (
        "-"
        if history.best_val_acc is None
        else f"{100 * history.best_val_acc:.2f}% (ep {history.best_epoch})"
    )
    row["best val"] = best
    row["training s"] = round(sum(history.epoch_time), 1)
    row["test"] = f"{100 * test:.2f}%"
    row["test, flip TTA"] = f"{100 * test_tta:.2f}%"
    row["sample"] = f"{100 * sample:.1f}%"
    return Table([row])


def ship(
    model: nn.Module,
    args: argparse.Namespace,
    data: DataBundle,
    recipe: Mapping[str, Any],
    history: History,
    test: float,
    test_tta: float,
    sample: float,
    command: str,
) -> Path | None:
    """Write the shipped checkpoint and its manifest entry, then check them as the tests will."""
    path = save_pretrained_cifar10(
        model,
        test_accuracy=test,
        test_accuracy_flip_tta=test_tta,
        recipe=(
            f"{describe_recipe(recipe)}{', compile True' if args.compile else ''}; trained on "
            f"{data.train.dataset_size:,} images of CIFAR-10's training split ({data.val.dataset_size:,} held "
            "out for validation), random crop (padding 4) and flip"
        ),
        command=command,
        history=history,
        sample_accuracy=sample,
        folder=args.ship_dir,
    )
    folder = path.parent
    entry = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))[path.name]
    problems = checkpoint_problems(folder, path.name, entry)
    size = size_problem(folder)
    problems += [size] if size else []
    for problem in problems:
        print(f"Shipped, but the check failed: {problem}", file=sys.stderr)
    below = "" if entry["meets_floor"] else f", BELOW its floor of {100 * entry['floor']:.0f}%"
    print(f"Shipped {path} ({path.stat().st_size / 1e6:.2f} MB{below}) and its entry in {folder / MANIFEST}")
    return None if problems else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="mobilenet_v2",
        choices=list_models(),
        metavar="MODEL",
        help="a course model's name",
    )
    parser.add_argument("--epochs", type=int, help="epochs (default: the recipe's, or what fits --minutes)")
    parser.add_argument(
        "--minutes",
        type=float,
        help="train as many epochs as fit in this much training time (from the warm-up)",
    )
    parser.add_argument(
        "--data-root", help="folder holding CIFAR-10 (default: data_root(), see LIGHTNETS_DATA)"
    )
    parser.add_argument("--device", help="cuda, cpu or mps (default: the best available; cpu with --fast)")
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ship", action="store_true", help="write the shipped checkpoint and its manifest entry"
    )
    parser.add_argument(
        "--ship-dir", type=Path, help="where to ship (default: the repository's data/checkpoints)"
    )
    parser.add_argument("--json", type=Path, help="also save the results, history included, as JSON")
    parser.add_argument(
        "--fast", action="store_true", help="the shipped sample, 1 epoch, on the CPU: a smoke test"
    )
    args = parser.parse_args(argv)
    if args.epochs is not None and args.minutes is not None:
        parser.error("give --epochs or --minutes, not both")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.minutes is not None and not args.minutes > 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")

    command = "python benchmarks/cifar10_speedrun.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    device = pick_device(args.device or ("cpu" if args.fast else None))
    print(report_header(device, command.strip()), flush=True)

    started = time.perf_counter()
    if args.fast:
        data = get_data("sample", device=device, seed=args.seed)
        test_loader, test_split = data.val, "the sample's validation images (the sample has no test split)"
    else:
        try:
            data = get_data(
                "cifar10",
                batch_size=CIFAR10_RECIPE["batch_size"],
                device=device,
                root=args.data_root,
                download=False,
                seed=args.seed,
            )
        except FileNotFoundError as error:
            print(f"cifar10_speedrun: {error}", file=sys.stderr)
            return 2
        test_loader, test_split = data.test, "CIFAR-10's test split"
    data_seconds = time.perf_counter() - started
    print(
        f"Data: {data!r}, read and put on {device} in {data_seconds:.1f} s (not counted). "
        f"Test: {test_split}, {test_loader.dataset_size:,} images, evaluated once, at the end.",
        flush=True,
    )

    # The recipe, at the batch size of the data (the sample's is smaller), with its learning-rate rule.
    batch_size = data.train.batch_size
    recipe = dict(
        CIFAR10_RECIPE, batch_size=batch_size, lr=default_lr(CIFAR10_RECIPE["optimizer"], batch_size)
    )
    options = dict(recipe_fit_options(recipe), compile=args.compile)
    torch.manual_seed(args.seed)
    model = get_model(args.model, num_classes=10, cifar=True)
    started = time.perf_counter()
    warmup_steps = 1 if args.fast else min(WARMUP_STEPS, len(data.train))
    epoch_seconds = warm_up(model, data, options, device, warmup_steps)
    print(
        f"Warm-up: {time.perf_counter() - started:.1f} s (not counted); one epoch should take about "
        f"{epoch_seconds:.1f} s",
        flush=True,
    )
    if args.epochs is not None:
        epochs = args.epochs
    elif args.minutes is not None:
        epochs = max(1, int(args.minutes * 60 / epoch_seconds))
    else:
        epochs = 1 if args.fast else CIFAR10_RECIPE["epochs"]
    recipe["epochs"] = epochs
    print(f"Recipe: {describe_recipe(recipe)}{', compile True' if args.compile else ''}\n", flush=True)

    history = fit(
        model,
        data.train,
        data.val,
        **dict(options, epochs=epochs),
        device=device,
        seed=args.seed,
        progress=not args.fast,
    )
    round_to_half(model)
    test = evaluate(model, test_loader).accuracy
    test_tta = evaluate(model, test_loader, tta_flip=True).accuracy
    sample = sample_accuracy(model)
    table = results_table(args.model, history, test, test_tta, sample)
    print()
    print(to_markdown(table))
    print(
        f"Milestones: accuracy on the {data.val.dataset_size:,} validation images. Training time: the sum of "
        "fit's epoch times; '(ep N)' is the epoch that got there. Test and sample accuracies come from the "
        "weights rounded to float16, as shipped."
    )

    status, shipped = 0, None
    if args.ship:
        if args.fast:
            print("Not shipped: a --fast run trains on the shipped sample, not on CIFAR-10.", file=sys.stderr)
            status = 1
        else:
            shipped = ship(model, args, data, recipe, history, test, test_tta, sample, command.strip())
            status = 0 if shipped is not None else 1

    if args.json:
        document = {
            "machine": machine_info(device),
            "command": command.strip(),
            "recipe": recipe,
            "compile": args.compile,
            "data_seconds": data_seconds,
            "history": history.as_dict(),
            "milestones": {f"{m:g}": list(value) for m, value in milestone_times(history).items()},
            "train_seconds": sum(history.epoch_time),
            "test_accuracy": test,
            "test_accuracy_flip_tta": test_tta,
            "sample_accuracy": sample,
            "shipped": str(shipped) if shipped is not None else None,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"Saved {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
