"""MobileNetV2 (Sandler et al. 2018, arXiv 1801.04381): inverted residuals and linear bottlenecks.

A 3x3 stem convolution, 17 ``InvertedResidual`` blocks in 7 stages (Table 2 of the paper), a 1x1
convolution to 1280 channels, global average pooling and a dropout + Linear classifier. ReLU6
everywhere except after each block's projection, which stays linear.

Module and parameter names are torchvision's (``features.1.conv.0.0.weight``, ``classifier.1.bias``),
so ``model.load_state_dict(torchvision.models.mobilenet_v2().state_dict())`` works at every width,
and the two compute the same outputs. Width 1.0: 3,504,872 parameters, 300.8 million multiply-adds.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import (
    ConvBNAct,
    InvertedResidual,
    check_builder_args,
    check_image_batch,
    init_weights,
    make_divisible,
)

__all__ = ["MobileNetV2", "mobilenet_v2"]

# Table 2 of the paper. Stem: conv2d 3x3, 32 channels, stride 2.
STEM_CHANNELS = 32
# Then the bottleneck stages: expansion t, output channels c, repeats n, stride s of the first block.
INVERTED_RESIDUAL_SETTING = [
    # t, c, n, s
    (1, 16, 1, 1),
    (6, 24, 2, 2),  # cifar=True: s = 1
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
# Then conv2d 1x1 to 1280 channels, avgpool, and the classifier.
LAST_CHANNELS = 1280
# cifar=True (32x32 inputs): the stem and the first stride-2 stage (c = 24) use stride 1, so the
# network downsamples 8x instead of 32x and the last feature map is 4x4 instead of 1x1.
CIFAR_STRIDE_1_STAGE = 24


class MobileNetV2(nn.Module):
    """MobileNetV2 built from the paper's Table 2; see ``mobilenet_v2`` for the arguments."""

    def __init__(
        self, num_classes: int = 1000, width_mult: float = 1.0, cifar: bool = False, dropout: float = 0.2
    ) -> None:
        super().__init__()
        check_builder_args("mobilenet_v2", num_classes, cifar, width_mult=width_mult, dropout=dropout)
        self.config = {
            "name": "mobilenet_v2",
            "num_classes": num_classes,
            "cifar": cifar,
            "width_mult": width_mult,
            "dropout": dropout,
        }

        in_channels = make_divisible(STEM_CHANNELS * width_mult)
        # The paper thins every layer but the last conv: narrower nets keep 1280 features to classify.
        last_channels = make_divisible(LAST_CHANNELS * max(1.0, width_mult))

        stem_stride = 1 if cifar else 2
        features: list[nn.Module] = [ConvBNAct(3, in_channels, 3, stem_stride, activation=nn.ReLU6)]
        total_stride = stem_stride
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            if cifar and c == CIFAR_STRIDE_1_STAGE:
                s = 1
            out_channels = make_divisible(c * width_mult)
            for i in range(n):
                # Only the first block of a stage changes resolution and width.
                stride = s if i == 0 else 1
                features.append(InvertedResidual(in_channels, out_channels, stride, expand_ratio=t))
                in_channels = out_channels
            total_stride *= s
        features.append(ConvBNAct(in_channels, last_channels, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*features)
        # Smaller inputs would shrink to 1x1 before the last stage and leave it only padding to see.
        self.min_input_size = total_stride

        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_channels, num_classes))
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, "mobilenet_v2", self.min_input_size, cifar=self.config["cifar"])
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v2(
    num_classes: int = 1000, *, width_mult: float = 1.0, cifar: bool = False, dropout: float = 0.2
) -> MobileNetV2:
    """MobileNetV2 with torchvision's parameter names, so torchvision's ImageNet weights load.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        width_mult: every layer gets ``make_divisible(width_mult * channels)`` channels, except the last
            conv, which never goes below 1280. The paper and torchvision use 0.35 to 1.4.
        cifar: ``True`` for 32x32 inputs: the stem and the first stride-2 stage (the 24-channel one)
            use stride 1, as in the usual CIFAR ports, so the network downsamples 8x and the last
            feature map is 4x4. Parameter names and shapes do not change, so ImageNet weights still
            load for transfer learning.
        dropout: dropout before the classifier.

    Returns:
        The model; ``model.config`` holds the arguments so ``get_model(**model.config)`` rebuilds it.
    """
    return MobileNetV2(num_classes, width_mult=width_mult, cifar=cifar, dropout=dropout)
