"""Transfer learning: torchvision's ImageNet weights in the course's models, a new head, frozen features.

ImageNet weights: the course's AlexNet, MobileNetV2/V3 and ShuffleNetV2 use torchvision's parameter
names, so torchvision's pre-trained weights load into them unchanged. A network trained on 1.28
million ImageNet photos has learnt edges, textures and object parts that help on other photos too:
keep those layers (the "features"), give it a new classifier for your classes, and train only that.

>>> from lightnets_course.transfer import pretrained
>>> model = pretrained("mobilenet_v2", num_classes=5)  # ImageNet weights, new head, frozen features
>>> model.classifier
Sequential(
  (0): Dropout(p=0.2, inplace=False)
  (1): Linear(in_features=1280, out_features=5, bias=True)
)

The CIFAR-10 checkpoints the course trained itself are in ``shipped``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torchvision.models
from torch import Tensor, nn

from .checkpoint import compare_state_dicts
from .models import get_model, list_models

__all__ = [
    "IMAGENET_WEIGHTS",
    "TrainableReport",
    "freeze_features",
    "load_imagenet_weights",
    "load_torchvision_state",
    "pretrained",
    "replace_classifier",
    "trainable_report",
]

# Course models for which torchvision publishes ImageNet weights: those it also builds, by the same name.
IMAGENET_WEIGHTS = tuple(name for name in list_models() if name in torchvision.models.list_models())


# ---------------------------------------------------------------------------------------------------
# ImageNet weights


def _config_of(model: nn.Module, caller: str) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if not isinstance(model, nn.Module) or not config:
        raise TypeError(
            f"{caller} needs a course model (one with .config), such as get_model('mobilenet_v2'); "
            f"got {type(model).__name__}"
        )
    return config


def load_torchvision_state(model: nn.Module, state_dict: Mapping[str, Tensor] | nn.Module) -> nn.Module:
    """Load torchvision weights (a state dict, or a torchvision model) into a course model, strictly.

    Every parameter and buffer name must exist on both sides with the same shape; otherwise nothing
    is loaded and the error lists the missing, unexpected and differently shaped entries, which tells
    at once whether the architecture differs or only the classifier does.

    Returns:
        The model, now holding the weights.
    """
    if isinstance(state_dict, nn.Module):
        state_dict = state_dict.state_dict()
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"state_dict must be a dict of tensors or a torch model, got {type(state_dict).__name__}"
        )
    report = compare_state_dicts(model.state_dict(), state_dict)
    if report:
        name = getattr(model, "config", {}).get("name", type(model).__name__)
        raise ValueError(f"these weights do not fit the {name} (nothing was loaded):\n{report}")
    model.load_state_dict(state_dict)
    return model


def load_imagenet_weights(model: nn.Module, progress: bool = True) -> nn.Module:
    """Load torchvision's ImageNet weights (its ``DEFAULT`` ones) into a course model, strictly.

    The model must be one of ``IMAGENET_WEIGHTS``, built with ``num_classes=1000`` and the default
    width (``cifar=True`` is fine: it changes strides, not weights). The file is downloaded once into
    torchvision's cache, ``torch.hub.get_dir()/checkpoints``, and read from there afterwards.

    Returns:
        The model, now holding the weights.

    Raises:
        ValueError: no ImageNet weights exist for this model or configuration.
        ConnectionError: the download failed (the message says where to place the file by hand).
    """
    config = _config_of(model, "load_imagenet_weights")
    name = config["name"]
    if name not in IMAGENET_WEIGHTS:
        raise ValueError(
            f"torchvision has no ImageNet weights for {name}; it has them for {', '.join(IMAGENET_WEIGHTS)}"
        )
    if config.get("num_classes") != 1000:
        raise ValueError(
            f"ImageNet weights come with a 1000-class classifier, but this {name} has "
            f"{config.get('num_classes')} classes; build it with num_classes=1000, load the weights, then "
            f"call replace_classifier(model, {config.get('num_classes')}) (pretrained() does all three)"
        )
    if config.get("width_mult", 1.0) != 1.0:
        raise ValueError(f"ImageNet weights exist only for width_mult=1.0, not {config['width_mult']}")

    weights = torchvision.models.get_model_weights(name).DEFAULT
    file_name = os.path.basename(urllib.parse.urlparse(weights.url).path)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / file_name
    # torch.hub prints 'Downloading: "<url>" to <cache path>' even without a progress bar.
    quiet = contextlib.nullcontext() if progress else contextlib.redirect_stdout(io.StringIO())
    try:
        with quiet:
            state_dict = weights.get_state_dict(progress=progress, check_hash=True)
    except OSError as err:  # no network, DNS failure, timeout, HTTP error
        raise ConnectionError(
            f"Could not download torchvision's ImageNet weights for {name} from {weights.url} "
            f"({type(err).__name__}: {err}). torchvision keeps downloaded weights in {cached.parent}; to "
            f"work offline, download that address on a machine with internet access and save the file, "
            f"unchanged, as {cached}"
        ) from err
    except RuntimeError as err:  # a damaged download or cached file
        raise RuntimeError(
            f"The ImageNet weights file for {name} is damaged ({err}); delete {cached} and run this again to "
            "download it afresh"
        ) from err
    return load_torchvision_state(model, state_dict)


# ---------------------------------------------------------------------------------------------------
# A new classifier, frozen features


def _classifier(model: nn.Module) -> nn.Module:
    """The classifier of a course model: ``model.classifier`` (AlexNet, MobileNets) or ``model.fc``
    (ShuffleNetV2)."""
    for name in ("classifier", "fc"):
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            return module
    raise TypeError(
        f"{type(model).__name__} has no .classifier or .fc module; replace_classifier and freeze_features "
        "work with the course's models and torchvision's"
    )


def replace_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Give the model a new, untrained output layer with ``num_classes`` outputs.

    The last ``nn.Linear`` of the classifier is replaced (in place, on the same device); everything
    before it is kept. ``model.config["num_classes"]`` follows, so checkpoints rebuild the new shape.

    Returns:
        The model.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a whole number >= 1, got {num_classes!r}")
    head = _classifier(model)
    if isinstance(head, nn.Linear):
        parent, attribute, old = model, "fc" if getattr(model, "fc", None) is head else "classifier", head
    else:
        linears = [(name, module) for name, module in head.named_modules() if isinstance(module, nn.Linear)]
        if not linears:
            raise TypeError(f"the classifier of {type(model).__name__} has no nn.Linear layer to replace")
        path, old = linears[-1]
        parent_path, _, attribute = path.rpartition(".")
        parent = head.get_submodule(parent_path) if parent_path else head
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    # Small weights: the new head starts out predicting nearly uniform probabilities, so its first
    # steps do not push large, arbitrary gradients around.
    nn.init.normal_(new.weight, 0.0, 0.01)
    if new.bias is not None:
        nn.init.zeros_(new.bias)
    setattr(parent, attribute, new.to(device=old.weight.device, dtype=old.weight.dtype))
    config = getattr(model, "config", None)
    if isinstance(config, dict):
        config["num_classes"] = num_classes
    if getattr(model, "class_names", None) is not None and len(model.class_names) != num_classes:
        model.class_names = None  # the old names belong to the old classes
    return model


@dataclasses.dataclass(repr=False)
class TrainableReport:
    """How many parameters training will change, and how many stay frozen.

    Attributes:
        trainable: parameters with ``requires_grad=True``.
        frozen: parameters with ``requires_grad=False``.
        by_module: top-level module name -> (trainable, frozen).
    """

    trainable: int
    frozen: int
    by_module: dict[str, tuple[int, int]]

    def __repr__(self) -> str:
        total = self.trainable + self.frozen
        share = 100 * self.trainable / total if total else 0.0
        lines = [f"TrainableReport: {self.trainable:,} of {total:,} parameters trainable ({share:.1f}%)"]
        width = max((len(name) for name in self.by_module), default=0)
        for name, (trainable, frozen) in self.by_module.items():
            if trainable and frozen:
                state = f"{trainable:,} trainable, {frozen:,} frozen"
            else:
                state = f"{trainable:,} trainable" if trainable else f"{frozen:,} frozen"
            lines.append(f"  {name:<{width}}  {state}")
        return "\n".join(lines)


def trainable_report(model: nn.Module) -> TrainableReport:
    """Count trainable and frozen parameters, in total and per top-level module."""
    by_module = {}
    for name, child in model.named_children():
        counts = [0, 0]
        for parameter in child.parameters():
            counts[0 if parameter.requires_grad else 1] += parameter.numel()
        if sum(counts):
            by_module[name] = (counts[0], counts[1])
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return TrainableReport(trainable=trainable, frozen=frozen, by_module=by_module)


def freeze_features(model: nn.Module) -> TrainableReport:
    """Freeze every parameter except the classifier's, so training only adapts the classifier.

    BatchNorm layers in the frozen part also keep their running mean and variance: ``fit`` runs
    BatchNorm layers whose weights are all frozen in eval mode. Their statistics were measured on
    ImageNet together with the frozen convolutions; re-estimating them from a new data set's small
    batches would shift every feature the classifier sees, and differently in training and in
    evaluation. (A hand-written loop should call ``module.eval()`` on them after ``model.train()``.)

    Returns:
        A ``TrainableReport`` of the result (print it to see what trains).
    """
    head = _classifier(model)
    model.requires_grad_(False)
    head.requires_grad_(True)
    return trainable_report(model)


def pretrained(name: str, num_classes: int, *, freeze: bool = True, cifar: bool = False) -> nn.Module:
    """An ImageNet-trained course model with a new classifier: the MobileNetV2 notebook's recipe.

    Builds ``name`` with 1000 classes, loads torchvision's ImageNet weights, replaces the classifier
    with an untrained one for ``num_classes`` classes and, with ``freeze=True``, freezes everything
    else. Train it on images normalised with ImageNet's statistics (``data.IMAGENET_MEAN`` and
    ``IMAGENET_STD``, as ``get_data("flowers")`` does): the features were learnt on those.

    Args:
        name: one of ``IMAGENET_WEIGHTS``.
        num_classes: classes of the new task.
        freeze: train only the classifier (fast, and best with little data); ``False`` fine-tunes all.
        cifar: build the 32x32 variant (same weights, smaller strides).
    """
    model = get_model(name, num_classes=1000, cifar=cifar)
    load_imagenet_weights(model)
    if num_classes != 1000:
        replace_classifier(model, num_classes)
    if freeze:
        freeze_features(model)
    return model
