"""Scripted user, assistant and tool clients for the offline world.

Both are stateless apart from the task they were built for: every decision is recomputed from the
messages they are given, exactly as an LLM would have to. The assistant reads the task's ground-truth
plan (`TaskReference`) but fills arguments from the actual tool results in its context, never from the
reference's stored results, so the simulation really exercises the tool round trip.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import AssistantMessage, FunctionExecutionResultMessage, LLMMessage, UserMessage
from autogen_core.tools import Tool, ToolSchema

from composition.logic import LogicError, apply_logic
from datamodel.button_format import render_final_block
from datamodel.reference import LiteralArg, RefArg, ReferenceStep, TaskReference
from datamodel.tasks import CompositionalTask
from roles.narration import Narrator
from roles.scripted import Decision, ScriptedChatCompletionClient, ScriptedReply
from toolmock.offline import Executor, execute_request

__all__ = [
    "ASSISTANT_POLICIES",
    "CLARIFICATION_REPLY",
    "OfflineAssistantClient",
    "OfflineToolClient",
    "OfflineUserClient",
]

CLARIFICATION_REPLY = "Please go ahead with what you have."
ASSISTANT_POLICIES = ("plan", "sequential")
_GIVE_UP = render_final_block("Sorry, I could not complete your request.")
_CALL_ID = re.compile(r"^call_s(\d+)_\d+$")


class OfflineUserClient(ScriptedChatCompletionClient):
    """Opens with the task instruction; answers any later question with a fixed go-ahead."""

    def __init__(self, task: CompositionalTask) -> None:
        super().__init__()
        self._instruction = task.instruction

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        spoke = any(isinstance(m, AssistantMessage) for m in messages)
        return CLARIFICATION_REPLY if spoke else self._instruction


@dataclass
class _Progress:
    """What the conversation so far says about each reference step."""

    outputs: dict[int, Any]  # step -> result object (function step) as returned by the tool
    failures: list[str]  # "name: error" of calls that failed
    issued: set[int]  # steps already called
    turns: int  # assistant turns so far
    latest: set[int]  # steps whose results came after the assistant's last turn (not yet talked about)


def _read(messages: Sequence[LLMMessage]) -> _Progress:
    progress = _Progress(outputs={}, failures=[], issued=set(), turns=0, latest=set())
    for message in messages:
        if isinstance(message, AssistantMessage):
            progress.turns += 1
            progress.latest.clear()
            if isinstance(message.content, list):
                matches = (_CALL_ID.match(c.id) for c in message.content)
                progress.issued.update(int(m.group(1)) for m in matches if m)
        elif isinstance(message, FunctionExecutionResultMessage):
            for result in message.content:
                match = _CALL_ID.match(result.call_id)
                if match is None:
                    continue  # not a call this policy made
                if result.is_error:
                    progress.failures.append(f"{result.name}: {result.content}")
                else:
                    progress.outputs[int(match.group(1))] = json.loads(result.content)
                    progress.latest.add(int(match.group(1)))
    return progress


def _value(binding: LiteralArg | RefArg, values: dict[int, Any]) -> Any:
    """The binding's value; KeyError when it refers to a step not resolved yet (or a missing field)."""
    if isinstance(binding, LiteralArg):
        return binding.value
    value = values[binding.step]
    return value[binding.field] if binding.field is not None else value


def _resolve(reference: TaskReference, outputs: dict[int, Any]) -> dict[int, Any]:
    """Values of every step that can be known now: tool outputs, and logic steps over known values."""
    values: dict[int, Any] = {}
    for step in reference.steps:
        if step.function is not None:
            if step.subtask in outputs:
                values[step.subtask] = outputs[step.subtask]
            continue
        try:
            operands = [_value(b, values) for b in step.operands]
        except KeyError:
            continue
        assert step.operation is not None
        values[step.subtask] = apply_logic(step.operation, operands, step.labels, step.key, step.label_key)
    return values


def _answer(reference: TaskReference, values: dict[int, Any]) -> Any:
    """The answer from the actual values: the last step's value, or the field of it that holds the answer."""
    last = reference.steps[-1]
    value = values[last.subtask]
    if isinstance(value, dict) and isinstance(last.result, dict):
        key = next((k for k, v in last.result.items() if v == reference.answer), None)
        if key is not None and key in value:
            return value[key]
    return value


class OfflineAssistantClient(ScriptedChatCompletionClient):
    """Follows the reference plan: plan first, then ready calls (batched when parallel), then the answer,
    saying what it learns and working every logic step in the open (roles/narration.py).

    Policies: "plan" batches every ready call into one turn when parallel calling is on; "sequential"
    makes one call per turn even when parallel calling is allowed (an alternative trajectory for forks).
    The wording is drawn per task and turn from the task's seed, so the same run gives the same text.
    """

    def __init__(self, task: CompositionalTask, parallel: bool, policy: str = "plan") -> None:
        super().__init__()
        if task.reference is None:
            raise ValueError("the offline assistant needs a task with a reference (an offline-world task)")
        if policy not in ASSISTANT_POLICIES:
            raise ValueError(f"unknown assistant policy {policy!r}; allowed: {', '.join(ASSISTANT_POLICIES)}")
        self._task = task
        self._reference = task.reference
        self._batch = parallel and policy == "plan"
        self._narrator = Narrator(task.reference)
        self._fingerprint = task.fingerprint()
        last = task.reference.steps[-1]
        self._last_call = last.subtask if last.function is not None else -1

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> Decision:
        progress = _read(messages)
        rng = random.Random(f"{self._task.seed}:{self._fingerprint}:{progress.turns}")
        if progress.failures:
            return f"A call failed ({progress.failures[0]}).\n{_GIVE_UP}"
        try:
            values = _resolve(self._reference, progress.outputs)
            earlier = {k: v for k, v in progress.outputs.items() if k not in progress.latest}
            known_before = _resolve(self._reference, earlier)
            if all(s.subtask in values for s in self._reference.steps):
                # The answer states the last result: no separate note on it.
                said = self._learned(values, known_before, progress.latest - {self._last_call}, rng)
                answer = self._narrator.answer(values, rng)
                return "\n".join([*said, render_final_block(answer)])
            said = self._learned(values, known_before, progress.latest, rng)
            ready = [s for s in self._reference.steps if self._is_ready(s, values, progress.issued)]
        except (LogicError, KeyError, TypeError) as exc:
            return f"I could not combine the results ({exc}).\n{_GIVE_UP}"
        if not ready:
            return f"No step can proceed.\n{_GIVE_UP}"
        batch = ready if self._batch else ready[:1]
        calls = [self._call(step, values, progress.turns) for step in batch]
        if progress.turns == 0:
            thought = self._narrator.plan(rng)
        else:
            thought = "\n".join([*said, *(self._narrator.next_call(s, values, rng) for s in batch)])
        return ScriptedReply(calls, thought=thought)

    def _learned(
        self, values: dict[int, Any], known_before: dict[int, Any], latest: set[int], rng: random.Random
    ) -> list[str]:
        """A note on each result that came since the last turn, then the working of every logic step
        those results made computable, in step order."""
        lines = []
        for step in self._reference.steps:
            if step.subtask in latest and not self._narrator.is_picked_from(step):
                lines.append(self._narrator.note(step, values, rng))
            elif step.function is None and step.subtask in values and step.subtask not in known_before:
                lines.append(self._narrator.working(step, values, rng))
        return lines

    def _is_ready(self, step: ReferenceStep, values: dict[int, Any], issued: set[int]) -> bool:
        if step.function is None or step.subtask in issued or step.subtask in values:
            return False
        needs = {b.step for b in step.arguments.values() if isinstance(b, RefArg)}
        needs.update(self._task.subtasks[step.subtask].depends_on)
        return needs <= values.keys()

    def _call(self, step: ReferenceStep, values: dict[int, Any], turn: int) -> FunctionCall:
        arguments = {name: _value(b, values) for name, b in step.arguments.items()}
        assert step.function is not None
        call_id = f"call_s{step.subtask}_{turn}"  # the step index in the id finds the result again
        return FunctionCall(id=call_id, name=step.function, arguments=json.dumps(arguments))


class OfflineToolClient(ScriptedChatCompletionClient):
    """Executes the requested call with `executor` (toolmock/offline.py); failures become
    `{"error": <message>}` replies. `errors` are the exception types counted as a failed call; by
    default any exception."""

    def __init__(self, executor: Executor, errors: tuple[type[Exception], ...] = (Exception,)) -> None:
        super().__init__()
        self._executor = executor
        self._errors = errors

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        request = next((m for m in reversed(messages) if isinstance(m, UserMessage)), None)
        text = request.content if request is not None and isinstance(request.content, str) else None
        return execute_request(self._executor, text, self._errors)
