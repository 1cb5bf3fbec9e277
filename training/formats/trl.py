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
    assistant_reply,
    dumps,
    openai_tools,
    parse_chat_messages,
    result_payload,
)
from training.formats.reading import (
    RecordError,
    checked_call,
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
    """The record's exchanges (training/formats/common.py `parse_chat_messages`), its tool calls read as
    this format writes them."""
    return parse_chat_messages(record, _parsed_call)
