"""Plots for the course: training curves, confusion matrices, prediction grids, feature maps and
Pareto fronts. Every function draws on a matplotlib ``Axes`` (made if not given) and returns the
``Figure`` so notebooks can show it with ``plt.show()`` and tests can inspect it."""

from __future__ import annotations

import matplotlib

if matplotlib.get_backend() == "":  # pragma: no cover - only for odd headless setups
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


def _table_rows(table) -> list[dict]:
    """The rows of a ``complexity.Table``, or a list of row dicts as loaded from a results JSON file."""
    rows = list(getattr(table, "rows", table))
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise ValueError("expected a Table or a non-empty list of row dicts, e.g. benchmark.guideline('G1')")
    return rows


def plot_guideline(table, axes=None) -> matplotlib.figure.Figure:
    """Draw a guideline experiment (``benchmark.guideline``): is the paper's effect seen here?

    Left: the speed of each configuration relative to the first row, measured here (with the
    p10-p90 spread as error bars) next to the paper's. Right: its MACs and memory access, also
    relative to the first row: the guidelines compare networks of (nearly) equal MACs whose memory
    access or structure differs. ``axes`` is a pair of matplotlib Axes; returns the Figure.
    """
    rows = _table_rows(table)
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
    rows = _table_rows(rows)
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
    rows = _table_rows(table)
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
    """MobileNetV1 on the MACs-vs-accuracy plane: the paper's Tables 6 and 7 and one chosen network.

    ``point`` is a dict from ``widgets.mobilenet_v1_tradeoff`` (``width_mult``, ``resolution``, ``macs``,
    ``params``, ``paper_top1``). The chosen network is a star where the paper reports its accuracy, and
    a dashed line at its MACs otherwise. Returns the Figure.
    """
    from lightnets_course import papers

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
    chosen = f"alpha={point['width_mult']:g}, {point['resolution']}px: {point['macs'] / 1e6:.0f} M MACs"
    if point["paper_top1"] is not None:
        ax.plot(point["macs"] / 1e6, point["paper_top1"], "*", color="C3", markersize=16, label=chosen)
    else:
        ax.axvline(point["macs"] / 1e6, color="C3", linestyle="--", label=chosen + " (no paper accuracy)")
    ax.set(xscale="log", xlabel="million MACs (log scale)", ylabel="ImageNet top-1 (%)")
    ticks = [25, 50, 100, 200, 400, 800]
    ax.set_xticks(ticks, [str(tick) for tick in ticks])
    ax.minorticks_off()
    ax.set_xlim(30, 800)
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


def plot_history(history, axes=None) -> matplotlib.figure.Figure:
    """Training curves of ``train.fit``: loss (left) and accuracy (right) per epoch, training and
    validation, with a dotted line at the best validation epoch.

    A training loss far below the validation loss means the model memorises its training images
    (overfitting); two curves still falling together mean more epochs would help. ``history`` is a
    ``History`` or its ``as_dict()``; ``axes`` is a pair of Axes. Returns the Figure.
    """
    from matplotlib.ticker import MaxNLocator

    data = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    epochs = list(range(1, len(data["train_loss"]) + 1))
    if not epochs:
        raise ValueError("the history has no epochs yet; train with fit(...) first")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5), dpi=80, layout="constrained")
    loss_ax, acc_ax = axes
    val_epochs = epochs[: len(data["val_loss"])]
    loss_ax.plot(epochs, data["train_loss"], "o-", label="train")
    acc_ax.plot(epochs, [100 * a for a in data["train_acc"]], "o-", label="train")
    if val_epochs:
        loss_ax.plot(val_epochs, data["val_loss"], "o-", label="validation")
        acc_ax.plot(val_epochs, [100 * a for a in data["val_acc"]], "o-", label="validation")
    best = data.get("best_epoch")
    for ax in axes:
        if best is not None:
            ax.axvline(best, color="gray", linestyle=":", label=f"best (epoch {best})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    # The training loss includes label smoothing, so it cannot reach 0 and sits above a plain one.
    loss_ax.set_ylabel("loss (cross-entropy)")
    acc_ax.set_ylabel("accuracy (%)")
    if data.get("interrupted"):
        loss_ax.set_title("interrupted", fontsize="small", loc="right")
    return loss_ax.figure


def plot_confusion_matrix(
    confusion, class_names=None, normalize: bool = True, ax=None
) -> matplotlib.figure.Figure:
    """Which classes the model mistakes for which: row = true class, column = predicted class.

    ``confusion`` is what ``train.evaluate`` returns (its class names are used) or a K x K table of
    counts. With ``normalize=True`` each row shows fractions of that class's images, so the diagonal
    is the per-class accuracy and a bright cell off it is a frequent mistake. Returns the Figure.
    """
    import numpy as np

    if hasattr(confusion, "confusion"):  # an EvalResult
        class_names = class_names if class_names is not None else confusion.class_names
        confusion = confusion.confusion
    counts = np.asarray(confusion.cpu() if hasattr(confusion, "cpu") else confusion, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion must be a square K x K table of counts, got shape {counts.shape}")
    size = counts.shape[0]
    names = [str(name) for name in class_names] if class_names is not None else [str(i) for i in range(size)]
    if len(names) != size:
        raise ValueError(f"class_names has {len(names)} names for a {size} x {size} confusion matrix")
    values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    if ax is None:
        side = 2.5 + 0.45 * size
        _, ax = plt.subplots(figsize=(side + 1, side), dpi=80, layout="constrained")
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.figure.colorbar(image, ax=ax, label="fraction of the true class" if normalize else "images")
    if size <= 20:  # beyond that the numbers would not fit in the cells
        for row in range(size):
            for column in range(size):
                value = values[row, column]
                text = f"{value:.2f}".lstrip("0") if normalize else f"{int(value)}"
                color = "white" if value > 0.6 * values.max() else "black"
                ax.text(column, row, text, ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(size), names, rotation=45, ha="right")
    ax.set_yticks(range(size), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return ax.figure


def _image_for_display(image, mean=None, std=None):
    """A (H, W, 3) array in [0, 1] from a PIL image, a file path, or a (3, H, W) tensor.

    uint8 tensors are divided by 255; float tensors are un-normalised with ``mean`` and ``std`` when
    given, else expected in [0, 1].
    """
    import os

    import numpy as np
    import torch

    if isinstance(image, (str, os.PathLike)):
        from lightnets_course.data import load_image

        image = load_image(image)
    if not isinstance(image, torch.Tensor):
        return np.asarray(image.convert("RGB") if hasattr(image, "convert") else image, dtype=float) / 255
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"an image tensor must have shape (3, H, W), got {tuple(image.shape)}")
    image = image.detach().cpu()
    if image.dtype == torch.uint8:
        image = image.float() / 255
    elif mean is not None and std is not None:
        image = image.float() * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
    elif image.min() < -0.01 or image.max() > 1.01:
        raise ValueError(
            f"these images have values from {float(image.min()):.2f} to {float(image.max()):.2f}, so they are "
            "normalised; pass mean= and std= (e.g. data.CIFAR10_MEAN, data.CIFAR10_STD) to show them"
        )
    return image.clamp(0, 1).expand(3, -1, -1).permute(1, 2, 0).numpy()


def plot_predictions(
    images, predictions, labels=None, class_names=None, mean=None, std=None, ncols: int = 6, axes=None
) -> matplotlib.figure.Figure:
    """A grid of images, each titled with the predicted class and its probability: green when right,
    red when wrong (with the true class below), black when the true class is not given.

    Args:
        images: a batch tensor (N, 3, H, W) or a list of (3, H, W) tensors, PIL images or file paths.
            uint8 tensors are shown as they are; normalised float tensors need ``mean`` and ``std``.
        predictions: what ``predict.predict`` returns, or model outputs (N, K): logits or probabilities.
        labels: the true classes, as indices or names (optional).
        class_names: names of the classes, to turn indices into names.
        mean, std: the normalisation to undo for display.
        ncols: images per row.
        axes: as many Axes as images (optional).

    Returns:
        The Figure.
    """
    import math

    import torch

    images = list(images)
    if isinstance(predictions, torch.Tensor):
        scores = predictions.detach().float().cpu()
        is_probability = bool((scores >= 0).all()) and torch.allclose(
            scores.sum(dim=1), torch.ones(len(scores)), atol=1e-3
        )
        probabilities = scores if is_probability else scores.softmax(dim=1)
        top_probability, top_index = probabilities.max(dim=1)
        guesses = [(int(i), float(p)) for i, p in zip(top_index, top_probability)]
    else:  # Prediction objects: top-k labels and probabilities, best first
        guesses = [(prediction.labels[0], float(prediction.probabilities[0])) for prediction in predictions]
    if len(guesses) != len(images):
        raise ValueError(
            f"got {len(images)} images but {len(guesses)} predictions; give one prediction per image"
        )
    if labels is not None:
        labels = [int(label) if isinstance(label, torch.Tensor) else label for label in labels]
        if len(labels) != len(images):
            raise ValueError(f"got {len(images)} images but {len(labels)} true labels")

    def name(label):
        if isinstance(label, int) and class_names is not None:
            return str(class_names[label])
        return str(label)

    if axes is None:
        ncols = max(1, min(ncols, len(images)))
        nrows = math.ceil(len(images) / ncols)
        _, grid = plt.subplots(nrows, ncols, figsize=(1.9 * ncols, 2.2 * nrows), dpi=80, squeeze=False)
        axes = list(grid.flat)
    for ax in axes:
        ax.axis("off")
    for i, (image, (guess, probability)) in enumerate(zip(images, guesses)):
        ax = axes[i]
        ax.imshow(_image_for_display(image, mean, std))
        title = f"{name(guess)} {probability:.0%}"
        color = "black"
        if labels is not None:
            right = name(guess) == name(labels[i])
            color = "green" if right else "red"
            if not right:
                title += f"\n(true: {name(labels[i])})"
        ax.set_title(title, color=color, fontsize=9)
    figure = axes[0].figure
    figure.tight_layout()
    return figure


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


def pareto_front(rows: list[dict], x: str, y: str) -> list[dict]:
    """The rows no other row beats: none has a ``x`` as small or smaller and a ``y`` as large or larger
    (and is better in at least one). Returned cheapest first.

    ``x`` is a cost (MACs, latency: smaller is better), ``y`` a score (accuracy: larger is better); rows
    without a value for either are left out. Any model off the front has a cheaper and at least as
    accurate alternative; along the front, more accuracy always costs more.
    """
    rows = _table_rows(rows)
    for column in (x, y):
        if not any(column in row for row in rows):
            raise ValueError(f"no row has a {column!r} column; the rows have {sorted(rows[0])}")
    points = [row for row in rows if row.get(x) is not None and row.get(y) is not None]

    def beaten(row: dict) -> bool:
        return any(
            other[x] <= row[x] and other[y] >= row[y] and (other[x] < row[x] or other[y] > row[y])
            for other in points
        )

    return sorted((row for row in points if not beaten(row)), key=lambda row: row[x])


def plot_pareto(
    rows, x: str = "macs", y: str = "top1", label: str = "model", ax=None, title: str | None = None
) -> matplotlib.figure.Figure:
    """A score against a cost, one point per row, with the Pareto front (``pareto_front``) marked.

    ``rows`` is a ``Table`` or a list of row dicts; ``x`` the cost column (drawn on a log scale, in
    millions for counts such as ``"macs"``), ``y`` the score column, ``label`` the column that names a
    point. Points on the front are filled and joined by a staircase: above and to the left of it no
    model exists yet. Rows without a value for ``x`` or ``y`` are left out. Returns the Figure.
    """
    rows = _table_rows(rows)
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
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

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


def plot_feature_maps(
    image, maps: dict, titles: dict | None = None, max_maps: int = 3
) -> matplotlib.figure.Figure:
    """An image and what layers make of it: one row per layer, one panel per feature map.

    The top row shows ``image`` (a (3, H, W) tensor with values in [0, 1]) and its three colour
    channels; each further row shows the first ``max_maps`` channels of one entry of ``maps`` (layer
    name -> (C, H, W) output for that image) in grey, each scaled to its own range. ``titles`` maps a
    layer name to one title per feature map (default "channel 0", "channel 1", ...). Returns the Figure.
    """
    if not maps:
        raise ValueError("maps must hold at least one layer name -> (C, H, W) feature maps")
    if getattr(image, "ndim", None) != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be a (3, H, W) tensor, got shape {tuple(getattr(image, 'shape', ()))}")
    titles = dict(titles or {})
    rows = {"input": image, **maps}
    titles.setdefault("input", ["red", "green", "blue"])
    fig, axes = plt.subplots(
        len(rows), max_maps + 1, figsize=(1.8 * (max_maps + 1), 1.85 * len(rows)), dpi=72
    )
    axes[0, 0].imshow(image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy())
    for row, (name, outputs) in enumerate(rows.items()):
        if row > 0:
            axes[row, 0].text(0.5, 0.5, name, ha="center", va="center", fontsize=12)
        names = titles.get(name, [f"channel {i}" for i in range(len(outputs))])
        for column in range(min(max_maps, len(outputs))):
            axes[row, column + 1].imshow(outputs[column].detach().cpu().numpy(), cmap="gray")
            axes[row, column + 1].set_title(names[column], fontsize=9)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.tight_layout()
    return fig
