"""MobileNetV1 (Howard et al. 2017, arXiv 1704.04861): a plain stack of depthwise-separable blocks.

A 3x3 stem convolution, 13 ``DepthwiseSeparable`` blocks (Table 1 of the paper), global average
pooling and one fully connected layer. BatchNorm + ReLU follow every convolution.

At width 1.0 and 224x224 it costs 568,740,352 multiply-adds (the paper's "569 million") and has
4,231,976 parameters (4,210,088 in convolutions and the classifier, the paper's "4.2 million", plus
21,888 BatchNorm scales and shifts). torchvision has no MobileNetV1, so the names here are the
course's own (``features.1.depthwise.0.weight``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import (
    ConvBNAct,
    DepthwiseSeparable,
    check_builder_args,
    check_image_batch,
    init_weights,
    make_divisible,
)

__all__ = ["MobileNetV1", "mobilenet_v1"]

# Table 1 of the paper. The stem: Conv 3x3, 32 filters, stride 2 (stride 1 with cifar=True).
STEM_CHANNELS = 32
# Then 13 depthwise-separable blocks:
# (stride of the 3x3 depthwise conv, output channels of the 1x1 pointwise conv)
DEPTHWISE_SEPARABLE_SETTING = [
    (1, 64),
    (2, 128),
    (1, 128),
    (2, 256),
    (1, 256),
    (2, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (2, 1024),
    # The paper prints "Conv dw / s2" here, but its input is already 7x7 and the table's next row
    # is still 7x7: the stride is 1 in every implementation.
    (1, 1024),
]


class MobileNetV1(nn.Module):
    """MobileNetV1 built from the paper's Table 1; see ``mobilenet_v1`` for the arguments."""

    def __init__(
        self, num_classes: int = 1000, width_mult: float = 1.0, cifar: bool = False, dropout: float = 1e-3
    ) -> None:
        super().__init__()
        check_builder_args("mobilenet_v1", num_classes, cifar, width_mult=width_mult, dropout=dropout)
        self.config = {
            "name": "mobilenet_v1",
            "num_classes": num_classes,
            "cifar": cifar,
            "width_mult": width_mult,
            "dropout": dropout,
        }

        # The width multiplier alpha thins every layer; at the paper's widths (1, 0.75, 0.5, 0.25) every
        # alpha * channels is already a multiple of 8, so the rounding only matters for other widths.
        in_channels = make_divisible(STEM_CHANNELS * width_mult)
        stem_stride = 1 if cifar else 2
        features: list[nn.Module] = [ConvBNAct(3, in_channels, 3, stem_stride)]
        total_stride = stem_stride
        for stride, channels in DEPTHWISE_SEPARABLE_SETTING:
            out_channels = make_divisible(channels * width_mult)
            features.append(DepthwiseSeparable(in_channels, out_channels, stride))
            in_channels = out_channels
            total_stride *= stride
        self.features = nn.Sequential(*features)
        # Smaller inputs would shrink to 1x1 before the last stage and leave it only padding to see.
        self.min_input_size = total_stride

        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(in_channels, num_classes))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, "mobilenet_v1", self.min_input_size, cifar=self.config["cifar"])
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v1(
    num_classes: int = 1000, *, width_mult: float = 1.0, cifar: bool = False, dropout: float = 1e-3
) -> MobileNetV1:
    """MobileNetV1: a 3x3 stem conv, 13 depthwise-separable blocks, average pooling, one Linear.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        width_mult: the paper's width multiplier alpha: every layer gets ``alpha * channels`` channels
            (rounded to a multiple of 8). The paper's 1.0 / 0.75 / 0.5 / 0.25 give 569 / 325 / 149 / 41
            million multiply-adds at 224x224 (Table 6).
        cifar: ``True`` for 32x32 inputs: the stem conv has stride 1 instead of 2, so the network
            downsamples 16x instead of 32x and the last feature map is 2x2 instead of 1x1. Parameter
            names and shapes do not change.
        dropout: dropout before the classifier. The default 0.001 is the reference implementations'
            (TensorFlow's keeps 99.9%): the paper trains MobileNets with little regularisation, since
            small models overfit little. Raise it (e.g. 0.2) for long training on small data sets.

    Returns:
        The model; ``model.config`` holds the arguments so ``get_model(**model.config)`` rebuilds it.
    """
    return MobileNetV1(num_classes, width_mult=width_mult, cifar=cifar, dropout=dropout)
