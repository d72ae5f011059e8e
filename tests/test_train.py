"""Tests of the training loop: learning, exact resume, interrupts, divergence, checkpoints, DDP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightnets_course.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from lightnets_course.data import CIFAR10_CLASSES, DeviceLoader, cifar10_sample, get_data
from lightnets_course.device import pick_device
from lightnets_course.evaluate import evaluate
from lightnets_course.models import get_model
from lightnets_course.recipe import default_lr
from lightnets_course.results import EvalResult, History
from lightnets_course.train import TrainingDiverged, fit

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def tiny_cnn(num_classes: int = 10, dropout: float = 0.0) -> nn.Module:
    """A small CNN with BatchNorm (running statistics must resume too) and optional dropout."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(64, num_classes),
    )


def small_course_model(num_classes: int = 10) -> nn.Module:
    return get_model("mobilenet_v1", num_classes=num_classes, cifar=True, width_mult=0.25)


@pytest.fixture(scope="module")
def sample():
    return cifar10_sample()


@pytest.fixture(scope="module")
def small_loaders(sample):
    """160 training and 60 validation images of the shipped sample (every class), on the CPU."""
    train, val = sample.split(0.2, seed=0)
    _, train = train.split(0.2, seed=0)
    _, val = val.split(0.3, seed=0)
    return DeviceLoader(train, 32, train=True, device="cpu"), DeviceLoader(val, 64, device="cpu")


def tensor_loaders(sample):
    """192 images of the sample (all classes mixed) as plain DataLoaders over TensorDatasets, shuffled
    by torch's global generator, with none of DeviceLoader's attributes."""
    chosen = torch.randperm(len(sample), generator=torch.Generator().manual_seed(0))[:192]
    images = sample.images[chosen].float() / 255
    labels = sample.labels[chosen]
    train = DataLoader(TensorDataset(images[:128], labels[:128]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(images[128:], labels[128:]), batch_size=64)
    return train, val


def same_state(a: nn.Module | dict, b: nn.Module | dict) -> bool:
    a = a.state_dict() if isinstance(a, nn.Module) else a
    b = b.state_dict() if isinstance(b, nn.Module) else b
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


class StopAt:
    """Wraps a loader and raises KeyboardInterrupt at a given epoch, as Jupyter's stop button does."""

    def __init__(self, loader, epoch: int, batch: int = 1) -> None:
        self.loader, self.stop_epoch, self.stop_batch, self.epoch = loader, epoch, batch, 0

    def __getattr__(self, name: str):  # batch_size, classes, mean, std: the wrapped loader's
        return getattr(self.loader, name)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if self.epoch == self.stop_epoch and i == self.stop_batch:
                raise KeyboardInterrupt
            yield batch


# ---------------------------------------------------------------------------------------------------
# Devices


def test_pick_device_defaults_to_the_best_available(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")


def test_pick_device_explains_an_unavailable_or_unknown_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available on this machine.*device='cpu'"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="MPS backend is not available"):
        pick_device("mps")
    with pytest.raises(ValueError, match="'gpu' is not a device name; use 'cpu', 'cuda'"):
        pick_device("gpu")
    with pytest.raises(TypeError, match="device must be a name"):
        pick_device(0)


def test_default_lr_follows_the_documented_rule():
    assert default_lr("sgd", 256) == pytest.approx(0.1)
    assert default_lr("sgd", 64) == pytest.approx(0.025)
    assert default_lr("adamw", 1024) == pytest.approx(0.002)


# ---------------------------------------------------------------------------------------------------
# Learning


def test_a_short_run_on_the_shipped_sample_learns(capsys):
    data = get_data("sample", batch_size=32, device="cpu")
    torch.manual_seed(0)
    model = tiny_cnn()
    history = fit(model, data.train, data.val, epochs=6)

    assert history.train_loss[-1] < history.train_loss[0] - 0.2
    assert history.best_val_acc > 0.2  # chance is 0.1
    assert history.val_acc[history.best_epoch - 1] == history.best_val_acc
    assert len(history.lr) == len(history.epoch_time) == 6
    # One line per epoch on stdout (the progress bars go to stderr).
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == [f"epoch {e}/6" for e in range(1, 7)]
    # fit leaves what predict() needs on the model.
    assert model.class_names == CIFAR10_CLASSES
    assert model.normalization == {"mean": list(data.mean), "std": list(data.std)}
    assert model.image_size == 32
    assert not model.training


@pytest.mark.parametrize(
    ("optimizer", "schedule"),
    [("sgd", "constant"), ("sgd", "cosine"), ("adamw", "onecycle"), ("adamw", "plateau")],
)
def test_every_optimizer_and_schedule_runs_with_the_default_lr(small_loaders, optimizer, schedule):
    train, val = small_loaders
    history = fit(
        tiny_cnn(), train, val, 3, optimizer=optimizer, schedule=schedule, progress=False, grad_clip=1.0
    )
    peak = default_lr(optimizer, train.batch_size)
    lrs = history.lr
    if schedule in ("constant", "plateau"):  # plateau waits 2 epochs without improvement
        assert lrs == pytest.approx([peak] * 3)
    elif schedule == "cosine":
        assert lrs[0] > lrs[1] > lrs[2] and lrs[-1] < 0.02 * peak  # the last step is 1/15 before the end
    else:  # one cycle: up to the peak within the first 30% of the steps, then down to almost 0
        assert lrs[0] > lrs[-1] and max(lrs) <= peak and lrs[-1] < 0.01 * peak
    assert all(loss == loss for loss in history.train_loss)  # no NaN


def test_silent_with_progress_false(small_loaders, capsys):
    fit(tiny_cnn(), *small_loaders, 1, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ---------------------------------------------------------------------------------------------------
# Exact resume, interrupts


@pytest.mark.parametrize("kind", ["device_loader_with_ema", "dataloader_with_dropout"])
def test_resume_after_an_interrupt_gives_the_same_weights_bit_for_bit(
    tmp_path, sample, small_loaders, kind, capsys
):
    if kind == "device_loader_with_ema":
        train, val = small_loaders
        options = {"ema_decay": 0.9}
        make = tiny_cnn
    else:  # shuffling and dropout draw from torch's global generator
        train, val = tensor_loaders(sample)
        options = {}

        def make():
            return tiny_cnn(dropout=0.3)

    torch.manual_seed(1)
    whole = make()
    fit(whole, train, val, 3, checkpoint_dir=tmp_path / "whole", progress=False, **options)

    torch.manual_seed(1)
    stopped = make()
    history = fit(stopped, StopAt(train, epoch=2), val, 3, checkpoint_dir=tmp_path / "part", **options)
    printed = capsys.readouterr().out
    assert history.interrupted and history.epochs == 2
    assert "Interrupted during epoch 3: the model keeps the weights from the end of epoch 2" in printed
    assert "resume=True" in printed
    assert same_state(stopped, load_checkpoint(tmp_path / "part" / "last.pt")["model"])
    assert (tmp_path / "part" / "best.pt").is_file()
    assert not same_state(stopped, whole)

    torch.manual_seed(123)  # a fresh model with other weights: everything must come from the checkpoint
    resumed = make()
    history = fit(
        resumed, train, val, 3, checkpoint_dir=tmp_path / "part", resume=True, progress=False, **options
    )
    assert same_state(resumed, whole)
    assert history.epochs == 3 and not history.interrupted
    whole_history = load_checkpoint(tmp_path / "whole" / "last.pt")["history"]
    assert history.train_loss == whole_history["train_loss"]
    assert history.val_acc == whole_history["val_acc"]


def test_an_interrupt_in_the_first_epoch_keeps_the_initial_weights(small_loaders, capsys):
    model = tiny_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    history = fit(model, StopAt(small_loaders[0], epoch=0, batch=2), small_loaders[1], 2)
    assert history.interrupted and history.epochs == 0
    assert same_state(model, before)
    assert "the model keeps the weights it had before training" in capsys.readouterr().out


def test_resume_of_a_finished_run_changes_nothing(tmp_path, small_loaders):
    model = tiny_cnn()
    fit(model, *small_loaders, 1, checkpoint_dir=tmp_path, progress=False)
    again = tiny_cnn()
    history = fit(again, *small_loaders, 1, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert history.epochs == 1 and same_state(again, model)


def test_resume_refuses_a_different_plan(tmp_path, small_loaders):
    fit(tiny_cnn(), *small_loaders, 1, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="planned for 1 epochs.*resume with epochs=1"):
        fit(tiny_cnn(), *small_loaders, 3, checkpoint_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="trained with optimizer='sgd', not 'adamw'"):
        fit(tiny_cnn(), *small_loaders, 1, optimizer="adamw", checkpoint_dir=tmp_path, resume=True)


# ---------------------------------------------------------------------------------------------------
# Divergence


def test_an_absurd_learning_rate_stops_with_a_clear_error_and_keeps_good_weights(small_loaders):
    torch.manual_seed(0)
    model = tiny_cnn()
    fit(model, *small_loaders, 1, progress=False, schedule="constant", lr=0.01)
    after_one_epoch = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged) as caught:
        fit(model, *small_loaders, 2, lr=1e12, schedule="constant", progress=False)
    message = str(caught.value)
    assert isinstance(caught.value, RuntimeError)
    assert (
        "the loss became nan at epoch 1/2, step" in message
        or "the loss became inf at epoch 1/2, step" in message
    )
    assert "learning rate is too high (lr=1e+12" in message
    assert "not normalised" in message
    assert "keeps the weights it had before training" in message
    assert same_state(model, after_one_epoch)


# ---------------------------------------------------------------------------------------------------
# Checkpoints


def test_a_checkpoint_rebuilds_the_model_with_its_metadata(tmp_path, small_loaders):
    torch.manual_seed(0)
    model = small_course_model()
    history = fit(model, *small_loaders, 1, checkpoint_dir=tmp_path, progress=False)
    checkpoint = torch.load(tmp_path / "best.pt", weights_only=True)  # plain data only
    assert checkpoint["model_config"] == model.config
    assert checkpoint["history"] == history.as_dict()

    loaded = load_model(tmp_path, device="cpu")  # a run folder: its best.pt
    assert not loaded.training and loaded.config == model.config
    assert loaded.class_names == CIFAR10_CLASSES
    assert loaded.normalization == model.normalization and loaded.image_size == 32
    x = next(iter(small_loaders[1]))[0]
    assert torch.equal(loaded(x), model(x))


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    model = tiny_cnn()
    path = save_checkpoint(tmp_path / "last.pt", model, epoch=1)
    before = path.read_bytes()

    def failing_save(obj, file, *args, **kwargs):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, tiny_cnn(), epoch=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_unreadable_checkpoints_get_a_clear_error(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", small_course_model())
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "truncated.pt")

    torch.save(tiny_cnn().state_dict(), tmp_path / "state.pt")
    with pytest.raises(CheckpointError, match="not a LightNets checkpoint; it looks like a bare state dict"):
        load_model(tmp_path / "state.pt")

    torch.save(tiny_cnn(), tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="holds pickled Python objects"):
        load_checkpoint(tmp_path / "pickled.pt")

    with pytest.raises(FileNotFoundError, match="'.*missing.pt' does not exist"):
        load_checkpoint(tmp_path / "missing.pt")

    save_checkpoint(tmp_path / "plain.pt", tiny_cnn())
    with pytest.raises(CheckpointError, match="has no model configuration"):
        load_model(tmp_path / "plain.pt")


def test_resume_into_another_model_says_what_differs(tmp_path, small_loaders):
    save_checkpoint(tmp_path / "last.pt", small_course_model(num_classes=10))
    other_architecture = get_model("mobilenet_v3_small", num_classes=10, cifar=True, width_mult=0.25)
    with pytest.raises(CheckpointError, match="holds a mobilenet_v1 with 10 classes.*another architecture"):
        fit(other_architecture, *small_loaders, 1, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(
        CheckpointError, match="10 classes, but the model has 5 classes; build it with num_classes=10"
    ):
        fit(small_course_model(num_classes=5), *small_loaders, 1, checkpoint_dir=tmp_path, resume=True)
    # Without a configuration to compare, the weights' names and shapes tell.
    save_checkpoint(tmp_path / "plain" / "last.pt", tiny_cnn(num_classes=10))
    with pytest.raises(CheckpointError, match=r"14.weight: model \(5, 64\), weights \(10, 64\)"):
        fit(tiny_cnn(num_classes=5), *small_loaders, 1, checkpoint_dir=tmp_path / "plain", resume=True)


# ---------------------------------------------------------------------------------------------------
# Evaluation and the result objects


def test_evaluate_matches_a_direct_computation(sample):
    torch.manual_seed(0)
    model = tiny_cnn().eval()
    _, val = tensor_loaders(sample)
    images, labels = (torch.cat(parts) for parts in zip(*val))
    result = evaluate(model, val, class_names=CIFAR10_CLASSES)
    with torch.no_grad():
        logits = model(images)
        flipped = (logits + model(images.flip(-1))) / 2
    assert isinstance(result, EvalResult) and result.num_images == len(labels)
    assert result.accuracy == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert result.loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert result.confusion.sum() == len(labels) and result.confusion.shape == (10, 10)
    for index, name in enumerate(CIFAR10_CLASSES):
        of_class = labels == index
        expected = (logits.argmax(1)[of_class] == index).float().mean().item()
        assert result.per_class[name] == pytest.approx(expected)
        assert result.confusion[index].sum() == of_class.sum()
    assert repr(result).startswith(f"EvalResult: accuracy {100 * result.accuracy:.1f}% on 64 images")
    assert "  airplane" in repr(result)

    with_flip = evaluate(model, val, tta_flip=True)
    assert with_flip.accuracy == pytest.approx((flipped.argmax(1) == labels).float().mean().item())
    assert list(with_flip.per_class) == [str(i) for i in range(10)]  # no names anywhere: numbers
    assert with_flip.plot().axes


def test_most_frequent_mistake_is_the_largest_off_diagonal_cell():
    confusion = torch.tensor([[50, 3, 9], [7, 40, 1], [2, 8, 60]])  # the diagonal is the largest: ignored
    result = EvalResult(0.83, 0.5, {}, confusion, ["cat", "dog", "ship"], int(confusion.sum()))
    assert result.most_frequent_mistake() == ("cat", "ship", 9)
    assert result.confusion[0, 0] == 50  # the result's own matrix is left as it was
    perfect = EvalResult(1.0, 0.0, {}, torch.diag(torch.tensor([5, 5])), ["cat", "dog"], 10)
    assert perfect.most_frequent_mistake()[2] == 0


def test_history_round_trips_and_reads_well():
    history = History(
        train_loss=[2.0, 1.5],
        train_acc=[0.2, 0.4],
        val_loss=[1.9, 1.6],
        val_acc=[0.25, 0.45],
        lr=[0.1, 0.01],
        epoch_time=[1.0, 1.1],
        best_epoch=2,
        best_val_acc=0.45,
    )
    assert History.from_dict(history.as_dict()) == history
    text = repr(history)
    assert text.splitlines()[0] == "History: 2 epochs, best val acc 45.0% at epoch 2"
    assert "train loss  train acc  val loss  val acc" in text
    assert text.splitlines()[-1].split()[:5] == ["2", "1.500", "40.0%", "1.600", "45.0%"]
    figure = history.plot()
    loss_ax, acc_ax = figure.axes
    assert list(acc_ax.lines[1].get_ydata()) == [25.0, 45.0]
    with pytest.raises(ValueError, match="unknown entries"):
        History.from_dict({"train_los": [1.0]})


# ---------------------------------------------------------------------------------------------------
# Mistakes a learner makes


def test_bad_arguments_get_clear_errors(sample, small_loaders):
    train, val = small_loaders
    model = tiny_cnn()
    with pytest.raises(TypeError, match="got the number 5 .did you mean epochs=...?"):
        fit(model, train, 5)
    bundle = get_data("sample", device="cpu")
    with pytest.raises(
        TypeError, match=r"whole data bundle; pass its loaders: fit\(model, data.train, data.val"
    ):
        fit(model, bundle)
    with pytest.raises(ValueError, match="optimizer='adam' is not one of 'sgd', 'adamw'"):
        fit(model, train, optimizer="adam")
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        fit(model, train, resume=True)
    with pytest.raises(FileNotFoundError, match="last.pt' does not exist; run fit once"):
        fit(model, train, checkpoint_dir=Path("/nonexistent/run"), resume=True)
    with pytest.raises(ValueError, match="labels from 0 to 9, but the model has 5 outputs"):
        fit(tiny_cnn(num_classes=5), train, progress=False)
    uint8 = DataLoader(TensorDataset(sample.images[:8], sample.labels[:8]), batch_size=4)
    with pytest.raises(
        TypeError, match="images of dtype torch.uint8; the model needs normalised float images"
    ):
        fit(model, uint8, progress=False)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(model, train, progress=False)


# ---------------------------------------------------------------------------------------------------
# Several processes (torchrun)


def test_distributed_training_on_two_cpu_processes(tmp_path):
    with socket.socket() as s:  # a free port, so parallel test runs do not collide
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={port}",
        str(REPO / "tests" / "ddp_script.py"),
        str(tmp_path),
    ]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert same_state(rank0["state"], rank1["state"])  # parameters and BatchNorm statistics
    # The same losses and accuracies in both (the validation counts of both processes are added up).
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert rank0["history"][key] == rank1["history"][key]
    history = rank0["history"]
    assert history["train_loss"][-1] < history["train_loss"][0]
    # Only process 0 printed and wrote the checkpoint, and its weights have no "module." prefix.
    assert done.stdout.count("epoch 1/") == 1
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert same_state(checkpoint["model"], rank0["state"])
    # Each process trained on half of the batches: 128 images, 2 processes, batches of 32.
    assert checkpoint["run"]["steps_per_epoch"] == 2
