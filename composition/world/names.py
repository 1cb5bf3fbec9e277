"""Distinct entity names for the knowledge base builders (composition/world/kb_build*.py)."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["unique_names"]


def unique_names(rng: random.Random, count: int, make: Callable[[random.Random], str]) -> list[str]:
    """Draw ``count`` distinct names from a maker, in draw order (deterministic for a seeded rng)."""
    seen: dict[str, None] = {}
    attempts = 0
    while len(seen) < count:
        attempts += 1
        if attempts > count * 60:
            raise RuntimeError(f"could not draw {count} distinct names; the word lists are too small")
        seen.setdefault(make(rng), None)
    return list(seen)
