"""The scripted assistant of the offline world: it follows the task's reference, talks like a capable
assistant (roles/narration.py), and shows the behaviours a function-calling model must have.

It is stateless apart from its task: every decision is recomputed from the messages it is given, as an
LLM's would be. It reads the task's ground-truth plan (`TaskReference`) but fills arguments from the
actual tool results in its context, never from the reference's stored results, and from what the user
said: a value the user has not given yet is asked for, never invented. Per behaviour:
- clarify: asks which value the user means before the call that needs it;
- follow_up: answers each request in turn, reusing what earlier calls returned;
- irrelevant: says that no function it has can do what is asked, and calls nothing;
- tool_error: retries a transient failure, corrects a misspelt value the error points out, and tells
  the user when a service stays down (after one retry).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import AssistantMessage, FunctionExecutionResultMessage, LLMMessage, UserMessage
from autogen_core.tools import Tool, ToolSchema

from composition.logic import LogicError, apply_logic, render_value
from composition.world.behaviours import vague_phrases
from datamodel.behaviours import Behaviour
from datamodel.button_format import render_final_block
from datamodel.reference import LiteralArg, RefArg, ReferenceStep, TaskReference
from datamodel.tasks import CompositionalTask
from roles.narration import Narrator, parameter_noun
from roles.scripted import Decision, ScriptedChatCompletionClient, ScriptedReply

__all__ = ["ASSISTANT_POLICIES", "OfflineAssistantClient"]

ASSISTANT_POLICIES = ("plan", "sequential")
_GIVE_UP = render_final_block("Sorry, I could not complete your request.")
_CALL_ID = re.compile(r"^call_s(\d+)_\d+$")


@dataclass
class _Progress:
    """What the conversation so far says: results per step, failures, what the user said."""

    outputs: dict[int, Any] = field(default_factory=dict)  # step -> result object, as the tool returned it
    failures: dict[int, list[str]] = field(default_factory=dict)  # step -> errors of its failed calls
    issued: set[int] = field(default_factory=set)  # steps called at least once
    turns: int = 0  # assistant turns so far
    answers: int = 0  # final answers given so far (one per request)
    latest: set[int] = field(default_factory=set)  # steps with results since the last assistant turn
    failed_now: set[int] = field(default_factory=set)  # steps whose call failed since then
    said: str = ""  # everything the user has said


def _read(messages: Sequence[LLMMessage]) -> _Progress:
    progress = _Progress()
    for message in messages:
        if isinstance(message, AssistantMessage):
            progress.turns += 1
            progress.latest.clear()
            progress.failed_now.clear()
            if isinstance(message.content, list):
                matches = (_CALL_ID.match(c.id) for c in message.content)
                progress.issued.update(int(m.group(1)) for m in matches if m)
            elif "<final>" in message.content:
                progress.answers += 1
        elif isinstance(message, UserMessage) and isinstance(message.content, str):
            progress.said += "\n" + message.content
        elif isinstance(message, FunctionExecutionResultMessage):
            for result in message.content:
                match = _CALL_ID.match(result.call_id)
                if match is None:
                    continue  # not a call this policy made
                step = int(match.group(1))
                if result.is_error:
                    progress.failures.setdefault(step, []).append(result.content)
                    progress.failed_now.add(step)
                else:
                    progress.outputs[step] = json.loads(result.content)
                    progress.latest.add(step)
    return progress


def _value(binding: LiteralArg | RefArg, values: dict[int, Any]) -> Any:
    """The binding's value; KeyError when it refers to a step not resolved yet (or a missing field)."""
    if isinstance(binding, LiteralArg):
        return binding.value
    value = values[binding.step]
    return value[binding.field] if binding.field is not None else value


def _resolve(steps: Sequence[ReferenceStep], outputs: dict[int, Any]) -> dict[int, Any]:
    """Values of every step that can be known now: tool outputs, and logic steps over known values."""
    values: dict[int, Any] = {}
    for step in steps:
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


class OfflineAssistantClient(ScriptedChatCompletionClient):
    """Follows the reference plan: plan first, then ready calls (batched when parallel), then the answer,
    saying what it learns and working every logic step in the open.

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
        self._batch = parallel and policy == "plan"
        self._fingerprint = task.fingerprint()
        # One reference per request: the task's own, then each follow-up with every step before it.
        steps, self._requests = list(task.reference.steps), [task.reference]
        for follow_up in task.follow_ups:
            steps += follow_up.steps
            self._requests.append(
                TaskReference(steps=list(steps), answer=follow_up.answer, answer_text=follow_up.answer_text)
            )
        answered = [0, *(len(r.steps) for r in self._requests[:-1])]  # steps solved before each request
        self._narrators = [
            Narrator(r, before) if r.steps else None
            for r, before in zip(self._requests, answered, strict=True)
        ]
        self._vague = self._vague_phrase()
        self._given = self._given_values()

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> Decision:
        progress = _read(messages)
        rng = random.Random(f"{self._task.seed}:{self._fingerprint}:{progress.turns}")
        request = min(progress.answers, len(self._requests) - 1)
        narrator = self._narrators[request]
        if self._task.behaviour is Behaviour.IRRELEVANT or narrator is None:
            names = [f.name for f in self._task.functions]
            return render_final_block(Narrator.refusal(names, rng))
        reference = self._requests[request]
        if progress.failed_now:
            return self._after_failure(progress, reference, narrator, rng)
        try:
            values = _resolve(reference.steps, progress.outputs)
            earlier = {k: v for k, v in progress.outputs.items() if k not in progress.latest}
            known_before = _resolve(reference.steps, earlier)
            last = reference.steps[-1]
            done = narrator.done(progress.latest, rng)
            if last.subtask in values:
                # The answer states the last result: no separate note on it.
                skip = progress.latest - ({last.subtask} if last.function else set())
                said = self._learned(narrator, reference, values, known_before, skip, rng)
                return "\n".join([*done, *said, render_final_block(narrator.answer(values, rng))])
            said = [*done, *self._learned(narrator, reference, values, known_before, progress.latest, rng)]
            ready = [s for s in reference.steps if self._is_ready(s, values, progress.issued)]
        except (LogicError, KeyError, TypeError) as exc:
            return f"I could not combine the results ({exc}).\n{_GIVE_UP}"
        if not ready:
            return f"No step can proceed.\n{_GIVE_UP}"
        # The first turn starts from what the request names, in the user's words.
        given = [Narrator.given(self._given, rng, self._vague)] if progress.turns == 0 and self._given else []
        if self._must_ask(ready, progress):
            assert self._task.withheld is not None
            # On the same line as the marked phrase: nothing stands between the mark and the question.
            return " ".join([*given, Narrator.ask(self._task.withheld.noun, rng)])
        batch = ready if self._batch else ready[:1]
        calls = [self._call(step, values, progress) for step in batch]
        if not progress.issued:
            thought = "\n".join([*given, narrator.plan(rng)])
        else:
            calling = (narrator.labelled(s, narrator.next_call(s, values, rng)) for s in batch)
            thought = "\n".join([*said, *calling])
        return ScriptedReply(calls, thought=self._as_the_user_wrote(thought, progress))

    def _vague_phrase(self) -> str | None:
        """How the request refers to the value it leaves out ("a certain course"), if it does."""
        withheld = self._task.withheld
        if withheld is None:
            return None
        return next((p for p in vague_phrases(withheld.noun) if p in self._task.instruction), None)

    def _given_values(self) -> list[str]:
        """The names, titles, places and dates the first request gives, as the user wrote them (a
        misspelling kept, the vague phrase for a value left out), in the order they are written, each
        with the kind of thing it is ("the stadium Weshaven Arena"): the kind is what picks the function
        that takes it, so it is said before the plan names one."""
        task, fault, withheld = self._task, self._task.fault, self._task.withheld
        found: dict[str, tuple[int, str]] = {}
        for step in self._requests[0].steps:
            for argument, binding in step.arguments.items():
                if not isinstance(binding, LiteralArg) or not isinstance(binding.value, str):
                    continue  # names, titles, places and dates; a number reads as a bare figure
                text, slot = render_value(binding.value), (step.subtask, argument)
                if withheld is not None and (withheld.step, withheld.argument) == slot:
                    text = typed = self._vague or ""  # the phrase names its kind itself
                else:
                    if fault is not None and fault.typo and (fault.step, fault.argument) == slot:
                        text = fault.typo
                    typed = Narrator.typed(parameter_noun(argument), text)
                at = task.instruction.find(text) if text else -1
                if at >= 0:
                    found.setdefault(text, (at, typed))
        return [typed for _, typed in sorted(found.values())]

    def _as_the_user_wrote(self, text: str, progress: _Progress) -> str:
        """Before a misspelt value is pointed out, the assistant knows it only as the user wrote it."""
        fault, reference = self._task.fault, self._requests[0]
        if fault is None or fault.kind != "typo" or fault.step in progress.failures or not fault.typo:
            return text
        step = next(s for s in reference.steps if s.subtask == fault.step)
        binding = step.arguments.get(fault.argument or "")
        if isinstance(binding, LiteralArg) and isinstance(binding.value, str):
            return text.replace(binding.value, fault.typo)
        return text

    def _after_failure(
        self, progress: _Progress, reference: TaskReference, narrator: Narrator, rng: random.Random
    ) -> Decision:
        """Retry a transient error, correct a value the error says is misspelt, or report a service that
        stays down; a failure the task did not plan for ends the conversation with an apology."""
        step_index = min(progress.failed_now)
        step = next((s for s in reference.steps if s.subtask == step_index), None)
        fault = self._task.fault
        error = progress.failures[step_index][-1]
        if step is None or fault is None or step.function != self._task.faulty_function():
            return f"A call failed ({error}).\n{_GIVE_UP}"
        values = _resolve(reference.steps, progress.outputs)
        notes = [
            *narrator.done(progress.latest, rng),
            *(narrator.note(s, values, rng) for s in reference.steps if s.subtask in progress.latest),
        ]
        attempts = len(progress.failures[step_index])
        if fault.kind == "typo" and attempts == 1:
            why = narrator.correct(fault.typo or "", _error_hint(error), rng)
            return ScriptedReply([self._call(step, values, progress)], thought="\n".join([*notes, why]))
        if fault.kind == "transient" or (fault.kind == "unavailable" and attempts == 1):
            why = narrator.retry(error, rng)
            return ScriptedReply([self._call(step, values, progress)], thought="\n".join([*notes, why]))
        return "\n".join([*notes, render_final_block(narrator.report(step, values, error, rng))])

    def _learned(
        self,
        narrator: Narrator,
        reference: TaskReference,
        values: dict[int, Any],
        known_before: dict[int, Any],
        latest: set[int],
        rng: random.Random,
    ) -> list[str]:
        """A note on each result that came since the last turn, then the working of every logic step
        those results made computable, in step order."""
        lines = []
        for step in reference.steps:
            if step.subtask in latest and not narrator.is_picked_from(step):
                lines.append(narrator.note(step, values, rng))
            elif step.function is None and step.subtask in values and step.subtask not in known_before:
                lines.append(narrator.labelled(step, narrator.working(step, values, rng)))
        return lines

    def _must_ask(self, ready: list[ReferenceStep], progress: _Progress) -> bool:
        """Whether a ready call needs a value the user has not given: ask rather than invent it."""
        withheld = self._task.withheld
        if withheld is None or withheld.text in progress.said:
            return False
        # Before any call, or before the call that needs it: a plan would have to name the value.
        return not progress.issued or any(s.subtask == withheld.step for s in ready)

    def _is_ready(self, step: ReferenceStep, values: dict[int, Any], issued: set[int]) -> bool:
        if step.function is None or step.subtask in issued or step.subtask in values:
            return False
        needs = {b.step for b in step.arguments.values() if isinstance(b, RefArg)}
        if step.subtask < len(self._task.subtasks):
            needs.update(self._task.subtasks[step.subtask].depends_on)
        return needs <= values.keys()

    def _call(self, step: ReferenceStep, values: dict[int, Any], progress: _Progress) -> FunctionCall:
        arguments = {name: _value(b, values) for name, b in step.arguments.items()}
        fault = self._task.fault
        typed = fault is not None and fault.kind == "typo" and fault.step == step.subtask
        if fault is not None and fault.argument and typed and step.subtask not in progress.failures:
            arguments[fault.argument] = fault.typo  # first as the user wrote it
        assert step.function is not None
        call_id = f"call_s{step.subtask}_{progress.turns}"  # the step index in the id finds the result again
        return FunctionCall(id=call_id, name=step.function, arguments=json.dumps(arguments))


def _error_hint(error: str) -> str:
    """The value an error suggests ("Did you mean 'X'?"), or the error itself."""
    found = re.search(r"mean '(.+?)'\?", error)
    return found.group(1) if found else error
