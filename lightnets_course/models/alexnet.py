"""AlexNet, the course's baseline: five convolutions, three max-pools, three fully connected layers.

Two variants share one class:

- ``alexnet``: torchvision's model, from Krizhevsky's 2014 "One weird trick" paper (channels
  64-192-384-256-256, adaptive average pooling to 6x6, FC 4096-4096). 61.1 M parameters for
  1000 classes; torchvision's ImageNet weights load into it.
- ``alexnet_half``: the half-width AlexNet of the widely copied flower-classification tutorial
  (channels 48-128-192-192-128, FC 2048-2048, no adaptive pooling). 14,591,685 parameters for
  5 classes, 16,630,440 for 1000.

With ``cifar=True`` (32x32 inputs) only the stem changes: conv1 becomes 3x3 / stride 1 / padding 1
instead of 11x11 / stride 4, because an 11x11 stride-4 filter would shrink a 32x32 image to 7x7 at
once. The three 3x3/2 max-pools then take 32 -> 15 -> 7 -> 3, so the last feature map is 3x3.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .blocks import check_builder_args, check_image_batch

__all__ = ["AlexNet", "alexnet", "alexnet_half"]

# The convolutions: (out_channels, kernel_size, stride, padding, followed by a 3x3/2 max-pool).
ALEXNET_2014 = [
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
]
ALEXNET_HALF = [
    (48, 11, 4, 2, True),
    (128, 5, 1, 2, True),
    (192, 3, 1, 1, False),
    (192, 3, 1, 1, False),
    (128, 3, 1, 1, True),
]
FC_WIDTH = {"alexnet": 4096, "alexnet_half": 2048}
# cifar=True: conv1 is (kernel 3, stride 1, padding 1); the rest of each table is unchanged.
CIFAR_STEM = (3, 1, 1)


def feature_map_size(input_size: int, layers: list[tuple[int, int, int, int, bool]]) -> int:
    """Side of the last feature map for a square input of side ``input_size``.

    Each conv maps a side ``s`` to ``(s + 2 * padding - kernel) // stride + 1``, each 3x3/2 max-pool
    to ``(s - 3) // 2 + 1``. Returns 0 when the input is too small for some layer.
    """
    size = input_size
    for _, kernel, stride, padding, pool in layers:
        size = (size + 2 * padding - kernel) // stride + 1
        if pool:
            size = (size - 3) // 2 + 1
        if size < 1:
            return 0
    return size


class AlexNet(nn.Module):
    """AlexNet with torchvision's module names (``features``, ``avgpool``, ``classifier``).

    Args:
        half_width: ``False`` for torchvision's 2014 AlexNet, ``True`` for the half-width variant.
        num_classes: output classes.
        cifar: ``True`` for 32x32 inputs (conv1 3x3 / stride 1, see the module docstring).
        dropout: dropout probability before each of the first two fully connected layers.

    Inputs: torchvision's variant takes any size from 63x63 up (15x15 with ``cifar=True``) thanks to
    its adaptive pooling. The half-width variant has none, so its first Linear layer only fits the
    sizes that give a 6x6 map: 223 to 254 pixels, 224 being standard (31 to 38 with ``cifar=True``).
    """

    def __init__(
        self, half_width: bool = False, num_classes: int = 1000, cifar: bool = False, dropout: float = 0.5
    ) -> None:
        super().__init__()
        name = "alexnet_half" if half_width else "alexnet"
        check_builder_args(name, num_classes, cifar, dropout=dropout)
        self.config = {"name": name, "num_classes": num_classes, "cifar": cifar, "dropout": dropout}

        layers = list(ALEXNET_HALF if half_width else ALEXNET_2014)
        if cifar:
            out_channels, *_, pool = layers[0]
            layers[0] = (out_channels, *CIFAR_STEM, pool)

        features: list[nn.Module] = []
        in_channels = 3
        for out_channels, kernel, stride, padding, pool in layers:
            features += [nn.Conv2d(in_channels, out_channels, kernel, stride, padding), nn.ReLU(inplace=True)]
            if pool:
                features.append(nn.MaxPool2d(kernel_size=3, stride=2))
            in_channels = out_channels
        self.features = nn.Sequential(*features)

        if half_width:
            # The original has no pooling here, so the classifier reads conv5's map as it is:
            # 6x6 for a 224 input, 3x3 for a 32 input with the CIFAR stem.
            pooled = 3 if cifar else 6
            self.avgpool = nn.Identity()
            fitting = [s for s in range(1, 512) if feature_map_size(s, layers) == pooled]
            self.min_input_size, self.max_input_size = fitting[0], fitting[-1]
        else:
            pooled = 6
            self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
            self.min_input_size = next(s for s in range(1, 512) if feature_map_size(s, layers) >= 1)
            self.max_input_size = None

        fc_width = FC_WIDTH[name]
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(in_channels * pooled * pooled, fc_width),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(fc_width, fc_width),
            nn.ReLU(inplace=True),
            nn.Linear(fc_width, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(
            x, self.config["name"], self.min_input_size, self.max_input_size, self.config["cifar"]
        )
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def alexnet(num_classes: int = 1000, *, cifar: bool = False, dropout: float = 0.5) -> AlexNet:
    """torchvision's AlexNet (the 2014 "One weird trick" variant): 64-192-384-256-256, FC 4096.

    Parameter names match ``torchvision.models.alexnet``, so its ImageNet weights load with
    ``model.load_state_dict(tv_model.state_dict())``. 61,100,840 parameters for 1000 classes.

    Args:
        num_classes: output classes (1000 for ImageNet, 10 for CIFAR-10, 5 for the flowers).
        cifar: ``True`` for 32x32 inputs: conv1 becomes 3x3 / stride 1 / padding 1 (instead of 11x11 /
            stride 4 / padding 2) and the last feature map is 3x3. The adaptive pooling repeats it to
            6x6, so every layer but conv1 keeps its ImageNet shape (and weights) for transfer learning.
        dropout: dropout probability in the classifier.
    """
    return AlexNet(half_width=False, num_classes=num_classes, cifar=cifar, dropout=dropout)


def alexnet_half(num_classes: int = 1000, *, cifar: bool = False, dropout: float = 0.5) -> AlexNet:
    """The half-width AlexNet: 48-128-192-192-128, FC 2048, no adaptive pooling, 224x224 inputs.

    Kernels 11/5/3/3/3, strides 4/1/1/1/1, paddings 2/2/1/1/1, 3x3/2 max-pools after conv1, conv2 and
    conv5, then dropout + Linear(128*6*6, 2048), ReLU, dropout + Linear(2048, 2048), ReLU,
    Linear(2048, num_classes). 14,591,685 parameters for 5 classes, 16,630,440 for 1000.

    Args:
        num_classes: output classes.
        cifar: ``True`` for 32x32 inputs: conv1 becomes 3x3 / stride 1 / padding 1, the last feature
            map is 3x3 and the first Linear layer reads 128*3*3 features.
        dropout: dropout probability in the classifier.
    """
    return AlexNet(half_width=True, num_classes=num_classes, cifar=cifar, dropout=dropout)
