"""Behaviours beyond one answerable request, as a task carries them.

Real function-calling models must also ask for a missing detail instead of inventing it, carry a
conversation over several requests, say so when no function fits, recover from a failed call, and tell
look-alike functions apart. A run mixes these in (`BehaviourMix`, shares of the run); each task carries
at most one of the first four (`Behaviour`) and may offer look-alikes besides, with what the simulated
user, tool and verifier need to play and check it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from datamodel.reference import ReferenceStep

__all__ = ["Behaviour", "BehaviourMix", "FollowUp", "ToolFault", "Withheld"]


class Behaviour(StrEnum):
    """What a conversation asks of the assistant besides calling the right functions."""

    PLAIN = "plain"  # one answerable request; every call succeeds
    CLARIFY = "clarify"  # the request leaves out a value a function needs; the user gives it when asked
    FOLLOW_UP = "follow_up"  # after the answer, more requests that build on earlier answers
    IRRELEVANT = "irrelevant"  # no offered function can do what is asked; the assistant says so
    TOOL_ERROR = "tool_error"  # one call fails the way real APIs fail; the assistant recovers or reports


class BehaviourMix(BaseModel):
    """The share of a run's tasks given each behaviour (the rest are plain), and the share that also offers
    look-alikes of a needed function. Drawn per task from the run's seed, so a mix is reproducible."""

    model_config = ConfigDict(extra="forbid")

    clarify: float = Field(default=0.1, ge=0, le=1, description="Share of requests missing a needed value.")
    follow_up: float = Field(default=0.15, ge=0, le=1, description="Share with follow-up requests.")
    irrelevant: float = Field(default=0.05, ge=0, le=1, description="Share no offered function can answer.")
    tool_error: float = Field(default=0.1, ge=0, le=1, description="Share where one call fails.")
    look_alike: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Share offering near twins of a needed function (with any behaviour above).",
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> BehaviourMix:
        total = self.clarify + self.follow_up + self.irrelevant + self.tool_error
        if total > 1:
            raise ValueError(f"clarify + follow_up + irrelevant + tool_error is {total:g}; at most 1")
        return self

    @classmethod
    def none(cls) -> BehaviourMix:
        """Every task plain and no look-alikes: the tasks a run made before behaviours existed."""
        return cls(clarify=0, follow_up=0, irrelevant=0, tool_error=0, look_alike=0)

    def shares(self) -> dict[Behaviour, float]:
        """Each behaviour's share, plain included (what the others leave)."""
        given = {
            Behaviour.CLARIFY: self.clarify,
            Behaviour.FOLLOW_UP: self.follow_up,
            Behaviour.IRRELEVANT: self.irrelevant,
            Behaviour.TOOL_ERROR: self.tool_error,
        }
        return {Behaviour.PLAIN: max(0.0, 1 - sum(given.values())), **given}


class Withheld(BaseModel):
    """Clarify: the value the request leaves out, which the user gives when asked."""

    step: int = Field(ge=0, description="The reference step whose call needs the value.")
    argument: str = Field(description="The argument of that call.")
    value: Any = Field(description="The value the user has in mind.")
    text: str = Field(description="The value as the user says it.")
    noun: str = Field(description="What the value is ('author', 'city'), for the assistant's question.")


class FollowUp(BaseModel):
    """One more request after an answer, built on what the conversation already found."""

    instruction: str = Field(description="The user's next request, as said.")
    steps: list[ReferenceStep] = Field(
        description="Its reference steps, numbered after every earlier step and free to use their results."
    )
    answer: Any = Field(description="The answer to this request.")
    answer_text: str = Field(description="The answer as it should appear in the reply.")


class ToolFault(BaseModel):
    """Tool error: how one call fails, and what the assistant should do about it."""

    step: int = Field(ge=0, description="The sub-task whose call fails.")
    kind: Literal["transient", "typo", "unavailable"] = Field(
        description="transient: fails once, then works; typo: the request misspells a value and the error "
        "suggests the right one; unavailable: fails every time."
    )
    message: str = Field(description="The error the function returns.")
    expected: Literal["retry", "correct", "report"] = Field(
        description="What the assistant should do: call again, call again with the corrected value, or tell "
        "the user it cannot be done now."
    )
    argument: str | None = Field(default=None, description="Typo: the misspelled argument.")
    typo: str | None = Field(default=None, description="Typo: the value as misspelled in the request.")
