"""Exercises of notebook 08 (Deployment): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import math

import torch

from lightnets_course.deploy import fake_quantize_weight
from lightnets_course.exercises.feedback import as_number, report, unanswered

__all__ = ["check_int8_levels", "check_quantize_per_channel"]

# Exercise 2's layer: the widest channel and one narrow channel of a depthwise convolution.
WIDEST_RANGE = 1.6
NARROW_RANGE = 0.02


def _weights() -> torch.Tensor:
    """Depthwise-like weights (8 channels, 1 x 3 x 3) whose channels' ranges differ up to 100-fold,
    one channel all zeros."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(8, 1, 3, 3, generator=generator)
    spread = torch.tensor([1.0, 0.5, 0.1, 0.03, 0.01, 2.0, 0.2, 0.0]).view(8, 1, 1, 1)
    return weight * spread


def check_quantize_per_channel(quantize: object) -> bool:
    """Notebook 08, writing code: ``quantize(weight)`` returns what symmetric int8 with one scale per
    output channel keeps of ``weight`` (shape (out, ...)): per channel, ``scale = max|w| / 127``, then
    ``round(w / scale) * scale``; a channel of zeros stays zeros. Checked against
    ``deploy.fake_quantize_weight`` on depthwise-like weights whose channels differ 200-fold."""
    if unanswered(quantize):
        return False
    if not callable(quantize):
        return report(
            False,
            "",
            f"pass your function itself (quantize, not quantize(...)); got {type(quantize).__name__}",
        )
    weight = _weights()
    try:
        theirs = quantize(weight.clone())
    except Exception as error:  # the learner's code: any mistake is worth a hint
        return report(False, "", f"quantize(weight) failed: {type(error).__name__}: {error}")
    if not isinstance(theirs, torch.Tensor) or theirs.shape != weight.shape:
        shape = tuple(theirs.shape) if isinstance(theirs, torch.Tensor) else type(theirs).__name__
        return report(
            False, "", f"return a tensor shaped like the weight, {tuple(weight.shape)}; got {shape}"
        )
    theirs = theirs.float()
    if torch.isnan(theirs).any():
        return report(
            False, "", "the result holds NaN: a channel of zeros has max |w| = 0; give it a scale of 1."
        )
    right = fake_quantize_weight(weight, per_channel=True)
    if torch.allclose(theirs, right, atol=1e-6):
        error = (theirs - weight).abs().flatten(1).amax(1) / weight.abs().flatten(1).amax(1).clamp_min(1e-12)
        return report(
            True,
            f"every channel now spans all 255 levels: its largest rounding error is at most "
            f"{100 * float(error[:7].max()):.2f}% of its own range, whatever its size.",
            "",
        )
    if torch.allclose(theirs, fake_quantize_weight(weight, per_channel=False), atol=1e-6):
        hint = "that is one scale for the whole tensor; take max |w| over each output channel (dimension 0)."
    elif torch.all(theirs == theirs.round()) and theirs.abs().max() <= 127:
        hint = "those are the integers; multiply them by the scale again, to return what int8 keeps of w."
    elif torch.allclose(theirs, weight, atol=1e-7):
        hint = "nothing was rounded: divide by the scale, round to whole numbers, multiply back."
    else:
        hint = "per channel c: scale = weight[c].abs().max() / 127, then (weight[c] / scale).round() * scale."
    return report(False, "", hint)


def check_int8_levels(answer: object) -> bool:
    """Notebook 08: with one int8 scale for a whole depthwise layer whose widest channel spans
    [-1.6, 1.6], how many different values can a channel spanning [-0.02, 0.02] take?"""
    if unanswered(answer):
        return False
    value = as_number(answer)
    if value is None:
        return report(False, "", f"the answer is one whole number; got {answer!r}")
    step = WIDEST_RANGE / 127
    reach = round(NARROW_RANGE / step)  # the largest integer the narrow channel's weights round to
    right = 2 * reach + 1
    if value == right:
        return report(
            True,
            f"the step is 1.6 / 127 = {step:.4f}, so the channel's weights round to -{reach}..{reach}: {right} "
            f"values. With a scale of its own, 0.02 / 127, it would use all 255.",
            "",
        )
    if value == 255 or value == 256:
        hint = "that is what the channel gets with a scale of its own; here the widest channel sets the step."
    elif math.isclose(value, NARROW_RANGE / step, rel_tol=0.05) or value == reach:
        hint = "count the integers the weights can round to, negative ones and zero included."
    else:
        hint = "the step is 1.6 / 127; divide 0.02 by it, round, and count the integers from -that to +that."
    return report(False, "", hint)
