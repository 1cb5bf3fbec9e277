"""Hermes function-calling records: tools in the system prompt, calls and results as tagged JSON text.

The layout of the Hermes/Qwen family of tool-calling models, for trainers that only see plain
role/content messages: the system prompt lists the functions inside `<tools>...</tools>`, every call is
its own `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` after the assistant's plan or
observation, and a tool message holds one `<tool_response>{"name": ..., "content": ...}</tool_response>`
per result (its content {"error": why} for a call that failed). A turn without calls (a question, a
refusal, a final answer) is its text alone. Roles are system, user, assistant and tool.
"""

from __future__ import annotations

import re
from typing import Any

from datamodel.trajectory import AssistantTurn, ToolTurn, UserTurn
from db.store import StoredConversation
from roles.chat_layouts import hermes_tools_prompt
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
from training.formats.reading import RecordError, call_object, decoded, record_items, text_field

__all__ = ["hermes_record", "hermes_system_prompt", "parse_hermes"]

_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
_RESPONSE = re.compile(r"<tool_response>\n(.*?)\n</tool_response>", re.DOTALL)


def hermes_system_prompt(tools: list[dict[str, Any]], parallel: bool) -> str:
    """The native rules plus the function signatures and the tag to call them with: the prompt a local
    model evaluated in the Hermes layout gets (roles/chat_layouts.py), so training and evaluation agree."""
    return native_system_prompt(parallel) + hermes_tools_prompt(tools)


def _assistant_text(turn: AssistantTurn) -> str:
    parts = [assistant_reply(turn)] if assistant_reply(turn) else []
    parts.extend(
        f"<tool_call>\n{dumps({'name': c.name, 'arguments': c.arguments})}\n</tool_call>"
        for c in turn.tool_calls
    )
    return "\n".join(parts)


def _tool_text(turn: ToolTurn) -> str:
    return "\n".join(
        f"<tool_response>\n{dumps({'name': r.name, 'content': result_payload(r)})}\n</tool_response>"
        for r in turn.results
    )


def hermes_record(conversation: StoredConversation) -> dict[str, Any]:
    """The Hermes-style record of one conversation."""
    trajectory = conversation.trajectory
    system = hermes_system_prompt(openai_tools(conversation.task.functions), trajectory.parallel)
    messages: list[dict[str, str]] = [{"role": "system", "content": system}]
    for turn in trajectory.turns:
        if isinstance(turn, UserTurn):
            messages.append({"role": "user", "content": turn.content})
        elif isinstance(turn, AssistantTurn):
            messages.append({"role": "assistant", "content": _assistant_text(turn)})
        elif isinstance(turn, ToolTurn):
            messages.append({"role": "tool", "content": _tool_text(turn)})
    return {"messages": messages}


def parse_hermes(record: dict[str, Any]) -> list[ParsedExchange]:
    """Every user message and assistant message (its text and final answer, then its `<tool_call>`
    blocks) in order, with the `<tool_response>` blocks of each tool message given to the assistant turn
    before it; RecordError says where a record does not hold that."""
    exchanges: list[ParsedExchange] = []
    for k, message in enumerate(record_items(record, "messages")):
        where, role = f"messages[{k}]", message.get("role")
        if role == "user":
            exchanges.append(ParsedExchange(role="user", text=text_field(message, "content", where)))
        elif role == "assistant":
            content = text_field(message, "content", where)
            calls = [call_object(decoded(body, where), where) for body in _CALL.findall(content)]
            exchanges.append(assistant_exchange(_CALL.sub("", content), calls))
        elif role == "tool":
            responses = [
                decoded(body, where) for body in _RESPONSE.findall(text_field(message, "content", where))
            ]
            if not all(isinstance(r, dict) and "content" in r for r in responses):
                raise RecordError(f'{where}: a <tool_response> holds a {{"name", "content"}} object')
            add_results(exchanges, (r["content"] for r in responses))
    return exchanges
