"""Charts of cost and speed: the guideline experiments, latency against MACs, a convolution's costs,
MobileNetV1's trade-off, a block's widths, activations, channel shuffle, convolution windows, Pareto
fronts, and deployment's latency by runtime, weight ranges and run times. Every function draws on a matplotlib ``Axes`` (made if not given) and returns the
``Figure``."""

from __future__ import annotations

import matplotlib

if matplotlib.get_backend() == "":  # pragma: no cover - only for odd headless setups
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from . import papers  # noqa: E402
from .comparison import pareto_front  # noqa: E402
from .layers import conv_layer_numbers  # noqa: E402
from .table import rows_of  # noqa: E402


def plot_guideline(table, axes=None) -> matplotlib.figure.Figure:
    """Draw a guideline experiment (``benchmark.guideline``): is the paper's effect seen here?

    Left: the speed of each configuration relative to the first row, measured here (with the
    p10-p90 spread as error bars) next to the paper's. Right: its MACs and memory access, also
    relative to the first row: the guidelines compare networks of (nearly) equal MACs whose memory
    access or structure differs. ``axes`` is a pair of matplotlib Axes; returns the Figure.
    """
    rows = rows_of(table)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    speed_ax, cost_ax = axes
    labels = [row["config"] for row in rows]
    positions = range(len(rows))
    width = 0.4

    first = rows[0]
    measured = [row["speed_vs_first"] for row in rows]
    below = [m - row["speed_p10"] / first["speed"] for m, row in zip(measured, rows)]
    above = [row["speed_p90"] / first["speed"] - m for m, row in zip(measured, rows)]
    speed_ax.bar(
        [p - width / 2 for p in positions],
        measured,
        width,
        yerr=[below, above],
        capsize=3,
        label="measured here",
    )
    speed_ax.bar(
        [p + width / 2 for p in positions], [row["paper_vs_first"] for row in rows], width, label="paper"
    )
    speed_ax.axhline(1.0, color="gray", linewidth=0.8)
    speed_ax.set_ylabel(f"speed relative to {labels[0]}")
    speed_ax.legend()

    cost_ax.bar(
        [p - width / 2 for p in positions], [row["macs"] / first["macs"] for row in rows], width, label="MACs"
    )
    cost_ax.bar(
        [p + width / 2 for p in positions],
        [row["mem_access"] / first["mem_access"] for row in rows],
        width,
        label="mem_access",
    )
    cost_ax.axhline(1.0, color="gray", linewidth=0.8)
    cost_ax.set_ylabel(f"cost relative to {labels[0]}")
    cost_ax.legend()

    for ax in axes:
        ax.set_xticks(list(positions), labels, rotation=20, ha="right")
    title = getattr(table, "title", "")
    if title:
        # The title's first sentence names the guideline; the rest is settings.
        speed_ax.figure.suptitle(title.split(". ")[0])
    return speed_ax.figure


def plot_latency_vs_macs(rows, axes=None) -> matplotlib.figure.Figure:
    """Time per image against MACs (left) and memory access (right), one point per model.

    ``rows`` is ``benchmark.latency_table(...)`` or its rows as loaded from
    ``benchmarks/results/model_latency_<device>.json``. Each batch size is its own series; at batch 1
    the time per image is the latency, at a large batch it is one over the throughput. Points far
    from a straight line are models whose MACs do not predict their speed. ``axes`` is a pair of
    matplotlib Axes; returns the Figure.
    """
    rows = rows_of(rows)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    for batch_size in sorted({row["batch_size"] for row in rows}):
        series = [row for row in rows if row["batch_size"] == batch_size]
        for ax, cost in zip(axes, ("macs", "mem_access")):
            x = [row[cost] / 1e6 for row in series]
            y = [row["ms_per_image"] for row in series]
            ax.scatter(x, y, label=f"batch {batch_size}")
            for row, xi, yi in zip(series, x, y):
                ax.annotate(row["model"], (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    for ax, cost in zip(axes, ("MACs", "mem_access (elements)")):
        ax.set_xlabel(f"{cost}, millions per image")
        ax.set_ylabel("ms per image (median)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # Plain numbers (20, 50, 100) read better than powers of ten over one or two decades.
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
            axis.set_minor_formatter(
                matplotlib.ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 1))
            )
        ax.legend()
    return axes[0].figure


def _short_count(value: float) -> str:
    """12345678 -> '12.3M': a count short enough to print on a bar."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"


def plot_conv_costs(table, axes=None) -> matplotlib.figure.Figure:
    """Bars of params, MACs and memory access for the convolutions of ``widgets.conv_costs``.

    One panel per cost, one bar per convolution (a row of the table), each labelled with its value, so
    the drop from a standard to a group, depthwise or depthwise-separable convolution can be seen at a
    glance. ``axes`` is a row of three matplotlib Axes; returns the Figure.
    """
    rows = rows_of(table)
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(10, 0.5 + 0.45 * len(rows)), dpi=80, layout="constrained")
    labels = [row["conv"] for row in rows]
    for ax, cost in zip(axes, ("params", "macs", "mem_access")):
        values = [row[cost] for row in rows]
        bars = ax.barh(range(len(rows)), values, color=[f"C{i}" for i in range(len(rows))])
        ax.bar_label(bars, [_short_count(v) for v in values], padding=2, fontsize=8)
        ax.set_yticks(range(len(rows)), labels if ax is axes[0] else [""] * len(rows))
        ax.invert_yaxis()  # first row on top, as in the table
        ax.set_xlim(0, 1.3 * max(values))
        ax.set_xticks([])
        ax.set_title(cost)
    return axes[0].figure


def plot_mobilenet_v1_tradeoff(point: dict, ax=None) -> matplotlib.figure.Figure:
    """MobileNetV1 on the MACs-vs-accuracy plane: the paper's Tables 6, 7 and 9 (with AlexNet, where the
    course began) and one chosen network.

    ``point`` is a dict from ``scaling.mobilenet_v1_tradeoff`` (``width_mult``, ``resolution``, ``macs``,
    ``params``, ``paper_top1``). The chosen network is a star where the paper reports its accuracy, and
    a dashed line at its MACs otherwise. Returns the Figure.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4), dpi=80, layout="constrained")
    tables = [
        ("Table 6: width alpha at 224", "o", papers.MOBILENET_V1_TABLE6, "alpha={}", (6, -10)),
        ("Table 7: resolution at alpha=1", "s", papers.MOBILENET_V1_TABLE7, "{}px", (-8, 6)),
    ]
    labelled = set()
    for label, marker, table, text, offset in tables:
        keys = list(table)
        macs = [table[key][1] for key in keys]
        top1 = [table[key][0] for key in keys]
        ax.plot(macs, top1, marker=marker, linestyle=":", label=f"paper, {label}")
        for key, x, y in zip(keys, macs, top1):
            if (x, y) not in labelled:  # 1.0 MobileNet-224 is a row of both tables
                ax.annotate(text.format(key), (x, y), fontsize=7, xytext=offset, textcoords="offset points")
                labelled.add((x, y))
    for name in ("0.50 MobileNet-160", "AlexNet"):
        top1, mult_adds, _ = papers.MOBILENET_V1_TABLE9[name]
        ax.plot(mult_adds, top1, "D", color="C2", label="paper, Table 9" if name == "AlexNet" else None)
        ax.annotate(name, (mult_adds, top1), fontsize=7, xytext=(-30, 6), textcoords="offset points")
    chosen = f"alpha={point['width_mult']:g}, {point['resolution']}px: {point['macs'] / 1e6:.0f} M MACs"
    if point["paper_top1"] is not None:
        ax.plot(point["macs"] / 1e6, point["paper_top1"], "*", color="C3", markersize=16, label=chosen)
    else:
        ax.axvline(point["macs"] / 1e6, color="C3", linestyle="--", label=chosen + " (no paper accuracy)")
    ax.set(xscale="log", xlabel="million MACs (log scale)", ylabel="ImageNet top-1 (%)")
    ticks = [25, 50, 100, 200, 400, 800]
    ax.set_xticks(ticks, [str(tick) for tick in ticks])
    ax.minorticks_off()
    ax.set_xlim(30, 900)
    ax.set_title(f"MobileNetV1 ({papers.MOBILENET_V1_SOURCE})", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def plot_channel_widths(
    blocks: dict[str, list[tuple[str, int]]], axes: list[matplotlib.axes.Axes] | None = None
) -> matplotlib.figure.Figure:
    """Draw each block's channel widths as a stack of centred bars, data flowing down from the input.

    ``blocks`` maps a title to ``(layer, channels)`` pairs as ``widgets.channel_widths`` returns them.
    A ResNet bottleneck comes out as an hourglass (wide -> narrow -> wide), MobileNetV2's inverted
    residual as a diamond (narrow -> wide -> narrow). All panels share one scale. ``axes`` has one
    Axes per block; returns the Figure.
    """
    if not blocks:
        raise ValueError("blocks must map at least one title to a list of (layer, channels) pairs")
    if axes is None:
        _, axes = plt.subplots(1, len(blocks), figsize=(3.3 * len(blocks), 2.6), dpi=80, squeeze=False)
        axes = list(axes[0])
    widest = max(channels for widths in blocks.values() for _, channels in widths)
    for ax, (title, widths) in zip(axes, blocks.items()):
        rows = list(range(len(widths)))
        channels = [c for _, c in widths]
        ax.barh(rows, channels, left=[-c / 2 for c in channels], height=0.6)
        for row, c in zip(rows, channels):
            ax.text(widest * 0.55, row, f"{c}", va="center")
        ax.set_yticks(rows, [layer for layer, _ in widths])
        ax.invert_yaxis()  # the input on top, as the data flows
        ax.set_xlim(-widest * 0.55, widest * 0.8)
        ax.set_xticks([])
        ax.set_title(title, fontsize="medium")
    figure = axes[0].figure
    figure.tight_layout()
    return figure


def plot_activations(
    curves: dict[str, tuple], axes: list[matplotlib.axes.Axes] | None = None
) -> matplotlib.figure.Figure:
    """Activation functions (left) and their derivatives (right).

    ``curves`` maps a name to ``(x, f(x), f'(x))`` as ``widgets.activation_curves`` returns them; the
    piecewise-linear "h-" versions are drawn dashed. ``axes`` is a pair of Axes; returns the Figure.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80, layout="constrained")
    values_ax, slopes_ax = axes
    for name, (x, y, slope) in curves.items():
        style = "--" if name.startswith("h-") else "-"
        values_ax.plot(x, y, style, label=name)
        slopes_ax.plot(x, slope, style, label=name)
    values_ax.set_title("f(x)")
    slopes_ax.set_title("f'(x), from autograd")
    for ax in axes:
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    values_ax.legend(fontsize="small")
    return values_ax.figure


def plot_channel_shuffle(order: list[int], groups: int, ax=None) -> matplotlib.figure.Figure:
    """Where ``channel_shuffle`` moves each channel: the input channels on top, the output below.

    ``order[i]`` is the input channel that lands at output position ``i``, as
    ``widgets.channel_shuffle_order(channels, groups)`` returns it. Each channel keeps the colour of the
    group it starts in, and a line joins its old and new place. Before the shuffle each group's channels
    sit side by side; after it every run of ``groups`` neighbouring positions holds one channel of each
    group, so a layer that reads any contiguous block of channels sees all groups. Returns the Figure.
    """
    channels = len(order)
    if channels == 0 or sorted(order) != list(range(channels)):
        raise ValueError(f"order must list each channel 0..{channels - 1} exactly once; got {order}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or channels % groups:
        raise ValueError(
            f"groups must be a whole number that divides the {channels} channels; got {groups!r}"
        )
    per_group = channels // groups
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12.0, 1.0 + 0.4 * channels), 2.4), dpi=80, layout="constrained")
    colour = [f"C{channel // per_group % 10}" for channel in range(channels)]
    for position, channel in enumerate(order):
        ax.plot([channel, position], [1, 0], color=colour[channel], linewidth=1, zorder=1)
    for y, channel_at in ((1, list(range(channels))), (0, order)):
        ax.scatter(
            range(channels), [y] * channels, s=260, marker="s", zorder=2, c=[colour[c] for c in channel_at]
        )
        if channels <= 48:  # beyond that the numbers do not fit in the squares
            for position, channel in enumerate(channel_at):
                ax.text(
                    position, y, str(channel), ha="center", va="center", fontsize=7, color="white", zorder=3
                )
    ax.set_yticks([0, 1], [f"after shuffle\n(groups={groups})", "before"])
    ax.set_xticks([])
    ax.set_ylim(-0.4, 1.4)
    ax.set_xlim(-0.7, channels - 0.3)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{channels} channels in {groups} groups of {per_group}: colour = group before the shuffle",
        fontsize=9,
    )
    return ax.figure


# Axis labels and scales for the columns that comparison tables carry.
_PARETO_AXES = {
    "macs": ("MACs, millions (log scale)", 1e6),
    "params": ("parameters, millions (log scale)", 1e6),
    "mem_access": ("memory access, million elements (log scale)", 1e6),
    "latency_ms": ("latency at batch 1, ms (log scale)", 1.0),
    "top1": ("ImageNet top-1 (%)", 1.0),
    "cifar10_acc": ("CIFAR-10 accuracy (%)", 1.0),
}


def plot_pareto(
    rows, x: str = "macs", y: str = "top1", label: str = "model", ax=None, title: str | None = None
) -> matplotlib.figure.Figure:
    """A score against a cost, one point per row, with the Pareto front (``pareto_front``) marked.

    ``rows`` is a ``Table`` or a list of row dicts; ``x`` the cost column (drawn on a log scale, in
    millions for counts such as ``"macs"``), ``y`` the score column, ``label`` the column that names a
    point. Points on the front are filled and joined by a staircase: above and to the left of it no
    model exists yet. Rows without a value for ``x`` or ``y`` are left out. Returns the Figure.
    """
    rows = rows_of(rows)
    front = pareto_front(rows, x, y)
    points = [row for row in rows if row.get(x) is not None and row.get(y) is not None]
    x_label, x_scale = _PARETO_AXES.get(x, (f"{x} (log scale)", 1.0))
    y_label, y_scale = _PARETO_AXES.get(y, (y, 1.0))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2), dpi=80, layout="constrained")
    on_front = {id(row) for row in front}
    for row in points:
        filled = id(row) in on_front
        ax.scatter(
            row[x] / x_scale,
            row[y] / y_scale,
            s=50,
            color="C3" if filled else "white",
            edgecolors="C3" if filled else "C0",
            zorder=3,
        )
        ax.annotate(
            str(row[label]),
            (row[x] / x_scale, row[y] / y_scale),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax.step(
        [row[x] / x_scale for row in front],
        [row[y] / y_scale for row in front],
        where="post",
        color="C3",
        linewidth=1,
        label=f"Pareto front ({len(front)} of {len(points)})",
    )
    ax.set_xscale("log")
    # Plain numbers at 1, 2 and 5 of each decade: a range such as 40-700 M has only one power of ten.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel=x_label, ylabel=y_label)
    ax.grid(alpha=0.3)
    # Up and to the left of the front there are no models, so the legend hides none there.
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    return ax.figure


def plot_conv_windows(
    input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, ax=None
) -> plt.Figure:
    """Where the windows of a convolution fall along one side of the input.

    One bar per output position, from the top: the input pixels (``0 .. input_size - 1``, padding
    outside) that the window at that position reads. Padding is shaded grey; input pixels that no
    window reaches (when the stride does not divide evenly) are shaded red. Returns the Figure.
    """
    n = conv_layer_numbers(input_size, 1, 1, kernel_size, stride, padding)
    if ax is None:
        height = min(4.0, 1.2 + 0.12 * n["output_size"])
        fig, ax = plt.subplots(figsize=(7, height), dpi=72, layout="constrained")
    starts = [position * stride - padding for position in range(n["output_size"])]
    ax.barh(range(len(starts)), [kernel_size] * len(starts), left=starts, height=0.8, color="C0")
    if padding:
        ax.axvspan(-padding, 0, color="0.85", label="padding")
        ax.axvspan(input_size, input_size + padding, color="0.85")
    if n["dropped"]:
        never_read = input_size + padding - n["dropped"]
        ax.axvspan(never_read, input_size + padding, color="C3", alpha=0.3, label="never read")
    ax.set_xlim(-padding, input_size + padding)
    ax.invert_yaxis()
    ax.set_xlabel("input pixel")
    ax.set_ylabel("output position")
    ax.set_title(
        f"{n['output_size']} windows of {kernel_size} pixels, stride {stride}, padding {padding}", fontsize=10
    )
    if padding or n["dropped"]:
        ax.legend(loc="lower left", fontsize=8)
    return ax.figure


def plot_runtime_latency(table, threads: int = 1, ax=None) -> matplotlib.figure.Figure:
    """Batch-1 latency of each model in each runtime variant (``deploy.compare_runtimes``), at ``threads``:
    one group of bars per model, one bar per variant, the whiskers spanning the rounds' medians."""
    rows = [row for row in rows_of(table) if row["threads"] == threads]
    models = list(dict.fromkeys(row["model"] for row in rows))
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 1.4 * len(models) * len(variants) / 3, 3.6), layout="constrained")
    width = 0.8 / len(variants)
    for index, variant in enumerate(variants):
        positions, heights, low, high = [], [], [], []
        for position, model in enumerate(models):
            row = next((r for r in rows if r["model"] == model and r["variant"] == variant), None)
            if row is None:
                continue
            positions.append(position + (index - (len(variants) - 1) / 2) * width)
            heights.append(row["latency_ms"])
            low.append(row["latency_ms"] - min(row["round_ms"]))
            high.append(max(row["round_ms"]) - row["latency_ms"])
        ax.bar(positions, heights, width, yerr=[low, high], capsize=2, label=variant)
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("ms per image (batch 1)")
    ax.set_title(f"Latency by runtime, {threads} CPU thread{'s' if threads != 1 else ''}")
    ax.legend(fontsize=8)
    return ax.figure


def plot_weight_ranges(table, ax=None) -> matplotlib.figure.Figure:
    """Per convolution, in network order: how many times the widest output channel's weight range
    exceeds the narrowest channel's, BatchNorm folded in (``deploy.folded_weight_ranges``), coloured by
    kind. A high bar is a layer where one int8 scale per tensor leaves some channels few levels."""
    rows = rows_of(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.4), layout="constrained")
    colours = {"depthwise": "tab:red", "pointwise": "tab:blue", "full": "tab:gray"}
    for kind, colour in colours.items():
        points = [(i, row["range_ratio"]) for i, row in enumerate(rows) if row["kind"] == kind]
        if points:
            ax.bar([i for i, _ in points], [r for _, r in points], color=colour, label=kind)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_xlabel("convolution, input to output")
    ax.set_ylabel("widest / narrowest channel")
    ax.legend(fontsize=8)
    return ax.figure


def plot_run_times(timing, ax=None) -> matplotlib.figure.Figure:
    """The spread of one ``Timing``: a histogram of its runs in milliseconds, the median marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 2.8), layout="constrained")
    ax.hist([1000 * t for t in timing.times_s], bins=20, color="tab:blue")
    ax.axvline(timing.median_ms, color="black", linestyle="--", label=f"median {timing.median_ms:.3g} ms")
    ax.set_xlabel("ms per run")
    ax.set_ylabel("runs")
    ax.legend(fontsize=8)
    return ax.figure
