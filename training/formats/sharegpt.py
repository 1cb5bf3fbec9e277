"""ShareGPT records as LLaMA-Factory reads them (`formatting: sharegpt`, tools column `tools`).

`conversations` alternate human/observation with gpt/function_call, as LLaMA-Factory's converter requires
(it drops an example whose roles break the alternation, or whose turn count is odd). A calling turn's value
is the JSON call object, or a JSON list of them for parallel calls, which LLaMA-Factory's function
formatter accepts; the plan or observation written before the calls is kept in front of the JSON inside
`<think>...</think>`, the thought words LLaMA-Factory strips from a function message before parsing it.
The observation that answers a turn is the result's JSON (`{"error": ...}` for a failed call), or a JSON
list of results for a parallel turn. An assistant turn without calls (a question, a refusal, a final
answer) is a gpt turn, and the user's reply the human turn after it. `tools` is a JSON string.

The simulator's turn order (user or tool → assistant; assistant with calls → tool, without → user) is that
alternation, with two exceptions a trajectory can still hold: an episode that stopped on a user or tool
turn, whose trailing human/observation turns are left out (nothing answers them, and they would make the
count odd), and user turns in a row, which become one human turn.
"""

from __future__ import annotations

import re
from typing import Any

from datamodel.trajectory import AssistantTurn, ToolTurn, Trajectory, UserTurn
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
from training.formats.reading import call_object, decoded, record_items, text_field

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


def _turn(turn: UserTurn | AssistantTurn | ToolTurn, n_calls: int) -> dict[str, str]:
    if isinstance(turn, UserTurn):
        return {"from": "human", "value": turn.content}
    if isinstance(turn, AssistantTurn) and turn.tool_calls:
        return {"from": "function_call", "value": _function_call(turn)}
    if isinstance(turn, AssistantTurn):
        return {"from": "gpt", "value": assistant_reply(turn)}
    return {"from": "observation", "value": _observation(turn, n_calls)}


def _alternating(trajectory: Trajectory) -> list[dict[str, str]]:
    """The turns, kept to LLaMA-Factory's alternation: user messages in a row become one human turn (their
    texts in order, a blank line apart: prompt text, never trained, so nothing the model learns changes),
    and human or observation turns at the end, which answer nothing and would make the count odd, go."""
    turns: list[dict[str, str]] = []
    n_calls = 0
    for turn in trajectory.turns:
        if isinstance(turn, AssistantTurn) and turn.tool_calls:
            n_calls = len(turn.tool_calls)
        entry = _turn(turn, n_calls)
        if entry["from"] == "human" and turns and turns[-1]["from"] == "human":
            turns[-1]["value"] += "\n\n" + entry["value"]
        else:
            turns.append(entry)
    while turns and turns[-1]["from"] in ("human", "observation"):
        turns.pop()
    return turns


def sharegpt_record(conversation: StoredConversation) -> dict[str, Any]:
    """The LLaMA-Factory ShareGPT record of one conversation."""
    trajectory = conversation.trajectory
    return {
        "conversations": _alternating(trajectory),
        "system": native_system_prompt(trajectory.parallel),
        "tools": dumps(openai_tools(conversation.task.functions)),
    }


def _parse_function_call(value: str, where: str) -> ParsedExchange:
    thought = _THOUGHT.match(value)
    body = decoded(value[thought.end() :] if thought else value, where)
    items = body if isinstance(body, list) else [body]
    calls = [call_object(item, f"{where}[{j}]") for j, item in enumerate(items)]
    return assistant_exchange(thought.group(1) if thought else "", calls)


def parse_sharegpt(record: dict[str, Any]) -> list[ParsedExchange]:
    """Every human turn and gpt or function_call turn (its thought and calls) in order, with the results of
    each observation given to the assistant turn before it; RecordError says where a record does not hold
    that."""
    exchanges: list[ParsedExchange] = []
    for k, turn in enumerate(record_items(record, "conversations")):
        where, speaker = f"conversations[{k}]", turn.get("from")
        if speaker == "human":
            exchanges.append(ParsedExchange(role="user", text=text_field(turn, "value", where)))
        elif speaker == "gpt":
            exchanges.append(assistant_exchange(text_field(turn, "value", where)))
        elif speaker == "function_call":
            exchanges.append(_parse_function_call(text_field(turn, "value", where), f"{where}.value"))
        elif speaker == "observation":
            value = decoded(text_field(turn, "value", where), where)
            caller = next((e for e in reversed(exchanges) if e.role == "assistant"), None)
            add_results(exchanges, value if caller is not None and len(caller.calls) > 1 else [value])
    return exchanges
