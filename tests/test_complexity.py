"""Counting what a model costs: torchvision's published numbers, the papers' tables and formulas,
torchsummary made safe, and the messages bad input gets."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torchvision
from torch import nn

from lightnets_course.complexity import (
    Profile,
    Table,
    compare,
    conv_macs,
    conv_mem_access,
    profile,
    summary,
)

# ---------------------------------------------------------------------------------------------------
# torchvision's models at 224x224: MACs must be the "GFLOPS" (`_ops`) of its weights' metadata, to the
# digits published, and exactly torch.utils.flop_counter's total / 2 (reference table 1b).

TORCHVISION_EXACT_MACS = {
    "alexnet": 714_188_480,
    "mobilenet_v2": 300_774_272,
    "mobilenet_v3_large": 216_589_760,
    "mobilenet_v3_small": 56_510_400,
    "shufflenet_v2_x0_5": 40_476_448,
    "shufflenet_v2_x1_0": 144_907_992,
    "shufflenet_v2_x1_5": 295_759_392,
    "shufflenet_v2_x2_0": 583_253_464,
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_EXACT_MACS))
def test_torchvision_models_match_published_metadata(name):
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    measured = profile(torchvision.models.get_model(name, weights=None))

    decimals = len(repr(meta["_ops"]).split(".")[1])  # 0.04 is published with 2 decimals, 0.301 with 3
    assert round(measured.macs / 1e9, decimals) == meta["_ops"]
    assert measured.macs == TORCHVISION_EXACT_MACS[name]
    assert measured.flops == 2 * TORCHVISION_EXACT_MACS[name]
    assert measured.params == meta["num_params"]
    assert sum(layer["macs"] for layer in measured.layers) == measured.macs


# ---------------------------------------------------------------------------------------------------
# The formulas against the papers' worked numbers


def test_conv_macs_reproduces_mobilenet_v1_table3():
    # One layer with D_K = 3, M = N = 512 at D_F = 14, then made depthwise-separable, thinner (0.75)
    # and smaller (D_F = 10).
    assert conv_macs(14, 14, 512, 512, 3) == 462_422_016
    assert conv_macs(14, 14, 512, 512, 3, groups=512) + conv_macs(14, 14, 512, 512, 1) == 52_283_392
    assert conv_macs(14, 14, 384, 384, 3, groups=384) + conv_macs(14, 14, 384, 384, 1) == 29_578_752
    assert conv_macs(10, 10, 384, 384, 3, groups=384) + conv_macs(10, 10, 384, 384, 1) == 15_091_200


def test_profile_of_a_depthwise_separable_layer_matches_table3():
    layer = nn.Sequential(
        nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False), nn.Conv2d(512, 512, 1, bias=False)
    )
    measured = profile(layer, (512, 14, 14))
    assert measured.macs == 52_283_392
    assert measured.params == 266_752  # the paper's 0.27 M


@pytest.mark.parametrize(
    "c1, c2, expected",
    # ShuffleNetV2 Table 1 (GPU x1 column): four ratios c1:c2 at about the same FLOPs, 56x56 maps.
    [(128, 128, 819_200), (90, 180, 862_920), (52, 312, 1_157_728), (36, 432, 1_483_200)],
)
def test_mem_access_of_shufflenet_v2_table1(c1, c2, expected):
    hw = 56 * 56
    assert conv_mem_access(56, 56, c1, c2) == hw * (c1 + c2) + c1 * c2 == expected
    assert profile(nn.Conv2d(c1, c2, 1, bias=False), (c1, 56, 56)).mem_access == expected

    # Eq. 1: MAC >= 2 sqrt(hw B) + B / hw, reached when c1 = c2 (guideline G1).
    flops = hw * c1 * c2
    bound = 2 * math.sqrt(hw * flops) + flops / hw
    if c1 == c2:
        assert expected == bound
    else:
        assert expected > bound


@pytest.mark.parametrize(
    "groups, channels, expected",
    # ShuffleNetV2 Table 2 (GPU x1 column): group convs c -> c at the same FLOPs, 56x56 maps.
    [(1, 128, 819_200), (2, 180, 1_145_160), (4, 256, 1_622_016), (8, 360, 2_274_120)],
)
def test_mem_access_of_group_convs_shufflenet_v2_table2(groups, channels, expected):
    hw = 56 * 56
    assert conv_mem_access(56, 56, channels, channels, groups=groups) == expected
    assert hw * 2 * channels + channels * channels // groups == expected
    conv = nn.Conv2d(channels, channels, 1, groups=groups, bias=False)
    assert profile(conv, (channels, 56, 56)).mem_access == expected


@pytest.mark.parametrize(
    "c_in, c_out, kernel, stride, groups, size",
    [(16, 32, 3, 2, 1, 15), (32, 32, 3, 1, 32, 14), (8, 24, 5, 2, 4, 17), (24, 48, 1, 2, 1, 9)],
)
def test_profile_of_one_conv_equals_the_formulas(c_in, c_out, kernel, stride, groups, size):
    conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)
    measured = profile(conv, (c_in, size, size))
    (row,) = measured.layers
    h_out = row["output_shape"][2]
    assert measured.macs == conv_macs(h_out, h_out, c_in, c_out, kernel, groups) == row["macs"]
    assert measured.mem_access == conv_mem_access(size, size, c_in, c_out, kernel, groups, stride)
    assert measured.params == row["params"] == conv.weight.numel()


def test_formulas_reject_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match=re.escape("groups=3 must divide both c_in=16 and c_out=32")):
        conv_macs(8, 8, 16, 32, 3, groups=3)
    with pytest.raises(TypeError, match=re.escape("kernel must be an int such as 3")):
        conv_mem_access(8, 8, 16, 32, kernel="3")


# ---------------------------------------------------------------------------------------------------
# profile: per-layer rows, batch, state


def _small_net() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),  # with a bias: counted as a weight read
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(16, 10),
    )


def test_profile_lists_conv_and_linear_layers_in_order():
    measured = profile(_small_net(), (3, 16, 16))
    assert [(row["name"], row["type"], row["output_shape"]) for row in measured.layers] == [
        ("0", "Conv2d", (1, 8, 16, 16)),
        ("3", "Conv2d", (1, 16, 8, 8)),
        ("7", "Linear", (1, 10)),
    ]
    assert [row["params"] for row in measured.layers] == [216, 1_168, 170]
    assert [row["macs"] for row in measured.layers] == [
        conv_macs(16, 16, 3, 8, 3),
        conv_macs(8, 8, 8, 16, 3),
        16 * 10,
    ]
    assert [row["mem_access"] for row in measured.layers] == [
        conv_mem_access(16, 16, 3, 8, 3),
        conv_mem_access(16, 16, 8, 16, 3, stride=2) + 16,  # + the bias
        16 + 170 + 10,
    ]
    assert measured.params == 216 + 16 + 1_168 + 170  # BatchNorm's weight and bias count too
    assert measured.macs == sum(row["macs"] for row in measured.layers)
    assert measured.mem_access == sum(row["mem_access"] for row in measured.layers)


def test_batch_size_scales_activations_but_not_weights():
    model = _small_net()
    one, four = profile(model, (3, 16, 16)), profile(model, (3, 16, 16), batch_size=4)
    assert four.macs == 4 * one.macs
    weights = sum(row["params"] for row in one.layers)
    assert four.mem_access - weights == 4 * (one.mem_access - weights)
    assert four.layers[0]["output_shape"] == (4, 8, 16, 16)


def test_a_module_called_twice_costs_twice_but_its_weights_count_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)

        def forward(self, x):
            return self.conv(self.conv(x))

    measured = profile(Twice(), (4, 8, 8))
    assert measured.params == 144
    assert measured.macs == 2 * conv_macs(8, 8, 4, 4, 3)
    assert [row["name"] for row in measured.layers] == ["conv", "conv"]


def _state(model: nn.Module) -> dict:
    return {
        "training": [m.training for m in model.modules()],
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
        "rng": torch.get_rng_state(),
    }


@pytest.mark.parametrize("measure", [profile, lambda m, size: summary(m, size, print_result=False)])
def test_measuring_leaves_modes_batchnorm_statistics_and_rng_untouched(measure):
    model = torchvision.models.mobilenet_v3_small(num_classes=10)  # BatchNorm and dropout
    model.train()
    model.features[0].eval()  # a half-frozen model must stay half-frozen
    before = _state(model)

    measure(model, (3, 32, 32))

    after = _state(model)
    assert after["training"] == before["training"]
    assert after["tensors"].keys() == before["tensors"].keys()
    for key, value in before["tensors"].items():
        assert torch.equal(after["tensors"][key], value), key  # running_mean, num_batches_tracked, ...
    assert torch.equal(after["rng"], before["rng"])


def test_profile_shows_itself():
    measured = profile(_small_net(), (3, 16, 16))
    assert isinstance(measured, Profile)
    assert (measured.macs, measured.mem_access) == (129_184, 7_468)
    assert repr(measured) == (
        "Profile(input 1x3x16x16: params 1,570, MACs 129.18 K, FLOPs 258.37 K, "
        "mem_access 7.47 K elements; 3 conv/linear layers)"
    )
    table = measured.table()
    assert table.rows == measured.layers
    assert str(table).splitlines()[3].split() == [
        "0",
        "Conv2d",
        "(1,",
        "8,",
        "16,",
        "16)",
        "216",
        "55,296",
        "3,032",
    ]
    assert "<details>" in measured._repr_html_() and "<td" in measured._repr_html_()


# ---------------------------------------------------------------------------------------------------
# Table and compare


def test_table_aligns_numbers_and_shows_units():
    table = Table(
        [{"name": "a", "params": 3_504_872, "macs": 300_774_272}, {"name": "<b>", "params": 12, "macs": 5e5}],
        title="Two rows",
        units={"macs": "M"},
    )
    assert str(table).splitlines() == [
        "Two rows",
        "name     params  macs (M)",
        "----  ---------  --------",
        "a     3,504,872    300.77",
        "<b>          12      0.50",
    ]
    html = table._repr_html_()
    assert "<caption>Two rows</caption>" in html
    assert "&lt;b&gt;" in html and '<td style="text-align: right">300.77</td>' in html
    with pytest.raises(
        ValueError, match=re.escape("units['macs'] must be one of 'K', 'M', 'G' or ''; got 'T'")
    ):
        Table([], units={"macs": "T"})


def test_compare_takes_a_dict_of_models():
    models = {"small": _small_net(), "one conv": nn.Conv2d(3, 8, 3)}
    table = compare(models, input_size=(3, 16, 16))
    expected = [profile(model, (3, 16, 16)) for model in models.values()]
    assert table.rows == [
        {"name": name, "params": p.params, "macs": p.macs, "flops": p.flops, "mem_access": p.mem_access}
        for name, p in zip(models, expected)
    ]
    assert str(table).splitlines()[1].split() == [
        "name",
        "params",
        "macs",
        "(M)",
        "flops",
        "(M)",
        "mem_access",
        "(M)",
    ]


@pytest.mark.parametrize(
    "models, message",
    [
        (
            "mobilenet_v2",
            "models must be a list of names or a dict of models; wrap one name: ['mobilenet_v2']",
        ),
        ([nn.Conv2d(3, 8, 3)], "models must be a list of registry names such as ['mobilenet_v2', "),
    ],
)
def test_compare_rejects_other_inputs(models, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        compare(models)


# ---------------------------------------------------------------------------------------------------
# summary: torchsummary, run safely


class _Split(nn.Module):
    def forward(self, x):
        return x.chunk(2, dim=1)


class _Merge(nn.Module):
    def forward(self, halves):
        return torch.cat(halves, dim=1)


class _SplitNet(nn.Module):
    """A channel split returning a tuple and a module taking one, as in a ShuffleNetV2 unit."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.split = _Split()
        self.branch = nn.Conv2d(4, 4, 1)
        self.merge = _Merge()

    def forward(self, x):
        left, right = self.split(self.stem(x))
        return self.merge((left, self.branch(right)))


def test_torchsummary_alone_crashes_on_a_tuple_taking_module():
    from torchsummary import summary as torchsummary_summary

    with pytest.raises(AttributeError, match="'tuple' object has no attribute 'size'"):
        torchsummary_summary(_SplitNet(), (3, 8, 8), device="cpu")


def test_summary_leaves_out_modules_it_cannot_read():
    text = summary(_SplitNet(), (3, 8, 8), print_result=False)
    assert re.search(r"Conv2d-1 +\[-1, 8, 8, 8\] +224", text)
    assert re.search(
        r"_Split-2 +\[\[-1, 4, 8, 8\], \[-1, 4, 8, 8\]\] +0", text
    )  # a tuple of tensors reads fine
    assert re.search(r"Conv2d-3 +\[-1, 4, 8, 8\] +20", text)
    assert "_Merge" not in text.split("Note:")[0]
    assert "Total params: 244\n" in text
    assert text.endswith("Note: no row for modules whose input or output is not a tensor: merge.\n")


def test_summary_gives_the_true_count_of_a_shared_module():
    class Twice(nn.Module):  # torchsummary's own README example reports 20 params for this
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)

        def forward(self, x):
            return self.conv(self.conv(x))

    text = summary(Twice(), (1, 16, 16), print_result=False)
    assert "Total params: 10\nTrainable params: 10\nNon-trainable params: 0\n" in text
    assert "Params size (MB): 0.00\n" in text
    assert "Note: the rows above add up to 20 params (20 trainable)" in text


def test_summary_of_a_single_layer():
    text = summary(nn.Conv2d(3, 8, 3), (3, 8, 8), print_result=False)
    assert re.search(r"Conv2d-1 +\[-1, 8, 6, 6\] +224", text)
    assert "Total params: 224\n" in text and "Note" not in text


def test_summary_prints_and_returns_the_same_text(capsys):
    returned = summary(nn.Conv2d(3, 8, 3), (3, 8, 8), batch_size=4)
    assert capsys.readouterr().out == returned
    assert re.search(r"Conv2d-1 +\[4, 8, 6, 6\]", returned)
    quiet = summary(nn.Conv2d(3, 8, 3), (3, 8, 8), print_result=False)
    assert capsys.readouterr().out == ""
    assert re.search(r"Conv2d-1 +\[-1, 8, 6, 6\]", quiet)


def test_summary_of_a_cpu_model_when_cuda_is_available(monkeypatch):
    # torchsummary's default device="cuda" would put the inputs on the GPU of a Colab GPU runtime.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    text = summary(_small_net(), (3, 16, 16), print_result=False)
    assert "Total params: 1,570\n" in text


def test_summary_of_a_double_precision_model_runs_a_float32_copy():
    model = _small_net().double()
    text = summary(model, (3, 16, 16), print_result=False)
    assert "Total params: 1,570\n" in text
    assert next(model.parameters()).dtype == torch.float64


# ---------------------------------------------------------------------------------------------------
# Bad input

INPUT_SIZE_MESSAGE = (
    "input_size must be (channels, height, width), three positive ints such as (3, 224, 224), "
    "or (3, 32, 32) for a CIFAR model; got "
)


@pytest.mark.parametrize("measure", [profile, summary])
@pytest.mark.parametrize(
    "input_size, got",
    [
        ((224, 224), "(224, 224)"),
        (224, "224"),
        ((3, 0, 32), "(3, 0, 32)"),
        ((3.0, 32, 32), "(3.0, 32, 32)"),
        ((1, 3, 32, 32), "(1, 3, 32, 32). Leave out the batch dimension: pass batch_size= instead"),
    ],
)
def test_bad_input_size(measure, input_size, got):
    with pytest.raises(ValueError, match=re.escape(INPUT_SIZE_MESSAGE + got)):
        measure(nn.Conv2d(3, 8, 3), input_size)


@pytest.mark.parametrize("measure", [profile, summary])
def test_bad_models(measure):
    with pytest.raises(
        ValueError, match=re.escape("model (ReLU) has no parameters: there are no conv or linear")
    ):
        measure(nn.ReLU())
    with pytest.raises(
        TypeError, match=re.escape("not the name 'mobilenet_v2': build it first, e.g. get_model(")
    ):
        measure("mobilenet_v2")


@pytest.mark.parametrize("measure", [profile, summary])
def test_an_input_too_small_gets_the_models_own_message(measure):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3))
    with pytest.raises(
        ValueError, match=re.escape("Sequential cannot run on input_size=(3, 4, 4): ")
    ) as info:
        measure(model, (3, 4, 4))
    assert "Kernel size can't be greater than actual input size" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_bad_batch_size():
    with pytest.raises(ValueError, match=re.escape("batch_size must be a positive whole number, got 0")):
        profile(nn.Conv2d(3, 8, 3), (3, 8, 8), batch_size=0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "batch_size must be a positive whole number (or -1 to show the batch dimension as -1), got 0"
        ),
    ):
        summary(nn.Conv2d(3, 8, 3), (3, 8, 8), batch_size=0)


# ---------------------------------------------------------------------------------------------------
# The course's own models


@pytest.mark.parametrize(
    "width_mult, resolution, paper_macs_m, paper_params_m, exact_macs, exact_params",
    # MobileNetV1 Table 6 (width multiplier) and Table 7 (resolution), in millions, next to the exact
    # counts of the architecture the paper's Table 1 describes.
    [
        (1.0, 224, 569, 4.2, 568_740_352, 4_210_088),
        (0.75, 224, 325, 2.6, 325_400_448, 2_569_144),
        (0.5, 224, 149, 1.3, 149_497_088, 1_320_648),
        (0.25, 224, 41, 0.5, 41_030_272, 464_600),
        (1.0, 192, 418, 4.2, 418_121_728, 4_210_088),
        (1.0, 160, 290, 4.2, 290_675_200, 4_210_088),
        (1.0, 128, 186, 4.2, 186_400_768, 4_210_088),
    ],
)
def test_course_mobilenet_v1_reproduces_tables_6_and_7(
    width_mult, resolution, paper_macs_m, paper_params_m, exact_macs, exact_params
):
    from lightnets_course.models import get_model

    measured = profile(get_model("mobilenet_v1", width_mult=width_mult), (3, resolution, resolution))
    assert measured.macs == pytest.approx(paper_macs_m * 1e6, rel=0.01)
    assert measured.macs == exact_macs
    # The paper counts conv and FC weights; BatchNorm's scale and shift are left out (with them the
    # 1.0 model has 4,231,976, which rounds the same).
    conv_and_fc_params = sum(row["params"] for row in measured.layers)
    assert round(conv_and_fc_params / 1e6, 1) == paper_params_m
    assert conv_and_fc_params == exact_params


@pytest.mark.parametrize(
    "name, paper_macs_m, paper_params_m",
    # ShuffleNetV2 Table 5: "FLOPs" (multiply-adds) and "# of Weights". The paper's FLOPs run 0.8-1.3%
    # above the conv and linear MACs measured here.
    [
        ("shufflenet_v2_x0_5", 41, 1.4),
        ("shufflenet_v2_x1_0", 146, 2.3),
        ("shufflenet_v2_x1_5", 299, 3.5),
        ("shufflenet_v2_x2_0", 591, 7.4),
    ],
)
def test_course_shufflenet_v2_reproduces_table_5(name, paper_macs_m, paper_params_m):
    from lightnets_course.models import get_model

    measured = profile(get_model(name))
    assert measured.macs == pytest.approx(paper_macs_m * 1e6, rel=0.015)
    assert measured.macs == TORCHVISION_EXACT_MACS[name]
    assert round(measured.params / 1e6, 1) == paper_params_m


def test_compare_builds_course_models_by_name():
    table = compare(["mobilenet_v2", "shufflenet_v2_x1_0"])
    assert [(row["name"], row["macs"]) for row in table.rows] == [
        ("mobilenet_v2", TORCHVISION_EXACT_MACS["mobilenet_v2"]),
        ("shufflenet_v2_x1_0", TORCHVISION_EXACT_MACS["shufflenet_v2_x1_0"]),
    ]
    assert [row["params"] for row in table.rows] == [3_504_872, 2_278_604]


def _course_model_names() -> list[str]:
    from lightnets_course.models import list_models

    return list_models()


@pytest.mark.parametrize("name", _course_model_names())
def test_summary_of_every_course_model_reports_the_true_count(name):
    from lightnets_course.models import get_model

    model = get_model(name, num_classes=10, cifar=True)
    text = summary(model, (3, 32, 32), print_result=False)
    true_params = sum(p.numel() for p in model.parameters())
    assert f"Total params: {true_params:,}\n" in text
    assert "add up to" not in text  # torchsummary's own sum agrees on every course model


def test_summary_of_shufflenet_v2_x0_5_for_cifar_matches_the_seed():
    from lightnets_course.models import get_model

    text = summary(
        get_model("shufflenet_v2_x0_5", num_classes=10, cifar=True), (3, 32, 32), print_result=False
    )
    assert "Total params: 352,042\n" in text
