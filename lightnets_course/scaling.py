"""How a MobileNet's costs move with its knobs: the width multiplier, the input resolution, and the
widths inside an inverted residual block (notebooks 03 and 04, and their explorers).

>>> mobilenet_v1_tradeoff(0.75, 224)["paper_top1"]
68.4
>>> channel_widths(InvertedResidual(24, 24, stride=1, expand_ratio=6))
[('input', 24), ('1x1', 144), ('3x3 dw', 144), ('1x1', 24)]
"""

from __future__ import annotations

import functools

from torch import nn

from . import papers
from .checks import whole_number
from .complexity import profile
from .models import mobilenet_v1, mobilenet_v2
from .models.blocks import InvertedResidual, SqueezeExcite

__all__ = ["channel_widths", "inverted_residual_widths", "mobilenet_v1_tradeoff", "mobilenet_v2_cost"]


def _positive(value: object, name: str) -> None:
    whole_number(value, name)


@functools.lru_cache(maxsize=128)
def _mobilenet_v1_counts(width_mult: float, resolution: int) -> tuple[int, int]:
    measured = profile(mobilenet_v1(width_mult=width_mult), (3, resolution, resolution))
    return measured.macs, measured.params


def mobilenet_v1_tradeoff(width_mult: float = 1.0, resolution: int = 224) -> dict[str, object]:
    """MACs and params of MobileNetV1 (1000 classes) at one width multiplier and input resolution,
    with the paper's ImageNet top-1 where its Table 6 or 7 reports that network.

    Returns a dict: ``width_mult``, ``resolution``, ``macs`` and ``params`` (measured with
    ``complexity.profile``), ``paper_top1`` (percent, or ``None`` when the paper has no such row) and
    ``paper_table`` (``"Table 6"``, ``"Table 7"``, ``"Table 9"`` or ``None``). Example::

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
    elif (width_mult, resolution) == (0.5, 160):
        top1, table = papers.MOBILENET_V1_TABLE9["0.50 MobileNet-160"][0], "Table 9"
    return {
        "width_mult": width_mult,
        "resolution": resolution,
        "macs": macs,
        "params": params,
        "paper_top1": top1,
        "paper_table": table,
    }


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
    _positive(in_channels, "in_channels")
    _positive(out_channels, "out_channels")
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
