"""The plain functions behind notebooks 06 (ShuffleNetV2) and 07 (comparison): channel shuffle and its
explorer, ImageNet accuracies, Pareto fronts, rank correlation, recorded benchmark results, the
comparison explorer and the exercise checks."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from torchvision.models import get_model_weights  # noqa: E402

from lightnets_course import (  # noqa: E402
    benchmark,
    charts,
    comparison,  # noqa: E402
    exercises,
    papers,
    widgets,
)
from lightnets_course.complexity import Table, compare, conv_mem_access, profile  # noqa: E402
from lightnets_course.models import (  # noqa: E402
    blocks,  # noqa: E402
    get_model,
    list_models,
)
from lightnets_course.models.blocks import ShuffleUnit, channel_shuffle  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------------
# 06: channel shuffle


@pytest.mark.parametrize(("channels", "groups"), [(6, 2), (12, 3), (24, 4), (116, 2), (5, 1), (8, 8)])
def test_shuffle_order_follows_the_grid_transpose(channels, groups):
    order = blocks.channel_shuffle_order(channels, groups)
    per_group = channels // groups
    # Position j * groups + k holds channel j of group k.
    assert order == [k * per_group + j for j in range(per_group) for k in range(groups)]
    assert sorted(order) == list(range(channels))


def test_shuffle_order_is_what_the_package_does_to_real_feature_maps():
    x = torch.randn(2, 12, 5, 5)
    order = blocks.channel_shuffle_order(12, 3)
    assert torch.equal(channel_shuffle(x, 3), x[:, order])
    assert blocks.channel_shuffle_order(6, 2) == [0, 3, 1, 4, 2, 5]


def test_basic_unit_passes_half_its_channels_through_on_even_positions():
    # What notebook 06 shows: the shuffle interleaves the untouched half with the branch's output.
    unit = ShuffleUnit(16, 16, stride=1).eval()
    x = torch.randn(1, 16, 6, 6)
    with torch.no_grad():
        out = unit(x)
    assert torch.equal(out[:, 0::2], x[:, :8])
    assert not torch.equal(out[:, 1::2], x[:, 8:])


@pytest.mark.parametrize(
    ("channels", "groups", "message"),
    [
        (10, 3, "groups=3 must divide channels=10"),
        (0, 1, "channels must be a positive"),
        (4, 0, "groups must be"),
    ],
)
def test_shuffle_order_rejects_bad_arguments(channels, groups, message):
    with pytest.raises(ValueError, match=message):
        blocks.channel_shuffle_order(channels, groups)


def test_plot_channel_shuffle_draws_each_channel_before_and_after_and_a_line_per_channel():
    figure = charts.plot_channel_shuffle(blocks.channel_shuffle_order(12, 3), 3)
    ax = figure.axes[0]
    rows = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in rows] == [12, 12]
    assert len(ax.lines) == 12
    # Each line runs from a channel's place before (y=1) to its place after (y=0).
    order = blocks.channel_shuffle_order(12, 3)
    assert sorted((tuple(line.get_xdata()), tuple(line.get_ydata())) for line in ax.lines) == sorted(
        ((channel, position), (1, 0)) for position, channel in enumerate(order)
    )
    # After the shuffle, neighbours come from different groups: 3 colours in every run of 3.
    after = rows[1].get_facecolors()
    for start in range(0, 12, 3):
        assert len({tuple(colour) for colour in after[start : start + 3]}) == 3


@pytest.mark.parametrize(
    ("order", "groups", "message"),
    [([0, 0, 1, 2], 2, "exactly once"), ([0, 2, 1], 2, "divides the 3 channels"), ([], 1, "exactly once")],
)
def test_plot_channel_shuffle_rejects_bad_input(order, groups, message):
    with pytest.raises(ValueError, match=message):
        charts.plot_channel_shuffle(order, groups)


def test_channel_shuffle_explorer_redraws_for_new_groups():
    explorer = widgets.channel_shuffle_explorer()
    groups, per_group = explorer.children[:2]
    assert (groups.value, per_group.value) == (2, 4)
    assert explorer.result == blocks.channel_shuffle_order(8, 2)
    groups.value = 3
    assert explorer.result == blocks.channel_shuffle_order(12, 3)
    assert not groups.continuous_update and not per_group.continuous_update


def test_check_pointwise_mem_access(capsys):
    right = 28 * 28 * (58 + 58) + 58 * 58
    assert right == conv_mem_access(28, 28, 58, 58)
    assert exercises.check_pointwise_mem_access(right) is True
    assert exercises.check_pointwise_mem_access(torch.tensor(right)) is True
    capsys.readouterr()
    assert exercises.check_pointwise_mem_access(28 * 28 * 58 * 58) is False
    assert "that is the FLOPs" in capsys.readouterr().out
    assert exercises.check_pointwise_mem_access(28 * 28 * (58 + 58)) is False
    assert "also reads its weights" in capsys.readouterr().out
    assert exercises.check_pointwise_mem_access(28 * 28 * 58 + 58 * 58) is False
    assert "writes its output map" in capsys.readouterr().out
    assert exercises.check_pointwise_mem_access("a lot") is False
    assert "one number of elements" in capsys.readouterr().out
    assert exercises.check_pointwise_mem_access(...) is False
    assert "Replace ... with your answer" in capsys.readouterr().out


def test_check_shuffle_position(capsys):
    order = channel_shuffle(torch.arange(12.0).view(1, 12, 1, 1), 3).flatten().tolist()
    right = order.index(5)
    assert exercises.check_shuffle_position(right) is True
    assert "Correct" in capsys.readouterr().out
    assert exercises.check_shuffle_position(int(order[5])) is False  # the inverse question
    assert "The question asks the opposite" in capsys.readouterr().out
    assert exercises.check_shuffle_position(5) is False
    assert "channel 5 does move" in capsys.readouterr().out
    assert exercises.check_shuffle_position(12) is False
    assert "a position from 0 to 11" in capsys.readouterr().out
    assert exercises.check_shuffle_position(...) is False


# ---------------------------------------------------------------------------------------------------
# 07: accuracies, Pareto fronts, correlation, comparison


def test_imagenet_top1_reads_torchvision_metadata_and_the_papers():
    for name in ("alexnet", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_5"):
        top1 = comparison.imagenet_top1(name)
        expected = get_model_weights(name).DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"]
        assert top1["torchvision"] == top1["top1"] == expected
        assert top1["source"] == "torchvision weights"
    v1 = comparison.imagenet_top1("mobilenet_v1")
    assert v1["torchvision"] is None and v1["top1"] == v1["paper"] == papers.MOBILENET_V1_TABLE6[1.0][0]
    assert "Table 6" in v1["source"]
    # ShuffleNetV2's Table 8 gives errors: the accuracy is 100 minus the error.
    assert comparison.imagenet_top1("shufflenet_v2_x1_0")["paper"] == round(
        100 - papers.SHUFFLENET_V2_TABLE8["ShuffleNet v2 1x"][1], 1
    )
    assert comparison.imagenet_top1("alexnet_half")["top1"] is None
    assert set(papers.PAPER_IMAGENET_TOP1) == set(list_models()) - {"alexnet_half"}
    with pytest.raises(ValueError, match="unknown model 'resnet50'"):
        comparison.imagenet_top1("resnet50")


ROWS = [
    {"model": "a", "macs": 10, "top1": 60.0},
    {"model": "b", "macs": 20, "top1": 70.0},
    {"model": "c", "macs": 30, "top1": 65.0},  # beaten by b: more MACs, less accurate
    {"model": "d", "macs": 40, "top1": 75.0},
    {"model": "e", "macs": 40, "top1": 72.0},  # beaten by d: same MACs, less accurate
    {"model": "f", "macs": 5, "top1": None},  # no accuracy: not on the plot
]


def test_pareto_front_keeps_only_models_nothing_beats():
    assert [row["model"] for row in comparison.pareto_front(ROWS, "macs", "top1")] == ["a", "b", "d"]
    # Two identical points beat neither each other: both stay.
    twins = [{"model": "x", "macs": 1, "top1": 1.0}, {"model": "y", "macs": 1, "top1": 1.0}]
    assert len(comparison.pareto_front(twins, "macs", "top1")) == 2
    assert [row["model"] for row in comparison.pareto_front(Table(ROWS), "macs", "top1")] == ["a", "b", "d"]
    with pytest.raises(ValueError, match="no row has a 'latency_ms' column"):
        comparison.pareto_front(ROWS, "latency_ms", "top1")


def test_plot_pareto_fills_the_front_and_draws_its_staircase():
    figure = charts.plot_pareto(ROWS, "macs", "top1", title="test")
    ax = figure.axes[0]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 5  # f has no accuracy
    (staircase,) = ax.lines
    assert list(staircase.get_xdata()) == [10 / 1e6, 20 / 1e6, 40 / 1e6]  # MACs are drawn in millions
    assert list(staircase.get_ydata()) == [60.0, 70.0, 75.0]
    assert ax.get_xscale() == "log" and "MACs" in ax.get_xlabel()
    assert "3 of 5" in ax.get_legend().get_texts()[0].get_text()


def test_spearman():
    assert comparison.spearman([1, 2, 3, 4], [10, 20, 30, 400]) == pytest.approx(1.0)
    assert comparison.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert comparison.spearman([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(0.8)
    # Ties share their average rank: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4).
    # Deviations from the mean rank 2.5: (-1.5, 0, 0, 1.5) and (-1.5, -0.5, 0.5, 1.5).
    expected = 4.5 / (4.5**0.5 * 5**0.5)
    assert comparison.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(expected)
    for x, y, message in (
        ([1, 2], [1, 2, 3], "equally long"),
        ([1], [1], "at least 2 pairs"),
        ([1, 1, 1], [1, 2, 3], "all values of x"),
    ):
        with pytest.raises(ValueError, match=message):
            comparison.spearman(x, y)


def test_comparison_rows_join_counts_latency_and_accuracy():
    costs = compare(["shufflenet_v2_x0_5", "alexnet_half"], (3, 224, 224))
    rows = comparison.comparison_rows(costs, {"shufflenet_v2_x0_5": 12.5})
    assert [row["model"] for row in rows] == ["shufflenet_v2_x0_5", "alexnet_half"]
    assert rows[0]["macs"] == costs.rows[0]["macs"] and rows[0]["params"] == costs.rows[0]["params"]
    assert rows[0]["latency_ms"] == 12.5 and rows[1]["latency_ms"] is None
    assert rows[0]["top1"] == comparison.imagenet_top1("shufflenet_v2_x0_5")["paper"]  # one source for all
    assert rows[1]["top1"] is None
    by_torchvision = comparison.comparison_rows(costs, accuracy="torchvision")
    assert by_torchvision[0]["top1"] == comparison.imagenet_top1("shufflenet_v2_x0_5")["torchvision"]
    assert by_torchvision[0]["source"] == "torchvision weights"
    assert "latency_ms" not in comparison.comparison_rows(costs)[0]
    with pytest.raises(ValueError, match="complexity.compare"):
        comparison.comparison_rows([{"model": "x"}])


def test_comparison_table_sorts_by_cost_and_marks_the_front():
    table = comparison.comparison_table(ROWS, ["a", "b", "c", "d"], cost="macs")
    assert [row["model"] for row in table.rows] == ["a", "b", "c", "d"]
    assert [row["pareto"] for row in table.rows] == ["yes", "yes", "", "yes"]
    # Among fewer models the front changes: without b, c is on it.
    assert [row["pareto"] for row in comparison.comparison_table(ROWS, ["a", "c"]).rows] == ["yes", "yes"]
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['z'\]"):
        comparison.comparison_table(ROWS, ["a", "z"])
    with pytest.raises(ValueError, match="'latency_ms'"):
        comparison.comparison_table(ROWS, cost="latency_ms")


def test_comparison_explorer_switches_the_cost_axis():
    rows = [dict(row, params=100 - row["macs"], mem_access=row["macs"] * 2) for row in ROWS]
    explorer = widgets.comparison_explorer(rows)
    cost, models = explorer.children[:2]
    assert [value for _, value in cost.options] == ["macs", "params", "mem_access"]  # no latency in the rows
    assert explorer.result.rows[0]["model"] == "f"  # cheapest by MACs
    cost.value = "params"
    assert explorer.result.rows[0]["model"] == "d"  # cheapest by params
    models.value = ("a", "b")
    assert [row["model"] for row in explorer.result.rows] == ["b", "a"]
    timed = [dict(row, latency_ms=1.0) for row in rows]
    assert "latency_ms" in [value for _, value in widgets.comparison_explorer(timed).children[0].options]


def test_recorded_results_reads_what_save_results_wrote(tmp_path):
    table = Table([{"config": "1:1", "speed_vs_first": 1.0, "paper_vs_first": 1.0}], title="G1", units={})
    benchmark.save_results(
        tmp_path / "guidelines_cpu.json", {"G1 x1": table}, "cpu", "python benchmarks/guidelines.py"
    )
    (tmp_path / "model_latency_cpu.json").write_text("{}")  # another script's file: not read
    found = benchmark.recorded_results("guidelines", folder=tmp_path)
    assert list(found) == ["guidelines_cpu.json"]
    document = found["guidelines_cpu.json"]
    assert document["machine"]["device"] == "cpu" and document["command"] == "python benchmarks/guidelines.py"
    assert Table(**document["tables"]["G1 x1"]).rows == table.rows
    assert benchmark.recorded_results("guidelines", folder=tmp_path / "nothing-here") == {}


def test_recorded_results_rejects_bad_names_and_files(tmp_path):
    with pytest.raises(ValueError, match="script must be one of"):
        benchmark.recorded_results("latency")
    (tmp_path / "model_latency_cpu.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        benchmark.recorded_results("model_latency", folder=tmp_path)
    (tmp_path / "model_latency_cpu.json").write_text(json.dumps({"tables": {}}))
    with pytest.raises(ValueError, match="lacks machine, command or tables"):
        benchmark.recorded_results("model_latency", folder=tmp_path)


def _front_from_published_numbers(cost: str) -> set[str]:
    """The front of the papers' ImageNet top-1 against ``cost`` ("params" or "macs"), with the costs from
    torchvision's published metadata (MobileNetV1: its paper's Table 6), independent of the package's
    counting."""
    points = {}
    for name in list_models():
        if name in ("mobilenet_v1", "alexnet_half"):
            continue
        meta = get_model_weights(name).DEFAULT.meta
        points[name] = (
            meta["num_params"] if cost == "params" else meta["_ops"] * 1e9,
            papers.PAPER_IMAGENET_TOP1[name][0],
        )
    top1, mmacs, mparams = papers.MOBILENET_V1_TABLE6[1.0]
    points["mobilenet_v1"] = ((mparams if cost == "params" else mmacs) * 1e6, top1)
    return {
        name
        for name, (size, acc) in points.items()
        if not any(s <= size and a >= acc and (s, a) != (size, acc) for s, a in points.values())
    }


def test_check_params_front(capsys):
    front = _front_from_published_numbers("params")
    assert len(front) >= 3 and front != _front_from_published_numbers("macs")
    assert exercises.check_params_front(sorted(front)) is True
    assert "change sides" in capsys.readouterr().out
    assert exercises.check_params_front(set(front)) is True
    capsys.readouterr()
    off_front = sorted(set(papers.PAPER_IMAGENET_TOP1) - front)
    assert exercises.check_params_front(sorted(front) + off_front[:1]) is False
    assert "1 of your models is off the front" in capsys.readouterr().out
    assert exercises.check_params_front(sorted(front)[:-2]) is False
    assert "2 models are missing" in capsys.readouterr().out
    # The front against MACs is a different answer.
    assert exercises.check_params_front(sorted(_front_from_published_numbers("macs"))) is False
    assert exercises.check_params_front(sorted(front) + ["alexnet_half"]) is False
    assert "has no ImageNet accuracy" in capsys.readouterr().out
    assert exercises.check_params_front(["resnet50"]) is False
    assert "not course models" in capsys.readouterr().out
    assert exercises.check_params_front(42) is False
    assert "a list of model names" in capsys.readouterr().out
    assert exercises.check_params_front(...) is False


def test_check_macs_ratio(capsys):
    alexnet = profile(get_model("alexnet"), (3, 224, 224))
    small = profile(get_model("shufflenet_v2_x0_5"), (3, 224, 224))
    right = alexnet.macs / small.macs
    assert exercises.check_macs_ratio(right) is True
    assert exercises.check_macs_ratio(round(right, 1)) is True
    capsys.readouterr()
    assert exercises.check_macs_ratio(1 / right) is False
    assert "the other way round" in capsys.readouterr().out
    assert exercises.check_macs_ratio(alexnet.params / small.params) is False
    assert "ratio of the parameters" in capsys.readouterr().out
    assert exercises.check_macs_ratio(right * 2) is False
    assert exercises.check_macs_ratio("big") is False
    assert exercises.check_macs_ratio(...) is False


def test_latency_rank_correlations_and_ranking_verdict():
    def rows(p10, median, p90):
        return [
            {"macs": m, "mem_access": a, "params": 1.0 + i, "p10_ms": lo, "latency_ms": mid, "p90_ms": hi}
            for i, (m, a, lo, mid, hi) in enumerate(zip([1, 2, 3, 4], [4, 1, 2, 3], p10, median, p90))
        ]

    # memory access orders the times exactly at every quantile, MACs does not
    rho = comparison.latency_rank_correlations(rows([4, 1, 2, 3], [40, 10, 20, 30], [41, 11, 21, 31]))
    assert rho["mem_access"] == pytest.approx((1.0, 1.0, 1.0))
    assert rho["macs"] == pytest.approx((-0.2, -0.2, -0.2))
    assert comparison.ranking_verdict(rho) == "on this machine mem_access ranks the latency better than MACs"
    # the slow end orders by MACs: the timings disagree, so no direction is named
    rho = comparison.latency_rank_correlations(rows([4, 1, 2, 3], [40, 10, 20, 30], [1, 2, 3, 4]))
    assert comparison.ranking_verdict(rho).endswith(
        "no clear difference here in how well they rank the latency"
    )
    # MACs wins everywhere
    rho = comparison.latency_rank_correlations(rows([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]))
    assert comparison.ranking_verdict(rho) == "on this machine MACs rank the latency better than mem_access"


def test_paper_guideline_table_is_the_papers_tables_relative_to_their_first_row():
    from lightnets_course import papers
    from lightnets_course.guidelines import paper_guideline_table

    g2 = paper_guideline_table("G2", widths="gpu")
    assert [row["config"] for row in g2.rows] == ["g=1", "g=2", "g=4", "g=8"]
    assert [row["speed_x1"] for row in g2.rows] == [2451, 1725, 1026, 634]  # Table 2, GTX 1080Ti
    assert g2.rows[3]["x1_vs_first"] == round(634 / 2451, 2) and g2.rows[3]["x4_vs_first"] == round(
        230 / 437, 2
    )
    g3 = paper_guideline_table("g3", widths="cpu")  # the ARM core's images/s
    assert g3.rows[2]["config"] == "4-fragment-series" and g3.rows[2]["speed_x1"] == 38.4
    assert "Table 3" in g3.title and "ARM" in g3.title
    with pytest.raises(ValueError, match="name must be one of 'G1', 'G2', 'G3', 'G4'; got 'G5'"):
        paper_guideline_table("G5")
    with pytest.raises(ValueError, match="widths must be 'gpu' or 'cpu'"):
        paper_guideline_table("G1", widths="tpu")
    # Table 8's source and the guideline tables' source are two different sentences
    assert (
        "Tables 1-4" not in papers.SHUFFLENET_V2_SOURCE
        and "Tables 1-4" in papers.SHUFFLENET_V2_GUIDELINE_SOURCE
    )
