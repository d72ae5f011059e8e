"""Exercises of notebook 07 (Comparison): the ``check_*`` functions its exercise cells call."""

from __future__ import annotations

import functools

from lightnets_course.comparison import comparison_rows, pareto_front
from lightnets_course.complexity import compare
from lightnets_course.exercises.feedback import as_number, close, report, unanswered
from lightnets_course.models import list_models

__all__ = ["check_params_front", "check_macs_ratio"]


@functools.lru_cache(maxsize=1)
def _imagenet_rows() -> tuple[dict, ...]:
    """Every course model at 224x224: its MACs and params, and its ImageNet top-1 (notebook 07's rows)."""

    return tuple(comparison_rows(compare(list_models(), (3, 224, 224))))


def check_params_front(answer: object) -> bool:
    """Notebook 07: the names of all course models on the Pareto front of ImageNet top-1 against
    parameters (the models with an ImageNet accuracy, as their papers report it)."""

    if unanswered(answer):
        return False
    if isinstance(answer, str):
        answer = [answer]
    if not isinstance(answer, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in answer):
        return report(False, "", f"the answer is a list of model names, such as ['alexnet']; got {answer!r}")
    rows = list(_imagenet_rows())
    names = {row["model"] for row in rows}
    unknown = sorted(set(answer) - names)
    if unknown:
        return report(False, "", f"{unknown} are not course models; the names are {sorted(names)}")
    no_accuracy = sorted(row["model"] for row in rows if row["top1"] is None and row["model"] in answer)
    if no_accuracy:
        return report(False, "", f"{no_accuracy} has no ImageNet accuracy, so it is not on the plot at all.")
    front = [row["model"] for row in pareto_front(rows, "params", "top1")]
    chosen = set(answer)
    if chosen == set(front):
        by_macs = {row["model"] for row in pareto_front(rows, "macs", "top1")}
        return report(
            True,
            f"{', '.join(front)}: smallest first, each more accurate than every smaller model. Against MACs "
            f"the front differs: {', '.join(sorted(by_macs ^ set(front)))} change sides.",
            "",
        )
    extra, missing = len(chosen - set(front)), len(set(front) - chosen)
    parts = []
    if extra:
        parts.append(
            f"{extra} of your models {'is' if extra == 1 else 'are'} off the front: another model has fewer "
            "(or as many) parameters and a higher (or equal) top-1"
        )
    if missing:
        parts.append(
            f"{missing} model{' is' if missing == 1 else 's are'} missing: sort by parameters and walk from "
            "the smallest, keeping each model more accurate than all before it"
        )
    return report(False, "", "; ".join(parts) + ".")


def check_macs_ratio(answer: object) -> bool:
    """Notebook 07: how many times the MACs of ShuffleNetV2 0.5x does torchvision's AlexNet need at
    224x224?"""
    if unanswered(answer):
        return False
    rows = {row["model"]: row for row in _imagenet_rows()}
    big, small = rows["alexnet"], rows["shufflenet_v2_x0_5"]
    right = big["macs"] / small["macs"]
    value = as_number(answer)
    if value is None:
        return report(False, "", f"the answer is one number, such as 2.5; got {answer!r}")
    if close(value, right, 0.01):
        return report(
            True,
            f"{big['macs'] / 1e6:.1f} M / {small['macs'] / 1e6:.1f} M = {right:.1f}x the MACs, and yet "
            f"an ImageNet top-1 of {big['top1']:.1f}% against ShuffleNetV2 0.5x's {small['top1']:.1f}%.",
            "",
        )
    if close(value, 1 / right, 0.01):
        hint = "that is the ratio the other way round: divide AlexNet's MACs by ShuffleNetV2 0.5x's."
    elif close(value, big["params"] / small["params"], 0.01):
        hint = "that is the ratio of the parameters; the question asks about MACs."
    else:
        hint = "divide the two models' MACs in the table of the 224x224 comparison."
    return report(False, "", hint)
