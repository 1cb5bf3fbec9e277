"""Internal building blocks of the offline world: typed parameters and world functions.

Every input and output property carries a *semantic type* (``stype``) such as ``person_name`` or ``year``.
Typed output→input links between functions are found by matching semantic types, which is how the
composition strategies chain one function's result into the next one's argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from datamodel.tasks import FunctionSpec

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = [
    "SUPERTYPES",
    "Impl",
    "ListInfo",
    "Param",
    "ToolExecutionError",
    "WorldFunction",
    "feeds",
]


class ToolExecutionError(Exception):
    """A world function could not run: unknown function, or an argument names nothing in the KB."""


# A value of the key type may be passed wherever the value type is expected (a doctor is a person).
SUPERTYPES: dict[str, str] = {
    "doctor_name": "person_name",
    "player_name": "person_name",
    "capital_city": "city",
}


def feeds(output_stype: str, input_stype: str) -> bool:
    """Whether an output of one semantic type may be linked into an input of another."""
    current: str | None = output_stype
    while current is not None:
        if current == input_stype:
            return True
        current = SUPERTYPES.get(current)
    return False


@dataclass(frozen=True)
class ListInfo:
    """How a list-of-objects output is talked about and reduced by max/min/count logic steps."""

    singular: str  # "flight"
    plural: str  # "flights"
    qualifier: str  # "from {origin_city} to {destination_city}" (input placeholders)
    label_key: str  # item field naming the item, reported by max/min
    # item key -> (max pattern, min pattern), each with an {item} slot: ("longest {item}", ...)
    superlatives: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """One input or output property: JSON type, semantic type and a description for the schema."""

    key: str
    stype: str
    json_type: str
    description: str
    enum: tuple[str, ...] | None = None
    fmt: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: tuple[Param, ...] = ()
    listing: ListInfo | None = None

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this property."""
        out: dict[str, Any] = {"type": self.json_type, "description": self.description}
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.fmt is not None:
            out["format"] = self.fmt
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.items:
            out["items"] = _object_schema(self.items)
        return out

    @property
    def is_list(self) -> bool:
        """Whether the property is a list of objects."""
        return self.json_type == "array"

    @property
    def is_number(self) -> bool:
        """Whether the property is numeric (usable by difference, sum, max, min)."""
        return self.json_type in ("integer", "number")


def _object_schema(params: tuple[Param, ...], closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {p.key: p.schema() for p in params},
        "required": [p.key for p in params],
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


Impl = Callable[["KnowledgeBase", dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class WorldFunction:
    """A typed function of the world: its schema pieces, implementation and phrasing.

    ``phrases`` maps an answerable output key to noun-phrase templates whose ``{placeholders}`` are the
    input keys ("the author of {title}"); nesting these phrases is what makes chained questions read well.
    """

    name: str
    domain: str
    description: str
    scenario: str
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...]
    impl: Impl
    phrases: Mapping[str, tuple[str, ...]]

    @cached_property
    def spec(self) -> FunctionSpec:
        """The public FunctionSpec derived from the typed parameters.

        Built with ``model_construct`` because schema checking costs milliseconds per spec and the world
        must start fast; the test suite validates every spec in full instead.
        """
        params = _object_schema(self.inputs, closed=True)
        return FunctionSpec.model_construct(
            name=self.name,
            description=self.description,
            parameters=params,
            responses=_object_schema(self.outputs),
            domain=self.domain,
        )

    def output(self, key: str) -> Param:
        """The output property of that key."""
        return next(p for p in self.outputs if p.key == key)

    def input(self, key: str) -> Param:
        """The input property of that key."""
        return next(p for p in self.inputs if p.key == key)
