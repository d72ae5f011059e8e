"""Same command, same model: ``lightnets train`` in separate processes, stopped for real and resumed.

Each run is a new Python process (``python -m lightnets_course.cli`` or tests/interrupted_run.py), as
a learner's runs are: nothing is shared through the test's own process. One thread per process, so
that two processes on a 2-core runner do not slow each other down (and the thread count, which the
seed does not cover, is the same for every run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lightnets_course.checkpoint import load_checkpoint

HERE = Path(__file__).resolve().parent
# A small network on the shipped sample: 12 training steps of 64 images per epoch, about a second.
TRAIN = ["train", "--model", "shufflenet_v2_x0_5", "--cifar", "--data", "sample", "--device", "cpu"]
TRAIN += ["--no-progress"]
EPOCHS = 2


def run(args: list[str], script: list[str] | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    environment.pop("LIGHTNETS_DEBUG", None)
    command = [sys.executable, *(script or ["-m", "lightnets_course.cli"]), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)


def train(
    out: Path, *extra: str, seed: int = 0, script: list[str] | None = None
) -> subprocess.CompletedProcess:
    args = [*TRAIN, "--epochs", str(EPOCHS), "--seed", str(seed), "--out", str(out), *extra]
    return run(args, script)


def assert_same_run(a: Path, b: Path) -> None:
    """Two checkpoints of one run: the same weights, optimiser state and history, bit for bit."""
    first, second = load_checkpoint(a), load_checkpoint(b)
    assert first["epoch"] == second["epoch"] == EPOCHS
    assert first["model"].keys() == second["model"].keys()
    for key, value in first["model"].items():
        assert torch.equal(value, second["model"][key]), f"{key} differs"
    momenta = [state["momentum_buffer"] for state in first["optimizer"]["state"].values()]
    others = [state["momentum_buffer"] for state in second["optimizer"]["state"].values()]
    assert all(torch.equal(x, y) for x, y in zip(momenta, others, strict=True))
    for curve in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert first["history"][curve] == second["history"][curve], curve


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory) -> Path:
    """The reference: a run that was never stopped."""
    out = tmp_path_factory.mktemp("whole") / "run"
    result = train(out)
    assert result.returncode == 0, result.stderr
    return out / "last.pt"


def test_the_same_command_gives_the_same_weights_in_another_process(whole_run, tmp_path):
    result = train(tmp_path / "again")
    assert result.returncode == 0, result.stderr
    assert_same_run(whole_run, tmp_path / "again" / "last.pt")


def test_another_seed_gives_other_initial_weights(whole_run, tmp_path):
    # One epoch is enough to tell: the seed reaches the initial weights, not only the data order.
    result = run([*TRAIN, "--epochs", "1", "--seed", "1", "--out", str(tmp_path / "one")])
    assert result.returncode == 0, result.stderr
    other = load_checkpoint(tmp_path / "one" / "last.pt")["model"]
    reference = load_checkpoint(whole_run)["model"]
    assert not torch.equal(other["conv1.0.weight"], reference["conv1.0.weight"])


def test_a_run_stopped_with_sigint_and_resumed_in_a_new_process_ends_bit_identical(whole_run, tmp_path):
    out = tmp_path / "stopped"
    step_in_epoch_2 = 12 + 5
    stopped = train(out, script=[str(HERE / "interrupted_run.py"), "int", str(step_in_epoch_2), "--"])
    assert stopped.returncode == 130, stopped.stderr
    assert "Interrupted during epoch 2" in stopped.stdout
    assert "--resume" in stopped.stdout  # the command says how to continue
    assert load_checkpoint(out / "last.pt")["epoch"] == 1

    resumed = train(out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(whole_run, out / "last.pt")


def test_a_run_killed_while_writing_its_checkpoint_keeps_the_last_good_one_and_resumes(whole_run, tmp_path):
    out = tmp_path / "killed"
    killed = train(out, script=[str(HERE / "interrupted_run.py"), "kill", "2", "--"])
    assert killed.returncode == -9  # SIGKILL: no handler ran, nothing was cleaned up
    leftovers = [path.name for path in out.iterdir() if path.name.endswith(".tmp")]
    assert leftovers, "the kill should have struck while the new checkpoint was being written"
    assert load_checkpoint(out / "last.pt")["epoch"] == 1  # the previous checkpoint, whole

    resumed = train(out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(whole_run, out / "last.pt")


def test_predict_reports_every_image_and_names_the_unreadable_ones(whole_run, tmp_path):
    sample = HERE.parent / "data" / "cifar10_sample"
    good = [str(path) for path in sorted((sample / "ship").glob("*.jpg"))[:2]]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a JPEG at all")
    missing = str(tmp_path / "missing.png")
    result = run(["predict", "--checkpoint", str(whole_run), good[0], str(broken), missing, good[1]])
    assert result.returncode == 1
    printed = result.stdout.splitlines()
    assert [line.split(":")[0] for line in printed] == good  # both readable images, in order
    errors = result.stderr.splitlines()
    assert any(str(broken) in line and "not an image" in line for line in errors), errors
    assert any(missing in line and "no" in line.lower() for line in errors), errors
    assert errors[-1] == "lightnets predict: 2 of 4 images could not be read"
    assert "Traceback" not in result.stderr
