"""What every export format shares: the exchanges a record must carry, result payloads, native prompts.

An *exchange* is one step of the dialogue as a trainer sees it: a user message, or an assistant turn with
its text (plan, observation, a question to the user, a refusal), its calls, the results that came back for
them and its final answer. Tool turns are not steps of their own: their results belong to the assistant
turn that called. Every format renders the stored trajectory's exchanges its own way and parses them back
with a pure function, so the round-trip tests hold every format to the same standard: every user message,
every assistant turn's text, calls (name, arguments), results and final answer, in order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from datamodel.button_format import ParsedCall, parse_assistant_text, render_final_block
from datamodel.tasks import FunctionSpec
from datamodel.trajectory import AssistantTurn, ToolResult, ToolTurn, Trajectory, UserTurn
from training.formats.reading import (
    RecordError,
    decoded,
    objects,
    optional_text,
    record_items,
    text_field,
)

__all__ = [
    "ParsedExchange",
    "add_results",
    "assistant_exchange",
    "assistant_reply",
    "dumps",
    "expected_exchanges",
    "openai_tools",
    "parse_chat_messages",
    "result_payload",
]


@dataclass(frozen=True)
class ParsedExchange:
    """One step of the dialogue: a user message (`role` "user", its `text`), or an assistant turn (its
    text, its calls with the result payloads of the tool turn that answered them, its final answer)."""

    calls: list[ParsedCall] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    role: Literal["user", "assistant"] = "assistant"
    text: str = ""
    final: str | None = None


def dumps(value: Any) -> str:
    """JSON as every format writes it: UTF-8 text kept readable, key order as stored."""
    return json.dumps(value, ensure_ascii=False)


def result_payload(result: ToolResult) -> Any:
    """What a call returned, as the model sees it: the results, or {"error": why} when it failed."""
    return {"error": result.error} if result.error is not None else result.results


def add_results(exchanges: list[ParsedExchange], payloads: Iterable[Any]) -> None:
    """Results belong to the latest assistant turn; results before any assistant turn belong to none."""
    turn = next((e for e in reversed(exchanges) if e.role == "assistant"), None)
    if turn is not None:
        turn.results.extend(payloads)


def expected_exchanges(trajectory: Trajectory) -> list[ParsedExchange]:
    """The exchanges of a stored trajectory, in order: what every format must parse back to."""
    exchanges: list[ParsedExchange] = []
    for turn in trajectory.turns:
        if isinstance(turn, UserTurn):
            exchanges.append(ParsedExchange(role="user", text=turn.content))
        elif isinstance(turn, AssistantTurn):
            calls = [ParsedCall(name=c.name, arguments=c.arguments) for c in turn.tool_calls]
            final = (turn.final_answer or "").strip() or None
            exchanges.append(ParsedExchange(calls=calls, text=turn.content.strip(), final=final))
        elif isinstance(turn, ToolTurn):
            add_results(exchanges, (result_payload(r) for r in turn.results))
    return exchanges


def assistant_exchange(text: str | None, calls: Sequence[ParsedCall] = ()) -> ParsedExchange:
    """An assistant message's exchange from its text (what `assistant_reply` or the BUTTON format wrote:
    the turn's text, then a `<call>` or `<final>` block) and the calls it carries as structure. A message
    with no text is a turn that said nothing; text that is not the BUTTON format is a RecordError."""
    if not (text or "").strip():
        return ParsedExchange(calls=list(calls))
    parsed = parse_assistant_text(text or "")
    if parsed.error is not None:
        raise RecordError(f"assistant message does not parse: {parsed.error}")
    return ParsedExchange(calls=[*parsed.calls, *calls], text=parsed.content, final=parsed.final)


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


def parse_chat_messages(
    record: Any, read_call: Callable[[dict[str, Any], str], ParsedCall]
) -> list[ParsedExchange]:
    """Every user message and assistant message (its text, final answer and `tool_calls`) of an
    OpenAI-style `messages` list in order, with each `tool` message's result given to the assistant turn
    before it; `read_call(item, where)` reads one tool call as its format writes it. RecordError says
    where a record does not hold that."""
    exchanges: list[ParsedExchange] = []
    for k, message in enumerate(record_items(record, "messages")):
        where, role = f"messages[{k}]", message.get("role")
        if role == "user":
            exchanges.append(ParsedExchange(role="user", text=text_field(message, "content", where)))
        elif role == "assistant":
            tool_calls = objects(message.get("tool_calls") or [], f"{where}.tool_calls")
            calls = [read_call(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(tool_calls)]
            exchanges.append(assistant_exchange(optional_text(message, "content", where), calls))
        elif role == "tool":
            add_results(exchanges, [decoded(text_field(message, "content", where), where)])
    return exchanges
