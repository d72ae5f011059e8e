"""The course's model families, one file per paper, and a registry to build them by name.

>>> from lightnets_course.models import get_model, list_models
>>> model = get_model("mobilenet_v2", num_classes=10, cifar=True)
>>> model.config
{'name': 'mobilenet_v2', 'num_classes': 10, 'cifar': True, 'width_mult': 1.0, 'dropout': 0.2}

``model.config`` holds everything needed to rebuild the model, so a checkpoint stores it next to the
weights and ``get_model(**config)`` makes the same network again.

The builders take the same keyword arguments as torchvision's, plus ``cifar=True`` for 32x32 inputs.
MobileNetV2/V3, ShuffleNetV2 and ``alexnet`` use torchvision's parameter names, so torchvision's
ImageNet weights load into them with ``load_state_dict(..., strict=True)``.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable

from torch import nn

from .alexnet import alexnet, alexnet_half
from .mobilenet_v1 import mobilenet_v1
from .mobilenet_v2 import mobilenet_v2
from .mobilenet_v3 import mobilenet_v3_large, mobilenet_v3_small
from .shufflenet_v2 import shufflenet_v2_x0_5, shufflenet_v2_x1_0, shufflenet_v2_x1_5, shufflenet_v2_x2_0

# In course order: the baseline, then the papers in the order the notebooks teach them. The one list of
# model names: each is its builder's name.
_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    builder.__name__: builder
    for builder in (
        alexnet,
        alexnet_half,
        mobilenet_v1,
        mobilenet_v2,
        mobilenet_v3_large,
        mobilenet_v3_small,
        shufflenet_v2_x0_5,
        shufflenet_v2_x1_0,
        shufflenet_v2_x1_5,
        shufflenet_v2_x2_0,
    )
}

__all__ = ["get_model", "list_models", *_BUILDERS]


def list_models() -> list[str]:
    """Names ``get_model`` accepts, in course order."""
    return list(_BUILDERS)


def get_model(name: str, num_classes: int = 1000, **kwargs) -> nn.Module:
    """Build a course model by name, e.g. ``get_model("shufflenet_v2_x0_5", num_classes=10, cifar=True)``.

    Args:
        name: one of ``list_models()``.
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10).
        **kwargs: the builder's other keyword arguments: ``cifar`` for every model, ``width_mult`` for
            the MobileNets, ``dropout`` for all but ShuffleNetV2. ``get_model(**model.config)`` rebuilds
            a model from its config.

    Raises:
        ValueError: unknown ``name`` (the message lists the known ones and suggests the closest).
        TypeError: a keyword argument the builder does not take (the message lists those it takes).
    """
    if not isinstance(name, str):
        raise TypeError(f"get_model: name must be a string such as 'mobilenet_v2', got {name!r}")
    if name not in _BUILDERS:
        # A family name ("shufflenet", "mobilenet_v3") matches several models: offer them all.
        close = [known for known in _BUILDERS if name and known.startswith(name.lower())]
        close = close or difflib.get_close_matches(name.lower(), _BUILDERS, n=1)
        suggestion = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise ValueError(
            f"get_model: unknown model name {name!r}; {suggestion}known models: {', '.join(_BUILDERS)}"
        )

    builder = _BUILDERS[name]
    accepted = list(inspect.signature(builder).parameters)
    for key in kwargs:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(
                f"get_model: {name} does not take the keyword argument {key!r}{suggestion}; "
                f"it accepts: {', '.join(accepted)}"
            )
    return builder(num_classes, **kwargs)
