"""How every exercise answers: a verdict, and on a wrong answer a hint that names the first thing
wrong (never the solution). Shared by the notebooks' ``check_*`` functions."""

from __future__ import annotations

import numbers

__all__ = ["as_number", "close", "report", "unanswered"]


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
