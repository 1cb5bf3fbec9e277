"""Data types of the bottom-up phase: scenarios, atomic and compositional tasks, function specs.

Every other package imports these; nobody redefines them as dicts. A function spec's JSON Schema is the
single source of truth for the argument validator, the OpenAI tool dict and the system-prompt listing.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datamodel.behaviours import Behaviour, FollowUp, ToolFault, Withheld
from datamodel.reference import TaskReference

__all__ = [
    "AtomicTask",
    "CompositionalTask",
    "FunctionSpec",
    "Scenario",
    "Strategy",
    "SubTask",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class Strategy(StrEnum):
    """How a compositional task was built from its atomic task."""

    ATOMIC = "atomic"
    SEQUENTIAL = "sequential"
    PARALLEL_THEN_SEQUENTIAL = "parallel_then_sequential"


class Scenario(BaseModel):
    """An everyday situation behind a task, e.g. 'booking flights' (10 words at most, no specifics)."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="Short scenario type, at most 10 words, no specific items or numbers.")
    domain: str = Field(description="Coarse domain the scenario belongs to, e.g. 'travel' or 'books'.")
    source: str = Field(
        default="offline-world", description="Where it came from: offline-world, seed, or expansion."
    )

    @field_validator("text")
    @classmethod
    def _at_most_ten_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("scenario text is empty")
        if len(value.split()) > 10:
            raise ValueError(f"scenario has {len(value.split())} words, at most 10 allowed: {value!r}")
        return value.strip()


class AtomicTask(BaseModel):
    """A self-contained, function-agnostic task solvable in one step (30 words at most)."""

    model_config = ConfigDict(frozen=True)

    instruction: str = Field(description="The task as a person would ask it; names no tool.")
    scenario: Scenario = Field(description="The scenario the task belongs to.")

    @field_validator("instruction")
    @classmethod
    def _at_most_thirty_words(cls, value: str) -> str:
        if len(value.split()) > 30:
            raise ValueError(f"atomic task has {len(value.split())} words, at most 30 allowed: {value!r}")
        return value


_CACHED = ("argument_validator", "response_validator")  # FunctionSpec's cached_property names


class FunctionSpec(BaseModel):
    """A callable function as the assistant sees it: name, description, JSON-Schema parameters, responses."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Identifier the assistant calls, e.g. 'get_book_author'.")
    description: str = Field(description="What the function does, in one or two sentences.")
    parameters: dict[str, Any] = Field(
        description="JSON Schema (type 'object') of the arguments, including its 'required' list."
    )
    responses: dict[str, Any] = Field(description="JSON Schema (type 'object') of what the function returns.")
    domain: str = Field(default="general", description="Domain the function belongs to, e.g. 'books'.")

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"function name {value!r} is not an identifier (letters, digits, _; max 64)")
        return value

    @field_validator("parameters", "responses")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from exc
        except RecursionError:  # checking recurses per level: a model-written schema ~100 deep overflows
            raise ValueError("the JSON Schema is nested too deeply to check") from None
        if value.get("type") != "object":
            raise ValueError(f"schema must have type 'object', got {value.get('type')!r}")
        return value

    @model_validator(mode="after")
    def _required_are_properties(self) -> FunctionSpec:
        missing = set(self.required) - set(self.parameters.get("properties", {}))
        if missing:
            raise ValueError(f"{self.name}: required names no property: {sorted(missing)}")
        return self

    @property
    def required(self) -> list[str]:
        """Names of the arguments that must be given."""
        return list(self.parameters.get("required", []))

    @cached_property
    def argument_validator(self) -> Draft202012Validator:
        """Validator for call arguments, derived from `parameters`."""
        return Draft202012Validator(self.parameters)

    @cached_property
    def response_validator(self) -> Draft202012Validator:
        """Validator for results, derived from `responses`."""
        return Draft202012Validator(self.responses)

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled (to worker processes) without the cached validators, which hold closures that do not
        pickle; the receiving process builds them again on first use."""
        state = super().__getstate__()
        state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k not in _CACHED}
        return state

    def to_openai_tool(self) -> dict[str, Any]:
        """The OpenAI tools-API dict of this spec: its name, description and parameters schema."""
        function = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": function}

    def assistant_listing(self) -> dict[str, Any]:
        """What the assistant's system prompt lists: name, description, the parameters' schema, and the
        shape of a result (each field with its type, lists with their items' fields). The full `responses`
        schema, with every field's description, is the tool simulator's (`listing`); an assistant needs
        to know which fields come back, and the shorter listing halves a prompt's tokens."""
        parameters = {k: v for k, v in self.parameters.items() if k != "additionalProperties"}
        return {
            "name": self.name,
            "description": self.description,
            "parameters": parameters,
            "responses": _shape(self.responses),
        }

    def listing(self) -> dict[str, Any]:
        """The BUTTON-style listing: name, description, parameters, required, responses."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "required": self.required,
            "responses": self.responses,
        }


def _shape(schema: Any) -> Any:
    """A JSON Schema as the shape of a value: {field: shape}, [item shape], or the type's name."""
    if not isinstance(schema, dict):
        return "any"
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        return {key: _shape(value) for key, value in schema["properties"].items()}
    if schema.get("type") == "array":
        return [_shape(schema.get("items", {}))]
    kind = schema.get("type", "any")
    return kind if isinstance(kind, str) else "|".join(str(k) for k in kind)


class SubTask(BaseModel):
    """One step of a compositional task, with the steps whose outputs it consumes."""

    index: int = Field(ge=0, description="Position of the sub-task in the task's ordered list.")
    instruction: str = Field(description="What this step does, as the hint the assistant sees.")
    depends_on: list[int] = Field(default_factory=list, description="Indices of the sub-tasks it consumes.")
    functions: list[str] = Field(
        default_factory=list, description="Functions the step needs; empty for a pure logic step."
    )


class CompositionalTask(BaseModel):
    """A task built bottom-up, with its ordered sub-tasks and the functions synthesized for it."""

    instruction: str = Field(description="The whole task as the user will ask it.")
    strategy: Strategy = Field(description="How the task was composed.")
    scenario: Scenario = Field(description="The scenario of the task's first atomic task.")
    atomic: AtomicTask = Field(description="The atomic task the composition started from.")
    subtasks: list[SubTask] = Field(min_length=1, description="Ordered sub-tasks with their dependencies.")
    functions: list[FunctionSpec] = Field(description="Functions offered to the assistant for this task.")
    reference: TaskReference | None = Field(
        default=None, description="Ground truth (offline world); None for LLM-made tasks."
    )
    seed: int | None = Field(default=None, description="Seed that produced the task, for reproduction.")
    behaviour: Behaviour = Field(
        default=Behaviour.PLAIN, description="What the conversation asks besides the right calls."
    )
    withheld: Withheld | None = Field(default=None, description="Clarify: the value the request leaves out.")
    follow_ups: list[FollowUp] = Field(
        default_factory=list, description="Follow-up: the requests the user makes after each answer."
    )
    fault: ToolFault | None = Field(default=None, description="Tool error: the call that fails, and how.")
    look_alikes: list[str] = Field(
        default_factory=list, description="Offered functions that are near twins of a needed one."
    )

    @model_validator(mode="after")
    def _consistent(self) -> CompositionalTask:
        names = [f.name for f in self.functions]
        if len(names) != len(set(names)):
            raise ValueError(f"function names repeat in the task: {names}")
        for sub in self.subtasks:
            if any(dep >= sub.index or dep < 0 for dep in sub.depends_on):
                raise ValueError(f"sub-task {sub.index} depends on a later or missing step: {sub.depends_on}")
            unknown = set(sub.functions) - set(names)
            if unknown:
                raise ValueError(f"sub-task {sub.index} needs functions not offered: {sorted(unknown)}")
        if [s.index for s in self.subtasks] != list(range(len(self.subtasks))):
            raise ValueError("sub-task indices must be 0, 1, 2, ... in order")
        return self

    @property
    def depth(self) -> int:
        """Length of the longest chain of dependent sub-tasks."""
        longest: dict[int, int] = {}
        for sub in self.subtasks:
            longest[sub.index] = 1 + max((longest[d] for d in sub.depends_on), default=0)
        return max(longest.values())

    def faulty_function(self) -> str | None:
        """The function whose call the task plans to fail (tool_error), if any: the reference step's, or
        for a task without ground truth the first function of the sub-task."""
        if self.fault is None:
            return None
        if self.reference is None:
            sub = next((s for s in self.subtasks if s.index == self.fault.step), None)
            return sub.functions[0] if sub is not None and sub.functions else None
        return next((s.function for s in self.reference.steps if s.subtask == self.fault.step), None)

    def function(self, name: str) -> FunctionSpec | None:
        """The offered function of that name, if any."""
        return next((f for f in self.functions if f.name == name), None)

    def fingerprint(self) -> str:
        """What makes two tasks the same task, whichever run or database holds them: the request (case
        and spacing aside) and the functions offered. Evaluation keeps tasks with a training set's
        fingerprints out; 16 hex digits keep an 8,000-task manifest small and collisions negligible."""
        request = " ".join(self.instruction.lower().split())
        names = ",".join(sorted(f.name for f in self.functions))
        return hashlib.sha256(f"{request}\n{names}".encode()).hexdigest()[:16]
