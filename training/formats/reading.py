"""Reading an exported record back, field by field: the value its format writes, or a `RecordError`.

A record read back from a file may hold anything (a hand-edited line, another tool's export, a truncated
write), so the parsers never index blindly: each field is taken through one of these checks, and a
record that does not hold what its format writes says where (`messages[3].tool_calls[0]`) and what was
expected, as the other readers of files do (`DataError`, `SeedFormatError`).
"""

from __future__ import annotations

import json
from typing import Any

from datamodel.button_format import ParsedCall
from datamodel.json_text import decode_json

__all__ = [
    "RecordError",
    "call_object",
    "checked_call",
    "decoded",
    "objects",
    "optional_text",
    "record_items",
    "text_field",
]


class RecordError(ValueError):
    """A record that does not hold what its format writes; the message says where and what was expected."""


def objects(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of JSON objects (a record's messages or turns, a turn's tool calls)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RecordError(f"{where}: expected a list of objects, got {type(value).__name__}")
    return value


def record_items(record: Any, key: str) -> list[dict[str, Any]]:
    """The list of objects a record holds under `key` (its messages, or its turns)."""
    if not isinstance(record, dict):
        raise RecordError(f"a record is a JSON object, got {type(record).__name__}")
    return objects(record.get(key), key)


def text_field(item: dict[str, Any], key: str, where: str) -> str:
    """The string `item[key]`."""
    value = item.get(key)
    if not isinstance(value, str):
        raise RecordError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


def optional_text(item: dict[str, Any], key: str, where: str) -> str | None:
    """The string `item[key]`, or None when it is missing or null."""
    return None if item.get(key) is None else text_field(item, key, where)


def decoded(text: str, where: str) -> Any:
    """The JSON value a text field holds."""
    try:
        return decode_json(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where}: not JSON ({exc.msg})") from None


def checked_call(name: Any, arguments: Any, where: str) -> ParsedCall:
    """A call from its name (a non-empty string) and arguments (an object)."""
    if not isinstance(name, str) or not name:
        raise RecordError(f"{where}: the call has no string 'name'")
    if not isinstance(arguments, dict):
        raise RecordError(f"{where}: {name}: arguments are a {type(arguments).__name__}, not an object")
    return ParsedCall(name=name, arguments=arguments)


def call_object(item: Any, where: str) -> ParsedCall:
    """A call written as one `{"name": ..., "arguments": {...}}` object."""
    if not isinstance(item, dict):
        raise RecordError(f"{where}: a call is an object, got {type(item).__name__}")
    return checked_call(item.get("name"), item.get("arguments"), where)
