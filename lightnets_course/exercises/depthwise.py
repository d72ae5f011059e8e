"""Exercises of notebook 02 (Depthwise-separable convolution): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import torch

from lightnets_course.complexity import conv_macs
from lightnets_course.exercises.feedback import as_number, check_module, close, report, unanswered
from lightnets_course.models.blocks import DepthwiseSeparable

__all__ = [
    "check_depthwise_groups",
    "check_depthwise_macs",
    "check_depthwise_separable_block",
    "check_separable_ratio",
]


def check_depthwise_macs(answer: object) -> bool:
    """Notebook 02: the MACs of a 3x3 depthwise convolution, stride 1, on a 56 x 56 x 128 feature map."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    right = conv_macs(56, 56, 128, 128, 3, groups=128)
    if value is None:
        return report(False, "", f"the answer is one number, such as 3 * 3 * 10; got {type(answer).__name__}")
    if close(value, right, 0):
        return report(
            True, f"{right:,} MACs: 56 * 56 * 128 output values, each a 3 x 3 window of one channel.", ""
        )
    if close(value, conv_macs(56, 56, 128, 128, 3), 0):
        hint = (
            "that is a standard 3x3 convolution's cost. A depthwise output value sees one channel, not 128."
        )
    elif close(value, 3 * 3 * 128, 0):
        hint = (
            "that is the number of weights. Each weight is used once at every one of the 56 x 56 positions."
        )
    else:
        hint = (
            "multiply the number of output values (height x width x channels) by the MACs of one output "
            "value (one channel's 3 x 3 window)."
        )
    return report(False, "", hint)


def check_separable_ratio(answer: object) -> bool:
    """Notebook 02: how many times fewer MACs a 5x5 depthwise-separable layer with N = 256 outputs needs."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    right = 1 / (1 / 256 + 1 / 5**2)
    if value is None:
        return report(False, "", f"the answer is one number, such as 7.5; got {type(answer).__name__}")
    if close(value, right, 0.01):
        return report(
            True, f"1 / (1/256 + 1/25) = {right:.2f}: the bigger kernel saves far more than 3x3.", ""
        )
    if close(value, 1 / right, 0.01):
        hint = "that is the separable cost as a fraction of the standard cost; the question asks how many times fewer."
    elif close(value, 1 / (1 / 256 + 1 / 3**2), 0.01):
        hint = "that is the saving for a 3x3 kernel; with 5x5 kernels D_K^2 = 25."
    else:
        hint = "the separable cost is (1/N + 1/D_K^2) of the standard cost; put in N = 256 and D_K = 5, then invert."
    return report(False, "", hint)


def check_depthwise_groups(answer: object) -> bool:
    """Notebook 02: the ``groups`` value that makes ``nn.Conv2d(96, 96, 3, groups=...)`` depthwise."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None or value != int(value) or value < 1:
        return report(False, "", f"groups is a positive whole number; got {answer!r}")
    groups = int(value)
    if groups == 96:
        return report(True, "groups=96: 96 groups of one channel, so each filter sees a single channel.", "")
    if groups == 1:
        hint = "groups=1 is a standard convolution: every filter sees all 96 channels."
    elif 96 % groups:
        hint = f"groups must divide the 96 channels, and {groups} does not. Which split leaves one channel per group?"
    else:
        hint = f"groups={groups} is a group convolution with {96 // groups} channels per group; depthwise means one."
    return report(False, "", hint)


def check_depthwise_separable_block(block_class: object) -> bool:
    """Notebook 02, writing code: a depthwise-separable block, ``block_class(in_channels, out_channels,
    stride)``: a 3x3 depthwise convolution (with ``stride``), BatchNorm, ReLU, then a 1x1 pointwise
    convolution, BatchNorm, ReLU, convolutions without bias. Checked against the package's
    ``DepthwiseSeparable(32, 64, 2)`` with the same weights."""
    images = torch.randn(2, 32, 16, 16, generator=torch.Generator().manual_seed(0))
    return check_module(
        block_class, (32, 64, 2), DepthwiseSeparable(32, 64, 2), images, "block_class",
        "Same layers, same outputs as the package's DepthwiseSeparable: 32 x 9 + 32 x 64 weights "
        "instead of a standard convolution's 32 x 64 x 9.",
    )  # fmt: skip
