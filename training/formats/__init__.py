"""Export formats: each renders one stored conversation as a record and parses a record back.

Every format is derived from the one stored trajectory; the sub-task hints the assistant saw while
simulating are never part of any of them. `FORMATS` maps the name `button export --format` takes to the
pair of pure functions, so the exporter and the round-trip tests share one registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db.store import StoredConversation
from training.formats.button import button_record, parse_button
from training.formats.common import ParsedExchange, expected_exchanges
from training.formats.hermes import hermes_record, parse_hermes
from training.formats.openai import openai_record, parse_openai
from training.formats.reading import RecordError
from training.formats.sharegpt import parse_sharegpt, sharegpt_record
from training.formats.trl import parse_trl, trl_record

__all__ = ["FORMATS", "ExportFormat", "ParsedExchange", "RecordError", "expected_exchanges"]


@dataclass(frozen=True)
class ExportFormat:
    """One export format: how a conversation becomes a record, and how a record gives its dialogue back
    (or a RecordError saying where it does not hold what the format writes)."""

    name: str
    render: Callable[[StoredConversation], dict[str, Any]]
    parse: Callable[[dict[str, Any]], list[ParsedExchange]]
    summary: str


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("button", button_record, parse_button, "BUTTONInstruct: <tool>, <call>, <final> tags"),
        ExportFormat("openai", openai_record, parse_openai, "OpenAI chat fine-tuning: tool_calls, tools"),
        ExportFormat("trl", trl_record, parse_trl, "TRL conversational: messages + tools (JSON string)"),
        ExportFormat("sharegpt", sharegpt_record, parse_sharegpt, "LLaMA-Factory ShareGPT with tools"),
        ExportFormat("hermes", hermes_record, parse_hermes, "Hermes: <tools>, <tool_call>, <tool_response>"),
    )
}
