"""Pictures of data and of trained networks: training curves, confusion matrices, per-class accuracy,
prediction grids, one image's class probabilities, feature maps and sample images. (Charts of cost
and speed are in ``charts``.) Every function draws on a matplotlib ``Axes`` (made if not given) and
returns the ``Figure`` so notebooks can show it with ``plt.show()`` and tests can inspect it."""

from __future__ import annotations

import math
import os

import matplotlib

if matplotlib.get_backend() == "":  # pragma: no cover - only for odd headless setups
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .checks import whole_number  # noqa: E402
from .datasets import TensorImages  # noqa: E402
from .images import load_image  # noqa: E402


def plot_history(history, axes=None) -> matplotlib.figure.Figure:
    """Training curves of ``train.fit``: loss (left) and accuracy (right) per epoch, training and
    validation, with a dotted line at the best validation epoch.

    A training loss far below the validation loss means the model memorises its training images
    (overfitting); two curves still falling together mean more epochs would help. ``history`` is a
    ``History`` or its ``as_dict()``; ``axes`` is a pair of Axes. Returns the Figure.
    """
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
    if isinstance(image, (str, os.PathLike)):
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


def plot_sample_images(
    data: TensorImages, class_name: str | None = None, count: int = 16, columns: int = 8
) -> plt.Figure:
    """A grid of images from a ``TensorImages`` dataset, such as ``data.cifar10_sample()``.

    Args:
        data: the images, uint8 (N, 3, H, W), with their labels and class names.
        class_name: show only this class (each image titled with its index in ``data``), or ``None``
            for every class in turn (each image titled with its class): with ``count = 2 * classes``
            the first row holds one image of each class and the second another one.
        count: how many images to show; fewer when the class has fewer.
        columns: images per row.

    Returns the Figure (show it with ``plt.show()``).
    """
    if not isinstance(data, TensorImages):
        raise TypeError(
            f"data must be a TensorImages such as cifar10_sample(), got {type(data).__name__}; "
            "a DataBundle's raw images are bundle.train.images (uint8) with bundle.train.labels"
        )
    whole_number(count, "count")
    whole_number(columns, "columns")
    if class_name is not None and class_name not in data.classes:
        raise ValueError(
            f"class_name {class_name!r} is not a class of this dataset; choose one of {data.classes}"
        )

    by_class = [torch.nonzero(data.labels == label).flatten().tolist() for label in range(len(data.classes))]
    if class_name is None:
        # Round-robin over the classes: image k of every class before image k + 1 of any.
        depth = max(len(indices) for indices in by_class)
        chosen = [indices[k] for k in range(depth) for indices in by_class if k < len(indices)][:count]
        titles = [data.classes[int(data.labels[i])] for i in chosen]
        heading = f"{len(chosen)} images, {len(data.classes)} classes"
    else:
        indices = by_class[data.classes.index(class_name)]
        chosen = indices[:count]
        titles = [f"#{i}" for i in chosen]
        heading = f"{class_name}: {len(chosen)} of its {len(indices)} images"

    rows = max(1, -(-len(chosen) // columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(1.2 * columns, 1.35 * rows + 0.3), dpi=72, squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, index, title in zip(axes.flat, chosen, titles):
        # nearest: show the 32x32 pixels as they are, not smoothed into something sharper-looking.
        ax.imshow(data.images[index].permute(1, 2, 0).cpu().numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=8)
    fig.suptitle(heading, fontsize=10)
    return fig


def plot_per_class_accuracy(result, ax=None) -> matplotlib.figure.Figure:
    """Accuracy of each class (an ``EvalResult``), with chance as a dashed line. Returns the Figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.8), layout="constrained")
    names = list(result.per_class)
    ax.bar(names, [100 * accuracy for accuracy in result.per_class.values()], color="tab:blue")
    ax.axhline(100 / len(names), color="gray", linestyle="--", label=f"chance ({100 / len(names):.0f}%)")
    ax.axhline(100 * result.accuracy, color="tab:orange", label=f"all classes ({100 * result.accuracy:.1f}%)")
    ax.set(ylabel="accuracy (%)", ylim=(0, 100), title=f"Per-class accuracy on {result.num_images:,} images")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def plot_class_probabilities(image, prediction, mean=None, std=None, axes=None) -> matplotlib.figure.Figure:
    """One image and the probability the model gives every class (``predict(model, [image],
    topk=<number of classes>)[0]``), most probable first. Returns the Figure."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 2.8), width_ratios=(1, 2.2), layout="constrained")
    picture, bars = axes
    picture.imshow(_image_for_display(image, mean, std))
    picture.set_axis_off()
    picture.set_title(f"{prediction.label}: {100 * prediction.probability:.1f}%", fontsize=10)
    order = list(range(len(prediction.labels)))[::-1]  # the most probable on top
    bars.barh([prediction.labels[i] for i in order], [100 * prediction.probabilities[i] for i in order])
    bars.set(xlabel="probability (%)", xlim=(0, 100))
    for i, position in zip(order, range(len(order))):
        bars.text(100 * prediction.probabilities[i] + 1, position, f"{100 * prediction.probabilities[i]:.1f}%",
                  va="center", fontsize=8)  # fmt: skip
    return bars.figure
