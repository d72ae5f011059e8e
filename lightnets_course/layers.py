"""The arithmetic of one convolution layer, in tables a learner can check by hand.

``conv_layer_numbers`` walks a stack of layers (AlexNet's, say): output size, parameters and MACs of
each; ``conv_costs`` puts a standard, a group and a depthwise convolution side by side. Both follow
the papers' formulas (``complexity.conv_macs``, ``conv_mem_access``) and are what notebooks 01 and 02
show and their explorers draw.
"""

from __future__ import annotations

from .checks import whole_number
from .complexity import conv_macs, conv_mem_access
from .table import Table

__all__ = ["conv_costs", "conv_layer_numbers", "describe_conv_layer"]


def _positive(value: object, name: str) -> None:
    whole_number(value, name)


def _conv_kind(in_channels: int, out_channels: int, groups: int) -> str:
    if groups == 1:
        return "standard"
    if groups == in_channels:
        return (
            "depthwise"
            if out_channels == in_channels
            else f"depthwise, x{out_channels // in_channels} outputs"
        )
    return "group conv"


def conv_costs(
    kernel_size: int = 3,
    in_channels: int = 64,
    out_channels: int = 64,
    groups: int = 1,
    feature_size: int = 28,
) -> Table:
    """Params, MACs and memory access of three ways to map ``in_channels`` to ``out_channels`` channels.

    Rows (``.rows`` holds the exact numbers):

    1. a standard convolution, ``nn.Conv2d(in_channels, out_channels, kernel_size)``;
    2. the chosen one, ``nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups)``: standard
       for ``groups=1``, depthwise for ``groups=in_channels``, a group convolution in between;
    3. a depthwise-separable pair: ``kernel_size`` depthwise (``in_channels`` groups) then 1x1 pointwise.

    All work on a ``feature_size x feature_size`` input with stride 1 and padding ``kernel_size // 2``
    (the output has the same size) and no bias. ``mem_access`` is ShuffleNetV2's memory access cost in
    elements (input + weights + output of each conv). ``macs vs standard`` says how many times fewer
    MACs a row needs than the standard convolution. Example::

        >>> conv_costs(3, 512, 512, groups=512, feature_size=14).rows[1]["macs"]
        903168
    """
    for value, name in (
        (kernel_size, "kernel_size"),
        (in_channels, "in_channels"),
        (out_channels, "out_channels"),
        (groups, "groups"),
        (feature_size, "feature_size"),
    ):
        _positive(value, name)
    if kernel_size % 2 == 0:
        raise ValueError(
            f"kernel_size must be odd, such as 1, 3, 5 or 7, so that padding kernel_size // 2 keeps the "
            f"feature map's size; got {kernel_size}"
        )
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both in_channels={in_channels} and out_channels={out_channels}: "
            f"each group takes in_channels / groups inputs and makes out_channels / groups outputs. "
            f"groups=1 is a standard convolution; groups=in_channels (with out_channels a multiple of it) "
            "a depthwise one"
        )
    k, size = kernel_size, feature_size

    def conv(label: str, c_in: int, c_out: int, kernel: int, g: int) -> dict[str, int | str]:
        return {
            "conv": label,
            "params": kernel * kernel * (c_in // g) * c_out,
            "macs": conv_macs(size, size, c_in, c_out, kernel, groups=g),
            "mem_access": conv_mem_access(size, size, c_in, c_out, kernel, groups=g),
        }

    standard = conv("standard (groups=1)", in_channels, out_channels, k, 1)
    chosen = conv(
        f"chosen: {_conv_kind(in_channels, out_channels, groups)} (groups={groups})",
        in_channels,
        out_channels,
        k,
        groups,
    )
    depthwise = conv("", in_channels, in_channels, k, in_channels)
    pointwise = conv("", in_channels, out_channels, 1, 1)
    separable = {"conv": f"depthwise-separable ({k}x{k} dw + 1x1)"}
    separable.update({cost: depthwise[cost] + pointwise[cost] for cost in ("params", "macs", "mem_access")})
    rows = [standard, chosen, separable]
    for row in rows:
        row["macs vs standard"] = round(standard["macs"] / row["macs"], 2)
    title = f"{in_channels} -> {out_channels} channels, {k}x{k} kernel, {size}x{size} feature map, stride 1"
    return Table(rows, title=title)


def conv_layer_numbers(
    input_size: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    bias: bool = True,
) -> dict[str, int]:
    """Output size, parameters and MACs of one square ``nn.Conv2d`` on a square input.

    The output side is ``(input_size + 2 * padding - kernel_size) // stride + 1``: the number of
    positions a window of side ``kernel_size`` takes on the padded input, stepping ``stride`` pixels.
    When the step does not divide evenly, the last ``dropped`` rows (and columns) of the padded input
    are never read, as ``nn.Conv2d`` does. Example, AlexNet's first layer::

        >>> conv_layer_numbers(227, 3, 96, 11, stride=4)["output_size"]
        55

    Returns a dict with ``output_size``, ``dropped``, ``weights`` (``kernel_size**2 * in_channels *
    out_channels``), ``biases``, ``params`` (their sum) and ``macs`` (for one image).
    """
    for name, value in (
        ("input_size", input_size),
        ("in_channels", in_channels),
        ("out_channels", out_channels),
        ("kernel_size", kernel_size),
        ("stride", stride),
    ):
        _positive(value, name)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a whole number of at least 0; got {padding!r}")
    padded = input_size + 2 * padding
    if kernel_size > padded:
        raise ValueError(
            f"kernel_size {kernel_size} is larger than the padded input, input_size + 2 * padding = {padded}: "
            "no window fits. Use a smaller kernel_size or more padding."
        )
    output_size = (padded - kernel_size) // stride + 1
    weights = kernel_size * kernel_size * in_channels * out_channels
    biases = out_channels if bias else 0
    return {
        "output_size": output_size,
        "dropped": (padded - kernel_size) % stride,
        "weights": weights,
        "biases": biases,
        "params": weights + biases,
        "macs": conv_macs(output_size, output_size, in_channels, out_channels, kernel_size),
    }


def describe_conv_layer(
    input_size: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    bias: bool = True,
) -> str:
    """``conv_layer_numbers`` as a few lines of text, with every formula written out in numbers."""
    n = conv_layer_numbers(input_size, in_channels, out_channels, kernel_size, stride, padding, bias)
    size, k = n["output_size"], kernel_size
    lines = [
        f"nn.Conv2d({in_channels}, {out_channels}, kernel_size={k}, stride={stride}, padding={padding}) "
        f"on {in_channels} x {input_size} x {input_size}",
        f"output side: ({input_size} + 2*{padding} - {k}) // {stride} + 1 = {size}"
        f"  ->  output {out_channels} x {size} x {size}",
    ]
    if n["dropped"]:
        lines.append(
            f"  ({input_size + 2 * padding - k} / {stride} is not whole: the last {n['dropped']} row(s) and "
            "column(s) of the padded input are never read)"
        )
    bias_text = f" + {out_channels} biases" if bias else ""
    lines += [
        f"params: {k}*{k}*{in_channels}*{out_channels} weights{bias_text} = {n['params']:,}",
        f"MACs: {size}*{size} positions * {out_channels} filters * {k}*{k}*{in_channels} = {n['macs']:,}",
    ]
    return "\n".join(lines)
