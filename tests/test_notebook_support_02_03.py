"""The plain functions behind notebooks 02 (depthwise-separable convolution) and 03 (MobileNetV1):
the cost explorer, the MobileNetV1 trade-off explorer, their plots and the exercise checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lightnets_course import (  # noqa: E402
    charts,
    exercises,
    layers,  # noqa: E402
    papers,
    scaling,  # noqa: E402
    viz,
    widgets,
)
from lightnets_course.complexity import profile  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------------
# 02: conv_costs and its explorer


def _measured(conv: nn.Module, channels: int, size: int) -> dict[str, int]:
    counted = profile(conv, (channels, size, size))
    return {"params": counted.params, "macs": counted.macs, "mem_access": counted.mem_access}


@pytest.mark.parametrize(
    ("kernel_size", "in_channels", "out_channels", "groups", "feature_size"),
    [(3, 32, 64, 1, 14), (3, 32, 64, 8, 14), (5, 16, 16, 16, 7), (3, 8, 16, 8, 9), (1, 24, 48, 3, 5)],
)
def test_conv_costs_equal_what_real_layers_count(
    kernel_size, in_channels, out_channels, groups, feature_size
):
    rows = layers.conv_costs(kernel_size, in_channels, out_channels, groups, feature_size).rows
    pad = kernel_size // 2
    standard = nn.Conv2d(in_channels, out_channels, kernel_size, padding=pad, bias=False)
    chosen = nn.Conv2d(in_channels, out_channels, kernel_size, padding=pad, groups=groups, bias=False)
    separable = nn.Sequential(
        nn.Conv2d(in_channels, in_channels, kernel_size, padding=pad, groups=in_channels, bias=False),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
    )
    for row, conv in zip(rows, (standard, chosen, separable)):
        assert {cost: row[cost] for cost in ("params", "macs", "mem_access")} == _measured(
            conv, in_channels, feature_size
        )
    assert rows[2]["macs vs standard"] == round(rows[0]["macs"] / rows[2]["macs"], 2)


def test_conv_costs_reproduce_the_papers_table3_layer():
    rows = layers.conv_costs(3, 512, 512, groups=1, feature_size=14).rows
    standard_macs, standard_params = papers.MOBILENET_V1_TABLE3["Convolution"]
    separable_macs, separable_params = papers.MOBILENET_V1_TABLE3["Depthwise Separable Conv"]
    assert round(rows[0]["macs"] / 1e6) == standard_macs
    assert round(rows[0]["params"] / 1e6, 2) == standard_params
    assert round(rows[2]["macs"] / 1e6, 1) == separable_macs
    assert round(rows[2]["params"] / 1e6, 2) == separable_params
    low, high = papers.DEPTHWISE_SEPARABLE_CLAIM
    assert low <= rows[2]["macs vs standard"] < high


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "groups", "kind"),
    [
        (64, 64, 1, "standard"),
        (64, 64, 8, "group conv"),
        (64, 64, 64, "depthwise"),
        (32, 64, 32, "depthwise, x2"),
    ],
)
def test_conv_costs_names_the_kind_of_convolution(in_channels, out_channels, groups, kind):
    label = layers.conv_costs(3, in_channels, out_channels, groups, 8).rows[1]["conv"]
    assert label.startswith(f"chosen: {kind}") and f"groups={groups}" in label


def test_conv_costs_explain_bad_arguments():
    with pytest.raises(ValueError, match=r"groups=3 must divide both in_channels=64 and out_channels=64"):
        layers.conv_costs(3, 64, 64, groups=3)
    with pytest.raises(ValueError, match=r"kernel_size must be odd.*got 4"):
        layers.conv_costs(4, 64, 64)
    with pytest.raises(ValueError, match=r"in_channels must be a positive whole number, got 0"):
        layers.conv_costs(3, 0, 64)
    with pytest.raises(ValueError, match=r"feature_size must be a positive whole number, got 2.5"):
        layers.conv_costs(3, 8, 8, feature_size=2.5)


def test_plot_conv_costs_draws_one_labelled_bar_per_convolution_and_cost():
    table = layers.conv_costs(3, 64, 64, groups=64, feature_size=14)
    fig = charts.plot_conv_costs(table)
    assert [ax.get_title() for ax in fig.axes] == ["params", "macs", "mem_access"]
    for ax, cost in zip(fig.axes, ("params", "macs", "mem_access")):
        widths = [patch.get_width() for patch in ax.patches]
        assert widths == [row[cost] for row in table.rows]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [row["conv"] for row in table.rows]


def test_plot_feature_maps_shows_the_image_then_one_row_per_layer():
    image = torch.rand(3, 8, 8)
    maps = {"depthwise": torch.randn(3, 8, 8), "pointwise": torch.randn(5, 8, 8)}
    fig = viz.plot_feature_maps(image, maps, {"depthwise": ["a", "b", "c"]}, max_maps=3)
    grid = np.array(fig.axes).reshape(3, 4)
    assert [t.get_text() for t in grid[1, 0].texts] == ["depthwise"]
    assert [ax.get_title() for ax in grid[1, 1:]] == ["a", "b", "c"]
    assert [ax.get_title() for ax in grid[2, 1:]] == ["channel 0", "channel 1", "channel 2"]
    np.testing.assert_array_equal(grid[2, 2].images[0].get_array(), maps["pointwise"][1].numpy())
    with pytest.raises(ValueError, match=r"image must be a \(3, H, W\) tensor, got shape \(8, 8\)"):
        viz.plot_feature_maps(torch.rand(8, 8), maps)
    with pytest.raises(ValueError, match="maps must hold at least one layer"):
        viz.plot_feature_maps(image, {})


def test_conv_cost_explorer_shows_the_table_for_the_sliders():
    explorer = widgets.conv_cost_explorer()
    controls = {child.description: child for child in explorer.children[:-1]}
    controls["groups"].value = 64
    assert explorer.result.rows == layers.conv_costs(3, 64, 64, groups=64, feature_size=28).rows
    controls["groups"].value = 128  # more groups than channels: a message, not a crash
    assert explorer.result is None


# ---------------------------------------------------------------------------------------------------
# 03: the MobileNetV1 trade-off and its explorer


def test_mobilenet_v1_tradeoff_matches_tables_6_and_7():
    for alpha, (top1, paper_macs, paper_params) in papers.MOBILENET_V1_TABLE6.items():
        point = scaling.mobilenet_v1_tradeoff(alpha, 224)
        assert abs(point["macs"] / 1e6 - paper_macs) <= 0.01 * paper_macs
        assert round(point["params"] / 1e6, 1) == paper_params
        assert (point["paper_top1"], point["paper_table"]) == (top1, "Table 6")
    for resolution, (top1, paper_macs, _) in papers.MOBILENET_V1_TABLE7.items():
        point = scaling.mobilenet_v1_tradeoff(1.0, resolution)
        assert abs(point["macs"] / 1e6 - paper_macs) <= 0.01 * paper_macs
        assert point["paper_top1"] == top1


def test_mobilenet_v1_tradeoff_off_the_papers_grid():
    point = scaling.mobilenet_v1_tradeoff(0.5, 160)
    assert point["macs"] == 76_524_800  # the paper's Table 9 lists this network at 76 M
    assert (point["paper_top1"], point["paper_table"]) == (60.2, "Table 9")
    elsewhere = scaling.mobilenet_v1_tradeoff(0.5, 192)
    assert (elsewhere["paper_top1"], elsewhere["paper_table"]) == (None, None)
    # A float slider's 0.7500000000000001 still finds the paper's row.
    assert (
        scaling.mobilenet_v1_tradeoff(0.25 + 0.05 * 10, 224)["paper_top1"]
        == papers.MOBILENET_V1_TABLE6[0.75][0]
    )


def test_mobilenet_v1_tradeoff_explains_bad_arguments():
    with pytest.raises(ValueError, match=r"resolution must be a whole number of pixels, at least 32.*got 16"):
        scaling.mobilenet_v1_tradeoff(1.0, 16)
    with pytest.raises(ValueError, match=r"width_mult must be a number in \(0, 4\].*got 0"):
        scaling.mobilenet_v1_tradeoff(0, 224)


def test_plot_mobilenet_v1_tradeoff_marks_the_chosen_network():
    on_grid = charts.plot_mobilenet_v1_tradeoff(scaling.mobilenet_v1_tradeoff(0.5, 224))
    star = [line for line in on_grid.axes[0].lines if line.get_marker() == "*"]
    assert len(star) == 1
    assert star[0].get_xdata()[0] == pytest.approx(149.497088)
    assert star[0].get_ydata()[0] == papers.MOBILENET_V1_TABLE6[0.5][0]
    off_grid = charts.plot_mobilenet_v1_tradeoff(scaling.mobilenet_v1_tradeoff(0.5, 192))
    assert not [line for line in off_grid.axes[0].lines if line.get_marker() == "*"]
    labels = off_grid.axes[0].get_legend_handles_labels()[1]
    assert labels[-1] == "alpha=0.5, 192px: 110 M MACs (no paper accuracy)"
    assert "paper, Table 9" in labels  # 0.5 MobileNet-160 and AlexNet


def test_mobilenet_v1_explorer_follows_the_sliders():
    explorer = widgets.mobilenet_v1_explorer()
    controls = {child.description: child for child in explorer.children[:-1]}
    controls["resolution"].value = 160
    assert explorer.result == scaling.mobilenet_v1_tradeoff(1.0, 160)


# ---------------------------------------------------------------------------------------------------
# Exercise checks: right -> True, wrong -> False with a hint, unanswered -> a request, not an error


def _verdict(check, answer, capsys) -> tuple[bool, str]:
    result = check(answer)
    return result, capsys.readouterr().out


CHECKS = [
    # (check, right answers, [(wrong answer, words the hint must contain)])
    (
        exercises.check_depthwise_macs,
        [3 * 3 * 128 * 56 * 56, np.int64(3_612_672), torch.tensor(3_612_672)],
        [
            (3 * 3 * 128 * 128 * 56 * 56, "standard 3x3"),
            (3 * 3 * 128, "number of weights"),
            (10, "output values"),
        ],
    ),
    (
        exercises.check_separable_ratio,
        [1 / (1 / 256 + 1 / 25), 22.8],
        [(1 / 256 + 1 / 25, "fraction"), (8.7, "3x3 kernel"), (25, "invert")],
    ),
    (
        exercises.check_depthwise_groups,
        [96, 96.0],
        [(1, "standard convolution"), (5, "must divide"), (32, "3 channels per group")],
    ),
    (
        exercises.check_width_resolution_macs,
        [569 * 0.25 * (160 / 224) ** 2, 72.6, 72.6e6],
        [
            (569 * 0.5 * 160 / 224, "squared"),
            (569 * 0.25, "resolution"),
            (569 * (160 / 224) ** 2, "width"),
            (1, "start from"),
        ],
    ),
    (
        exercises.check_separable_params,
        [9 * 256 + 256 * 512],
        [
            (9 * 256 * 512, "standard"),
            (256 * 512, "both halves"),
            (9 * 512 + 256 * 512, "one 3x3 filter per input"),
        ],
    ),
    (
        exercises.check_params_vs_resolution,
        ["b", " B ", "(b)"],
        [("a", "not rounded"), ("c", "MACs measured")],
    ),
]


@pytest.mark.parametrize(("check", "rights", "wrongs"), CHECKS, ids=[c[0].__name__ for c in CHECKS])
def test_exercise_checks(check, rights, wrongs, capsys):
    for right in rights:
        ok, out = _verdict(check, right, capsys)
        assert ok is True and out.startswith("Correct."), (right, out)
    for wrong, hint in wrongs:
        ok, out = _verdict(check, wrong, capsys)
        assert ok is False and out.startswith("Not yet. Hint:") and hint in out, (wrong, out)
    ok, out = _verdict(check, ..., capsys)
    assert ok is False and out == "Replace ... with your answer, then run the cell again.\n"


@pytest.mark.parametrize(
    "check",
    [exercises.check_depthwise_macs, exercises.check_separable_ratio, exercises.check_width_resolution_macs],
)
def test_numeric_checks_reject_non_numbers_with_a_hint(check, capsys):
    ok, out = _verdict(check, "a lot", capsys)
    assert ok is False and "one number" in out and "got str" in out


def test_choice_and_groups_checks_reject_malformed_answers(capsys):
    ok, out = _verdict(exercises.check_params_vs_resolution, 2, capsys)
    assert ok is False and 'one letter as a string, "a", "b" or "c"; got 2' in out
    ok, out = _verdict(exercises.check_depthwise_groups, 1.5, capsys)
    assert ok is False and "positive whole number; got 1.5" in out
