"""The knowledge base behind the offline world: seeded, deterministic, consistent entity tables.

Tables map an entity type to rows keyed by the entity's name; row keys are the same names the world
functions return, so a lookup function is a projection of a row. Facts that depend on two entities or on
a date (weather, flights, showtimes) are derived on demand from a string-seeded ``random.Random``, which
is stable across processes (no ``hash()``), so every call still has exactly one right result.
"""

from __future__ import annotations

import math
import random
from typing import Any

from composition.world.kb_build import build_all
from composition.world.types import ToolExecutionError

__all__ = ["KnowledgeBase"]

# How an entity type is named in error messages and hints.
ENTITY_NOUNS: dict[str, str] = {
    "book": "book titled",
    "person": "person named",
    "city": "city named",
    "country": "country named",
    "airport": "airport with code",
}


class KnowledgeBase:
    """Entity tables, reverse indexes and derived facts for one world seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self._indexes: dict[tuple[str, str], dict[Any, list[str]]] = {}
        build_all(self, random.Random(f"world:{seed}"))

    def add(self, entity: str, name: str, row: dict[str, Any]) -> None:
        """Insert one entity row (names are unique per entity type)."""
        table = self.tables.setdefault(entity, {})
        if name in table:
            raise ValueError(f"duplicate {entity} {name!r}")
        table[name] = row

    def names(self, entity: str) -> list[str]:
        """All names of an entity type, in insertion order."""
        return list(self.tables[entity])

    def row(self, entity: str, name: Any) -> dict[str, Any]:
        """The row of a named entity; a clear ToolExecutionError when the name is not in the world."""
        table = self.tables.get(entity, {})
        if isinstance(name, str) and name in table:
            return table[name]
        noun = ENTITY_NOUNS.get(entity, f"{entity.replace('_', ' ')} named")
        hint = _closest(name, table) if isinstance(name, str) else None
        extra = f" Did you mean {hint!r}?" if hint else ""
        raise ToolExecutionError(f"No {noun} {name!r} is known.{extra}")

    def where(self, entity: str, attribute: str, value: Any) -> list[str]:
        """Names of the entities whose attribute equals value, in insertion order."""
        index = self._indexes.get((entity, attribute))
        if index is None:
            index = {}
            for name, row in self.tables[entity].items():
                index.setdefault(row[attribute], []).append(name)
            self._indexes[(entity, attribute)] = index
        return list(index.get(value, []))

    def rng(self, *parts: object) -> random.Random:
        """A generator for a derived fact, seeded by the world seed and the fact's identity."""
        return random.Random(":".join([str(self.seed), *map(str, parts)]))

    def distance_km(self, city_a: str, city_b: str) -> int:
        """Great-circle distance between two cities, rounded to whole kilometres."""
        a, b = self.row("city", city_a), self.row("city", city_b)
        lat1, lat2 = math.radians(a["latitude"]), math.radians(b["latitude"])
        dlat = lat2 - lat1
        dlon = math.radians(b["longitude"] - a["longitude"])
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        return round(2 * 6371 * math.asin(math.sqrt(h)))


def _closest(name: str, table: dict[str, Any]) -> str | None:
    """A same-prefix suggestion for a mistyped name (cheap: no fuzzy library)."""
    lowered = name.strip().lower()
    for candidate in table:
        if candidate.lower() == lowered:
            return candidate
    prefix = lowered[:4]
    if len(prefix) < 4:
        return None
    return next((c for c in table if c.lower().startswith(prefix)), None)
