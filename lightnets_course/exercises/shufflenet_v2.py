"""Exercises of notebook 06 (ShuffleNetV2): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import torch

from lightnets_course.complexity import conv_macs, conv_mem_access
from lightnets_course.exercises.feedback import as_number, report, unanswered
from lightnets_course.models.blocks import channel_shuffle

__all__ = ["check_pointwise_mem_access", "check_shuffle_position"]


def check_pointwise_mem_access(answer: object) -> bool:
    """Notebook 06: the memory access cost of a 1x1 convolution, 58 -> 58 channels on a 28 x 28 map
    (a branch convolution of ShuffleNetV2 1x's stage 2), in elements."""

    if unanswered(answer):
        return False
    value = as_number(answer)
    h = w = 28
    c1 = c2 = 58
    right = conv_mem_access(h, w, c1, c2)
    if value is None:
        return report(False, "", f"the answer is one number of elements, such as 28 * 28 * 3; got {answer!r}")
    if value == right:
        return report(
            True,
            f"hw(c1 + c2) + c1 * c2 = {h * w * (c1 + c2):,} + {c1 * c2:,} = {right:,} elements: the input "
            "and output maps dominate, the weights are a small part.",
            "",
        )
    if value == conv_macs(h, w, c1, c2, 1):
        hint = "that is the FLOPs (B = h w c1 c2, multiply-adds). Memory access counts elements read and written."
    elif value == h * w * (c1 + c2):
        hint = "the input and output maps are right; the layer also reads its weights once."
    elif value in (h * w * c1 + c1 * c2, h * w * c2 + c1 * c2):
        hint = "the layer reads its input map and weights, and it also writes its output map."
    else:
        hint = "add the elements of the input map (h w c1), the weights (c1 c2) and the output map (h w c2)."
    return report(False, "", hint)


def check_shuffle_position(answer: object) -> bool:
    """Notebook 06: with 12 channels in 3 groups, at which output position (counted from 0) does input
    channel 5 land after ``channel_shuffle(x, 3)``?"""

    if unanswered(answer):
        return False
    channels, groups, channel = 12, 3, 5
    order = channel_shuffle(torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1), groups)
    order = [int(c) for c in order.flatten()]
    right = order.index(channel)
    value = as_number(answer)
    if value is None or value != int(value) or not 0 <= value < channels:
        return report(False, "", f"the answer is a position from 0 to {channels - 1}; got {answer!r}")
    if value == right:
        return report(
            True,
            f"channel {channel} is the 2nd channel (index 1) of group 1, and position = index * groups + group "
            f"= 1 * {groups} + 1 = {right}.",
            "",
        )
    if value == order[channel]:
        hint = (
            f"that is the channel that lands at position {channel}. The question asks the opposite: where "
            f"does channel {channel} go?"
        )
    elif value == channel:
        hint = "channel 5 does move: only the first and the last channel keep their place here."
    else:
        hint = (
            "write the channels as a grid with one row per group (3 rows of 4), transpose it to 4 rows of 3, "
            "and read it row by row."
        )
    return report(False, "", hint)
