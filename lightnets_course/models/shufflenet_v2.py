"""ShuffleNetV2 (Ma et al. 2018, arXiv 1807.11164): channel split, channel shuffle, no group convs.

Table 5 of the paper: a 3x3 stem conv (24 channels, stride 2) and a 3x3/2 max-pool, three stages of
``ShuffleUnit`` (the first unit of each halves the resolution and doubles the width), a 1x1 conv5,
global average pooling and the classifier. Four widths, each its own model: 0.5x, 1x, 1.5x, 2x.

Module and parameter names are torchvision's (``stage2.0.branch1.0.weight``, ``conv5.1.bias``), so
torchvision's ImageNet weights load. Parameters: 1,366,792 / 2,278,604 / 3,503,624 / 7,393,996
and multiply-adds 40.5 / 144.9 / 295.8 / 583.3 million (the paper: 41 / 146 / 299 / 591 "FLOPs",
which it defines as multiply-adds).
"""

from __future__ import annotations

from torch import Tensor, nn

from .blocks import ConvBNAct, ShuffleUnit, check_builder_args, check_image_batch

__all__ = [
    "ShuffleNetV2",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
]

# Table 5 of the paper. Units per stage (stage2, stage3, stage4): one stride-2 unit, then stride-1 units.
STAGE_REPEATS = [4, 8, 4]
# Output channels of conv1, stage2, stage3, stage4 and conv5 for each width.
STAGE_OUT_CHANNELS = {
    0.5: [24, 48, 96, 192, 1024],
    1.0: [24, 116, 232, 464, 1024],
    1.5: [24, 176, 352, 704, 1024],
    2.0: [24, 244, 488, 976, 2048],
}
# cifar=True (32x32 inputs): conv1 has stride 1 and there is no max-pool, so the network downsamples
# 8x instead of 32x: a 32x32 image ends as a 4x4 feature map instead of 1x1.


def _registry_name(width_mult: float) -> str:
    return "shufflenet_v2_x" + f"{width_mult:.1f}".replace(".", "_")


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2 at one of the paper's widths (``width_mult`` 0.5, 1.0, 1.5 or 2.0).

    See ``shufflenet_v2_x1_0`` for the other arguments.
    """

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, cifar: bool = False) -> None:
        super().__init__()
        if width_mult not in STAGE_OUT_CHANNELS:
            raise ValueError(
                f"ShuffleNetV2: width_mult must be one of the paper's widths {list(STAGE_OUT_CHANNELS)}, "
                f"got {width_mult!r}; use shufflenet_v2_x0_5, _x1_0, _x1_5 or _x2_0"
            )
        name = _registry_name(width_mult)
        check_builder_args(name, num_classes, cifar)
        self.config = {"name": name, "num_classes": num_classes, "cifar": cifar}
        conv1_channels, *stage_channels, conv5_channels = STAGE_OUT_CHANNELS[width_mult]

        conv1_stride = 1 if cifar else 2
        self.conv1 = ConvBNAct(3, conv1_channels, 3, conv1_stride)
        # With 32x32 inputs an early max-pool would throw away three quarters of a tiny image.
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        total_stride = conv1_stride if cifar else conv1_stride * 2

        stages = []
        in_channels = conv1_channels
        for repeats, out_channels in zip(STAGE_REPEATS, stage_channels):
            units = [ShuffleUnit(in_channels, out_channels, stride=2)]
            units += [ShuffleUnit(out_channels, out_channels, stride=1) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*units))
            in_channels = out_channels
            total_stride *= 2
        self.stage2, self.stage3, self.stage4 = stages

        self.conv5 = ConvBNAct(in_channels, conv5_channels, 1)
        # Smaller inputs would shrink to 1x1 before the last stage and leave it only padding to see.
        self.min_input_size = total_stride
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(conv5_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, self.config["name"], self.min_input_size, cifar=self.config["cifar"])
        x = self.conv1(x)
        x = self.maxpool(x)
        x = self.stage2(x)
        x = self.stage3(x)
        x = self.stage4(x)
        x = self.conv5(x)
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


def shufflenet_v2_x0_5(num_classes: int = 1000, *, cifar: bool = False) -> ShuffleNetV2:
    """ShuffleNetV2 0.5x (stage widths 48-96-192, conv5 1024) with torchvision's parameter names.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        cifar: ``True`` for 32x32 inputs: conv1 has stride 1 and the max-pool is removed, as in the
            usual CIFAR ports, so the network downsamples 8x and the last feature map is 4x4.
            Parameter names and shapes do not change, so ImageNet weights still load.
    """
    return ShuffleNetV2(0.5, num_classes, cifar=cifar)


def shufflenet_v2_x1_0(num_classes: int = 1000, *, cifar: bool = False) -> ShuffleNetV2:
    """ShuffleNetV2 1x (stage widths 116-232-464, conv5 1024) with torchvision's parameter names.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        cifar: ``True`` for 32x32 inputs: conv1 has stride 1 and the max-pool is removed, as in the
            usual CIFAR ports, so the network downsamples 8x and the last feature map is 4x4.
            Parameter names and shapes do not change, so ImageNet weights still load.
    """
    return ShuffleNetV2(1.0, num_classes, cifar=cifar)


def shufflenet_v2_x1_5(num_classes: int = 1000, *, cifar: bool = False) -> ShuffleNetV2:
    """ShuffleNetV2 1.5x (stage widths 176-352-704, conv5 1024) with torchvision's parameter names.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        cifar: ``True`` for 32x32 inputs: conv1 has stride 1 and the max-pool is removed, as in the
            usual CIFAR ports, so the network downsamples 8x and the last feature map is 4x4.
            Parameter names and shapes do not change, so ImageNet weights still load.
    """
    return ShuffleNetV2(1.5, num_classes, cifar=cifar)


def shufflenet_v2_x2_0(num_classes: int = 1000, *, cifar: bool = False) -> ShuffleNetV2:
    """ShuffleNetV2 2x (stage widths 244-488-976, conv5 2048) with torchvision's parameter names.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        cifar: ``True`` for 32x32 inputs: conv1 has stride 1 and the max-pool is removed, as in the
            usual CIFAR ports, so the network downsamples 8x and the last feature map is 4x4.
            Parameter names and shapes do not change, so ImageNet weights still load.
    """
    return ShuffleNetV2(2.0, num_classes, cifar=cifar)
