"""Two processes train one model with ``fit`` under torchrun; ``test_train.py`` starts it.

    python -m torch.distributed.run --nproc_per_node=2 tests/ddp_script.py OUT_FOLDER

Each process writes ``OUT_FOLDER/rank<r>.pt`` (its final weights and history); process 0 also writes
the checkpoints in ``OUT_FOLDER/run``. The training data is a DataLoader (fit gives it a
DistributedSampler), the validation data a DeviceLoader made before the process group exists (fit
gives each process its share, and adds the counts of both up).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightnets_course.data import DeviceLoader, TensorImages
from lightnets_course.train import fit

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def make_images(count: int, seed: int) -> TensorImages:
    """Noisy 16x16 images whose class (0-3) decides which quarter of the image is brighter."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 4
    images = torch.randint(0, 160, (count, 3, 16, 16), generator=generator)
    for i, label in enumerate(labels.tolist()):
        row, column = divmod(label, 2)
        images[i, :, row * 8 : row * 8 + 8, column * 8 : column * 8 + 8] += 90
    return TensorImages(
        images.to(torch.uint8), labels, ["top left", "top right", "bottom left", "bottom right"]
    )


def main(out: Path) -> None:
    torch.set_num_threads(1)
    train_images = make_images(128, seed=0)
    normalised = (train_images.images.float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(
        STD
    ).view(1, 3, 1, 1)
    train = DataLoader(TensorDataset(normalised, train_images.labels), batch_size=32, shuffle=True)
    val = DeviceLoader(make_images(64, seed=1), 32, device="cpu", mean=MEAN, std=STD)

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 4),
    )
    history = fit(model, train, val, 4, checkpoint_dir=out / "run", device="cpu", lr=0.05, progress=True)
    rank = int(os.environ["RANK"])
    torch.save({"state": model.state_dict(), "history": history.as_dict()}, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
