"""MobileNetV3 (Howard et al. 2019, arXiv 1905.02244): searched bnecks, squeeze-excite and h-swish.

Two sizes from the paper's Tables 1 (Large) and 2 (Small): a 3x3 stem with 16 channels and h-swish,
a column of ``InvertedResidualV3`` blocks ("bneck"), a 1x1 conv to 6x the last width, global average
pooling, then a Linear layer to 1280 (Large) or 1024 (Small) features with h-swish, dropout and the
classifier. BatchNorm uses ``eps=0.001, momentum=0.01`` as in the reference implementations.

Module and parameter names are torchvision's (``features.4.block.2.fc1.weight``), so
torchvision's ImageNet weights load. Large: 5,483,032 parameters and 216.6 million multiply-adds;
Small: 2,542,856 and 56.5 million (torchvision and TensorFlow use the 1024-wide Small head).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from .blocks import (
    ConvBNAct,
    InvertedResidualV3,
    check_builder_args,
    check_image_batch,
    init_weights,
    make_divisible,
)

__all__ = ["MobileNetV3", "mobilenet_v3_large", "mobilenet_v3_small"]

# The paper's names for the two activations: RE = ReLU, HS = h-swish, x * ReLU6(x + 3) / 6.
RE = nn.ReLU
HS = nn.Hardswish

STEM_CHANNELS = 16
# Tables 1 and 2: one row per bneck. kernel = depthwise kernel size, exp = channels after the 1x1
# expansion, out = output channels, SE = squeeze-and-excite, NL = activation, s = stride.
# cifar=True: the stem and the row marked "cifar: s = 1" use stride 1, so the network downsamples 8x
# and the last feature map is 4x4 for a 32x32 input.
MOBILENET_V3_LARGE = [
    # kernel, exp, out, SE, NL, s
    (3, 16, 16, False, RE, 1),
    (3, 64, 24, False, RE, 2),  # cifar: s = 1
    (3, 72, 24, False, RE, 1),
    (5, 72, 40, True, RE, 2),
    (5, 120, 40, True, RE, 1),
    (5, 120, 40, True, RE, 1),
    (3, 240, 80, False, HS, 2),
    (3, 200, 80, False, HS, 1),
    (3, 184, 80, False, HS, 1),
    (3, 184, 80, False, HS, 1),
    (3, 480, 112, True, HS, 1),
    (3, 672, 112, True, HS, 1),
    (5, 672, 160, True, HS, 2),
    (5, 960, 160, True, HS, 1),
    (5, 960, 160, True, HS, 1),
]
MOBILENET_V3_SMALL = [
    # kernel, exp, out, SE, NL, s
    (3, 16, 16, True, RE, 2),  # cifar: s = 1
    (3, 72, 24, False, RE, 2),
    (3, 88, 24, False, RE, 1),
    (5, 96, 40, True, HS, 2),
    (5, 240, 40, True, HS, 1),
    (5, 240, 40, True, HS, 1),
    (5, 120, 48, True, HS, 1),
    (5, 144, 48, True, HS, 1),
    (5, 288, 96, True, HS, 2),
    (5, 576, 96, True, HS, 1),
    (5, 576, 96, True, HS, 1),
]
# After the bnecks: conv 1x1 to 6x the last width (960 / 576), pool, then a Linear layer to this width.
HEAD_CHANNELS = {"large": 1280, "small": 1024}
SETTINGS = {"large": MOBILENET_V3_LARGE, "small": MOBILENET_V3_SMALL}
# Each table's first stride-2 bneck, the one that keeps stride 1 with cifar=True.
CIFAR_STRIDE_1_ROW = {"large": 1, "small": 0}


class MobileNetV3(nn.Module):
    """MobileNetV3 built from the paper's Table 1 (``size="large"``) or Table 2 (``size="small"``).

    See ``mobilenet_v3_large`` for the other arguments.
    """

    def __init__(
        self,
        size: str = "large",
        num_classes: int = 1000,
        width_mult: float = 1.0,
        cifar: bool = False,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if size not in SETTINGS:
            raise ValueError(f"MobileNetV3: size must be one of {sorted(SETTINGS)}, got {size!r}")
        name = f"mobilenet_v3_{size}"
        check_builder_args(name, num_classes, cifar, width_mult=width_mult, dropout=dropout)
        self.config = {
            "name": name,
            "num_classes": num_classes,
            "cifar": cifar,
            "width_mult": width_mult,
            "dropout": dropout,
        }
        # TensorFlow's reference training used these BatchNorm settings; the eps is part of what
        # trained weights expect, so ImageNet weights only give their accuracy with it.
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)

        in_channels = make_divisible(STEM_CHANNELS * width_mult)
        stem_stride = 1 if cifar else 2
        features: list[nn.Module] = [
            ConvBNAct(3, in_channels, 3, stem_stride, activation=HS, norm_layer=norm_layer)
        ]
        total_stride = stem_stride
        for row, (kernel, exp, out, use_se, activation, stride) in enumerate(SETTINGS[size]):
            if cifar and row == CIFAR_STRIDE_1_ROW[size]:
                stride = 1
            out_channels = make_divisible(out * width_mult)
            features.append(
                InvertedResidualV3(
                    in_channels,
                    expanded_channels=make_divisible(exp * width_mult),
                    out_channels=out_channels,
                    kernel_size=kernel,
                    stride=stride,
                    use_se=use_se,
                    activation=activation,
                    norm_layer=norm_layer,
                )
            )
            in_channels = out_channels
            total_stride *= stride
        last_conv_channels = 6 * in_channels
        features.append(ConvBNAct(in_channels, last_conv_channels, 1, activation=HS, norm_layer=norm_layer))
        self.features = nn.Sequential(*features)
        # Smaller inputs would shrink to 1x1 before the last stage and leave it only padding to see.
        self.min_input_size = total_stride

        self.avgpool = nn.AdaptiveAvgPool2d(1)
        # The paper's "conv2d 1x1, NBN" layers after pooling act on a 1x1 map: they are Linear layers.
        head_channels = make_divisible(HEAD_CHANNELS[size] * width_mult)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv_channels, head_channels),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(head_channels, num_classes),
        )
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, self.config["name"], self.min_input_size, cifar=self.config["cifar"])
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v3_large(
    num_classes: int = 1000, *, width_mult: float = 1.0, cifar: bool = False, dropout: float = 0.2
) -> MobileNetV3:
    """MobileNetV3-Large (the paper's Table 1) with torchvision's parameter names.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        width_mult: every layer gets ``make_divisible(width_mult * channels)`` channels, as in torchvision.
            This does not reproduce the paper's 0.75 row: torchvision's 0.75 Large has 140 million
            multiply-adds and 3.4 million parameters, the paper lists 155 million and 4.0 million.
        cifar: ``True`` for 32x32 inputs: the stem and the first stride-2 bneck (the 3x3, 64 -> 24 row)
            use stride 1, so the network downsamples 8x and the last feature map is 4x4. Parameter
            names and shapes do not change, so ImageNet weights still load for transfer learning.
        dropout: dropout before the last Linear layer.

    Returns:
        The model; ``model.config`` holds the arguments so ``get_model(**model.config)`` rebuilds it.
    """
    return MobileNetV3("large", num_classes, width_mult=width_mult, cifar=cifar, dropout=dropout)


def mobilenet_v3_small(
    num_classes: int = 1000, *, width_mult: float = 1.0, cifar: bool = False, dropout: float = 0.2
) -> MobileNetV3:
    """MobileNetV3-Small (the paper's Table 2, 1024-wide head) with torchvision's parameter names.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        width_mult: every layer gets ``make_divisible(width_mult * channels)`` channels, as in torchvision.
        cifar: ``True`` for 32x32 inputs: the stem and the first bneck (3x3, 16 channels with SE, the
            first stride-2 row) use stride 1, so the network downsamples 8x and the last feature map
            is 4x4. Parameter names and shapes do not change.
        dropout: dropout before the last Linear layer.

    Returns:
        The model; ``model.config`` holds the arguments so ``get_model(**model.config)`` rebuilds it.
    """
    return MobileNetV3("small", num_classes, width_mult=width_mult, cifar=cifar, dropout=dropout)
