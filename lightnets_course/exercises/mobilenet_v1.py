"""Exercises of notebook 03 (MobileNetV1): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import torch

from lightnets_course import papers
from lightnets_course.exercises.feedback import as_number, check_module, close, report, unanswered
from lightnets_course.models import mobilenet_v1

__all__ = [
    "check_mobilenet_v1_body",
    "check_params_vs_resolution",
    "check_separable_params",
    "check_width_resolution_macs",
]


def check_width_resolution_macs(answer: object) -> bool:
    """Notebook 03: predict 0.5 MobileNet-160's millions of MACs from 1.0 MobileNet-224's with alpha^2 rho^2."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    full = papers.MOBILENET_V1_TABLE6[1.0][1]
    alpha, rho = 0.5, 160 / 224
    right = full * alpha**2 * rho**2
    if value is None:
        return report(
            False,
            "",
            f"the answer is one number of millions of MACs, such as 100; got {type(answer).__name__}",
        )
    if value > 1e5:  # given as a count rather than in millions
        value /= 1e6
    if close(value, right, 0.02):
        return report(
            True,
            f"{full} M x 0.5^2 x (160/224)^2 = {right:.1f} M. The next cell measures the real network: the rule "
            "is close but not exact: the depthwise convs, the first conv and the classifier grow only "
            "linearly with alpha.",
            "",
        )
    if close(value, full * alpha * rho, 0.02):
        hint = "both multipliers act squared: alpha thins inputs and outputs of a layer, rho shrinks height and width."
    elif close(value, full * alpha**2, 0.02):
        hint = "that applies the width multiplier only; the resolution also changes, from 224 to 160."
    elif close(value, full * rho**2, 0.02):
        hint = "that applies the resolution multiplier only; the width also changes, alpha = 0.5."
    else:
        hint = f"start from {full} million MACs and multiply by alpha^2 and by rho^2, with rho = 160 / 224."
    return report(False, "", hint)


def check_separable_params(answer: object) -> bool:
    """Notebook 03: weights of a depthwise-separable layer, 3x3 depthwise, 256 -> 512 channels, no bias or BN."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    depthwise, pointwise = 3 * 3 * 256, 256 * 512
    if value is None:
        return report(False, "", f"the answer is one number of weights; got {type(answer).__name__}")
    if close(value, depthwise + pointwise, 0):
        return report(
            True,
            f"{depthwise:,} depthwise + {pointwise:,} pointwise = {depthwise + pointwise:,} weights.",
            "",
        )
    if close(value, 3 * 3 * 256 * 512, 0):
        hint = (
            "that is a standard 3x3 convolution; the separable layer splits it into depthwise and pointwise."
        )
    elif close(value, pointwise, 0) or close(value, depthwise, 0):
        hint = "count both halves: the 3x3 depthwise filters and the 1x1 pointwise weights."
    elif close(value, 3 * 3 * 512 + pointwise, 0):
        hint = "the depthwise conv runs before the channel change: it has one 3x3 filter per input channel."
    else:
        hint = "a 3x3 depthwise filter per input channel, plus one weight per (input, output) channel pair."
    return report(False, "", hint)


def check_params_vs_resolution(answer: object) -> bool:
    """Notebook 03: why MobileNetV1 has the same parameters at every input resolution (choice a, b or c)."""
    if unanswered(answer):
        return False
    choice = answer.strip().lower().strip("()") if isinstance(answer, str) else None
    if choice not in ("a", "b", "c"):
        return report(False, "", f'answer with one letter as a string, "a", "b" or "c"; got {answer!r}')
    if choice == "b":
        return report(
            True,
            "A conv's weights have shape (N, M / groups, D_K, D_K): the same filters slide over every "
            "position, so the image size never enters, and global average pooling hands the classifier "
            "the same number of features at any resolution.",
            "",
        )
    hints = {
        "a": "the course's count is exact, not rounded: look at the params column measured at each resolution.",
        "c": "the model takes the image at the size given: the MACs measured at 128 and 224 differ.",
    }
    return report(False, "", hints[choice])


def check_mobilenet_v1_body(build: object) -> bool:
    """Notebook 03, writing code: MobileNetV1's 13 depthwise-separable blocks from its Table 1,
    ``build()`` giving an ``nn.Sequential`` of ``DepthwiseSeparable`` blocks (32 -> 64 -> ... -> 1024
    channels, stride 2 where the table halves the map). Checked against ``mobilenet_v1().features[1:]``
    (everything after the stem) with the same weights."""
    images = torch.randn(1, 32, 32, 32, generator=torch.Generator().manual_seed(0))
    return check_module(
        build, (), mobilenet_v1().features[1:], images, "build",
        "All 13 blocks, as the paper's Table 1 lists them; the package builds them with one loop too.",
    )  # fmt: skip
