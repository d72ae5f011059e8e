"""The package code behind notebooks 04 (MobileNetV2) and 05 (MobileNetV3): the plain functions under
their explorers, their plots, their exercise checks and the papers' numbers they quote."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

from lightnets_course import exercises, papers  # noqa: E402
from lightnets_course.charts import plot_activations, plot_channel_widths  # noqa: E402
from lightnets_course.complexity import profile  # noqa: E402
from lightnets_course.models import mobilenet_v3_small  # noqa: E402
from lightnets_course.models.blocks import (  # noqa: E402  # noqa: E402
    ACTIVATIONS,
    InvertedResidual,
    InvertedResidualV3,
    activation_curves,
    make_divisible,
)
from lightnets_course.scaling import channel_widths, inverted_residual_widths, mobilenet_v2_cost  # noqa: E402
from lightnets_course.widgets import activation_explorer, mobilenet_v2_explorer  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------------
# 04: channel widths, MobileNetV2's cost, the explorer


def test_channel_widths_of_an_inverted_residual_go_narrow_wide_narrow():
    assert channel_widths(InvertedResidual(24, 24, stride=1, expand_ratio=6)) == [
        ("input", 24),
        ("1x1", 144),
        ("3x3 dw", 144),
        ("1x1", 24),
    ]


def test_channel_widths_of_a_resnet_bottleneck_go_wide_narrow_wide():
    widths = channel_widths(torchvision.models.resnet.Bottleneck(256, 64))
    assert widths == [("input", 256), ("1x1", 64), ("3x3", 64), ("1x1", 256)]


def test_channel_widths_leave_out_the_squeeze_excite_convs():
    block = InvertedResidualV3(24, 72, 40, kernel_size=5, stride=2, use_se=True, activation=nn.ReLU)
    assert channel_widths(block) == [("input", 24), ("1x1", 72), ("5x5 dw", 72), ("1x1", 40)]


def test_channel_widths_name_a_group_convolution():
    assert channel_widths(nn.Conv2d(8, 16, 3, groups=4)) == [("input", 8), ("3x3 groups=4", 16)]


def test_channel_widths_reject_what_is_not_a_block():
    with pytest.raises(TypeError, match="block must be a torch.nn.Module"):
        channel_widths("InvertedResidual")
    with pytest.raises(ValueError, match=r"block \(ReLU\) has no nn.Conv2d layers"):
        channel_widths(nn.ReLU())


def test_inverted_residual_widths_follow_the_expansion():
    assert inverted_residual_widths(24, 32, 4) == [("input", 24), ("1x1", 96), ("3x3 dw", 96), ("1x1", 32)]
    # t = 1 has nothing to expand: no expansion conv (MobileNetV2's first block)
    assert inverted_residual_widths(32, 16, 1) == [("input", 32), ("3x3 dw", 32), ("1x1", 16)]


def test_inverted_residual_widths_reject_an_expansion_below_one():
    with pytest.raises(ValueError, match=r"expand_ratio \(the paper's t\) must be a number of at least 1"):
        inverted_residual_widths(24, 24, 0.5)


def test_mobilenet_v2_cost_equals_torchvision_and_its_published_numbers():
    meta = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta
    cost = mobilenet_v2_cost()
    assert cost["params"] == meta["num_params"]
    assert round(cost["macs"] / 1e9, 3) == meta["_ops"]
    reference = profile(torchvision.models.mobilenet_v2(width_mult=0.5), (3, 160, 160))
    assert mobilenet_v2_cost(0.5, 160) == {"params": reference.params, "macs": reference.macs}


def test_mobilenet_v2_cost_matches_the_paper_within_a_percent():
    _, paper_params, paper_macs, _ = papers.MOBILENET_V2_TABLE4["MobileNetV2"]
    assert mobilenet_v2_cost()["macs"] / 1e6 == pytest.approx(paper_macs, rel=0.01)


def test_mobilenet_v2_cost_rejects_bad_sizes():
    with pytest.raises(ValueError, match="resolution must be a whole number of pixels, at least 32"):
        mobilenet_v2_cost(1.0, 16)
    with pytest.raises(ValueError, match=r"width_mult must be a number in \(0, 4\]"):
        mobilenet_v2_cost(0, 224)


def test_mobilenet_v2_explorer_shows_the_plain_function(capsys):
    explorer = mobilenet_v2_explorer()
    width, resolution, expansion = explorer.children[:3]
    assert explorer.result == mobilenet_v2_cost(1.0, 224)
    width.value, resolution.value, expansion.value = 0.5, 160, 4
    assert explorer.result == mobilenet_v2_cost(0.5, 160)
    assert "MobileNetV2 0.5 at 160x160" in capsys.readouterr().out


def test_plot_channel_widths_draws_one_bar_per_layer_on_a_shared_scale():
    blocks = {"ResNet": [("input", 256), ("1x1", 64)], "V2": inverted_residual_widths(24, 24, 6)}
    figure = plot_channel_widths(blocks)
    assert [ax.get_title() for ax in figure.axes] == ["ResNet", "V2"]
    assert [bar.get_width() for bar in figure.axes[1].patches] == [24, 144, 144, 24]
    assert figure.axes[0].get_xlim() == figure.axes[1].get_xlim()
    with pytest.raises(ValueError, match="blocks must map at least one title"):
        plot_channel_widths({})


# ---------------------------------------------------------------------------------------------------
# 05: activation curves, the explorer, the papers' numbers


def test_activation_curves_are_the_torch_functions_and_their_derivatives():
    curves = activation_curves(["sigmoid", "h-sigmoid", "swish", "h-swish"], -5, 5, points=101)
    x, y, slope = curves["sigmoid"]
    torch.testing.assert_close(y, torch.sigmoid(x))
    torch.testing.assert_close(slope, torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    x, y, slope = curves["h-swish"]
    torch.testing.assert_close(y, F.hardswish(x))
    inside = (x > -3) & (x < 3)
    torch.testing.assert_close(slope[inside], (2 * x[inside] + 3) / 6)
    assert torch.all(slope[x < -3] == 0) and torch.all(slope[x > 3] == 1)


def test_paddle_hard_sigmoid_has_slope_one_fifth_and_saturates_at_2_5():
    x, y, slope = activation_curves("h-sigmoid, slope 0.2", -4, 4, points=81)["h-sigmoid, slope 0.2"]
    torch.testing.assert_close(
        slope[(x > -2.5) & (x < 2.5)], torch.full_like(slope[(x > -2.5) & (x < 2.5)], 0.2)
    )
    assert torch.all(y[x >= 2.5] == 1) and torch.all(y[x <= -2.5] == 0)


def test_activation_curves_reject_unknown_names_and_empty_ranges():
    with pytest.raises(ValueError, match=r"unknown activation\(s\) \['gelu'\]; choose from"):
        activation_curves(["gelu"])
    with pytest.raises(ValueError, match="x_min must be smaller than x_max"):
        activation_curves(["relu"], 2, 2)


def test_activation_explorer_draws_the_chosen_curves(capsys, monkeypatch):
    drawn = []
    monkeypatch.setattr(plt, "show", lambda: drawn.append(plt.gcf()))
    explorer = activation_explorer()
    names, x_range = explorer.children[:2]
    names.value = ("relu6", "h-swish")
    x_range.value = (-2.0, 4.0)
    lines = drawn[-1].axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["relu6", "h-swish"]
    assert (lines[0].get_xdata()[0], lines[0].get_xdata()[-1]) == (-2.0, 4.0)
    names.value = ()
    assert "Choose at least one activation" in capsys.readouterr().out


def test_plot_activations_draws_values_and_slopes():
    figure = plot_activations(activation_curves(["relu", "h-swish"]))
    values, slopes = figure.axes[:2]
    assert [line.get_label() for line in values.get_lines()] == ["relu", "h-swish"]
    assert len(slopes.get_lines()) == 2
    assert set(ACTIVATIONS) >= {"sigmoid", "h-sigmoid", "swish", "h-swish"}


def test_a_1280_head_gives_the_other_papers_small_params_but_not_its_macs():
    small = mobilenet_v3_small()
    wide = mobilenet_v3_small()
    wide.classifier[0] = nn.Linear(576, 1280)
    wide.classifier[3] = nn.Linear(1280, 1000)
    narrow_cost, wide_cost = profile(small), profile(wide)
    other_macs, other_params = papers.MOBILENET_V3_SMALL_1280_HEAD
    _, macs, params, _ = papers.MOBILENET_V3_TABLE3["V3-Small 1.0"]
    assert round(narrow_cost.params / 1e6, 1) == params and round(wide_cost.params / 1e6, 1) == other_params
    # The head works on a pooled vector: it adds under a million MACs, not the ten between the versions.
    assert wide_cost.macs - narrow_cost.macs < 1e6 < (other_macs - macs) * 1e6
    assert narrow_cost.macs / 1e6 == pytest.approx(macs, rel=0.02)


def test_the_papers_savings_are_quoted_with_their_numbers():
    for mmacs, ms, quote in papers.MOBILENET_V3_SAVINGS.values():
        assert f"{mmacs} million" in quote and f"{ms} milliseconds" in quote


# ---------------------------------------------------------------------------------------------------
# Exercise checks


def _check(check, answer, capsys, **kwargs):
    result = check(answer, **kwargs)
    return result, capsys.readouterr().out


@pytest.mark.parametrize(
    "check, kwargs",
    [
        (exercises.check_bottleneck_macs, {}),
        (exercises.check_shortcut_blocks, {}),
        (exercises.check_frozen_trainable_params, {"num_classes": 5}),
        (exercises.check_hswish, {"x": 1.5}),
        (exercises.check_se_squeeze_channels, {"expanded_channels": 72}),
    ],
)
def test_an_unanswered_exercise_asks_for_an_answer(check, kwargs, capsys):
    assert _check(check, ..., capsys, **kwargs) == (
        False,
        "Replace ... with your answer, then run the cell again.\n",
    )


def test_check_bottleneck_macs(capsys):
    block = InvertedResidual(32, 32, stride=1, expand_ratio=6)
    right = profile(block, (32, 28, 28)).macs
    ok, out = _check(exercises.check_bottleneck_macs, right, capsys)
    assert ok and out.startswith(f"Correct. {right:,} MACs")
    ok, out = _check(exercises.check_bottleneck_macs, 28 * 28 * 32 * (32 + 9 + 32), capsys)
    assert not ok and "multiply by the expansion t = 6" in out
    ok, out = _check(exercises.check_bottleneck_macs, "lots", capsys)
    assert not ok and "the answer is one number" in out


def test_check_shortcut_blocks(capsys):
    right = {3, 5, 6, 8, 9, 10, 12, 13, 15, 16}
    assert _check(exercises.check_shortcut_blocks, right, capsys)[0]
    ok, out = _check(exercises.check_shortcut_blocks, right | {1}, capsys)
    assert not ok and "block 1 (t = 1, 32 -> 16 channels) changes the width" in out
    ok, out = _check(exercises.check_shortcut_blocks, right | {4}, capsys)
    assert not ok and "[4] include a row's first block" in out
    ok, out = _check(exercises.check_shortcut_blocks, {3, 5}, capsys)
    assert not ok and "you found 2 of them" in out
    ok, out = _check(exercises.check_shortcut_blocks, {0, 3}, capsys)
    assert not ok and "[0] is not a block" in out


def test_check_frozen_trainable_params(capsys):
    assert _check(exercises.check_frozen_trainable_params, 1280 * 10 + 10, capsys, num_classes=10)[0]
    ok, out = _check(exercises.check_frozen_trainable_params, 1280 * 5, capsys, num_classes=5)
    assert not ok and "a bias for each class" in out


def test_check_hswish(capsys):
    assert _check(exercises.check_hswish, F.hardswish(torch.tensor(1.5)), capsys, x=1.5)[0]
    assert _check(exercises.check_hswish, float(F.hardswish(torch.tensor(-1.0))), capsys, x=-1.0)[0]
    ok, out = _check(exercises.check_hswish, 4.5 / 6, capsys, x=1.5)
    assert not ok and "that is h-sigmoid(x)" in out
    ok, out = _check(exercises.check_hswish, 4 * 7 / 6, capsys, x=4.0)
    assert not ok and "ReLU6 clips its input" in out


def test_check_se_squeeze_channels(capsys):
    assert _check(exercises.check_se_squeeze_channels, make_divisible(72 // 4, 8), capsys)[0]
    ok, out = _check(exercises.check_se_squeeze_channels, 16, capsys)
    assert not ok and "more than 10% below 18" in out
    ok, out = _check(exercises.check_se_squeeze_channels, 18, capsys)
    assert not ok and "rounds channel counts to a multiple of 8" in out
    assert _check(exercises.check_se_squeeze_channels, 32, capsys, expanded_channels=120)[0]
