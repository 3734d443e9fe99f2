"""Value checks a method's option field names in its metadata (``"check"``); ``UnlearnConfig`` runs them.

A check takes the value and returns a problem message, or None when the value is fine. Light on purpose:
the options dataclasses that use these are bases of ``UnlearnConfig`` and must not import torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Check = Callable[[object], "str | None"]


def finite_number(minimum: float | None = None, strictly_above: bool = False) -> Check:
    """A finite real number (not a bool), at least ``minimum`` (above it when ``strictly_above``)."""
    bound = "" if minimum is None else f" {'>' if strictly_above else '>='} {minimum:g}"

    def check(value) -> str | None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and minimum is not None:
            ok = value > minimum if strictly_above else value >= minimum
        return None if ok else f"must be a finite number{bound}"

    return check
