"""Exercises of notebook 01 (AlexNet): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import math

import torch
from torch import nn

from lightnets_course.exercises.feedback import as_number, check_module, close, report, unanswered
from lightnets_course.layers import conv_layer_numbers
from lightnets_course.models import alexnet_half

__all__ = ["check_alexnet_features", "check_conv_output_size", "check_conv_params", "check_fc_params"]


def check_conv_output_size(answer: object) -> bool:
    """Notebook 01: the output side of a 7x7 convolution, stride 2, padding 3, on a 224 x 224 image."""
    if unanswered(answer):
        return False

    right = conv_layer_numbers(224, 3, 64, 7, stride=2, padding=3)["output_size"]
    value = as_number(answer)
    if value is None:
        return report(False, "", f"the answer is one whole number of pixels; got {answer!r}")
    if value == right:
        return report(
            True,
            f"(224 + 2*3 - 7) // 2 + 1 = {right}: the stride halves the image, and padding 3 keeps the "
            "7x7 window centred on every second pixel.",
            "",
        )
    if close(value, (224 + 2 * 3 - 7) / 2 + 1, 1e-9):
        hint = "the division by the stride rounds down: PyTorch keeps only windows that fit entirely."
    elif value == (224 + 2 * 3 - 7) // 2:
        hint = "almost: add 1 for the window at the very first position."
    elif value == (224 - 7) // 2 + 1:
        hint = "that leaves out the padding: 3 pixels are added on each side, 2 * 3 in all."
    else:
        hint = "use (n + 2p - f) // s + 1 with n = 224, f = 7, s = 2, p = 3."
    return report(False, "", hint)


def check_conv_params(answer: object) -> bool:
    """Notebook 01: parameters of ``nn.Conv2d(256, 384, kernel_size=3)`` with its bias (AlexNet's conv3)."""
    if unanswered(answer):
        return False

    numbers = conv_layer_numbers(13, 256, 384, 3, padding=1)
    right, weights = numbers["params"], numbers["weights"]
    value = as_number(answer)
    if value is None:
        return report(False, "", f"the answer is one whole number; got {answer!r}")
    if value == right:
        return report(
            True,
            f"3*3*256*384 + 384 = {right:,}: one 3x3x256 filter and one bias for each of the 384 outputs. "
            "The image size never enters: the same filters slide over every position.",
            "",
        )
    if value == weights:
        hint = "those are the weights; every output channel also has a bias."
    elif value == 3 * 3 * 256 + 384 or value == 3 * 3 * 384 + 384:
        hint = "a filter sees all input channels, and there is one filter per output channel: multiply both."
    elif value == numbers["macs"]:
        hint = "that is the layer's MACs on a 13x13 map; parameters do not depend on the map's size."
    else:
        hint = "each of the 384 filters is 3 x 3 x 256 weights, plus one bias per filter."
    return report(False, "", hint)


def check_fc_params(answer: object) -> bool:
    """Notebook 01: parameters of the first fully connected layer of ``alexnet_half(num_classes=10, cifar=True)``."""
    if unanswered(answer):
        return False

    model = alexnet_half(num_classes=10, cifar=True)
    first_fc = model.classifier[1]
    right = sum(p.numel() for p in first_fc.parameters())
    features, width = first_fc.in_features, first_fc.out_features
    channels = [m for m in model.features if isinstance(m, nn.Conv2d)][-1].out_channels
    side = math.isqrt(features // channels)
    value = as_number(answer)
    if value is None:
        return report(False, "", f"the answer is one whole number; got {answer!r}")
    if value == right:
        return report(
            True,
            f"{features} * {width} + {width} = {right:,}: conv5's {channels} channels x {side} x {side} "
            f"positions, flattened, each connected to all {width} outputs.",
            "",
        )
    if value == features * width:
        hint = "those are the weights; each of the outputs also has a bias."
    elif value == channels * 6 * 6 * width + width:
        hint = f"that is the 224-pixel model, whose last map is 6x6; with cifar=True it is {side}x{side}."
    elif value == channels * width + width:
        hint = f"flattening keeps every position: the layer reads {channels} channels x {side} x {side} positions."
    else:
        hint = (
            "in_features x out_features weights plus out_features biases; the layer reads conv5's "
            f"{channels} channels at each of its {side} x {side} positions."
        )
    return report(False, "", hint)


def check_alexnet_features(build: object) -> bool:
    """Notebook 01, writing code: the half-width AlexNet's feature extractor, ``build()`` giving an
    ``nn.Sequential`` of five convolutions (48-128-192-192-128 filters, the kernels, strides and
    paddings of ``ALEXNET_HALF``), each followed by ReLU, and 3x3/2 max-pools after conv1, conv2 and
    conv5. Checked against ``alexnet_half().features`` with the same weights, on 224x224 images."""
    images = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    return check_module(
        build, (), alexnet_half().features, images, "build",
        "Your feature extractor computes exactly what the package's does: 2 x 128 x 6 x 6 maps.",
    )  # fmt: skip
