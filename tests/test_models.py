"""Tests for lightnets_course.models: torchvision equality, the papers' numbers, CIFAR variants, errors."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import _utils as tv_utils
from torchvision.models import shufflenetv2 as tv_shufflenetv2
from torchvision.ops.misc import SqueezeExcitation

from lightnets_course.models import (
    alexnet,
    alexnet_half,
    get_model,
    list_models,
    mobilenet_v1,
    mobilenet_v2,
    shufflenet_v2_x0_5,
)
from lightnets_course.models.blocks import (
    ConvBNAct,
    DepthwiseSeparable,
    InvertedResidual,
    InvertedResidualV3,
    ShuffleUnit,
    SqueezeExcite,
    channel_shuffle,
    make_divisible,
)

ALL_MODELS = [
    "alexnet",
    "alexnet_half",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
]


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, size: int = 224) -> int:
    """Multiply-accumulates of conv and linear layers: FlopCounterMode counts 2 per MAC."""
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, size, size))
    return counter.get_total_flops() // 2


def randomize_batchnorm(model: nn.Module) -> None:
    """Give every BatchNorm non-trivial statistics, so a wrong eps or a swapped layer shows in the outputs."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)


# ----------------------------------------------------------------------------------------------
# Blocks


def test_make_divisible_equals_torchvision_rule():
    widths = [0.1, 0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 2.0]
    channels = [16, 24, 32, 40, 64, 72, 88, 96, 120, 160, 184, 200, 320, 576, 960, 1024, 1280]
    for w in widths:
        for c in channels:
            assert make_divisible(c * w) == tv_utils._make_divisible(c * w, 8), (c, w)
    assert make_divisible(32 * 0.35) == 16  # 8 would lose more than 10%
    assert make_divisible(3, 4, min_value=1) == 4


def test_conv_bn_act_child_names_and_same_padding():
    block = ConvBNAct(3, 16, kernel_size=5, stride=1)
    assert [name for name, _ in block.named_children()] == ["0", "1", "2"]
    assert block(torch.randn(1, 3, 9, 9)).shape == (1, 16, 9, 9)
    linear = ConvBNAct(16, 8, kernel_size=1, activation=None)
    assert [type(m) for m in linear] == [nn.Conv2d, nn.BatchNorm2d]
    assert linear[0].bias is None  # BatchNorm's shift makes a conv bias redundant


def test_depthwise_separable_cost():
    block = DepthwiseSeparable(32, 64, stride=2)
    conv_weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
    assert conv_weights == 3 * 3 * 32 + 32 * 64  # depthwise + pointwise
    assert block[0][0].groups == 32
    assert block(torch.randn(2, 32, 8, 8)).shape == (2, 64, 4, 4)


def test_channel_shuffle_interleaves_and_equals_torchvision():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    y = torch.randn(2, 12, 3, 3)
    assert torch.equal(channel_shuffle(y, 3), tv_shufflenetv2.channel_shuffle(y, 3))
    with pytest.raises(ValueError, match=r"number of channels \(6\) must be divisible by groups \(4\)"):
        channel_shuffle(x, 4)


def test_concat_shuffle_is_cat_then_channel_shuffle_in_one_copy():
    from lightnets_course.models.blocks import ConcatShuffleSplit, concat_shuffle

    kept, processed = torch.randn(2, 3, 10, 5, 4).unbind(0)
    expected = channel_shuffle(torch.cat((kept, processed), dim=1), 2)
    assert torch.equal(concat_shuffle(kept, processed), expected)
    x = torch.cat((kept, processed), dim=1)
    for merged in (False, True):
        first, second = ConcatShuffleSplit(merged=merged)(x)
        assert torch.equal(first, expected[:, :10]) and torch.equal(second, expected[:, 10:])
    with pytest.raises(ValueError, match=r"same shape; got \(3, 10, 5, 4\) and \(3, 8, 5, 4\)"):
        concat_shuffle(kept, processed[:, :8])


def test_shuffle_unit_stride_1_passes_half_the_channels_through():
    torch.manual_seed(0)
    unit = ShuffleUnit(8, 8, stride=1).eval()
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        out = unit(x)
    # After the shuffle, even channels are the untouched first half of the input.
    assert torch.equal(out[:, 0::2], x[:, :4])
    assert not torch.allclose(out[:, 1::2], x[:, 4:])
    down = ShuffleUnit(8, 16, stride=2)
    assert down(x).shape == (2, 16, 3, 3)
    with pytest.raises(
        ValueError, match="in_channels must equal out_channels; got in_channels=8, out_channels=16"
    ):
        ShuffleUnit(8, 16, stride=1)


@pytest.mark.parametrize("block_type", ["v2", "v3"])
def test_inverted_residual_adds_input_only_when_shapes_agree(block_type):
    def make(in_channels, out_channels, stride):
        if block_type == "v2":
            return InvertedResidual(in_channels, out_channels, stride, expand_ratio=6)
        return InvertedResidualV3(in_channels, 48, out_channels, 5, stride, True, nn.Hardswish)

    x = torch.randn(2, 16, 8, 8)
    for (out_channels, stride), residual in [((16, 1), True), ((24, 1), False), ((16, 2), False)]:
        block = make(16, out_channels, stride).eval()
        last_bn = [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)][-1]
        with torch.no_grad():
            # Zero the projection's output: a residual block then returns its input, others zeros.
            last_bn.weight.zero_()
            last_bn.bias.zero_()
            out = block(x)
        expected = x if residual else torch.zeros_like(out)
        assert torch.equal(out, expected), (out_channels, stride)


def test_squeeze_excite_matches_torchvision():
    torch.manual_seed(0)
    ours = SqueezeExcite(72)
    assert ours.fc1.out_channels == make_divisible(72 // 4, 8) == 24
    theirs = SqueezeExcitation(72, 24, scale_activation=nn.Hardsigmoid)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 72, 7, 7)
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Equality with torchvision: same parameter names, same outputs


TORCHVISION_TWINS = [
    ("alexnet", {}, torchvision.models.alexnet),
    ("mobilenet_v2", {"width_mult": 1.0}, torchvision.models.mobilenet_v2),
    ("mobilenet_v2", {"width_mult": 0.5}, torchvision.models.mobilenet_v2),
    ("mobilenet_v2", {"width_mult": 0.75}, torchvision.models.mobilenet_v2),
    ("mobilenet_v2", {"width_mult": 1.4}, torchvision.models.mobilenet_v2),
    ("mobilenet_v3_large", {}, torchvision.models.mobilenet_v3_large),
    ("mobilenet_v3_large", {"width_mult": 0.75}, torchvision.models.mobilenet_v3_large),
    ("mobilenet_v3_small", {}, torchvision.models.mobilenet_v3_small),
    ("shufflenet_v2_x0_5", {}, torchvision.models.shufflenet_v2_x0_5),
    ("shufflenet_v2_x1_0", {}, torchvision.models.shufflenet_v2_x1_0),
    ("shufflenet_v2_x1_5", {}, torchvision.models.shufflenet_v2_x1_5),
    ("shufflenet_v2_x2_0", {}, torchvision.models.shufflenet_v2_x2_0),
]


@pytest.mark.parametrize(
    "name, kwargs, tv_builder", TORCHVISION_TWINS, ids=[f"{n}-{k}" for n, k, _ in TORCHVISION_TWINS]
)
def test_torchvision_weights_load_and_give_the_same_outputs(name, kwargs, tv_builder):
    torch.manual_seed(0)
    theirs = tv_builder(weights=None, **kwargs).eval()
    randomize_batchnorm(theirs)
    ours = get_model(name, **kwargs).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)

    # 224 for AlexNet, whose adaptive pooling is then the identity as in ImageNet training; 96 (a 3x3
    # last feature map) is enough to compare the others and keeps the test quick.
    size = 224 if name == "alexnet" else 96
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert got.shape == (1, 1000)
    assert expected.abs().max() > 1e-3  # outputs large enough for the comparison to mean something
    assert (got - expected).abs().max() <= 1e-5


# ----------------------------------------------------------------------------------------------
# The papers' numbers


def test_mobilenet_v1_reproduces_the_paper():
    model = mobilenet_v1()
    # Table 6: 569 million mult-adds, 4.2 million parameters (here exactly, BatchNorm included).
    assert count_macs(model) == 568_740_352
    assert count_params(model) == 4_231_976
    # The paper's "Conv dw / s2" on the 7x7 row is stride 1, or the last map would be 4x4.
    assert model.features[-1].depthwise[0].stride == (1, 1)


@pytest.mark.parametrize(
    "width_mult, paper_macs_m, paper_params_m, macs, params",
    [
        (0.75, 325, 2.6, 325_400_448, 2_569_144),
        (0.5, 149, 1.3, 149_497_088, 1_320_648),
        (0.25, 41, 0.5, 41_030_272, 464_600),
    ],
)
def test_mobilenet_v1_width_multiplier_table_6(width_mult, paper_macs_m, paper_params_m, macs, params):
    model = mobilenet_v1(width_mult=width_mult)
    # The paper counts conv and FC parameters, not BatchNorm's scales and shifts.
    conv_fc_params = sum(
        p.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) for p in m.parameters()
    )
    assert count_macs(model) == macs
    assert conv_fc_params == params
    assert round(macs / 1e6) == paper_macs_m
    assert round(params / 1e6, 1) == paper_params_m


def test_alexnet_half_parameter_counts():
    assert count_params(alexnet_half(num_classes=5)) == 14_591_685
    assert count_params(alexnet_half()) == 16_630_440
    assert count_params(alexnet()) == 61_100_840


def test_shufflenet_v2_x0_5_cifar_parameter_count():
    assert count_params(shufflenet_v2_x0_5(num_classes=10, cifar=True)) == 352_042


# ----------------------------------------------------------------------------------------------
# CIFAR variants

# Side of the last feature map for a 32x32 input: AlexNet's three max-pools leave 3x3 (32 -> 15 -> 7 -> 3);
# MobileNetV1 downsamples 16x (2x2); MobileNetV2/V3 and ShuffleNetV2 downsample 8x (4x4).
CIFAR_FEATURE_MAP = {
    "alexnet": 3,
    "alexnet_half": 3,
    "mobilenet_v1": 2,
    "mobilenet_v2": 4,
    "mobilenet_v3_large": 4,
    "mobilenet_v3_small": 4,
    "shufflenet_v2_x0_5": 4,
    "shufflenet_v2_x1_0": 4,
    "shufflenet_v2_x1_5": 4,
    "shufflenet_v2_x2_0": 4,
}


@pytest.mark.parametrize("name", ALL_MODELS)
def test_cifar_variant_gives_logits_and_a_sensible_feature_map(name):
    model = get_model(name, num_classes=10, cifar=True).eval()
    last_features = model.conv5 if name.startswith("shufflenet") else model.features
    seen = {}
    last_features.register_forward_hook(lambda module, args, out: seen.update(shape=out.shape))
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 32, 32))
    assert logits.shape == (1, 10)
    side = CIFAR_FEATURE_MAP[name]
    assert seen["shape"][-2:] == (side, side)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_cifar_keeps_parameter_names(name):
    imagenet, cifar = get_model(name, num_classes=10), get_model(name, num_classes=10, cifar=True)
    imagenet_state, cifar_state = imagenet.state_dict(), cifar.state_dict()
    assert list(cifar_state) == list(imagenet_state)
    changed = [k for k in imagenet_state if imagenet_state[k].shape != cifar_state[k].shape]
    if name.startswith("alexnet"):
        # Only the stem's kernel shrinks (11x11 -> 3x3); alexnet_half's classifier also reads a 3x3 map.
        expected = ["features.0.weight"] + (["classifier.1.weight"] if name == "alexnet_half" else [])
        assert changed == expected
    else:
        assert changed == []
        cifar.load_state_dict(imagenet_state, strict=True)  # ImageNet weights load for transfer learning


# ----------------------------------------------------------------------------------------------
# Registry and config


def test_list_models():
    assert list_models() == ALL_MODELS


@pytest.mark.parametrize("name", ALL_MODELS)
def test_config_rebuilds_the_same_model(name):
    extra = {}
    if name.startswith("mobilenet"):
        extra["width_mult"] = 0.5
    if not name.startswith("shufflenet"):
        extra["dropout"] = 0.1
    model = get_model(name, num_classes=7, cifar=True, **extra)
    assert model.config == {"name": name, "num_classes": 7, "cifar": True, **extra}
    rebuilt = get_model(**model.config)
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict(), strict=True)


# ----------------------------------------------------------------------------------------------
# Clear errors for bad arguments and bad inputs


def test_unknown_model_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"unknown model name 'mobilenetv2'; did you mean 'mobilenet_v2'\?"):
        get_model("mobilenetv2")
    with pytest.raises(ValueError, match=r"did you mean 'mobilenet_v3_large' or 'mobilenet_v3_small'\?"):
        get_model("mobilenet_v3")
    with pytest.raises(
        ValueError, match=r"unknown model name 'resnet50'; known models: alexnet, alexnet_half, "
    ):
        get_model("resnet50")


def test_unknown_keyword_names_it_and_lists_the_accepted_ones():
    with pytest.raises(
        TypeError,
        match=r"mobilenet_v2 does not take the keyword argument 'widht_mult' "
        r"\(did you mean 'width_mult'\?\); it accepts: num_classes, width_mult, cifar, dropout",
    ):
        get_model("mobilenet_v2", widht_mult=0.5)
    with pytest.raises(TypeError, match=r"'width_mult'; it accepts: num_classes, cifar$"):
        get_model("shufflenet_v2_x1_0", width_mult=0.5)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"width_mult": 0}, ValueError, r"width_mult must be a positive number such as 0.5, .*got 0"),
        ({"width_mult": -0.5}, ValueError, r"width_mult must be a positive number .*got -0.5"),
        ({"width_mult": "wide"}, TypeError, r"width_mult must be a positive number .*got 'wide' of type str"),
        ({"num_classes": 0}, ValueError, r"num_classes must be at least 1 .*got 0"),
        ({"num_classes": 10.0}, TypeError, r"num_classes must be an int .*got 10.0 of type float"),
        ({"num_classes": True}, TypeError, r"num_classes must be an int .*got True of type bool"),
        ({"dropout": 1.5}, ValueError, r"dropout must be a probability in \[0, 1\) .*got 1.5"),
        ({"dropout": "0.2"}, TypeError, r"dropout must be a probability in \[0, 1\) .*got '0.2'"),
        ({"cifar": "yes"}, TypeError, r"cifar must be True \(32 x 32 inputs\) or False .*got 'yes'"),
    ],
)
def test_bad_builder_arguments(kwargs, error, message):
    with pytest.raises(error, match="mobilenet_v2: " + message):
        mobilenet_v2(**kwargs)


def test_bad_inputs_get_clear_messages():
    model = shufflenet_v2_x0_5(num_classes=10).eval()
    cifar_model = shufflenet_v2_x0_5(num_classes=10, cifar=True).eval()
    with pytest.raises(ValueError, match=r"expects a 4D batch .*got a 3D tensor .*add a batch dimension"):
        model(torch.randn(3, 64, 64))
    with pytest.raises(
        ValueError,
        match=r"expects 3-channel RGB input of shape \(N, 3, H, W\), got shape \(2, 1, 64, 64\); "
        r"convert grayscale with",
    ):
        model(torch.randn(2, 1, 64, 64))
    with pytest.raises(
        ValueError,
        match=r"shufflenet_v2_x0_5 needs inputs of at least 32 x 32 pixels, got 16 x 16; "
        r".*Resize\(224\).*cifar=True",
    ):
        model(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"needs inputs of at least 8 x 8 pixels, got 4 x 4; .*Resize\(32\)"):
        cifar_model(torch.randn(1, 3, 4, 4))
    with pytest.raises(
        TypeError, match=r"expects a floating-point tensor, got dtype torch.uint8; .*x.float\(\) / 255"
    ):
        model(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.raises(TypeError, match=r"expects a torch.Tensor .*got list; .*ToTensor"):
        model([[0.0]])


def test_alexnet_input_size_limits_are_the_real_ones():
    # The limits in the messages come from the layer table: just inside them the network runs,
    # just outside them it would fail deep inside torch without the check.
    with torch.no_grad():
        model = alexnet_half(num_classes=5).eval()
        for size in (223, 254):
            assert model(torch.randn(1, 3, size, size)).shape == (1, 5)
        for size in (222, 255):
            with pytest.raises(
                ValueError, match=r"alexnet_half has no adaptive pooling.* from 223 to 254 pixels"
            ):
                model(torch.randn(1, 3, size, size))
            flattened = torch.flatten(model.features(torch.randn(1, 3, size, size)), 1)
            assert flattened.shape[1] != model.classifier[1].in_features

        tv_model = alexnet(num_classes=5).eval()
        assert tv_model(torch.randn(1, 3, 63, 63)).shape == (1, 5)
        with pytest.raises(ValueError, match=r"alexnet needs inputs of at least 63 x 63 pixels, got 62 x 62"):
            tv_model(torch.randn(1, 3, 62, 62))
        with pytest.raises(RuntimeError):  # what torch alone would say
            tv_model.features(torch.randn(1, 3, 62, 62))
