"""What a model costs: parameters, multiply-accumulates, FLOPs and memory access.

The papers of this course use different words for the same number, so the course fixes its own:

- ``params``: parameter elements, trainable or not (``sum(p.numel() for p in model.parameters())``);
- ``macs``: multiply-accumulates of the conv and linear layers. This is MobileNet's "Mult-Adds",
  ShuffleNetV2's "FLOPs" and torchvision's "GFLOPS" (``_ops`` in its weights' metadata);
- ``flops``: ``2 * macs``, one multiply plus one add, as ``torch.utils.flop_counter`` counts them;
- ``mem_access``: ShuffleNetV2's memory access cost, the elements a layer reads and writes
  (input feature map + weights + output feature map), summed over the conv and linear layers.

``profile(model)`` measures all four on one forward pass, ``compare([...])`` puts several models side
by side, ``summary(model)`` prints torchsummary's familiar table safely, and ``conv_macs`` /
``conv_mem_access`` are the papers' formulas for one convolution.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchsummary import summary as torchsummary_summary

from .checks import check_batch_size
from .models import get_model
from .table import UNIT_SCALES, Table

__all__ = [
    "Profile",
    "Table",
    "compare",
    "conv_macs",
    "conv_mem_access",
    "profile",
    "summary",
]

# The layers whose cost the papers count. Everything else (BatchNorm, activations, pooling, adds)
# costs no multiply-accumulates in their convention.
_COUNTED_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


# ---------------------------------------------------------------------------------------------------
# The formulas


def conv_macs(
    h_out: int, w_out: int, c_in: int, c_out: int, kernel: int | tuple[int, int], groups: int = 1
) -> int:
    """Multiply-accumulates of one convolution (bias not counted, as in the papers).

    Every output element is a dot product over ``kernel x kernel x c_in / groups`` inputs:
    ``h_out * w_out * c_out * (c_in / groups) * kernel * kernel``. A depthwise convolution is the
    case ``groups = c_in = c_out``; a linear layer is a 1x1 convolution on a 1x1 map.

    Example: MobileNetV1's Table 3 layer, a 3x3 convolution 512 -> 512 on 14x14, costs
    ``conv_macs(14, 14, 512, 512, 3) == 462_422_016``.
    """
    kernel_h, kernel_w = _pair(kernel, "kernel")
    _check_groups(c_in, c_out, groups)
    return h_out * w_out * c_out * (c_in // groups) * kernel_h * kernel_w


def conv_mem_access(
    h: int,
    w: int,
    c_in: int,
    c_out: int,
    kernel: int | tuple[int, int] = 1,
    groups: int = 1,
    stride: int = 1,
) -> int:
    """Memory access cost of one convolution, in elements, as ShuffleNetV2 defines it.

    The layer reads its input map (``h * w * c_in``) and its weights
    (``kernel * kernel * c_in * c_out / groups``) and writes its output map (``h_out * w_out * c_out``),
    each once: the paper assumes a cache large enough to hold them. For a 1x1 convolution with
    stride 1 this is the paper's ``hw(c1 + c2) + c1 * c2``, and ``hw(c1 + c2) + c1 * c2 / g`` for a
    group convolution (Eq. 2). ``h`` and ``w`` are the input size; the output size assumes the
    padding of ``kernel // 2`` that every course model uses. A bias is not counted (the paper's
    convolutions have none); ``profile`` does count one when a layer has it.

    Example: ``conv_mem_access(56, 56, 128, 128) == 819_200``, the 1:1 row of ShuffleNetV2's Table 1.
    """
    kernel_h, kernel_w = _pair(kernel, "kernel")
    _check_groups(c_in, c_out, groups)
    h_out = (h + 2 * (kernel_h // 2) - kernel_h) // stride + 1
    w_out = (w + 2 * (kernel_w // 2) - kernel_w) // stride + 1
    weights = kernel_h * kernel_w * (c_in // groups) * c_out
    return h * w * c_in + weights + h_out * w_out * c_out


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value
    raise TypeError(f"{name} must be an int such as 3, or a pair such as (3, 3); got {value!r}")


def _check_groups(c_in: int, c_out: int, groups: int) -> None:
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both c_in={c_in} and c_out={c_out} "
            "(a depthwise convolution has groups = c_in = c_out)"
        )


# ---------------------------------------------------------------------------------------------------
# Checks shared by profile and summary


def _check_model(model: Any) -> None:
    if isinstance(model, str):
        raise TypeError(
            f"model must be a torch.nn.Module, not the name {model!r}: build it first, e.g. "
            f"get_model({model!r}), or pass names to compare([{model!r}])"
        )
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError(
            f"model ({type(model).__name__}) has no parameters: there are no conv or linear weights to "
            "count. Pass a network such as get_model('mobilenet_v2')"
        )


def check_input_size(input_size: Any) -> tuple[int, int, int]:
    """``input_size`` as ``(channels, height, width)``, or a ValueError that shows the right form."""
    is_sequence = isinstance(input_size, (tuple, list))
    if (
        is_sequence
        and len(input_size) == 3
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in input_size)
    ):
        return tuple(input_size)
    message = (
        "input_size must be (channels, height, width), three positive ints such as (3, 224, 224), "
        f"or (3, 32, 32) for a CIFAR model; got {input_size!r}"
    )
    if is_sequence and len(input_size) == 4:
        message += ". Leave out the batch dimension: pass batch_size= instead"
    raise ValueError(message)


@contextlib.contextmanager
def _measuring(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode, no autograd, and the random number generators as they were afterwards.

    Eval mode keeps BatchNorm's running statistics unchanged and switches dropout off; every
    module's own ``training`` flag is put back, so a half-frozen model stays half-frozen.
    """
    modes = [(module, module.training) for module in model.modules()]
    cuda_devices = (
        [device.index if device.index is not None else torch.cuda.current_device()]
        if (device.type == "cuda")
        else []
    )
    try:
        with torch.random.fork_rng(devices=cuda_devices), torch.no_grad():
            model.eval()
            yield
    finally:
        for module, training in modes:
            module.training = training


def run_model(model: nn.Module, inputs: torch.Tensor) -> Any:
    """Forward pass whose failure says which input the model could not take."""
    try:
        return model(inputs)
    except (RuntimeError, ValueError, IndexError) as err:
        size = tuple(inputs.shape[1:])
        raise ValueError(
            f"{type(model).__name__} cannot run on input_size={size}: {err}\n"
            "Check the channel count, and use a larger input_size if the image is too small for the "
            "model's downsampling (ImageNet models expect (3, 224, 224); build with cifar=True for "
            "(3, 32, 32))."
        ) from err


def _device_and_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    first = next(model.parameters())
    floating = next((p for p in model.parameters() if p.is_floating_point()), first)
    return first.device, floating.dtype if floating.is_floating_point() else torch.float32


def _parameter_counts(model: nn.Module) -> tuple[int, int]:
    """(all, trainable) parameter elements; ``parameters()`` lists a shared tensor once."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


# ---------------------------------------------------------------------------------------------------
# profile


@dataclass
class Profile:
    """What one forward pass of a model costs; made by ``profile(model)``.

    Attributes:
        params: parameter elements, trainable and not (a shared tensor counted once).
        macs: multiply-accumulates of the conv and linear layers (the papers' Mult-Adds,
            ShuffleNetV2's "FLOPs", torchvision's "GFLOPS"), for the whole batch.
        mem_access: ShuffleNetV2's memory access cost in elements: for each conv and linear layer,
            its input map + its weights (and bias) + its output map, summed.
        layers: one dict per conv or linear call, in execution order, with ``name``, ``type``,
            ``output_shape``, ``params``, ``macs`` and ``mem_access``.
        input_size: (channels, height, width) of one input image.
        batch_size: images in the measured batch.

    ``flops`` is ``2 * macs``; ``table()`` shows the layers.
    """

    params: int
    macs: int
    mem_access: int
    layers: list[dict[str, Any]] = field(default_factory=list)
    input_size: tuple[int, int, int] = (3, 224, 224)
    batch_size: int = 1

    @property
    def flops(self) -> int:
        """Floating-point operations, counting a multiply-accumulate as two: ``2 * macs``."""
        return 2 * self.macs

    def table(self) -> Table:
        """The conv and linear layers, one row each, with their output shape and costs."""
        title = (
            f"{len(self.layers)} conv/linear layers; input {self._input_text()}; "
            f"total: params {self.params:,}, MACs {self.macs:,}, mem_access {self.mem_access:,}"
        )
        return Table(self.layers, title=title)

    def _input_text(self) -> str:
        return "x".join(str(n) for n in (self.batch_size, *self.input_size))

    def _totals(self) -> list[tuple[str, str]]:
        return [
            ("params", f"{self.params:,}"),
            ("MACs", _with_unit(self.macs)),
            ("FLOPs", _with_unit(self.flops)),
            ("mem_access", _with_unit(self.mem_access) + " elements"),
        ]

    def __repr__(self) -> str:
        totals = ", ".join(f"{name} {value}" for name, value in self._totals())
        return f"Profile(input {self._input_text()}: {totals}; {len(self.layers)} conv/linear layers)"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align: left'>{name}</th><td style='text-align: right'>{value}</td></tr>"
            for name, value in self._totals()
        )
        return (
            f"<table><caption>Profile, input {self._input_text()}</caption>{rows}</table>"
            f"<details><summary>{len(self.layers)} conv/linear layers</summary>"
            f"{self.table()._repr_html_()}</details>"
        )


def _with_unit(value: int) -> str:
    for unit in ("G", "M", "K"):
        if value >= UNIT_SCALES[unit]:
            return f"{value / UNIT_SCALES[unit]:,.2f} {unit}"
    return f"{value:,}"


def profile(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    device: torch.device | str | None = None,
) -> Profile:
    """Measure a model's parameters, MACs, FLOPs and memory access cost on one forward pass.

    Args:
        model: any ``nn.Module``; it is run in eval mode without gradients, and its train/eval
            flags, BatchNorm statistics and the random number generators are left as they were.
        input_size: (channels, height, width) of one image, without the batch dimension.
        batch_size: images per forward pass. MACs and activations grow with it, weights do not:
            the papers' numbers are for one image.
        device: where to run; by default the device of the model's parameters. Another device
            profiles a copy of the model there, so the model itself never moves.

    MACs come from PyTorch's own counter, ``torch.utils.flop_counter.FlopCounterMode`` (which counts
    ``2 * MACs`` of every convolution and matrix product and nothing else); this reproduces
    torchvision's published "GFLOPS" exactly. Memory access is counted by forward hooks on the conv
    and linear layers. Example::

        >>> p = profile(get_model("mobilenet_v2"))
        >>> p.macs, p.params       # (300774272, 3504872)
        >>> p.table()              # layer by layer
    """
    _check_model(model)
    input_size = check_input_size(input_size)
    check_batch_size(batch_size)
    model_device, dtype = _device_and_dtype(model)
    device = model_device if device is None else torch.device(device)
    # "cuda" names whichever GPU is current, so it matches a model on "cuda:0".
    if device.type != model_device.type or device.index not in (None, model_device.index):
        model = copy.deepcopy(model).to(device)

    names = {module: name for name, module in model.named_modules()}
    layers: list[dict[str, Any]] = []
    counter = FlopCounterMode(display=False)
    flops_before: dict[int, int] = {}

    def before_layer(module: nn.Module, inputs: tuple[Any, ...]) -> None:
        flops_before[id(module)] = counter.get_total_flops()

    def after_layer(module: nn.Module, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        weights = sum(p.numel() for p in module.parameters(recurse=False))
        layers.append(
            {
                "name": names[module] or type(model).__name__,
                "type": type(module).__name__,
                "output_shape": tuple(output.shape),
                "params": weights,
                # FlopCounterMode counts a multiply-accumulate as two FLOPs.
                "macs": (counter.get_total_flops() - flops_before.pop(id(module))) // 2,
                "mem_access": inputs[0].numel() + weights + output.numel(),
            }
        )

    hooks = []
    for module in model.modules():
        if isinstance(module, _COUNTED_LAYERS):
            hooks.append(module.register_forward_pre_hook(before_layer))
            hooks.append(module.register_forward_hook(after_layer))
    inputs = torch.zeros(batch_size, *input_size, device=device, dtype=dtype)
    try:
        with _measuring(model, device), counter:
            run_model(model, inputs)
    finally:
        for hook in hooks:
            hook.remove()

    params, _ = _parameter_counts(model)
    return Profile(
        params=params,
        macs=counter.get_total_flops() // 2,
        mem_access=sum(layer["mem_access"] for layer in layers),
        layers=layers,
        input_size=input_size,
        batch_size=batch_size,
    )


# ---------------------------------------------------------------------------------------------------
# compare


def compare(
    models: Sequence[str] | Mapping[str, nn.Module], input_size: Sequence[int] = (3, 224, 224)
) -> Table:
    """One row per model: params, MACs, FLOPs and memory access cost, side by side.

    ``models`` is a list of registry names (each built with ``get_model(name)``, 1000 classes) or a
    dict from a label to a built model, e.g. ``{"v2 CIFAR": get_model("mobilenet_v2", cifar=True)}``.
    MACs, FLOPs and mem_access are shown in millions; ``.rows`` holds the exact numbers. Example::

        >>> print(compare(["mobilenet_v2", "shufflenet_v2_x1_0"]))
    """
    if isinstance(models, str):
        raise TypeError(f"models must be a list of names or a dict of models; wrap one name: [{models!r}]")
    if isinstance(models, Mapping):
        named = dict(models)
    elif isinstance(models, Sequence) and all(isinstance(name, str) for name in models):
        named = {name: get_model(name) for name in models}
    else:
        raise TypeError(
            "models must be a list of registry names such as ['mobilenet_v2', 'shufflenet_v2_x1_0'] "
            f"or a dict from a label to a model; got {type(models).__name__}"
        )

    input_size = check_input_size(input_size)
    rows = []
    for name, model in named.items():
        measured = profile(model, input_size)
        rows.append(
            {
                "name": name,
                "params": measured.params,
                "macs": measured.macs,
                "flops": measured.flops,
                "mem_access": measured.mem_access,
            }
        )
    size = "x".join(str(n) for n in input_size)
    return Table(rows, title=f"Input {size}, batch 1", units={"macs": "M", "flops": "M", "mem_access": "M"})


# ---------------------------------------------------------------------------------------------------
# summary: torchsummary's table, run safely


class _PrintedText(str):
    """The summary text, already printed: a notebook cell ending in ``summary(model)`` shows it once."""

    def _ipython_display_(self) -> None:
        pass


class _SummaryView(nn.Module):
    """Shows torchsummary only the modules whose inputs and outputs it can read.

    torchsummary hooks every module that ``model.apply`` visits (except the model it was given) and
    crashes when a module's input or output is not a tensor, such as a channel split returning a
    tuple. This view runs the real model but lets ``apply`` visit only the readable modules, each
    once (``apply`` on a plain model visits a module shared by two parents twice).
    """

    def __init__(self, model: nn.Module, readable: set[int]) -> None:
        super().__init__()
        self.model = model
        self.readable = readable

    def forward(self, *inputs: torch.Tensor) -> Any:
        return self.model(*inputs)

    def apply(self, fn: Any) -> _SummaryView:
        # torchsummary leaves out the top-level model unless it is a single layer, which then is its
        # only row (torchsummary itself crashes on a single layer).
        has_children = next(self.model.children(), None) is not None
        for module in self.model.modules():
            if id(module) in self.readable and not (module is self.model and has_children):
                fn(module)
        return self


def _readable_by_torchsummary(inputs: tuple[Any, ...], output: Any) -> bool:
    # torchsummary reads input[0].size() and output.size() (or each o.size() of a tuple output), then
    # multiplies the output shapes together with numpy, which needs tuple outputs of equal rank.
    if not inputs or not isinstance(inputs[0], torch.Tensor):
        return False
    if isinstance(output, torch.Tensor):
        return True
    return (
        isinstance(output, (list, tuple))
        and len(output) > 0
        and all(isinstance(o, torch.Tensor) for o in output)
        and len({o.dim() for o in output}) == 1
    )


def _find_readable_modules(model: nn.Module, inputs: torch.Tensor) -> tuple[set[int], list[str]]:
    """Run the model once; return the ids of modules torchsummary can read and the names of the rest."""
    readable: dict[int, bool] = {}

    def check(module: nn.Module, module_inputs: tuple[Any, ...], output: Any) -> None:
        ok = _readable_by_torchsummary(module_inputs, output)
        readable[id(module)] = readable.get(id(module), True) and ok

    hooks = [module.register_forward_hook(check) for module in model.modules()]
    try:
        run_model(model, inputs)
    finally:
        for hook in hooks:
            hook.remove()
    skipped = [name for name, module in model.named_modules() if readable.get(id(module)) is False]
    return {key for key, ok in readable.items() if ok}, skipped


def _with_true_counts(text: str, model: nn.Module, skipped: list[str]) -> str:
    """Replace torchsummary's totals with the model's own when they differ, and say why."""
    total, trainable = _parameter_counts(model)
    match = re.search(r"^Total params: ([\d,]+)$", text, flags=re.MULTILINE)
    reported = int(match.group(1).replace(",", "")) if match else None
    match = re.search(r"^Trainable params: ([\d,]+)$", text, flags=re.MULTILINE)
    reported_trainable = int(match.group(1).replace(",", "")) if match else None

    notes = []
    if (reported, reported_trainable) != (total, trainable):
        text = re.sub(r"^Total params: .*$", f"Total params: {total:,}", text, flags=re.MULTILINE)
        text = re.sub(r"^Trainable params: .*$", f"Trainable params: {trainable:,}", text, flags=re.MULTILINE)
        text = re.sub(
            r"^Non-trainable params: .*$",
            f"Non-trainable params: {total - trainable:,}",
            text,
            flags=re.MULTILINE,
        )
        # torchsummary sizes the parameters at 4 bytes each; keep its estimate consistent.
        params_mb = total * 4.0 / 1024**2
        sizes = {
            key: float(value) for key, value in re.findall(r"^(.*) \(MB\): ([\d.]+)$", text, re.MULTILINE)
        }
        estimated = sizes.get("Input size", 0.0) + sizes.get("Forward/backward pass size", 0.0) + params_mb
        text = re.sub(
            r"^Params size \(MB\): .*$", f"Params size (MB): {params_mb:0.2f}", text, flags=re.MULTILINE
        )
        text = re.sub(
            r"^Estimated Total Size \(MB\): .*$",
            f"Estimated Total Size (MB): {estimated:0.2f}",
            text,
            flags=re.MULTILINE,
        )
        notes.append(
            f"Note: the rows above add up to {reported or 0:,} params ({reported_trainable or 0:,} trainable): "
            "torchsummary counts a module once per call and only its .weight and .bias. The totals are "
            "the model's own, sum(p.numel() for p in model.parameters())."
        )
    if skipped:
        notes.append(
            "Note: no row for modules whose input or output is not a tensor: " + ", ".join(skipped) + "."
        )
    return text + "".join(note + "\n" for note in notes)


def summary(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = -1,
    *,
    print_result: bool = True,
) -> str:
    """torchsummary's layer table (output shapes and parameters), safe on any device and model.

    Args:
        model: any ``nn.Module``. It runs in eval mode without gradients; its train/eval flags,
            BatchNorm statistics and the random number generators are left as they were.
        input_size: (channels, height, width) of one image, without the batch dimension.
        batch_size: the batch size shown in the table (torchsummary's default -1 shows "-1").
        print_result: print the table (so a notebook cell shows it); the text is also returned.

    What this adds to calling ``torchsummary.summary`` (version 1.5.1) directly:

    - the device comes from the model's parameters: a model on the CPU works on a GPU machine too.
      torchsummary feeds float32 inputs to "cpu" or "cuda" only, so a model elsewhere (Apple MPS)
      or in another precision is summarised through a float32 copy on the CPU; the numbers it
      shows (shapes, parameters, sizes at 4 bytes each) do not depend on where the model runs;
    - modules whose input or output torchsummary cannot read (such as ShuffleNetV2's channel
      split returning a tuple) are left out of the rows instead of crashing, and listed in a note;
    - "Total params" is the model's true count: torchsummary counts a module twice when it is
      called twice and misses parameters not named weight or bias. When its sum differs, the
      totals are corrected and a note gives torchsummary's sum.

    For MACs and memory access use ``profile(model)``.
    """
    _check_model(model)
    input_size = check_input_size(input_size)
    check_batch_size(batch_size, allow_minus_one=True)
    device, dtype = _device_and_dtype(model)
    target = model
    if device.type not in ("cpu", "cuda") or dtype != torch.float32:
        target = copy.deepcopy(model).to(device="cpu", dtype=torch.float32)
        device = torch.device("cpu")
    # torchsummary makes its inputs on the current CUDA device: make it the model's.
    on_device = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()

    printed = io.StringIO()
    with _measuring(target, device), on_device:
        # torchsummary runs a batch of 2 (for BatchNorm); probe with the same.
        readable, skipped = _find_readable_modules(target, torch.zeros(2, *input_size, device=device))
        with contextlib.redirect_stdout(printed):
            torchsummary_summary(_SummaryView(target, readable), input_size, batch_size, device.type)
    text = _with_true_counts(printed.getvalue(), model, skipped)
    if print_result:
        print(text, end="")
        return _PrintedText(text)
    return text
