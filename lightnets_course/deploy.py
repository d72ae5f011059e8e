"""From a trained PyTorch model to a runtime: ONNX export, int8 quantization, ONNX Runtime timing.

A phone or a small server does not run PyTorch eager mode. It runs an exported graph in a runtime that
fuses layers, plans its memory once and has 8-bit integer kernels. This module takes a course model
there and measures what changes: accuracy, file size and latency (notebook 08)::

    from lightnets_course.deploy import export_onnx, onnx_session, quantize_int8, check_export

    path = export_onnx(model, "mobilenet_v2.onnx")                 # float32 graph, any batch size
    print(check_export(model, onnx_session(path), images))         # largest difference, agreement
    int8 = quantize_int8(path, "mobilenet_v2.int8.onnx", cifar10_calibration())
    runtime_latency(int8, threads=1)                               # a Timing, measured like latency()

ONNX, ONNX Runtime and onnxscript come with the course's ``[deploy]`` extra (``make lab`` and
``make test`` install it): ``pip install -e ".[deploy]"`` in the course folder, or
``pip install onnx onnxruntime onnxscript``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import importlib.util
import io
import math
import os
import statistics
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from .checkpoint import unwrap
from .checks import whole_number
from .complexity import Table, check_input_size
from .datasets import CIFAR10_MEAN, CIFAR10_STD, TensorImages
from .loader import DeviceLoader
from .machine import describe_machine, machine_info
from .timing import SpeedComparison, Timing, latency, measure

__all__ = [
    "DEPLOY_PACKAGES",
    "INSTALL_DEPLOY",
    "ExportCheck",
    "ExportError",
    "MissingDeployPackage",
    "check_export",
    "compare_runtimes",
    "deploy_packages_missing",
    "export_onnx",
    "fake_quantize_weight",
    "folded_weight_ranges",
    "normalised",
    "onnx_accuracy",
    "onnx_logits",
    "onnx_session",
    "onnxruntime_latency",
    "operator_counts",
    "quantize_int8",
    "runtime_latency",
    "speedup",
]

# What the [deploy] extra installs: import name -> what pip calls it.
DEPLOY_PACKAGES = {"onnx": "onnx", "onnxruntime": "onnxruntime", "onnxscript": "onnxscript"}
INSTALL_DEPLOY = (
    'pip install onnx onnxruntime onnxscript   (in the course folder: pip install -e ".[deploy]")'
)


class MissingDeployPackage(ImportError):
    """A package that export, quantization or ONNX Runtime needs is not installed; the message says
    what to run."""


class ExportError(ValueError):
    """The model could not be turned into an ONNX graph; the message says why and what usually helps."""


def deploy_packages_missing() -> list[str]:
    """The ``[deploy]`` packages that are not installed here (empty when all are)."""
    return [pip_name for name, pip_name in DEPLOY_PACKAGES.items() if importlib.util.find_spec(name) is None]


def _require(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise MissingDeployPackage(
            f"{name} is not installed, and deploying a model needs it. Run: {INSTALL_DEPLOY}. "
            "In a notebook, run %pip install onnx onnxruntime onnxscript in a cell, then restart the kernel."
        ) from err


# ---------------------------------------------------------------------------------------------------
# export


def _input_size(model: nn.Module, input_size: Sequence[int] | None) -> tuple[int, ...]:
    if input_size is not None:
        return check_input_size(input_size)
    image_size = getattr(model, "image_size", None)
    if isinstance(image_size, int):
        return (3, image_size, image_size)
    config = getattr(model, "config", None) or {}
    if config.get("cifar"):
        return (3, 32, 32)
    raise ValueError(
        f"{type(model).__name__} does not say which image size it takes: pass input_size, e.g. "
        "export_onnx(model, path, input_size=(3, 224, 224))"
    )


def export_onnx(model: nn.Module, path: str | os.PathLike, input_size: Sequence[int] | None = None) -> Path:
    """Export ``model`` to an ONNX file at ``path`` (float32, eval mode, any batch size); returns the path.

    Uses PyTorch's exporter (``torch.onnx.export(..., dynamo=True)``): ``torch.export`` records the
    operations ``forward`` performs on an example batch, and onnxscript translates them to ONNX
    operators, BatchNorm and all. The weights are stored inside the one ``.onnx`` file. The model itself
    is not changed (a float32 CPU copy is exported).

    Args:
        model: a course model (or any ``nn.Module`` taking one image batch).
        path: where to write the ``.onnx`` file; its folder is created.
        input_size: (channels, height, width) of one image; by default the model's ``image_size``
            (set on shipped and loaded checkpoints), or 32x32 for ``cifar=True`` models.

    Raises:
        MissingDeployPackage: onnx or onnxscript is not installed (the message says what to run).
        ExportError: the exporter could not follow ``forward`` (see the message).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    _require("onnx")
    _require("onnxscript")
    size = _input_size(model, input_size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = copy.deepcopy(unwrap(model)).float().cpu().eval()
    example = torch.randn(2, *size, generator=torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        # The exporter reports each of its steps on stdout, which a notebook reader needs none of.
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            torch.onnx.export(
                work,
                (example,),
                str(path),
                dynamo=True,
                external_data=False,
                input_names=["images"],
                output_names=["logits"],
                dynamic_shapes=({0: batch},),
                verbose=False,
            )
    # The exporter fails in many ways (torch.export, onnxscript's translation, ONNX's checker), each
    # with its own exception type; what the learner needs is the first line and what usually helps.
    except Exception as err:
        first_line = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
        raise ExportError(
            f"{type(work).__name__} could not be exported to ONNX: {first_line}. The exporter records "
            "forward() with torch.export, which stops at Python that depends on tensor values (an `if` "
            "on a tensor, .item(), .tolist(), .numpy()) and at operators ONNX has no translation for; "
            "write such steps with tensor operations (torch.where instead of an `if`)."
        ) from err
    return path


def onnx_session(path: str | os.PathLike, threads: int = 1) -> Any:
    """An ONNX Runtime ``InferenceSession`` for the file at ``path``, on the CPU with ``threads`` threads.

    ONNX Runtime fuses the graph when it loads it (convolution + BatchNorm + activation become one
    kernel; with int8 files, QuantizeLinear / DequantizeLinear pairs become integer kernels); one
    operator runs at a time, on ``threads`` threads.
    """
    ort = _require("onnxruntime")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No ONNX file at {path}: export one first with export_onnx(model, path)")
    whole_number(threads, "threads", 1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the optimiser's notes are not for learners
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # ONNX Runtime raises its own exception types from C++
        raise ValueError(f"{path} could not be loaded by ONNX Runtime (is it an ONNX model?): {err}") from err


def operator_counts(path: str | os.PathLike, optimized: bool = False) -> dict[str, int]:
    """How many operators of each type the ONNX file's graph holds, most frequent first; with
    ``optimized``, the graph ONNX Runtime actually runs after fusing it as it loads the file."""
    onnx = _require("onnx")
    path = Path(path)
    with tempfile.TemporaryDirectory() as scratch:
        if optimized:
            ort = _require("onnxruntime")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.optimized_model_filepath = str(Path(scratch) / "optimized.onnx")
            options.log_severity_level = 3
            ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            path = Path(options.optimized_model_filepath)
        graph = onnx.load(str(path)).graph
    counts: dict[str, int] = {}
    for node in graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def onnx_logits(session: Any, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Run ``session`` on normalised float images (N, 3, H, W) in batches; returns the logits (N, classes)."""
    name = session.get_inputs()[0].name
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].detach().float().cpu().contiguous().numpy()
        outputs.append(torch.from_numpy(session.run(None, {name: batch})[0]))
    return torch.cat(outputs)


@dataclasses.dataclass
class ExportCheck:
    """How closely an exported model computes what the PyTorch model computes, on the same images."""

    max_abs_diff: float  # the largest difference between any two logits
    agreement: float  # the fraction of images whose predicted class is the same
    images: int

    def __str__(self) -> str:
        return (
            f"{self.images} images: largest difference of a logit {self.max_abs_diff:.2g}; "
            f"the same class predicted for {100 * self.agreement:.2f}% of them"
        )


def check_export(model: nn.Module, session: Any, images: torch.Tensor) -> ExportCheck:
    """Compare ``model`` (PyTorch, float32 on the CPU) with an ONNX Runtime ``session`` on ``images``
    (normalised float batches, (N, 3, H, W))."""
    work = unwrap(model)
    with torch.no_grad():
        was_training = work.training
        expected = copy.deepcopy(work).float().cpu().eval()(images.float().cpu())
        work.train(was_training)
    given = onnx_logits(session, images)
    return ExportCheck(
        max_abs_diff=float((expected - given).abs().max()),
        agreement=float((expected.argmax(1) == given.argmax(1)).float().mean()),
        images=len(images),
    )


def normalised(images: TensorImages | torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
    """uint8 images as the normalised float32 batch a model takes (its own mean and std if it has them)."""
    pixels = images.images if isinstance(images, TensorImages) else images
    normalization = getattr(model, "normalization", None) or {"mean": CIFAR10_MEAN, "std": CIFAR10_STD}
    mean = torch.tensor(normalization["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(normalization["std"]).view(1, 3, 1, 1)
    return (pixels.float() / 255 - mean) / std


def onnx_accuracy(session: Any, data: TensorImages, model: nn.Module | None = None) -> float:
    """Top-1 accuracy (0 to 1) of an ONNX Runtime ``session`` on ``data``, normalised as ``model`` was
    trained (CIFAR-10's statistics by default), without test-time augmentation."""
    loader = DeviceLoader(data, 250, device="cpu", **_statistics(model))
    correct = 0
    for images, labels in loader:
        correct += int((onnx_logits(session, images).argmax(1) == labels).sum())
    return correct / len(data)


def _statistics(model: nn.Module | None) -> dict[str, Any]:
    normalization = getattr(model, "normalization", None)
    return {"mean": normalization["mean"], "std": normalization["std"]} if normalization else {}


# ---------------------------------------------------------------------------------------------------
# int8


class _Calibration:
    """Feeds calibration batches to ONNX Runtime's calibrator (its ``CalibrationDataReader`` protocol)."""

    def __init__(self, input_name: str, images: torch.Tensor, batch_size: int) -> None:
        self.batches = [
            {input_name: images[start : start + batch_size].contiguous().numpy()}
            for start in range(0, len(images), batch_size)
        ]
        self.position = 0

    def get_next(self) -> dict[str, Any] | None:
        if self.position == len(self.batches):
            return None
        self.position += 1
        return self.batches[self.position - 1]

    def rewind(self) -> None:
        self.position = 0


def quantize_int8(
    onnx_path: str | os.PathLike,
    out_path: str | os.PathLike,
    calibration: TensorImages | torch.Tensor,
    *,
    per_channel: bool = True,
    model: nn.Module | None = None,
    batch_size: int = 50,
) -> Path:
    """Quantize an exported float model to int8 after training ("static" post-training quantization).

    Every weight and every activation between layers becomes an 8-bit integer times a scale. The
    weights' scales come from the weights themselves; the activations' from their smallest and largest
    values on the ``calibration`` images, which must be images like the training data and never the
    test images that measure the result (``datasets.cifar10_calibration()`` ships 500 such images).

    Args:
        onnx_path: the float model, as written by ``export_onnx``.
        out_path: where to write the int8 model (QuantizeLinear / DequantizeLinear pairs around each
            operator, which ONNX Runtime fuses into integer kernels when it loads the file).
        calibration: ``TensorImages`` (normalised as ``model`` was trained), or normalised float batches.
        per_channel: one scale per output channel of each weight (``True``), or one per weight tensor.
            A depthwise layer's channels have very different ranges (``folded_weight_ranges`` shows
            them), and one scale for all leaves the small ones only a few of the 256 levels.
        model: the PyTorch model, for its normalisation (CIFAR-10's statistics by default).
        batch_size: images per calibration batch.

    ONNX Runtime first folds each BatchNorm into the convolution before it (``quant_pre_process``),
    so the weights quantized are those the runtime multiplies with. Activations are unsigned 8-bit with
    a zero point, weights signed and symmetric, as ONNX Runtime recommends for x86 CPUs.
    """
    _require("onnx")
    quantization = _require("onnxruntime.quantization")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    onnx_path, out_path = Path(onnx_path), Path(out_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"No ONNX file at {onnx_path}: export the model first with export_onnx")
    images = normalised(calibration, model) if isinstance(calibration, TensorImages) else calibration.float()
    if len(images) == 0:
        raise ValueError("calibration holds no images: pass a few hundred training images")
    input_name = onnx_session(onnx_path).get_inputs()[0].name
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(onnx_path), str(prepared))
        quantization.quantize_static(
            str(prepared),
            str(out_path),
            _Calibration(input_name, images.cpu(), batch_size),
            quant_format=quantization.QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            calibrate_method=quantization.CalibrationMethod.MinMax,
        )
    return out_path


def fake_quantize_weight(weight: torch.Tensor, per_channel: bool = True) -> torch.Tensor:
    """What symmetric int8 keeps of a weight: ``round(w / scale)`` clipped to -127..127, times ``scale``.

    ``scale`` is the largest ``|w|`` divided by 127: of each output channel (``per_channel``, dimension
    0) or of the whole tensor. A channel of zeros keeps its zeros. The difference from ``weight`` is the
    rounding error int8 adds; ONNX Runtime quantizes weights this way (``quantize_int8``).
    """
    if per_channel:
        largest = weight.detach().abs().flatten(1).amax(1).view(-1, *[1] * (weight.dim() - 1))
    else:
        largest = weight.detach().abs().amax()
    scale = torch.where(largest > 0, largest / 127, torch.ones_like(largest))
    return torch.round(weight / scale).clamp(-127, 127) * scale


def _conv_bn_pairs(model: nn.Module) -> Iterator[tuple[str, nn.Conv2d, nn.BatchNorm2d | None]]:
    """Every convolution with the BatchNorm that directly follows it in a Sequential (or None)."""
    followed: dict[int, nn.BatchNorm2d] = {}
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module)
            for first, second in zip(children, children[1:]):
                if isinstance(first, nn.Conv2d) and isinstance(second, nn.BatchNorm2d):
                    followed[id(first)] = second
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            yield name, module, followed.get(id(module))


def _channel_error(weight: torch.Tensor, per_channel: bool) -> float:
    """The median over output channels of each channel's rounding error relative to its own size."""
    error = (fake_quantize_weight(weight, per_channel) - weight).flatten(1).norm(dim=1)
    size = weight.flatten(1).norm(dim=1)
    return float((error[size > 0] / size[size > 0]).median()) if bool((size > 0).any()) else 0.0


def folded_weight_ranges(model: nn.Module) -> Table:
    """Per convolution: how unequal its output channels' weight ranges are once BatchNorm is folded in.

    Folding multiplies channel ``c``'s weights by ``gamma_c / sqrt(var_c + eps)``, as the runtime does.
    With one int8 scale per tensor, the channel with the widest range sets the step of all 255 levels,
    and the narrowest channel spans only ``levels_narrowest`` of them (per channel: all 255).
    Columns: ``layer``, ``kind`` (depthwise, pointwise, full), ``channels``, ``range_ratio`` (widest
    over narrowest channel range), ``levels_narrowest``, and the rounding error int8 adds
    (``fake_quantize_weight``), per channel relative to that channel's own weights, the median over the
    layer's channels: with one scale per tensor, ``error_per_tensor``, and one per channel,
    ``error_per_channel``. A channel's output is what the next layer sees, so its own relative error is
    what matters, however small the channel.
    """
    rows = []
    for name, conv, norm in _conv_bn_pairs(unwrap(model)):
        weight = conv.weight.detach().float()
        if norm is not None:
            scale = norm.weight.detach().float() / torch.sqrt(norm.running_var.float() + norm.eps)
            weight = weight * scale.view(-1, 1, 1, 1)
        ranges = weight.abs().flatten(1).amax(1)
        widest, narrowest = float(ranges.max()), float(ranges.min())
        if conv.groups == conv.in_channels and conv.groups > 1:
            kind = "depthwise"
        elif conv.kernel_size == (1, 1):
            kind = "pointwise"
        else:
            kind = "full"
        rows.append(
            {
                "layer": name,
                "kind": kind,
                "channels": conv.out_channels,
                "range_ratio": widest / narrowest if narrowest > 0 else math.inf,
                "levels_narrowest": 255 * narrowest / widest if widest > 0 else 0.0,
                "error_per_tensor": _channel_error(weight, per_channel=False),
                "error_per_channel": _channel_error(weight, per_channel=True),
            }
        )
    return Table(rows, title="Weight range per output channel, BatchNorm folded in (what int8 quantizes)")


# ---------------------------------------------------------------------------------------------------
# timing


def _file_dtype(path: Path) -> str:
    onnx = _require("onnx")
    graph = onnx.load(str(path), load_external_data=False).graph
    return "int8" if any(node.op_type == "QuantizeLinear" for node in graph.node) else "float32"


def runtime_latency(
    model_or_path: nn.Module | str | os.PathLike,
    input_size: Sequence[int] | None = None,
    batch_size: int = 1,
    *,
    threads: int = 1,
    warmup: int = 10,
    repeats: int = 30,
    min_seconds: float = 1.0,
) -> Timing:
    """Latency of one runtime on the CPU, timed as ``timing.latency`` times PyTorch: a PyTorch model
    in eager mode, or an ONNX file in ONNX Runtime; returns a ``Timing`` whose ``runtime`` says which.

    Warm-up runs, then at least ``repeats`` timed runs lasting ``min_seconds`` together, on a few
    random batches used in turn; the median is the latency, p10-p90 its spread.
    """
    if isinstance(model_or_path, nn.Module):
        return latency(
            model_or_path, _input_size(model_or_path, input_size), batch_size, "cpu",
            threads=threads, warmup=warmup, repeats=repeats, min_seconds=min_seconds,
        )  # fmt: skip
    path = Path(model_or_path)
    session = onnx_session(path, threads)
    (onnx_input,) = session.get_inputs()
    size = check_input_size(input_size) if input_size is not None else tuple(onnx_input.shape[1:])
    generator = torch.Generator().manual_seed(0)
    batches = [
        {onnx_input.name: torch.randn(batch_size, *size, generator=generator).numpy()} for _ in range(3)
    ]
    times = measure(
        lambda feed: session.run(None, feed), batches,
        warmup=warmup, repeats=repeats, min_seconds=min_seconds,
    )  # fmt: skip
    return Timing(
        times_s=times,
        batch_size=batch_size,
        input_size=size,
        device="cpu",
        dtype=_file_dtype(path),
        threads=threads,
        runtime="onnxruntime",
        machine=machine_info("cpu"),
    )


# Networks already exported by onnxruntime_latency, so that timing one in several rounds exports it once.
_EXPORTED: weakref.WeakKeyDictionary[nn.Module, Path] = weakref.WeakKeyDictionary()
_EXPORT_FOLDER = tempfile.TemporaryDirectory(prefix="lightnets-onnx-")


def onnxruntime_latency(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    device: str | torch.device | None = "cpu",
    *,
    threads: int | None = None,
    warmup: int = 10,
    repeats: int = 30,
    min_seconds: float = 1.0,
    **ignored: Any,
) -> Timing:
    """``timing.latency``'s signature, timed in ONNX Runtime: the model is exported (once) and run there.

    ``guidelines.guideline(..., runtime="onnxruntime")`` uses it to run ShuffleNetV2's guideline
    experiments on ONNX Runtime. Options that only PyTorch has (``clock``, ``channels_last``) are
    ignored; ``device`` must be the CPU.
    """
    if device is not None and torch.device(device).type != "cpu":
        raise ValueError(f"ONNX Runtime timing runs on the CPU here; got device={str(device)!r}")
    path = _EXPORTED.get(model)
    if path is None:
        path = export_onnx(
            model, Path(_EXPORT_FOLDER.name) / f"network-{len(_EXPORTED)}-{id(model)}.onnx", input_size
        )
        _EXPORTED[model] = path
    return runtime_latency(
        path,
        input_size,
        batch_size,
        threads=threads or 1,
        warmup=warmup,
        repeats=repeats,
        min_seconds=min_seconds,
    )


def compare_runtimes(
    candidates: Mapping[str, Mapping[str, nn.Module | str | os.PathLike]],
    input_size: Sequence[int] | None = None,
    *,
    threads: Sequence[int] = (1,),
    rounds: int = 3,
    warmup: int = 5,
    repeats: int = 10,
    min_seconds: float = 0.3,
) -> Table:
    """Batch-1 latency of every model in every variant (a PyTorch model, or an ONNX file) at every
    thread count, in interleaved rounds, so that a change in the machine's load meets all alike.

    ``candidates`` maps a model name to its variants, e.g. ``{"mobilenet_v2": {"PyTorch eager": model,
    "ORT float32": "mnv2.onnx", "ORT int8": "mnv2.int8.onnx"}}``. Returns a ``Table``, one row per model,
    variant and thread count: ``model``, ``variant``, ``runtime``, ``dtype``, ``threads``,
    ``latency_ms`` (the median over rounds of each round's median), ``round_ms`` (each round's median)
    and ``noise`` (how far this row's rounds strayed from their median, as a fraction). Two rows differ
    only where the difference exceeds both rows' noise: ``speedup`` says so.
    """
    if not candidates or not all(candidates.values()):
        raise ValueError(
            'candidates must map each model name to its variants: {"name": {"variant": model or path}}'
        )
    whole_number(rounds, "rounds", 1)
    options = {"warmup": warmup, "repeats": repeats, "min_seconds": min_seconds}
    medians: dict[tuple[str, str, int], list[float]] = {}
    timings: dict[tuple[str, str, int], Timing] = {}
    for _ in range(rounds):
        for thread_count in threads:
            for model_name, variants in candidates.items():
                for variant, candidate in variants.items():
                    timing = runtime_latency(candidate, input_size, 1, threads=thread_count, **options)
                    key = (model_name, variant, thread_count)
                    medians.setdefault(key, []).append(timing.median_ms)
                    timings[key] = timing
    rows = []
    for key, round_ms in medians.items():
        middle = statistics.median(round_ms)
        rows.append(
            {
                "model": key[0],
                "variant": key[1],
                "runtime": timings[key].runtime,
                "dtype": timings[key].dtype,
                "threads": key[2],
                "latency_ms": middle,
                "round_ms": [float(f"{ms:.4g}") for ms in round_ms],
                "noise": math.exp(max(abs(math.log(ms / middle)) for ms in round_ms)) - 1,
            }
        )
    rows.sort(key=lambda row: row["threads"])  # stable: models and variants stay in the given order
    machine = next(iter(timings.values())).machine
    title = (
        f"Batch-1 latency in ms, median of {rounds} interleaved rounds (each the median of >= {repeats} "
        f"runs) on {describe_machine(machine)}"
    )
    return Table(rows, title=title)


def speedup(
    table: Table, first: tuple[str, str], second: tuple[str, str], threads: int = 1
) -> SpeedComparison:
    """How many times faster ``second`` ran than ``first``, each a ``(model, variant)`` row of
    ``compare_runtimes``'s ``table`` at ``threads``, round by round: ``speedup(table, ("mobilenet_v2",
    "ORT float32"), ("mobilenet_v2", "ORT int8"))``. ``.verdict()`` claims a difference only when every
    round's ratio lies beyond the two rows' noise, on the same side of 1."""
    rows = {(row["model"], row["variant"]): row for row in table.rows if row["threads"] == threads}
    missing = [key for key in (tuple(first), tuple(second)) if key not in rows]
    if missing:
        raise ValueError(f"no row {missing[0]} at threads={threads} in the table; it has {sorted(rows)}")
    a, b = rows[tuple(first)], rows[tuple(second)]
    ratios = [x / y for x, y in zip(a["round_ms"], b["round_ms"])]
    noise = (1 + a["noise"]) * (1 + b["noise"]) - 1
    names = tuple(" ".join(key) if first[0] != second[0] else key[1] for key in (first, second))
    return SpeedComparison(names, ratios, noise, a["latency_ms"], b["latency_ms"])
