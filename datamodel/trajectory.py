"""Data types of the top-down phase: the turns of one simulated conversation.

Turns are a union told apart by the literal `role` field. A trajectory is what one episode produces and
what the store, the verifier and every export read; its checks are in datamodel/checks.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AssistantTurn",
    "ToolCall",
    "ToolResult",
    "ToolTurn",
    "Trajectory",
    "TerminationReason",
    "Turn",
    "Usage",
    "UserTurn",
]


class TerminationReason(StrEnum):
    """Why an episode ended."""

    FINAL_ANSWER = "final_answer"
    MAX_TURNS = "max_turns"
    STALLED = "stalled"  # the assistant kept replying with neither calls nor an answer
    ERROR = "error"
    BUDGET = "budget"


class Usage(BaseModel):
    """Tokens and time of one model call, where the client reports them."""

    prompt_tokens: int = Field(default=0, description="Tokens sent to the model.")
    completion_tokens: int = Field(default=0, description="Tokens the model produced.")
    latency_ms: float = Field(default=0.0, description="Wall time of the call in milliseconds.")
    model: str = Field(default="", description="Name of the model (client) that produced the turn.")


class ToolCall(BaseModel):
    """One function call made by the assistant."""

    id: str = Field(description="Call id, unique within the conversation.")
    name: str = Field(description="Name of the function called.")
    arguments: dict[str, Any] = Field(description="Arguments as a JSON object.")


class ToolResult(BaseModel):
    """What one call returned, or why it failed."""

    call_id: str = Field(description="Id of the call this answers.")
    name: str = Field(description="Name of the function called.")
    arguments: dict[str, Any] = Field(description="Arguments the call was made with.")
    results: Any = Field(default=None, description="The function's output (JSON), None on error.")
    error: str | None = Field(default=None, description="Why the call failed, None on success.")


class UserTurn(BaseModel):
    """A message from the simulated user."""

    role: Literal["user"] = "user"
    content: str = Field(description="What the user says.")
    usage: Usage | None = Field(default=None, description="Cost of producing the turn.")


class AssistantTurn(BaseModel):
    """A message from the assistant: thought/plan text, function calls, or a final answer."""

    role: Literal["assistant"] = "assistant"
    content: str = Field(default="", description="Plan, observation or thought written before calls.")
    tool_calls: list[ToolCall] = Field(default_factory=list, description="Calls made in this turn.")
    final_answer: str | None = Field(default=None, description="The final answer, if this turn ends it.")
    raw: str | None = Field(default=None, description="The model's raw output, when it was text.")
    format_error: str | None = Field(
        default=None, description="Why the raw output could not be parsed, if it could not."
    )
    usage: Usage | None = Field(default=None, description="Cost of producing the turn.")


class ToolTurn(BaseModel):
    """The results of every call of the preceding assistant turn."""

    role: Literal["tool"] = "tool"
    results: list[ToolResult] = Field(description="One result per call, in call order.")
    usage: Usage | None = Field(default=None, description="Cost of simulating the results.")


Turn = Annotated[UserTurn | AssistantTurn | ToolTurn, Field(discriminator="role")]


class Trajectory(BaseModel):
    """One simulated conversation, as the episode produced it."""

    turns: list[Turn] = Field(default_factory=list, description="The conversation, in order.")
    termination: TerminationReason = Field(description="Why the episode ended.")
    error: str | None = Field(default=None, description="What went wrong, when the episode errored.")
    parallel: bool = Field(description="Whether parallel calls were allowed.")

    @property
    def calls(self) -> list[ToolCall]:
        """Every call, in the order made."""
        return [c for t in self.turns if isinstance(t, AssistantTurn) for c in t.tool_calls]

    @property
    def error_line(self) -> str | None:
        """The error in one line (its last), for messages; `error` keeps the whole text, for whoever debugs
        it."""
        if self.error is None:
            return None
        lines = [line.strip() for line in self.error.splitlines() if line.strip() not in ("", ")")]
        return (lines[-1] if lines else self.error)[:300]

    @property
    def final_answer(self) -> str | None:
        """The final answer, if the assistant gave one."""
        for turn in reversed(self.turns):
            if isinstance(turn, AssistantTurn) and turn.final_answer is not None:
                return turn.final_answer
        return None

    def result_of(self, call_id: str) -> ToolResult | None:
        """The result of a call, if one came back."""
        for turn in self.turns:
            if isinstance(turn, ToolTurn):
                for result in turn.results:
                    if result.call_id == call_id:
                        return result
        return None
