"""ipywidgets explorers for the notebooks.

Each explorer is a thin shell over a plain function in this package (which tests call directly):
the widget only collects slider values and shows what the plain function returns. Works with
ipywidgets 7.6+ (Colab) and 8.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

from lightnets_course import papers
from lightnets_course.complexity import Table, conv_macs, conv_mem_access, profile
from lightnets_course.data import TensorImages, cifar10_sample
from lightnets_course.models import mobilenet_v1, mobilenet_v2
from lightnets_course.models.blocks import InvertedResidual, SqueezeExcite, channel_shuffle
from lightnets_course.viz import (
    pareto_front,
    plot_activations,
    plot_channel_shuffle,
    plot_channel_widths,
    plot_conv_costs,
    plot_mobilenet_v1_tradeoff,
    plot_pareto,
)

# ipywidgets 8 calls an ``interactive``'s function when it is built, ipywidgets 7 (Colab) only when it
# is displayed.
_RUNS_WHEN_BUILT = int(widgets.__version__.split(".")[0]) >= 8


def _explorer(function: Callable[..., object], *args: object, **controls: object) -> widgets.interactive:
    """``widgets.interactive(function, ...)`` that has already run once with its starting values, so
    ``.result`` (what the plain function returned) is there from the start under ipywidgets 7 and 8."""
    explorer = widgets.interactive(function, *args, **controls)
    if not _RUNS_WHEN_BUILT:
        explorer.update()
    return explorer


# ---------------------------------------------------------------------------------------------------
# 02 Depthwise-separable convolution: standard -> group -> depthwise


def _check_positive_int(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive whole number; got {value!r}")


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
        _check_positive_int(value, name)
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


def conv_cost_explorer() -> widgets.interactive:
    """Sliders for kernel size, channels, groups and feature-map size; shows ``conv_costs`` as a table
    and as bars (``viz.plot_conv_costs``). Channels and groups move in powers of two; a ``groups`` that
    does not divide both channel counts gets a message instead of a table."""
    powers_of_two = [2**i for i in range(11)]

    def show(kernel_size: int, in_channels: int, out_channels: int, groups: int, feature_size: int):
        try:
            table = conv_costs(kernel_size, in_channels, out_channels, groups, feature_size)
        except ValueError as error:
            print(error)
            return None
        display(table)
        plot_conv_costs(table)
        plt.show()
        return table

    def slider(options: list[int], value: int, description: str) -> widgets.SelectionSlider:
        return widgets.SelectionSlider(
            options=options, value=value, description=description, continuous_update=False
        )

    return _explorer(
        show,
        kernel_size=widgets.IntSlider(
            value=3, min=1, max=7, step=2, description="kernel", continuous_update=False
        ),
        in_channels=slider(powers_of_two[3:], 64, "in (M)"),
        out_channels=slider(powers_of_two[3:], 64, "out (N)"),
        groups=slider(powers_of_two, 1, "groups"),
        feature_size=slider([7, 14, 28, 56, 112], 28, "map size"),
    )


# ---------------------------------------------------------------------------------------------------
# 03 MobileNetV1: width and resolution multipliers


@functools.lru_cache(maxsize=128)
def _mobilenet_v1_counts(width_mult: float, resolution: int) -> tuple[int, int]:
    measured = profile(mobilenet_v1(width_mult=width_mult), (3, resolution, resolution))
    return measured.macs, measured.params


def mobilenet_v1_tradeoff(width_mult: float = 1.0, resolution: int = 224) -> dict[str, object]:
    """MACs and params of MobileNetV1 (1000 classes) at one width multiplier and input resolution,
    with the paper's ImageNet top-1 where its Table 6 or 7 reports that network.

    Returns a dict: ``width_mult``, ``resolution``, ``macs`` and ``params`` (measured with
    ``complexity.profile``), ``paper_top1`` (percent, or ``None`` when the paper has no such row) and
    ``paper_table`` (``"Table 6"``, ``"Table 7"`` or ``None``). Example::

        >>> mobilenet_v1_tradeoff(0.75, 224)["paper_top1"]
        68.4
    """
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not 0 < width_mult <= 4:
        raise ValueError(
            f"width_mult must be a number in (0, 4], such as 0.25, 0.5, 0.75 or 1.0; got {width_mult!r}"
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
        raise ValueError(
            f"resolution must be a whole number of pixels, at least 32 (MobileNetV1 halves the image five "
            f"times), such as 128, 160, 192 or 224; got {resolution!r}"
        )
    # Slider values such as 0.7500000000000001 should still find the paper's 0.75 row.
    width_mult = round(float(width_mult), 4)
    macs, params = _mobilenet_v1_counts(width_mult, resolution)
    top1, table = None, None
    if resolution == 224 and width_mult in papers.MOBILENET_V1_TABLE6:
        top1, table = papers.MOBILENET_V1_TABLE6[width_mult][0], "Table 6"
    elif width_mult == 1.0 and resolution in papers.MOBILENET_V1_TABLE7:
        top1, table = papers.MOBILENET_V1_TABLE7[resolution][0], "Table 7"
    return {
        "width_mult": width_mult,
        "resolution": resolution,
        "macs": macs,
        "params": params,
        "paper_top1": top1,
        "paper_table": table,
    }


def mobilenet_v1_explorer() -> widgets.interactive:
    """Sliders for MobileNetV1's width multiplier alpha and input resolution; prints the measured MACs
    and params (and the paper's top-1 when it has that network) and places the network on the
    MACs-vs-accuracy plane next to the paper's Tables 6 and 7 (``viz.plot_mobilenet_v1_tradeoff``)."""

    def show(width_mult: float, resolution: int) -> dict[str, object]:
        point = mobilenet_v1_tradeoff(width_mult, resolution)
        accuracy = (
            f"paper top-1 {point['paper_top1']}% ({point['paper_table']})"
            if point["paper_top1"] is not None
            else "not in the paper's Tables 6-7"
        )
        print(
            f"alpha={point['width_mult']:g}, {resolution}x{resolution}: {point['macs'] / 1e6:,.1f} M MACs, "
            f"{point['params'] / 1e6:.2f} M params; {accuracy}"
        )
        plot_mobilenet_v1_tradeoff(point)
        plt.show()
        return point

    return _explorer(
        show,
        width_mult=widgets.FloatSlider(
            value=1.0, min=0.25, max=1.0, step=0.05, description="alpha", continuous_update=False
        ),
        resolution=widgets.IntSlider(
            value=224, min=96, max=256, step=32, description="resolution", continuous_update=False
        ),
    )


# ---------------------------------------------------------------------------------------------------
# 04 MobileNetV2: widths inside a block, and what width and resolution cost


def channel_widths(block: nn.Module) -> list[tuple[str, int]]:
    """The channels of a block's feature map at its input and after each of its convolutions.

    Reads the block's ``nn.Conv2d`` layers in the order they are defined (the order they run in for
    the course's blocks and for ResNet's), so the widths come from the modules, not from a table. A
    squeeze-and-excite gate's 1x1 convs are left out: they act on a pooled vector, not on the map.
    Example::

        >>> channel_widths(InvertedResidual(24, 24, stride=1, expand_ratio=6))
        [('input', 24), ('1x1', 144), ('3x3 dw', 144), ('1x1', 24)]
    """
    if not isinstance(block, nn.Module):
        raise TypeError(
            f"block must be a torch.nn.Module such as InvertedResidual(24, 24, 1, 6); got {type(block).__name__}"
        )
    in_gates = {id(m) for gate in block.modules() if isinstance(gate, SqueezeExcite) for m in gate.modules()}
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d) and id(m) not in in_gates]
    if not convs:
        raise ValueError(
            f"block ({type(block).__name__}) has no nn.Conv2d layers, so it has no channel widths"
        )
    widths = [("input", convs[0].in_channels)]
    for conv in convs:
        kind = "x".join(str(k) for k in conv.kernel_size)
        if conv.groups > 1:
            kind += " dw" if conv.groups == conv.in_channels else f" groups={conv.groups}"
        widths.append((kind, conv.out_channels))
    return widths


def inverted_residual_widths(
    in_channels: int = 24, out_channels: int = 24, expand_ratio: float = 6
) -> list[tuple[str, int]]:
    """Channel widths through one stride-1 MobileNetV2 block with expansion ``expand_ratio`` (the paper's t).

    Builds the block with the package's ``InvertedResidual`` and reads it with ``channel_widths``:
    ``in_channels -> in_channels * t -> in_channels * t -> out_channels`` (no expansion conv for t = 1).
    """
    if isinstance(expand_ratio, bool) or not isinstance(expand_ratio, (int, float)) or expand_ratio < 1:
        raise ValueError(
            f"expand_ratio (the paper's t) must be a number of at least 1, such as 6; got {expand_ratio!r}"
        )
    _check_positive_int(in_channels, "in_channels")
    _check_positive_int(out_channels, "out_channels")
    return channel_widths(InvertedResidual(in_channels, out_channels, stride=1, expand_ratio=expand_ratio))


@functools.lru_cache(maxsize=128)
def _mobilenet_v2_counts(width_mult: float, resolution: int) -> tuple[int, int]:
    measured = profile(mobilenet_v2(width_mult=width_mult), (3, resolution, resolution))
    return measured.params, measured.macs


def mobilenet_v2_cost(width_mult: float = 1.0, resolution: int = 224) -> dict[str, int]:
    """Parameters and MACs of MobileNetV2 (1000 classes) at a width multiplier and input resolution.

    Measured with ``complexity.profile`` on the package's model. ``mobilenet_v2_cost()`` is the paper's
    network, "300 million multiply-adds"::

        >>> mobilenet_v2_cost()
        {'params': 3504872, 'macs': 300774272}
    """
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not 0 < width_mult <= 4:
        raise ValueError(
            f"width_mult must be a number in (0, 4], such as 0.35, 0.5, 1.0 or 1.4; got {width_mult!r}"
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
        raise ValueError(
            f"resolution must be a whole number of pixels, at least 32 (MobileNetV2 halves the image five "
            f"times), such as 96, 160 or 224; got {resolution!r}"
        )
    # Slider values such as 0.7500000000000001 should count the same network as 0.75.
    params, macs = _mobilenet_v2_counts(round(float(width_mult), 4), resolution)
    return {"params": params, "macs": macs}


def mobilenet_v2_explorer() -> widgets.interactive:
    """Sliders for MobileNetV2's width multiplier, resolution and expansion t.

    Prints ``mobilenet_v2_cost(width, resolution)`` relative to the paper's 1.0 network at 224, and draws
    ``inverted_residual_widths(24, 24, t)``: how wide a block gets inside for the chosen t.
    """
    baseline = mobilenet_v2_cost()

    def show(width_mult: float, resolution: int, expand_ratio: int) -> dict[str, int]:
        cost = mobilenet_v2_cost(width_mult, resolution)
        print(
            f"MobileNetV2 {width_mult:g} at {resolution}x{resolution}: {cost['params'] / 1e6:.2f} M params "
            f"({cost['params'] / baseline['params']:.2f}x the 1.0 network at 224), {cost['macs'] / 1e6:,.1f} M MACs "
            f"({cost['macs'] / baseline['macs']:.2f}x)"
        )
        plot_channel_widths(
            {f"one 24 -> 24 block, t = {expand_ratio}": inverted_residual_widths(24, 24, expand_ratio)}
        )
        plt.show()
        return cost

    return _explorer(
        show,
        width_mult=widgets.FloatSlider(
            value=1.0, min=0.35, max=1.4, step=0.05, description="width", continuous_update=False
        ),
        resolution=widgets.IntSlider(
            value=224, min=96, max=256, step=32, description="resolution", continuous_update=False
        ),
        expand_ratio=widgets.IntSlider(
            value=6, min=1, max=10, step=1, description="t", continuous_update=False
        ),
    )


# ---------------------------------------------------------------------------------------------------
# 05 MobileNetV3: activation functions and their slopes

# The activations MobileNetV3 weighs against each other; the "h-" ones are the paper's piecewise-linear
# stand-ins. The slope-0.2 hard-sigmoid is PaddleClas's variant (the paper and torchvision use 1/6).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "relu6": F.relu6,
    "sigmoid": torch.sigmoid,
    "h-sigmoid": F.hardsigmoid,
    "h-sigmoid, slope 0.2": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    "swish": F.silu,
    "h-swish": F.hardswish,
}


def activation_curves(
    names: Sequence[str] = ("sigmoid", "h-sigmoid", "swish", "h-swish"),
    x_min: float = -6.0,
    x_max: float = 6.0,
    points: int = 601,
) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Values and slopes of activation functions at ``points`` evenly spaced x from ``x_min`` to ``x_max``.

    Returns ``{name: (x, f(x), f'(x))}`` for each name in ``ACTIVATIONS``; the slope comes from autograd,
    the same derivative training uses (at a kink, autograd picks one side's slope).
    """
    if isinstance(names, str):
        names = [names]
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown:
        raise ValueError(f"unknown activation(s) {unknown}; choose from {list(ACTIVATIONS)}")
    if not x_min < x_max:
        raise ValueError(f"x_min must be smaller than x_max; got x_min={x_min}, x_max={x_max}")
    _check_positive_int(points, "points")
    curves = {}
    for name in names:
        x = torch.linspace(x_min, x_max, points, dtype=torch.float64, requires_grad=True)
        y = ACTIVATIONS[name](x)
        (slope,) = torch.autograd.grad(y.sum(), x)
        curves[name] = (x.detach(), y.detach(), slope)
    return curves


def activation_explorer() -> widgets.interactive:
    """Pick activations (Ctrl/Cmd-click for several) and an x range; draws ``activation_curves``."""

    def show(names: tuple[str, ...], x_range: tuple[float, float]) -> None:
        if not names or not x_range[0] < x_range[1]:
            print("Choose at least one activation and an x range of non-zero width.")
            return
        plot_activations(activation_curves(names, *x_range))
        plt.show()

    return _explorer(
        show,
        names=widgets.SelectMultiple(
            options=list(ACTIVATIONS),
            value=("sigmoid", "h-sigmoid", "swish", "h-swish"),
            rows=len(ACTIVATIONS),
            description="activations",
        ),
        x_range=widgets.FloatRangeSlider(
            value=(-6.0, 6.0), min=-10.0, max=10.0, step=0.5, description="x range", continuous_update=False
        ),
    )


# ---------------------------------------------------------------------------------------------------
# 00 Start here: browse the shipped CIFAR-10 sample


def plot_sample_images(
    data: TensorImages, class_name: str | None = None, count: int = 16, columns: int = 8
) -> plt.Figure:
    """A grid of images from a ``TensorImages`` dataset, such as ``data.cifar10_sample()``.

    Args:
        data: the images, uint8 (N, 3, H, W), with their labels and class names.
        class_name: show only this class (each image titled with its index in ``data``), or ``None``
            for every class in turn (each image titled with its class): with ``count = 2 * classes``
            the first row holds one image of each class and the second another one.
        count: how many images to show; fewer when the class has fewer.
        columns: images per row.

    Returns the Figure (show it with ``plt.show()``).
    """
    if not isinstance(data, TensorImages):
        raise TypeError(
            f"data must be a TensorImages such as cifar10_sample(), got {type(data).__name__}; "
            "a DataBundle's raw images are bundle.train.images (uint8) with bundle.train.labels"
        )
    _check_positive_int(count, "count")
    _check_positive_int(columns, "columns")
    if class_name is not None and class_name not in data.classes:
        raise ValueError(
            f"class_name {class_name!r} is not a class of this dataset; choose one of {data.classes}"
        )

    by_class = [torch.nonzero(data.labels == label).flatten().tolist() for label in range(len(data.classes))]
    if class_name is None:
        # Round-robin over the classes: image k of every class before image k + 1 of any.
        depth = max(len(indices) for indices in by_class)
        chosen = [indices[k] for k in range(depth) for indices in by_class if k < len(indices)][:count]
        titles = [data.classes[int(data.labels[i])] for i in chosen]
        heading = f"{len(chosen)} images, {len(data.classes)} classes"
    else:
        indices = by_class[data.classes.index(class_name)]
        chosen = indices[:count]
        titles = [f"#{i}" for i in chosen]
        heading = f"{class_name}: {len(chosen)} of its {len(indices)} images"

    rows = max(1, -(-len(chosen) // columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(1.2 * columns, 1.35 * rows + 0.3), dpi=72, squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, index, title in zip(axes.flat, chosen, titles):
        # nearest: show the 32x32 pixels as they are, not smoothed into something sharper-looking.
        ax.imshow(data.images[index].permute(1, 2, 0).cpu().numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=8)
    fig.suptitle(heading, fontsize=10)
    return fig


def sample_browser(data: TensorImages | None = None, count: int = 16) -> widgets.interactive:
    """Pick a class from a menu and how many of its images to see (``plot_sample_images``).

    ``data`` defaults to the shipped CIFAR-10 sample. Browsing a class at a time shows what the
    network is up against: odd viewpoints, clutter, and 32x32 pixels.
    """
    if data is None:
        data = cifar10_sample()

    def show(class_name: str, count: int) -> None:
        plot_sample_images(data, class_name, count)
        plt.show()

    menu = widgets.Dropdown(options=list(data.classes), value=data.classes[0], description="class")
    images = widgets.IntSlider(
        value=count, min=4, max=max(48, count), step=4, description="images", continuous_update=False
    )
    return _explorer(show, class_name=menu, count=images)


# ---------------------------------------------------------------------------------------------------
# 01 AlexNet: what kernel size, stride and padding do to one convolution layer


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
        _check_positive_int(value, name)
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


def plot_conv_windows(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, ax=None
) -> plt.Figure:
    """Where the windows of a convolution fall along one side of the input.

    One bar per output position, from the top: the input pixels (``0 .. input_size - 1``, padding
    outside) that the window at that position reads. Padding is shaded grey; input pixels that no
    window reaches (when the stride does not divide evenly) are shaded red. Returns the Figure.
    """
    n = conv_layer_numbers(input_size, 1, 1, kernel_size, stride, padding)
    if ax is None:
        height = min(4.0, 1.2 + 0.12 * n["output_size"])
        fig, ax = plt.subplots(figsize=(7, height), dpi=72, layout="constrained")
    starts = [position * stride - padding for position in range(n["output_size"])]
    ax.barh(range(len(starts)), [kernel_size] * len(starts), left=starts, height=0.8, color="C0")
    if padding:
        ax.axvspan(-padding, 0, color="0.85", label="padding")
        ax.axvspan(input_size, input_size + padding, color="0.85")
    if n["dropped"]:
        never_read = input_size + padding - n["dropped"]
        ax.axvspan(never_read, input_size + padding, color="C3", alpha=0.3, label="never read")
    ax.set_xlim(-padding, input_size + padding)
    ax.invert_yaxis()
    ax.set_xlabel("input pixel")
    ax.set_ylabel("output position")
    ax.set_title(
        f"{n['output_size']} windows of {kernel_size} pixels, stride {stride}, padding {padding}", fontsize=10
    )
    if padding or n["dropped"]:
        ax.legend(loc="lower left", fontsize=8)
    return ax.figure


def conv_layer_explorer(
    input_size: int = 224,
    in_channels: int = 3,
    out_channels: int = 48,
    kernel_size: int = 11,
    stride: int = 4,
    padding: int = 2,
) -> widgets.interactive:
    """Sliders for one convolution layer: see its output size, parameters, MACs and windows.

    Starts at the half-width AlexNet's first layer. Prints ``describe_conv_layer`` and draws
    ``plot_conv_windows``; a kernel larger than the padded input prints why no window fits.
    """

    def show(
        input_size: int, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int
    ) -> None:
        try:
            print(describe_conv_layer(input_size, in_channels, out_channels, kernel_size, stride, padding))
        except ValueError as error:
            print(error)
            return
        plot_conv_windows(input_size, kernel_size, stride, padding)
        plt.show()

    def slider(value: int, low: int, high: int, description: str) -> widgets.IntSlider:
        return widgets.IntSlider(
            value=value, min=low, max=high, description=description, continuous_update=False
        )

    return _explorer(
        show,
        input_size=slider(input_size, 1, 256, "input side"),
        in_channels=slider(in_channels, 1, 512, "in channels"),
        out_channels=slider(out_channels, 1, 512, "out channels"),
        kernel_size=slider(kernel_size, 1, 11, "kernel"),
        stride=slider(stride, 1, 4, "stride"),
        padding=slider(padding, 0, 5, "padding"),
    )


# ---------------------------------------------------------------------------------------------------
# 06 ShuffleNetV2: where channel shuffle sends each channel


def channel_shuffle_order(channels: int, groups: int) -> list[int]:
    """The input channel found at each output position after ``channel_shuffle(x, groups)``.

    Runs the package's ``channel_shuffle`` on a tensor whose channel ``c`` holds the number ``c``, so
    the answer comes from the operation the models use, not from a formula. Example::

        >>> channel_shuffle_order(6, 2)
        [0, 3, 1, 4, 2, 5]

    Position 1 holds channel 3: the first channel of the second group moved next to the first group's.
    """
    _check_positive_int(channels, "channels")
    _check_positive_int(groups, "groups")
    if channels % groups:
        raise ValueError(
            f"groups={groups} must divide channels={channels}: the shuffle views the channels as a "
            f"(groups, channels / groups) grid"
        )
    numbered = torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1)
    return [int(channel) for channel in channel_shuffle(numbered, groups).flatten()]


def channel_shuffle_explorer() -> widgets.interactive:
    """Sliders for the number of groups and the channels in each; prints ``channel_shuffle_order`` and
    draws it (``viz.plot_channel_shuffle``). ShuffleNetV2 shuffles 2 groups, its two branches;
    ShuffleNet V1 shuffled 3 or more (its group convolutions)."""

    def show(groups: int, per_group: int) -> list[int]:
        order = channel_shuffle_order(groups * per_group, groups)
        print(f"after channel_shuffle(x, groups={groups}), position i holds channel: {order}")
        plot_channel_shuffle(order, groups)
        plt.show()
        return order

    return _explorer(
        show,
        groups=widgets.IntSlider(value=2, min=1, max=6, description="groups", continuous_update=False),
        per_group=widgets.IntSlider(value=4, min=1, max=8, description="per group", continuous_update=False),
    )


# ---------------------------------------------------------------------------------------------------
# 07 Comparison: accuracy against MACs, memory access and latency

# The papers' ImageNet top-1 (percent, 224x224) of each course model, and where it is printed.
# ShuffleNetV2's Table 8 lists top-1 errors. AlexNet's number is the 2012 two-GPU network's (MobileNetV1
# Table 9); torchvision's alexnet is the 2014 one-GPU variant. alexnet_half was never trained on ImageNet.
PAPER_IMAGENET_TOP1: dict[str, tuple[float, str]] = {
    "alexnet": (papers.ALEXNET_PAPER["top1"], papers.ALEXNET_SOURCE),
    "mobilenet_v1": (papers.MOBILENET_V1_TABLE6[1.0][0], f"{papers.MOBILENET_V1_SOURCE}, Table 6"),
    "mobilenet_v2": (papers.MOBILENET_V2_TABLE4["MobileNetV2"][0], f"{papers.MOBILENET_V2_SOURCE}, Table 4"),
    "mobilenet_v3_large": (
        papers.MOBILENET_V3_TABLE3["V3-Large 1.0"][0],
        f"{papers.MOBILENET_V3_SOURCE}, Table 3",
    ),
    "mobilenet_v3_small": (
        papers.MOBILENET_V3_TABLE3["V3-Small 1.0"][0],
        f"{papers.MOBILENET_V3_SOURCE}, Table 3",
    ),
    **{
        f"shufflenet_v2_x{width}": (
            round(100 - papers.SHUFFLENET_V2_TABLE8[f"ShuffleNet v2 {row}"][1], 1),
            f"{papers.SHUFFLENET_V2_SOURCE}, Table 8",
        )
        for width, row in (("0_5", "0.5x"), ("1_0", "1x"), ("1_5", "1.5x"), ("2_0", "2x"))
    },
}

# What a comparison can put on the cost axis: (label, column).
COMPARISON_COSTS = (
    ("MACs", "macs"),
    ("params", "params"),
    ("mem_access", "mem_access"),
    ("latency", "latency_ms"),
)


def imagenet_top1(name: str) -> dict[str, float | str | None]:
    """ImageNet top-1 accuracy (percent, 224x224) of a course model: torchvision's and the paper's.

    Returns a dict:

    - ``torchvision``: what torchvision publishes for its default weights of the model, read from the
      installed package (``get_model_weights(name).DEFAULT.meta``; nothing is downloaded). These are
      the weights ``transfer.load_imagenet_weights`` puts into the course's model.
    - ``paper``: the paper's number (``PAPER_IMAGENET_TOP1``), and ``paper_source``.
    - ``top1``: torchvision's where it has weights, else the paper's; ``source`` says which.

    All ``None`` for a model with neither (``alexnet_half``).
    """
    from torchvision.models import get_model_weights

    from lightnets_course.models import list_models
    from lightnets_course.transfer import IMAGENET_WEIGHTS

    if name not in list_models():
        raise ValueError(f"unknown model {name!r}; choose one of {list_models()}")
    torchvision_top1 = None
    if name in IMAGENET_WEIGHTS:
        torchvision_top1 = get_model_weights(name).DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    paper_top1, paper_source = PAPER_IMAGENET_TOP1.get(name, (None, None))
    if torchvision_top1 is not None:
        top1, source = torchvision_top1, "torchvision weights"
    elif paper_top1 is not None:
        top1, source = paper_top1, paper_source
    else:
        top1, source = None, None
    return {
        "torchvision": torchvision_top1,
        "paper": paper_top1,
        "paper_source": paper_source,
        "top1": top1,
        "source": source,
    }


def comparison_rows(costs: Table | list[dict], latency_ms: dict[str, float] | None = None) -> list[dict]:
    """One dict per model for comparing and plotting: cost, speed and ImageNet accuracy together.

    ``costs`` is ``complexity.compare(...)`` for course models at 224x224: its ``name`` becomes
    ``model``, and ``params``, ``macs`` and ``mem_access`` are kept (``flops`` is just ``2 * macs``).
    ``latency_ms`` maps a model name to its measured latency in milliseconds (models missing from it
    get ``None``). Adds ``top1`` and ``source`` from ``imagenet_top1``.
    """
    rows = list(getattr(costs, "rows", costs))
    if not rows or not all(isinstance(row, dict) and "name" in row for row in rows):
        raise ValueError("costs must be complexity.compare([...]) or its rows (dicts with a 'name' column)")
    combined = []
    for row in rows:
        accuracy = imagenet_top1(row["name"])
        entry = {"model": row["name"], **{key: row[key] for key in ("params", "macs", "mem_access")}}
        if latency_ms is not None:
            entry["latency_ms"] = latency_ms.get(row["name"])
        entry["top1"], entry["source"] = accuracy["top1"], accuracy["source"]
        combined.append(entry)
    return combined


def _ranks(values: Sequence[float]) -> list[float]:
    """Rank 1 for the smallest value; equal values share the average of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences of numbers.

    1 when ``y`` grows whenever ``x`` grows, -1 when it always falls, near 0 when the order of one says
    little about the order of the other. It is the Pearson correlation of the ranks (tied values share
    their average rank), so it asks "does the cheaper model run faster?" without letting one extreme
    model (AlexNet's 61 M parameters) decide the answer. Example::

        >>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 3)
        0.8
    """
    x, y = list(x), list(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must be equally long; got {len(x)} and {len(y)} values")
    if len(x) < 2:
        raise ValueError(f"a correlation needs at least 2 pairs of values; got {len(x)}")
    rank_x, rank_y = _ranks(x), _ranks(y)
    mean = (len(x) + 1) / 2  # the mean rank, ties or not
    covariance = sum((a - mean) * (b - mean) for a, b in zip(rank_x, rank_y))
    spread_x = sum((a - mean) ** 2 for a in rank_x) ** 0.5
    spread_y = sum((b - mean) ** 2 for b in rank_y) ** 0.5
    if spread_x == 0 or spread_y == 0:
        raise ValueError("all values of x (or of y) are equal, so their order says nothing: no correlation")
    return covariance / (spread_x * spread_y)


def comparison_table(
    rows: Table | list[dict], models: Sequence[str] | None = None, cost: str = "macs", score: str = "top1"
) -> Table:
    """The rows of ``models`` (all by default), cheapest first by ``cost``, with a ``pareto`` column.

    ``rows`` are dicts with a ``model`` name and the ``cost`` and ``score`` columns, such as
    ``comparison_rows(...)`` makes. ``pareto`` is ``"yes"`` for a model on the Pareto front among the
    chosen ones (``viz.pareto_front``): no other chosen model is as cheap and as accurate or better.
    """
    rows = list(getattr(rows, "rows", rows))
    known = [row["model"] for row in rows]
    if isinstance(models, str):
        models = [models]
    unknown = [name for name in (models or []) if name not in known]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; the rows hold {known}")
    chosen = [row for row in rows if models is None or row["model"] in models]
    if not chosen:
        raise ValueError("choose at least one model")
    for column in (cost, score):
        if any(column not in row for row in chosen):
            raise ValueError(
                f"cost and score must be columns of the rows, such as 'macs' and 'top1'; got {column!r}"
            )
    front = {row["model"] for row in pareto_front(chosen, cost, score)}
    ordered = sorted(chosen, key=lambda row: (row[cost] is None, row[cost] if row[cost] is not None else 0))
    columns = list(dict.fromkeys(["model", "params", "macs", "mem_access", "latency_ms", cost, score]))
    table_rows = [
        {**{c: row[c] for c in columns if c in row}, "pareto": "yes" if row["model"] in front else ""}
        for row in ordered
    ]
    title = (
        f"{len(table_rows)} models, cheapest first by {cost}; pareto: on the front of {score} against {cost}"
    )
    return Table(table_rows, title=title, units={"params": "M", "macs": "M", "flops": "M", "mem_access": "M"})


def comparison_explorer(rows: Table | list[dict]) -> widgets.interactive:
    """Choose models (Ctrl/Cmd-click for several) and the cost axis; shows ``comparison_table`` and the
    Pareto plot of ImageNet top-1 against that cost (``viz.plot_pareto``).

    ``rows`` as for ``comparison_table``; the cost slider offers MACs, params, mem_access and, when
    the rows carry it, the measured latency.
    """
    rows = list(getattr(rows, "rows", rows))
    names = [row["model"] for row in rows]
    costs = [
        (label, column)
        for label, column in COMPARISON_COSTS
        if all(row.get(column) is not None for row in rows)
    ]

    def show(cost: str, models: tuple[str, ...]) -> Table | None:
        if not models:
            print("Choose at least one model (Ctrl/Cmd-click to choose several).")
            return None
        table = comparison_table(rows, models, cost)
        display(table)
        plot_pareto(table.rows, cost, "top1", title=f"ImageNet top-1 against {cost}, {len(models)} models")
        plt.show()
        return table

    return _explorer(
        show,
        cost=widgets.SelectionSlider(
            options=costs, value="macs", description="cost", continuous_update=False
        ),
        models=widgets.SelectMultiple(
            options=names, value=tuple(names), rows=len(names), description="models"
        ),
    )
