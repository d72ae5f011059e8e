"""How the course trains: the learning-rate rule, and its CIFAR-10 recipes for a GPU and for a CPU.

>>> data = get_data("cifar10", batch_size=CIFAR10_RECIPE["batch_size"])
>>> fit(model, data.train, data.val, **recipe_fit_options())
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from .device import default_device

__all__ = [
    "BASE_BATCH_SIZE",
    "BASE_LR",
    "CIFAR10_CPU_RECIPE",
    "CIFAR10_RECIPE",
    "OPTIMIZERS",
    "cifar10_fit_options",
    "cifar10_recipe",
    "default_lr",
    "recipe_fit_options",
]

OPTIMIZERS = ("sgd", "adamw")

# Learning rates for a batch of 256 images; other batch sizes scale them (see default_lr).
BASE_LR = {"sgd": 0.1, "adamw": 1e-3}
BASE_BATCH_SIZE = 256

CIFAR10_RECIPE: dict[str, Any] = {
    "epochs": 40,
    "batch_size": 512,
    "optimizer": "sgd",
    "momentum": 0.9,
    "lr": BASE_LR["sgd"] * 512 / BASE_BATCH_SIZE,
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "label_smoothing": 0.1,
    "ema_decay": 0.995,
    "amp": None,
    "channels_last": None,
    "tta_flip": True,
}
"""How the course trains its 32x32 models (``cifar=True``) from scratch on CIFAR-10.

- ``batch_size`` 512, the images kept on the GPU and augmented there: a random crop of the image
  padded by 4 pixels, and a random horizontal flip (what ``get_data("cifar10")`` does);
- SGD with Nesterov momentum 0.9 and a peak ``lr`` of 0.2, which is ``default_lr``'s rule (0.1 per
  256 images); weight decay 5e-4 on the conv and linear weights;
- the one-cycle ``schedule`` over ``epochs``: the learning rate rises for 30% of the steps, then
  anneals to almost 0;
- ``label_smoothing`` 0.1;
- an exponential moving average of the weights (``ema_decay`` 0.995: about the last 200 steps, two
  epochs at this batch size); the average is what is validated, saved and kept;
- mixed precision (``amp``: bfloat16 on GPUs that have it, else float16) and the channels-last
  layout (``channels_last``) on the GPU;
- at the end, ``evaluate(model, data.test, tta_flip=True)``: each test image is also classified
  mirrored, and the two predictions are averaged.

``fit``'s defaults are this recipe's optimiser, momentum, learning-rate rule, schedule, weight
decay, label smoothing and precision; the recipe adds ``epochs``, ``ema_decay``, ``batch_size``
(a loader setting) and ``tta_flip`` (an ``evaluate`` setting). ``lightnets train --data cifar10``
takes its defaults from here, and so should a notebook that trains on the whole of CIFAR-10. In code::

    data = get_data("cifar10", batch_size=CIFAR10_RECIPE["batch_size"])
    fit(model, data.train, data.val, **recipe_fit_options())
    evaluate(model, data.test, tta_flip=CIFAR10_RECIPE["tta_flip"])

Where it comes from: what the field has published, not a search of our own. kuangliu/pytorch-cifar
and chenyaofo/pytorch-cifar-models train these architectures with SGD (momentum 0.9, lr 0.1 at
batch 128 to 256, weight decay 5e-4, crop and flip) for 200 to 350 epochs, to 93.8-94.4% for
MobileNetV2. airbench (Keller Jordan) reaches 94% in seconds with Nesterov SGD, a short warm-up
and decay, label smoothing, a moving average of the weights, data kept on the GPU and flip
test-time augmentation. The recipe keeps the first two's optimiser settings and borrows airbench's
training tricks that suit any network, leaving out those made for airbench's own network (patch
whitening, identity initialisation, scaled biases, the Muon optimiser).

Not yet verified on a GPU: the number of epochs is an estimate, and whether the recipe reaches the
published accuracies (MobileNetV2 93.79%, ShuffleNetV2 1x 92.98%, 0.5x 90.13%) and how fast is
still to be measured (``benchmarks/cifar10_speedrun.py``; results in ``benchmarks/README.md``).
"""

CIFAR10_CPU_RECIPE: dict[str, Any] = {
    "epochs": 30,
    "batch_size": 128,
    "optimizer": "sgd",
    "momentum": 0.9,
    "lr": 0.2,
    "weight_decay": 5e-5,
    "schedule": "onecycle",
    "label_smoothing": 0.0,
    "ema_decay": None,
    "amp": None,
    "channels_last": None,
    "tta_flip": False,
}
"""How the course trains CIFAR-10 on a CPU: an hour, not 200 epochs (the shipped checkpoints' recipe).

Batches of 128 (a CPU gains nothing from larger ones), a peak learning rate of 0.2 (four times the
linear rule's 0.05: a short one-cycle run tolerates and needs a high peak), weight decay 5e-5 (the
small models' papers use 4e-5; 5e-4 is made for 200 epochs), no label smoothing and no weight
average (both pay off in long runs only), the layout and precision ``fit`` measures as fastest, and
about 30 epochs: as many as a small model trains in an hour on 2 cores. What the short-run tuning
measured is in ``benchmarks/README.md``, "CIFAR-10 on the CPU".
"""

# Recipe settings that are not fit's: give them to get_data and evaluate.
_NOT_FIT_OPTIONS = ("batch_size", "tta_flip")


def default_lr(optimizer: str, batch_size: int) -> float:
    """The learning rate ``fit`` uses when none is given.

    Rule: SGD uses 0.1 per 256 images, scaled linearly with the batch size (Goyal et al. 2017,
    "Accurate, Large Minibatch SGD"); AdamW uses 0.001 per 256 images, scaled with the square root of
    the batch size (Adam's steps are normalised, so they need less scaling). Under ``torchrun`` the
    batch size is the total over all processes.

    >>> default_lr("sgd", 128)
    0.05
    """
    if optimizer not in BASE_LR:
        raise ValueError(f"optimizer={optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    ratio = batch_size / BASE_BATCH_SIZE
    return BASE_LR[optimizer] * (ratio if optimizer == "sgd" else math.sqrt(ratio))


def recipe_fit_options(recipe: Mapping[str, Any] = CIFAR10_RECIPE) -> dict[str, Any]:
    """The entries of ``recipe`` that are arguments of ``fit``: ``fit(model, train, val, **options)``.

    Left out are the recipe's settings for other functions: ``batch_size`` (give it to ``get_data``)
    and ``tta_flip`` (give it to ``evaluate``).

    >>> recipe_fit_options()["schedule"]
    'onecycle'
    """
    return {key: value for key, value in recipe.items() if key not in _NOT_FIT_OPTIONS}


def cifar10_recipe(device: str | torch.device) -> dict[str, Any]:
    """The course's CIFAR-10 recipe for ``device``: ``CIFAR10_RECIPE`` on CUDA, else
    ``CIFAR10_CPU_RECIPE``. ``lightnets train --data cifar10`` takes its defaults from it."""
    return dict(CIFAR10_RECIPE if torch.device(device).type == "cuda" else CIFAR10_CPU_RECIPE)


def cifar10_fit_options(device: str | torch.device | None = None) -> tuple[str, dict[str, Any]]:
    """The name of the CIFAR-10 recipe that suits ``device`` (the best available by default) and the
    ``fit`` options it gives: what a notebook trains with when no checkpoint ships.

    >>> name, options = cifar10_fit_options("cpu")
    >>> name, options["lr"], options["epochs"]
    ('the CPU recipe (recipe.CIFAR10_CPU_RECIPE)', 0.2, 30)
    """
    device = torch.device(device) if device is not None else default_device()
    on_gpu = device.type == "cuda"
    name = (
        "the GPU recipe (recipe.CIFAR10_RECIPE)" if on_gpu else "the CPU recipe (recipe.CIFAR10_CPU_RECIPE)"
    )
    return name, recipe_fit_options(cifar10_recipe(device))
