"""What training and evaluation produce: a ``History`` of a run and an ``EvalResult`` of a data set.

Both print as tables and plot themselves (``history.plot()``, ``result.plot()``), and a ``History``
converts to and from plain data, which is how checkpoints and the shipped manifest store it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from torch import Tensor

__all__ = ["EvalResult", "History", "percent"]


def percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


@dataclasses.dataclass
class History:
    """What happened during ``fit``, one entry per epoch.

    Attributes:
        train_loss: mean training loss of each epoch (with label smoothing, as optimised).
        train_acc: fraction of training images classified right during each epoch (0 to 1).
        val_loss: validation cross-entropy after each epoch (plain, without label smoothing, so
            it is comparable between runs); empty when ``fit`` had no validation data.
        val_acc: validation accuracy after each epoch (0 to 1); empty without validation data.
        lr: learning rate of the last step of each epoch.
        epoch_time: seconds each epoch took, validation included.
        best_epoch: the epoch (counted from 1) with the highest validation accuracy, or ``None``.
        best_val_acc: that accuracy, or ``None``.
        interrupted: ``True`` when training was stopped by hand (KeyboardInterrupt, Jupyter's stop
            button) before the last epoch.

    ``history.plot()`` draws the curves; ``as_dict()`` and ``History.from_dict()`` convert to and
    from plain data (checkpoints store that).
    """

    train_loss: list[float] = dataclasses.field(default_factory=list)
    train_acc: list[float] = dataclasses.field(default_factory=list)
    val_loss: list[float] = dataclasses.field(default_factory=list)
    val_acc: list[float] = dataclasses.field(default_factory=list)
    lr: list[float] = dataclasses.field(default_factory=list)
    epoch_time: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None
    best_val_acc: float | None = None
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)

    def plot(self, **kwargs: Any) -> Any:
        """Loss and accuracy curves; see ``lightnets_course.viz.plot_history``. Returns the Figure."""
        # Imported here: a training process (a torchrun worker, the CLI) never loads matplotlib.
        from . import viz

        return viz.plot_history(self, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The history as plain lists and numbers (what checkpoints and JSON files store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a History from ``as_dict()``'s output."""
        if not isinstance(data, Mapping):
            raise TypeError(
                f"History.from_dict expects a dict made by History.as_dict(), got {type(data).__name__}"
            )
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"History.from_dict: unknown entries {unknown}; expected some of {names}")
        values = {name: data[name] for name in names if name in data}
        for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time"):
            values[name] = [float(v) for v in values.get(name, [])]
        return cls(**values)

    def __repr__(self) -> str:
        header = f"History: {self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if self.best_epoch is not None:
            header += f", best val acc {percent(self.best_val_acc)} at epoch {self.best_epoch}"
        if self.interrupted:
            header += " (interrupted)"
        if not self.epochs:
            return header
        has_val = len(self.val_acc) == self.epochs
        columns = (
            "epoch  train loss  train acc"
            + ("  val loss  val acc" if has_val else "")
            + "         lr    time"
        )
        lines = [header, columns]
        shown = list(range(self.epochs))
        if self.epochs > 20:  # long runs: the start and the end tell the story
            shown = shown[:5] + [-1] + shown[-5:]
        for i in shown:
            if i == -1:
                lines.append("  ...")
                continue
            line = f"{i + 1:>5}  {_number(self.train_loss[i]):>10}  {percent(self.train_acc[i]):>9}"
            if has_val:
                line += f"  {_number(self.val_loss[i]):>8}  {percent(self.val_acc[i]):>7}"
            line += f"  {self.lr[i]:>9.2e}  {self.epoch_time[i]:>5.1f}s"
            lines.append(line)
        return "\n".join(lines)


@dataclasses.dataclass(repr=False)
class EvalResult:
    """How a model did on a data set (what ``evaluate`` returns).

    Attributes:
        accuracy: fraction of images classified right (0 to 1).
        loss: mean cross-entropy (no label smoothing).
        per_class: class name -> fraction of that class's images classified right (NaN for a class
            with no images).
        confusion: ``K x K`` tensor of counts; row = true class, column = predicted class.
        class_names: the ``K`` class names, in label order.
        num_images: how many images were evaluated.
    """

    accuracy: float
    loss: float
    per_class: dict[str, float]
    confusion: Tensor
    class_names: list[str]
    num_images: int

    def most_frequent_mistake(self) -> tuple[str, str, int]:
        """The off-diagonal cell of the confusion matrix with the most images, as ``(true class, class
        it was taken for, how many times)``; the count is 0 when the model made no mistake."""
        mistakes = self.confusion.clone().fill_diagonal_(0)
        true, guessed = divmod(int(mistakes.argmax()), len(self.class_names))
        return self.class_names[true], self.class_names[guessed], int(mistakes[true, guessed])

    def plot(self, **kwargs: Any) -> Any:
        """The confusion matrix; see ``lightnets_course.viz.plot_confusion_matrix``."""
        from . import viz

        return viz.plot_confusion_matrix(self, **kwargs)

    def __repr__(self) -> str:
        lines = [
            f"EvalResult: accuracy {percent(self.accuracy)} on {self.num_images} images, loss {self.loss:.3f}"
        ]
        width = max((len(name) for name in self.per_class), default=0)
        lines += [f"  {name:<{width}}  {percent(acc):>6}" for name, acc in self.per_class.items()]
        return "\n".join(lines)
