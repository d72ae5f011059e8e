"""ipywidgets explorers for the notebooks, and nothing else.

Each explorer is a thin shell over a plain function that lives with its idea (``layers``, ``scaling``,
``models.blocks``, ``comparison``, ``viz``), which tests call directly: the widget only collects slider
values and shows what the plain function returns. Works with ipywidgets 7.6+ (Colab) and 8.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from .charts import (
    plot_activations,
    plot_channel_shuffle,
    plot_channel_widths,
    plot_conv_costs,
    plot_conv_windows,
    plot_mobilenet_v1_tradeoff,
    plot_pareto,
    plot_run_times,
)
from .comparison import COMPARISON_COSTS, comparison_table
from .course import STATIC_VIEW_CLASS
from .datasets import TensorImages, cifar10_sample
from .deploy import runtime_latency
from .layers import conv_costs, describe_conv_layer
from .models.blocks import ACTIVATIONS, activation_curves, channel_shuffle_order
from .scaling import inverted_residual_widths, mobilenet_v1_tradeoff, mobilenet_v2_cost
from .table import Table
from .viz import plot_sample_images

__all__ = [
    "activation_explorer",
    "channel_shuffle_explorer",
    "comparison_explorer",
    "conv_cost_explorer",
    "conv_layer_explorer",
    "deployment_explorer",
    "mobilenet_v1_explorer",
    "mobilenet_v2_explorer",
    "sample_browser",
]

# ipywidgets 8 calls an ``interactive``'s function when it is built, ipywidgets 7 (Colab) only when it
# is displayed.
_RUNS_WHEN_BUILT = int(widgets.__version__.split(".")[0]) >= 8


def static_view(function: Callable[..., object], values: Mapping[str, object]) -> str:
    """HTML of what ``function(**values)`` prints and draws: the explorer's first view, for readers of a
    stored notebook (GitHub, nbviewer), where no kernel runs the widget."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        function(**values)
    parts = [f"<p><em>The explorer's first view ({html.escape(', '.join(f'{k}={v}' for k, v in values.items()))}); "
             "run the cell to move its controls.</em></p>"]  # fmt: skip
    if captured.stdout.strip():
        parts.append(f"<pre>{html.escape(captured.stdout.strip())}</pre>")
    for output in captured.outputs:
        if "image/png" in output.data:
            parts.append(f'<img src="data:image/png;base64,{output.data["image/png"]}"/>')
        elif "text/html" in output.data:
            parts.append(output.data["text/html"])
        elif "text/plain" in output.data:
            parts.append(f"<pre>{html.escape(output.data['text/plain'])}</pre>")
    return f'<div class="{STATIC_VIEW_CLASS}">{"".join(parts)}</div>'


class Explorer(widgets.interactive):
    """An ``interactive`` that also offers a static HTML copy of its first view when displayed.

    JupyterLab shows the live widget (its renderer ranks first); a stored notebook keeps the HTML, which
    ``course.execute_notebook`` leaves as the output, so GitHub and nbviewer show the first result
    instead of ``interactive(children=(...))``. Under ipywidgets 7 (Colab) the widget is shown as before.
    """

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)
        try:
            bundle["text/html"] = static_view(self.f, dict(self.kwargs))
        except Exception:  # the live widget still works; only the static copy is left out
            pass
        return bundle


def _explorer(function: Callable[..., object], *args: object, **controls: object) -> widgets.interactive:
    """An ``Explorer`` of ``function`` that has already run once with its starting values, so
    ``.result`` (what the plain function returned) is there from the start under ipywidgets 7 and 8."""
    explorer = Explorer(function, *args, **controls)
    if not _RUNS_WHEN_BUILT:
        explorer.update()
    return explorer


def conv_cost_explorer() -> widgets.interactive:
    """Sliders for kernel size, channels, groups and feature-map size; shows ``conv_costs`` as a table
    and as bars (``charts.plot_conv_costs``). Channels and groups move in powers of two; a ``groups`` that
    does not divide both channel counts gets a message instead of a table."""
    powers_of_two = [2**i for i in range(11)]

    def show(kernel_size: int, in_channels: int, out_channels: int, groups: int, feature_size: int):
        try:
            table = conv_costs(kernel_size, in_channels, out_channels, groups, feature_size)
        except ValueError as error:
            print(error)
            return None
        display(table)
        plot_conv_costs(table)
        plt.show()
        return table

    def slider(options: list[int], value: int, description: str) -> widgets.SelectionSlider:
        return widgets.SelectionSlider(
            options=options, value=value, description=description, continuous_update=False
        )

    return _explorer(
        show,
        kernel_size=widgets.IntSlider(
            value=3, min=1, max=7, step=2, description="kernel", continuous_update=False
        ),
        in_channels=slider(powers_of_two[3:], 64, "in (M)"),
        out_channels=slider(powers_of_two[3:], 64, "out (N)"),
        groups=slider(powers_of_two, 1, "groups"),
        feature_size=slider([7, 14, 28, 56, 112], 28, "map size"),
    )


def mobilenet_v1_explorer() -> widgets.interactive:
    """Sliders for MobileNetV1's width multiplier alpha and input resolution; prints the measured MACs
    and params (and the paper's top-1 when it has that network) and places the network on the
    MACs-vs-accuracy plane next to the paper's Tables 6 and 7 (``charts.plot_mobilenet_v1_tradeoff``)."""

    def show(width_mult: float, resolution: int) -> dict[str, object]:
        point = mobilenet_v1_tradeoff(width_mult, resolution)
        accuracy = (
            f"paper top-1 {point['paper_top1']}% ({point['paper_table']})"
            if point["paper_top1"] is not None
            else "not in the paper's Tables 6-7"
        )
        print(
            f"alpha={point['width_mult']:g}, {resolution}x{resolution}: {point['macs'] / 1e6:,.1f} M MACs, "
            f"{point['params'] / 1e6:.2f} M params; {accuracy}"
        )
        plot_mobilenet_v1_tradeoff(point)
        plt.show()
        return point

    return _explorer(
        show,
        width_mult=widgets.FloatSlider(
            value=1.0, min=0.25, max=1.0, step=0.05, description="alpha", continuous_update=False
        ),
        resolution=widgets.IntSlider(
            value=224, min=96, max=256, step=32, description="resolution", continuous_update=False
        ),
    )


def mobilenet_v2_explorer() -> widgets.interactive:
    """Sliders for MobileNetV2's width multiplier, resolution and expansion t.

    Prints ``mobilenet_v2_cost(width, resolution)`` relative to the paper's 1.0 network at 224, and draws
    ``inverted_residual_widths(24, 24, t)``: how wide a block gets inside for the chosen t.
    """
    baseline = mobilenet_v2_cost()

    def show(width_mult: float, resolution: int, expand_ratio: int) -> dict[str, int]:
        cost = mobilenet_v2_cost(width_mult, resolution)
        print(
            f"MobileNetV2 {width_mult:g} at {resolution}x{resolution}: {cost['params'] / 1e6:.2f} M params "
            f"({cost['params'] / baseline['params']:.2f}x the 1.0 network at 224), {cost['macs'] / 1e6:,.1f} M MACs "
            f"({cost['macs'] / baseline['macs']:.2f}x)"
        )
        plot_channel_widths(
            {f"one 24 -> 24 block, t = {expand_ratio}": inverted_residual_widths(24, 24, expand_ratio)}
        )
        plt.show()
        return cost

    return _explorer(
        show,
        width_mult=widgets.FloatSlider(
            value=1.0, min=0.35, max=1.4, step=0.05, description="width", continuous_update=False
        ),
        resolution=widgets.IntSlider(
            value=224, min=96, max=256, step=32, description="resolution", continuous_update=False
        ),
        expand_ratio=widgets.IntSlider(
            value=6, min=1, max=10, step=1, description="t", continuous_update=False
        ),
    )


def activation_explorer() -> widgets.interactive:
    """Pick activations (Ctrl/Cmd-click for several) and an x range; draws ``activation_curves``."""

    def show(names: tuple[str, ...], x_range: tuple[float, float]) -> None:
        if not names or not x_range[0] < x_range[1]:
            print("Choose at least one activation and an x range of non-zero width.")
            return
        plot_activations(activation_curves(names, *x_range))
        plt.show()

    return _explorer(
        show,
        names=widgets.SelectMultiple(
            options=list(ACTIVATIONS),
            value=("sigmoid", "h-sigmoid", "swish", "h-swish"),
            rows=len(ACTIVATIONS),
            description="activations",
        ),
        x_range=widgets.FloatRangeSlider(
            value=(-6.0, 6.0), min=-10.0, max=10.0, step=0.5, description="x range", continuous_update=False
        ),
    )


def sample_browser(data: TensorImages | None = None, count: int = 16) -> widgets.interactive:
    """Pick a class from a menu and how many of its images to see (``plot_sample_images``).

    ``data`` defaults to the shipped CIFAR-10 sample. Browsing a class at a time shows what the
    network is up against: odd viewpoints, clutter, and 32x32 pixels.
    """
    if data is None:
        data = cifar10_sample()

    def show(class_name: str, count: int) -> None:
        plot_sample_images(data, class_name, count)
        plt.show()

    menu = widgets.Dropdown(options=list(data.classes), value=data.classes[0], description="class")
    images = widgets.IntSlider(
        value=count, min=4, max=max(48, count), step=4, description="images", continuous_update=False
    )
    return _explorer(show, class_name=menu, count=images)


def conv_layer_explorer(
    input_size: int = 224,
    in_channels: int = 3,
    out_channels: int = 48,
    kernel_size: int = 11,
    stride: int = 4,
    padding: int = 2,
) -> widgets.interactive:
    """Sliders for one convolution layer: see its output size, parameters, MACs and windows.

    Starts at the half-width AlexNet's first layer. Prints ``describe_conv_layer`` and draws
    ``plot_conv_windows``; a kernel larger than the padded input prints why no window fits.
    """

    def show(
        input_size: int, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int
    ) -> None:
        try:
            print(describe_conv_layer(input_size, in_channels, out_channels, kernel_size, stride, padding))
        except ValueError as error:
            print(error)
            return
        plot_conv_windows(input_size, kernel_size, stride, padding)
        plt.show()

    def slider(value: int, low: int, high: int, description: str) -> widgets.IntSlider:
        return widgets.IntSlider(
            value=value, min=low, max=high, description=description, continuous_update=False
        )

    return _explorer(
        show,
        input_size=slider(input_size, 1, 256, "input side"),
        in_channels=slider(in_channels, 1, 512, "in channels"),
        out_channels=slider(out_channels, 1, 512, "out channels"),
        kernel_size=slider(kernel_size, 1, 11, "kernel"),
        stride=slider(stride, 1, 4, "stride"),
        padding=slider(padding, 0, 5, "padding"),
    )


def channel_shuffle_explorer() -> widgets.interactive:
    """Sliders for the number of groups and the channels in each; prints ``channel_shuffle_order`` and
    draws it (``charts.plot_channel_shuffle``). ShuffleNetV2 shuffles 2 groups, its two branches;
    ShuffleNet V1 shuffled 3 or more (its group convolutions)."""

    def show(groups: int, per_group: int) -> list[int]:
        order = channel_shuffle_order(groups * per_group, groups)
        print(f"after channel_shuffle(x, groups={groups}), position i holds channel: {order}")
        plot_channel_shuffle(order, groups)
        plt.show()
        return order

    return _explorer(
        show,
        groups=widgets.IntSlider(value=2, min=1, max=6, description="groups", continuous_update=False),
        per_group=widgets.IntSlider(value=4, min=1, max=8, description="per group", continuous_update=False),
    )


def comparison_explorer(rows: Table | list[dict]) -> widgets.interactive:
    """Choose models (Ctrl/Cmd-click for several) and the cost axis; shows ``comparison_table`` and the
    Pareto plot of ImageNet top-1 against that cost (``charts.plot_pareto``).

    ``rows`` as for ``comparison_table``; the cost slider offers MACs, params, mem_access and, when
    the rows carry it, the measured latency.
    """
    rows = list(getattr(rows, "rows", rows))
    names = [row["model"] for row in rows]
    costs = [
        (label, column)
        for label, column in COMPARISON_COSTS
        if all(row.get(column) is not None for row in rows)
    ]

    def show(cost: str, models: tuple[str, ...]) -> Table | None:
        if not models:
            print("Choose at least one model (Ctrl/Cmd-click to choose several).")
            return None
        table = comparison_table(rows, models, cost)
        display(table)
        plot_pareto(table.rows, cost, "top1", title=f"ImageNet top-1 against {cost}, {len(models)} models")
        plt.show()
        return table

    return _explorer(
        show,
        cost=widgets.SelectionSlider(
            options=costs, value="macs", description="cost", continuous_update=False
        ),
        models=widgets.SelectMultiple(
            options=names, value=tuple(names), rows=len(names), description="models"
        ),
    )


def deployment_explorer(
    variants: Mapping[str, Mapping[str, Any]], results: Table | None = None, max_threads: int | None = None
) -> widgets.interactive:
    """Choose a model, a runtime variant and CPU threads: times that combination now (batch 1, the
    course's timing method) and shows its runs' spread, with the model's rows of ``results``
    (accuracy and size per variant) below.

    ``variants`` maps a model name to ``{variant: PyTorch model or ONNX file}``, as for
    ``deploy.compare_runtimes``.
    """
    names = list(variants)
    threads_available = max_threads or os.cpu_count() or 1

    def show(model: str, variant: str, threads: int) -> object:
        if variant not in variants[model]:
            print(f"{model} has no variant {variant!r}; it has {', '.join(variants[model])}")
            return None
        timing = runtime_latency(
            variants[model][variant], threads=threads, warmup=3, repeats=20, min_seconds=0.5
        )
        print(f"{model}, {variant}: {timing}")
        plot_run_times(timing)
        plt.show()
        if results is not None:
            display(
                Table(
                    [row for row in results.rows if row.get("model") == model],
                    title=f"{model}: every variant",
                )
            )
        return timing

    return _explorer(
        show,
        model=widgets.Dropdown(options=names, value=names[0], description="model"),
        variant=widgets.Dropdown(options=list(variants[names[0]]), description="runtime"),
        threads=widgets.IntSlider(
            value=1, min=1, max=threads_available, description="threads", continuous_update=False
        ),
    )
