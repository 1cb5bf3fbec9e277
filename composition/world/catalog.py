"""The full function catalog of the offline world, gathered once per process.

The catalog does not depend on the world seed (the seed only changes the knowledge base behind it), so it
is built once and shared by every ``OfflineWorld``; that keeps world construction fast.
"""

from __future__ import annotations

from functools import lru_cache

from composition.world.catalog_commerce import commerce_functions
from composition.world.catalog_life import life_functions
from composition.world.catalog_media import media_functions
from composition.world.catalog_places import places_functions
from composition.world.types import WorldFunction

__all__ = ["all_functions"]


@lru_cache(maxsize=1)
def all_functions() -> tuple[WorldFunction, ...]:
    """Every world function, in a fixed order; names are unique."""
    functions = (*media_functions(), *places_functions(), *commerce_functions(), *life_functions())
    names = [f.name for f in functions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RuntimeError(f"function names repeat in the catalog: {duplicates}")
    return functions
