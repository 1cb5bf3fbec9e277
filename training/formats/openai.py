"""OpenAI chat fine-tuning records: `messages` with structured `tool_calls`, `tools`, `parallel_tool_calls`.

The layout OpenAI's fine-tuning API and most OpenAI-compatible trainers read: arguments are a JSON
*string* (as the API sends them), each result is its own `tool` message answering a `tool_call_id`, and
the assistant's plan or observation stays as the content of its calling turn (null when it wrote none).
A turn without calls (a question to the user, a refusal, a final answer in its `<final>` block) is a
plain assistant message without `tool_calls`; a failed call's `tool` message holds {"error": why}.
"""

from __future__ import annotations

from typing import Any

from datamodel.button_format import ParsedCall
from datamodel.trajectory import AssistantTurn, ToolTurn, UserTurn
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
    decoded,
    text_field,
)

__all__ = ["openai_record", "parse_openai"]


def _assistant_message(turn: AssistantTurn) -> dict[str, Any]:
    text = assistant_reply(turn)
    if not turn.tool_calls:
        return {"role": "assistant", "content": text}
    calls = [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": dumps(c.arguments)}}
        for c in turn.tool_calls
    ]
    return {"role": "assistant", "content": text or None, "tool_calls": calls}


def openai_record(conversation: StoredConversation) -> dict[str, Any]:
    """The OpenAI chat fine-tuning record of one conversation."""
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
            messages.extend(
                {"role": "tool", "tool_call_id": r.call_id, "content": dumps(result_payload(r))}
                for r in turn.results
            )
    return {
        "messages": messages,
        "tools": openai_tools(conversation.task.functions),
        "parallel_tool_calls": trajectory.parallel,
    }


def _call(item: dict[str, Any], where: str) -> ParsedCall:
    """A `{"type": "function", "function": {"name", "arguments": "<JSON>"}}` tool call."""
    function = item.get("function")
    if not isinstance(function, dict):
        raise RecordError(f'{where}: a tool call holds its "function" object')
    arguments = decoded(text_field(function, "arguments", f"{where}.function"), f"{where}.function.arguments")
    return checked_call(function.get("name"), arguments, where)


def parse_openai(record: dict[str, Any]) -> list[ParsedExchange]:
    """The record's exchanges (training/formats/common.py `parse_chat_messages`), its tool calls read as
    this format writes them."""
    return parse_chat_messages(record, _call)
