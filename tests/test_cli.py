"""Tests of the ``lightnets`` command, called in-process through ``main([...])``."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import torch

from lightnets_course.checkpoint import load_checkpoint, load_model
from lightnets_course.cli import main, parse_duration
from lightnets_course.data import CIFAR10_CLASSES, get_data
from lightnets_course.evaluate import evaluate
from lightnets_course.models import get_model
from lightnets_course.predict import predict

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "cifar10_sample"


@contextlib.contextmanager
def one_thread():
    # Tiny models: a second thread gains nothing and, on a busy 2-core runner, slows every step down.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One epoch of a small MobileNetV1 on the shipped sample, through the command line."""
    out = tmp_path_factory.mktemp("cli") / "run"
    printed = io.StringIO()
    command = ["train", "--model", "mobilenet_v1", "--width-mult", "0.25", "--cifar", "--data", "sample"]
    command += ["--epochs", "1", "--out", str(out), "--device", "cpu", "--no-progress"]
    with one_thread(), contextlib.redirect_stdout(printed):
        status = main(command)
    return status, out, printed.getvalue()


def test_train_writes_checkpoints_and_says_where(trained_run):
    status, out, printed = trained_run
    assert status == 0
    checkpoint = load_checkpoint(out / "best.pt")
    assert checkpoint["model_config"] == {
        "name": "mobilenet_v1",
        "num_classes": 10,
        "cifar": True,
        "width_mult": 0.25,
        "dropout": get_model("mobilenet_v1").config["dropout"],
    }
    assert checkpoint["class_names"] == CIFAR10_CLASSES and checkpoint["epoch"] == 1
    assert printed.startswith("Trained 1 epoch, best validation accuracy")
    assert f"Checkpoints: {out / 'best.pt'}, {out / 'last.pt'}" in printed


def test_evaluate_prints_the_accuracy_of_the_checkpoint(trained_run, capsys):
    _, out, _ = trained_run
    assert (
        main(["evaluate", "--checkpoint", str(out / "best.pt"), "--data", "sample", "--device", "cpu"]) == 0
    )
    printed = capsys.readouterr().out
    expected = evaluate(load_model(out / "best.pt", device="cpu"), get_data("sample", device="cpu").val)
    assert "on the val split of sample" in printed  # the sample has no test split
    assert f"accuracy {100 * expected.accuracy:.1f}% on 200 images" in printed
    assert all(f"  {name}" in printed for name in CIFAR10_CLASSES)


def test_predict_prints_the_top_classes_of_each_image(trained_run, capsys):
    _, out, _ = trained_run
    images = [str(path) for path in sorted((SAMPLE / "cat").glob("*.jpg"))[:2]]
    assert main(["predict", "--checkpoint", str(out), *images, "--topk", "3", "--device", "cpu"]) == 0
    expected = predict(load_model(out, device="cpu"), images, topk=3)
    assert capsys.readouterr().out.splitlines() == [str(prediction) for prediction in expected]
    assert str(expected[0]).startswith(f"{images[0]}: ") and str(expected[0]).count("%") == 3


def test_profile_prints_the_comparison_table(capsys):
    assert main(["profile", "mobilenet_v2", "shufflenet_v2_x0_5", "--cifar"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Input 3x32x32")
    for name in ("mobilenet_v2", "shufflenet_v2_x0_5"):
        params = sum(p.numel() for p in get_model(name, num_classes=10, cifar=True).parameters())
        row = next(line for line in printed.splitlines() if line.startswith(name))
        assert f"{params:,}" in row


def test_help_explains_with_examples(capsys):
    assert main(["--help"]) == 0
    assert "lightnets train --model mobilenet_v2 --cifar --data cifar10" in capsys.readouterr().out
    assert main(["train", "--help"]) == 0
    printed = capsys.readouterr().out
    assert "examples:" in printed and "--resume" in printed and "--no-progress" in printed


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["profile", "mobilenett_v2"],
            "lightnets profile: error: argument MODEL: invalid choice: 'mobilenett_v2'",
        ),
        (
            ["train", "--model", "resnet50"],
            "lightnets train: error: argument --model: invalid choice: 'resnet50'",
        ),
        (
            ["train", "--model", "mobilenet_v1", "--data", "imagenet"],
            "Unknown dataset 'imagenet': choose one of",
        ),
        (
            ["evaluate", "--checkpoint", "no/such/run.pt", "--data", "sample"],
            "checkpoint 'no/such/run.pt' does not exist",
        ),
        (
            ["predict", "--checkpoint", "no/such/run.pt", "photo.jpg"],
            "checkpoint 'no/such/run.pt' does not exist",
        ),
        (["profile", "alexnet", "--input-size", "0"], "--input-size must be a positive number of pixels"),
        ([], "usage: lightnets"),
    ],
)
def test_bad_input_prints_one_clear_line_and_exits_2(command, message, capsys):
    assert main(command) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    if command:
        assert len(captured.err.strip().splitlines()) == 1


def test_resume_with_another_plan_is_refused(trained_run, capsys):
    _, out, _ = trained_run
    command = ["train", "--model", "mobilenet_v1", "--width-mult", "0.25", "--cifar", "--data", "sample"]
    command += ["--epochs", "2", "--out", str(out), "--device", "cpu", "--resume", "--no-progress"]
    assert main(command) == 2
    assert "was planned for 1 epochs" in capsys.readouterr().err


def test_download_fetches_both_cifar10_splits_and_reports_offline_failures(monkeypatch, tmp_path, capsys):
    from lightnets_course import data

    asked = []

    def fake_cifar10(split, root=None, download=True):
        asked.append((split, root))
        count = 5 if split == "train" else 2
        return data.TensorImages(
            torch.zeros(count, 3, 32, 32, dtype=torch.uint8), torch.zeros(count, dtype=torch.int64), ["a"]
        )

    monkeypatch.setattr(data, "cifar10", fake_cifar10)
    assert main(["download", "cifar10", "--root", str(tmp_path)]) == 0
    assert asked == [("train", str(tmp_path)), ("test", str(tmp_path))]
    assert capsys.readouterr().out == f"CIFAR-10 ready in {tmp_path}: 5 training and 2 test images\n"

    def offline(*args, **kwargs):
        raise data.DownloadError("Could not download cifar-10-python.tar.gz: no connection")

    monkeypatch.setattr(data, "cifar10", offline)
    assert main(["download", "cifar10"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "lightnets download: Could not download cifar-10-python.tar.gz: no connection\n"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("20m", 1200), ("1.5h", 5400), (" 600 ", 600)])
def test_a_budget_reads_seconds_minutes_and_hours(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["20 min", "-5", "0", "m", "", "nan"])
def test_a_budget_that_is_not_a_duration_gets_one_line_with_examples(capsys, text):
    assert main(["train", "--model", "mobilenet_v1", "--data", "sample", "--budget", text]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "is not a duration; write e.g. 90s, 20m or 1.5h" in error and "Traceback" not in error


def test_help_shows_each_default_once(capsys):
    assert main(["train", "--help"]) == 0
    printed = capsys.readouterr().out
    options = printed.split("options:")[1]
    entries = [entry for entry in options.split("\n  -") if entry.strip()]
    assert all(entry.count("default") <= 1 for entry in entries), [
        e for e in entries if e.count("default") > 1
    ]
    assert "(default: 20)" in " ".join(options.split())  # --precise-bn: added where the text says none
    assert "--budget TIME" in printed and "--seed" in printed and "--resume" in printed
