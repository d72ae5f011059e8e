"""Checkpoints written by earlier versions of the package still load and resume.

``tests/data/checkpoint_before_the_module_split.pt`` was written by the package as it was before training,
checkpoints and data became modules of their own (commit 1327b2f): a half-width MobileNetV3-Small for
CIFAR-10, saved with ``train.save_checkpoint(..., half=True)`` after one epoch of ``fit`` on the shipped
sample. Its weights and the output they give on a fixed input are stored beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from lightnets_course.checkpoint import load_checkpoint, load_model
from lightnets_course.data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, DeviceLoader, cifar10_sample
from lightnets_course.train import fit

OLD = Path(__file__).resolve().parent / "data" / "checkpoint_before_the_module_split.pt"

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_a_checkpoint_written_before_the_module_split_loads_and_computes_what_it_did():
    model = load_model(OLD, device="cpu")
    assert model.config["name"] == "mobilenet_v3_small" and model.config["num_classes"] == 10
    assert model.class_names == CIFAR10_CLASSES
    assert model.normalization == {"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)}
    stored = load_checkpoint(OLD)
    assert stored["format_version"] == 1 and stored["epoch"] == 1
    expected = torch.load(OLD.with_suffix(".output.pt"), weights_only=True)
    with torch.no_grad():
        torch.testing.assert_close(model(expected["input"]), expected["output"])


def tiny_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 10),
    )  # fmt: skip


def test_a_run_saved_before_the_setup_was_stored_resumes_with_the_rule_it_was_trained_with(tmp_path):
    train = DeviceLoader(cifar10_sample().split(0.8, seed=0)[0], 32, train=True, device="cpu")
    options = {"schedule": "constant", "checkpoint_dir": tmp_path, "progress": False}
    torch.manual_seed(0)
    fit(tiny_cnn(), train, None, 1, **options)
    checkpoint = torch.load(tmp_path / "last.pt", weights_only=True)
    for key in ("channels_last", "autocast_dtype"):  # what the runs of earlier versions lack
        del checkpoint["run"][key]
    torch.save(checkpoint, tmp_path / "last.pt")
    model = tiny_cnn()
    history = fit(model, train, None, 2, resume=True, **options)
    assert history.epochs == 2
    assert model[0].weight.is_contiguous()  # earlier versions kept the plain layout off CUDA
