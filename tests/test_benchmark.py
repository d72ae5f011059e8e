"""Timing mechanics and ShuffleNetV2's guideline experiments (G1-G4).

Whether an effect shows on this machine is measured and reported, never asserted: these tests check
that the experiments are built as the paper describes (equal MACs, the paper's memory access formulas,
its numbers beside ours) and that the timing is honest (random inputs, eval mode restored, clear errors).
"""

from __future__ import annotations

import json
import math
import time

import matplotlib
import matplotlib.container
import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from lightnets_course import benchmark, charts
from lightnets_course import timing as timing_module
from lightnets_course.benchmark import (
    g1_network,
    g2_network,
    g3_network,
    g4_network,
    guideline,
    latency,
    latency_table,
    machine_info,
    throughput,
    to_markdown,
)
from lightnets_course.complexity import profile

matplotlib.use("Agg")

# Fast mode, on small networks: quick, and enough for what these tests check (not the speeds).
FAST = {"fast": True, "device": "cpu", "size": 14, "blocks": 2}
GUIDELINE_COLUMNS = [
    "config",
    "channels",
    "macs",
    "mem_access",
    "speed",
    "speed_p10",
    "speed_p90",
    "paper",
    "speed_vs_first",
    "paper_vs_first",
    "rounds_vs_first",
    "noise",
]
# The paper's own channel choices keep MACs equal only to within about 5% (e.g. 36 x 432 = 15,552 vs
# 128 x 128 = 16,384 in Table 1).
PAPER_ROUNDING = 0.06


@pytest.fixture(scope="module")
def fast_tables():
    return {name: guideline(name, **FAST) for name in ("G1", "G2", "G3", "G4")}


class Spy(nn.Module):
    """A 1x1 convolution that records what it was run on."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        self.inputs: list[torch.Tensor] = []
        self.seen_training: list[bool] = []
        self.seen_grad: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.clone())
        self.seen_training.append(self.training)
        self.seen_grad.append(torch.is_grad_enabled())
        return self.conv(x)


# --------------------------------------------------------------------------------------------------
# The memory access formulas of the paper (Section 2, Eq. 1-2)


def one_by_one_mem_access(hw: int, c1: int, c2: int, groups: int = 1) -> int:
    return hw * (c1 + c2) + c1 * c2 // groups


def test_g1_equal_width_conv_has_the_papers_memory_access():
    network = g1_network(128, 128, blocks=1)
    cost = profile(network, (128, 56, 56))
    assert one_by_one_mem_access(3136, 128, 128) == 819_200
    assert cost.mem_access == 2 * 819_200
    assert cost.macs == 2 * 3136 * 128 * 128


def test_g1_rows_follow_the_formula_and_keep_macs_constant(fast_tables):
    table = fast_tables["G1"]
    hw, blocks = 14 * 14, 2
    pairs = [(32, 32), (22, 44), (13, 78), (9, 108)]
    assert [row["channels"] for row in table.rows] == [f"c1={c1}, c2={c2}" for c1, c2 in pairs]
    for row, (c1, c2) in zip(table.rows, pairs):
        per_block = one_by_one_mem_access(hw, c1, c2) + one_by_one_mem_access(hw, c2, c1)
        assert row["mem_access"] == blocks * per_block
        assert row["macs"] == blocks * 2 * hw * c1 * c2
    first = table.rows[0]["macs"]
    assert all(abs(row["macs"] / first - 1) <= PAPER_ROUNDING for row in table.rows)
    # G1's point: equal MACs, and memory access grows as the widths drift apart.
    mem = [row["mem_access"] for row in table.rows]
    assert mem == sorted(mem) and mem[0] < mem[-1]


def test_g2_rows_follow_the_group_conv_formula(fast_tables):
    table = fast_tables["G2"]
    hw, blocks = 14 * 14, 2
    widths = {1: 64, 2: 90, 4: 128, 8: 184}
    assert [row["config"] for row in table.rows] == ["g=1", "g=2", "g=4", "g=8"]
    for row, (groups, c) in zip(table.rows, widths.items()):
        assert row["mem_access"] == blocks * one_by_one_mem_access(hw, c, c, groups)
    first = table.rows[0]["macs"]
    assert all(abs(row["macs"] / first - 1) <= PAPER_ROUNDING for row in table.rows)


def test_g2_convolutions_match_eq_2_at_the_papers_size():
    # At 56x56 Table 2's 128 channels in 1 group cost what Table 1's 1:1 convolution costs.
    cost = profile(g2_network(128, 1, blocks=1), (128, 56, 56))
    assert cost.mem_access == 819_200
    grouped = profile(g2_network(360, 8, blocks=1), (360, 56, 56))
    assert grouped.mem_access == 3136 * 720 + 360 * 360 // 8


def test_g3_structures_keep_macs_and_fragment_the_block(fast_tables):
    table = fast_tables["G3"]
    assert [row["config"] for row in table.rows] == list(benchmark.G3_STRUCTURES)
    first = table.rows[0]["macs"]
    assert all(abs(row["macs"] / first - 1) <= 0.02 for row in table.rows)
    assert benchmark.g3_series_width(128, 2) == 91 and benchmark.g3_series_width(128, 4) == 64
    # Parallel fragments are exactly as costly as one convolution, in 4 kernels instead of 1.
    one = g3_network("1-fragment", 64, blocks=1)
    four = g3_network("4-fragment-parallel", 64, blocks=1)
    assert profile(one, (64, 14, 14)).macs == profile(four, (64, 14, 14)).macs
    assert len(profile(four, (64, 14, 14)).layers) == 4
    assert four(torch.randn(1, 64, 14, 14)).shape == (1, 64, 14, 14)


def test_g4_switches_change_only_element_wise_operations(fast_tables):
    table = fast_tables["G4"]
    assert [row["config"] for row in table.rows] == [
        "ReLU, shortcut",
        "ReLU, no shortcut",
        "no ReLU, shortcut",
        "no ReLU, no shortcut",
    ]
    assert len({row["macs"] for row in table.rows}) == 1
    x = torch.randn(1, 32, 8, 8)
    plain = g4_network(32, relu=False, shortcut=False, blocks=2).eval()
    with torch.no_grad():
        # Without ReLU and shortcut the stack is linear; with ReLU it is not.
        torch.testing.assert_close(plain(2 * x), 2 * plain(x))
        with_relu = g4_network(32, relu=True, shortcut=False, blocks=2).eval()
        assert (with_relu(x) >= 0).all()
        residual = g4_network(32, relu=False, shortcut=True, blocks=1).eval()
        body = residual[0].body
        torch.testing.assert_close(residual(x), body(x) + x)


def test_tables_have_the_papers_numbers_beside_ours(fast_tables):
    expected_rows = {"G1": 4, "G2": 4, "G3": 5, "G4": 4}
    first_paper = {"G1": 76.2, "G2": 40.0, "G3": 40.2, "G4": 56.7}
    for name, table in fast_tables.items():
        assert table.columns == GUIDELINE_COLUMNS
        assert len(table.rows) == expected_rows[name]
        assert table.rows[0]["paper"] == first_paper[name]
        assert table.rows[0]["speed_vs_first"] == 1.0 and table.rows[0]["rounds_vs_first"] == [1.0] * 3
        assert all(len(row["rounds_vs_first"]) == 3 and row["noise"] >= 0 for row in table.rows)
        for row in table.rows:
            assert 0 < row["speed_p10"] <= row["speed"] <= row["speed_p90"]
            assert row["paper_vs_first"] == pytest.approx(row["paper"] / table.rows[0]["paper"])
        assert f"ShuffleNetV2 Table {name[1]}" in table.title
        assert "1 thread" in table.title  # the paper's ARM numbers are single-threaded


def test_scale_and_gpu_widths_pick_the_papers_column():
    table = guideline("G1", scale=4, widths="gpu", **FAST)
    assert table.rows[0]["channels"] == "c1=512, c2=512"
    assert [row["paper"] for row in table.rows] == [232, 206, 189, 163]
    assert "batches/s" in table.title and "GTX 1080Ti" in table.title


def test_g2_widths_follow_the_paper_except_where_groups_cannot_split_them(fast_tables):
    assert [row["channels"] for row in guideline("G2", scale=2, **FAST).rows] == [
        "c=128",
        "c=180",
        "c=256",
        "c=360",
    ]
    # 180 channels (Table 2, ARM, x1) cannot be split into 8 groups: the next width that can.
    assert fast_tables["G2"].rows[-1]["channels"] == "c=184"


def test_scale_doubles_the_widths():
    table = guideline("G4", scale=2, **FAST)
    assert table.rows[0]["channels"] == "c=64 (64 -> 16 -> 64)"
    assert [row["paper"] for row in table.rows] == [16.9, 18.8, 18.2, 20.2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "G5"}, r"name must be one of 'G1', 'G2', 'G3', 'G4'; got 'G5'"),
        ({"name": "G1", "scale": 3}, r"scale must be 1, 2 or 4 \(the paper's x1, x2, x4 widths\); got 3"),
        ({"name": "G1", "widths": "arm"}, r"widths must be 'gpu' or 'cpu'"),
    ],
)
def test_guideline_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        guideline(device="cpu", **kwargs)


def test_g2_rejects_groups_that_do_not_divide():
    with pytest.raises(ValueError, match=r"groups=8 must divide channels=180"):
        g2_network(180, 8)


def test_plot_guideline_draws_measured_and_paper_bars(fast_tables):
    figure = charts.plot_guideline(fast_tables["G3"])
    speed_ax, cost_ax = figure.axes[:2]
    assert len(speed_ax.patches) == 2 * 5 and len(cost_ax.patches) == 2 * 5
    bars = [c for c in speed_ax.containers if isinstance(c, matplotlib.container.BarContainer)]
    paper_heights = [bar.get_height() for bar in bars[1]]
    assert paper_heights == pytest.approx([row["paper_vs_first"] for row in fast_tables["G3"].rows])
    assert "G3" in figure._suptitle.get_text()
    plt.close(figure)


# --------------------------------------------------------------------------------------------------
# latency and throughput


def test_latency_reports_sane_numbers_and_restores_train_mode():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a half-frozen model must stay half-frozen
    timing = latency(model, (3, 16, 16), batch_size=2, warmup=1, repeats=5, min_seconds=0, threads=1)
    assert [m.training for m in model.modules()] == [True, True, False, True]
    assert timing.runs == 5 and all(t > 0 for t in timing.times_s)
    assert 0 < timing.p10_ms <= timing.median_ms <= timing.p90_ms
    assert timing.images_per_s == pytest.approx(2 * 1000 / timing.median_ms)
    assert timing.batches_per_s == pytest.approx(1000 / timing.median_ms)
    assert timing.threads == 1 and timing.device == "cpu" and timing.dtype == "float32"
    info = timing.machine
    assert info["cpu"] and info["torch"] == torch.__version__ and info["date"].endswith("UTC")
    assert "ms per batch (median of 5 runs" in str(timing)
    json.dumps(timing.to_dict())  # the summary is plain data


def test_latency_puts_threads_and_cudnn_mode_back():
    threads, cudnn_benchmark = torch.get_num_threads(), torch.backends.cudnn.benchmark
    latency(nn.Conv2d(3, 3, 1), (3, 8, 8), warmup=0, repeats=1, min_seconds=0, threads=1)
    assert torch.get_num_threads() == threads
    assert torch.backends.cudnn.benchmark == cudnn_benchmark


def test_latency_runs_until_min_seconds():
    timing = latency(nn.Conv2d(3, 3, 1), (3, 8, 8), warmup=0, repeats=1, min_seconds=0.05)
    assert sum(timing.times_s) >= 0.05 and timing.runs > 1


def test_latency_feeds_random_inputs_in_inference_mode():
    spy = Spy()
    before = torch.random.get_rng_state()
    latency(spy, (3, 8, 8), batch_size=4, warmup=2, repeats=6, min_seconds=0)
    assert torch.equal(torch.random.get_rng_state(), before)  # notebooks' random state untouched
    assert len(spy.inputs) == 1 + 2 + 6  # the checking run, the warm-up, the timed runs
    for x in spy.inputs:
        assert x.shape == (4, 3, 8, 8)
        assert x.abs().sum() > 0 and 0.5 < x.std() < 1.5  # standard normal, never zeros
    distinct = {tuple(x.flatten()[:4].tolist()) for x in spy.inputs}
    assert len(distinct) == timing_module._INPUT_BATCHES
    assert not any(spy.seen_training) and not any(spy.seen_grad)
    assert spy.training


def test_latency_converts_a_copy_and_leaves_the_model_alone():
    model = nn.Conv2d(3, 4, 3)
    timing = latency(
        model, (3, 16, 16), warmup=0, repeats=2, min_seconds=0, dtype=torch.bfloat16, channels_last=True
    )
    assert timing.dtype == "bfloat16" and timing.channels_last
    assert model.weight.dtype == torch.float32 and model.weight.is_contiguous()


class Sleeper(nn.Module):
    """Waits 20 ms without using the CPU, as when another program holds the core."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.02)
        return self.conv(x)


def test_thread_clock_leaves_out_time_the_model_is_not_running():
    options = {"input_size": (3, 8, 8), "warmup": 0, "repeats": 3, "min_seconds": 0, "threads": 1}
    wall = latency(Sleeper(), **options)
    thread = latency(Sleeper(), clock="thread", **options)
    assert wall.median_ms >= 20
    assert thread.median_ms < 10 and thread.clock == "thread"
    assert "thread clock" in str(thread)


def test_throughput_is_latency_at_a_large_batch():
    timing = throughput(nn.Conv2d(3, 3, 1), (3, 8, 8), warmup=0, repeats=2, min_seconds=0)
    assert timing.batch_size == 64
    assert timing.images_per_s == pytest.approx(64 * timing.batches_per_s)


def test_compile_failure_falls_back_with_a_clear_warning(monkeypatch):
    def no_compiler(*args, **kwargs):
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", no_compiler)
    with pytest.warns(RuntimeWarning, match=r"torch.compile is not available here \(RuntimeError: Dynamo"):
        timing = latency(nn.Conv2d(3, 3, 1), (3, 8, 8), warmup=0, repeats=2, min_seconds=0, compile=True)
    assert timing.compile_mode is None and timing.runs == 2


def test_cuda_is_refused_clearly_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    message = r"device='cuda': CUDA is not available on this machine"
    with pytest.raises(ValueError, match=message):
        latency(nn.Conv2d(3, 3, 1), (3, 8, 8), device="cuda")
    with pytest.raises(ValueError, match=message):
        machine_info("cuda")
    with pytest.raises(ValueError, match=message):
        guideline("G1", device="cuda", fast=True)


def test_each_device_gets_its_own_clock():
    assert timing_module._clock(torch.device("cpu")).__name__ == "wall_clock"  # shared with deploy's timing
    assert timing_module._clock(torch.device("cpu"), "thread").__name__ == "time_thread"
    # CUDA events are made without touching a GPU, so the choice can be checked on any machine.
    assert timing_module._clock(torch.device("cuda")).__name__ == "time_cuda"
    assert timing_module._clock(torch.device("mps")).__name__ == "time_mps"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"device": "gpu"}, ValueError, r"device='gpu' is not a device name; use 'cpu', 'cuda'"),
        ({"device": "meta"}, ValueError, r"device='meta'"),
        ({"cuda_graphs": True}, ValueError, r"cuda_graphs=True needs compile=True"),
        ({"cuda_graphs": True, "compile": True}, ValueError, r"cuda_graphs=True needs device='cuda'"),
        ({"input_size": (1, 3, 8, 8)}, ValueError, r"Leave out the batch dimension"),
        ({"input_size": (4, 8, 8)}, ValueError, r"cannot run on input_size=\(4, 8, 8\)"),
        ({"batch_size": 0}, ValueError, r"batch_size must be a positive whole number, got 0"),
        ({"repeats": 0}, ValueError, r"repeats must be a positive whole number, got 0"),
        ({"min_seconds": -1}, ValueError, r"min_seconds must be a number >= 0; got -1"),
        ({"dtype": "float16"}, TypeError, r"dtype must be a floating-point torch dtype"),
        ({"clock": "cpu"}, ValueError, r"clock must be 'wall' or 'thread'; got 'cpu'"),
        ({"clock": "thread", "threads": 2}, ValueError, r"clock='thread' counts the CPU time of one thread"),
    ],
)
def test_latency_rejects_bad_arguments(kwargs, error, message):
    options = {"input_size": (3, 8, 8), "warmup": 0, "repeats": 1, "min_seconds": 0, **kwargs}
    with pytest.raises(error, match=message):
        latency(nn.Conv2d(3, 3, 1), **options)


def test_latency_wants_a_built_model():
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module \(build it first"):
        latency("mobilenet_v2")


def test_machine_description_names_cpu_threads_and_versions():
    info = machine_info("cpu")
    line = benchmark.describe_machine(info)
    assert info["cpu"] in line and f"torch {torch.__version__}" in line
    assert f"{info['torch_threads']} torch threads" in line
    header = benchmark.report_header("cpu", "python benchmarks/guidelines.py")
    assert header.startswith("Machine: CPU ") and "Command: `python benchmarks/guidelines.py`" in header


# --------------------------------------------------------------------------------------------------
# Whole models


def test_latency_table_and_its_plot():
    models = {
        "small": nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)),
        "wide": nn.Sequential(nn.Conv2d(3, 32, 3), nn.Conv2d(32, 32, 3)),
    }
    table = latency_table(models, (3, 16, 16), batch_sizes=(1, 4), warmup=0, repeats=2, min_seconds=0)
    assert [(row["model"], row["batch_size"]) for row in table.rows] == [
        ("small", 1),
        ("small", 4),
        ("wide", 1),
        ("wide", 4),
    ]
    for row in table.rows:
        assert row["ms_per_image"] == pytest.approx(row["latency_ms"] / row["batch_size"])
        assert row["images_per_s"] == pytest.approx(1000 / row["ms_per_image"])
    assert table.rows[2]["macs"] == 14 * 14 * 32 * 27 + 12 * 12 * 32 * 32 * 9
    figure = charts.plot_latency_vs_macs(table)
    assert [len(c.get_offsets()) for c in figure.axes[0].collections] == [2, 2]
    plt.close(figure)
    with pytest.raises(ValueError, match=r"models is empty"):
        latency_table({})


def test_saved_results_keep_machine_command_and_exact_rows(tmp_path, fast_tables):
    path = benchmark.save_results(
        tmp_path / "results" / "guidelines_cpu.json",
        {"G1 x1": fast_tables["G1"]},
        "cpu",
        "python benchmarks/guidelines.py --fast",
        load_before=[0.5, 0.4, 0.3],
    )
    saved = json.loads(path.read_text())
    assert saved["command"] == "python benchmarks/guidelines.py --fast"
    assert saved["machine"]["device"] == "cpu" and saved["load_before"] == [0.5, 0.4, 0.3]
    assert saved["tables"]["G1 x1"]["rows"] == fast_tables["G1"].rows
    assert saved["tables"]["G1 x1"]["title"] == fast_tables["G1"].title


def test_markdown_shows_every_row_and_the_title(fast_tables):
    text = to_markdown(fast_tables["G2"])
    lines = text.strip().splitlines()
    assert lines[0] == fast_tables["G2"].title
    table_lines = [line for line in lines if line.startswith("|")]
    assert len(table_lines) == 2 + 4
    assert table_lines[0].startswith("| config | channels | macs (M) | mem_access (M) | speed |")
    assert all(line.count("|") == len(GUIDELINE_COLUMNS) + 1 for line in table_lines)
    assert math.isclose(float(table_lines[2].split("|")[8]), 40.0)


# --------------------------------------------------------------------------------------------------
# The command line: `lightnets bench ...`


def test_cli_bench_guidelines_prints_the_machine_and_the_tables(capsys):
    from lightnets_course import cli

    status = cli.main(
        ["bench", "guidelines", "--fast", "--device", "cpu", "--only", "G4", "--scales", "1", "2"]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("CPU ") and "torch threads" in out
    assert out.count("G4: element-wise operations are non-negligible. x") == 2
    assert "no ReLU, no shortcut" in out


def test_cli_bench_models_saves_json(tmp_path, capsys):
    from lightnets_course import cli

    path = tmp_path / "models.json"
    argv = [
        "bench",
        "models",
        "--fast",
        "--device",
        "cpu",
        "--models",
        "mobilenet_v3_small",
        "--json",
        str(path),
    ]
    assert cli.main(argv) == 0
    assert "mobilenet_v3_small" in capsys.readouterr().out
    rows = json.loads(path.read_text())["tables"]["models"]["rows"]
    assert [(row["model"], row["batch_size"]) for row in rows] == [("mobilenet_v3_small", 1)]
    assert rows[0]["macs"] == 56_510_400  # torchvision's published 0.057 GFLOPS, exactly


def test_cli_bench_refuses_cuda_without_a_gpu(monkeypatch, capsys):
    from lightnets_course import cli

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["bench", "models", "--fast", "--device", "cuda"]) == 2
    assert "lightnets bench: error: device='cuda': CUDA is not available" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["guidelines", "--fast", "--only", "G1", "--scales", "1"], "G1 x1"),
        (
            [
                "models",
                "--models",
                "shufflenet_v2_x0_5",
                "--batch-size",
                "1",
                "--input-size",
                "64",
                "--warmup",
                "1",
            ]
            + ["--repeats", "2", "--min-seconds", "0"],
            "models",
        ),
    ],
)
def test_cli_bench_prints_the_run_and_saves_its_tables(args, label, tmp_path, capsys):
    from lightnets_course import cli

    out = tmp_path / "results.json"
    command = ["bench", *args, "--device", "cpu", "--markdown", "--json", str(out)]
    assert cli.main(command) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("CPU ") and "Load average before:" in printed and f"Saved {out}" in printed
    assert "|---" in printed  # Markdown tables
    saved = json.loads(out.read_text())
    assert saved["command"] == "lightnets " + " ".join(command)
    assert {"load_after", "seconds"} <= set(saved)
    assert saved["tables"][label]["rows"]


def test_a_direction_is_claimed_only_beyond_the_noise_in_every_round():
    from lightnets_course.guidelines import guideline_verdicts
    from lightnets_course.table import Table

    def row(config, rounds, paper):
        return {"config": config, "speed_vs_first": sorted(rounds)[1], "paper_vs_first": paper,
                "rounds_vs_first": rounds, "noise": 0.05}  # fmt: skip

    table = Table([
        row("base", [1.0, 1.0, 1.0], 1.0),
        row("slower", [0.80, 0.85, 0.90], 0.7),  # beyond the 5% noise in every round, as in the paper
        row("opposite", [1.2, 1.3, 1.25], 0.7),  # clearly faster here, slower in the paper
        row("unclear", [0.90, 1.02, 0.93], 0.7),  # one round within the noise
    ])  # fmt: skip
    slower, opposite, unclear = guideline_verdicts(table)
    assert slower.endswith("same direction as the paper") and "noise +-5%" in slower
    assert opposite.endswith("opposite direction")
    assert unclear.endswith("no clear difference here")


def test_a_speed_comparison_says_no_clear_difference_within_the_noise():
    from lightnets_course.timing import SpeedComparison

    clear = SpeedComparison(("standard", "separable"), [5.1, 4.8, 5.6], 0.03, 6.0, 1.2)
    assert clear.clear and clear.verdict().startswith("separable is 5.10x faster than standard here")
    unclear = SpeedComparison(("a", "b"), [1.02, 0.99, 1.04], 0.03, 1.0, 1.0)
    assert not unclear.clear and unclear.verdict().endswith("no clear difference here")
