"""Train and ship the course's CIFAR-10 checkpoints, on the 2-core CPU every learner has.

Each model trains from scratch with ``lightnets train`` on 45,000 images of CIFAR-10's training split,
selecting on the 5,000 held out for validation; then ``ship`` evaluates the CIFAR-10 test split once,
with the float16 weights that ship, and writes ``data/checkpoints/<model>.pt`` and its manifest entry
(test and sample accuracy, floor, exact command, per-epoch history, machine, date, SHA-256)::

    python scripts/cifar10_checkpoints.py train shufflenet_v2_x0_5   # ~50 min; again to resume
    python scripts/cifar10_checkpoints.py ship shufflenet_v2_x0_5    # ~1 min: the test split, once
    python scripts/cifar10_checkpoints.py all                        # every model, one after another
    python scripts/cifar10_checkpoints.py commands                   # print the training commands
    python scripts/cifar10_checkpoints.py readme                     # the table in data/checkpoints/README.md

A run keeps its checkpoints in ``--runs`` (default ``runs/cifar10``, outside what git tracks); running
``train`` again continues an interrupted run exactly (``--resume``). Run one model at a time, on an
otherwise idle machine: a second job on two cores slows both and the recorded times with them.
CIFAR-10 must be in the data folder (``lightnets download cifar10``, or ``LIGHTNETS_DATA`` pointing at
a folder that holds it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
from pathlib import Path

from torch import nn

from lightnets_course.benchmark import describe_machine, machine_info
from lightnets_course.checkpoint import load_checkpoint, load_model
from lightnets_course.data import get_data
from lightnets_course.evaluate import evaluate
from lightnets_course.recipe import CIFAR10_CPU_RECIPE
from lightnets_course.results import History
from lightnets_course.shipped import (
    MANIFEST,
    SHIPPED_CHECKPOINTS,
    checkpoint_problems,
    round_to_half,
    sample_accuracy,
    save_pretrained_cifar10,
    size_problem,
)

ROOT = Path(__file__).resolve().parents[1]

# The CPU recipe (recipe.CIFAR10_CPU_RECIPE, where its reasons are written): one-cycle Nesterov SGD at
# batch 128, peak learning rate 0.2, weight decay 5e-5, no label smoothing, no weight average.
COMMON: dict[str, str] = {
    "--batch-size": str(CIFAR10_CPU_RECIPE["batch_size"]),
    "--lr": str(CIFAR10_CPU_RECIPE["lr"]),
    "--weight-decay": str(CIFAR10_CPU_RECIPE["weight_decay"]),
    "--label-smoothing": str(CIFAR10_CPU_RECIPE["label_smoothing"]),
    "--ema": str(CIFAR10_CPU_RECIPE["ema_decay"] or 0),
}
# Epochs (as many as fit in about 50 minutes here, or 90 for a model below its floor after an hour) and
# the model's own options (they replace COMMON's).
RUNS: dict[str, tuple[int, dict[str, str]]] = {
    "shufflenet_v2_x0_5": (52, {}),  # 76-99 s an epoch; 35 epochs (57 min) gave 84.65%, below its floor
    # 22 epochs (166-204 s each, 68 min) gave 85.24%, below its floor; 35 took 133-156 s each, 84 min in all.
    "mobilenet_v1": (35, {}),
    "mobilenet_v3_small": (20, {}),  # ~170 s an epoch
    # No BatchNorm: at lr 0.1 AlexNet sat at chance for 300 steps here, at 0.05 it learned; its 7 M weights,
    # most in the classifier, take the usual 5e-4 weight decay (with dropout 0.5) rather than 5e-5.
    "alexnet_half": (30, {"--lr": "0.05", "--weight-decay": "5e-4"}),  # ~100 s an epoch
    # cifar=True keeps MobileNetV2's first stages at 32x32: at width 1.0 an epoch takes 8-9 min here, too
    # slow for an hour. 0.35 is the paper's smallest width (59 M MACs at 224, in MobileNetV3's Tables 3-4
    # in float and int8, which notebook 08 sets beside this machine); in fit it takes ~2.5 min an epoch.
    # 18 epochs (49 min, median 164 s each) gave 83.38%, below its floor, while still underfitting (87%
    # training accuracy); 31 epochs took 151-169 s each, 81 min in all.
    "mobilenet_v2": (31, {"--width-mult": "0.35"}),
}
SEED = 0


def run_options(model: str) -> list[str]:
    """The recipe's options with ``model``'s own in their place, as command-line words."""
    options = {**COMMON, **RUNS[model][1]}
    return [word for option, value in options.items() for word in (option, value)]


def train_command(model: str, runs: Path) -> list[str]:
    """The ``lightnets train`` command that trains ``model`` (what the manifest records)."""
    return [
        "lightnets", "train", "--model", model, "--cifar", "--data", "cifar10", "--device", "cpu",
        *run_options(model), "--epochs", str(RUNS[model][0]), "--seed", str(SEED),
        "--out", str(runs / model),
    ]  # fmt: skip


def train(model: str, runs: Path) -> int:
    command = train_command(model, runs)
    if (runs / model / "last.pt").is_file():
        command.append("--resume")  # exact: the run continues as if it had never stopped
    print("$ " + shlex.join(command), flush=True)
    return subprocess.call([sys.executable, "-m", "lightnets_course.cli", *command[1:]])


def ship(model: str, runs: Path, folder: Path) -> int:
    run = runs / model
    last = load_checkpoint(run / "last.pt")
    if last["epoch"] < RUNS[model][0]:
        print(f"{run} has trained {last['epoch']} of {RUNS[model][0]} epochs; finish it with `train` first")
        return 1
    history = History.from_dict(last["history"])
    chosen = load_model(run / "best.pt", device="cpu")  # the epoch that did best on validation
    round_to_half(chosen)  # what ships is float16: evaluate exactly that
    test = get_data("cifar10", device="cpu", download=False).test  # once, at the end
    accuracy = evaluate(chosen, test).accuracy
    flipped = evaluate(chosen, test, tta_flip=True).accuracy
    epoch = load_checkpoint(run / "best.pt")["epoch"]
    run_settings = last.get("run", {})
    layout = "channels-last" if run_settings.get("channels_last") else "contiguous"
    has_batchnorm = any(isinstance(module, nn.BatchNorm2d) for module in chosen.modules())
    batchnorm = " precise BatchNorm statistics (20 batches)," if has_batchnorm else ""
    recipe = (
        f"SGD (Nesterov, momentum 0.9), one-cycle schedule over {history.epochs} epochs, "
        f"{' '.join(run_options(model))},{batchnorm} {layout} and "
        f"{run_settings.get('autocast_dtype') or 'float32'} (what fit measured as fastest here); 45,000 "
        f"training images (5,000 held out for validation), random crop (padding 4) and flip; the weights "
        f"of epoch {epoch}, the best on validation ({100 * history.val_acc[epoch - 1]:.2f}%)"
    )
    info = machine_info("cpu")
    machine = f"{describe_machine(info).split(';')[0]}, torch {info['torch']}"
    path = save_pretrained_cifar10(
        chosen,
        test_accuracy=accuracy,
        test_accuracy_flip_tta=flipped,
        recipe=recipe,
        command=shlex.join(train_command(model, Path("runs/cifar10"))),
        history=history,
        sample_accuracy=sample_accuracy(chosen),
        machine=machine,
        date=datetime.date.fromtimestamp((run / "last.pt").stat().st_mtime).isoformat(),  # the day it ended
        folder=folder,
    )
    entry = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))[path.name]
    problems = checkpoint_problems(folder, path.name, entry) + [p for p in [size_problem(folder)] if p]
    floor = "meets" if entry["meets_floor"] else "is BELOW"
    print(
        f"{model}: test accuracy {100 * accuracy:.2f}% (flip TTA {100 * flipped:.2f}%), {floor} its floor of "
        f"{100 * entry['floor']:.0f}%; {history.epochs} epochs in {sum(history.epoch_time) / 60:.1f} min; "
        f"shipped {path} ({path.stat().st_size / 1e6:.2f} MB)"
    )
    for problem in problems:
        print(f"check failed: {problem}", file=sys.stderr)
    return 1 if problems else 0


def readme_table(folder: Path) -> str:
    """The Markdown table of the shipped checkpoints, from their manifest."""
    manifest = (
        json.loads((folder / MANIFEST).read_text(encoding="utf-8")) if (folder / MANIFEST).is_file() else {}
    )
    if not manifest:
        return "No checkpoint has shipped yet."
    lines = [
        "| model | test accuracy | floor | epochs | training time | size | trained on |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for file_name, entry in sorted(manifest.items(), key=lambda item: item[1]["model"]):
        options = ", ".join(
            f"{key}={value}" for key, value in entry["kwargs"].items() if key not in ("num_classes", "cifar")
        )
        name = f"`{entry['model']}`" + (f" ({options})" if options and "width_mult" in options else "")
        met = "" if entry["meets_floor"] else " **below the floor**"
        size = (folder / file_name).stat().st_size / 1e6
        lines.append(
            f"| {name} | {100 * entry['test_accuracy']:.2f}%{met} | {100 * entry['floor']:.0f}% | {entry['epochs']} | "
            f"{entry['train_seconds'] / 60:.1f} min | {size:.1f} MB | {entry['machine']}, {entry['date']} |"
        )
    total = sum((folder / name).stat().st_size for name in manifest) / 1e6
    lines.append("")
    lines.append(
        f"{len(manifest)} checkpoints, {total:.1f} MB in all. The exact command of each is its manifest entry's `command`."
    )
    return "\n".join(lines)


def write_readme(folder: Path) -> None:
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8")
    begin, end = "<!-- checkpoints table: begin -->\n", "<!-- checkpoints table: end -->"
    start, stop = text.index(begin) + len(begin), text.index(end)
    readme.write_text(text[:start] + readme_table(folder) + "\n" + text[stop:], encoding="utf-8")
    print(f"Wrote the table of {readme}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["train", "ship", "all", "commands", "readme"])
    parser.add_argument("models", nargs="*", metavar="MODEL", help=f"default: all of {', '.join(RUNS)}")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "cifar10", help="where runs are kept")
    parser.add_argument("--ship-dir", type=Path, default=SHIPPED_CHECKPOINTS, help="where checkpoints ship")
    args = parser.parse_args(argv)
    models = args.models or [model for model, (epochs, _) in RUNS.items() if epochs]
    unknown = [model for model in models if model not in RUNS]
    if unknown:
        parser.error(f"no recipe for {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    if args.action == "readme":
        write_readme(args.ship_dir)
        return 0
    status = 0
    for model in models:
        if args.action == "commands":
            print(shlex.join(train_command(model, args.runs)))
            continue
        if args.action in ("train", "all"):
            status = train(model, args.runs) or status
        if args.action in ("ship", "all") and status == 0:
            status = ship(model, args.runs, args.ship_dir) or status
            write_readme(args.ship_dir)
    return status


if __name__ == "__main__":
    sys.exit(main())
