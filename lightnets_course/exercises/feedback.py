"""How every exercise answers: a verdict, and on a wrong answer a hint that names the first thing
wrong (never the solution). Shared by the notebooks' ``check_*`` functions."""

from __future__ import annotations

import copy
import numbers
from typing import Any

import torch
from torch import nn

__all__ = ["as_number", "check_module", "close", "report", "unanswered"]


def report(ok: bool, right: str, hint: str) -> bool:
    """Print the verdict for an exercise and return it."""
    if ok:
        print(f"Correct. {right}")
    else:
        print(f"Not yet. Hint: {hint}")
    return ok


def unanswered(answer: object) -> bool:
    """Say so and return True while the learner has not yet replaced the ``...`` placeholder."""
    if answer is Ellipsis:
        print("Replace ... with your answer, then run the cell again.")
        return True
    return False


def as_number(answer: object) -> float | None:
    """The answer as a float if it is one number (Python, NumPy or a one-element tensor), else None."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Real):
        return float(answer)
    if hasattr(answer, "numel") and hasattr(answer, "item") and answer.numel() == 1:
        return float(answer.item())
    return None


def close(value: float, target: float, rel: float) -> bool:
    return abs(value - target) <= rel * abs(target)


def _describe(shapes: list[tuple[str, tuple[int, ...]]]) -> str:
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes)


def check_module(
    build: Any,
    arguments: tuple,
    reference: nn.Module,
    inputs: torch.Tensor,
    what: str,
    right: str,
) -> bool:
    """Check the learner's module class (or function that builds one) by what it does.

    ``build(*arguments)`` must give a module that, with the weights of ``reference`` copied in layer by
    layer (in the order the layers are defined), computes what ``reference`` computes on ``inputs``.
    The hint names the first thing wrong: it does not build, it has no layers or the wrong ones (their
    shapes are listed next to the expected), its forward fails or returns the wrong shape, or the same
    weights give other outputs (an activation or a shortcut in the wrong place).
    """
    if unanswered(build):
        return False
    try:
        theirs = build(*arguments)
    except Exception as error:  # the learner's code: any mistake is worth a hint
        return report(False, "", f"building {what}{arguments} failed: {type(error).__name__}: {error}")
    if not isinstance(theirs, nn.Module):
        return report(False, "", f"{what}{arguments} gave a {type(theirs).__name__}, not a torch.nn.Module")
    expected = [(name, tuple(value.shape)) for name, value in reference.state_dict().items()]
    got = [(name, tuple(value.shape)) for name, value in theirs.state_dict().items()]
    weights = [shape for name, shape in expected if not name.endswith("num_batches_tracked")]
    their_weights = [shape for name, shape in got if not name.endswith("num_batches_tracked")]
    if not their_weights:
        return report(
            False, "", f"your module has no layers with weights yet; expected: {_describe(expected)}"
        )
    if their_weights != weights:
        first = next(
            (i for i, (a, b) in enumerate(zip(their_weights, weights)) if a != b),
            min(len(weights), len(their_weights)),
        )
        wanted = weights[first] if first < len(weights) else "nothing more"
        found = their_weights[first] if first < len(their_weights) else "nothing"
        return report(
            False,
            "",
            f"weight tensor {first + 1} (in the order your layers are defined) should have shape {wanted}, "
            f"yours has {found}. Expected, in order: {', '.join(str(s) for s in weights)}",
        )
    reference = copy.deepcopy(reference).eval()
    theirs = theirs.eval()
    with torch.no_grad():
        for mine, value in zip(
            [v for n, v in theirs.state_dict().items() if not n.endswith("num_batches_tracked")],
            [v for n, v in reference.state_dict().items() if not n.endswith("num_batches_tracked")],
        ):
            mine.copy_(value)
        try:
            output = theirs(inputs)
        except Exception as error:
            return report(False, "", f"forward failed on an input of shape {tuple(inputs.shape)}: {error}")
        wanted = reference(inputs)
    if not isinstance(output, torch.Tensor):
        return report(False, "", f"forward returned {type(output).__name__}; return the output tensor")
    if output.shape != wanted.shape:
        return report(
            False, "", f"the output has shape {tuple(output.shape)}, expected {tuple(wanted.shape)}"
        )
    if not torch.allclose(output, wanted, atol=1e-5, rtol=1e-4):
        return report(
            False,
            "",
            "the layers and shapes are right, but with the same weights the outputs differ: check the "
            "order of the layers and where each activation (and any shortcut) goes",
        )
    return report(True, right, "")
