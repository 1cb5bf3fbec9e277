"""BUTTONInstruct records: one stored conversation as {"messages": [...]} without the sub-task hints.

The system prompt lists the tools and the call/answer tags (the same text the simulated assistant saw,
minus the hidden hint block); assistant turns are rendered in the tag format (a turn with neither calls
nor an answer, such as a question to the user, is its text alone); each tool turn is a JSON list of
{name, arguments, results}, one entry per call of the preceding assistant turn, with {"error": why} as the
results of a call that failed.
"""

from __future__ import annotations

from typing import Any

from datamodel.button_format import render_assistant_text, render_tool_results
from datamodel.trajectory import AssistantTurn, ToolTurn, UserTurn
from db.store import StoredConversation
from roles.prompts import button_system_prompt
from training.formats.common import ParsedExchange, add_results, assistant_exchange
from training.formats.reading import RecordError, decoded, record_items, text_field

__all__ = ["button_record", "parse_button"]

_TOOL_ITEM = '{"name", "arguments", "results"}'


def button_record(conversation: StoredConversation) -> dict[str, Any]:
    """The BUTTONInstruct record of one conversation."""
    task, trajectory = conversation.task, conversation.trajectory
    messages: list[dict[str, str]] = [
        {"role": "system", "content": button_system_prompt(task.functions, trajectory.parallel)}
    ]
    for turn in trajectory.turns:
        if isinstance(turn, UserTurn):
            messages.append({"role": "user", "content": turn.content})
        elif isinstance(turn, AssistantTurn):
            messages.append({"role": "assistant", "content": render_assistant_text(turn)})
        elif isinstance(turn, ToolTurn):
            messages.append({"role": "tool", "content": render_tool_results(turn)})
    return {"messages": messages}


def parse_button(record: dict[str, Any]) -> list[ParsedExchange]:
    """Every user message and assistant message (its text, `<call>` or `<final>` block) in order, with the
    results of each tool message given to the assistant turn before it; RecordError says where a record
    does not hold that."""
    exchanges: list[ParsedExchange] = []
    for k, message in enumerate(record_items(record, "messages")):
        where, role = f"messages[{k}]", message.get("role")
        if role == "user":
            exchanges.append(ParsedExchange(role="user", text=text_field(message, "content", where)))
        elif role == "assistant":
            exchanges.append(assistant_exchange(text_field(message, "content", where)))
        elif role == "tool":
            items = decoded(text_field(message, "content", where), where)
            if not isinstance(items, list) or not all(isinstance(i, dict) and "results" in i for i in items):
                raise RecordError(f"{where}: a tool message is a JSON list of {_TOOL_ITEM} objects")
            add_results(exchanges, (item["results"] for item in items))
    return exchanges
