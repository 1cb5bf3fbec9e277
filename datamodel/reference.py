"""Ground truth of an offline-world task: the steps that solve it (calls and logic) and the answer.

Every step says how its value is named in the question's own terms, so the offline assistant can talk
about it; the verifier checks conversations against the steps.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

__all__ = ["ArgBinding", "LiteralArg", "LogicOp", "RefArg", "ReferenceStep", "TaskReference"]


class LogicOp(StrEnum):
    """Steps the assistant does itself, with no function (as in the paper)."""

    DIFFERENCE = "difference"  # a - b, numbers
    SUM = "sum"  # a + b + ..., numbers
    MAX = "max"  # label of the largest operand, or of the largest item of one list operand
    MIN = "min"  # label of the smallest operand, or of the smallest item of one list operand
    COUNT = "count"  # number of items in one list operand
    EQUAL = "equal"  # whether two operands are equal: True / False


class LiteralArg(BaseModel):
    """An argument value written out in the task itself."""

    kind: Literal["literal"] = "literal"
    value: Any = Field(description="The JSON value passed as the argument.")


class RefArg(BaseModel):
    """An argument value taken from the output of an earlier sub-task."""

    kind: Literal["ref"] = "ref"
    step: int = Field(ge=0, description="Index of the sub-task whose output is used.")
    field: str | None = Field(
        default=None, description="Key in that step's result object; None for a logic step's bare value."
    )


ArgBinding = Annotated[LiteralArg | RefArg, Field(discriminator="kind")]


class ReferenceStep(BaseModel):
    """The known-right way to do one sub-task in the offline world: a call or a logic operation."""

    subtask: int = Field(ge=0, description="Index of the sub-task this step solves.")
    function: str | None = Field(default=None, description="Function to call; None for a logic step.")
    arguments: dict[str, ArgBinding] = Field(
        default_factory=dict, description="Argument bindings of the call, literal or from earlier steps."
    )
    operation: LogicOp | None = Field(default=None, description="The logic operation of a logic step.")
    operands: list[ArgBinding] = Field(default_factory=list, description="Inputs of the logic operation.")
    labels: list[str] = Field(
        default_factory=list, description="Names of the scalar operands, reported by max/min."
    )
    key: str | None = Field(
        default=None, description="For max/min over one list operand: the item field compared."
    )
    label_key: str | None = Field(
        default=None, description="For max/min over one list operand: the item field reported."
    )
    result: Any = Field(description="Expected output: the function's result object, or the logic value.")
    phrase: str | None = Field(
        default=None,
        description="The value this step yields, named in the question's own terms, with {k} standing for "
        "the value of step k (e.g. 'the birth year of {0}'); what the offline assistant writes in notes and "
        "answers. Never a hint: it words the question, not the decomposition.",
    )
    noun: str | None = Field(default=None, description="A short noun for the value ('author', 'city').")
    value_format: str = Field(
        default="{}", description="How the value is written: its unit or quotes around {} ('{} minutes')."
    )

    @model_validator(mode="after")
    def _call_or_logic(self) -> ReferenceStep:
        if (self.function is None) == (self.operation is None):
            raise ValueError(f"step {self.subtask}: exactly one of function and operation must be set")
        return self


class TaskReference(BaseModel):
    """Ground truth of an offline-world task: how to solve it and what the answer is."""

    steps: list[ReferenceStep] = Field(description="One step per sub-task, in sub-task order.")
    answer: Any = Field(description="The final answer value (number, string, boolean or list).")
    answer_text: str = Field(description="The answer as it should appear in a final reply.")
