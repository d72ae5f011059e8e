"""Exercises of notebook 05 (MobileNetV3): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import torch

from lightnets_course.exercises.feedback import as_number, check_module, close, report, unanswered
from lightnets_course.models.blocks import SqueezeExcite, make_divisible

__all__ = ["check_hswish", "check_se_squeeze_channels", "check_squeeze_excite"]


def check_hswish(answer: object, x: float = 1.5) -> bool:
    """Notebook 05: h-swish(x) = x * ReLU6(x + 3) / 6, worked out by hand at ``x``."""
    if unanswered(answer):
        return False
    value = as_number(answer)
    right = x * min(max(x + 3.0, 0.0), 6.0) / 6.0
    if value is None:
        return report(False, "", f"the answer is one number, such as 0.5; got {type(answer).__name__}")
    if abs(value - right) <= 1e-3:
        return report(True, f"h-swish({x}) = {x} * ReLU6({x + 3}) / 6 = {right:.4g}.", "")
    if abs(value - min(max(x + 3.0, 0.0), 6.0) / 6.0) <= 1e-3:
        hint = "that is h-sigmoid(x), the gate; h-swish multiplies it by x."
    elif abs(value - x * (x + 3.0) / 6.0) <= 1e-3:
        hint = "ReLU6 clips its input to [0, 6]: clip x + 3 before multiplying."
    else:
        hint = f"compute z = x + 3 = {x + 3}, clip z to [0, 6], multiply by x, divide by 6."
    return report(False, "", hint)


def check_se_squeeze_channels(answer: object, expanded_channels: int = 72) -> bool:
    """Notebook 05: the squeeze width of MobileNetV3's SE gate on ``expanded_channels`` channels."""
    if unanswered(answer):
        return False

    value = as_number(answer)
    quarter = expanded_channels // 4
    right = make_divisible(quarter, 8)
    if value is None:
        return report(False, "", f"the answer is one number of channels; got {type(answer).__name__}")
    if close(value, right, 0):
        return report(True, f"make_divisible({expanded_channels} // 4, 8) = {right}.", "")
    if close(value, quarter, 0):
        hint = f"{quarter} is a quarter, but MobileNetV3 rounds channel counts to a multiple of 8 with make_divisible."
    elif close(value, quarter + 4 - (quarter + 4) % 8, 0):
        hint = (
            f"{int(value)} is the nearest multiple of 8, but it is more than 10% below {quarter}: "
            "make_divisible then goes one multiple up."
        )
    else:
        hint = f"take {expanded_channels} // 4 = {quarter}, round to the nearest multiple of 8, go one up if that lost over 10%."
    return report(False, "", hint)


def check_squeeze_excite(gate_class: object) -> bool:
    """Notebook 05, writing code: MobileNetV3's squeeze-and-excite gate, ``gate_class(channels,
    squeeze_channels)``: global average pooling, a 1x1 convolution to ``squeeze_channels`` with bias
    and ReLU, a 1x1 convolution back to ``channels`` with bias, h-sigmoid, and the input multiplied by
    that gate channel by channel. Checked against the package's ``SqueezeExcite(72, 24)``."""
    images = torch.randn(2, 72, 8, 8, generator=torch.Generator().manual_seed(0))
    return check_module(
        gate_class, (72, 24), SqueezeExcite(72, 24), images, "gate_class",
        "A gate in [0, 1] per channel, computed from the channel averages: the package's SqueezeExcite.",
    )  # fmt: skip
