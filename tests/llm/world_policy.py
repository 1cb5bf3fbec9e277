"""A scripted "LLM" for the test server that plays offline-world tasks correctly, in every role.

It reads the OpenAI request the way a model would (system prompt, messages, tools), turns it back into
autogen messages and asks the offline scripted clients, so an LLM run against the server must reach the
same verified answers as an offline run. In the BUTTON text format the call ids the offline assistant
needs travel inside the `<call>` items (an extra "id" key, which the parser ignores).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from openai_server import Reply

from composition.world.offline import OfflineWorld
from datamodel.behaviours import BehaviourMix
from datamodel.tasks import CompositionalTask
from roles.offline import OfflineToolClient, OfflineUserClient
from roles.offline_assistant import OfflineAssistantClient
from roles.scripted import ScriptedReply

__all__ = ["WorldPolicy", "to_autogen"]

_CALL = re.compile(r"<call>(.*?)</call>", re.DOTALL)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def _calls_in(text: str) -> list[FunctionCall] | None:
    match = _CALL.search(text)
    if match is None:
        return None
    try:
        items = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return [
        FunctionCall(id=i.get("id", ""), name=i["name"], arguments=json.dumps(i["arguments"])) for i in items
    ]


def _results(text: str, pending: list[FunctionCall]) -> FunctionExecutionResultMessage | None:
    """A BUTTON tool message (JSON list of {name, arguments, results}) answering `pending` calls."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not (
        isinstance(items, list) and pending and all(isinstance(i, dict) and "results" in i for i in items)
    ):
        return None
    return FunctionExecutionResultMessage(
        content=[_result(c.id, i["name"], i["results"]) for c, i in zip(pending, items, strict=False)]
    )


def _result(call_id: str, name: str, results: Any) -> FunctionExecutionResult:
    failed = not isinstance(results, dict) or set(results) == {"error"}
    return FunctionExecutionResult(call_id=call_id, name=name, content=json.dumps(results), is_error=failed)


def _native_calls(message: dict[str, Any]) -> list[FunctionCall]:
    return [
        FunctionCall(id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"])
        for c in message["tool_calls"]
    ]


def to_autogen(messages: Sequence[dict[str, Any]]) -> list[LLMMessage]:
    """OpenAI messages → autogen messages, with BUTTON calls and results read back as native ones."""
    out: list[LLMMessage] = []
    pending: list[FunctionCall] = []
    for message in messages:
        role, text = message["role"], _text(message)
        if role == "system":
            out.append(SystemMessage(content=text))
        elif role == "assistant":
            calls = _native_calls(message) if message.get("tool_calls") else _calls_in(text)
            pending = calls or []
            out.append(AssistantMessage(content=calls if calls else text, source="assistant"))
        elif role == "tool":
            try:
                results = json.loads(text)
            except json.JSONDecodeError:
                results = {"error": text}
            name = next((c.name for c in pending if c.id == message["tool_call_id"]), "")
            out.append(
                FunctionExecutionResultMessage(content=[_result(message["tool_call_id"], name, results)])
            )
        else:
            out.append(_results(text, pending) or UserMessage(content=text, source="user"))
    return out


class WorldPolicy:
    """Answers as the user, the assistant or the tool, told apart by the system prompt."""

    def __init__(
        self, tasks: Sequence[CompositionalTask], world: OfflineWorld, parallel: bool = True
    ) -> None:
        self._tasks = {t.instruction: t for t in tasks}
        self._world = world
        self._parallel = parallel

    @classmethod
    def for_tasks(
        cls, n: int, seed: int, world_seed: int = 0, max_subtasks: int = 3, mix: BehaviourMix | None = None
    ) -> WorldPolicy:
        """The tasks a `button generate` of the same settings makes (its default mix unless given)."""
        world = OfflineWorld(world_seed=world_seed)
        mix = mix if mix is not None else BehaviourMix()
        return cls(
            [world.generate_task(seed, i, max_subtasks=max_subtasks, mix=mix) for i in range(n)], world
        )

    def _task(self, text: str) -> CompositionalTask:
        if text in self._tasks:
            return self._tasks[text]
        return next(t for instruction, t in self._tasks.items() if instruction in text)

    def __call__(self, request: dict[str, Any]) -> Reply:
        messages = to_autogen(request["messages"])
        system = str(messages[0].content) if isinstance(messages[0], SystemMessage) else ""
        if "simulate the execution" in system:  # the request is the first user message (then feedback)
            call = next(m for m in messages if isinstance(m, UserMessage))
            return Reply(content=OfflineToolClient(self._world).decide([call], []))
        if "play a person" in system:
            return Reply(content=OfflineUserClient(self._task(system)).decide(messages, []))
        request_text = next(str(m.content) for m in messages if isinstance(m, UserMessage))
        assistant = OfflineAssistantClient(self._task(request_text), parallel=self._parallel)
        decision = assistant.decide(messages, [])
        reply = decision if isinstance(decision, ScriptedReply) else ScriptedReply(decision)
        if isinstance(reply.content, str):
            return Reply(content=reply.content)
        if request.get("tools"):
            return Reply(
                content=reply.thought, tool_calls=[(c.id, c.name, c.arguments) for c in reply.content]
            )
        items = [{"id": c.id, "name": c.name, "arguments": json.loads(c.arguments)} for c in reply.content]
        return Reply(content=f"{reply.thought or ''}\n<call>{json.dumps(items)}</call>")
