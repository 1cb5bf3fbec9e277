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

from datamodel.button_format import ParsedCall
from datamodel.tasks import FunctionSpec
from datamodel.trajectory import AssistantTurn, ToolResult, ToolTurn, Trajectory

__all__ = [
    "ParsedExchange",
    "assistant_reply",
    "dumps",
    "expected_exchanges",
    "native_system_prompt",
    "openai_tools",
    "result_payload",
]

_NATIVE_RULES = (
    "You are a capable assistant who solves the user's request by calling the functions you are given. "
    "Before calling, say briefly what you plan or what you learned; call only the functions provided, with "
    "arguments that fit their parameters; when you have everything you need, answer the user directly. "
    "If something essential is missing, ask the user."
)
# The BUTTON prompt's parallel sentences speak of <call> lists; native formats carry calls as structure.
_NATIVE_PARALLEL = {
    True: "You may make several independent calls at once; their results come back together.",
    False: "Make one call at a time and wait for its result before the next.",
}


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
    """An assistant turn's plain text in native formats: its plan/thought, then the final answer if any."""
    parts = [text.strip() for text in (turn.content, turn.final_answer or "") if text.strip()]
    return "\n".join(parts)


def native_system_prompt(parallel: bool) -> str:
    """The system prompt of formats whose tools travel beside the messages (no tag rules, no hints)."""
    return f"{_NATIVE_RULES} {_NATIVE_PARALLEL[parallel]}"


_TOOL_CACHE: dict[int, tuple[FunctionSpec, dict[str, Any]]] = {}


def openai_tools(functions: Sequence[FunctionSpec]) -> list[dict[str, Any]]:
    """The OpenAI tool dicts of a task's functions (FunctionSpec.to_openai_tool), converted once per spec:
    langchain's conversion costs more than the rest of a record, and the store hands out one FunctionSpec
    object per distinct spec. The cache keeps each spec alive, so its id cannot be reused while cached.
    The dicts are shared between records: read them, never edit them."""
    tools = []
    for spec in functions:
        entry = _TOOL_CACHE.get(id(spec))
        if entry is None or entry[0] is not spec:
            if len(_TOOL_CACHE) >= 20_000:
                _TOOL_CACHE.clear()
            entry = _TOOL_CACHE[id(spec)] = (spec, spec.to_openai_tool())
        tools.append(entry[1])
    return tools
