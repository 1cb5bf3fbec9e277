"""Small constructors the catalog modules use to declare world functions tersely and consistently.

Most functions are projections of one entity row (``lookup``); the rest say their implementation outright.
Declaring fields once per entity keeps key names and semantic types aligned across functions, which is
what lets the output of one function feed the input of the next.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from composition.world.types import ListInfo, Param, ToolExecutionError, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["Field", "as_date", "field", "lister", "lookup", "param", "require_number", "simple"]


def param(key: str, stype: str, json_type: str, description: str, **extra: Any) -> Param:
    """A typed property (input or output)."""
    return Param(key=key, stype=stype, json_type=json_type, description=description, **extra)


@dataclass(frozen=True)
class Field:
    """An entity attribute returned by lookups, with noun phrases where ``{x}`` is the entity."""

    param: Param
    phrases: tuple[str, ...]


def field(key: str, stype: str, json_type: str, description: str, *phrases: str) -> Field:
    """Declare one entity attribute and how to name it in a question."""
    return Field(param(key, stype, json_type, description), phrases)


def lookup(
    name: str,
    domain: str,
    description: str,
    scenario: str,
    entity: str,
    key: Param,
    fields: Sequence[Field],
) -> WorldFunction:
    """A function returning some attributes of the entity named by its single input."""
    keys = tuple(f.param.key for f in fields)

    def impl(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
        row = kb.row(entity, args.get(key.key))
        return {k: row[k] for k in keys}

    placeholder = "{" + key.key + "}"
    phrases = {
        f.param.key: tuple(t.replace("{x}", placeholder) for t in f.phrases) for f in fields if f.phrases
    }
    return WorldFunction(
        name=name,
        domain=domain,
        description=description,
        scenario=scenario,
        inputs=(key,),
        outputs=tuple(f.param for f in fields),
        impl=impl,
        phrases=phrases,
    )


def simple(
    name: str,
    domain: str,
    description: str,
    scenario: str,
    inputs: Sequence[Param],
    outputs: Sequence[Param],
    impl: Callable[[KnowledgeBase, dict[str, Any]], dict[str, Any]],
    phrases: Mapping[str, Sequence[str]],
) -> WorldFunction:
    """A function with a hand-written implementation."""
    return WorldFunction(
        name=name,
        domain=domain,
        description=description,
        scenario=scenario,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        impl=impl,
        phrases={k: tuple(v) for k, v in phrases.items()},
    )


def lister(
    key: str,
    description: str,
    items: Sequence[Param],
    info: ListInfo,
) -> Param:
    """A list-of-objects output property, reducible by count/max/min logic steps."""
    return param(key, f"list:{info.singular}", "array", description, items=tuple(items), listing=info)


def require_number(args: dict[str, Any], key: str) -> float:
    """A numeric argument, or a clear error (the caller validates, but the world stays defensive)."""
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolExecutionError(f"Argument {key!r} must be a number, got {value!r}.")
    return value


def as_date(args: dict[str, Any], key: str) -> Any:
    """A ``YYYY-MM-DD`` argument as a date, or a clear error."""
    import datetime as dt

    value = args.get(key)
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ToolExecutionError(f"Argument {key!r} must be a date like 2025-03-14, got {value!r}.") from None
