"""ShareGPT records as LLaMA-Factory reads them (`formatting: sharegpt`, tools column `tools`).

`conversations` alternate human/observation with gpt/function_call, as LLaMA-Factory's converter requires
(it drops an example whose roles break the alternation). A calling turn's value is the JSON call object,
or a JSON list of them for parallel calls, which LLaMA-Factory's function formatter accepts; the plan or
observation written before the calls is kept in front of the JSON inside `<think>...</think>`, the thought
words LLaMA-Factory strips from a function message before parsing it. The observation that answers a turn
is the result's JSON, or a JSON list of results for a parallel turn. `tools` is a JSON string.
"""

from __future__ import annotations

import json
import re
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
    result_payload,
)

__all__ = ["parse_sharegpt", "sharegpt_record"]

_THOUGHT = re.compile(r"^<think>\n(.*?)\n</think>\n\n", re.DOTALL)


def _function_call(turn: AssistantTurn) -> str:
    calls = [{"name": c.name, "arguments": c.arguments} for c in turn.tool_calls]
    body = dumps(calls if len(calls) > 1 else calls[0])
    thought = assistant_reply(turn)
    return f"<think>\n{thought}\n</think>\n\n{body}" if thought else body


def _observation(turn: ToolTurn, n_calls: int) -> str:
    """A bare result answers a single call; a list answers parallel calls. A single call answered by some
    other number of results (only in rejected conversations) gets a list, which parses back as one value."""
    payloads = [result_payload(r) for r in turn.results]
    return dumps(payloads[0] if n_calls == 1 and len(payloads) == 1 else payloads)


def sharegpt_record(conversation: StoredConversation) -> dict[str, Any]:
    """The LLaMA-Factory ShareGPT record of one conversation."""
    trajectory = conversation.trajectory
    turns: list[dict[str, str]] = []
    n_calls = 0
    for turn in trajectory.turns:
        if isinstance(turn, UserTurn):
            turns.append({"from": "human", "value": turn.content})
        elif isinstance(turn, AssistantTurn) and turn.tool_calls:
            n_calls = len(turn.tool_calls)
            turns.append({"from": "function_call", "value": _function_call(turn)})
        elif isinstance(turn, AssistantTurn):
            turns.append({"from": "gpt", "value": assistant_reply(turn)})
        elif isinstance(turn, ToolTurn):
            turns.append({"from": "observation", "value": _observation(turn, n_calls)})
    return {
        "conversations": turns,
        "system": native_system_prompt(trajectory.parallel),
        "tools": dumps(openai_tools(conversation.task.functions)),
    }


def parse_sharegpt(record: dict[str, Any]) -> list[ParsedExchange]:
    """The calls of each function_call turn and the results of the observation after it, in order."""
    exchanges: list[ParsedExchange] = []
    for turn in record["conversations"]:
        if turn["from"] == "function_call":
            body = json.loads(_THOUGHT.sub("", turn["value"], count=1))
            items = body if isinstance(body, list) else [body]
            exchanges.append(ParsedExchange(calls=[ParsedCall(i["name"], i["arguments"]) for i in items]))
        elif turn["from"] == "observation" and exchanges:
            exchange = exchanges[-1]
            value = json.loads(turn["value"])
            exchange.results.extend(value if len(exchange.calls) > 1 else [value])
    return exchanges
