"""Feedback for the notebooks' exercises.

Each ``check_*`` function takes the learner's answer, prints whether it is right, and on a wrong
answer prints a hint (never the solution). It returns ``True`` or ``False`` so tests can call it.
"""

from __future__ import annotations


def _report(ok: bool, right: str, hint: str) -> bool:
    """Print the verdict for an exercise and return it."""
    if ok:
        print(f"Correct. {right}")
    else:
        print(f"Not yet. Hint: {hint}")
    return ok
