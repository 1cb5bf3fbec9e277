"""The tool: runs every call of the assistant's last turn through validation and its client.

Arguments are checked against the spec's JSON Schema before the client is asked, so an unknown function
or invalid arguments become an error result without a model call; the client's reply must be a JSON
object that fits the spec's `responses`. Calls of one turn are independent, so they run concurrently.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import BaseChatMessage
from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient, RequestUsage, SystemMessage, UserMessage

from composition.schema import FunctionSpec
from roles.messages import ToolTurnMessage, turn_message, turn_of, usage_from
from roles.prompts import tool_system_prompt
from simulator.trajectory import AssistantTurn, ToolCall, ToolResult, ToolTurn
from toolmock.validate import parse_tool_output, validate_arguments, validate_result

__all__ = ["ToolRole"]

_NO_USAGE = RequestUsage(prompt_tokens=0, completion_tokens=0)


class ToolRole(BaseChatAgent):
    """Simulates function execution for the calls of the assistant's latest turn."""

    def __init__(
        self, name: str, client: ChatCompletionClient, functions: Sequence[FunctionSpec], model_name: str = ""
    ) -> None:
        super().__init__(name, description="Executes (simulates) the functions the assistant calls.")
        self._client = client
        self._model_name = model_name
        self._specs = {f.name: f for f in functions}
        self._prompts: dict[str, SystemMessage] = {}  # built lazily: most specs are called once at most
        self._json_mode = bool(client.model_info.get("json_output", False))

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (ToolTurnMessage,)

    def _system(self, spec: FunctionSpec) -> SystemMessage:
        if spec.name not in self._prompts:
            self._prompts[spec.name] = SystemMessage(content=tool_system_prompt(spec))
        return self._prompts[spec.name]

    def _error(self, call: ToolCall, error: str) -> tuple[ToolResult, RequestUsage]:
        return ToolResult(call_id=call.id, name=call.name, arguments=call.arguments, error=error), _NO_USAGE

    async def _simulate(
        self, call: ToolCall, cancellation_token: CancellationToken
    ) -> tuple[ToolResult, RequestUsage]:
        spec = self._specs.get(call.name)
        if spec is None:
            return self._error(call, f"unknown function {call.name!r}; offered: {', '.join(self._specs)}")
        reason = validate_arguments(spec, call.arguments)
        if reason is not None:
            return self._error(call, f"invalid arguments: {reason}")
        request = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        result = await self._client.create(
            [self._system(spec), UserMessage(content=request, source=self.name)],
            json_output=True if self._json_mode else None,
            cancellation_token=cancellation_token,
        )
        if not isinstance(result.content, str):
            return self._error(call, "tool simulator replied with function calls instead of a JSON result")
        output, error = parse_tool_output(result.content)
        if output is not None:
            error = validate_result(spec, output)
        record = ToolResult(call_id=call.id, name=call.name, arguments=call.arguments)
        update = {"error": error} if error is not None else {"results": output}
        return record.model_copy(update=update), result.usage

    async def on_messages(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> Response:
        turns = [turn_of(m) for m in messages if m.source != self.name]
        calls = next((t.tool_calls for t in reversed(turns) if isinstance(t, AssistantTurn)), [])
        if not calls:
            raise ValueError("the tool was asked to speak but the assistant's last turn has no calls")
        start = time.perf_counter()
        outcomes = await asyncio.gather(*(self._simulate(c, cancellation_token) for c in calls))
        latency = (time.perf_counter() - start) * 1000.0
        tokens = RequestUsage(
            prompt_tokens=sum(u.prompt_tokens for _, u in outcomes),
            completion_tokens=sum(u.completion_tokens for _, u in outcomes),
        )
        turn = ToolTurn(results=[r for r, _ in outcomes], usage=usage_from(tokens, latency, self._model_name))
        return Response(chat_message=turn_message(turn, self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        return None
