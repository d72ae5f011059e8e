"""The plain functions behind notebooks 00 (start here) and 01 (AlexNet): the sample browser, the
convolution-layer explorer, their plots and the exercise checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lightnets_course import (  # noqa: E402
    charts,
    exercises,
    layers,  # noqa: E402
    viz,  # noqa: E402
    widgets,
)
from lightnets_course.data import CIFAR10_CLASSES, TensorImages, get_data  # noqa: E402
from lightnets_course.models import alexnet_half  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tiny_images() -> TensorImages:
    """Three classes with 5, 2 and 3 images; pixel values encode the image's index."""
    labels = torch.tensor([0, 1, 0, 2, 0, 2, 1, 0, 2, 0])
    images = torch.arange(len(labels), dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 3, 4, 4).contiguous()
    return TensorImages(images, labels, ["cat", "dog", "frog"])


def _shown(fig) -> list[tuple[str, int]]:
    """(title, index encoded in the pixels) of every image drawn in the figure, in reading order."""
    shown = []
    for ax in fig.axes:
        if ax.images:
            shown.append((ax.get_title(), int(ax.images[0].get_array()[0, 0, 0])))
    return shown


# ---------------------------------------------------------------------------------------------------
# 00: plot_sample_images and the sample browser


def test_sample_images_of_all_classes_go_round_robin(tiny_images):
    fig = viz.plot_sample_images(tiny_images, count=7, columns=3)
    # Image k of every class before image k + 1 of any: cat 0, dog 1, frog 3, cat 2, dog 6, frog 5, cat 4.
    assert _shown(fig) == [
        ("cat", 0),
        ("dog", 1),
        ("frog", 3),
        ("cat", 2),
        ("dog", 6),
        ("frog", 5),
        ("cat", 4),
    ]
    assert len(fig.axes) == 9  # 3 rows of 3, the last two empty
    assert fig._suptitle.get_text() == "7 images, 3 classes"


def test_sample_images_of_one_class_are_titled_with_their_index(tiny_images):
    fig = viz.plot_sample_images(tiny_images, "frog", count=16)
    assert _shown(fig) == [("#3", 3), ("#5", 5), ("#8", 8)]
    assert fig._suptitle.get_text() == "frog: 3 of its 3 images"
    fig = viz.plot_sample_images(tiny_images, "cat", count=2)
    assert _shown(fig) == [("#0", 0), ("#2", 2)]
    assert fig._suptitle.get_text() == "cat: 2 of its 5 images"


def test_sample_images_bad_input_gets_clear_errors(tiny_images):
    with pytest.raises(ValueError, match=r"class_name 'horse' is not a class of this dataset; choose one of"):
        viz.plot_sample_images(tiny_images, "horse")
    with pytest.raises(ValueError, match="count must be a positive whole number, got 0"):
        viz.plot_sample_images(tiny_images, count=0)
    with pytest.raises(TypeError, match="data must be a TensorImages such as cifar10_sample"):
        viz.plot_sample_images(tiny_images.images)


def test_sample_browser_offers_every_class_and_draws_the_chosen_one(tiny_images, monkeypatch):
    drawn = []
    monkeypatch.setattr(widgets, "plot_sample_images", lambda data, name, count: drawn.append((name, count)))
    monkeypatch.setattr(widgets.plt, "show", lambda: None)
    browser = widgets.sample_browser(tiny_images, count=4)
    assert isinstance(browser, ipywidgets.interactive)
    menu = browser.children[0]
    assert isinstance(menu, ipywidgets.Dropdown)
    assert list(menu.options) == ["cat", "dog", "frog"]
    menu.value = "dog"
    assert drawn[-1] == ("dog", 4)
    slider = browser.children[1]
    assert isinstance(slider, ipywidgets.IntSlider) and not slider.continuous_update
    slider.value = 12
    assert drawn[-1] == ("dog", 12)


def test_sample_browser_defaults_to_the_shipped_sample():
    browser = widgets.sample_browser()
    assert list(browser.children[0].options) == CIFAR10_CLASSES


# ---------------------------------------------------------------------------------------------------
# 01: conv_layer_numbers, its text, its plot and its explorer


@pytest.mark.parametrize(
    ("input_size", "in_channels", "out_channels", "kernel_size", "stride", "padding"),
    [
        (224, 3, 48, 11, 4, 2),
        (227, 3, 96, 11, 4, 0),
        (27, 48, 128, 5, 1, 2),
        (13, 3, 8, 3, 2, 0),
        (7, 4, 6, 7, 3, 1),
    ],
)
def test_conv_layer_numbers_equal_a_real_conv2d(
    input_size, in_channels, out_channels, kernel_size, stride, padding
):
    numbers = layers.conv_layer_numbers(input_size, in_channels, out_channels, kernel_size, stride, padding)
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
    output = conv(torch.zeros(1, in_channels, input_size, input_size))
    assert output.shape == (1, out_channels, numbers["output_size"], numbers["output_size"])
    assert numbers["params"] == sum(p.numel() for p in conv.parameters())
    assert numbers["weights"] == conv.weight.numel() and numbers["biases"] == conv.bias.numel()
    assert numbers["macs"] == output[0, 0].numel() * out_channels * conv.weight[0].numel()


def test_conv_layer_numbers_find_the_pixels_no_window_reads():
    # The 2012 paper's conv1 at 224: (224 - 11) / 4 = 53.25 steps, so 1 pixel is left over; 227 fits.
    assert layers.conv_layer_numbers(224, 3, 96, 11, stride=4)["dropped"] == 1
    assert layers.conv_layer_numbers(227, 3, 96, 11, stride=4)["dropped"] == 0
    assert layers.conv_layer_numbers(227, 3, 96, 11, stride=4)["output_size"] == 55
    assert layers.conv_layer_numbers(8, 1, 1, 3, stride=1, bias=False)["params"] == 9


def test_conv_layer_numbers_bad_input_gets_clear_errors():
    with pytest.raises(
        ValueError, match=r"kernel_size 11 is larger than the padded input, .* = 9: no window fits"
    ):
        layers.conv_layer_numbers(5, 3, 8, 11, padding=2)
    with pytest.raises(ValueError, match="stride must be a positive whole number, got 0"):
        layers.conv_layer_numbers(32, 3, 8, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be a whole number of at least 0; got -1"):
        layers.conv_layer_numbers(32, 3, 8, 3, padding=-1)
    with pytest.raises(ValueError, match="in_channels must be a positive whole number, got 2.5"):
        layers.conv_layer_numbers(32, 2.5, 8, 3)


def test_describe_conv_layer_writes_out_the_formulas():
    text = layers.describe_conv_layer(224, 3, 48, 11, stride=4, padding=2)
    assert "output side: (224 + 2*2 - 11) // 4 + 1 = 55  ->  output 48 x 55 x 55" in text
    assert "the last 1 row(s) and column(s) of the padded input are never read" in text
    assert "params: 11*11*3*48 weights + 48 biases = 17,472" in text
    assert "MACs: 55*55 positions * 48 filters * 11*11*3 = 52,707,600" in text
    assert "never read" not in layers.describe_conv_layer(227, 3, 96, 11, stride=4)


def test_plot_conv_windows_draws_one_bar_per_output_position():
    ax = charts.plot_conv_windows(13, 3, stride=2, padding=1).axes[0]
    bars = ax.containers[0].patches
    assert len(bars) == 7  # (13 + 2 - 3) // 2 + 1
    assert [bar.get_x() for bar in bars] == [-1, 1, 3, 5, 7, 9, 11]
    assert all(bar.get_width() == 3 for bar in bars)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["padding"]
    ax = charts.plot_conv_windows(224, 11, stride=4, padding=0).axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["never read"]


def test_conv_layer_explorer_starts_at_alexnet_conv1_and_reports_bad_settings(capsys, monkeypatch):
    monkeypatch.setattr(widgets.plt, "show", lambda: None)
    explorer = widgets.conv_layer_explorer()
    assert isinstance(explorer, ipywidgets.interactive)
    sliders = {
        child.description: child for child in explorer.children if isinstance(child, ipywidgets.IntSlider)
    }
    assert {name: slider.value for name, slider in sliders.items()} == {
        "input side": 224,
        "in channels": 3,
        "out channels": 48,
        "kernel": 11,
        "stride": 4,
        "padding": 2,
    }
    assert not any(slider.continuous_update for slider in sliders.values())
    capsys.readouterr()
    sliders["input side"].value = 5
    assert "no window fits" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------
# The exercise checks: the right answer passes, typical mistakes get their hint, ... asks for an answer


def _check(check, answer, capsys) -> tuple[bool, str]:
    result = check(answer)
    return result, capsys.readouterr().out


@pytest.mark.parametrize(
    "check",
    [
        exercises.check_batch_shape,
        exercises.check_batches_per_epoch,
        exercises.check_conv_output_size,
        exercises.check_conv_params,
        exercises.check_fc_params,
    ],
)
def test_an_unanswered_exercise_asks_for_an_answer(check, capsys):
    assert _check(check, ..., capsys) == (False, "Replace ... with your answer, then run the cell again.\n")


def test_check_batch_shape(capsys):
    images, _ = next(iter(get_data("sample", device="cpu").train))
    ok, out = _check(exercises.check_batch_shape, images.shape, capsys)
    assert ok and out.startswith("Correct. (64, 3, 32, 32)")
    assert _check(exercises.check_batch_shape, [64, 3, 32, 32], capsys)[0]
    for wrong, hint in [
        ((3, 32, 32), "that is one image"),
        ((64, 32, 32, 3), "channels first"),
        ((800, 3, 32, 32), "800 is the whole training split"),
        ((64,), "the shape of the labels"),
        ("a shape", "the answer is a shape"),
    ]:
        ok, out = _check(exercises.check_batch_shape, wrong, capsys)
        assert not ok and out.startswith("Not yet. Hint: ") and hint in out


def test_check_batches_per_epoch(capsys):
    right = len(get_data("sample", device="cpu").train)
    ok, out = _check(exercises.check_batches_per_epoch, right, capsys)
    assert ok and f"800 // 64 = {right}" in out and "incomplete batch of 32 images" in out
    for wrong, hint in [
        (800 / 64, "whole batches"),
        (right + 1, "drops it"),
        (800, "divide"),
        (7, "handed out"),
    ]:
        ok, out = _check(exercises.check_batches_per_epoch, wrong, capsys)
        assert not ok and hint in out


def test_check_conv_output_size(capsys):
    right = nn.Conv2d(3, 8, 7, stride=2, padding=3)(torch.zeros(1, 3, 224, 224)).shape[-1]
    ok, out = _check(exercises.check_conv_output_size, right, capsys)
    assert ok and out.startswith(f"Correct. (224 + 2*3 - 7) // 2 + 1 = {right}")
    for wrong, hint in [
        (112.5, "rounds down"),
        (111, "add 1"),
        (109, "leaves out the padding"),
        (56, "(n + 2p - f)"),
    ]:
        ok, out = _check(exercises.check_conv_output_size, wrong, capsys)
        assert not ok and hint in out


def test_check_conv_params(capsys):
    right = sum(p.numel() for p in nn.Conv2d(256, 384, 3).parameters())
    assert _check(exercises.check_conv_params, right, capsys)[0]
    assert _check(exercises.check_conv_params, torch.tensor(right), capsys)[0]
    for wrong, hint in [
        (3 * 3 * 256 * 384, "every output channel also has a bias"),
        (3 * 3 * 256 + 384, "multiply both"),
        (13 * 13 * 384 * 3 * 3 * 256, "do not depend on the map's size"),
        (1000, "plus one bias per filter"),
        ("885120", "one whole number"),
    ]:
        ok, out = _check(exercises.check_conv_params, wrong, capsys)
        assert not ok and hint in out


def test_check_fc_params(capsys):
    right = sum(p.numel() for p in alexnet_half(num_classes=10, cifar=True).classifier[1].parameters())
    ok, out = _check(exercises.check_fc_params, right, capsys)
    assert ok and "conv5's 128 channels x 3 x 3 positions" in out
    for wrong, hint in [
        (128 * 3 * 3 * 2048, "each of the outputs also has a bias"),
        (128 * 6 * 6 * 2048 + 2048, "whose last map is 6x6"),
        (128 * 2048 + 2048, "flattening keeps every position"),
        (5, "in_features x out_features"),
    ]:
        ok, out = _check(exercises.check_fc_params, wrong, capsys)
        assert not ok and hint in out


def test_explorers_have_their_result_under_ipywidgets_7_as_under_8(monkeypatch):
    # ipywidgets 7 (Colab) runs an interactive's function only when it is displayed; the explorers
    # run it once when built, so both versions start with the same result.
    monkeypatch.setattr(widgets, "_RUNS_WHEN_BUILT", False)
    explorer = widgets._explorer(lambda x: x * 2, x=ipywidgets.IntSlider(value=3))
    assert explorer.result == 6


@pytest.mark.parametrize(
    ("name", "num_classes"), [("alexnet_half", 5), ("alexnet", 1000)], ids=["half, 5 classes", "torchvision"]
)
def test_alexnet_parameters_sit_in_the_fc_layers_and_macs_in_the_convs(name, num_classes):
    # Notebook 01's "where are the parameters, where is the compute?" bars, at 224 x 224.
    from lightnets_course.complexity import profile
    from lightnets_course.models import get_model

    measured = profile(get_model(name, num_classes=num_classes), (3, 224, 224))

    def conv_share(cost: str) -> float:
        conv = sum(layer[cost] for layer in measured.layers if layer["type"] == "Conv2d")
        return conv / sum(layer[cost] for layer in measured.layers)

    assert 1 - conv_share("params") > 0.9
    assert conv_share("macs") > 0.9
