"""TRL conversational records: `messages` with dict-valued tool-call arguments, `tools` as a JSON string.

What `SFTTrainer` hands to `apply_chat_template(messages, tools=...)`. Arguments are dicts, because chat
templates render them with `tojson` and a string would come out double-encoded; `tools` is a JSON string,
because Arrow would otherwise merge every function's parameter schema into one struct and fill the gaps
with nulls (notes/stack.md 3.2-3.4). Tool messages carry the function's name and the call id, and
{"error": why} for a call that failed. A turn without calls (a question, a refusal, a final answer) is a
plain assistant message without `tool_calls`.
"""

from __future__ import annotations

import json
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


def _parsed_call(function: dict[str, Any]) -> ParsedCall:
    arguments = function["arguments"]
    if not isinstance(arguments, dict):  # a JSON string here would be double-encoded by templates
        raise ValueError(f"{function['name']}: arguments are a {type(arguments).__name__}, not a dict")
    return ParsedCall(name=function["name"], arguments=arguments)


def parse_trl(record: dict[str, Any]) -> list[ParsedExchange]:
    """Every user message and assistant message (its text, final answer and `tool_calls`) in order, with
    each `tool` message's result given to the assistant turn before it."""
    exchanges: list[ParsedExchange] = []
    for message in record["messages"]:
        if message["role"] == "user":
            exchanges.append(ParsedExchange(role="user", text=message["content"]))
        elif message["role"] == "assistant":
            calls = [_parsed_call(c["function"]) for c in message.get("tool_calls") or []]
            exchanges.append(assistant_exchange(message["content"], calls))
        elif message["role"] == "tool":
            add_results(exchanges, [json.loads(message["content"])])
    return exchanges
