"""ShuffleNetV2's four practical guidelines, measured on this machine next to the paper's Tables 1-4.

ShuffleNetV2 (Ma et al., 2018) showed that networks with the same MACs can run at very different
speeds, and gave four guidelines, each checked with a small benchmark network:

- G1: a 1x1 convolution with equal input and output channels needs the least memory access;
- G2: group convolution increases memory access;
- G3: splitting a block into many small fragments reduces parallelism;
- G4: element-wise operations (ReLU, shortcut additions) cost time although they cost no MACs.

``g1_network`` ... ``g4_network`` build the benchmark networks; ``guideline("G1")`` times them with
``timing.latency`` and shows the paper's numbers (``papers.SHUFFLENET_V2_GUIDELINE_TABLES``) beside.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from .complexity import Table, profile
from .deploy import onnxruntime_latency
from .device import pick_device
from .papers import SHUFFLENET_V2_GUIDELINE_SCALES as _SCALES
from .papers import SHUFFLENET_V2_GUIDELINE_TABLES
from .timing import latency, quantile

__all__ = [
    "G3_STRUCTURES",
    "GUIDELINES",
    "Bottleneck",
    "ParallelFragments",
    "g1_network",
    "g2_network",
    "g3_network",
    "g3_series_width",
    "g4_network",
    "guideline",
    "guideline_verdicts",
    "paper_guideline_table",
]


GUIDELINES = {
    "G1": "equal channel width minimizes memory access cost",
    "G2": "excessive group convolution increases memory access cost",
    "G3": "network fragmentation reduces the degree of parallelism",
    "G4": "element-wise operations are non-negligible",
}


def _init_unit_gain(network: nn.Module) -> nn.Module:
    """Weights that keep activations near unit scale through every stacked layer.

    PyTorch's default initialisation shrinks the signal about threefold per layer; after 20 layers
    the values come close to subnormal floats, which many CPUs process far more slowly, and the
    timing would measure that instead of the layer shapes.
    """
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.weight[0].numel()
            nn.init.normal_(module.weight, std=fan_in**-0.5)
    return network


def _conv1x1(c_in: int, c_out: int, groups: int = 1) -> nn.Conv2d:
    # Bias-free, as in the paper's formulas: memory access is input + weights + output.
    return nn.Conv2d(c_in, c_out, kernel_size=1, groups=groups, bias=False)


def g1_network(c1: int, c2: int, blocks: int = 10) -> nn.Sequential:
    """G1's network: ``blocks`` blocks of two 1x1 convolutions, ``c1 -> c2 -> c1`` channels.

    For a fixed number of MACs (``2 * h * w * c1 * c2`` per block), memory access
    ``h*w*(c1 + c2) + c1*c2`` per convolution is smallest when ``c1 == c2``.
    """
    layers = []
    for _ in range(blocks):
        layers += [_conv1x1(c1, c2), _conv1x1(c2, c1)]
    return _init_unit_gain(nn.Sequential(*layers))


def g2_network(channels: int, groups: int, blocks: int = 10) -> nn.Sequential:
    """G2's network: ``blocks`` 1x1 group convolutions, ``channels -> channels`` with ``groups`` groups.

    Each costs ``h * w * channels**2 / groups`` MACs and ``h*w*2*channels + channels**2 / groups``
    memory access: at equal MACs, more groups mean wider feature maps to read and write.
    """
    if channels % groups:
        raise ValueError(f"groups={groups} must divide channels={channels}")
    return _init_unit_gain(nn.Sequential(*[_conv1x1(channels, channels, groups) for _ in range(blocks)]))


class ParallelFragments(nn.Module):
    """``fragments`` 1x1 convolutions side by side, each reading the whole input and making
    ``channels / fragments`` output channels, joined by concatenation (as in an Inception module).

    Together they cost exactly the MACs of one ``channels -> channels`` 1x1 convolution, but as
    several small kernels instead of one large one, and the input is read once per fragment.
    """

    def __init__(self, channels: int, fragments: int) -> None:
        super().__init__()
        if channels % fragments:
            raise ValueError(f"fragments={fragments} must divide channels={channels}")
        self.branches = nn.ModuleList(_conv1x1(channels, channels // fragments) for _ in range(fragments))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


G3_STRUCTURES = (
    "1-fragment",
    "2-fragment-series",
    "4-fragment-series",
    "2-fragment-parallel",
    "4-fragment-parallel",
)


def g3_series_width(channels: int, fragments: int) -> int:
    """Width of each of ``fragments`` 1x1 convolutions in series with the MACs of one at ``channels``.

    ``fragments * w**2 == channels**2`` gives ``w = channels / sqrt(fragments)``, rounded.
    """
    return round(channels / math.sqrt(fragments))


def g3_network(structure: str, channels: int, blocks: int = 10) -> nn.Sequential:
    """G3's network: ``blocks`` blocks, each 1, 2 or 4 1x1 convolutions in series or in parallel.

    ``channels`` is the width of the 1-fragment block; every structure has (close to) its MACs:

    - ``"k-fragment-series"``: k convolutions one after another, each ``w -> w`` with
      ``w = channels / sqrt(k)`` (``g3_series_width``); the network's input has ``w`` channels;
    - ``"k-fragment-parallel"``: k convolutions side by side, each ``channels -> channels / k``,
      concatenated (``ParallelFragments``): exactly the 1-fragment's MACs.

    The paper shows its blocks only as a figure and says the channels were adjusted to keep the
    FLOPs equal; this is the course's construction of that rule, with no element-wise operations,
    so that G4's effect stays out of G3.
    """
    if structure not in G3_STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(G3_STRUCTURES)}; got {structure!r}")
    fragments = int(structure[0])
    if structure.endswith("parallel"):
        stack = [ParallelFragments(channels, fragments) for _ in range(blocks)]
    else:
        width = g3_series_width(channels, fragments)
        stack = [nn.Sequential(*[_conv1x1(width, width) for _ in range(fragments)]) for _ in range(blocks)]
    return _init_unit_gain(nn.Sequential(*stack))


class Bottleneck(nn.Module):
    """ResNet's bottleneck unit without BatchNorm: 1x1 conv ``channels -> channels/4``, 3x3 conv,
    1x1 conv back to ``channels``; ReLUs and the identity shortcut can be switched off (G4).

    ``relu`` puts a ReLU after the first two convolutions and after the addition, as in ResNet.
    """

    def __init__(self, channels: int, relu: bool = True, shortcut: bool = True) -> None:
        super().__init__()
        if channels % 4:
            raise ValueError(f"channels={channels} must be a multiple of 4 (the bottleneck is channels / 4)")
        mid = channels // 4

        def activation() -> nn.Module:
            return nn.ReLU(inplace=True) if relu else nn.Identity()

        self.body = nn.Sequential(
            _conv1x1(channels, mid),
            activation(),
            nn.Conv2d(mid, mid, kernel_size=3, padding=1, bias=False),
            activation(),
            _conv1x1(mid, channels),
        )
        self.shortcut = shortcut
        self.out_activation = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut:
            out = out + x
        return self.out_activation(out)


def g4_network(channels: int, relu: bool = True, shortcut: bool = True, blocks: int = 10) -> nn.Sequential:
    """G4's network: ``blocks`` ResNet bottlenecks (``Bottleneck``) with ``channels`` in and out.

    Switching off the ReLUs or the shortcut removes element-wise operations: no MACs change, yet
    the paper measured about 20% more speed without both.
    """
    return _init_unit_gain(nn.Sequential(*[Bottleneck(channels, relu, shortcut) for _ in range(blocks)]))


@dataclasses.dataclass(frozen=True)
class _Setup:
    """One row of a guideline experiment: how to build its network and what the paper measured."""

    config: str
    channels: str
    in_channels: int
    build: Callable[..., nn.Module]  # called with blocks=
    paper: float


def _setups(name: str, widths: str, scale: int) -> list[_Setup]:
    column = _SCALES.index(scale)
    gpu = widths == "gpu"
    setups = []
    if name == "G1":
        for ratio, gpu_pair, gpu_speed, cpu_pair, cpu_speed in SHUFFLENET_V2_GUIDELINE_TABLES["G1"]:
            c1, c2 = (scale * c for c in (gpu_pair if gpu else cpu_pair))
            paper = (gpu_speed if gpu else cpu_speed)[column]
            setups.append(_Setup(ratio, f"c1={c1}, c2={c2}", c1, partial(g1_network, c1, c2), paper))
    elif name == "G2":
        for groups, gpu_c, gpu_speed, cpu_c, cpu_speed in SHUFFLENET_V2_GUIDELINE_TABLES["G2"]:
            # The paper's 180 channels on ARM cannot be split into 8 groups; the next width that can,
            # 184, keeps the MACs within 4% of the other rows (x2 and x4 need no change).
            c = groups * math.ceil(scale * (gpu_c if gpu else cpu_c) / groups)
            paper = (gpu_speed if gpu else cpu_speed)[column]
            setups.append(_Setup(f"g={groups}", f"c={c}", c, partial(g2_network, c, groups), paper))
    elif name == "G3":
        for structure, gpu_c, gpu_speed, cpu_c, cpu_speed in SHUFFLENET_V2_GUIDELINE_TABLES["G3"]:
            c = scale * (gpu_c if gpu else cpu_c)
            paper = (gpu_speed if gpu else cpu_speed)[column]
            fragments = int(structure[0])
            if structure.endswith("series"):
                in_channels = g3_series_width(c, fragments)
                text = f"c={c}: {fragments} x ({in_channels} -> {in_channels})"
            else:
                in_channels = c
                text = f"c={c}" if fragments == 1 else f"c={c}: {fragments} x ({c} -> {c // fragments})"
            setups.append(_Setup(structure, text, in_channels, partial(g3_network, structure, c), paper))
    else:
        for (relu, shortcut), gpu_c, gpu_speed, cpu_c, cpu_speed in SHUFFLENET_V2_GUIDELINE_TABLES["G4"]:
            c = scale * (gpu_c if gpu else cpu_c)
            paper = (gpu_speed if gpu else cpu_speed)[column]
            config = f"{'ReLU' if relu else 'no ReLU'}, {'shortcut' if shortcut else 'no shortcut'}"
            text = f"c={c} ({c} -> {c // 4} -> {c})"
            setups.append(_Setup(config, text, c, partial(g4_network, c, relu, shortcut), paper))
    return setups


_GUIDELINE_COLUMNS = {"macs": "M", "mem_access": "M"}


_TABLE_NUMBERS = {"G1": 1, "G2": 2, "G3": 3, "G4": 4}


def guideline(
    name: str,
    scale: int = 1,
    device: str | torch.device | None = None,
    *,
    widths: str | None = None,
    fast: bool = False,
    batch_size: int = 1,
    warmup: int | None = None,
    repeats: int | None = None,
    min_seconds: float | None = None,
    threads: int | None = None,
    clock: str = "wall",
    size: int = 56,
    blocks: int = 10,
    runtime: str = "pytorch",
) -> Table:
    """Run one of ShuffleNetV2's guideline experiments on this machine, next to the paper's numbers.

    Args:
        name: ``"G1"``, ``"G2"``, ``"G3"`` or ``"G4"`` (see ``GUIDELINES``).
        scale: 1, 2 or 4, the paper's x1 / x2 / x4 columns: every width times ``scale``.
        device: ``"cpu"``, ``"cuda"`` or ``"mps"``; by default a GPU when there is one.
        widths: ``"gpu"`` or ``"cpu"``: which of the paper's two sets of widths to build, and so which
            of its numbers to compare with (GTX 1080Ti batches/s, or ARM images/s). By default
            ``"gpu"`` on a CUDA device, else ``"cpu"``.
        fast: a quick version for notebooks in fast mode: the paper's 56x56 inputs and 10 blocks, but
            9 timed runs per row instead of 30 (the x1 networks take seconds).
        batch_size: images per run. The paper does not give the batch for Tables 1-4, but its GPU
            speeds only fit batch 1 (at batch 8 its x4 G1 network would need 60 TFLOP/s, five
            times what a GTX 1080Ti can do), so batch 1 is the default on every device; at batch 1
            batches/s and images/s are the same number.
        warmup, repeats, min_seconds: how each row is timed (defaults 10, 30 and 1.0 s; in fast
            mode 2, 9 and 0 s). The rows are timed in three interleaved rounds, each with its own
            warm-up and a third of the runs and seconds, so that a change in the machine's load
            during the experiment affects every row alike; the first row is timed twice a round, and
            the larger disagreement of the two is the ``noise``.
        threads: CPU threads; by default 1 on the CPU, as the paper's single-threaded ARM numbers.
        clock: ``"wall"``, or ``"thread"`` on a CPU shared with other programs (see ``latency``).
        size, blocks: the input's side and the blocks stacked; the paper's 56 and 10 by default.
            Smaller networks run quicker (the tests use them), but small effects drown in their noise.
        runtime: ``"pytorch"`` (eager mode), or ``"onnxruntime"``: every network exported to ONNX once
            and timed in ONNX Runtime on the CPU (``deploy.onnxruntime_latency``), which fuses layers
            and plans memory ahead. Do the guidelines still hold there? (notebook 08)

    Returns a ``Table`` with one row per configuration: ``config``, ``channels``, ``macs`` and
    ``mem_access`` per image (from ``profile``), the measured ``speed`` (median; batches/s with GPU
    widths, images/s with CPU widths) with ``speed_p10`` / ``speed_p90`` (the slowest and fastest
    10% of runs), ``speed_vs_first`` (relative to the first row), and the paper's figure
    ``paper`` with ``paper_vs_first``, ``rounds_vs_first`` (the relative speed in each round) and
    ``noise``. Compare the ``_vs_first`` columns: machines differ, the direction of an effect is what a
    guideline predicts; ``guideline_verdicts(table)`` says where the difference exceeds the noise.
    ``charts.plot_guideline(table)`` draws it.
    """
    key = name.upper() if isinstance(name, str) else name
    if key not in GUIDELINES:
        raise ValueError(f"name must be one of 'G1', 'G2', 'G3', 'G4'; got {name!r}")
    if scale not in _SCALES:
        raise ValueError(f"scale must be 1, 2 or 4 (the paper's x1, x2, x4 widths); got {scale!r}")
    if runtime not in ("pytorch", "onnxruntime"):
        raise ValueError(f"runtime must be 'pytorch' or 'onnxruntime'; got {runtime!r}")
    target = pick_device("cpu" if runtime == "onnxruntime" and device is None else device)
    time_network = latency if runtime == "pytorch" else onnxruntime_latency
    if widths is None:
        widths = "gpu" if target.type == "cuda" else "cpu"
    if widths not in ("gpu", "cpu"):
        raise ValueError(f"widths must be 'gpu' or 'cpu' (the paper's two sets of widths); got {widths!r}")
    # Fast mode keeps the paper's input and depth (small effects drown in the noise of smaller
    # networks) and times fewer runs.
    timing_options = {
        "warmup": warmup if warmup is not None else (2 if fast else 10),
        "repeats": repeats if repeats is not None else (9 if fast else 30),
        "min_seconds": min_seconds if min_seconds is not None else (0.0 if fast else 1.0),
        # One thread on the CPU, as the paper's ARM numbers. It also keeps the timing honest on a busy
        # machine: threads of one operator wait for each other, and one descheduled thread stalls all.
        "threads": threads if threads is not None or target.type != "cpu" else 1,
        "clock": clock,
    }

    setups = _setups(key, widths, scale)
    networks = [setup.build(blocks=blocks) for setup in setups]
    input_sizes = [(setup.in_channels, size, size) for setup in setups]
    # The rows are timed in interleaved rounds, each with its own warm-up: when other programs start
    # or stop during the experiment, every row shares the change instead of one row taking it all.
    # The first row is timed twice a round: how far two timings of the same network disagree is the
    # noise a difference between rows must exceed before the experiment claims it.
    rounds = 3
    round_options = {
        **timing_options,
        "repeats": math.ceil(timing_options["repeats"] / rounds),
        "min_seconds": timing_options["min_seconds"] / rounds,
    }
    times: list[list[float]] = [[] for _ in setups]
    round_medians: list[list[float]] = [[] for _ in setups]
    noise = 0.0
    for _ in range(rounds):
        for index, (network, input_size) in enumerate(zip(networks, input_sizes)):
            timing = time_network(network, input_size, batch_size, target, **round_options)
            times[index] += timing.times_s
            round_medians[index].append(timing.median_ms)
        again = time_network(networks[0], input_sizes[0], batch_size, target, **round_options).median_ms
        noise = max(noise, abs(math.log(again / round_medians[0][-1])))

    # The paper counts batches on the GPU and images on ARM; a run is one batch of batch_size images.
    per_run = 1 if widths == "gpu" else batch_size
    rows = []
    for setup, network, input_size, row_times in zip(setups, networks, input_sizes, times):
        cost = profile(network, input_size)
        ordered = sorted(row_times)
        rows.append(
            {
                "config": setup.config,
                "channels": setup.channels,
                "macs": cost.macs,
                "mem_access": cost.mem_access,
                "speed": per_run / quantile(ordered, 0.5),
                # The slowest 10% of runs set the low end of the speed, the fastest 10% the high end.
                "speed_p10": per_run / quantile(ordered, 0.9),
                "speed_p90": per_run / quantile(ordered, 0.1),
                "paper": setup.paper,
            }
        )
    for row, medians in zip(rows, round_medians):
        row["speed_vs_first"] = row["speed"] / rows[0]["speed"]
        row["paper_vs_first"] = row["paper"] / rows[0]["paper"]
        # Speed relative to the first row, one value per round, and the noise they must exceed.
        row["rounds_vs_first"] = [first / mine for first, mine in zip(round_medians[0], medians)]
        row["noise"] = math.exp(noise) - 1

    unit = "batches/s" if widths == "gpu" else "images/s"
    where = "GTX 1080Ti batches/s" if widths == "gpu" else "ARM Snapdragon 810 images/s"
    threads_text = f", {timing.threads} thread{'s' if timing.threads != 1 else ''}" if timing.threads else ""
    title = (
        f"{key}: {GUIDELINES[key]}. x{scale}, the paper's {widths.upper()} widths; "
        f"speed in {unit} on {target}{' (ONNX Runtime)' if runtime == 'onnxruntime' else ''}{threads_text}{', thread clock' if clock == 'thread' else ''} "
        f"(median of >= {timing_options['repeats']} runs), "
        f"batch {batch_size}, {size}x{size} input, {blocks} blocks{' (fast mode: fewer runs)' if fast else ''}; "
        f"paper: {where} (ShuffleNetV2 Table {_TABLE_NUMBERS[key]}). MACs and mem_access per image."
    )
    return Table(rows, title=title, units=_GUIDELINE_COLUMNS)


def paper_guideline_table(name: str, widths: str = "gpu") -> Table:
    """The paper's own measurements for one guideline, at its x1, x2 and x4 widths, nothing timed here.

    For the platform a machine cannot stand in for: a CPU cannot show what the paper's GTX 1080Ti did
    (``widths="gpu"``, batches/s), and a GPU cannot show its single ARM core (``widths="cpu"``,
    images/s). One row per configuration: ``config``, ``channels`` at x1, the paper's ``speed_x1``, and
    ``x1_vs_first`` / ``x2_vs_first`` / ``x4_vs_first``, each width's speed relative to the first row.
    """
    key = name.upper() if isinstance(name, str) else name
    if key not in GUIDELINES:
        raise ValueError(f"name must be one of 'G1', 'G2', 'G3', 'G4'; got {name!r}")
    if widths not in ("gpu", "cpu"):
        raise ValueError(f"widths must be 'gpu' or 'cpu' (the paper's two sets of widths); got {widths!r}")
    by_scale = {scale: _setups(key, widths, scale) for scale in _SCALES}
    rows = []
    for position, setup in enumerate(by_scale[1]):
        row = {"config": setup.config, "channels": setup.channels, "speed_x1": setup.paper}
        for scale, setups in by_scale.items():
            row[f"x{scale}_vs_first"] = round(setups[position].paper / setups[0].paper, 2)
        rows.append(row)
    platform = "GTX 1080Ti, batches/s" if widths == "gpu" else "Snapdragon 810 ARM core, images/s"
    return Table(rows, title=f"{key} in the paper (Table {_TABLE_NUMBERS[key]}; {platform})")


def guideline_verdicts(table: Table) -> list[str]:
    """One line per row after the first: its speed relative to the first row here and in the paper,
    and a verdict that claims a direction only when every round agrees on it by more than the noise
    measured with it ("no clear difference here" otherwise)."""
    rows = table.rows
    noise = rows[0].get("noise", 0.0)
    lines = []
    for row in rows[1:]:
        here, paper = row["speed_vs_first"], row["paper_vs_first"]
        rounds = row.get("rounds_vs_first", [here])
        if all(value > 1 + noise for value in rounds):
            direction = "faster"
        elif all(value < 1 / (1 + noise) for value in rounds):
            direction = "slower"
        else:
            direction = None
        if direction is None:
            verdict = "no clear difference here"
        else:
            verdict = (
                "same direction as the paper"
                if (direction == "slower") == (paper < 1)
                else "opposite direction"
            )
        spread = f"rounds {min(rounds):.2f}-{max(rounds):.2f}"
        lines.append(
            f"{row['config']:>22} vs {rows[0]['config']}: here {here:.2f}x ({spread}, noise +-{noise:.0%}), "
            f"paper {paper:.2f}x: {verdict}"
        )
    return lines
