"""Native tool calls written as text: read them back from what a model generated.

A model trained on the `trl`, `openai` or `hermes` exports writes its calls the way its chat template (or
the Hermes layout) rendered them in training, and a local model, or a server without a tool-call parser,
hands that back as plain text. The forms chat templates write are read here:

- `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks (Hermes, Qwen and their kin);
- bare JSON call objects ending the reply, `{"name": ..., "parameters": {...}}` (Llama 3) or a list of
  them (Mistral, once its `[TOOL_CALLS]` special token is skipped in decoding);
- the BUTTON blocks, `<final>` for the answer (the native system prompt asks for it) and `<call>`.

Arguments may be an object or a JSON string of one; `parameters` is read as `arguments`, an OpenAI-style
`{"type": "function", "function": {...}}` wrapper is unwrapped. A pure function: text in, the same
`ParsedAssistant` the BUTTON parser gives out, with a reason in `error` when the text is malformed; it
never raises.
"""

from __future__ import annotations

import json
import re
from typing import Any

from datamodel.button_format import ParsedAssistant, ParsedCall, parse_assistant_text
from datamodel.json_text import decode_json, decode_json_at

__all__ = ["parse_native_text", "written_as_button"]

_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_BUTTON_BLOCK = re.compile(r"<(call|final)>")
_CALL_LIKE = re.compile(r'[{\[]\s*\{?\s*"(name|type)"\s*:')  # where a JSON call seems to start


def _unwrapped(item: Any) -> Any:
    """An OpenAI-style `{"type": "function", "function": {...}}` item as the call inside it."""
    if isinstance(item, dict) and isinstance(item.get("function"), dict) and "name" not in item:
        return item["function"]
    return item


def _call(item: Any, position: int) -> ParsedCall:
    """One call object; ValueError names what is wrong with it."""
    item = _unwrapped(item)
    if not isinstance(item, dict):
        raise ValueError(f"call {position} is not a JSON object")
    name = item.get("name")
    arguments = item.get("arguments", item.get("parameters", {}))
    if not isinstance(name, str) or not name:
        raise ValueError(f"call {position} has no string 'name'")
    if isinstance(arguments, str):
        try:
            arguments = decode_json(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"call {position} ({name}) arguments are not JSON: {exc.msg}") from None
    if not isinstance(arguments, dict):
        raise ValueError(f"call {position} ({name}) arguments are not a JSON object")
    return ParsedCall(name=name, arguments=arguments)


def _flat(values: list[Any]) -> list[Any]:
    """JSON values, a list counting as its items, in order."""
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


def _calls(values: list[Any]) -> list[ParsedCall]:
    items = _flat(values)
    if not items:
        raise ValueError("an empty list of calls")
    return [_call(item, k) for k, item in enumerate(items)]


def _call_shaped(item: Any) -> bool:
    """A bare JSON value is a call only when it says so: a name and its arguments (or parameters)."""
    item = _unwrapped(item)
    return isinstance(item, dict) and "name" in item and ("arguments" in item or "parameters" in item)


def _tagged(text: str) -> ParsedAssistant:
    """Text holding `<tool_call>` blocks: the text before the first one, then a call per block."""
    blocks = list(_TOOL_CALL.finditer(text))
    content = text[: blocks[0].start()].strip() if blocks else text.split("<tool_call>")[0].strip()
    if text.count("<tool_call>") != len(blocks):
        return ParsedAssistant(content=content, error="unclosed <tool_call> tag")
    if _BUTTON_BLOCK.search(text):
        return ParsedAssistant(content=content, error="<tool_call> blocks and a <call> or <final> block")
    values = []
    for k, block in enumerate(blocks):
        body = block.group(1).strip()
        try:
            values.append(decode_json(body))
        except json.JSONDecodeError as exc:
            return ParsedAssistant(content=content, error=f"<tool_call> block {k} is not JSON: {exc.msg}")
    try:
        return ParsedAssistant(content=content, calls=_calls(values))
    except ValueError as exc:
        return ParsedAssistant(content=content, error=str(exc))


def _json_run(text: str, start: int) -> list[Any]:
    """The JSON values written one after another from `start` (whitespace, commas or semicolons
    between); text after them is left, as after a closing tag. Empty when none starts there."""
    values, position = [], start
    while position < len(text):
        try:
            value, position = decode_json_at(text, position)
        except json.JSONDecodeError:
            break
        values.append(value)
        while position < len(text) and text[position] in " \t\r\n,;":
            position += 1
    return values


def _bare(text: str) -> ParsedAssistant | None:
    """Bare JSON calls after the reply's text; None when it holds none (JSON that is not a call, such
    as a result quoted in a message, leaves the text a plain message). A call cut off before its JSON
    closes is a malformed reply."""
    starts = [m.start() for m in _CALL_LIKE.finditer(text)]
    broken = None
    for start in starts:
        values = _json_run(text, start)
        if not values:
            broken = start if broken is None else broken
            continue
        items = _flat(values)
        if not items or not all(_call_shaped(item) for item in items):
            continue
        content = text[:start].strip()
        try:
            return ParsedAssistant(content=content, calls=_calls(values))
        except ValueError as exc:
            return ParsedAssistant(content=content, error=str(exc))
    if broken is not None:
        return ParsedAssistant(content=text[:broken].strip(), error="a JSON call that does not parse")
    return None


def written_as_button(text: str) -> bool:
    """Whether `parse_native_text` reads this text as BUTTON blocks (`<call>`, `<final>`), not as a native
    form: a model that wrote BUTTON text is answered in BUTTON text."""
    return "<tool_call>" not in text and _BUTTON_BLOCK.search(text) is not None


def parse_native_text(text: str) -> ParsedAssistant:
    """Split a reply into its text and its calls or final answer, whichever native form it uses;
    malformed → `error` set. Text with neither calls nor an answer is a plain message (a question)."""
    if "<tool_call>" in text:
        return _tagged(text)
    if written_as_button(text):
        return parse_assistant_text(text)
    bare = _bare(text)
    if bare is not None:
        return bare
    return parse_assistant_text(text)  # plain text: a message, or "empty reply"
