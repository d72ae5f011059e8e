"""Deployment (notebook 08): ONNX export equal to PyTorch, int8 within a stated tolerance, ONNX Runtime
timing with the course's method, and the messages a learner gets for a model that cannot be exported,
a file that is not a course checkpoint, or a missing ONNX Runtime."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

from lightnets_course import cli, deploy
from lightnets_course.checkpoint import save_checkpoint
from lightnets_course.data import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    cifar10_calibration,
    cifar10_sample,
)
from lightnets_course.guidelines import guideline
from lightnets_course.models import get_model
from lightnets_course.shipped import has_pretrained_cifar10, list_pretrained_cifar10, load_pretrained_cifar10
from lightnets_course.timing import measure

pytest.importorskip("onnxruntime", reason="the [deploy] extra is not installed (make test installs it)")

# int8 may cost accuracy; on the 1,000-image sample a shipped network may lose at most this much.
INT8_TOLERANCE = 0.03


def small_network() -> nn.Module:
    """A tiny CIFAR-sized network with the layers the course's models use (depthwise, BatchNorm, SE-free)."""
    torch.manual_seed(0)
    network = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )
    network.image_size = 32
    return network.eval()


def test_measure_warms_up_then_times_at_least_repeats_runs():
    calls = []
    times = measure(calls.append, ["a", "b"], warmup=3, repeats=4, min_seconds=0.0)
    assert len(times) == 4 and calls == ["a", "b", "a", "a", "b", "a", "b"]


def test_export_computes_what_pytorch_computes_at_any_batch_size(tmp_path, one_thread):
    network = small_network()
    path = deploy.export_onnx(network, tmp_path / "small.onnx")
    session = deploy.onnx_session(path)
    for batch in (1, 7):
        images = torch.randn(batch, 3, 32, 32)
        check = deploy.check_export(network, session, images)
        assert check.max_abs_diff < 1e-4 and check.agreement == 1.0 and check.images == batch
    assert not network.training  # the model itself is left as it was


def test_a_model_that_cannot_be_exported_gets_a_message_that_says_why(tmp_path, one_thread):
    class ValueDependent(nn.Module):
        def forward(self, x):
            if x.mean().item() > 0:  # Python control flow on a tensor's value
                return x * 2
            return x

    with pytest.raises(
        deploy.ExportError, match=r"ValueDependent could not be exported to ONNX: .*torch\.where"
    ):
        deploy.export_onnx(ValueDependent(), tmp_path / "bad.onnx", input_size=(3, 8, 8))


def test_a_model_without_an_image_size_asks_for_one(tmp_path):
    with pytest.raises(ValueError, match=r"pass input_size, e\.g\. export_onnx\(model, path, input_size="):
        deploy.export_onnx(nn.Conv2d(3, 3, 1), tmp_path / "x.onnx")


def test_a_missing_onnxruntime_names_the_install_command(monkeypatch, tmp_path):
    real_import = importlib.import_module

    def without_onnxruntime(name, *args):
        if name.startswith("onnxruntime"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args)

    monkeypatch.setattr(deploy.importlib, "import_module", without_onnxruntime)
    with pytest.raises(
        deploy.MissingDeployPackage,
        match=r"onnxruntime is not installed.*pip install onnx onnxruntime onnxscript",
    ):
        deploy.onnx_session(tmp_path / "any.onnx")


def test_the_cli_says_what_to_install_when_the_deploy_packages_are_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(deploy, "deploy_packages_missing", lambda: ["onnxruntime"])
    status = cli.main(["export", "--checkpoint", str(tmp_path / "any.pt")])
    assert status == 2
    assert "lightnets export needs onnxruntime" in capsys.readouterr().err
    assert "pip install onnx onnxruntime onnxscript" in deploy.INSTALL_DEPLOY


def test_the_cli_refuses_a_file_that_is_not_a_course_checkpoint(tmp_path, capsys):
    path = tmp_path / "weights.pt"
    torch.save(small_network().state_dict(), path)  # a bare state dict, not a course checkpoint
    assert cli.main(["export", "--checkpoint", str(path)]) == 2
    error = capsys.readouterr().err
    assert "lightnets export: error:" in error and "Traceback" not in error
    assert not (tmp_path / "weights.onnx").exists()


def test_the_cli_exports_a_checkpoint_and_its_int8_version(tmp_path, capsys, one_thread, monkeypatch):
    model = get_model("shufflenet_v2_x0_5", num_classes=10, cifar=True).eval()
    checkpoint = save_checkpoint(
        tmp_path / "run" / "best.pt", model, class_names=CIFAR10_CLASSES, mean=CIFAR10_MEAN, std=CIFAR10_STD,
        image_size=32,
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", "--checkpoint", str(checkpoint), "--int8", "--calibration-images", "64"]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "best.onnx").is_file() and (tmp_path / "best.int8.onnx").is_file()
    assert "ONNX Runtime against PyTorch on 64 images" in printed
    assert "int8, one scale per output channel, calibrated on 64 training images" in printed


def test_int8_needs_training_images_for_a_model_not_trained_on_cifar10(tmp_path, capsys, one_thread):
    model = get_model("shufflenet_v2_x0_5", num_classes=3, cifar=True).eval()
    checkpoint = save_checkpoint(tmp_path / "m.pt", model, class_names=["a", "b", "c"], image_size=32)
    status = cli.main(
        ["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "m.onnx"), "--int8"]
    )
    assert status == 2
    assert "--int8 needs --calibration DATA" in capsys.readouterr().err


@pytest.mark.skipif(
    not has_pretrained_cifar10("shufflenet_v2_x0_5"), reason="the shipped ShuffleNetV2 checkpoint is absent"
)
def test_int8_keeps_a_shipped_networks_accuracy_within_the_tolerance(tmp_path, one_thread):
    model = load_pretrained_cifar10("shufflenet_v2_x0_5", "cpu")
    sample = cifar10_sample()
    path = deploy.export_onnx(model, tmp_path / "f32.onnx")
    float_accuracy = deploy.onnx_accuracy(deploy.onnx_session(path), sample, model)
    assert float_accuracy == pytest.approx(
        list_pretrained_cifar10()["shufflenet_v2_x0_5"]["sample_accuracy"], abs=0.002
    )
    int8 = deploy.quantize_int8(path, tmp_path / "int8.onnx", cifar10_calibration(), model=model)
    int8_accuracy = deploy.onnx_accuracy(deploy.onnx_session(int8), sample, model)
    assert int8_accuracy >= float_accuracy - INT8_TOLERANCE
    assert int8.stat().st_size < 0.5 * path.stat().st_size  # 8-bit weights instead of 32-bit


def test_calibration_images_come_from_the_training_split_not_the_sample():
    calibration, sample = cifar10_calibration(), cifar10_sample()
    assert len(calibration) == 500 and calibration.labels.bincount().tolist() == [50] * 10
    sample_pixels = {bytes(image.numpy()) for image in sample.images}
    assert not any(bytes(image.numpy()) in sample_pixels for image in calibration.images)


def test_folded_weight_ranges_measure_the_spread_per_channel():
    conv = nn.Conv2d(4, 4, 3, groups=4, bias=False)
    norm = nn.BatchNorm2d(4).eval()
    with torch.no_grad():
        conv.weight.fill_(1.0)
        norm.weight.copy_(torch.tensor([1.0, 1.0, 1.0, 8.0]))  # one channel scaled 8x by BatchNorm
    (row,) = deploy.folded_weight_ranges(nn.Sequential(conv, norm)).rows
    assert row["kind"] == "depthwise" and row["range_ratio"] == pytest.approx(8.0)
    assert row["levels_narrowest"] == pytest.approx(255 / 8)
    # Weights all equal within a channel: per channel they are exact; per tensor the step is 8/127 and
    # a weight of 1 becomes round(1 / (8/127)) * 8/127 = 16 * 8/127, off by 0.8%.
    assert row["error_per_channel"] == pytest.approx(0.0, abs=1e-6)
    assert row["error_per_tensor"] == pytest.approx(abs(16 * 8 / 127 - 1), rel=1e-4)


def test_compare_runtimes_times_every_variant_in_rounds(tmp_path, one_thread):
    network = small_network()
    path = deploy.export_onnx(network, tmp_path / "small.onnx")
    options = {"warmup": 1, "repeats": 3, "min_seconds": 0.0}
    table = deploy.compare_runtimes({"small": {"eager": network, "onnx": path}}, rounds=2, **options)
    assert [(row["model"], row["variant"], row["runtime"], row["dtype"]) for row in table.rows] == [
        ("small", "eager", "pytorch", "float32"),
        ("small", "onnx", "onnxruntime", "float32"),
    ]
    assert all(
        len(row["round_ms"]) == 2 and row["latency_ms"] > 0 and row["noise"] >= 0 for row in table.rows
    )
    comparison = deploy.speedup(table, ("small", "eager"), ("small", "onnx"))
    assert len(comparison.ratios) == 2 and "onnx" in comparison.verdict()
    assert comparison.names == ("eager", "onnx")
    with pytest.raises(ValueError, match=r"no row \('small', 'tflite'\) at threads=1"):
        deploy.speedup(table, ("small", "eager"), ("small", "tflite"))


def test_guidelines_run_on_onnx_runtime(one_thread):
    table = guideline("G1", runtime="onnxruntime", size=8, blocks=2, warmup=1, repeats=3, min_seconds=0.0)
    assert "ONNX Runtime" in table.title and len(table.rows) == 4
    assert all(row["speed"] > 0 for row in table.rows)
    with pytest.raises(ValueError, match="runtime must be 'pytorch' or 'onnxruntime'"):
        guideline("G1", runtime="tflite")


def test_the_deployment_explorer_times_the_chosen_runtime(tmp_path, one_thread):
    import matplotlib

    matplotlib.use("Agg")
    from lightnets_course.widgets import deployment_explorer

    network = small_network()
    path = deploy.export_onnx(network, tmp_path / "small.onnx")
    explorer = deployment_explorer({"small": {"eager": network, "onnx": path}}, max_threads=2)
    assert explorer.result.runtime == "pytorch"
    explorer.children[1].value = "onnx"  # the runtime drop-down
    explorer.update()
    assert explorer.result.runtime == "onnxruntime" and explorer.result.threads == 1


@pytest.mark.skipif(
    not has_pretrained_cifar10("shufflenet_v2_x0_5"), reason="the shipped ShuffleNetV2 checkpoint is absent"
)
def test_the_deployment_benchmark_records_accuracy_size_and_latency(tmp_path, capsys, one_thread):
    import json
    import runpy
    from pathlib import Path

    script = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "deploy_runtimes.py"))
    argv = ["--fast", "--models", "shufflenet_v2_x0_5", "--threads", "1", "--no-guidelines"]
    assert script["main"]([*argv, "--json", str(tmp_path / "deploy.json")]) == 0
    printed = capsys.readouterr().out
    assert "Command: `python benchmarks/deploy_runtimes.py --fast" in printed
    rows = json.loads((tmp_path / "deploy.json").read_text())["tables"]["threads_1"]["rows"]
    assert [row["variant"] for row in rows] == [
        "PyTorch eager", "ORT float32", "ORT int8 per tensor", "ORT int8 per channel"
    ]  # fmt: skip
    shipped = list_pretrained_cifar10()["shufflenet_v2_x0_5"]["sample_accuracy"]
    assert rows[1]["test_acc"] == pytest.approx(100 * shipped, abs=0.2)  # the sample, in fast mode
    assert all(row["latency_ms"] > 0 for row in rows) and rows[3]["size_kb"] < rows[1]["size_kb"]
