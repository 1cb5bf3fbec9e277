"""TRL conversational records: `messages` with dict-valued tool-call arguments, `tools` as a JSON string.

What `SFTTrainer` hands to `apply_chat_template(messages, tools=...)`. Arguments are dicts, because chat
templates render them with `tojson` and a string would come out double-encoded; `tools` is a JSON string,
because Arrow would otherwise merge every function's parameter schema into one struct and fill the gaps
with nulls (notes/stack.md 3.2-3.4). Tool messages carry the function's name and the call id, and
{"error": why} for a call that failed. A turn without calls (a question, a refusal, a final answer) is a
plain assistant message without `tool_calls`.
"""

from __future__ import annotations

from typing import Any

from datamodel.button_format import ParsedCall
from datamodel.trajectory import AssistantTurn, ToolResult, ToolTurn, UserTurn
from db.store import StoredConversation
from roles.prompts import native_system_prompt
from training.formats.common import (
    ParsedExchange,
    add_results,
    assistant_exchange,
    assistant_reply,
    dumps,
    openai_tools,
    result_payload,
)
from training.formats.reading import (
    RecordError,
    checked_call,
    decoded,
    objects,
    optional_text,
    record_items,
    text_field,
)

__all__ = ["parse_trl", "trl_record"]


def _assistant_message(turn: AssistantTurn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": assistant_reply(turn)}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in turn.tool_calls
        ]
    return message


def _tool_message(result: ToolResult) -> dict[str, Any]:
    content = dumps(result_payload(result))
    return {"role": "tool", "name": result.name, "tool_call_id": result.call_id, "content": content}


def trl_record(conversation: StoredConversation) -> dict[str, Any]:
    """The TRL conversational record of one conversation."""
    trajectory = conversation.trajectory
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": native_system_prompt(trajectory.parallel)}
    ]
    for turn in trajectory.turns:
        if isinstance(turn, UserTurn):
            messages.append({"role": "user", "content": turn.content})
        elif isinstance(turn, AssistantTurn):
            messages.append(_assistant_message(turn))
        elif isinstance(turn, ToolTurn):
            messages.extend(_tool_message(r) for r in turn.results)
    return {"messages": messages, "tools": dumps(openai_tools(conversation.task.functions))}


def _parsed_call(item: dict[str, Any], where: str) -> ParsedCall:
    """A tool call whose arguments are an object: a JSON string here would be double-encoded by templates."""
    function = item.get("function")
    if not isinstance(function, dict):
        raise RecordError(f'{where}: a tool call holds its "function" object')
    return checked_call(function.get("name"), function.get("arguments"), where)


def parse_trl(record: dict[str, Any]) -> list[ParsedExchange]:
    """Every user message and assistant message (its text, final answer and `tool_calls`) in order, with
    each `tool` message's result given to the assistant turn before it; RecordError says where a record
    does not hold that."""
    exchanges: list[ParsedExchange] = []
    for k, message in enumerate(record_items(record, "messages")):
        where, role = f"messages[{k}]", message.get("role")
        if role == "user":
            exchanges.append(ParsedExchange(role="user", text=text_field(message, "content", where)))
        elif role == "assistant":
            tool_calls = objects(message.get("tool_calls") or [], f"{where}.tool_calls")
            calls = [_parsed_call(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(tool_calls)]
            exchanges.append(assistant_exchange(optional_text(message, "content", where), calls))
        elif role == "tool":
            add_results(exchanges, [decoded(text_field(message, "content", where), where)])
    return exchanges
