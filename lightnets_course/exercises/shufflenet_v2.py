"""Exercises of notebook 06 (ShuffleNetV2): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import torch

from lightnets_course.complexity import conv_macs, conv_mem_access
from lightnets_course.exercises.feedback import as_number, report, unanswered
from lightnets_course.models.blocks import channel_shuffle, channel_shuffle_order

__all__ = ["check_channel_shuffle_function", "check_pointwise_mem_access", "check_shuffle_position"]


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


def check_channel_shuffle_function(shuffle: object) -> bool:
    """Notebook 06, writing code: ``shuffle(x, groups)`` that interleaves the channels of ``x``
    (N, C, H, W) across ``groups`` groups, as ``channel_shuffle`` does. Checked on several shapes and
    group counts, by the values it returns."""
    if unanswered(shuffle):
        return False
    if not callable(shuffle):
        return report(
            False, "", f"pass your function itself (no parentheses); got a {type(shuffle).__name__}"
        )
    for channels, groups in ((6, 2), (12, 3), (12, 4), (8, 1)):
        # Channel i holds the value i everywhere, so the output says which channel went where.
        x = torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1).expand(2, channels, 3, 3)
        try:
            out = shuffle(x.clone(), groups)
        except Exception as error:  # the learner's code
            return report(
                False,
                "",
                f"shuffle(x, {groups}) on shape {tuple(x.shape)} failed: {type(error).__name__}: {error}",
            )
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            return report(
                False, "", f"shuffle(x, {groups}) should keep the shape {tuple(x.shape)}; got {shape}"
            )
        if not torch.equal(out, channel_shuffle(x, groups)):
            yours = [round(float(value)) for value in out[0, :, 0, 0]]
            return report(
                False, "", f"with {channels} channels in {groups} groups the channels should come out in the "
                f"order {channel_shuffle_order(channels, groups)}; yours come out as {yours}",
            )  # fmt: skip
    return report(
        True, "View as (groups, C / groups), transpose, flatten: ShuffleNetV2's channel shuffle.", ""
    )
