"""The assistant: solves the task with the offered functions, guided by the hidden sub-task hint.

It accepts both reply forms a client may give — native function calls (`list[FunctionCall]`, with an
optional `thought`) and text — and normalizes either into an `AssistantTurn`. Text is read in the BUTTON
tag format, or, when the assistant calls natively, in any form a chat template writes native calls as
text (roles/native_text.py: a local model, or a server without a tool-call parser, returns them so).
Its model context mirrors the form the model used, so a native model sees native tool messages and a
text model sees the BUTTON tool message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, cast

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import BaseChatMessage
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import ParametersSchema, ToolSchema

from datamodel.button_format import parse_assistant_text, render_assistant_text, render_tool_results
from datamodel.json_text import decode_json
from datamodel.tasks import FunctionSpec, SubTask
from datamodel.trajectory import AssistantTurn, ToolCall, ToolTurn, UserTurn
from roles.messages import AssistantTurnMessage, turn_message, turn_of, usage_from
from roles.native_text import parse_native_text, written_as_button
from roles.prompts import assistant_feedback, button_system_prompt, hint_block, native_system_prompt

__all__ = ["AssistantRole", "tool_schema", "turn_from_calls", "turn_from_text"]


def tool_schema(spec: FunctionSpec) -> ToolSchema:
    """The native tool schema of a spec (derived from its JSON Schema, the one source of truth)."""
    return ToolSchema(
        name=spec.name, description=spec.description, parameters=cast(ParametersSchema, spec.parameters)
    )


def turn_from_calls(calls: Sequence[FunctionCall], thought: str | None, turn_no: int) -> AssistantTurn:
    """Normalize native calls; arguments that are not a JSON object make the turn a format error."""
    parsed: list[ToolCall] = []
    for k, call in enumerate(calls):
        try:
            arguments: Any = decode_json(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError as exc:
            arguments, problem = None, f"not JSON ({exc.msg})"
        else:
            problem = "" if isinstance(arguments, dict) else "not a JSON object"
        if problem:
            raw = "; ".join(f"{c.name}({c.arguments})" for c in calls)
            error = f"call {k} ({call.name}): arguments are {problem}"
            return AssistantTurn(content=thought or "", raw=raw, format_error=error)
        call_id = call.id or f"call_{turn_no}_{k}"
        parsed.append(ToolCall(id=call_id, name=call.name, arguments=arguments))
    return AssistantTurn(content=thought or "", tool_calls=parsed)


def turn_from_text(text: str, thought: str | None, turn_no: int, *, native: bool = False) -> AssistantTurn:
    """Normalize a text reply, in the BUTTON format or (`native`) any native call form written as text;
    ids are assigned here as call_<turn>_<k>."""
    parsed = parse_native_text(text) if native else parse_assistant_text(text)
    calls = [
        ToolCall(id=f"call_{turn_no}_{k}", name=c.name, arguments=c.arguments)
        for k, c in enumerate(parsed.calls)
    ]
    content = parsed.content or (thought or "")
    return AssistantTurn(
        content=content, tool_calls=calls, final_answer=parsed.final, raw=text, format_error=parsed.error
    )


def _dedupe_ids(turn: AssistantTurn, seen: set[str], turn_no: int) -> AssistantTurn:
    """Call ids must be unique within the conversation; a repeated id is replaced, never dropped."""
    fixed = []
    for k, call in enumerate(turn.tool_calls):
        call_id = call.id if call.id not in seen else f"call_{turn_no}_{k}"
        seen.add(call_id)
        fixed.append(call if call_id == call.id else call.model_copy(update={"id": call_id}))
    return turn.model_copy(update={"tool_calls": fixed}) if turn.tool_calls else turn


class AssistantRole(BaseChatAgent):
    """Keeps its own model context (system + hints, user, its turns, tool results) and asks its client."""

    def __init__(
        self,
        name: str,
        client: ChatCompletionClient,
        functions: Sequence[FunctionSpec],
        *,
        parallel: bool,
        subtasks: Sequence[SubTask] | None = None,
        model_name: str = "",
        native: bool | None = None,
        format_retries: int = 0,
    ) -> None:
        """`native`: send the functions as API tools (None: whenever the client supports function calling,
        with the BUTTON prompt either way, as the offline clients expect). `format_retries`: how often a
        malformed reply is sent back with the problem before it is recorded as it is."""
        super().__init__(name, description="Solves the user's task by calling functions.")
        self._client = client
        self._model_name = model_name
        self._format_retries = format_retries
        self._names = {f.name for f in functions}
        prompt = native_system_prompt(parallel) if native else button_system_prompt(functions, parallel)
        system = prompt + (hint_block(subtasks) if subtasks else "")
        self._context: list[LLMMessage] = [SystemMessage(content=system)]
        self._native = bool(client.model_info.get("function_calling", False)) if native is None else native
        self._tools = [tool_schema(f) for f in functions] if self._native else []
        self._native_ids: set[str] = set()  # calls made natively: their results go back as tool messages
        self._seen_ids: set[str] = set()
        self._turn_no = 0

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (AssistantTurnMessage,)

    def _absorb(self, messages: Sequence[BaseChatMessage]) -> None:
        for message in messages:
            turn = turn_of(message)
            if isinstance(turn, UserTurn):
                self._context.append(UserMessage(content=turn.content, source=message.source))
            elif isinstance(turn, ToolTurn):
                self._context.append(self._results_message(turn, message.source))
            elif isinstance(turn, AssistantTurn) and message.source == self.name:
                # An agent is never handed its own replies back, so an own turn here is an
                # earlier turn given with the task (a fork's prefix): take it over as if said here.
                self._context.append(self._take_over(turn))

    def _take_over(self, turn: AssistantTurn) -> LLMMessage:
        """An earlier turn of this role, in the form its model would have produced it."""
        self._turn_no += 1
        self._seen_ids.update(c.id for c in turn.tool_calls)
        if self._native and turn.tool_calls and turn.format_error is None:
            return self._native_message(turn, turn.content or None)
        return AssistantMessage(content=turn.raw or render_assistant_text(turn), source=self.name)

    def _native_message(self, turn: AssistantTurn, thought: str | None) -> AssistantMessage:
        """A turn's calls as native function calls (their results then come back as tool messages)."""
        self._native_ids.update(c.id for c in turn.tool_calls)
        calls = [
            FunctionCall(id=c.id, name=c.name, arguments=json.dumps(c.arguments, ensure_ascii=False))
            for c in turn.tool_calls
        ]
        return AssistantMessage(content=calls, thought=thought, source=self.name)

    def _results_message(self, turn: ToolTurn, source: str) -> LLMMessage:
        if turn.results and all(r.call_id in self._native_ids for r in turn.results):
            results = [
                FunctionExecutionResult(
                    call_id=r.call_id,
                    name=r.name,
                    content=r.error if r.error is not None else json.dumps(r.results, ensure_ascii=False),
                    is_error=r.error is not None,
                )
                for r in turn.results
            ]
            return FunctionExecutionResultMessage(content=results)
        return UserMessage(content=render_tool_results(turn), source=source)

    def _normalize(self, result: CreateResult) -> tuple[AssistantTurn, AssistantMessage]:
        if isinstance(result.content, list):
            turn = turn_from_calls(result.content, result.thought, self._turn_no)
            turn = _dedupe_ids(turn, self._seen_ids, self._turn_no)
            if turn.format_error is None:
                return turn, self._native_message(turn, result.thought)
            return turn, AssistantMessage(content=turn.raw or "", source=self.name)
        turn = turn_from_text(result.content, result.thought, self._turn_no, native=self._native)
        turn = _dedupe_ids(turn, self._seen_ids, self._turn_no)
        if self._native and turn.tool_calls and not written_as_button(result.content):
            return turn, self._native_message(turn, turn.content or None)  # native calls written as text
        return turn, AssistantMessage(content=result.content, thought=result.thought, source=self.name)

    def _problem(self, turn: AssistantTurn) -> str | None:
        """Why a turn cannot be used as it is: a format error, or a call to a function not offered."""
        if turn.format_error is not None:
            return turn.format_error
        unknown = [c.name for c in turn.tool_calls if c.name not in self._names]
        if unknown:
            return f"unknown function {unknown[0]!r}; offered: {', '.join(sorted(self._names))}"
        return None

    async def _ask(self, cancellation_token: CancellationToken) -> tuple[AssistantTurn, RequestUsage]:
        result = await self._client.create(
            self._context, tools=self._tools, cancellation_token=cancellation_token
        )
        turn, llm_message = self._normalize(result)
        self._context.append(llm_message)
        return turn, result.usage

    async def _repair(
        self, turn: AssistantTurn, usage: RequestUsage, cancellation_token: CancellationToken
    ) -> tuple[AssistantTurn, RequestUsage]:
        """Send a malformed reply's problem back and ask again, up to `format_retries` times.

        Only the last reply stays in the context (failed attempts and feedback are dropped), so the
        context matches the recorded trajectory; a reply still malformed is recorded with its error.
        Tokens of every attempt count towards the turn's usage.
        """
        first = len(self._context) - 1
        for _ in range(self._format_retries):
            problem = self._problem(turn)
            if problem is None:
                break
            feedback = assistant_feedback(problem, self._native)
            self._context.append(UserMessage(content=feedback, source="format_check"))
            turn, more = await self._ask(cancellation_token)
            usage = RequestUsage(
                prompt_tokens=usage.prompt_tokens + more.prompt_tokens,
                completion_tokens=usage.completion_tokens + more.completion_tokens,
            )
        del self._context[first:-1]
        return turn, usage

    async def on_messages(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> Response:
        self._absorb(messages)
        self._turn_no += 1
        start = time.perf_counter()
        turn, usage = await self._ask(cancellation_token)
        if self._format_retries and self._problem(turn) is not None:
            turn, usage = await self._repair(turn, usage, cancellation_token)
        latency = (time.perf_counter() - start) * 1000.0
        turn = turn.model_copy(update={"usage": usage_from(usage, latency, self._model_name)})
        return Response(chat_message=turn_message(turn, self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        self._context = self._context[:1]
        self._native_ids.clear()
        self._seen_ids.clear()
        self._turn_no = 0
