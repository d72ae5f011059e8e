"""Argument checks shared by the package, with messages that name the argument and what it takes."""

from __future__ import annotations

from typing import Any

__all__ = ["check_batch_size", "check_image_size", "is_whole_number", "whole_number"]


def is_whole_number(value: Any) -> bool:
    """An ``int`` that is not a ``bool`` (``True`` is an int in Python, never a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(value: Any, name: str, minimum: int = 1, what: str = "") -> int:
    """``value`` if it is a whole number >= ``minimum``, else a ValueError that says so.

    >>> whole_number(0, "batch_size")
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive whole number, got 0
    """
    if not is_whole_number(value) or value < minimum:
        at_least = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise ValueError(f"{name} must be {at_least}{what}, got {value!r}")
    return value


def check_batch_size(batch_size: Any, allow_minus_one: bool = False) -> None:
    """A positive whole number (or -1 where a summary shows the batch dimension as -1)."""
    if allow_minus_one and batch_size == -1 and is_whole_number(batch_size):
        return
    whole_number(
        batch_size, "batch_size", what=" (or -1 to show the batch dimension as -1)" if allow_minus_one else ""
    )


def check_image_size(image_size: Any) -> None:
    """A positive whole number of pixels."""
    whole_number(image_size, "image_size", what=" of pixels (like 224)")
