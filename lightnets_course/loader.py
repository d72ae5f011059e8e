"""The loader that keeps a whole dataset on the device as uint8 and augments it there.

A per-image PIL pipeline keeps a modern GPU waiting for data; CIFAR-10's 60,000 images fit on any GPU
as uint8 (184 MB), so ``DeviceLoader`` picks each batch by index, crops and flips all its images at
once on the device, and normalises them there. On a CPU it is simply the fastest loader too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F

from .checks import check_batch_size, check_image_size
from .datasets import CIFAR10_MEAN, CIFAR10_STD, TensorImages
from .device import default_device
from .distributed import rank_and_world_size

__all__ = ["DeviceLoader"]


class DeviceLoader:
    """Batches of a ``TensorImages`` dataset that lives on the device, augmented on the device.

    The images are copied to ``device`` once, as uint8. Each batch is picked by index, then, for
    training, every image is padded by ``crop_padding`` zeros and cropped back at a random offset and
    flipped left-right with probability 1/2 (all images of the batch at once, no Python loop); finally it
    becomes float32 and is normalised with ``mean`` and ``std``. It yields ``(images, labels)``:
    float32 (B, 3, H, W) and int64 (B,), both on ``device``.

    The randomness (order, crops, flips) comes from a generator seeded with ``(seed, epoch)``: call
    ``set_epoch(epoch)`` before each epoch, as with torch's ``DistributedSampler``. The same epoch always
    gives the same batches, on any device, which makes resuming a training run exact.

    Training loaders shuffle and drop the last incomplete batch (``drop_last=None`` means "when
    training", unless the images do not fill a single batch); evaluation loaders keep the dataset's
    order, do not augment and keep every image. Under ``torch.distributed`` (or with ``rank`` and ``world_size``) each process gets its own share:
    in training, equal-sized disjoint shards; in evaluation, disjoint shards that together hold every
    image exactly once. ``image_size`` resizes batches on the device (for models that expect, say, 224).
    """

    def __init__(
        self,
        data: TensorImages,
        batch_size: int = 512,
        *,
        train: bool = False,
        device: str | torch.device | None = None,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
        crop_padding: int = 4,
        flip: bool = True,
        drop_last: bool | None = None,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        image_size: int | None = None,
    ) -> None:
        if not isinstance(data, TensorImages):
            raise TypeError(
                f"data must be a TensorImages (from cifar10(), cifar10_sample() or TensorImages(...)), "
                f"got {type(data).__name__}; for image files use file_loader(ImageFileDataset(...))"
            )
        check_batch_size(batch_size)
        if isinstance(crop_padding, bool) or not isinstance(crop_padding, int) or crop_padding < 0:
            raise ValueError(
                f"crop_padding must be a whole number >= 0 (0 turns cropping off), got {crop_padding!r}"
            )
        if len(mean) != 3 or len(std) != 3 or any(value <= 0 for value in std):
            raise ValueError(
                f"mean and std need one value per RGB channel, std > 0; got mean={mean}, std={std}"
            )
        if image_size is not None:
            check_image_size(image_size)
        self.rank, self.world_size = rank_and_world_size(rank, world_size)

        self.device = torch.device(device) if device is not None else default_device()
        self.classes = list(data.classes)
        self.mean = tuple(float(value) for value in mean)
        self.std = tuple(float(value) for value in std)
        self.batch_size = batch_size
        self.train = train
        self.crop_padding = crop_padding if train else 0
        self.flip = flip and train
        self.seed = seed
        self.epoch = 0
        self.dataset_size = len(data)
        self.drop_last = train if drop_last is None else drop_last
        if drop_last is None and self._shard_size() < batch_size:
            self.drop_last = False  # fewer images than one batch: dropping it would leave no batch at all
        height, width = data.images.shape[-2:]
        self.image_size = image_size or width
        self._resize = image_size is not None and (image_size, image_size) != (height, width)
        self.images = data.images.to(self.device).contiguous()
        self.labels = data.labels.to(self.device)
        # Normalising in [0, 1] units: (x / 255 - mean) / std, exactly what ToTensor + Normalize compute.
        self._mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order and augmentation the next iteration uses."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a whole number >= 0, got {epoch!r}")
        self.epoch = epoch

    def _shard_size(self) -> int:
        if self.train:
            return self.dataset_size // self.world_size
        return len(range(self.rank, self.dataset_size, self.world_size))

    def __len__(self) -> int:
        if self.drop_last:
            return self._shard_size() // self.batch_size
        return math.ceil(self._shard_size() / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # A CPU generator: the same (seed, epoch) gives the same batches on CUDA, MPS and CPU.
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = self.dataset_size
        if self.train:
            # Every process draws the same permutation and takes every world_size-th entry of it.
            order = torch.randperm(n, generator=generator)
            order = order[: self._shard_size() * self.world_size][self.rank :: self.world_size]
        else:
            order = torch.arange(self.rank, n, self.world_size)
        padding = self.crop_padding
        # Drawn for every image of the dataset, so each process sees the same augmentation per image.
        offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator) if padding else None
        flips = torch.rand(n, generator=generator) < 0.5 if self.flip else None

        order = order.to(self.device)
        if offsets is not None:
            offsets = offsets.to(self.device)
        if flips is not None:
            flips = flips.to(self.device)
        for batch_index in range(len(self)):
            index = order[batch_index * self.batch_size : (batch_index + 1) * self.batch_size]
            images = self.images[index]
            if offsets is not None or flips is not None:
                images = _crop_and_flip(
                    images,
                    padding,
                    offsets[index] if offsets is not None else None,
                    flips[index] if flips is not None else None,
                )
            images = images.float().div_(255).sub_(self._mean).div_(self._std)
            if self._resize:
                images = F.interpolate(
                    images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False
                )
            yield images, self.labels[index]

    def __repr__(self) -> str:
        shard = f", rank {self.rank} of {self.world_size}" if self.world_size > 1 else ""
        return (
            f"DeviceLoader({self.dataset_size} images on {self.device}, batch_size={self.batch_size}, "
            f"train={self.train}, {len(self)} batches{shard})"
        )


def _crop_and_flip(
    images: torch.Tensor, padding: int, offsets: torch.Tensor | None, flips: torch.Tensor | None
) -> torch.Tensor:
    """Random crops and flips of a uint8 batch as one gather.

    Image ``i`` of the result is ``pad(images[i])[:, y:y+H, x:x+W]`` with ``(y, x) = offsets[i]``,
    mirrored left-right where ``flips[i]``: the row and column indices of every output pixel are
    computed first, then all pixels are read at once.
    """
    batch, channels, height, width = images.shape
    device = images.device
    if padding:
        images = F.pad(images, (padding, padding, padding, padding))
    rows = torch.arange(height, device=device).expand(batch, height)
    columns = torch.arange(width, device=device).expand(batch, width)
    if flips is not None:
        columns = torch.where(flips[:, None], columns.flip(1), columns)
    if offsets is not None:
        rows = rows + offsets[:, :1]
        columns = columns + offsets[:, 1:]
    return images[
        torch.arange(batch, device=device)[:, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]
