"""Drawn diagrams of the course's building blocks: a picture of each block where the notebooks used to
have ASCII art.

A block is drawn as boxes (one per layer) joined by arrows, one column per branch; a box's width
follows its channels where that says something (the inverted residual's narrow-wide-narrow shape).
The layers and their widths are read from the package's modules wherever a module exists, so a
diagram cannot disagree with the code. Every function returns the ``Figure``.

>>> draw_inverted_residual(24, 6)      # notebook 04
>>> draw_shufflenet_units()            # notebook 06
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

from .models import alexnet_half
from .models.alexnet import ALEXNET_HALF, feature_map_size
from .models.blocks import InvertedResidual

__all__ = [
    "Layer",
    "draw_alexnet",
    "draw_block",
    "draw_depthwise_separable",
    "draw_inverted_residual",
    "draw_mobilenet_v3_block",
    "draw_shufflenet_units",
]

COLOURS = {
    "conv": "#9ecae1",  # a full convolution
    "depthwise": "#a1d99b",  # one filter per channel
    "pointwise": "#fdd0a2",  # 1x1: mixes channels
    "gate": "#dadaeb",  # squeeze-and-excite
    "op": "#f0f0f0",  # add, concatenate, shuffle, split, pool
    "io": "#ffffff",
}


@dataclass
class Layer:
    """One box: its text, its kind (a key of ``COLOURS``) and its relative width (1 = default)."""

    text: str
    kind: str = "conv"
    width: float = 1.0


def _box(ax: plt.Axes, x: float, y: float, layer: Layer, height: float = 0.7) -> tuple[float, float]:
    width = 2.6 * layer.width
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=COLOURS[layer.kind],
            edgecolor="#555555",
            linewidth=1,
        )  # fmt: skip
    )
    ax.text(x, y, layer.text, ha="center", va="center", fontsize=8)
    return y - height / 2, y + height / 2  # bottom, top


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], dashed: bool = False) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=10,
            color="#333333",
            linewidth=1,
            linestyle="--" if dashed else "-",
            shrinkA=0,
            shrinkB=0,
        )  # fmt: skip
    )


def draw_block(
    branches: Sequence[Sequence[Layer]],
    top: Layer | None = None,
    merge: Layer | None = None,
    after: Sequence[Layer] = (),
    title: str = "",
    ax: plt.Axes | None = None,
) -> Figure:
    """Draw a block: ``top`` (the input, or a split), its ``branches`` side by side, top to bottom, then
    ``merge`` (add, concatenate) and the layers ``after`` it. An empty branch is a shortcut: a dashed
    arrow straight from ``top`` to ``merge``."""
    rows = max((len(branch) for branch in branches), default=0) + 2 + len(after)
    if ax is None:
        _, ax = plt.subplots(figsize=(2.9 * max(1, len(branches)), 0.62 * rows + 0.6), layout="constrained")
    step = 1.0
    xs = [3.0 * (i - (len(branches) - 1) / 2) for i in range(len(branches))]
    y = 0.0
    top = top or Layer("input", "io")
    top_bottom, _ = _box(ax, 0.0, y, top)
    deepest = min(-step * len(branch) for branch in branches) if branches else 0.0
    merge_y = deepest - step
    merge = merge or (Layer("output", "io") if len(branches) == 1 else Layer("add", "op"))
    merge_bottom, merge_top = _box(ax, 0.0, merge_y, merge)
    for x, branch in zip(xs, branches):
        previous = (0.0, top_bottom)
        if not branch:
            _arrow(ax, (x if len(branches) > 1 else 0.0, top_bottom), (x if len(branches) > 1 else 0.0, merge_top),
                   dashed=True)  # fmt: skip
            ax.text(x + 0.1, (top_bottom + merge_top) / 2, "identity", fontsize=7, color="#555555")
            continue
        for i, layer in enumerate(branch, start=1):
            bottom, upper = _box(ax, x, -step * i, layer)
            _arrow(ax, previous, (x, upper))
            previous = (x, bottom)
        _arrow(ax, previous, (0.0, merge_top))
    previous_bottom = merge_bottom
    for i, layer in enumerate(after, start=1):
        bottom, upper = _box(ax, 0.0, merge_y - step * i, layer)
        _arrow(ax, (0.0, previous_bottom), (0.0, upper))
        previous_bottom = bottom
    half = max(xs, default=0.0) + 1.9
    ax.set_xlim(-half, half)
    ax.set_ylim(merge_y - step * len(after) - 0.6, 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def _width(channels: int, base: int) -> float:
    """A box width that grows with the channels, on a log scale (4x the channels: one step wider)."""
    return max(0.45, min(1.5, 0.6 + 0.45 * math.log(channels / base, 4))) if base else 1.0


def draw_depthwise_separable(
    in_channels: int = 32, out_channels: int = 64, ax: plt.Axes | None = None
) -> Figure:
    """MobileNetV1's block (notebooks 02-03): a 3x3 depthwise convolution, then a 1x1 pointwise one."""
    branch = [
        Layer(f"3x3 depthwise conv, {in_channels} filters\nBN, ReLU", "depthwise"),
        Layer(f"1x1 conv, {in_channels} -> {out_channels}\nBN, ReLU", "pointwise"),
    ]
    return draw_block(
        [branch], top=Layer(f"input: {in_channels} channels", "io"),
        merge=Layer(f"output: {out_channels} channels", "io"), title="Depthwise-separable convolution", ax=ax,
    )  # fmt: skip


def draw_inverted_residual(channels: int = 24, expand_ratio: int = 6, ax: plt.Axes | None = None) -> Figure:
    """MobileNetV2's block (notebook 04), read from ``InvertedResidual(channels, channels, 1, t)``:
    narrow -> wide -> wide -> narrow, the last 1x1 without activation, and the shortcut."""
    block = InvertedResidual(channels, channels, 1, expand_ratio)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    hidden = convs[0].out_channels
    branch = [
        Layer(f"1x1 conv, {channels} -> {hidden}\nBN, ReLU6", "pointwise", _width(hidden, channels)),
        Layer(f"3x3 depthwise, {hidden}\nBN, ReLU6", "depthwise", _width(hidden, channels)),
        Layer(f"1x1 conv, {hidden} -> {channels}\nBN, no activation (linear)", "pointwise", 0.6),
    ]
    return draw_block(
        [branch, []], top=Layer(f"input: {channels} channels", "io", 0.6), merge=Layer("add", "op", 0.5),
        after=[Layer(f"output: {channels} channels", "io", 0.6)],
        title=f"Inverted residual, t = {expand_ratio}: narrow, wide, narrow", ax=ax,
    )  # fmt: skip


def draw_mobilenet_v3_block(ax: plt.Axes | None = None) -> Figure:
    """MobileNetV3's bneck with squeeze-and-excite (notebook 05): the gate reweights the depthwise
    output channel by channel before the linear projection."""
    branch = [
        Layer("1x1 conv, expand\nBN, h-swish", "pointwise"),
        Layer("3x3 or 5x5 depthwise\nBN, h-swish", "depthwise"),
        Layer("SE: average pool -> 1x1, ReLU\n-> 1x1, h-sigmoid -> multiply", "gate"),
        Layer("1x1 conv, project\nBN, no activation", "pointwise"),
    ]
    return draw_block(
        [branch, []], merge=Layer("add (when shapes agree)", "op"), title="MobileNetV3 block with SE", ax=ax
    )


def draw_shufflenet_units(axes: Sequence[plt.Axes] | None = None) -> Figure:
    """ShuffleNetV2's two units (notebook 06): the basic unit splits the channels and leaves one half
    untouched; the down-sampling unit gives both branches the whole input."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    branch = [
        Layer("1x1 conv, BN, ReLU", "pointwise"),
        Layer("3x3 depthwise, BN", "depthwise"),
        Layer("1x1 conv, BN, ReLU", "pointwise"),
    ]
    draw_block(
        [[], branch], top=Layer("channel split: c/2 | c/2", "op"), merge=Layer("concatenate: c channels", "op"),
        after=[Layer("channel shuffle", "op")], title="Basic unit (stride 1)", ax=axes[0],
    )  # fmt: skip
    down = [Layer("3x3 depthwise, stride 2, BN", "depthwise"), Layer("1x1 conv, BN, ReLU", "pointwise")]
    draw_block(
        [down, [Layer("1x1 conv, BN, ReLU", "pointwise"), Layer("3x3 depthwise, stride 2, BN", "depthwise"),
                Layer("1x1 conv, BN, ReLU", "pointwise")]],
        top=Layer("input: c channels", "io"), merge=Layer("concatenate: 2c' channels", "op"),
        after=[Layer("channel shuffle", "op")], title="Down-sampling unit (stride 2)", ax=axes[1],
    )  # fmt: skip
    return axes[0].figure


def draw_alexnet(input_size: int = 224, ax: plt.Axes | None = None) -> Figure:
    """The half-width AlexNet layer by layer (notebook 01): each convolution as a box whose height
    follows its feature map's side and whose width follows its filters, with the sizes computed from
    the package's model and ``ALEXNET_HALF``."""
    model = alexnet_half()
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 3.2), layout="constrained")
    x, side = 0.0, input_size
    boxes = [("input", 3, side)]
    for index, row in enumerate(ALEXNET_HALF):
        side = feature_map_size(input_size, ALEXNET_HALF[: index + 1])
        boxes.append(
            (f"conv{index + 1} {row[1]}x{row[1]}/{row[2]}" + (" + pool" if row[4] else ""), row[0], side)
        )
    fc = [m for m in model.classifier if isinstance(m, nn.Linear)]
    for index, layer in enumerate(fc, start=6):
        boxes.append((f"fc{index}", layer.out_features, 1))
    for label, channels, size in boxes:
        height = 0.4 + 2.2 * math.sqrt(size / input_size)
        width = 0.25 + 0.1 * math.log2(max(channels, 1))
        ax.add_patch(FancyBboxPatch((x, -height / 2), width, height, boxstyle="round,pad=0.01",
                                    facecolor=COLOURS["io" if label == "input" else "pointwise" if size == 1 else "conv"],
                                    edgecolor="#555555"))  # fmt: skip
        ax.text(x + width / 2, height / 2 + 0.1, label, ha="center", va="bottom", fontsize=7, rotation=30)
        ax.text(x + width / 2, -height / 2 - 0.1, f"{channels} x {size}x{size}" if size > 1 else f"{channels}",
                ha="center", va="top", fontsize=7)  # fmt: skip
        x += width + 0.55
    ax.set_xlim(-0.3, x)
    ax.set_ylim(-2.2, 2.6)
    ax.set_axis_off()
    ax.set_title(
        f"Half-width AlexNet on a {input_size} x {input_size} image: channels x height x width", fontsize=10
    )
    return ax.figure
