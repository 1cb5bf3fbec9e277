"""Seed conversations for scenario extraction: glaive-function-calling-v2 and ToolBench-style records.

The bottom-up phase only needs to know what a person was doing in each seed, so every record becomes a
`SeedConversation`: where it came from, its turns as plain text, and the functions it offered (if any).
A bad record stops the import with an error naming the file, the line and what is wrong, before any LLM
call is paid for (docs/decisions.md): a silently skipped seed would shrink the scenario pool unnoticed.

Supported shapes (one JSON object per line of a `.jsonl` file, or a JSON array in a `.json` file):

- glaive: `{"system": "SYSTEM: ... {function JSON} {function JSON}", "chat": "USER: ... ASSISTANT: ...
  <|endoftext|> FUNCTION RESPONSE: {...} ..."}`; the functions are the JSON objects in the system text.
- toolbench conversations: `{"conversations": [{"from": "user"|"human"|"assistant"|"gpt"|"function"|
  "tool"|"observation"|"system", "value": "..."}], "api_list"|"functions": [...]?}`.
- toolbench query: `{"query": "...", "api_list": [{...}, ...]}` (one user turn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datamodel.json_text import decode_json, decode_json_at
from datamodel.seeds import Role, SeedConversation, SeedTurn

__all__ = [
    "EXAMPLE_SEEDS",
    "SeedFormatError",
    "load_seeds",
    "parse_glaive",
    "parse_record",
    "parse_toolbench",
]

EXAMPLE_SEEDS = Path(__file__).parent / "data" / "example_seeds.jsonl"

_ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "function": "function",
    "tool": "function",
    "observation": "function",
    "function response": "function",
}
_GLAIVE_TURN = re.compile(r"(?:^|\n)\s*(USER|ASSISTANT|FUNCTION RESPONSE|SYSTEM):", re.MULTILINE)
_END_OF_TEXT = "<|endoftext|>"


class SeedFormatError(ValueError):
    """A seed record that cannot be read; the message names the file, the line and the problem."""


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object embedded in free text (glaive lists functions one after another)."""
    found: list[dict[str, Any]] = []
    position = text.find("{")
    while position != -1:
        try:
            value, end = decode_json_at(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found


def parse_glaive(record: dict[str, Any], origin: str) -> SeedConversation:
    """A glaive-function-calling-v2 record: functions from the system text, turns from the chat text."""
    system, chat = record.get("system"), record.get("chat")
    if not isinstance(system, str) or not isinstance(chat, str):
        raise ValueError("glaive record needs string fields 'system' and 'chat'")
    pieces = _GLAIVE_TURN.split(chat)
    turns = []
    for label, body in zip(pieces[1::2], pieces[2::2], strict=True):
        text = body.replace(_END_OF_TEXT, "").strip()
        if text:
            turns.append(SeedTurn(role=_ROLES[label.lower()], text=text))
    if not any(t.role == "user" for t in turns):
        raise ValueError("glaive 'chat' has no 'USER:' turn")
    functions = [f for f in _json_objects(system) if "name" in f]
    return SeedConversation(source="glaive", origin=origin, turns=turns, functions=functions)


def _toolbench_turns(conversations: Any) -> list[SeedTurn]:
    if not isinstance(conversations, list):
        raise ValueError("'conversations' must be a list of {from, value} objects")
    turns = []
    for position, turn in enumerate(conversations):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise ValueError(f"conversations[{position}] is not an object with a string 'value'")
        speaker = str(turn.get("from", "")).lower()
        if speaker not in _ROLES:
            raise ValueError(
                f"conversations[{position}] has unknown 'from' {turn.get('from')!r}; "
                f"allowed: {', '.join(sorted(_ROLES))}"
            )
        turns.append(SeedTurn(role=_ROLES[speaker], text=turn["value"].strip()))
    return turns


def parse_toolbench(record: dict[str, Any], origin: str) -> SeedConversation:
    """A ToolBench / ToolLLaMA record: a `conversations` list, or a `query` with its `api_list`."""
    functions = record.get("api_list", record.get("functions", []))
    if not isinstance(functions, list) or not all(isinstance(f, dict) for f in functions):
        raise ValueError("'api_list' / 'functions' must be a list of objects")
    if "conversations" in record:
        turns = _toolbench_turns(record["conversations"])
    elif isinstance(record.get("query"), str) and record["query"].strip():
        turns = [SeedTurn(role="user", text=record["query"].strip())]
    else:
        raise ValueError("toolbench record needs 'conversations' or a non-empty string 'query'")
    if not any(t.role == "user" for t in turns):
        raise ValueError("the conversation has no user turn")
    return SeedConversation(source="toolbench", origin=origin, turns=turns, functions=functions)


def parse_record(record: Any, origin: str) -> SeedConversation:
    """Tell the record's style from its keys and parse it; ValueError says what is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "chat" in record and "system" in record:
        return parse_glaive(record, origin)
    if "conversations" in record or "query" in record:
        return parse_toolbench(record, origin)
    raise ValueError(
        f"unknown record shape (keys {sorted(record)}); expected glaive 'system'+'chat', "
        "or toolbench 'conversations' or 'query'"
    )


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line or array position, decoded record); JSON errors name where they are."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SeedFormatError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if path.suffix == ".json":
        try:
            data = decode_json(text)
        except json.JSONDecodeError as exc:
            raise SeedFormatError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list):
            raise SeedFormatError(f"{path}: a .json seed file must hold a JSON array of records")
        yield from enumerate(data, start=1)
        return
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            yield number, decode_json(line)
        except json.JSONDecodeError as exc:
            raise SeedFormatError(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def load_seeds(path: Path | None, limit: int | None = None) -> list[SeedConversation]:
    """Every record of a seed file (at most `limit`; None: the shipped examples); SeedFormatError on the
    first bad one."""
    path = EXAMPLE_SEEDS if path is None else path
    if not path.is_file():
        raise SeedFormatError(f"seed file {path} does not exist")
    seeds: list[SeedConversation] = []
    for number, record in _records(path):
        if limit is not None and len(seeds) >= limit:
            break
        origin = f"{path.name}:{number}"
        try:
            seeds.append(parse_record(record, origin))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            raise SeedFormatError(f"{path}:{number}: {exc}") from None
    if not seeds:
        raise SeedFormatError(f"seed file {path} holds no records")
    return seeds
