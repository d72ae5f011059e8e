"""The ``lightnets`` command: train, evaluate, predict, profile, bench, download and export from a terminal.

Each command is a thin shell over the package's functions (``train.fit``, ``train.evaluate``,
``predict.predict``, ``complexity.compare``, ``benchmark``, the downloads of ``data``, ``deploy``), with the
notebooks' defaults.
Run ``lightnets --help`` or ``lightnets COMMAND --help``.

A command is added by writing ``add_<name>_command(commands)``, which adds its subparser and sets
``run`` to the function that carries it out, and listing it in ``COMMANDS`` at the end of this file.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__, bench, data, export
from .checkpoint import load_model
from .complexity import compare
from .data import DATA_CHOICES, DownloadError, get_data
from .device import pick_device
from .distributed import Distributed
from .evaluate import evaluate
from .models import get_model, list_models
from .planning import DEFAULT_EPOCHS
from .predict import predict
from .recipe import cifar10_recipe, recipe_fit_options
from .train import TrainingDiverged, fit, seed_everything
from .transfer import pretrained

__all__ = ["COMMANDS", "build_parser", "main"]


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``"90s"``, ``"20m"``, ``"1.5h"`` or ``"600"`` (seconds).

    >>> parse_duration("20m")
    1200.0
    """
    units = {"s": 1, "m": 60, "h": 3600}
    text = str(text).strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; write e.g. 90s, 20m or 1.5h")
    return seconds


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and shows each option's default once: where the help text does
    not already say it, ``(default: ...)`` is added; options without a default (None, a flag) get none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" in text
            or not action.option_strings
            or action.default in (None, False, argparse.SUPPRESS)
        ):
            return text
        default = " ".join(map(str, action.default)) if isinstance(action.default, list) else action.default
        return f"{text} (default: {default})"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors take one line (subcommands' parsers are of this class too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1 or mps (default: CUDA, then Apple MPS, then the CPU)",
    )


# ---------------------------------------------------------------------------------------------------
# train


def add_train_command(commands: argparse._SubParsersAction) -> None:

    parser = commands.add_parser(
        "train",
        help="train a model and save its checkpoints",
        description="Train a course model with the same loop the notebooks use (train.fit). Every epoch "
        "writes OUT/last.pt, and OUT/best.pt when the validation accuracy improves.",
        epilog="""examples:
  lightnets train --model mobilenet_v2 --cifar --data cifar10 --epochs 30 --out runs/mnv2
  lightnets train --model mobilenet_v2 --cifar --data cifar10 --epochs 30 --out runs/mnv2 --resume
  lightnets train --model shufflenet_v2_x1_0 --pretrained --data flowers --epochs 5
  lightnets train --model mobilenet_v1 --width-mult 0.25 --cifar --data sample --epochs 3
  torchrun --nproc_per_node=4 $(which lightnets) train --model mobilenet_v2 --cifar --data cifar10""",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--model",
        required=True,
        choices=list_models(),
        metavar="MODEL",
        help=f"one of {', '.join(list_models())}",
    )
    parser.add_argument(
        "--cifar", action="store_true", help="build the 32x32 variant (for CIFAR-10 and the sample)"
    )
    parser.add_argument("--width-mult", type=float, default=None, help="width multiplier of the MobileNets")
    parser.add_argument(
        "--pretrained",
        action="store_true",
        help="start from torchvision's ImageNet weights, with a new classifier and frozen features",
    )
    parser.add_argument("--train-all", action="store_true", help="with --pretrained: fine-tune every layer")
    parser.add_argument("--data", default="cifar10", help=f"data set: {DATA_CHOICES}")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"passes over the training data (default: {DEFAULT_EPOCHS}; with --data cifar10, the CIFAR-10 "
        "recipe for the device, see lightnets_course.recipe.cifar10_recipe)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="images per batch (default: the data set's, see get_data; with --data cifar10, the recipe's)",
    )
    parser.add_argument(
        "--image-size", type=int, default=None, help="resize images to this side (default: the data set's)"
    )
    parser.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default: 0.1 x batch/256 for SGD)"
    )
    parser.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd", help="optimiser")
    parser.add_argument(
        "--schedule",
        choices=["onecycle", "cosine", "plateau", "constant"],
        default="onecycle",
        help="learning rate schedule",
    )
    parser.add_argument(
        "--ema",
        type=float,
        default=None,
        metavar="DECAY",
        help="keep an average of the weights, e.g. 0.999; 0 for none (default: none; with --data cifar10, the "
        "recipe's)",
    )
    parser.add_argument("--out", default=None, help="folder for the checkpoints (default: runs/MODEL)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in OUT/last.pt")
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help="L2 penalty on conv and linear weights (default: with --data cifar10 the recipe's, else 5e-4)",
    )
    parser.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="label smoothing (default: with --data cifar10 the recipe's, else 0.1)",
    )
    parser.add_argument(
        "--budget",
        type=parse_duration,
        default=None,
        metavar="TIME",
        help="train for as many epochs as fit in this wall-clock time, e.g. 10m, 1h, 90s: the first steps are "
        "timed and the schedule is laid out to end on time (with --epochs: at most that many)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of everything random in the run: the initial weights (and a new classifier's), the "
        "validation split, the order of the batches, the augmentation and dropout. The same command on the "
        "same machine, with the same number of CPU threads and the same device, gives the same weights bit "
        "for bit; other machines, thread counts, torch versions or GPU kernels round differently and give "
        "slightly different weights",
    )
    _add_device_option(parser)
    parser.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the channels-last memory layout (default: on CUDA; elsewhere measured for long runs, see fit)",
    )
    parser.add_argument(
        "--precise-bn",
        type=int,
        default=20,
        metavar="BATCHES",
        help="recompute BatchNorm statistics on this many training batches after each epoch (0: off)",
    )
    parser.add_argument("--no-amp", action="store_true", help="train in float32 (no mixed precision)")
    parser.add_argument(
        "--compile", action="store_true", help="use torch.compile (faster after a slow first epoch)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars and no per-epoch lines")
    parser.set_defaults(run=run_train)


def _train_options(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """``fit``'s options from the command line; with ``--data cifar10`` what it leaves open comes from
    the course's CIFAR-10 recipe for this device (``recipe.cifar10_recipe``)."""
    recipe = cifar10_recipe(device) if args.data == "cifar10" else {}
    given = {
        "epochs": args.epochs,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "label_smoothing": args.label_smoothing,
        "ema_decay": args.ema,
    }
    options = {key: value for key, value in recipe_fit_options(recipe).items() if key in given}
    options.update({key: value for key, value in given.items() if value is not None})
    if args.budget is not None and args.epochs is None:
        options["epochs"] = None  # as many as fit in the budget
    options.setdefault("epochs", DEFAULT_EPOCHS)
    options["ema_decay"] = options.get("ema_decay") or None  # --ema 0: no average
    return options


def _build_model(args: argparse.Namespace, num_classes: int) -> nn.Module:
    seed_everything(args.seed)  # the initial weights (and a new classifier's) come from the seed too
    if args.pretrained:
        if args.width_mult is not None:
            raise ValueError(
                "--width-mult: ImageNet weights exist only for the default width; drop one of the two"
            )
        return pretrained(args.model, num_classes, freeze=not args.train_all, cifar=args.cifar)
    options: dict[str, Any] = {"cifar": args.cifar}
    if args.width_mult is not None:
        options["width_mult"] = args.width_mult
    return get_model(args.model, num_classes=num_classes, **options)


def run_train(args: argparse.Namespace) -> int:
    # Under torchrun the process group starts before the data is read, so that one process downloads
    # while the others wait and every loader takes its share.
    with Distributed(pick_device(args.device)) as distributed:
        device = distributed.device
        recipe = cifar10_recipe(device) if args.data == "cifar10" else {}
        batch_size = args.batch_size if args.batch_size is not None else recipe.get("batch_size")
        data = get_data(
            args.data, batch_size=batch_size, device=device, image_size=args.image_size, seed=args.seed
        )
        model = _build_model(args, len(data.classes))
        out = Path(args.out) if args.out is not None else Path("runs") / args.model
        history = fit(
            model, data.train, data.val, **_train_options(args, device), budget=args.budget,
            optimizer=args.optimizer, schedule=args.schedule, device=device, amp=False if args.no_amp else None,
            channels_last=args.channels_last, precise_bn=args.precise_bn, compile=args.compile,
            checkpoint_dir=out, resume=args.resume, seed=args.seed, progress=not args.no_progress,
        )  # fmt: skip
        if not distributed.is_main:
            return 130 if history.interrupted else 0
    if history.interrupted:
        again = shlex.join(["lightnets", *args.argv, *([] if args.resume else ["--resume"])])
        print(f"Continue the run with: {again}")
        return 130
    best = ""
    if history.best_epoch is not None:
        best = f", best validation accuracy {100 * history.best_val_acc:.1f}% at epoch {history.best_epoch}"
    epochs = f"{history.epochs} epoch{'s' if history.epochs != 1 else ''}"
    print(f"Trained {epochs}{best}. Checkpoints: {out / 'best.pt'}, {out / 'last.pt'}")
    if data.test is not None:
        print(
            "Test accuracy, once you are done choosing: "
            f"lightnets evaluate --checkpoint {out / 'best.pt'} --data {args.data}"
        )
    return 0


# ---------------------------------------------------------------------------------------------------
# evaluate


def add_evaluate_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="accuracy of a checkpoint, overall and per class",
        description="Evaluate a checkpoint on a data set's test split (or validation split): accuracy, "
        "loss and accuracy per class.",
        epilog="""examples:
  lightnets evaluate --checkpoint runs/mnv2/best.pt --data cifar10
  lightnets evaluate --checkpoint runs/mnv2 --data cifar10 --split val --tta""",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, help="a .pt file written by training, or its run folder"
    )
    parser.add_argument("--data", default="cifar10", help=f"data set: {DATA_CHOICES}")
    parser.add_argument(
        "--split",
        choices=["test", "val"],
        default=None,
        help="which split (default: test, or val where there is no test split)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="images per batch (default: the data set's)"
    )
    parser.add_argument(
        "--tta",
        action="store_true",
        help="also classify mirrored images and average (test-time augmentation)",
    )
    _add_device_option(parser)
    parser.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:

    model = load_model(args.checkpoint, device=args.device)
    device = next(model.parameters()).device
    image_size = model.image_size if isinstance(model.image_size, int) else None
    data = get_data(args.data, batch_size=args.batch_size, device=device, image_size=image_size)
    split = args.split or ("test" if data.test is not None else "val")
    loader = data.test if split == "test" else data.val
    if loader is None:
        raise ValueError(f"--split test: the {args.data} data set has no test split; use --split val")
    if model.normalization and [list(model.normalization["mean"]), list(model.normalization["std"])] != [
        [float(v) for v in data.mean],
        [float(v) for v in data.std],
    ]:
        print(
            f"warning: the model was trained with another normalisation ({model.normalization}) than "
            f"--data {args.data} applies; the accuracy may suffer",
            file=sys.stderr,
        )
    result = evaluate(model, loader, tta_flip=args.tta)
    print(f"{args.checkpoint} on the {split} split of {args.data}:")
    print(result)
    return 0


# ---------------------------------------------------------------------------------------------------
# predict


def add_predict_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict",
        help="classify image files with a checkpoint",
        description="Print the most probable classes of each image, with their probabilities.",
        epilog="""examples:
  lightnets predict --checkpoint runs/mnv2/best.pt cat.jpg dog.png
  lightnets predict --checkpoint runs/flowers --topk 3 photos/*.jpg""",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, help="a .pt file written by training, or its run folder"
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument("--topk", type=int, default=5, help="how many classes to show per image")
    _add_device_option(parser)
    parser.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Predict every readable image; name each unreadable one with the reason; status 1 if any failed."""

    model = load_model(args.checkpoint, device=args.device)
    failed = 0
    for path in args.images:
        try:
            (prediction,) = predict(model, [path], topk=args.topk)
        except (OSError, ValueError) as error:  # missing, unreadable or not an image
            failed += 1
            print(f"lightnets predict: {error}", file=sys.stderr)  # the error names the file
            continue
        print(prediction, flush=True)
    if failed:
        print(f"lightnets predict: {failed} of {len(args.images)} images could not be read", file=sys.stderr)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------------
# profile


def add_profile_command(commands: argparse._SubParsersAction) -> None:

    parser = commands.add_parser(
        "profile",
        help="parameters, MACs, FLOPs and memory access of models, side by side",
        description="Count each model's parameters, multiply-accumulates (macs), FLOPs (2 x macs) and "
        f"memory access (mem_access, as ShuffleNetV2 defines it). Models: {', '.join(list_models())}.",
        epilog="""examples:
  lightnets profile mobilenet_v2 shufflenet_v2_x1_0
  lightnets profile mobilenet_v1 mobilenet_v2 --input-size 160
  lightnets profile mobilenet_v2 shufflenet_v2_x1_0 --cifar""",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("models", nargs="+", choices=list_models(), metavar="MODEL", help="model names")
    parser.add_argument("--cifar", action="store_true", help="the 32x32 variants, with 10 classes")
    parser.add_argument(
        "--input-size", type=int, default=None, help="image side in pixels (default: 224, or 32 with --cifar)"
    )
    parser.set_defaults(run=run_profile)


def run_profile(args: argparse.Namespace) -> int:

    size = args.input_size if args.input_size is not None else (32 if args.cifar else 224)
    if size < 1:
        raise ValueError(f"--input-size must be a positive number of pixels, got {size}")
    if args.cifar:
        models = {name: get_model(name, num_classes=10, cifar=True) for name in args.models}
    else:
        models = {name: get_model(name) for name in args.models}
    print(compare(models, input_size=(3, size, size)))
    return 0


# ---------------------------------------------------------------------------------------------------
# download


def add_download_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "download",
        help="download a data set ahead of time",
        description="Download (checksum-verified, resumable) and unpack a data set into the course's data "
        "folder: --root, else $LIGHTNETS_DATA, else the repository's data/ folder.",
        epilog="""examples:
  lightnets download cifar10
  lightnets download flowers --root /big/disk/lightnets-data""",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("dataset", choices=["cifar10", "flowers"], help="which data set")
    parser.add_argument("--root", default=None, help="data folder (default: see above)")
    parser.set_defaults(run=run_download)


def run_download(args: argparse.Namespace) -> int:

    if args.dataset == "cifar10":
        train = data.cifar10("train", root=args.root)
        test = data.cifar10("test", root=args.root)
        print(
            f"CIFAR-10 ready in {data.data_root(args.root)}: "
            f"{len(train)} training and {len(test)} test images"
        )
    else:
        train, val = data.flowers(root=args.root)
        print(
            f"Flower photos ready in {data.data_root(args.root)}: "
            f"{len(train) + len(val)} photos, {len(train.classes)} classes"
        )
    return 0


# ---------------------------------------------------------------------------------------------------
# The command line itself


# One entry per command, in the order `lightnets --help` lists them.
def add_bench_command(commands: argparse._SubParsersAction) -> None:
    bench.add_bench_command(commands, _HelpFormatter, _add_device_option)  # the benchmarks' one front end


def add_export_command(commands: argparse._SubParsersAction) -> None:
    export.add_export_command(commands, _HelpFormatter)  # ONNX, int8 and their checks


COMMANDS = [
    add_train_command,
    add_evaluate_command,
    add_predict_command,
    add_profile_command,
    add_bench_command,
    add_download_command,
    add_export_command,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``lightnets`` argument parser, with one subcommand per function in ``COMMANDS``."""

    parser = _Parser(
        prog="lightnets",
        description="The LightNets course on the command line: train lightweight CNNs (AlexNet, "
        "MobileNetV1-V3, ShuffleNetV2), evaluate and use them, and count their cost.",
        epilog="""examples:
  lightnets train --model mobilenet_v2 --cifar --data cifar10 --epochs 30 --out runs/mnv2
  lightnets evaluate --checkpoint runs/mnv2/best.pt --data cifar10
  lightnets predict --checkpoint runs/mnv2/best.pt my_cat.jpg
  lightnets profile mobilenet_v2 shufflenet_v2_x1_0
  lightnets download cifar10
  lightnets export --checkpoint runs/mnv2/best.pt --int8

Run `lightnets COMMAND --help` for a command's options.""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lightnets-course {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(commands)
    return parser


_PACKAGE_DIR = Path(__file__).resolve().parent


def _raised_by_the_package(error: BaseException) -> bool:
    """Whether ``error`` was raised by the package's own code (a message written for the user), not
    deep inside torch or Python (more likely a bug, whose traceback is worth seeing)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(_PACKAGE_DIR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lightnets`` with ``argv`` (default: the command line); return the exit status.

    Mistakes in the input (a wrong model name, a missing file, a bad checkpoint) print the package's
    message in one line to standard error and give status 2; a failed download or a diverged training
    run gives status 1. A ValueError or TypeError raised elsewhere (inside torch, say) is not a message
    written for you: it keeps its traceback. ``LIGHTNETS_DEBUG=1`` shows every traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version, or a usage error argparse has already explained
        return int(exit.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to repeat the command in messages
    debug = bool(os.environ.get("LIGHTNETS_DEBUG"))
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError, NotADirectoryError, ImportError) as error:
        if debug or not _raised_by_the_package(error):
            raise
        print(f"lightnets {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (TrainingDiverged, DownloadError, ConnectionError) as error:
        if debug:
            raise
        print(f"lightnets {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lightnets {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
