"""A persistent reply cache for LLM requests, keyed on the model, its parameters and the whole request.

Why not autogen-ext's `ChatCompletionCache` alone: its key ignores the model and the client's sampling
parameters, so two models (or two temperatures) would share replies. Here the key is a SHA-256 of the
model identity, the parameters, the messages, the tools, `json_output` and the extra create args; the
value is the `CreateResult` as JSON. SQLite in WAL mode lets several processes share one file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autogen_core.models import CreateResult, LLMMessage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

__all__ = ["CACHE_FILE", "ResponseCache", "request_key"]

CACHE_FILE = "llm-cache.sqlite"


def _tool_dict(tool: Tool | ToolSchema) -> Any:
    return dict(tool.schema) if isinstance(tool, Tool) else dict(tool)


def _json_output(value: bool | type[BaseModel] | None) -> Any:
    if isinstance(value, type):
        return value.model_json_schema()
    return value


def request_key(
    identity: Mapping[str, Any],
    messages: Sequence[LLMMessage],
    tools: Sequence[Tool | ToolSchema],
    json_output: bool | type[BaseModel] | None,
    extra_create_args: Mapping[str, Any],
) -> str:
    """The cache key of one request: identical only when the reply could be reused as is."""
    payload = {
        "identity": dict(identity),
        "messages": [m.model_dump(mode="json") for m in messages],
        "tools": [_tool_dict(t) for t in tools],
        "json_output": _json_output(json_output),
        "extra": dict(extra_create_args),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Replies by request key in one SQLite file; reads and writes are short and synchronous."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / CACHE_FILE
        self._lock = threading.Lock()  # the HF client's worker threads never touch it, but be safe
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, result TEXT NOT NULL)")

    def get(self, key: str) -> CreateResult | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM replies WHERE key = ?", (key,)).fetchone()
        return None if row is None else CreateResult.model_validate_json(row[0])

    def put(self, key: str, result: CreateResult) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies (key, result) VALUES (?, ?)", (key, result.model_dump_json())
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
