"""Feedback for the notebooks' exercises.

Each ``check_*`` function takes the learner's answer, prints whether it is right, and on a wrong
answer prints a hint (never the solution). It returns ``True`` or ``False`` so tests can call it.
"""

from __future__ import annotations

import functools
import math
import numbers

from torch import nn

from lightnets_course import papers
from lightnets_course.complexity import conv_macs


def _report(ok: bool, right: str, hint: str) -> bool:
    """Print the verdict for an exercise and return it."""
    if ok:
        print(f"Correct. {right}")
    else:
        print(f"Not yet. Hint: {hint}")
    return ok


def _unanswered(answer: object) -> bool:
    """Say so and return True while the learner has not yet replaced the ``...`` placeholder."""
    if answer is Ellipsis:
        print("Replace ... with your answer, then run the cell again.")
        return True
    return False


def _as_number(answer: object) -> float | None:
    """The answer as a float if it is one number (Python, NumPy or a one-element tensor), else None."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Real):
        return float(answer)
    if hasattr(answer, "numel") and hasattr(answer, "item") and answer.numel() == 1:
        return float(answer.item())
    return None


def _close(value: float, target: float, rel: float) -> bool:
    return abs(value - target) <= rel * abs(target)


# ---------------------------------------------------------------------------------------------------
# 02 Depthwise-separable convolution


def check_depthwise_macs(answer: object) -> bool:
    """Notebook 02: the MACs of a 3x3 depthwise convolution, stride 1, on a 56 x 56 x 128 feature map."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    right = conv_macs(56, 56, 128, 128, 3, groups=128)
    if value is None:
        return _report(
            False, "", f"the answer is one number, such as 3 * 3 * 10; got {type(answer).__name__}"
        )
    if _close(value, right, 0):
        return _report(
            True, f"{right:,} MACs: 56 * 56 * 128 output values, each a 3 x 3 window of one channel.", ""
        )
    if _close(value, conv_macs(56, 56, 128, 128, 3), 0):
        hint = (
            "that is a standard 3x3 convolution's cost. A depthwise output value sees one channel, not 128."
        )
    elif _close(value, 3 * 3 * 128, 0):
        hint = (
            "that is the number of weights. Each weight is used once at every one of the 56 x 56 positions."
        )
    else:
        hint = (
            "multiply the number of output values (height x width x channels) by the MACs of one output "
            "value (one channel's 3 x 3 window)."
        )
    return _report(False, "", hint)


def check_separable_ratio(answer: object) -> bool:
    """Notebook 02: how many times fewer MACs a 5x5 depthwise-separable layer with N = 256 outputs needs."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    right = 1 / (1 / 256 + 1 / 5**2)
    if value is None:
        return _report(False, "", f"the answer is one number, such as 7.5; got {type(answer).__name__}")
    if _close(value, right, 0.01):
        return _report(
            True, f"1 / (1/256 + 1/25) = {right:.2f}: the bigger kernel saves far more than 3x3.", ""
        )
    if _close(value, 1 / right, 0.01):
        hint = "that is the separable cost as a fraction of the standard cost; the question asks how many times fewer."
    elif _close(value, 1 / (1 / 256 + 1 / 3**2), 0.01):
        hint = "that is the saving for a 3x3 kernel; with 5x5 kernels D_K^2 = 25."
    else:
        hint = "the separable cost is (1/N + 1/D_K^2) of the standard cost; put in N = 256 and D_K = 5, then invert."
    return _report(False, "", hint)


def check_depthwise_groups(answer: object) -> bool:
    """Notebook 02: the ``groups`` value that makes ``nn.Conv2d(96, 96, 3, groups=...)`` depthwise."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    if value is None or value != int(value) or value < 1:
        return _report(False, "", f"groups is a positive whole number; got {answer!r}")
    groups = int(value)
    if groups == 96:
        return _report(True, "groups=96: 96 groups of one channel, so each filter sees a single channel.", "")
    if groups == 1:
        hint = "groups=1 is a standard convolution: every filter sees all 96 channels."
    elif 96 % groups:
        hint = f"groups must divide the 96 channels, and {groups} does not. Which split leaves one channel per group?"
    else:
        hint = f"groups={groups} is a group convolution with {96 // groups} channels per group; depthwise means one."
    return _report(False, "", hint)


# ---------------------------------------------------------------------------------------------------
# 03 MobileNetV1


def check_width_resolution_macs(answer: object) -> bool:
    """Notebook 03: predict 0.5 MobileNet-160's millions of MACs from 1.0 MobileNet-224's with alpha^2 rho^2."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    full = papers.MOBILENET_V1_TABLE6[1.0][1]
    alpha, rho = 0.5, 160 / 224
    right = full * alpha**2 * rho**2
    if value is None:
        return _report(
            False,
            "",
            f"the answer is one number of millions of MACs, such as 100; got {type(answer).__name__}",
        )
    if value > 1e5:  # given as a count rather than in millions
        value /= 1e6
    if _close(value, right, 0.02):
        return _report(
            True,
            f"{full} M x 0.5^2 x (160/224)^2 = {right:.1f} M. The next cell measures the real network: the rule "
            "is close but not exact: the depthwise convs, the first conv and the classifier grow only "
            "linearly with alpha.",
            "",
        )
    if _close(value, full * alpha * rho, 0.02):
        hint = "both multipliers act squared: alpha thins inputs and outputs of a layer, rho shrinks height and width."
    elif _close(value, full * alpha**2, 0.02):
        hint = "that applies the width multiplier only; the resolution also changes, from 224 to 160."
    elif _close(value, full * rho**2, 0.02):
        hint = "that applies the resolution multiplier only; the width also changes, alpha = 0.5."
    else:
        hint = f"start from {full} million MACs and multiply by alpha^2 and by rho^2, with rho = 160 / 224."
    return _report(False, "", hint)


def check_separable_params(answer: object) -> bool:
    """Notebook 03: weights of a depthwise-separable layer, 3x3 depthwise, 256 -> 512 channels, no bias or BN."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    depthwise, pointwise = 3 * 3 * 256, 256 * 512
    if value is None:
        return _report(False, "", f"the answer is one number of weights; got {type(answer).__name__}")
    if _close(value, depthwise + pointwise, 0):
        return _report(
            True,
            f"{depthwise:,} depthwise + {pointwise:,} pointwise = {depthwise + pointwise:,} weights.",
            "",
        )
    if _close(value, 3 * 3 * 256 * 512, 0):
        hint = (
            "that is a standard 3x3 convolution; the separable layer splits it into depthwise and pointwise."
        )
    elif _close(value, pointwise, 0) or _close(value, depthwise, 0):
        hint = "count both halves: the 3x3 depthwise filters and the 1x1 pointwise weights."
    elif _close(value, 3 * 3 * 512 + pointwise, 0):
        hint = "the depthwise conv runs before the channel change: it has one 3x3 filter per input channel."
    else:
        hint = "a 3x3 depthwise filter per input channel, plus one weight per (input, output) channel pair."
    return _report(False, "", hint)


def check_params_vs_resolution(answer: object) -> bool:
    """Notebook 03: why MobileNetV1 has the same parameters at every input resolution (choice a, b or c)."""
    if _unanswered(answer):
        return False
    choice = answer.strip().lower().strip("()") if isinstance(answer, str) else None
    if choice not in ("a", "b", "c"):
        return _report(False, "", f'answer with one letter as a string, "a", "b" or "c"; got {answer!r}')
    if choice == "b":
        return _report(
            True,
            "A conv's weights have shape (N, M / groups, D_K, D_K): the same filters slide over every "
            "position, so the image size never enters, and global average pooling hands the classifier "
            "the same number of features at any resolution.",
            "",
        )
    hints = {
        "a": "the course's count is exact, not rounded: look at the params column measured at each resolution.",
        "c": "the model takes the image at the size given: the MACs measured at 128 and 224 differ.",
    }
    return _report(False, "", hints[choice])


# ---------------------------------------------------------------------------------------------------
# 04 MobileNetV2

# The block of notebook 04's first exercise, MobileNetV2's features[5] at 224 x 224: a 28 x 28 input
# with d' = 32 channels, expansion t = 6, a 3 x 3 depthwise conv at stride 1, d'' = 32 output channels.
BOTTLENECK_EXERCISE = {"h": 28, "w": 28, "d_in": 32, "t": 6, "k": 3, "d_out": 32}


def check_bottleneck_macs(answer: object) -> bool:
    """Notebook 04: the MACs of MobileNetV2's block 5 (``BOTTLENECK_EXERCISE``) from the paper's formula."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    b = BOTTLENECK_EXERCISE
    h, w, d_in, t, k, d_out = b["h"], b["w"], b["d_in"], b["t"], b["k"], b["d_out"]
    expand, depthwise, project = h * w * d_in * t * d_in, h * w * d_in * t * k**2, h * w * d_in * t * d_out
    if value is None:
        return _report(
            False, "", f"the answer is one number, such as 28 * 28 * 10; got {type(answer).__name__}"
        )
    if _close(value, expand + depthwise + project, 0):
        return _report(
            True,
            f"{expand + depthwise + project:,} MACs: expansion {expand:,} + depthwise {depthwise:,} + "
            f"projection {project:,}. The two 1x1 convs cost {(expand + project) / depthwise:.0f}x the depthwise one.",
            "",
        )
    if _close(value, expand + project, 0) or _close(value, expand + depthwise, 0):
        hint = "count all three convolutions: the 1x1 expansion, the 3x3 depthwise and the 1x1 projection."
    elif _close(value, h * w * d_in * (d_in + k**2 + d_out), 0):
        hint = "the block works on d' * t = 192 hidden channels: multiply by the expansion t = 6."
    else:
        hint = "h * w * d' * t * (d' + k^2 + d'') with h = w = 28, d' = d'' = 32, t = 6 and k = 3."
    return _report(False, "", hint)


def check_shortcut_blocks(answer: object) -> bool:
    """Notebook 04: the set of MobileNetV2's blocks (1 to 17, ``model.features[i]``) that add a shortcut."""
    if _unanswered(answer):
        return False
    from lightnets_course.models import mobilenet_v2

    features = mobilenet_v2().features
    right = {i for i in range(1, 18) if features[i].use_residual}
    if not isinstance(answer, (set, frozenset, list, tuple)) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in answer
    ):
        return _report(False, "", f"answer with a set of block numbers such as {{1, 2, 3}}; got {answer!r}")
    chosen = set(answer)
    if chosen == right:
        return _report(
            True, f"{len(right)} of the 17 blocks add their input to their output: {sorted(right)}.", ""
        )
    if chosen - set(range(1, 18)):
        hint = f"the blocks are numbered 1 to 17 (features[0] is the stem); {sorted(chosen - set(range(1, 18)))} is not a block."
    elif 1 in chosen:
        hint = "block 1 (t = 1, 32 -> 16 channels) changes the width, so its input cannot be added to its output."
    elif chosen - right:
        hint = (
            f"{sorted(chosen - right)} include a row's first block, which changes the width or the stride. "
            "Only blocks with stride 1 and as many channels out as in can add the shortcut."
        )
    else:
        hint = (
            f"you found {len(chosen)} of them. Every row with n blocks has n - 1 blocks that keep the shape."
        )
    return _report(False, "", hint)


def check_frozen_trainable_params(answer: object, num_classes: int = 5) -> bool:
    """Notebook 04: trainable parameters of MobileNetV2 with frozen features and a new ``num_classes`` head."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    features, right = 1280, 1280 * num_classes + num_classes
    if value is None:
        return _report(False, "", f"the answer is one number of parameters; got {type(answer).__name__}")
    if _close(value, right, 0):
        return _report(
            True,
            f"{right:,}: only the new Linear layer learns, {features} x {num_classes} weights + {num_classes} biases.",
            "",
        )
    if _close(value, features * num_classes, 0):
        hint = "the Linear layer has a bias for each class too."
    elif _close(value, features * 1000 + 1000, 0):
        hint = f"that is ImageNet's 1000-class head; the new head has {num_classes} classes."
    else:
        hint = (
            f"with the features frozen only the classifier learns: a Linear layer from {features} features "
            f"to {num_classes} classes, with a bias per class."
        )
    return _report(False, "", hint)


# ---------------------------------------------------------------------------------------------------
# 05 MobileNetV3


def check_hswish(answer: object, x: float = 1.5) -> bool:
    """Notebook 05: h-swish(x) = x * ReLU6(x + 3) / 6, worked out by hand at ``x``."""
    if _unanswered(answer):
        return False
    value = _as_number(answer)
    right = x * min(max(x + 3.0, 0.0), 6.0) / 6.0
    if value is None:
        return _report(False, "", f"the answer is one number, such as 0.5; got {type(answer).__name__}")
    if abs(value - right) <= 1e-3:
        return _report(True, f"h-swish({x}) = {x} * ReLU6({x + 3}) / 6 = {right:.4g}.", "")
    if abs(value - min(max(x + 3.0, 0.0), 6.0) / 6.0) <= 1e-3:
        hint = "that is h-sigmoid(x), the gate; h-swish multiplies it by x."
    elif abs(value - x * (x + 3.0) / 6.0) <= 1e-3:
        hint = "ReLU6 clips its input to [0, 6]: clip x + 3 before multiplying."
    else:
        hint = f"compute z = x + 3 = {x + 3}, clip z to [0, 6], multiply by x, divide by 6."
    return _report(False, "", hint)


def check_se_squeeze_channels(answer: object, expanded_channels: int = 72) -> bool:
    """Notebook 05: the squeeze width of MobileNetV3's SE gate on ``expanded_channels`` channels."""
    if _unanswered(answer):
        return False
    from lightnets_course.models.blocks import make_divisible

    value = _as_number(answer)
    quarter = expanded_channels // 4
    right = make_divisible(quarter, 8)
    if value is None:
        return _report(False, "", f"the answer is one number of channels; got {type(answer).__name__}")
    if _close(value, right, 0):
        return _report(True, f"make_divisible({expanded_channels} // 4, 8) = {right}.", "")
    if _close(value, quarter, 0):
        hint = f"{quarter} is a quarter, but MobileNetV3 rounds channel counts to a multiple of 8 with make_divisible."
    elif _close(value, quarter + 4 - (quarter + 4) % 8, 0):
        hint = (
            f"{int(value)} is the nearest multiple of 8, but it is more than 10% below {quarter}: "
            "make_divisible then goes one multiple up."
        )
    else:
        hint = f"take {expanded_channels} // 4 = {quarter}, round to the nearest multiple of 8, go one up if that lost over 10%."
    return _report(False, "", hint)


# ---------------------------------------------------------------------------------------------------
# 00 Start here


@functools.lru_cache(maxsize=1)
def _sample_training_loader() -> tuple[tuple[int, ...], int, int, int]:
    """(shape of one image batch, batches per epoch, batch size, training images) of get_data("sample")."""
    from lightnets_course.data import get_data

    train = get_data("sample", device="cpu").train
    images, _ = next(iter(train))
    return tuple(images.shape), len(train), train.batch_size, train.dataset_size


def check_batch_shape(answer: object) -> bool:
    """Notebook 00: the shape of one batch of images from ``get_data("sample").train``."""
    if _unanswered(answer):
        return False
    right, _, batch_size, images = _sample_training_loader()
    try:
        shape = tuple(int(size) for size in answer)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return _report(False, "", f"the answer is a shape such as (1, 2, 3) or a torch.Size; got {answer!r}")
    if shape == right:
        return _report(
            True,
            f"{right}: {right[0]} images, each with {right[1]} colour channels of {right[2]} x {right[3]} "
            "pixels. PyTorch puts the channels before height and width.",
            "",
        )
    if shape == right[1:]:
        hint = "that is one image. A batch stacks several images along a new first dimension."
    elif len(shape) == 4 and shape[0] == right[0] and shape[3] == right[1]:
        hint = "PyTorch stores images channels first: (batch, channels, height, width)."
    elif len(shape) == 4 and shape[0] == images:
        hint = f"{images} is the whole training split; a loader hands it out {batch_size} images at a time."
    elif shape == right[:1]:
        hint = "that is the shape of the labels of a batch; the question asks about the images."
    else:
        hint = "take one batch with images, labels = next(iter(bundle.train)) and look at images.shape."
    return _report(False, "", hint)


def check_batches_per_epoch(answer: object) -> bool:
    """Notebook 00: how many batches ``get_data("sample").train`` yields in one epoch."""
    if _unanswered(answer):
        return False
    _, right, batch_size, images = _sample_training_loader()
    value = _as_number(answer)
    if value is None:
        return _report(False, "", f"the answer is one whole number; got {answer!r}")
    if value == right:
        return _report(
            True,
            f"{images} // {batch_size} = {right}: the training loader drops the last, incomplete batch of "
            f"{images % batch_size} images, so every step sees a full batch (and BatchNorm never gets a "
            "batch of one).",
            "",
        )
    if _close(value, images / batch_size, 0.001):
        hint = "a loader hands out whole batches; what happens to the images left over?"
    elif value == right + 1:
        hint = "a validation loader would keep the incomplete last batch; the training loader drops it."
    elif value in (images, batch_size):
        hint = f"the training split has {images} images and the batch size is {batch_size}: divide."
    else:
        hint = f"the training split has {images} images, handed out {batch_size} at a time."
    return _report(False, "", hint)


# ---------------------------------------------------------------------------------------------------
# 01 AlexNet


def check_conv_output_size(answer: object) -> bool:
    """Notebook 01: the output side of a 7x7 convolution, stride 2, padding 3, on a 224 x 224 image."""
    if _unanswered(answer):
        return False
    from lightnets_course.widgets import conv_layer_numbers

    right = conv_layer_numbers(224, 3, 64, 7, stride=2, padding=3)["output_size"]
    value = _as_number(answer)
    if value is None:
        return _report(False, "", f"the answer is one whole number of pixels; got {answer!r}")
    if value == right:
        return _report(
            True,
            f"(224 + 2*3 - 7) // 2 + 1 = {right}: the stride halves the image, and padding 3 keeps the "
            "7x7 window centred on every second pixel.",
            "",
        )
    if _close(value, (224 + 2 * 3 - 7) / 2 + 1, 1e-9):
        hint = "the division by the stride rounds down: PyTorch keeps only windows that fit entirely."
    elif value == (224 + 2 * 3 - 7) // 2:
        hint = "almost: add 1 for the window at the very first position."
    elif value == (224 - 7) // 2 + 1:
        hint = "that leaves out the padding: 3 pixels are added on each side, 2 * 3 in all."
    else:
        hint = "use (n + 2p - f) // s + 1 with n = 224, f = 7, s = 2, p = 3."
    return _report(False, "", hint)


def check_conv_params(answer: object) -> bool:
    """Notebook 01: parameters of ``nn.Conv2d(256, 384, kernel_size=3)`` with its bias (AlexNet's conv3)."""
    if _unanswered(answer):
        return False
    from lightnets_course.widgets import conv_layer_numbers

    numbers = conv_layer_numbers(13, 256, 384, 3, padding=1)
    right, weights = numbers["params"], numbers["weights"]
    value = _as_number(answer)
    if value is None:
        return _report(False, "", f"the answer is one whole number; got {answer!r}")
    if value == right:
        return _report(
            True,
            f"3*3*256*384 + 384 = {right:,}: one 3x3x256 filter and one bias for each of the 384 outputs. "
            "The image size never enters: the same filters slide over every position.",
            "",
        )
    if value == weights:
        hint = "those are the weights; every output channel also has a bias."
    elif value == 3 * 3 * 256 + 384 or value == 3 * 3 * 384 + 384:
        hint = "a filter sees all input channels, and there is one filter per output channel: multiply both."
    elif value == numbers["macs"]:
        hint = "that is the layer's MACs on a 13x13 map; parameters do not depend on the map's size."
    else:
        hint = "each of the 384 filters is 3 x 3 x 256 weights, plus one bias per filter."
    return _report(False, "", hint)


def check_fc_params(answer: object) -> bool:
    """Notebook 01: parameters of the first fully connected layer of ``alexnet_half(num_classes=10, cifar=True)``."""
    if _unanswered(answer):
        return False
    from lightnets_course.models import alexnet_half

    model = alexnet_half(num_classes=10, cifar=True)
    first_fc = model.classifier[1]
    right = sum(p.numel() for p in first_fc.parameters())
    features, width = first_fc.in_features, first_fc.out_features
    channels = [m for m in model.features if isinstance(m, nn.Conv2d)][-1].out_channels
    side = math.isqrt(features // channels)
    value = _as_number(answer)
    if value is None:
        return _report(False, "", f"the answer is one whole number; got {answer!r}")
    if value == right:
        return _report(
            True,
            f"{features} * {width} + {width} = {right:,}: conv5's {channels} channels x {side} x {side} "
            f"positions, flattened, each connected to all {width} outputs.",
            "",
        )
    if value == features * width:
        hint = "those are the weights; each of the outputs also has a bias."
    elif value == channels * 6 * 6 * width + width:
        hint = f"that is the 224-pixel model, whose last map is 6x6; with cifar=True it is {side}x{side}."
    elif value == channels * width + width:
        hint = f"flattening keeps every position: the layer reads {channels} channels x {side} x {side} positions."
    else:
        hint = (
            "in_features x out_features weights plus out_features biases; the layer reads conv5's "
            f"{channels} channels at each of its {side} x {side} positions."
        )
    return _report(False, "", hint)


# ---------------------------------------------------------------------------------------------------
# 06 ShuffleNetV2


def check_pointwise_mem_access(answer: object) -> bool:
    """Notebook 06: the memory access cost of a 1x1 convolution, 58 -> 58 channels on a 28 x 28 map
    (a branch convolution of ShuffleNetV2 1x's stage 2), in elements."""
    from lightnets_course.complexity import conv_mem_access

    if _unanswered(answer):
        return False
    value = _as_number(answer)
    h = w = 28
    c1 = c2 = 58
    right = conv_mem_access(h, w, c1, c2)
    if value is None:
        return _report(
            False, "", f"the answer is one number of elements, such as 28 * 28 * 3; got {answer!r}"
        )
    if value == right:
        return _report(
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
    return _report(False, "", hint)


def check_shuffle_position(answer: object) -> bool:
    """Notebook 06: with 12 channels in 3 groups, at which output position (counted from 0) does input
    channel 5 land after ``channel_shuffle(x, 3)``?"""
    import torch

    from lightnets_course.models.blocks import channel_shuffle

    if _unanswered(answer):
        return False
    channels, groups, channel = 12, 3, 5
    order = channel_shuffle(torch.arange(channels, dtype=torch.float32).view(1, channels, 1, 1), groups)
    order = [int(c) for c in order.flatten()]
    right = order.index(channel)
    value = _as_number(answer)
    if value is None or value != int(value) or not 0 <= value < channels:
        return _report(False, "", f"the answer is a position from 0 to {channels - 1}; got {answer!r}")
    if value == right:
        return _report(
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
    return _report(False, "", hint)


# ---------------------------------------------------------------------------------------------------
# 07 Comparison


@functools.lru_cache(maxsize=1)
def _imagenet_rows() -> tuple[dict, ...]:
    """Every course model at 224x224: its MACs and params, and its ImageNet top-1 (notebook 07's rows)."""
    from lightnets_course.complexity import compare
    from lightnets_course.models import list_models
    from lightnets_course.widgets import comparison_rows

    return tuple(comparison_rows(compare(list_models(), (3, 224, 224))))


def check_params_front(answer: object) -> bool:
    """Notebook 07: the names of all course models on the Pareto front of ImageNet top-1 against
    parameters (the models with an ImageNet accuracy; torchvision's weights where they exist)."""
    from lightnets_course.viz import pareto_front

    if _unanswered(answer):
        return False
    if isinstance(answer, str):
        answer = [answer]
    if not isinstance(answer, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in answer):
        return _report(False, "", f"the answer is a list of model names, such as ['alexnet']; got {answer!r}")
    rows = list(_imagenet_rows())
    names = {row["model"] for row in rows}
    unknown = sorted(set(answer) - names)
    if unknown:
        return _report(False, "", f"{unknown} are not course models; the names are {sorted(names)}")
    no_accuracy = sorted(row["model"] for row in rows if row["top1"] is None and row["model"] in answer)
    if no_accuracy:
        return _report(False, "", f"{no_accuracy} has no ImageNet accuracy, so it is not on the plot at all.")
    front = [row["model"] for row in pareto_front(rows, "params", "top1")]
    chosen = set(answer)
    if chosen == set(front):
        by_macs = {row["model"] for row in pareto_front(rows, "macs", "top1")}
        return _report(
            True,
            f"{', '.join(front)}: smallest first, each more accurate than every smaller model. Against MACs "
            f"the front differs: {', '.join(sorted(by_macs ^ set(front)))} change sides.",
            "",
        )
    extra, missing = len(chosen - set(front)), len(set(front) - chosen)
    parts = []
    if extra:
        parts.append(
            f"{extra} of your models {'is' if extra == 1 else 'are'} off the front: another model has fewer "
            "(or as many) parameters and a higher (or equal) top-1"
        )
    if missing:
        parts.append(
            f"{missing} model{' is' if missing == 1 else 's are'} missing: sort by parameters and walk from "
            "the smallest, keeping each model more accurate than all before it"
        )
    return _report(False, "", "; ".join(parts) + ".")


def check_macs_ratio(answer: object) -> bool:
    """Notebook 07: how many times the MACs of ShuffleNetV2 0.5x does torchvision's AlexNet need at
    224x224?"""
    if _unanswered(answer):
        return False
    rows = {row["model"]: row for row in _imagenet_rows()}
    big, small = rows["alexnet"], rows["shufflenet_v2_x0_5"]
    right = big["macs"] / small["macs"]
    value = _as_number(answer)
    if value is None:
        return _report(False, "", f"the answer is one number, such as 2.5; got {answer!r}")
    if _close(value, right, 0.01):
        return _report(
            True,
            f"{big['macs'] / 1e6:.1f} M / {small['macs'] / 1e6:.1f} M = {right:.1f}x the MACs, and yet "
            f"an ImageNet top-1 of {big['top1']:.1f}% against ShuffleNetV2 0.5x's {small['top1']:.1f}%.",
            "",
        )
    if _close(value, 1 / right, 0.01):
        hint = "that is the ratio the other way round: divide AlexNet's MACs by ShuffleNetV2 0.5x's."
    elif _close(value, big["params"] / small["params"], 0.01):
        hint = "that is the ratio of the parameters; the question asks about MACs."
    else:
        hint = "divide the two models' MACs in the table of the 224x224 comparison."
    return _report(False, "", hint)
