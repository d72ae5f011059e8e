"""The code-writing exercises of notebooks 01-06 and 08: every one can be solved (the solutions in
tests/exercise_solutions.py pass), the notebooks' templates fail with a hint, and typical mistakes
get a hint that names the first thing wrong."""

from __future__ import annotations

import pytest
import torch
from exercise_solutions import (
    DepthwiseSeparableBlock,
    InvertedResidualBlock,
    SqueezeExciteGate,
    alexnet_features,
    channel_shuffle,
    mobilenet_v1_body,
    quantize_per_channel,
)
from torch import nn

from lightnets_course import exercises

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

SOLVED = [
    (exercises.check_alexnet_features, alexnet_features),
    (exercises.check_depthwise_separable_block, DepthwiseSeparableBlock),
    (exercises.check_mobilenet_v1_body, mobilenet_v1_body),
    (exercises.check_inverted_residual, InvertedResidualBlock),
    (exercises.check_squeeze_excite, SqueezeExciteGate),
    (exercises.check_channel_shuffle_function, channel_shuffle),
    (exercises.check_quantize_per_channel, quantize_per_channel),
]


@pytest.mark.parametrize(("check", "solution"), SOLVED, ids=lambda item: getattr(item, "__name__", ""))
def test_every_code_exercise_can_be_solved(check, solution, capsys):
    assert check(solution) is True
    assert capsys.readouterr().out.startswith("Correct.")


class Template(nn.Module):
    """What a notebook's exercise cell holds before the learner writes anything."""

    def __init__(self, *args: object) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor: ...


@pytest.mark.parametrize(("check", "solution"), SOLVED[1:], ids=lambda item: getattr(item, "__name__", ""))
def test_an_untouched_template_gets_a_hint_not_a_traceback(check, solution, capsys):
    templates = {channel_shuffle: lambda x, groups: ..., quantize_per_channel: lambda weight: ...}
    template = templates.get(solution, Template)
    assert check(template) is False
    printed = capsys.readouterr().out
    assert printed.startswith("Not yet. Hint:") and "Traceback" not in printed
    assert check(...) is False  # the placeholder itself
    assert "Replace ... with your answer" in capsys.readouterr().out


def test_a_relu_on_the_linear_bottleneck_is_caught(capsys):
    class ReluEverywhere(InvertedResidualBlock):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = nn.functional.relu6(self.layers(x))  # the mistake the paper's section 3.2 warns against
            return x + out if self.shortcut else out

    assert exercises.check_inverted_residual(ReluEverywhere) is False
    assert (
        "outputs differ: check the order of the layers and where each activation" in capsys.readouterr().out
    )


def test_a_missing_shortcut_is_caught(capsys):
    class NoShortcut(InvertedResidualBlock):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(x)

    assert exercises.check_inverted_residual(NoShortcut) is False
    assert "(and any shortcut)" in capsys.readouterr().out


def test_a_wrong_layer_shape_is_named(capsys):
    class StandardConvolution(DepthwiseSeparableBlock):
        def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
            super().__init__(in_channels, out_channels, stride)
            self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride, 1, bias=False)  # groups forgotten

    assert exercises.check_depthwise_separable_block(StandardConvolution) is False
    printed = capsys.readouterr().out
    assert "weight tensor 1 (in the order your layers are defined) should have shape (32, 1, 3, 3)" in printed
    assert "yours has (32, 32, 3, 3)" in printed


def test_a_transpose_in_the_wrong_order_shows_where_the_channels_went(capsys):
    def no_transpose(x: torch.Tensor, groups: int) -> torch.Tensor:
        return x.reshape(x.shape)

    assert exercises.check_channel_shuffle_function(no_transpose) is False
    assert "should come out in the order [0, 3, 1, 4, 2, 5]; yours come out as [0, 1, 2, 3, 4, 5]" in (
        capsys.readouterr().out
    )


def test_a_builder_that_fails_is_reported_with_its_error(capsys):
    def broken() -> nn.Module:
        raise RuntimeError("oops")

    assert exercises.check_alexnet_features(broken) is False
    assert "building build() failed: RuntimeError: oops" in capsys.readouterr().out


def test_per_tensor_quantization_gets_the_per_channel_hint(capsys):
    def per_tensor(weight: torch.Tensor) -> torch.Tensor:
        scale = weight.abs().max() / 127
        return (weight / scale).round() * scale

    assert exercises.check_quantize_per_channel(per_tensor) is False
    assert "one scale for the whole tensor" in capsys.readouterr().out


def test_returning_the_integers_gets_a_hint(capsys):
    def integers(weight: torch.Tensor) -> torch.Tensor:
        largest = weight.abs().flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
        return (weight / (largest / 127)).round()

    assert exercises.check_quantize_per_channel(integers) is False
    assert "those are the integers" in capsys.readouterr().out


def test_a_zero_channel_divided_by_zero_is_named(capsys):
    def divides_by_zero(weight: torch.Tensor) -> torch.Tensor:
        scale = weight.abs().flatten(1).amax(1).view(-1, 1, 1, 1) / 127
        return (weight / scale).round() * scale

    assert exercises.check_quantize_per_channel(divides_by_zero) is False
    assert "a channel of zeros has max |w| = 0" in capsys.readouterr().out


def test_the_int8_levels_exercise(capsys):
    assert exercises.check_int8_levels(5) is True
    assert "round to -2..2: 5 values" in capsys.readouterr().out
    assert exercises.check_int8_levels(255) is False
    assert "a scale of its own" in capsys.readouterr().out
    assert exercises.check_int8_levels(2) is False
    assert "negative ones and zero included" in capsys.readouterr().out
