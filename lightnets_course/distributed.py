"""Training on several processes with ``torchrun``: joining the process group, sharding the data,
letting one process download first. The one place the package touches ``torch.distributed``.

    torchrun --nproc_per_node=4 $(which lightnets) train --model mobilenet_v2 --cifar --data cifar10

``fit`` and the ``lightnets train`` command enter ``Distributed(device)``; outside ``torchrun`` it is
process 0 of 1 and does nothing.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

__all__ = ["Distributed", "is_sharded", "main_process_first", "rank_and_world_size", "sampler_for"]


def _active() -> bool:
    return dist.is_available() and dist.is_initialized()


class Distributed:
    """A ``torchrun`` launch (``WORLD_SIZE`` > 1): joins the process group on entry, and leaves it on
    exit if it started it. Outside torchrun it is process 0 of 1 and does nothing."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = 0
        self.started_here = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __enter__(self) -> Distributed:
        if not self.active:
            return self
        if not dist.is_available():
            raise RuntimeError("WORLD_SIZE > 1 but this build of torch has no torch.distributed support")
        if self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(self.device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if self.device.type == "cuda" else "gloo")
            self.started_here = True
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.started_here:
            dist.destroy_process_group()

    def sum(self, tensor: Tensor) -> Tensor:
        """Add ``tensor`` up over all processes, in place."""
        if self.active:
            dist.all_reduce(tensor)
        return tensor

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Give every process rank 0's BatchNorm statistics (each process updated its own copy)."""
        if self.active:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def shard(self, loader: Any, seed: int, train: bool) -> Any:
        """The part of ``loader`` this process works on.

        A loader with ``rank`` and ``world_size`` attributes (``DeviceLoader``) made before the process
        group started gets a copy with this process's rank; a training DataLoader gets a
        DistributedSampler. A validation DataLoader without one is read whole by every process.
        """
        if not self.active:
            return loader
        if isinstance(getattr(loader, "world_size", None), int) and hasattr(loader, "rank"):
            if loader.world_size == self.world_size:
                return loader
            if loader.world_size == 1:
                # DeviceLoader reads rank and world_size when iterating, so a shallow copy (sharing the
                # images already on the device) with this process's rank gives this process's share.
                shard = copy.copy(loader)
                shard.rank, shard.world_size = self.rank, self.world_size
                return shard
            raise ValueError(
                f"a loader was made for {loader.world_size} processes, but torchrun started {self.world_size}"
            )
        if isinstance(loader, DataLoader):
            if isinstance(loader.sampler, DistributedSampler) or not train:
                return loader
            if loader.batch_size is not None:
                sampler = DistributedSampler(
                    loader.dataset,
                    num_replicas=self.world_size,
                    rank=self.rank,
                    shuffle=isinstance(loader.sampler, RandomSampler),
                    seed=seed,
                    drop_last=loader.drop_last,
                )
                return DataLoader(
                    loader.dataset,
                    batch_size=loader.batch_size,
                    sampler=sampler,
                    num_workers=loader.num_workers,
                    collate_fn=loader.collate_fn,
                    pin_memory=loader.pin_memory,
                    drop_last=loader.drop_last,
                    worker_init_fn=loader.worker_init_fn,
                    persistent_workers=loader.persistent_workers,
                )
        if not train:
            return loader
        raise TypeError(
            "under torchrun, fit splits a DeviceLoader or a DataLoader (with a batch_size) between the "
            f"processes; it cannot split a {type(loader).__name__}: give each process its own part of the "
            "data, e.g. with a DistributedSampler"
        )


def rank_and_world_size(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """This process's rank and the number of processes: the ones given, else torch.distributed's."""
    if world_size is None:
        world_size = dist.get_world_size() if _active() else 1
    if rank is None:
        rank = dist.get_rank() if _active() else 0
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"rank must be in 0..world_size-1 and world_size >= 1, got rank={rank}, world_size={world_size}"
        )
    return rank, world_size


def is_sharded(loader: Any) -> bool:
    """Whether ``loader`` gives this process only its share of the data (under torchrun)."""
    if not (_active() and dist.get_world_size() > 1):
        return False
    sampler = getattr(loader, "sampler", None)
    return getattr(loader, "world_size", 1) > 1 or isinstance(sampler, DistributedSampler)


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    # Under torchrun, one process downloads and unpacks while the others wait, then they read the files.
    if _active() and dist.get_rank() != 0:
        dist.barrier()
    yield
    if _active() and dist.get_rank() == 0:
        dist.barrier()


def sampler_for(dataset: Any, shuffle: bool, drop_last: bool) -> DistributedSampler | None:
    """Under torchrun, a sampler that gives this process its own shard of ``dataset``; else ``None``."""
    if not (_active() and dist.get_world_size() > 1):
        return None
    return DistributedSampler(dataset, shuffle=shuffle, drop_last=drop_last)
