"""The trained CIFAR-10 checkpoints that ship with the course, their manifest, and the checks they pass.

``data/checkpoints/<name>.pt`` holds a course model trained from scratch on CIFAR-10's training split
(float16 weights); ``data/checkpoints/manifest.json`` its accuracy on the test split, its accuracy on
the shipped sample, the floor it was trained to reach, the exact command, the per-epoch history, the
machine, the date and the file's SHA-256. A notebook on a laptop shows a trained network at once::

    from lightnets_course.shipped import has_pretrained_cifar10, load_pretrained_cifar10

    if has_pretrained_cifar10("mobilenet_v2"):
        model = load_pretrained_cifar10("mobilenet_v2")      # eval mode, float32, class names attached
    else:
        model = get_model("mobilenet_v2", num_classes=10, cifar=True)
        fit(model, data.train, data.val, epochs=30)

``scripts/cifar10_checkpoints.py`` trains and ships them; ``checkpoint_problems`` is what both it and
the tests check every shipped file against.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import papers
from .checkpoint import CheckpointError, atomic_write_text, load_model, save_checkpoint
from .data import CIFAR10_CLASSES, DeviceLoader, cifar10_sample, data_root, file_sha256
from .models import list_models
from .train import evaluate

__all__ = [
    "FLOORS",
    "MANIFEST",
    "SIZE_LIMIT_BYTES",
    "checkpoint_problems",
    "describe_checkpoint",
    "has_pretrained_cifar10",
    "list_pretrained_cifar10",
    "load_pretrained_cifar10",
    "round_to_half",
    "sample_accuracy",
    "save_pretrained_cifar10",
    "size_problem",
]

MANIFEST = "manifest.json"
# The course repository's data/checkpoints (present in a clone or an editable install).
SHIPPED_CHECKPOINTS = Path(__file__).resolve().parents[1] / "data" / "checkpoints"

# Test accuracy (0 to 1, no test-time augmentation) each model is trained to reach before it ships:
# the floors set for training at most an hour on a 2-core CPU, and for the larger models (a GPU's job)
# the published CIFAR-10 accuracy of the same network. A model that misses its floor after honest
# tuning ships with its true accuracy, marked ``"meets_floor": false`` in the manifest.
FLOORS: dict[str, tuple[float, str]] = {
    "alexnet_half": (0.80, "the course's floor for a CPU hour (no BatchNorm)"),
    "mobilenet_v1": (0.86, "the course's floor for a CPU hour"),
    "mobilenet_v2": (0.85, "the course's floor for a CPU hour"),
    "mobilenet_v3_small": (0.84, "the course's floor for a CPU hour"),
    "shufflenet_v2_x0_5": (0.85, "the course's floor for a CPU hour"),
    "mobilenet_v3_large": (0.92, "the course's floor for a GPU run"),
    "shufflenet_v2_x1_0": (
        papers.CIFAR10_PUBLISHED["shufflenet_v2_x1_0"][0] / 100,
        papers.CIFAR10_PUBLISHED["shufflenet_v2_x1_0"][1],
    ),
}
# All shipped checkpoints together stay below this, so a clone of the course stays small.
SIZE_LIMIT_BYTES = 32_000_000
# A shipped model's accuracy on the 1,000-image sample, recomputed anywhere, must match its manifest
# entry to one image: CPUs of other makes may round the last bits differently.
SAMPLE_ACCURACY_TOLERANCE = 0.001
_SAMPLE_BATCH_SIZE = 250


def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{path} is not valid JSON ({err}); restore it from the course repository"
        ) from err
    return manifest


def _checkpoint_folders(folder: str | os.PathLike | None) -> list[Path]:
    """Where shipped checkpoints are looked for: ``folder`` if given, else the repository's
    ``data/checkpoints`` and ``data_root()/checkpoints``."""
    if folder is not None:
        return [Path(folder)]
    folders = [SHIPPED_CHECKPOINTS, data_root() / "checkpoints"]
    return [f for i, f in enumerate(folders) if f.resolve() not in [g.resolve() for g in folders[:i]]]


def list_pretrained_cifar10(folder: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Model name -> manifest entry (accuracy, recipe, epochs, training time, ...) of every shipped
    CIFAR-10 checkpoint whose file is present."""
    found: dict[str, dict[str, Any]] = {}
    for place in _checkpoint_folders(folder):
        for file_name, entry in _read_manifest(place).items():
            name = entry.get("model", Path(file_name).stem)
            if name not in found and (place / file_name).is_file():
                found[name] = dict(entry, file=str(place / file_name))
    return found


def has_pretrained_cifar10(name: str, folder: str | os.PathLike | None = None) -> bool:
    """Whether a trained CIFAR-10 checkpoint of model ``name`` ships with the course (see
    ``load_pretrained_cifar10``)."""
    return name in list_pretrained_cifar10(folder)


def load_pretrained_cifar10(
    name: str, device: str | torch.device | None = None, *, folder: str | os.PathLike | None = None
) -> nn.Module:
    """The course's CIFAR-10-trained ``name`` model, ready to evaluate.

    Reads ``data/checkpoints/<name>.pt`` after checking its SHA-256 against ``manifest.json``, and
    converts the stored float16 weights to float32. The model comes in eval mode on ``device`` (the
    best available by default) with ``class_names``, ``normalization`` and ``image_size`` set.

    Args:
        name: a model name such as ``"mobilenet_v2"``.
        device: where to put it; ``None`` picks the best available device.
        folder: look only in this folder (with its own ``manifest.json``).

    Raises:
        FileNotFoundError: no checkpoint ships for ``name`` (``has_pretrained_cifar10`` tells first).
        CheckpointError: the file does not match its checksum, or its model does not match the manifest.
    """
    available = list_pretrained_cifar10(folder)
    if name not in available:
        where = ", ".join(str(place) for place in _checkpoint_folders(folder))
        others = f"Checkpoints ship for: {', '.join(sorted(available))}. " if available else ""
        hint = (
            f"--model {name} --cifar --data cifar10"
            if name in list_models()
            else "--model NAME --cifar --data cifar10"
        )
        raise FileNotFoundError(
            f"No pre-trained CIFAR-10 checkpoint of {name!r} ships with the course (looked in {where}). "
            f"{others}Train one with fit(), or on the command line: lightnets train {hint}"
        )
    entry = available[name]
    path = Path(entry["file"])
    digest = file_sha256(path)
    if digest != entry.get("sha256"):
        raise CheckpointError(
            f"{path} is damaged or was changed: its SHA-256 is {digest}, but {MANIFEST} expects "
            f"{entry.get('sha256')}; restore the file from the course repository"
        )
    model = load_model(path, device)
    expected = {"name": entry.get("model", name), **entry.get("kwargs", {})}
    if any(model.config.get(key) != value for key, value in expected.items()):
        raise CheckpointError(
            f"{path} holds a model built with {model.config}, but {MANIFEST} describes {expected}"
        )
    return model


def describe_checkpoint(entry: Mapping[str, Any]) -> str:
    """A shipped checkpoint in one line (its manifest ``entry``, from ``list_pretrained_cifar10()``):
    test accuracy against its floor, epochs, training time, machine and date."""
    floor = entry.get("floor")
    verdict = ""
    if floor is not None:
        verdict = f" (floor {100 * floor:.0f}%: {'met' if entry['meets_floor'] else 'BELOW the floor'})"
    return (
        f"{entry['model']}: {100 * entry['test_accuracy']:.2f}% on CIFAR-10's 10,000 test images{verdict}; "
        f"trained from scratch for {entry['epochs']} epochs in {entry['train_seconds'] / 60:.0f} min on "
        f"{entry['machine']}, {entry['date']}"
    )


def _machine_description() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), torch {torch.__version__}"


def round_to_half(model: nn.Module) -> nn.Module:
    """Round every floating-point weight and buffer to float16 and back, in place: the model then
    computes exactly what its shipped float16 checkpoint will, so that is what gets evaluated."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half())
    return model


def sample_accuracy(model: nn.Module) -> float:
    """Accuracy of ``model`` on the 1,000 shipped sample images, computed on the CPU in float32 (as
    the tests recompute it), with the normalisation the model was trained with."""
    # The layout a loaded checkpoint has: a channels-last copy might round differently.
    model = copy.deepcopy(model).to("cpu", torch.float32, memory_format=torch.contiguous_format)
    normalization = getattr(model, "normalization", None) or {}
    options = {key: normalization[key] for key in ("mean", "std") if key in normalization}
    loader = DeviceLoader(cifar10_sample(), _SAMPLE_BATCH_SIZE, device="cpu", **options)
    return evaluate(model, loader).accuracy


def save_pretrained_cifar10(
    model: nn.Module,
    *,
    test_accuracy: float,
    recipe: str,
    command: str,
    history: Any,
    sample_accuracy: float,
    test_accuracy_flip_tta: float | None = None,
    machine: str | None = None,
    date: str | None = None,
    folder: str | os.PathLike | None = None,
) -> Path:
    """Write a trained CIFAR-10 model as a shipped checkpoint: ``<folder>/<name>.pt`` (float16
    weights) and its entry in ``<folder>/manifest.json`` (replacing an older entry of that model).

    Args:
        model: a course model trained on CIFAR-10 with ``fit`` (which records its normalisation).
        test_accuracy: its accuracy on the CIFAR-10 test split, 0 to 1, measured once, at the end,
            with the float16 weights (``round_to_half``), without test-time augmentation.
        recipe: how it was trained, in words (optimiser, schedule, batch size, augmentation, ...).
        command: the exact command that trained it.
        history: the training ``History``: its per-epoch curves and times go into the manifest.
        sample_accuracy: its accuracy on the shipped sample (``sample_accuracy``).
        test_accuracy_flip_tta: the test accuracy with flip test-time augmentation, for reference.
        machine: where it was trained; default this machine's GPU (or CPU) and torch version.
        date: ISO date; default today.
        folder: default: the repository's ``data/checkpoints``.

    Returns:
        The checkpoint's path.
    """
    config = getattr(model, "config", None)
    if not config or config.get("name") not in list_models():
        raise ValueError("save_pretrained_cifar10: the model is not a course model (build it with get_model)")
    normalization = getattr(model, "normalization", None)
    if not normalization:
        raise ValueError(
            "the model has no .normalization (mean and std of its training data); train it with fit(), or "
            "set model.normalization = {'mean': [...], 'std': [...]} first"
        )
    if not 0 <= test_accuracy <= 1:
        raise ValueError(f"test_accuracy is a fraction from 0 to 1, got {test_accuracy!r}")
    name = config["name"]
    floor, floor_source = FLOORS.get(name, (None, "no floor set for this model"))
    folder = Path(folder) if folder is not None else SHIPPED_CHECKPOINTS
    file_name = f"{name}.pt"
    curves = history.as_dict()
    path = save_checkpoint(
        folder / file_name,
        model,
        epoch=history.epochs,
        history=history,
        class_names=getattr(model, "class_names", None) or CIFAR10_CLASSES,
        mean=normalization["mean"],
        std=normalization["std"],
        image_size=getattr(model, "image_size", None) or 32,
        half=True,
    )
    manifest = _read_manifest(folder)
    manifest[file_name] = {
        "model": name,
        "kwargs": {key: value for key, value in config.items() if key != "name"},
        "mean": list(normalization["mean"]),
        "std": list(normalization["std"]),
        "sha256": file_sha256(path),
        "test_accuracy": float(test_accuracy),
        "test_accuracy_flip_tta": float(test_accuracy_flip_tta)
        if test_accuracy_flip_tta is not None
        else None,
        "sample_accuracy": float(sample_accuracy),
        "floor": floor,
        "floor_source": floor_source,
        "meets_floor": floor is not None and _at_least(test_accuracy, floor),
        "recipe": recipe,
        "command": command,
        "epochs": int(history.epochs),
        "train_seconds": float(sum(curves["epoch_time"])),
        "history": {
            key: curves[key] for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time")
        },
        "machine": machine or _machine_description(),
        "date": date or datetime.date.today().isoformat(),
    }
    atomic_write_text(folder / MANIFEST, json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    return path


def _at_least(accuracy: float, floor: float) -> bool:
    return accuracy >= floor - 1e-9  # 8500 of 10000 is 85%, though 0.85 may print as 0.8499999


# ---------------------------------------------------------------------------------------------------
# The checks every shipped checkpoint passes (tests/test_shipped_checkpoints.py, and right after shipping)


def checkpoint_problems(folder: str | os.PathLike, file_name: str, entry: Mapping[str, Any]) -> list[str]:
    """What is wrong with one shipped checkpoint (an empty list when nothing is).

    The file exists and has the manifest's SHA-256; it loads with ``load_pretrained_cifar10`` (which
    reads it with ``weights_only=True``); its accuracy on the shipped sample, recomputed here on the
    CPU, matches the manifest's ``sample_accuracy``; ``meets_floor`` says truly whether
    ``test_accuracy`` reaches the model's floor.
    """
    path = Path(folder) / file_name
    if not path.is_file():
        return [f"{path} is listed in {MANIFEST} but does not exist"]
    digest = file_sha256(path)
    if digest != entry.get("sha256"):
        return [f"{path} has SHA-256 {digest}, but {MANIFEST} says {entry.get('sha256')}"]
    try:
        model = load_pretrained_cifar10(entry["model"], device="cpu", folder=folder)
    except Exception as error:  # whatever the reason, the course cannot use the file
        return [f"{path} does not load: {type(error).__name__}: {error}"]
    problems = []
    recorded = entry.get("sample_accuracy")
    measured = sample_accuracy(model)
    if recorded is None or abs(measured - recorded) > SAMPLE_ACCURACY_TOLERANCE + 1e-9:
        problems.append(
            f"{path}: its accuracy on the shipped sample is {100 * measured:.1f}%, but {MANIFEST} says "
            f"{'nothing' if recorded is None else f'{100 * recorded:.1f}%'}"
        )
    floor = FLOORS.get(entry["model"], (None, ""))[0]
    test = float(entry.get("test_accuracy", 0.0))
    truth = floor is not None and _at_least(test, floor)
    if entry.get("floor") != floor or entry.get("meets_floor") is not truth:
        problems.append(
            f"{path}: {MANIFEST} says floor {entry.get('floor')} and meets_floor {entry.get('meets_floor')}, but "
            f"its test accuracy {100 * test:.2f}% against the floor {floor} gives meets_floor {truth}"
        )
    return problems


def size_problem(folder: str | os.PathLike, limit_bytes: int = SIZE_LIMIT_BYTES) -> str | None:
    """A message when the checkpoints in ``folder`` take more than ``limit_bytes`` together."""
    total = sum(path.stat().st_size for path in Path(folder).glob("*.pt"))
    if total <= limit_bytes:
        return None
    return (
        f"the checkpoints in {folder} take {total / 1e6:.2f} MB together, more than the "
        f"{limit_bytes / 1e6:.2f} MB a clone of the course should carry"
    )
