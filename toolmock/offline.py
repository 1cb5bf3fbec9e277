"""The offline tool simulator: a scripted client that executes calls deterministically in a world.

It speaks the tool-simulator contract of `roles.tool` (a `{"name", "arguments"}` request in, one JSON
object out; a failed call as `{"error": ...}`), so the ToolRole cannot tell it from an LLM.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from autogen_core.models import LLMMessage, UserMessage
from autogen_core.tools import Tool, ToolSchema

from roles.scripted import ScriptedChatCompletionClient

__all__ = ["Executor", "OfflineToolClient"]


class Executor(Protocol):
    """Anything that runs a function: the offline world, or a dict-backed stand-in in tests."""

    def execute(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The result object; raises an exception whose message says why the call failed."""
        ...


class OfflineToolClient(ScriptedChatCompletionClient):
    """Executes the requested call with `executor`; failures become `{"error": <message>}` replies.

    `errors` are the exception types counted as a failed call; by default any exception, because a
    failure is data (recorded and verified), never a crash of the episode.
    """

    def __init__(self, executor: Executor, errors: tuple[type[Exception], ...] = (Exception,)) -> None:
        super().__init__()
        self._executor = executor
        self._errors = errors

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        request = next((m for m in reversed(messages) if isinstance(m, UserMessage)), None)
        if request is None or not isinstance(request.content, str):
            return json.dumps({"error": "no call request was given"})
        try:
            call = json.loads(request.content)
            name, arguments = call["name"], call.get("arguments", {})
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            return json.dumps({"error": f"malformed call request: {exc}"})
        try:
            result = self._executor.execute(name, arguments)
        except self._errors as exc:
            return json.dumps({"error": str(exc) or type(exc).__name__}, ensure_ascii=False)
        return json.dumps(result, ensure_ascii=False)
