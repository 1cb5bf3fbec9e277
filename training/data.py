"""Exported JSON Lines → a pre-tokenized dataset (`input_ids`, `labels`) that SFTTrainer uses as is.

Records are read with `json`, never through Arrow's schema inference, which merges every call's
`arguments` dict into one struct and fills the missing keys with nulls. Both export shapes are accepted:
`{"messages": [...]}` (button: calls as `<call>` text) and `{"messages": [...], "tools": "<json>"}` (trl:
`tool_calls` dicts, the tools passed to the chat template).

Too-long conversations are cut at the end of the last assistant turn that fits (counted as truncated),
so no example stops halfway through a call; one with no whole assistant turn inside `max_length` is
dropped (counted). See docs/decisions.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datamodel.json_text import decode_json
from training.masks import MaskedConversation, labels_from_spans, mask_conversation

__all__ = [
    "DataError",
    "PreparedData",
    "check_records",
    "file_sha256",
    "prepare_examples",
    "read_manifest",
    "read_json_lines",
    "read_records",
    "to_dataset",
    "truncate_at_turn",
]


class DataError(ValueError):
    """The training file cannot be used; the message names the file, the line and what was expected."""


@dataclass
class PreparedData:
    """Tokenized examples and what happened on the way: how many were cut or dropped, token counts."""

    examples: list[dict[str, list[int]]] = field(default_factory=list)
    n_records: int = 0
    n_truncated: int = 0
    n_dropped: int = 0
    n_tokens: int = 0
    n_trained_tokens: int = 0


def file_sha256(path: Path) -> str:
    """The file's SHA-256, so a training run names exactly the bytes it trained on."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(data_file: Path) -> dict[str, Any] | None:
    """The export manifest written beside the file (`<file>.manifest.json`), if there is one."""
    manifest = data_file.with_name(data_file.name + ".manifest.json")
    if not manifest.is_file():
        return None
    try:
        loaded = decode_json(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{manifest}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{manifest}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    return loaded if isinstance(loaded, dict) else {"manifest": loaded}


def _parse_tools(tools: Any, where: str) -> list[dict[str, Any]] | None:
    if tools is None or tools == "":
        return None
    if isinstance(tools, str):
        try:
            tools = decode_json(tools)
        except json.JSONDecodeError:
            raise DataError(f"{where}: the tools field is not JSON") from None
    if not isinstance(tools, list):
        raise DataError(f"{where}: tools must be a list of tool specs")
    return tools or None


def read_json_lines(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) per non-blank line of an export; `where` is "FILE line N" for messages. A missing
    file or a line that is not JSON is a DataError naming it."""
    if not path.is_file():
        raise DataError(
            f"training data {path} does not exist (expected a JSON Lines file from `button export`)"
        )
    with path.open("rb") as source:  # bytes, so a line that is not UTF-8 is named like one not JSON
        for number, raw in enumerate(source, start=1):
            where = f"{path} line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{where}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
            if not line.strip():
                continue
            try:
                yield where, decode_json(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: not JSON ({exc.msg})") from None


def read_records(path: Path) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]] | None]]:
    """(messages, tools) per record; a line that is not a messages record is an error naming it."""
    for where, record in read_json_lines(path):
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise DataError(f'{where}: expected {{"messages": [{{"role": ..., "content": ...}}, ...]}}')
        yield messages, _parse_tools(record.get("tools"), where)


def check_records(path: Path) -> int:
    """Read every record of an export without a tokenizer (a second or two for thousands), so a missing,
    empty or malformed file is named before any model is loaded; returns how many records it holds."""
    count = sum(1 for _record in read_records(path))
    if count == 0:
        raise DataError(f"training data {path} is empty: no records to train on")
    return count


def truncate_at_turn(masked: MaskedConversation, max_length: int) -> MaskedConversation | None:
    """Cut after the last assistant span that ends within max_length; None when none does."""
    if len(masked.input_ids) <= max_length:
        return masked
    kept = [span for span in masked.spans if span[1] <= max_length]
    if not kept:
        return None
    end = kept[-1][1]
    ids = masked.input_ids[:end]
    return MaskedConversation(input_ids=ids, labels=labels_from_spans(ids, kept), spans=kept)


def prepare_examples(path: Path, tokenizer: Any, max_length: int) -> PreparedData:
    """Read, template, mask and fit every record of an export; MaskError propagates (wrong template)."""
    prepared = PreparedData()
    for messages, tools in read_records(path):
        prepared.n_records += 1
        if not any(m.get("role") == "assistant" for m in messages):
            prepared.n_dropped += 1
            continue
        masked = mask_conversation(tokenizer, messages, tools)
        fitted = truncate_at_turn(masked, max_length)
        if fitted is None:
            prepared.n_dropped += 1
            continue
        prepared.n_truncated += fitted is not masked
        prepared.examples.append({"input_ids": fitted.input_ids, "labels": fitted.labels})
        prepared.n_tokens += len(fitted.input_ids)
        prepared.n_trained_tokens += sum(label != -100 for label in fitted.labels)
    if prepared.n_records == 0:
        raise DataError(f"training data {path} is empty: no records to train on")
    if not prepared.examples:
        raise DataError(
            f"every one of the {prepared.n_records} records of {path} was dropped: none has a whole "
            f"assistant turn within --max-length {max_length}"
        )
    return prepared


def to_dataset(prepared: PreparedData) -> Any:
    """A `datasets.Dataset` of plain int lists: input_ids and labels, nothing for TRL to re-tokenize."""
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "input_ids": [example["input_ids"] for example in prepared.examples],
            "labels": [example["labels"] for example in prepared.examples],
        }
    )
