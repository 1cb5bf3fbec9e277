"""Deterministic tool execution for the offline world: one call request in, one JSON reply out.

This is the tool-simulator contract of `roles.tool` (a `{"name", "arguments"}` request in, one JSON
object out; a failed call as `{"error": ...}`), played by an executor instead of a model, so the ToolRole
cannot tell it from an LLM. roles/offline.py wraps it in a scripted model client.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from datamodel.json_text import decode_json

__all__ = ["Executor", "execute_request"]


class Executor(Protocol):
    """Anything that runs a function: the offline world, or a dict-backed stand-in in tests."""

    def execute(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The result object; raises an exception whose message says why the call failed."""
        ...


def execute_request(
    executor: Executor, request: str | None, errors: tuple[type[Exception], ...] = (Exception,)
) -> str:
    """The JSON reply to one call request; failures (a malformed request, or an exception of `errors`
    from the executor) become `{"error": <message>}`, because a failure is data, never a crash."""
    if request is None:
        return json.dumps({"error": "no call request was given"})
    try:
        call = decode_json(request)
        name, arguments = call["name"], call.get("arguments", {})
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        return json.dumps({"error": f"malformed call request: {exc}"})
    try:
        result = executor.execute(name, arguments)
    except errors as exc:
        return json.dumps({"error": str(exc) or type(exc).__name__}, ensure_ascii=False)
    return json.dumps(result, ensure_ascii=False)
