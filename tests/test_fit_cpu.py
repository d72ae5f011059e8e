"""Tests of what makes ``fit`` right and fast on a CPU: BatchNorm statistics that match the weights, a
measured layout and precision, and a time budget (with a fake clock, so the tests take no real time)."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from lightnets_course import device as device_module
from lightnets_course import planning as planning_module
from lightnets_course import train as train_module
from lightnets_course.averaging import recompute_batchnorm
from lightnets_course.data import DeviceLoader, cifar10_sample
from lightnets_course.device import Setup, fastest_setup, pick_fastest
from lightnets_course.planning import plan_epochs
from lightnets_course.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def tiny_cnn(bn_momentum: float = 0.1) -> nn.Module:
    layers: list[nn.Module] = []
    for c_in, c_out in ((3, 16), (16, 32), (32, 64)):
        layers += [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out, momentum=bn_momentum),
        ]
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 10))


@pytest.fixture(scope="module")
def loaders():
    train, val = cifar10_sample().split(0.2, seed=0)
    return DeviceLoader(train, 64, train=True, device="cpu"), DeviceLoader(val, 100, device="cpu")


@pytest.fixture(scope="module")
def small_loaders():
    train, val = cifar10_sample().split(0.2, seed=0)
    _, train = train.split(0.2, seed=0)
    _, val = val.split(0.3, seed=0)
    return DeviceLoader(train, 32, train=True, device="cpu"), DeviceLoader(val, 64, device="cpu")


# ---------------------------------------------------------------------------------------------------
# BatchNorm statistics


def test_stale_batchnorm_statistics_cost_accuracy_and_precise_bn_recovers_it(loaders):
    # MobileNetV3's BatchNorm momentum (0.01): after 24 fast-moving steps the running statistics still
    # describe the first weights, and evaluation mode normalises with the wrong numbers.
    results = {}
    for precise_bn in (0, 20):
        torch.manual_seed(0)
        model = tiny_cnn(bn_momentum=0.01)
        results[precise_bn] = fit(model, *loaders, 2, lr=0.2, precise_bn=precise_bn, progress=False)
    stale, precise = results[0], results[20]
    assert stale.train_loss == precise.train_loss  # the training itself is the same ...
    assert precise.val_loss[-1] < stale.val_loss[-1] - 0.15  # ... only the statistics differ
    assert precise.val_acc[-1] > stale.val_acc[-1] + 0.05


def test_recompute_batchnorm_averages_training_batches_and_restores_the_model(loaders):
    torch.manual_seed(0)
    model = tiny_cnn(bn_momentum=0.01).train()
    train, _ = loaders
    momenta = [m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert recompute_batchnorm(model, train, batches=3) == 3
    assert model.training and momenta == [
        m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)
    ]
    # The first layer's statistics are now the plain average over the 3 batches' means.
    first_conv, first_bn = model[0], model[1]
    with torch.no_grad():
        means = [first_conv(images).mean(dim=(0, 2, 3)) for images, _ in itertools.islice(train, 3)]
    torch.testing.assert_close(first_bn.running_mean, torch.stack(means).mean(0), rtol=1e-4, atol=1e-5)
    assert first_bn.num_batches_tracked == 3


def test_recompute_batchnorm_leaves_frozen_layers_and_models_without_batchnorm_alone(loaders):
    train, _ = loaders
    model = tiny_cnn()
    frozen = model[1]
    frozen.requires_grad_(False)
    before = frozen.running_mean.clone()
    recompute_batchnorm(model, train, batches=2)
    assert torch.equal(frozen.running_mean, before)
    assert recompute_batchnorm(nn.Sequential(nn.Flatten(), nn.Linear(3072, 10)), train) == 0


# ---------------------------------------------------------------------------------------------------
# Layout and precision


def measured(name: str, channels_last: bool, dtype, seconds: float) -> Setup:
    return Setup(channels_last, dtype, step_seconds=seconds, eval_seconds=seconds / 3, reason=name)


def test_a_setup_other_than_the_plain_one_must_be_clearly_faster():
    plain = measured("plain", False, None, 1.00)
    slightly = measured("cl", True, None, 0.97)  # 1.03x: within the noise of a few timed steps
    assert pick_fastest([plain, slightly]) is plain
    assert "nothing else was 1.05x faster" in plain.reason
    clearly = measured("cl", True, None, 0.70)  # 1.43x, as MobileNetV1 on the course's CPU
    bf16 = measured("bf16", False, torch.bfloat16, 0.80)
    assert pick_fastest([plain, clearly, bf16]) is clearly
    assert clearly.reason.startswith("measured 1.43x faster than contiguous, float32")


def test_fastest_setup_times_copies_and_touches_neither_the_model_nor_the_random_state():
    torch.manual_seed(0)
    model = tiny_cnn()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    images, labels = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    state = torch.get_rng_state()
    setup = fastest_setup(model, images, labels, repeats=2, warmup=1)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    assert setup.step_seconds > 0 and setup.eval_seconds > 0 and setup.reason.startswith("measured")
    asked = fastest_setup(model, images, labels, channels_last=False, amp=False, repeats=1, warmup=0)
    assert asked.name == "contiguous, float32" and asked.reason == "the one asked for"
    short = fastest_setup(model, images, labels, measure=False)
    assert short.step_seconds is None and short.name == "contiguous, float32"


@pytest.mark.parametrize("faster_layout", [True, False])
def test_fit_on_the_cpu_trains_with_the_setup_it_measured_as_fastest(
    small_loaders, tmp_path, monkeypatch, capsys, faster_layout
):
    def timed(candidates, *args):  # stands in for the timing: one layout "runs" twice as fast
        for setup in candidates:
            seconds = 0.5 if setup.channels_last == faster_layout else 1.0
            setup.step_seconds, setup.eval_seconds = seconds, seconds / 3

    monkeypatch.setattr(device_module, "_time_steps", timed)
    monkeypatch.setattr(planning_module, "MIN_STEPS_TO_MEASURE", 1)  # the tiny run counts as long
    fit(tiny_cnn(), *small_loaders, 1, schedule="constant", checkpoint_dir=tmp_path)  # layout left open
    run = torch.load(tmp_path / "last.pt", weights_only=True)["run"]
    assert run["channels_last"] is faster_layout
    layout = "channels_last" if faster_layout else "contiguous"
    assert f"Training setup: {layout}" in capsys.readouterr().out


def test_fit_stores_the_setup_and_a_resumed_run_keeps_it(small_loaders, tmp_path):
    options = {"schedule": "constant", "checkpoint_dir": tmp_path, "progress": False}
    fit(tiny_cnn(), *small_loaders, 1, channels_last=True, amp=False, **options)
    run = torch.load(tmp_path / "last.pt", weights_only=True)["run"]
    assert run["channels_last"] is True and run["autocast_dtype"] is None
    model = tiny_cnn()
    fit(model, *small_loaders, 2, resume=True, **options)  # no setup given
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)


# ---------------------------------------------------------------------------------------------------
# Time budget


def test_plan_epochs_fits_whole_epochs_and_explains_a_budget_that_is_too_short():
    assert plan_epochs(600, 50) == 11  # 95% of 600 s
    assert plan_epochs(600, 50, spent=30) == 10
    assert plan_epochs(600, 50, max_epochs=4) == 4
    with pytest.raises(ValueError, match=r"too short for one epoch.*about 50s; give budget >= 53"):
        plan_epochs(40, 50)


@pytest.fixture
def fake_clock(monkeypatch):
    """Every reading of the clock is half a second after the previous one."""
    ticks = itertools.count(0.0, 0.5)

    def clock() -> float:
        return next(ticks)

    monkeypatch.setattr(device_module, "clock", clock)
    monkeypatch.setattr(planning_module, "clock", clock)
    monkeypatch.setattr(train_module, "clock", clock)


def test_a_budget_chooses_the_epochs_from_timed_steps_and_says_so(small_loaders, fake_clock, capsys):
    # 5 training steps and 1 validation step per epoch, BatchNorm on the 5 training batches; every timed
    # step "takes" 0.5 s, so an epoch is 5 x 0.5 + (1 + 5) x 0.5 = 5.5 s. Measuring reads the clock
    # 2 + 7 x 3 = 23 times: 11 s of the 60 s budget; 95% of the 49 s left is 8 epochs of 5.5 s.
    history = fit(tiny_cnn(), *small_loaders, budget=60, channels_last=False, amp=False)
    assert history.epochs == 8
    printed = capsys.readouterr().out
    assert (
        "Time budget 60 s: one epoch takes about 6 s here (5 steps of 500 ms, measured), so 8 epochs"
        in printed
    )
    capped = fit(tiny_cnn(), *small_loaders, 3, budget=60, channels_last=False, amp=False, progress=False)
    assert capped.epochs == 3  # epochs is the most a budget may give
    with pytest.raises(ValueError, match="budget=10s is too short for one epoch"):
        fit(tiny_cnn(), *small_loaders, budget=10, channels_last=False, amp=False, progress=False)
