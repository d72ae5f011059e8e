"""Exercises of notebook 04 (MobileNetV2): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import torch

from lightnets_course.exercises.feedback import as_number, check_module, close, report, unanswered
from lightnets_course.models import mobilenet_v2
from lightnets_course.models.blocks import InvertedResidual

__all__ = [
    "check_bottleneck_macs",
    "check_frozen_trainable_params",
    "check_inverted_residual",
    "check_shortcut_blocks",
]

# The block of notebook 04's first exercise, MobileNetV2's features[5] at 224 x 224: a 28 x 28 input
# with d' = 32 channels, expansion t = 6, a 3 x 3 depthwise conv at stride 1, d'' = 32 output channels.
BOTTLENECK_EXERCISE = {"h": 28, "w": 28, "d_in": 32, "t": 6, "k": 3, "d_out": 32}


def check_bottleneck_macs(answer: object) -> bool:
    """Notebook 04: the MACs of MobileNetV2's block 5 (``BOTTLENECK_EXERCISE``) from the paper's formula."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    b = BOTTLENECK_EXERCISE
    h, w, d_in, t, k, d_out = b["h"], b["w"], b["d_in"], b["t"], b["k"], b["d_out"]
    expand, depthwise, project = h * w * d_in * t * d_in, h * w * d_in * t * k**2, h * w * d_in * t * d_out
    if value is None:
        return report(
            False, "", f"the answer is one number, such as 28 * 28 * 10; got {type(answer).__name__}"
        )
    if close(value, expand + depthwise + project, 0):
        return report(
            True,
            f"{expand + depthwise + project:,} MACs: expansion {expand:,} + depthwise {depthwise:,} + "
            f"projection {project:,}. The two 1x1 convs cost {(expand + project) / depthwise:.0f}x the depthwise one.",
            "",
        )
    if close(value, expand + project, 0) or close(value, expand + depthwise, 0):
        hint = "count all three convolutions: the 1x1 expansion, the 3x3 depthwise and the 1x1 projection."
    elif close(value, h * w * d_in * (d_in + k**2 + d_out), 0):
        hint = "the block works on d' * t = 192 hidden channels: multiply by the expansion t = 6."
    else:
        hint = "h * w * d' * t * (d' + k^2 + d'') with h = w = 28, d' = d'' = 32, t = 6 and k = 3."
    return report(False, "", hint)


def check_shortcut_blocks(answer: object) -> bool:
    """Notebook 04: the set of MobileNetV2's blocks (1 to 17, ``model.features[i]``) that add a shortcut."""
    if unanswered(answer):
        return False

    features = mobilenet_v2().features
    right = {i for i in range(1, 18) if features[i].use_residual}
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in answer
    ):
        return report(False, "", f"answer with a set of block numbers such as {{1, 2, 3}}; got {answer!r}")
    chosen = set(answer)
    if chosen == right:
        return report(
            True, f"{len(right)} of the 17 blocks add their input to their output: {sorted(right)}.", ""
        )
    if chosen - set(range(1, 18)):
        hint = f"the blocks are numbered 1 to 17 (features[0] is the stem); {sorted(chosen - set(range(1, 18)))} is not a block."
    elif 1 in chosen:
        hint = "block 1 (t = 1, 32 -> 16 channels) changes the width, so its input cannot be added to its output."
    elif chosen - right:
        hint = (
            f"{sorted(chosen - right)} include a row's first block, which changes the width or the stride. "
            "Only blocks with stride 1 and as many channels out as in can add the shortcut."
        )
    else:
        hint = (
            f"you found {len(chosen)} of them. Every row with n blocks has n - 1 blocks that keep the shape."
        )
    return report(False, "", hint)


def check_frozen_trainable_params(answer: object, num_classes: int = 5) -> bool:
    """Notebook 04: trainable parameters of MobileNetV2 with frozen features and a new ``num_classes`` head."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    features, right = 1280, 1280 * num_classes + num_classes
    if value is None:
        return report(False, "", f"the answer is one number of parameters; got {type(answer).__name__}")
    if close(value, right, 0):
        return report(
            True,
            f"{right:,}: only the new Linear layer learns, {features} x {num_classes} weights + {num_classes} biases.",
            "",
        )
    if close(value, features * num_classes, 0):
        hint = "the Linear layer has a bias for each class too."
    elif close(value, features * 1000 + 1000, 0):
        hint = f"that is ImageNet's 1000-class head; the new head has {num_classes} classes."
    else:
        hint = (
            f"with the features frozen only the classifier learns: a Linear layer from {features} features "
            f"to {num_classes} classes, with a bias per class."
        )
    return report(False, "", hint)


def check_inverted_residual(block_class: object) -> bool:
    """Notebook 04, writing code: MobileNetV2's inverted residual, ``block_class(in_channels,
    out_channels, stride, expand_ratio)``: 1x1 expansion + BatchNorm + ReLU6, 3x3 depthwise (with
    ``stride``) + BatchNorm + ReLU6, 1x1 projection + BatchNorm with no activation (the linear
    bottleneck), and the input added to the output when stride is 1 and the widths agree. Checked
    against the package's ``InvertedResidual(24, 24, 1, 6)`` (with the shortcut) and
    ``InvertedResidual(24, 32, 2, 6)`` (without) with the same weights."""
    images = torch.randn(2, 24, 16, 16, generator=torch.Generator().manual_seed(0))
    right = "Expansion, depthwise, linear projection and the shortcut, as the package's block."
    with_shortcut = check_module(
        block_class, (24, 24, 1, 6), InvertedResidual(24, 24, 1, 6), images, "block_class", right
    )
    if not with_shortcut:
        return False
    return check_module(
        block_class, (24, 32, 2, 6), InvertedResidual(24, 32, 2, 6), images, "block_class",
        "And without the shortcut where the shapes change: exactly the package's block.",
    )  # fmt: skip
