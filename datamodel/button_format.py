"""The BUTTON text format of assistant and tool messages: parse it and render it.

An assistant message is free text (plan, observation, thought) followed by at most one block:
`<call>[{"name": ..., "arguments": {...}}, ...]</call>` for function calls or `<final>...</final>` for the
answer. A tool message is a JSON list of `{"name", "arguments", "results"}`, one per call. Pure functions,
so the training export, the assistant role and the tests all share one definition of the format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from datamodel.json_text import decode_json
from datamodel.trajectory import AssistantTurn, ToolTurn

__all__ = [
    "JSON_SEPARATORS",
    "ParsedAssistant",
    "ParsedCall",
    "called_names",
    "parse_assistant_text",
    "parse_call_list",
    "render_assistant_text",
    "render_call_block",
    "render_final_block",
    "render_tool_results",
]

JSON_SEPARATORS = (",", ":")  # JSON as models read and write it: no spaces, fewer tokens
_BLOCK = re.compile(r"<(call|final)>(.*?)</\1>", re.DOTALL)
_OPEN = re.compile(r"<(call|final)>")


@dataclass(frozen=True)
class ParsedCall:
    """One call as written in a `<call>` block (ids are assigned later by the assistant role)."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ParsedAssistant:
    """What an assistant's text says: leading content, then calls or a final answer, or why it's malformed."""

    content: str
    calls: list[ParsedCall] = field(default_factory=list)
    final: str | None = None
    error: str | None = None


def _parse_call(item: Any, position: int) -> ParsedCall:
    if not isinstance(item, dict):
        raise ValueError(f"call {position} is not a JSON object")
    name, arguments = item.get("name"), item.get("arguments", {})
    if not isinstance(name, str) or not name:
        raise ValueError(f"call {position} has no string 'name'")
    if isinstance(arguments, str):  # OpenAI-style arguments encoded as a JSON string
        try:
            arguments = decode_json(arguments)
        except json.JSONDecodeError as exc:
            raise ValueError(f"call {position} ({name}) arguments are not JSON: {exc.msg}") from exc
    if not isinstance(arguments, dict):
        raise ValueError(f"call {position} ({name}) arguments are not a JSON object")
    return ParsedCall(name=name, arguments=arguments)


def parse_call_list(body: str) -> list[ParsedCall]:
    """The calls of a `<call>` block body; raises ValueError naming what is wrong.

    A single object is accepted as a list of one: it is unambiguous and a common slip.
    """
    try:
        data = decode_json(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"<call> block is not JSON: {exc.msg} at char {exc.pos}") from exc
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError("<call> block must hold a non-empty JSON list of calls")
    return [_parse_call(item, i) for i, item in enumerate(items)]


def parse_assistant_text(text: str) -> ParsedAssistant:
    """Split an assistant's text into content and calls or final answer; malformed → `error` set.

    Text with no block at all is a plain message (e.g. a question to the user), not an error.
    Text after the closing tag is ignored (the raw text is kept by the caller).
    """
    blocks = list(_BLOCK.finditer(text))
    opened = _OPEN.findall(text)
    content = text[: blocks[0].start()].strip() if blocks else text.strip()
    if len(opened) != len(blocks):
        return ParsedAssistant(content=content, error=f"unclosed <{opened[-1]}> tag")
    if not blocks:
        if not content:
            return ParsedAssistant(content="", error="empty reply")
        return ParsedAssistant(content=content)
    if len(blocks) > 1:
        kinds = ", ".join(f"<{b.group(1)}>" for b in blocks)
        return ParsedAssistant(content=content, error=f"more than one block ({kinds}); expected one")
    kind, body = blocks[0].group(1), blocks[0].group(2).strip()
    if kind == "final":
        if not body:
            return ParsedAssistant(content=content, error="empty <final> answer")
        return ParsedAssistant(content=content, final=body)
    try:
        return ParsedAssistant(content=content, calls=parse_call_list(body))
    except ValueError as exc:
        return ParsedAssistant(content=content, error=str(exc))


def called_names(text: str) -> list[str]:
    """The names of the functions the `<call>` blocks of a text call, in order; a block that does not
    parse names nothing."""
    names: list[str] = []
    for block in _BLOCK.finditer(text):
        if block.group(1) == "call":
            try:
                names.extend(call.name for call in parse_call_list(block.group(2)))
            except ValueError:
                continue
    return names


def render_call_block(calls: list[tuple[str, dict[str, Any]]]) -> str:
    """The `<call>` block of (name, arguments) pairs."""
    items = [{"name": name, "arguments": arguments} for name, arguments in calls]
    return f"<call>{json.dumps(items, ensure_ascii=False, separators=JSON_SEPARATORS)}</call>"


def render_final_block(answer: str) -> str:
    """The `<final>` block of an answer."""
    return f"<final>{answer}</final>"


def render_assistant_text(turn: AssistantTurn) -> str:
    """The BUTTON text of a turn: content, then the `<call>` or `<final>` block (hints never included)."""
    parts = [turn.content.strip()] if turn.content.strip() else []
    if turn.tool_calls:
        parts.append(render_call_block([(c.name, c.arguments) for c in turn.tool_calls]))
    elif turn.final_answer is not None:
        parts.append(render_final_block(turn.final_answer))
    return "\n".join(parts)


def render_tool_results(turn: ToolTurn) -> str:
    """The BUTTON tool message: a JSON list of {name, arguments, results}; errors as {"error": ...}."""
    items = [
        {
            "name": r.name,
            "arguments": r.arguments,
            "results": {"error": r.error} if r.error is not None else r.results,
        }
        for r in turn.results
    ]
    return json.dumps(items, ensure_ascii=False, separators=JSON_SEPARATORS)
