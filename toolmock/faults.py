"""A task's planned tool failure, decided per call: the one rule every tool simulator follows.

A tool_error task (datamodel/behaviours.py) names the call that fails and how: once and then never again
(transient), for as long as the misspelt value is passed (typo), or every time (unavailable). Whether a
call fails depends only on the fault, the call and the results the conversation already holds, so the
offline tool and an LLM tool fail alike, and a conversation forked after the failure does not fail again.
"""

from __future__ import annotations

from collections.abc import Sequence

from datamodel.behaviours import ToolFault
from datamodel.trajectory import ToolCall, ToolResult

__all__ = ["planned_failures"]


def _fails(fault: ToolFault, faulty: str, call: ToolCall, earlier: Sequence[ToolResult]) -> bool:
    if call.name != faulty:
        return False
    if fault.kind == "typo":
        return fault.argument is not None and call.arguments.get(fault.argument) == fault.typo
    if fault.kind == "transient":
        return not any(r.name == faulty and r.error == fault.message for r in earlier)
    return True


def planned_failures(
    fault: ToolFault | None, faulty: str | None, calls: Sequence[ToolCall], earlier: Sequence[ToolResult]
) -> list[str | None]:
    """The error message each call of one turn gets by plan, or None where the call runs. `earlier` are
    the conversation's results before this turn; the calls count in order (a transient error fails the
    first of two parallel calls only)."""
    if fault is None or faulty is None:
        return [None] * len(calls)
    seen = list(earlier)
    planned: list[str | None] = []
    for call in calls:
        failure = fault.message if _fails(fault, faulty, call, seen) else None
        planned.append(failure)
        seen.append(ToolResult(call_id=call.id, name=call.name, arguments=call.arguments, error=failure))
    return planned
