"""What every export format shares: the exchanges a record must carry, result payloads, native prompts.

An *exchange* is one assistant turn's calls and the results that came back for them. Every format renders
the stored trajectory's exchanges its own way and parses them back with a pure function, so the round-trip
tests can hold every format to the same standard: the calls (name, arguments) and results, in order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from datamodel.button_format import ParsedCall, render_final_block
from datamodel.tasks import FunctionSpec
from datamodel.trajectory import AssistantTurn, ToolResult, ToolTurn, Trajectory

__all__ = [
    "ParsedExchange",
    "assistant_reply",
    "dumps",
    "expected_exchanges",
    "openai_tools",
    "result_payload",
]


@dataclass(frozen=True)
class ParsedExchange:
    """One assistant turn's calls and the result payloads of the tool turn that answered them."""

    calls: list[ParsedCall]
    results: list[Any] = field(default_factory=list)


def dumps(value: Any) -> str:
    """JSON as every format writes it: UTF-8 text kept readable, key order as stored."""
    return json.dumps(value, ensure_ascii=False)


def result_payload(result: ToolResult) -> Any:
    """What a call returned, as the model sees it: the results, or {"error": why} when it failed."""
    return {"error": result.error} if result.error is not None else result.results


def expected_exchanges(trajectory: Trajectory) -> list[ParsedExchange]:
    """The exchanges of a stored trajectory, in order: what every format must parse back to."""
    exchanges: list[ParsedExchange] = []
    for turn in trajectory.turns:
        if isinstance(turn, AssistantTurn) and turn.tool_calls:
            calls = [ParsedCall(name=c.name, arguments=c.arguments) for c in turn.tool_calls]
            exchanges.append(ParsedExchange(calls=calls))
        elif isinstance(turn, ToolTurn) and exchanges:
            exchanges[-1].results.extend(result_payload(r) for r in turn.results)
    return exchanges


def assistant_reply(turn: AssistantTurn) -> str:
    """An assistant turn's text in native formats: its plan/thought, then the final answer in its
    `<final>` block, as the native system prompt asks (calls travel as structure beside it)."""
    parts = [turn.content.strip()] if turn.content.strip() else []
    if turn.final_answer is not None and turn.final_answer.strip():
        parts.append(render_final_block(turn.final_answer.strip()))
    return "\n".join(parts)


def openai_tools(functions: Sequence[FunctionSpec]) -> list[dict[str, Any]]:
    """The OpenAI tool dicts of a task's functions (FunctionSpec.to_openai_tool)."""
    return [spec.to_openai_tool() for spec in functions]
