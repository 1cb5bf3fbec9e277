"""BUTTONInstruct records: one stored conversation as {"messages": [...]} without the sub-task hints.

The system prompt lists the tools and the call/answer tags (the same text the simulated assistant saw,
minus the hidden hint block); assistant turns are rendered in the tag format; each tool turn is a JSON
list of {name, arguments, results}, one entry per call of the preceding assistant turn.
"""

from __future__ import annotations

import json
from typing import Any

from datamodel.button_format import parse_assistant_text, render_assistant_text, render_tool_results
from datamodel.trajectory import AssistantTurn, ToolTurn, UserTurn
from db.store import StoredConversation
from roles.prompts import button_system_prompt
from training.formats.common import ParsedExchange

__all__ = ["button_record", "parse_button"]


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
    """The calls of each `<call>` block and the results of the tool message after it, in order."""
    exchanges: list[ParsedExchange] = []
    for message in record["messages"]:
        if message["role"] == "assistant":
            parsed = parse_assistant_text(message["content"])
            if parsed.error is not None:
                raise ValueError(f"assistant message does not parse: {parsed.error}")
            if parsed.calls:
                exchanges.append(ParsedExchange(calls=parsed.calls))
        elif message["role"] == "tool" and exchanges:
            exchanges[-1].results.extend(item["results"] for item in json.loads(message["content"]))
    return exchanges
