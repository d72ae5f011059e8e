"""Solutions to the notebooks' code-writing exercises, kept out of the notebooks a learner reads.

``tests/test_code_exercises.py`` hands each to its ``check_*`` function, proving every exercise can be
solved; the notebooks hold only the templates (and a collapsed hint).
"""

from __future__ import annotations

import torch
from torch import nn


def alexnet_features() -> nn.Sequential:  # notebook 01
    layers: list[nn.Module] = []
    in_channels = 3
    for out_channels, kernel, stride, padding, pool in [
        (48, 11, 4, 2, True),
        (128, 5, 1, 2, True),
        (192, 3, 1, 1, False),
        (192, 3, 1, 1, False),
        (128, 3, 1, 1, True),
    ]:
        layers += [nn.Conv2d(in_channels, out_channels, kernel, stride, padding), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(3, 2))
        in_channels = out_channels
    return nn.Sequential(*layers)


class DepthwiseSeparableBlock(nn.Module):  # notebook 02
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.depthwise(x)))
        return torch.relu(self.bn2(self.pointwise(x)))


def mobilenet_v1_body() -> nn.Sequential:  # notebook 03
    table = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    table += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    blocks, in_channels = [], 32
    for out_channels, stride in table:
        blocks.append(DepthwiseSeparableBlock(in_channels, out_channels, stride))
        in_channels = out_channels
    return nn.Sequential(*blocks)


class InvertedResidualBlock(nn.Module):  # notebook 04
    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),  # no activation: the linear bottleneck
        )
        self.shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return x + out if self.shortcut else out


class SqueezeExciteGate(nn.Module):  # notebook 05
    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(channels, squeeze_channels, 1)
        self.excite = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = x.mean(dim=(2, 3), keepdim=True)
        gate = torch.relu(self.squeeze(gate))
        gate = torch.nn.functional.hardsigmoid(self.excite(gate))
        return x * gate


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:  # notebook 06
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def quantize_per_channel(weight: torch.Tensor) -> torch.Tensor:  # notebook 08
    largest = weight.abs().flatten(1).amax(1).view(-1, *[1] * (weight.dim() - 1))
    scale = torch.where(largest > 0, largest / 127, torch.ones_like(largest))
    return (weight / scale).round().clamp(-127, 127) * scale
