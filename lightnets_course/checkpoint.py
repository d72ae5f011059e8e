"""Checkpoints: what a training run writes, and how a model comes back from it.

>>> from lightnets_course.checkpoint import load_model, load_checkpoint
>>> model = load_model("runs/mnv2/best.pt")         # the network, its weights, its class names
>>> load_checkpoint("runs/mnv2/last.pt")["epoch"]    # everything else that was saved

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (no pickled Python
objects), so ``torch.load(path, weights_only=True)`` reads it safely; ``load_model`` rebuilds the
network from the configuration stored next to its weights. Files are written atomically: a crash,
an interrupt or a kill while writing leaves the previous file whole, never half a file. ``fit``
stores in ``last.pt`` what an exact resume needs (optimiser, schedule, random generators).
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import torch
from torch import Tensor, nn

from .device import pick_device
from .models import get_model
from .results import History

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "atomic_write",
    "atomic_write_text",
    "compare_state_dicts",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "lightnets-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a readable course checkpoint, or does not fit the model it is loaded into."""


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model


def rng_state() -> dict[str, Any]:
    version, state, gauss_next = random.getstate()
    rng: dict[str, Any] = {"python": [version, list(state), gauss_next], "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def set_rng_state(rng: Mapping[str, Any]) -> None:
    version, state, gauss_next = rng["python"]
    random.setstate((version, tuple(state), gauss_next))
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _plain_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """A scheduler's state without functions (older torch versions keep one in it), so it loads safely."""
    return {key: value for key, value in state.items() if not callable(value)}


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file next to ``path``, then rename it over ``path``.

    A crash or an interrupt while writing leaves the previous file intact, never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    epoch: int = 0,
    history: Any = None,
    class_names: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    image_size: int | Sequence[int] | None = None,
    half: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save a model and what is needed to use it (or to continue training it) to ``path``.

    The file is written atomically (to a temporary file in the same folder, then renamed), so an
    interrupted save never leaves a broken checkpoint behind. It holds only tensors, numbers,
    strings, lists and dicts: ``torch.load(path, weights_only=True)`` reads it.

    Args:
        path: the file to write (folders are created).
        model: the trained model; its ``config`` (set by every course model) is stored so that
            ``load_model`` can rebuild it. Wrappers (DistributedDataParallel, torch.compile) are
            removed first, so parameter names never get a ``module.`` prefix.
        optimizer, scheduler: their states, to resume training.
        epoch: number of finished epochs.
        history: the ``History`` so far.
        class_names: names of the output classes, in label order.
        mean, std: the per-channel normalisation the model was trained with.
        image_size: the side (or height, width) of the training images.
        half: store floating-point weights in float16 (half the size; ``load_model`` converts back).
        extra: more plain entries to store (``fit`` keeps its resume state there).

    Returns:
        The path written.
    """
    path = Path(path)
    model = unwrap(model)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    if half:
        state = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    config = getattr(model, "config", None)
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "model": state,
        "model_config": dict(config) if config is not None else None,
        "class_names": [str(name) for name in class_names] if class_names is not None else None,
        "normalization": (
            {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}
            if mean is not None and std is not None
            else None
        ),
        "image_size": list(image_size) if isinstance(image_size, Sequence) else image_size,
        "epoch": int(epoch),
        "history": history.as_dict() if history is not None else None,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": _plain_state(scheduler.state_dict()) if scheduler is not None else None,
        "rng": rng_state(),
        "torch_version": str(torch.__version__),
    }
    if extra:
        payload.update(extra)
    atomic_write(path, lambda file: torch.save(payload, file))
    return path


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"folder '{path}' has no best.pt or last.pt; give the checkpoint file itself")
    if not path.exists():
        raise FileNotFoundError(
            f"checkpoint '{path}' does not exist; fit(..., checkpoint_dir=...) writes best.pt and last.pt "
            "into that folder"
        )
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint`` or ``fit`` (safely: ``weights_only=True``).

    Args:
        path: the ``.pt`` file, or a run folder (its ``best.pt``, else its ``last.pt``).

    Returns:
        The checkpoint dict: ``model`` (state dict), ``model_config``, ``class_names``,
        ``normalization``, ``image_size``, ``epoch``, ``history``, ``optimizer``, ``scheduler``, ...

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is truncated or corrupt, holds pickled Python objects, or is not a
            course checkpoint (the message says which, and what to do).
    """
    path = resolve_checkpoint_path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        text = str(err)
        first_line = text.splitlines()[0] if text else "no details"
        if "Weights only load failed" in text:
            raise CheckpointError(
                f"'{path}' holds pickled Python objects (saved with torch.save(model)?), which are not "
                "loaded for safety; save the state dict instead, or use the checkpoints fit() writes"
            ) from err
        raise CheckpointError(
            f"'{path}' is truncated or corrupt and cannot be read ({type(err).__name__}: {first_line}); "
            "it was probably copied or saved incompletely: copy it again, or use another checkpoint"
        ) from err
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        looks_like_state_dict = isinstance(checkpoint, dict) and all(
            isinstance(v, Tensor) for v in checkpoint.values()
        )
        hint = (
            "it looks like a bare state dict: load it with model.load_state_dict(torch.load(path))"
            if looks_like_state_dict and checkpoint
            else "use a file written by fit(checkpoint_dir=...) or save_checkpoint()"
        )
        raise CheckpointError(f"'{path}' is a PyTorch file but not a LightNets checkpoint; {hint}")
    if checkpoint.get("format_version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"'{path}' was written by a newer version of lightnets_course (format "
            f"{checkpoint['format_version']}); upgrade the package to read it"
        )
    return checkpoint


def compare_state_dicts(expected: Mapping[str, Tensor], given: Mapping[str, Tensor], limit: int = 8) -> str:
    """Why ``given`` weights would not load into a model whose state dict is ``expected``.

    Returns:
        An empty string when every name and shape matches; otherwise a readable report of missing
        names, unexpected names and shape mismatches (at most ``limit`` of each listed).
    """

    def listed(names: list[str]) -> str:
        more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more

    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    mismatched = [
        f"{name}: model {tuple(expected[name].shape)}, weights {tuple(given[name].shape)}"
        for name in expected
        if name in given and tuple(expected[name].shape) != tuple(given[name].shape)
    ]
    lines = []
    if missing:
        lines.append(f"  missing from the weights ({len(missing)}): {listed(missing)}")
    if unexpected:
        lines.append(f"  not in the model ({len(unexpected)}): {listed(unexpected)}")
        if all(name.startswith("module.") for name in unexpected):
            lines.append(
                "  (every name starts with 'module.': saved from a DataParallel wrapper; strip that prefix)"
            )
    if mismatched:
        lines.append(f"  different shapes ({len(mismatched)}):")
        lines += [f"    {line}" for line in mismatched[:limit]]
        if len(mismatched) > limit:
            lines.append(f"    ... ({len(mismatched) - limit} more)")
    return "\n".join(lines)


def _describe_config(config: Mapping[str, Any]) -> str:
    return f"{config.get('name', '?')} with {config.get('num_classes', '?')} classes"


def check_model_fits(model: nn.Module, checkpoint: Mapping[str, Any], path: Path) -> None:
    """Raise CheckpointError when the checkpoint's weights are for another network than ``model``."""
    saved = checkpoint.get("model_config")
    current = getattr(model, "config", None)
    if saved and current:
        if saved.get("name") != current.get("name"):
            raise CheckpointError(
                f"'{path}' holds a {_describe_config(saved)}, but the model is a {current.get('name')}: "
                "another architecture; use the same model, or another checkpoint folder"
            )
        if saved.get("num_classes") != current.get("num_classes"):
            raise CheckpointError(
                f"'{path}' holds a {_describe_config(saved)}, but the model has {current.get('num_classes')} "
                f"classes; build it with num_classes={saved.get('num_classes')}, or use another checkpoint "
                "folder"
            )
        if dict(saved) != dict(current):
            raise CheckpointError(
                f"'{path}' holds a model built with {dict(saved)}, but this one was built with "
                f"{dict(current)}; build it with the same arguments, or use another checkpoint folder"
            )
    report = compare_state_dicts(unwrap(model).state_dict(), checkpoint["model"])
    if report:
        raise CheckpointError(f"'{path}' does not fit this model (another architecture?):\n{report}")


def attach_metadata(model: nn.Module, class_names: Any, normalization: Any, image_size: Any) -> None:
    """What predict() needs to know about the training data, kept on the model itself."""
    model.class_names = list(class_names) if class_names is not None else None
    model.normalization = dict(normalization) if normalization is not None else None
    model.image_size = image_size


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """Rebuild a trained model from a checkpoint, ready to predict.

    The network is built with ``get_model(**checkpoint["model_config"])``, its weights are loaded
    (strictly: every name and shape must match), and the training data's details are attached:
    ``model.class_names`` (list of names), ``model.normalization`` (``{"mean": [...], "std":
    [...]}``) and ``model.image_size`` (``None`` where unknown). ``predict`` uses them.

    Args:
        path: a checkpoint file, or a run folder (its ``best.pt``, else ``last.pt``).
        device: where to put the model; ``None`` picks the best available device.

    Returns:
        The model, in eval mode, weights in float32.
    """
    path = resolve_checkpoint_path(path)
    checkpoint = load_checkpoint(path)
    config = checkpoint.get("model_config")
    if not config:
        raise CheckpointError(
            f"'{path}' has no model configuration (the model had no .config when saved); build the model "
            "yourself and call model.load_state_dict(load_checkpoint(path)['model'])"
        )
    try:
        model = get_model(**config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(
            f"'{path}' stores a model configuration this version cannot build: {err}"
        ) from err
    report = compare_state_dicts(model.state_dict(), checkpoint["model"])
    if report:
        raise CheckpointError(
            f"'{path}': its weights do not fit the {_describe_config(config)} it describes:\n{report}"
        )
    model.load_state_dict(checkpoint["model"])  # float16 weights are converted to the model's float32
    attach_metadata(
        model, checkpoint.get("class_names"), checkpoint.get("normalization"), checkpoint.get("image_size")
    )
    return model.to(pick_device(device)).eval()


# ---------------------------------------------------------------------------------------------------
# Resuming a run


def read_resume_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint ``fit(..., resume=True)`` continues from, with a message if there is none."""
    if not path.is_file():
        raise FileNotFoundError(
            f"fit: resume=True but '{path}' does not exist; run fit once with checkpoint_dir='{path.parent}' "
            "(resume=False) to start the run"
        )
    return load_checkpoint(path)


def restore_run(
    checkpoint: Mapping[str, Any],
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    weight_average: Any,
    settings: Mapping[str, Any],
) -> tuple[History, int, Any]:
    """Load ``fit``'s state from ``last.pt``; return the history, the finished epochs, the image size."""
    check_model_fits(model, checkpoint, path)
    saved = checkpoint.get("run") or {}
    for key in ("optimizer", "lr", "schedule", "ema_decay", "steps_per_epoch"):
        if key in saved and saved[key] != settings[key]:
            what = "the same data and batch size" if key == "steps_per_epoch" else f"the same {key}"
            raise ValueError(
                f"fit: '{path}' was trained with {key}={saved[key]!r}, not {settings[key]!r}; resume with "
                f"{what}, or start a new run in another checkpoint_dir"
            )
    if (
        settings["schedule"] in ("onecycle", "cosine")
        and saved.get("epochs", settings["epochs"]) != settings["epochs"]
    ):
        raise ValueError(
            f"fit: '{path}' was planned for {saved['epochs']} epochs, and the {settings['schedule']} "
            f"schedule is laid out over that many; resume with epochs={saved['epochs']}, or start a new run "
            "to train longer"
        )
    model.load_state_dict(checkpoint.get("raw_model") or checkpoint["model"])
    if weight_average is not None:
        weight_average.model.load_state_dict(checkpoint["model"])
        weight_average.steps = int(saved.get("ema_steps", 0))
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    if scaler is not None and saved.get("scaler") is not None:
        scaler.load_state_dict(saved["scaler"])
    set_rng_state(checkpoint["rng"])
    history = History.from_dict(checkpoint["history"]) if checkpoint.get("history") else History()
    history.interrupted = False
    return history, int(checkpoint["epoch"]), checkpoint.get("image_size")
