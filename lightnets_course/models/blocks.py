"""Building blocks shared by every model family in the course.

Each block is written once here and reused by the model files, so a learner who understands
``ConvBNAct`` or ``InvertedResidual`` in one notebook recognises it in every later one:

- ``make_divisible``: the channel-rounding rule of the MobileNet family;
- ``ConvBNAct``: convolution + BatchNorm + activation, the unit every network here is made of;
- ``DepthwiseSeparable``: MobileNetV1's 3x3 depthwise + 1x1 pointwise pair;
- ``InvertedResidual``: MobileNetV2's expand / depthwise / linear-projection block;
- ``InvertedResidualV3`` and ``SqueezeExcite``: MobileNetV3's "bneck" and its attention gate;
- ``channel_shuffle`` and ``ShuffleUnit``: ShuffleNetV2's building unit.

Module and parameter names follow torchvision (``features.3.conv.1.0.weight``, ``branch2.3.weight``,
``block.2.fc1.bias``), so torchvision's ImageNet weights load into the course's models unchanged.

The module also holds the argument and input checks every model shares, so a learner's mistake gets
the same clear message whichever network they build.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from numbers import Real

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "make_divisible",
    "ConvBNAct",
    "DepthwiseSeparable",
    "InvertedResidual",
    "InvertedResidualV3",
    "SqueezeExcite",
    "channel_shuffle",
    "concat_shuffle",
    "ConcatShuffleSplit",
    "ShuffleUnit",
    "check_builder_args",
    "check_image_batch",
    "init_weights",
]


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` (MobileNet's rule).

    Hardware runs convolutions fastest when channel counts are multiples of 8, so MobileNetV2/V3
    round every ``channels * width_mult`` with this rule (the same one TensorFlow's and
    torchvision's MobileNets use):

    - round to the nearest multiple of ``divisor``, but never below ``min_value`` (default: ``divisor``);
    - if that lost more than 10% of ``v``, go one multiple up instead.

    Examples: ``make_divisible(32 * 0.35) == 16`` (11.2 is closer to 8, but 8 would lose 29%),
    ``make_divisible(96 * 0.75) == 72``, ``make_divisible(1280 * 1.4) == 1792``.
    """
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * v:
        rounded += divisor
    return rounded


class ConvBNAct(nn.Sequential):
    """Convolution, then BatchNorm, then an activation: the unit every network here is built from.

    Children are named ``"0"`` (``nn.Conv2d``), ``"1"`` (BatchNorm) and ``"2"`` (activation, left out
    when ``activation=None``), exactly like torchvision's ``Conv2dNormActivation``, so parameter names
    such as ``features.0.1.running_var`` match torchvision's.

    Args:
        in_channels: channels of the input feature map.
        out_channels: channels produced.
        kernel_size: square kernel size; padding is ``(kernel_size - 1) // 2`` so stride 1 keeps H x W.
        stride: 2 halves H and W.
        groups: ``groups == in_channels`` makes it a depthwise convolution (one filter per channel).
        activation: activation class such as ``nn.ReLU``, ``nn.ReLU6`` or ``nn.Hardswish``, or ``None``
            for a linear output (MobileNetV2's projection, ShuffleNetV2's depthwise conv).
        norm_layer: BatchNorm factory; MobileNetV3 passes one with ``eps=0.001, momentum=0.01``.

    The convolution has no bias: the BatchNorm right after it has its own shift, so a bias would be a
    wasted parameter.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        activation: Callable[..., nn.Module] | None = nn.ReLU,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        padding = (kernel_size - 1) // 2
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
            norm_layer(out_channels),
        ]
        if activation is not None:
            # In-place saves one feature map of memory per layer; BatchNorm's output is not needed again.
            layers.append(activation(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class DepthwiseSeparable(nn.Sequential):
    """MobileNetV1's block: a 3x3 depthwise ConvBNAct, then a 1x1 pointwise ConvBNAct.

    The depthwise conv filters each channel on its own (spatial mixing, ``stride`` applies here);
    the pointwise conv mixes channels. Together they cost ``1/out_channels + 1/9`` of a standard
    3x3 convolution, 8-9x less for the widths MobileNet uses.

    Children are named ``depthwise`` and ``pointwise``, so parameter names say which half they are in
    (``features.1.depthwise.0.weight``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        activation: Callable[..., nn.Module] = nn.ReLU,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__(
            OrderedDict(
                depthwise=ConvBNAct(
                    in_channels,
                    in_channels,
                    3,
                    stride,
                    groups=in_channels,
                    activation=activation,
                    norm_layer=norm_layer,
                ),
                pointwise=ConvBNAct(
                    in_channels, out_channels, 1, activation=activation, norm_layer=norm_layer
                ),
            )
        )
        self.out_channels = out_channels


class InvertedResidual(nn.Module):
    """MobileNetV2's inverted residual block with a linear bottleneck (Sandler et al. 2018, Table 1).

    1. 1x1 conv expands ``in_channels`` to ``in_channels * expand_ratio`` channels, ReLU6
       (skipped when ``expand_ratio == 1``: there is nothing to expand);
    2. 3x3 depthwise conv with ``stride``, ReLU6;
    3. 1x1 conv projects to ``out_channels`` with **no** activation: a ReLU on this narrow
       output would destroy information (the "linear bottleneck").

    The input is added to the output when the shapes agree (stride 1 and ``in_channels ==
    out_channels``). The layers live in ``self.conv`` with torchvision's names (``conv.0.0.weight``
    ... ``conv.3.running_var``), the projection being a bare conv + BatchNorm as in torchvision.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: float,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride!r}")
        hidden_channels = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels

        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(
                ConvBNAct(in_channels, hidden_channels, 1, activation=nn.ReLU6, norm_layer=norm_layer)
            )
        layers += [
            ConvBNAct(
                hidden_channels,
                hidden_channels,
                3,
                stride,
                groups=hidden_channels,
                activation=nn.ReLU6,
                norm_layer=norm_layer,
            ),
            nn.Conv2d(hidden_channels, out_channels, 1, bias=False),
            norm_layer(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation gate as MobileNetV3 uses it: reweights each channel by a learned score.

    Global average pooling "squeezes" each channel to one number, a 1x1 conv (``fc1``) narrows to
    ``squeeze_channels`` with ReLU, a second (``fc2``) widens back, and a hard-sigmoid turns the
    result into a gate in [0, 1] that multiplies the input channel-wise.

    ``squeeze_channels`` defaults to ``make_divisible(channels // 4, 8)``, MobileNetV3's fixed
    quarter of the expansion width. Names ``fc1`` / ``fc2`` match torchvision's SqueezeExcitation.
    """

    def __init__(self, channels: int, squeeze_channels: int | None = None) -> None:
        super().__init__()
        if squeeze_channels is None:
            squeeze_channels = make_divisible(channels // 4, 8)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        # Hard-sigmoid, ReLU6(x + 3) / 6: the paper's cheap stand-in for the sigmoid.
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.avgpool(x)
        scale = self.activation(self.fc1(scale))
        scale = self.scale_activation(self.fc2(scale))
        return x * scale


class InvertedResidualV3(nn.Module):
    """MobileNetV3's bottleneck ("bneck" in the paper's Tables 1 and 2).

    MobileNetV2's inverted residual with three options, one per column of the paper's table:
    the depthwise ``kernel_size`` (3 or 5), an optional ``SqueezeExcite`` after the depthwise conv
    (``use_se``), and the ``activation`` (``nn.ReLU`` in early layers, ``nn.Hardswish`` later).

    Unlike MobileNetV2 the width after expansion is given directly (``expanded_channels``), because
    the paper's table lists it directly (e.g. 80 -> 184 channels). The expansion conv is skipped when
    it would not change the width. Layers live in ``self.block`` with torchvision's names
    (``block.0.0.weight``, ``block.2.fc1.weight``, ...).
    """

    def __init__(
        self,
        in_channels: int,
        expanded_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        use_se: bool,
        activation: Callable[..., nn.Module],
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidualV3: stride must be 1 or 2, got {stride!r}")
        self.use_residual = stride == 1 and in_channels == out_channels

        layers: list[nn.Module] = []
        if expanded_channels != in_channels:
            layers.append(
                ConvBNAct(in_channels, expanded_channels, 1, activation=activation, norm_layer=norm_layer)
            )
        layers.append(
            ConvBNAct(
                expanded_channels,
                expanded_channels,
                kernel_size,
                stride,
                groups=expanded_channels,
                activation=activation,
                norm_layer=norm_layer,
            )
        )
        if use_se:
            layers.append(SqueezeExcite(expanded_channels))
        layers.append(ConvBNAct(expanded_channels, out_channels, 1, activation=None, norm_layer=norm_layer))
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``x`` (N, C, H, W) across ``groups`` groups.

    Channels ``[a0 a1 a2 | b0 b1 b2]`` with ``groups=2`` become ``[a0 b0 a1 b1 a2 b2]``: view the
    channels as a (groups, C / groups) grid, transpose it, flatten again. ShuffleNetV2 uses it after
    concatenating its two branches, so information flows between them in the next unit.
    """
    batch, channels, height, width = x.shape
    if channels % groups != 0:
        raise ValueError(
            f"channel_shuffle: the number of channels ({channels}) must be divisible by groups ({groups})"
        )
    x = x.view(batch, groups, channels // groups, height, width)
    x = x.transpose(1, 2).contiguous()
    return x.view(batch, channels, height, width)


def concat_shuffle(first: Tensor, second: Tensor) -> Tensor:
    """``channel_shuffle(torch.cat((first, second), dim=1), 2)``, written in one copy instead of two.

    ShuffleNetV2's paper (Section 4) merges three successive element-wise operations, a unit's concat
    and channel shuffle and the next unit's channel split, into a single one (guideline G4). Here: the
    two halves side by side on a new axis after the channels, then flattened. ``torch.stack`` writes
    every element once, already interleaved as ``[a0 b0 a1 b1 ...]``; ``cat`` then ``channel_shuffle``
    write it twice. The split that follows costs nothing (``chunk`` returns two views).
    """
    if first.shape != second.shape:
        raise ValueError(
            f"concat_shuffle: the two halves must have the same shape; got {tuple(first.shape)} and "
            f"{tuple(second.shape)}"
        )
    return torch.stack((first, second), dim=2).flatten(1, 2)


class ConcatShuffleSplit(nn.Module):
    """The seam between two basic units: concat the kept half and the branch's output, shuffle, split.

    The input's two halves stand for the kept channels and the branch's output. ``merged=False`` runs
    the three operations as a unit does (``torch.cat``, ``channel_shuffle``, ``chunk``), ``merged=True``
    runs ``concat_shuffle`` and ``chunk``. Both return the same two halves; notebook 06 times them.
    """

    def __init__(self, merged: bool) -> None:
        super().__init__()
        self.merged = merged

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        kept, processed = x.chunk(2, dim=1)
        if self.merged:
            out = concat_shuffle(kept, processed)
        else:
            out = channel_shuffle(torch.cat((kept, processed), dim=1), 2)
        return out.chunk(2, dim=1)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's building unit (Ma et al. 2018, Fig. 3 c and d).

    - ``stride=1`` (basic unit): **channel split**. Half the channels pass through untouched
      (``branch1`` is an identity), the other half go through ``branch2``: 1x1 conv, 3x3 depthwise
      conv, 1x1 conv. Input and output widths must be equal (guideline G1: equal widths cost least
      memory access).
    - ``stride=2`` (down-sampling unit): both branches see the whole input. ``branch1`` is a 3x3
      depthwise conv with stride 2 and a 1x1 conv; ``branch2`` as above with a stride-2 depthwise conv.
      The output width is doubled by concatenation, with no element-wise addition (guideline G4).

    The branches are concatenated and the channels shuffled with ``channel_shuffle(out, 2)``. Names
    ``branch1`` / ``branch2`` and their indices (``branch2.3.weight`` = the depthwise conv) match
    torchvision's ShuffleNetV2.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ShuffleUnit: stride must be 1 or 2, got {stride!r}")
        if out_channels % 2 != 0:
            raise ValueError(
                f"ShuffleUnit: out_channels must be even (two equal branches), got {out_channels}"
            )
        if stride == 1 and in_channels != out_channels:
            raise ValueError(
                "ShuffleUnit: a stride-1 unit splits its input in two equal halves, so in_channels must "
                f"equal out_channels; got in_channels={in_channels}, out_channels={out_channels}"
            )
        self.stride = stride
        branch_channels = out_channels // 2

        # torchvision keeps each branch as one flat nn.Sequential (branch1.0, branch1.1, ...), so the
        # ConvBNAct children are unpacked into it rather than nested.
        if stride == 2:
            self.branch1 = nn.Sequential(
                *ConvBNAct(in_channels, in_channels, 3, stride, groups=in_channels, activation=None),
                *ConvBNAct(in_channels, branch_channels, 1),
            )
        else:
            self.branch1 = nn.Identity()
        branch2_in = in_channels if stride == 2 else branch_channels
        self.branch2 = nn.Sequential(
            *ConvBNAct(branch2_in, branch_channels, 1),
            # ShuffleNetV2 has no ReLU after its depthwise convs (guideline G4: fewer element-wise ops).
            *ConvBNAct(branch_channels, branch_channels, 3, stride, groups=branch_channels, activation=None),
            *ConvBNAct(branch_channels, branch_channels, 1),
        )
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            kept, processed = x.chunk(2, dim=1)
            out = torch.cat((self.branch1(kept), self.branch2(processed)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


def init_weights(model: nn.Module) -> None:
    """Initialise a MobileNet the way torchvision does before training.

    Convs get Kaiming-normal weights (fan-out, suited to ReLU-family activations), BatchNorm starts as
    the identity (scale 1, shift 0) and linear layers get small N(0, 0.01) weights so the first logits
    are near zero and the first loss is near ``log(num_classes)``.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def check_builder_args(
    model_name: str,
    num_classes: int,
    cifar: bool,
    width_mult: float | None = None,
    dropout: float | None = None,
) -> None:
    """Reject bad model arguments at construction, with a message that says how to fix them.

    ``width_mult`` and ``dropout`` are only checked when given (not every family has them).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(
            f"{model_name}: num_classes must be an int (the number of output classes, e.g. 10 for "
            f"CIFAR-10), got {num_classes!r} of type {type(num_classes).__name__}"
        )
    if num_classes < 1:
        raise ValueError(
            f"{model_name}: num_classes must be at least 1 (e.g. 10 for CIFAR-10, 1000 for ImageNet), "
            f"got {num_classes}"
        )
    if not isinstance(cifar, bool):
        raise TypeError(
            f"{model_name}: cifar must be True (32 x 32 inputs) or False (224 x 224 inputs), got {cifar!r}"
        )
    if width_mult is not None:
        if isinstance(width_mult, bool) or not isinstance(width_mult, Real):
            raise TypeError(
                f"{model_name}: width_mult must be a positive number such as 0.5, 0.75, 1.0 or 1.4, "
                f"got {width_mult!r} of type {type(width_mult).__name__}"
            )
        if not width_mult > 0:
            raise ValueError(
                f"{model_name}: width_mult must be a positive number such as 0.5, 0.75, 1.0 or 1.4, "
                f"got {width_mult}"
            )
    if dropout is not None:
        message = (
            f"{model_name}: dropout must be a probability in [0, 1) (e.g. 0.2; 0 turns it off), "
            f"got {dropout!r}"
        )
        if isinstance(dropout, bool) or not isinstance(dropout, Real):
            raise TypeError(message)
        if not 0 <= dropout < 1:
            raise ValueError(message)


def check_image_batch(
    x: object,
    model_name: str,
    min_size: int,
    max_size: int | None = None,
    cifar: bool = False,
) -> None:
    """Check a model's input before the first convolution, so a mistake gets a message, not a traceback.

    ``x`` must be a float tensor of shape (N, 3, H, W) with ``min_size <= H, W`` (and ``<= max_size``
    for a network without adaptive pooling). Called at the top of every course model's ``forward``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{model_name} expects a torch.Tensor of shape (N, 3, H, W), got {type(x).__name__}; "
            "convert images with torchvision.transforms.ToTensor() (and add a batch dimension)"
        )
    if x.dim() != 4:
        hint = "add a batch dimension with x.unsqueeze(0)" if x.dim() == 3 else "reshape it to (N, 3, H, W)"
        raise ValueError(
            f"{model_name} expects a 4D batch of images of shape (N, 3, H, W), got a {x.dim()}D tensor "
            f"of shape {tuple(x.shape)}; {hint}"
        )
    if x.shape[1] != 3:
        raise ValueError(
            f"{model_name} expects 3-channel RGB input of shape (N, 3, H, W), got shape {tuple(x.shape)}; "
            "convert grayscale with x.expand(-1, 3, -1, -1) or transforms.Grayscale(num_output_channels=3), "
            "drop an alpha channel with x[:, :3], or move channels first with x.permute(0, 3, 1, 2)"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{model_name} expects a floating-point tensor, got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255 or transforms.ToTensor()"
        )
    height, width = x.shape[-2:]
    if max_size is not None and not (min_size <= height <= max_size and min_size <= width <= max_size):
        resize = "transforms.Resize(32)" if cifar else "transforms.Resize(224) and CenterCrop(224)"
        other = "" if cifar else ", or build it with cifar=True for 32 x 32 images"
        raise ValueError(
            f"{model_name} has no adaptive pooling, so its first Linear layer only fits inputs from "
            f"{min_size} to {max_size} pixels a side; got {height} x {width}; resize with {resize}{other}"
        )
    if height < min_size or width < min_size:
        if cifar:
            fix = "resize the images up with transforms.Resize(32)"
        else:
            fix = "resize the images with transforms.Resize(224), or build the model with cifar=True"
        raise ValueError(
            f"{model_name} needs inputs of at least {min_size} x {min_size} pixels, "
            f"got {height} x {width}; {fix}"
        )


# ---------------------------------------------------------------------------------------------------
# For the notebooks: the activations' curves, and where channel shuffle sends each channel

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
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be a whole number of at least 2; got {points!r}")
    curves = {}
    for name in names:
        x = torch.linspace(x_min, x_max, points, dtype=torch.float64, requires_grad=True)
        y = ACTIVATIONS[name](x)
        (slope,) = torch.autograd.grad(y.sum(), x)
        curves[name] = (x.detach(), y.detach(), slope)
    return curves


def channel_shuffle_order(channels: int, groups: int) -> list[int]:
    """The input channel found at each output position after ``channel_shuffle(x, groups)``.

    Runs the package's ``channel_shuffle`` on a tensor whose channel ``c`` holds the number ``c``, so
    the answer comes from the operation the models use, not from a formula. Example::

        >>> channel_shuffle_order(6, 2)
        [0, 3, 1, 4, 2, 5]

    Position 1 holds channel 3: the first channel of the second group moved next to the first group's.
    """
    for value, name in ((channels, "channels"), (groups, "groups")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    if channels % groups:
        raise ValueError(
            f"groups={groups} must divide channels={channels}: the shuffle views the channels as a "
            f"(groups, channels / groups) grid"
        )
    numbered = torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1)
    return [int(channel) for channel in channel_shuffle(numbered, groups).flatten()]
