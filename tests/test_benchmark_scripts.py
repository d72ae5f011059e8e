"""Tests of the training benchmarks (benchmarks/cifar10_speedrun.py, benchmarks/train_throughput.py)
and of the CIFAR-10 recipe they share with ``fit`` and the ``lightnets train`` command.

The scripts run in-process on the shipped sample, on the CPU, in their ``--fast`` mode.
"""

from __future__ import annotations

import inspect
import json
import math
import runpy
import shutil
from pathlib import Path

import pytest
import torch

from lightnets_course import cli
from lightnets_course.checkpoint import load_model
from lightnets_course.data import CIFAR10_CLASSES
from lightnets_course.models import get_model
from lightnets_course.recipe import (
    CIFAR10_CPU_RECIPE,
    CIFAR10_RECIPE,
    cifar10_fit_options,
    default_lr,
    recipe_fit_options,
)
from lightnets_course.results import History
from lightnets_course.shipped import load_pretrained_cifar10, round_to_half
from lightnets_course.train import fit

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "cifar10_sample"
SPEEDRUN = runpy.run_path(str(BENCHMARKS / "cifar10_speedrun.py"))
THROUGHPUT = runpy.run_path(str(BENCHMARKS / "train_throughput.py"))


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


# ---------------------------------------------------------------------------------------------------
# The recipe


def test_recipe_entries_are_fit_arguments_or_loader_and_evaluate_settings():
    fit_parameters = inspect.signature(fit).parameters
    others = set(CIFAR10_RECIPE) - set(fit_parameters)
    assert others == {"batch_size", "tta_flip"}
    assert recipe_fit_options() == {k: v for k, v in CIFAR10_RECIPE.items() if k not in others}


def test_the_notebooks_recipe_is_named_and_follows_the_device():
    before = dict(CIFAR10_CPU_RECIPE)
    cpu_name, cpu_options = cifar10_fit_options("cpu")
    gpu_name, gpu_options = cifar10_fit_options("cuda")  # only picks a recipe: no GPU is needed
    assert "CPU" in cpu_name and cpu_options == recipe_fit_options(CIFAR10_CPU_RECIPE)
    assert "GPU" in gpu_name and gpu_options == recipe_fit_options(CIFAR10_RECIPE)
    cpu_options["epochs"] = 1  # a copy: the caller may change it
    assert CIFAR10_CPU_RECIPE == before


def test_fit_defaults_are_the_recipe_and_its_lr_follows_the_scaling_rule():
    defaults = {name: p.default for name, p in inspect.signature(fit).parameters.items()}
    shared = ["optimizer", "momentum", "weight_decay", "schedule", "label_smoothing", "amp", "channels_last"]
    assert {name: defaults[name] for name in shared} == {name: CIFAR10_RECIPE[name] for name in shared}
    assert CIFAR10_RECIPE["lr"] == default_lr(CIFAR10_RECIPE["optimizer"], CIFAR10_RECIPE["batch_size"])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (  # on the CPU, the CPU recipe
            ["--data", "cifar10"],
            {
                key: CIFAR10_CPU_RECIPE[key]
                for key in ("batch_size", "epochs", "ema_decay", "lr", "weight_decay")
            },
        ),
        (
            ["--data", "cifar10", "--batch-size", "64", "--epochs", "3", "--ema", "0.9", "--lr", "0.1"],
            {"batch_size": 64, "epochs": 3, "ema_decay": 0.9, "lr": 0.1, "weight_decay": 5e-5},
        ),
        (["--data", "sample"], {"batch_size": None, "epochs": 10, "ema_decay": None}),
        # a budget alone: fit chooses the epochs; with --epochs, that many at most
        (["--data", "cifar10", "--budget", "20m"], {"budget": 1200.0, "epochs": None}),
        (["--data", "sample", "--budget", "1.5h", "--epochs", "4"], {"budget": 5400.0, "epochs": 4}),
    ],
)
def test_lightnets_train_takes_its_cifar10_defaults_from_the_recipe(monkeypatch, tmp_path, options, expected):
    asked = {}

    class FakeData:
        classes = CIFAR10_CLASSES
        train = val = test = None

    def fake_get_data(name, batch_size=None, **kwargs):
        asked["batch_size"] = batch_size
        return FakeData()

    def fake_fit(model, train_data, val_data, **kwargs):
        asked.update(kwargs)
        return History()

    monkeypatch.setattr(cli, "get_data", fake_get_data)
    monkeypatch.setattr(cli, "fit", fake_fit)
    command = ["train", "--model", "mobilenet_v1", "--width-mult", "0.25", "--cifar", "--device", "cpu"]
    assert cli.main(command + ["--out", str(tmp_path), "--no-progress"] + options) == 0
    assert {key: asked.get(key) for key in expected} == expected


# ---------------------------------------------------------------------------------------------------
# cifar10_speedrun.py


def test_speedrun_fast_trains_prints_the_table_and_refuses_to_ship_the_sample(tmp_path, capsys):
    ship_dir, results = tmp_path / "checkpoints", tmp_path / "run.json"
    argv = ["--model", "shufflenet_v2_x0_5", "--fast", "--ship", "--ship-dir", str(ship_dir)]
    status = SPEEDRUN["main"](argv + ["--json", str(results)])
    out, err = capsys.readouterr()

    saved = json.loads(results.read_text())
    history = saved["history"]
    assert len(history["train_loss"]) == 1 and math.isfinite(history["train_loss"][0])
    assert saved["train_seconds"] == pytest.approx(sum(history["epoch_time"]))
    # The sample's batches are smaller than the recipe's; the learning rate follows the scaling rule.
    assert saved["recipe"] == dict(CIFAR10_RECIPE, epochs=1, batch_size=64, lr=default_lr("sgd", 64))
    assert (
        "Recipe: epochs 1, batch_size 64, optimizer sgd, momentum 0.9, lr 0.025, weight_decay 0.0005" in out
    )
    assert (
        out.startswith("Machine: CPU ")
        and f"Command: `python benchmarks/cifar10_speedrun.py {' '.join(argv)}" in out
    )
    header = "| model | epochs | val 80% | val 85% | val 90% | val 93% | val 94% | best val | training s |"
    assert header + " test | test, flip TTA | sample |" in out
    test = 100 * saved["test_accuracy"]
    row = f"| shufflenet_v2_x0_5 | 1 | - | - | - | - | - | {100 * history['val_acc'][0]:.2f}% (ep 1) |"
    assert row in out and f"| {test:.2f}% | {100 * saved['test_accuracy_flip_tta']:.2f}% |" in out

    # A model trained on the sample is no CIFAR-10 checkpoint: nothing may be written.
    assert status == 1
    assert err == "Not shipped: a --fast run trains on the shipped sample, not on CIFAR-10.\n"
    assert not ship_dir.exists() and saved["shipped"] is None


def test_speedrun_ships_a_model_marked_against_its_floor_and_checks_it(monkeypatch, tmp_path, capsys):
    # A miniature CIFAR-10 (20 training and 10 test images per class, from the shipped sample) takes
    # the whole non-fast path, shipping included, in seconds.
    for split, images in (("train", slice(0, 20)), ("test", slice(20, 30))):
        for folder in sorted(SAMPLE.iterdir()):
            if folder.is_dir():
                (tmp_path / "cifar10-jpeg" / split / folder.name).mkdir(parents=True)
                for image in sorted(folder.glob("*.jpg"))[images]:
                    shutil.copy(image, tmp_path / "cifar10-jpeg" / split / folder.name / image.name)
    ship_dir, results = tmp_path / "checkpoints", tmp_path / "run.json"
    argv = ["--model", "shufflenet_v2_x0_5", "--device", "cpu", "--epochs", "1", "--data-root", str(tmp_path)]
    status = SPEEDRUN["main"](argv + ["--ship", "--ship-dir", str(ship_dir), "--json", str(results)])
    out, err = capsys.readouterr()

    assert status == 0 and "check failed" not in err and "Not shipped" not in err
    saved = json.loads(results.read_text())
    assert saved["shipped"] == str(ship_dir / "shufflenet_v2_x0_5.pt")
    assert f"Shipped {ship_dir / 'shufflenet_v2_x0_5.pt'} (" in out
    entry = json.loads((ship_dir / "manifest.json").read_text())["shufflenet_v2_x0_5.pt"]
    assert (entry["test_accuracy"], entry["sample_accuracy"], entry["epochs"]) == (
        saved["test_accuracy"],
        saved["sample_accuracy"],
        1,
    )
    assert entry["train_seconds"] == pytest.approx(saved["train_seconds"])
    assert entry["recipe"].startswith("epochs 1, batch_size 512, optimizer sgd, momentum 0.9, lr 0.2,")
    assert entry["test_accuracy_flip_tta"] == saved["test_accuracy_flip_tta"]
    assert (
        entry["command"]
        == f"python benchmarks/cifar10_speedrun.py {' '.join(argv)} --ship --ship-dir {ship_dir} "
        f"--json {results}"
    )
    assert (entry["floor"], entry["meets_floor"]) == (0.85, False)  # one epoch on 200 images
    assert "BELOW its floor of 85%" in out
    assert entry["history"]["val_acc"] == saved["history"]["val_acc"]
    model = load_pretrained_cifar10("shufflenet_v2_x0_5", device="cpu", folder=ship_dir)
    assert model.class_names == CIFAR10_CLASSES


def test_milestone_time_is_the_training_time_up_to_the_first_epoch_that_reached_it():
    history = History(epoch_time=[10.0, 12.0, 11.0, 9.0], val_acc=[0.70, 0.86, 0.84, 0.935])
    assert SPEEDRUN["milestone_times"](history) == {
        80.0: (22.0, 2),
        85.0: (22.0, 2),
        90.0: (42.0, 4),
        93.0: (42.0, 4),
    }


def test_weights_rounded_to_half_compute_what_the_shipped_checkpoint_computes(tmp_path):
    from lightnets_course.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = get_model("shufflenet_v2_x0_5", num_classes=10, cifar=True).eval()
    images = torch.randn(4, 3, 32, 32)
    before = model(images)
    round_to_half(model)
    rounded = model(images)
    save_checkpoint(tmp_path / "half.pt", model, half=True)
    assert not torch.equal(rounded, before)
    assert torch.equal(load_model(tmp_path / "half.pt", device="cpu")(images), rounded)


def test_speedrun_argument_and_data_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        SPEEDRUN["main"](["--epochs", "3", "--minutes", "1"])
    assert "give --epochs or --minutes, not both" in capsys.readouterr().err
    assert SPEEDRUN["main"](["--data-root", str(tmp_path), "--device", "cpu"]) == 2
    assert f"cifar10_speedrun: CIFAR-10 is not in {tmp_path}" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# train_throughput.py


def test_throughput_fast_times_both_loops_over_the_same_steps_and_prints_the_ratio(tmp_path, capsys):
    results = tmp_path / "throughput.json"
    assert THROUGHPUT["main"](["--model", "shufflenet_v2_x0_5", "--fast", "--json", str(results)]) == 0
    out = capsys.readouterr().out
    seeds, course = json.loads(results.read_text())["tables"]["throughput"]["rows"]
    assert (seeds["loop"], course["loop"]) == ("seeds' loop", "course: fit")
    assert seeds["steps"] == course["steps"] == 2
    for row in (seeds, course):
        assert row["images/s"] == pytest.approx(row["steps"] * row["batch"] / row["seconds"], rel=0.02)
    assert course["vs seeds"] == round(course["images/s"] / seeds["images/s"], 2)
    assert (
        "| model | loop | data | precision | batch | steps | seconds | images/s | range | vs seeds |" in out
    )
    assert "| shufflenet_v2_x0_5 | course: fit | uint8 on cpu, batched crop+flip | float32 | 32 | 2 |" in out
    assert "Load average before" in out


def test_throughput_names_a_missing_image_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="--images .*no such folder"):
        THROUGHPUT["main"](["--fast", "--images", str(tmp_path / "nowhere")])


def test_the_stability_check_reads_a_direction_from_every_kind_of_verdict():
    # scripts/check_stable_conclusions.py flags a comparison whose runs name opposite directions.
    direction = runpy.run_path(str(BENCHMARKS.parent / "scripts" / "check_stable_conclusions.py"))[
        "_direction"
    ]
    assert direction("1:2: here 0.91x, paper 0.96x: same direction (noise +-3%)") == "same direction"
    assert direction("1:6: here 1.10x, paper 0.91x: opposite direction (noise +-2%)") == "opposite direction"
    assert (
        direction("merged is 1.73x faster than three operations here (rounds 1.71-1.85x, noise +-9%)")
        == "merged"
    )
    assert (
        direction(
            "merged vs three operations: 1.02x (rounds 0.97-1.05x, noise +-4%): no clear difference here"
        )
        is None
    )
    assert direction("on this machine MACs rank the latency better than mem_access") == "on this machine MACs"
    assert (
        direction("on this machine mem_access ranks the latency better than MACs")
        == "on this machine mem_access"
    )
    assert (
        direction("MACs and mem_access: no clear difference here in how well they rank the latency") is None
    )
