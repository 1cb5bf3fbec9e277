"""The tool: runs every call of the assistant's last turn through validation and its client.

Arguments are checked against the spec's JSON Schema before the client is asked, so an unknown function
or invalid arguments become an error result without a model call; the client's reply must be a JSON
object that fits the spec's `responses`. Calls of one turn are independent, so they run concurrently.

A task's planned failure (a tool_error task's fault, toolmock/faults.py) is played here, for any client:
the call gets the planned error without the client being asked, so an LLM tool fails exactly as the
offline one does, and the verifier knows what it said.

For an LLM simulator (`format_retries` > 0) a reply that is not JSON or does not fit `responses` is sent
back with the problem and asked again; the last problem is recorded as the call's error. With `history`
on, the simulator also sees the earlier calls of the conversation and their results, so the values it
invents stay consistent (the same flight keeps its price).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import BaseChatMessage
from autogen_core import CancellationToken
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    LLMMessage,
    RequestUsage,
    SystemMessage,
    UserMessage,
)

from datamodel.behaviours import ToolFault
from datamodel.tasks import FunctionSpec
from datamodel.trajectory import AssistantTurn, ToolCall, ToolResult, ToolTurn
from roles.messages import ToolTurnMessage, turn_message, turn_of, usage_from
from roles.prompts import tool_feedback, tool_history_block, tool_system_prompt
from toolmock.faults import planned_failures
from toolmock.validate import parse_tool_output, validate_arguments, validate_result

__all__ = ["ToolRole"]

_NO_USAGE = RequestUsage(prompt_tokens=0, completion_tokens=0)


class ToolRole(BaseChatAgent):
    """Simulates function execution for the calls of the assistant's latest turn."""

    def __init__(
        self,
        name: str,
        client: ChatCompletionClient,
        functions: Sequence[FunctionSpec],
        model_name: str = "",
        *,
        format_retries: int = 0,
        history: bool = False,
        fault: ToolFault | None = None,
        faulty: str | None = None,
    ) -> None:
        super().__init__(name, description="Executes (simulates) the functions the assistant calls.")
        self._client = client
        self._fault = fault
        self._faulty = faulty  # the function the fault hits
        self._results: list[ToolResult] = []  # every result of the conversation so far
        self._format_retries = format_retries
        self._keep_history = history
        self._history: list[str] = []
        self._model_name = model_name
        self._specs = {f.name: f for f in functions}
        self._prompts: dict[str, SystemMessage] = {}  # built lazily: most specs are called once at most
        self._json_mode = bool(client.model_info.get("json_output", False))

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (ToolTurnMessage,)

    def _system(self, spec: FunctionSpec) -> SystemMessage:
        if self._history:
            return SystemMessage(content=tool_system_prompt(spec) + tool_history_block(self._history))
        if spec.name not in self._prompts:
            self._prompts[spec.name] = SystemMessage(content=tool_system_prompt(spec))
        return self._prompts[spec.name]

    def _error(self, call: ToolCall, error: str) -> tuple[ToolResult, RequestUsage]:
        return ToolResult(call_id=call.id, name=call.name, arguments=call.arguments, error=error), _NO_USAGE

    def _refused(self, call: ToolCall) -> str | None:
        """Why the call cannot run at all (an unknown function, invalid arguments), or None."""
        spec = self._specs.get(call.name)
        if spec is None:
            return f"unknown function {call.name!r}; offered: {', '.join(self._specs)}"
        reason = validate_arguments(spec, call.arguments)
        return f"invalid arguments: {reason}" if reason is not None else None

    def _planned(self, calls: Sequence[ToolCall]) -> list[str | None]:
        """Each call's error: why it cannot run, else the planned failure it meets, else None."""
        refused = [self._refused(call) for call in calls]
        runnable = [call for call, why in zip(calls, refused, strict=True) if why is None]
        failures = iter(planned_failures(self._fault, self._faulty, runnable, self._results))
        return [why if why is not None else next(failures) for why in refused]

    async def _simulate(
        self, call: ToolCall, error: str | None, cancellation_token: CancellationToken
    ) -> tuple[ToolResult, RequestUsage]:
        if error is not None:
            return self._error(call, error)
        spec = self._specs[call.name]
        request = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        messages: list[LLMMessage] = [self._system(spec), UserMessage(content=request, source=self.name)]
        prompt = completion = 0
        for attempt in range(self._format_retries + 1):
            result = await self._client.create(
                messages, json_output=True if self._json_mode else None, cancellation_token=cancellation_token
            )
            prompt += result.usage.prompt_tokens
            completion += result.usage.completion_tokens
            output, error, retryable = _checked(spec, result.content)
            if error is None or not retryable or attempt == self._format_retries:
                break
            messages += [
                AssistantMessage(content=str(result.content), source=self.name),
                UserMessage(content=tool_feedback(error), source=self.name),
            ]
        record = ToolResult(call_id=call.id, name=call.name, arguments=call.arguments)
        update = {"error": error} if error is not None else {"results": output}
        return record.model_copy(update=update), RequestUsage(
            prompt_tokens=prompt, completion_tokens=completion
        )

    async def on_messages(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> Response:
        # Its own turns come back only as given with the task (a fork's prefix): earlier results that
        # later ones stay consistent with, and a planned failure that already happened.
        own = [turn_of(m) for m in messages if m.source == self.name]
        given = [r for t in own if isinstance(t, ToolTurn) for r in t.results]
        self._results.extend(given)
        if self._keep_history:
            self._history.extend(_history_line(r) for r in given)
        turns = [turn_of(m) for m in messages if m.source != self.name]
        calls = next((t.tool_calls for t in reversed(turns) if isinstance(t, AssistantTurn)), [])
        if not calls:
            raise ValueError("the tool was asked to speak but the assistant's last turn has no calls")
        start = time.perf_counter()
        planned = self._planned(calls)
        outcomes = await asyncio.gather(
            *(self._simulate(c, e, cancellation_token) for c, e in zip(calls, planned, strict=True))
        )
        self._results.extend(r for r, _ in outcomes)
        if self._keep_history:
            self._history.extend(_history_line(r) for r, _ in outcomes)
        latency = (time.perf_counter() - start) * 1000.0
        tokens = RequestUsage(
            prompt_tokens=sum(u.prompt_tokens for _, u in outcomes),
            completion_tokens=sum(u.completion_tokens for _, u in outcomes),
        )
        turn = ToolTurn(results=[r for r, _ in outcomes], usage=usage_from(tokens, latency, self._model_name))
        return Response(chat_message=turn_message(turn, self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        self._history.clear()
        self._results.clear()


def _checked(spec: FunctionSpec, content: object) -> tuple[dict[str, Any] | None, str | None, bool]:
    """(result, None, _) for a usable reply, else (None, why, retryable). A failure the simulator
    reports on purpose (`{"error": ...}`) is data, not a malformed reply: never retried."""
    if not isinstance(content, str):
        return None, "tool simulator replied with function calls instead of a JSON result", True
    output, error = parse_tool_output(content)
    if output is None:
        assert error is not None
        return None, error, error.startswith("tool reply ")
    reason = validate_result(spec, output)
    return (output, None, False) if reason is None else (None, reason, True)


def _history_line(result: ToolResult) -> str:
    outcome = {"error": result.error} if result.error is not None else result.results
    return json.dumps(
        {"name": result.name, "arguments": result.arguments, "results": outcome}, ensure_ascii=False
    )
