"""Every checkpoint in data/checkpoints is what its manifest says: intact, loadable with
``weights_only=True``, as accurate on the shipped sample as recorded, at or above its model's bar,
and all of them small enough for a clone of the course.

The checks are ``shipped.checkpoint_problems`` and ``shipped.size_problem``, which
scripts/cifar10_checkpoints.py also runs right after shipping. The last test proves on a checkpoint
written here that the checks pass a good file and catch broken ones.
"""

from __future__ import annotations

import json
import re
import runpy
import shlex
from pathlib import Path

import pytest
import torch

from lightnets_course.data import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD, file_sha256
from lightnets_course.models import get_model
from lightnets_course.results import History
from lightnets_course.shipped import (
    FLOORS,
    MANIFEST,
    SIZE_LIMIT_BYTES,
    checkpoint_problems,
    round_to_half,
    sample_accuracy,
    save_pretrained_cifar10,
    size_problem,
)

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "data" / "checkpoints"
ENTRIES = json.loads((CHECKPOINTS / MANIFEST).read_text(encoding="utf-8"))


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def write_checkpoint(folder: Path, test_accuracy: float = 0.90) -> tuple[str, dict]:
    """An untrained ShuffleNetV2 0.5x saved as a shipped checkpoint would be; returns its file name
    and manifest entry."""
    torch.manual_seed(0)
    model = get_model("shufflenet_v2_x0_5", num_classes=10, cifar=True).eval()
    model.normalization = {"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)}
    model.class_names = list(CIFAR10_CLASSES)
    round_to_half(model)
    history = History(
        train_loss=[2.3], train_acc=[0.1], val_loss=[2.3], val_acc=[0.1], lr=[0.1], epoch_time=[1.0]
    )
    path = save_pretrained_cifar10(
        model,
        test_accuracy=test_accuracy,
        recipe="written by the test",
        command="python tests/test_shipped_checkpoints.py",
        history=history,
        sample_accuracy=sample_accuracy(model),
        folder=folder,
    )
    return path.name, json.loads((folder / MANIFEST).read_text(encoding="utf-8"))[path.name]


def test_manifest_is_well_formed(tmp_path):
    text = (CHECKPOINTS / MANIFEST).read_text(encoding="utf-8")
    assert isinstance(ENTRIES, dict)
    # Written by save_pretrained_cifar10, never by hand: sorted, indented by 2, one final newline.
    assert text == json.dumps(dict(sorted(ENTRIES.items())), indent=2) + "\n"
    _, reference = write_checkpoint(tmp_path)
    for file_name, entry in ENTRIES.items():
        assert file_name == f"{entry['model']}.pt"
        assert set(entry) == set(reference), file_name
        assert entry["model"] in FLOORS, file_name
        assert {**entry["kwargs"], "num_classes": 10, "cifar": True} == entry["kwargs"], file_name
        assert re.fullmatch("[0-9a-f]{64}", entry["sha256"]), file_name
        assert 0 <= entry["test_accuracy"] <= 1 and 0 <= entry["sample_accuracy"] <= 1, file_name
        assert entry["epochs"] >= 1 and entry["train_seconds"] > 0, file_name
        assert entry["epochs"] == len(entry["history"]["val_acc"]) == len(entry["history"]["epoch_time"])
        assert entry["train_seconds"] == sum(entry["history"]["epoch_time"]), file_name
        assert entry["command"].startswith("lightnets train ") and "--data cifar10" in entry["command"]


@pytest.mark.parametrize("file_name", sorted(ENTRIES))
def test_shipped_checkpoint_is_intact_loadable_and_as_accurate_as_recorded(file_name):
    assert checkpoint_problems(CHECKPOINTS, file_name, ENTRIES[file_name]) == []


def test_the_five_cpu_trained_networks_all_ship_in_float16():
    # The course's notebooks 01 and 03-07 show these five; each is trained by the script on the CPU.
    script = runpy.run_path(str(ROOT / "scripts" / "cifar10_checkpoints.py"))
    assert set(script["RUNS"]) == {"alexnet_half", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small",
                                   "shufflenet_v2_x0_5"}  # fmt: skip
    for model in script["RUNS"]:
        assert f"{model}.pt" in ENTRIES, f"no checkpoint of {model} ships"
        weights = torch.load(CHECKPOINTS / f"{model}.pt", weights_only=True)["model"]
        assert {value.dtype for value in weights.values() if value.is_floating_point()} == {torch.float16}


def test_shipped_checkpoints_stay_small():
    assert SIZE_LIMIT_BYTES == 32_000_000
    assert size_problem(CHECKPOINTS) is None


def test_the_checks_pass_a_good_checkpoint_and_catch_broken_ones(tmp_path):
    problems = checkpoint_problems
    file_name, entry = write_checkpoint(tmp_path)
    assert problems(tmp_path, file_name, entry) == []
    assert size_problem(tmp_path) is None

    wrong_sample = dict(entry, sample_accuracy=entry["sample_accuracy"] + 0.002)
    [problem] = problems(tmp_path, file_name, wrong_sample)
    assert "its accuracy on the shipped sample is" in problem
    assert entry["floor"] == 0.85 and entry["meets_floor"] is True
    below_floor = dict(entry, test_accuracy=0.8499)  # but still marked as meeting it
    [problem] = problems(tmp_path, file_name, below_floor)
    assert "its test accuracy 84.99% against the floor 0.85 gives meets_floor False" in problem
    assert problems(tmp_path, file_name, dict(below_floor, meets_floor=False)) == []
    size = (tmp_path / file_name).stat().st_size
    assert size_problem(tmp_path, limit_bytes=size) is None
    assert f"take {size / 1e6:.2f} MB together, more than the 0.50 MB" in size_problem(
        tmp_path, limit_bytes=500_000
    )

    path = tmp_path / file_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert problems(tmp_path, file_name, entry) == [
        f"{path} has SHA-256 {file_sha256(path)}, but {MANIFEST} says {entry['sha256']}"
    ]
    # A file that matches its checksum but is not a checkpoint fails to load.
    path.write_bytes(b"not a checkpoint")
    manifest = {file_name: dict(entry, sha256=file_sha256(path))}
    (tmp_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    [problem] = problems(tmp_path, file_name, manifest[file_name])
    assert problem.startswith(f"{path} does not load: CheckpointError:")
    path.unlink()
    assert problems(tmp_path, file_name, entry) == [f"{path} is listed in {MANIFEST} but does not exist"]


def test_the_checkpoints_readme_shows_the_manifest():
    # data/checkpoints/README.md's table is written from the manifest by the script that ships them.
    script = runpy.run_path(str(ROOT / "scripts" / "cifar10_checkpoints.py"))
    readme = (CHECKPOINTS / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- checkpoints table: begin -->\n", "<!-- checkpoints table: end -->"
    table = readme[readme.index(begin) + len(begin) : readme.index(end)]
    assert table == script["readme_table"](CHECKPOINTS) + "\n"


def test_every_shipped_checkpoint_was_trained_by_the_command_the_script_gives_today():
    # A change to the script's recipe or a model's options must go with a retrained checkpoint.
    script = runpy.run_path(str(ROOT / "scripts" / "cifar10_checkpoints.py"))
    manifest = json.loads((CHECKPOINTS / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest.values():
        expected = shlex.join(script["train_command"](entry["model"], Path("runs/cifar10")))
        assert entry["command"] == expected
    # a model's own option replaces the recipe's instead of repeating the flag
    words = script["train_command"]("alexnet_half", Path("runs"))
    assert words.count("--lr") == 1 and words[words.index("--lr") + 1] == "0.05"
