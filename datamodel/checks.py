"""Verification results and the one rule that turns them into a verdict.

Each verification layer (simulator/verify.py) yields a `CheckResult`; `verdict` decides whether a
conversation is accepted and, if not, which check rejected it. The store, the batch counters, forks and
reports all ask `verdict`, so the rule is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

__all__ = ["CheckName", "CheckResult", "Verdict", "verdict"]


class CheckName(StrEnum):
    """The verification layers, cheapest first."""

    CALLS_PARSE = "calls_parse"
    FUNCTION_EXISTS = "function_exists"
    ARGUMENTS_VALID = "arguments_valid"
    SUBTASKS_COVERED = "subtasks_covered"
    DEPENDENCY_ORDER = "dependency_order"
    FINAL_ANSWER_PRESENT = "final_answer_present"
    ANSWER_CORRECT = "answer_correct"
    # Behaviours beyond one answerable request (datamodel/behaviours.py); each applies to its own tasks.
    ASKED_NOT_GUESSED = "asked_not_guessed"
    FOLLOW_UPS_ANSWERED = "follow_ups_answered"
    REFUSED_IRRELEVANT = "refused_irrelevant"
    ERROR_HANDLED = "error_handled"
    RIGHT_TWIN = "right_twin"


class CheckResult(BaseModel):
    """The verdict of one verification layer on one conversation."""

    name: CheckName = Field(description="Which layer.")
    passed: bool = Field(description="Whether the conversation passed it.")
    reason: str = Field(description="Why it passed or failed, naming the offending turn or call.")
    applicable: bool = Field(
        default=True, description="False when the layer could not apply (no ground truth)."
    )


class Verdict(NamedTuple):
    """Accepted, or rejected by the first applicable check that failed (in layer order)."""

    status: Literal["accepted", "rejected"]
    rejected_by: CheckName | None

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"


def verdict(checks: Iterable[CheckResult]) -> Verdict:
    """A conversation is accepted when every applicable check passed; checks that could not apply (no
    ground truth) never reject."""
    failed = next((c for c in checks if c.applicable and not c.passed), None)
    if failed is None:
        return Verdict("accepted", None)
    return Verdict("rejected", failed.name)
