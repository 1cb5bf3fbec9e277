"""OpenAI chat fine-tuning records: `messages` with structured `tool_calls`, `tools`, `parallel_tool_calls`.

The layout OpenAI's fine-tuning API and most OpenAI-compatible trainers read: arguments are a JSON
*string* (as the API sends them), each result is its own `tool` message answering a `tool_call_id`, and
the assistant's plan or observation stays as the content of its calling turn (null when it wrote none).
A turn without calls (a question to the user, a refusal, a final answer in its `<final>` block) is a
plain assistant message without `tool_calls`; a failed call's `tool` message holds {"error": why}.
"""

from __future__ import annotations

import json
from typing import Any

from datamodel.button_format import ParsedCall
from datamodel.trajectory import AssistantTurn, ToolTurn, UserTurn
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


def parse_openai(record: dict[str, Any]) -> list[ParsedExchange]:
    """Every user message and assistant message (its text, final answer and `tool_calls`) in order, with
    each `tool` message's result given to the assistant turn before it."""
    exchanges: list[ParsedExchange] = []
    for message in record["messages"]:
        if message["role"] == "user":
            exchanges.append(ParsedExchange(role="user", text=message["content"]))
        elif message["role"] == "assistant":
            calls = [
                ParsedCall(name=c["function"]["name"], arguments=json.loads(c["function"]["arguments"]))
                for c in message.get("tool_calls") or []
            ]
            exchanges.append(assistant_exchange(message["content"], calls))
        elif message["role"] == "tool":
            add_results(exchanges, [json.loads(message["content"])])
    return exchanges
