"""Layered verification of one conversation: pure functions, one per layer, cheapest first.

Each layer takes the task and the trajectory and returns a CheckResult whose reason names the offending
turn and call, so a rejected conversation says why. With a ground-truth reference (offline world), calls
are matched to reference steps by function and resolved arguments, where earlier results are the actual
results of the matched calls: the check follows the conversation as it happened, not the reference's
stored results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from composition.logic import LogicError, answer_matches, apply_logic
from datamodel.checks import CheckName, CheckResult
from datamodel.reference import LiteralArg, RefArg, ReferenceStep, TaskReference
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, ToolCall, Trajectory
from simulator.verify_behaviours import (
    check_asked_not_guessed,
    check_error_handled,
    check_follow_ups_answered,
    check_refused_irrelevant,
    check_right_twin,
    final_answers,
)
from toolmock.validate import validate_arguments

__all__ = [
    "ReferenceMatch",
    "check_answer_correct",
    "check_arguments_valid",
    "check_calls_parse",
    "check_dependency_order",
    "check_final_answer_present",
    "check_function_exists",
    "check_subtasks_covered",
    "match_reference",
    "steps_in_order",
    "verify",
    "whole_reference",
]

Located = tuple[int, ToolCall]  # (turn index, call)


def _located_calls(trajectory: Trajectory) -> list[Located]:
    return [
        (i, c) for i, t in enumerate(trajectory.turns) if isinstance(t, AssistantTurn) for c in t.tool_calls
    ]


def _where(turn: int, call: ToolCall) -> str:
    return f"turn {turn} call {call.id} ({call.name})"


def _verdict(name: CheckName, failures: list[str], ok: str) -> CheckResult:
    if failures:
        return CheckResult(name=name, passed=False, reason="; ".join(failures))
    return CheckResult(name=name, passed=True, reason=ok)


def check_calls_parse(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """No assistant turn was malformed."""
    failures = [
        f"turn {i}: {t.format_error}"
        for i, t in enumerate(trajectory.turns)
        if isinstance(t, AssistantTurn) and t.format_error is not None
    ]
    return _verdict(CheckName.CALLS_PARSE, failures, "every assistant turn parsed")


def check_function_exists(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Every call names a function offered in the task."""
    offered = {f.name for f in task.functions}
    failures = [
        f"{_where(i, c)}: not an offered function"
        for i, c in _located_calls(trajectory)
        if c.name not in offered
    ]
    return _verdict(CheckName.FUNCTION_EXISTS, failures, "every call names an offered function")


def check_arguments_valid(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Arguments fit the JSON Schema, and the tool accepted them (no error result). A failure the task
    plans (tool_error) is no fault of the call; error_handled judges what came after it.

    Calls of unknown functions are left to function_exists.
    """
    failures = []
    planned = task.faulty_function()
    for i, call in _located_calls(trajectory):
        spec = task.function(call.name)
        if spec is None:
            continue
        reason = validate_arguments(spec, call.arguments)
        if reason is not None:
            failures.append(f"{_where(i, call)}: {reason}")
            continue
        result = trajectory.result_of(call.id)
        if result is not None and result.error is not None and call.name != planned:
            failures.append(f"{_where(i, call)}: tool error: {result.error}")
    return _verdict(CheckName.ARGUMENTS_VALID, failures, "every call's arguments are valid and were accepted")


@dataclass
class ReferenceMatch:
    """How a conversation's calls line up with a reference: which call did each step, and what is missing."""

    calls: dict[int, Located] = field(default_factory=dict)  # function step -> matched call
    available: dict[int, int] = field(default_factory=dict)  # step -> turn its value was known from
    values: dict[int, Any] = field(default_factory=dict)  # step -> actual value
    missing: dict[int, str] = field(default_factory=dict)  # function step -> why no call matched


def _value(binding: LiteralArg | RefArg, values: dict[int, Any]) -> Any:
    """A binding's value; KeyError/TypeError when its step has no value (or lacks the field)."""
    if isinstance(binding, LiteralArg):
        return binding.value
    value = values[binding.step]
    return value[binding.field] if binding.field is not None else value


def _refs(step: ReferenceStep, task: CompositionalTask) -> set[int]:
    bindings = [*step.arguments.values(), *step.operands]
    refs = {b.step for b in bindings if isinstance(b, RefArg)}
    if step.subtask < len(task.subtasks):  # a follow-up's steps come after the task's sub-tasks
        refs |= set(task.subtasks[step.subtask].depends_on)
    return refs


def whole_reference(task: CompositionalTask) -> TaskReference | None:
    """The task's reference with every follow-up's steps after its own: what the whole dialogue calls."""
    if task.reference is None or not task.follow_ups:
        return task.reference
    steps = list(task.reference.steps) + [s for f in task.follow_ups for s in f.steps]
    return task.reference.model_copy(update={"steps": steps})


def _cannot_be_done(task: CompositionalTask) -> bool:
    """A service that stays down: the steps after it cannot be done, and there is no answer to give."""
    return task.fault is not None and task.fault.expected == "report"


def _fits(call: ToolCall, expected: dict[str, Any]) -> bool:
    """Every reference-bound argument is present with the same value; extra (optional) ones are allowed."""
    return all(name in call.arguments and call.arguments[name] == value for name, value in expected.items())


def _match_call(
    step: ReferenceStep, expected: dict[str, Any], calls: list[Located], after: int, trajectory: Trajectory
) -> Located | None:
    """The first fitting call made after its inputs were known that succeeded (a failed one may have
    been retried); else the first fitting call after them; else the first fitting call at all."""
    fitting = [(i, c) for i, c in calls if c.name == step.function and _fits(c, expected)]
    timely = [(i, c) for i, c in fitting if i > after]
    succeeded = [
        (i, c) for i, c in timely if (r := trajectory.result_of(c.id)) is not None and r.error is None
    ]
    return next(iter(succeeded or timely or fitting), None)


def _miss_reason(step: ReferenceStep, expected: dict[str, Any], calls: list[Located]) -> str:
    named = [(i, c) for i, c in calls if c.name == step.function]
    if not named:
        return f"{step.function} was never called"
    i, call = named[0]
    return f"{_where(i, call)} has arguments {json.dumps(call.arguments)}, expected {json.dumps(expected)}"


def _match_function_step(
    step: ReferenceStep,
    task: CompositionalTask,
    trajectory: Trajectory,
    free: list[Located],
    match: ReferenceMatch,
) -> None:
    try:
        expected = {name: _value(b, match.values) for name, b in step.arguments.items()}
    except (KeyError, TypeError):
        lacking = sorted(_refs(step, task) - match.values.keys())
        match.missing[step.subtask] = f"needs the output of sub-task {lacking}, which never came"
        return
    after = max((match.available.get(d, -1) for d in _refs(step, task)), default=-1)
    found = _match_call(step, expected, free, after, trajectory)
    if found is None:
        match.missing[step.subtask] = _miss_reason(step, expected, free)
        return
    free.remove(found)
    match.calls[step.subtask] = found
    result = trajectory.result_of(found[1].id)
    if result is not None and result.error is None:
        match.values[step.subtask] = result.results
        match.available[step.subtask] = found[0]


def match_reference(
    task: CompositionalTask, reference: TaskReference, trajectory: Trajectory
) -> ReferenceMatch:
    """Walk the reference steps in order: match each function step to one call, compute logic steps."""
    match = ReferenceMatch()
    free = _located_calls(trajectory)
    for step in reference.steps:
        if step.function is not None:
            _match_function_step(step, task, trajectory, free, match)
            continue
        try:
            operands = [_value(b, match.values) for b in step.operands]
            assert step.operation is not None
            value = apply_logic(step.operation, operands, step.labels, step.key, step.label_key)
        except (KeyError, TypeError, LogicError):
            continue
        match.values[step.subtask] = value
        match.available[step.subtask] = max(
            (match.available.get(d, -1) for d in _refs(step, task)), default=-1
        )
    return match


def check_subtasks_covered(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Every sub-task that needs a function has a matching call (with a reference: right function and
    arguments resolved from the actual results; without: its functions were called)."""
    reference = whole_reference(task)
    if _cannot_be_done(task):
        return CheckResult(
            name=CheckName.SUBTASKS_COVERED,
            passed=True,
            applicable=False,
            reason="a needed service stays down: the sub-tasks cannot all be done",
        )
    if reference is not None:
        match = match_reference(task, reference, trajectory)
        failures = [f"sub-task {s}: {why}" for s, why in sorted(match.missing.items())]
    else:
        called = {c.name for c in trajectory.calls}
        failures = [
            f"sub-task {sub.index}: {name} was never called"
            for sub in task.subtasks
            for name in sub.functions
            if name not in called
        ]
    needing = sum(1 for sub in task.subtasks if sub.functions)
    return _verdict(
        CheckName.SUBTASKS_COVERED, failures, f"all {needing} sub-tasks needing functions covered"
    )


def _inputs_too_late(
    task: CompositionalTask, reference: TaskReference, match: ReferenceMatch, step_index: int, turn: int
) -> list[tuple[int, int]]:
    """(dependency, turn its value became known) for each input of a matched step known only at or after
    the turn of the step's call: the one ordering rule of the check and of evaluation's progress."""
    late = []
    for dep in sorted(_refs(reference.steps[step_index], task)):
        known = match.available.get(dep)
        if known is not None and turn <= known:
            late.append((dep, known))
    return late


def _order_with_reference(
    task: CompositionalTask, reference: TaskReference, trajectory: Trajectory
) -> list[str]:
    match = match_reference(task, reference, trajectory)
    return [
        f"{_where(turn, call)} uses sub-task {dep}'s output, known only after turn {known}"
        for step_index, (turn, call) in sorted(match.calls.items())
        for dep, known in _inputs_too_late(task, reference, match, step_index, turn)
    ]


def steps_in_order(task: CompositionalTask, reference: TaskReference, trajectory: Trajectory) -> set[int]:
    """Sub-task indices of the function steps done right and in order.

    A step counts when match_reference matched it to a call and that call came in a turn after every
    input it depends on was known: the rule of check_dependency_order's reference branch, per step, so an
    evaluation can score partial progress where the check only gives one verdict for the conversation.
    """
    match = match_reference(task, reference, trajectory)
    return {
        step_index
        for step_index, (turn, _call) in match.calls.items()
        if not _inputs_too_late(task, reference, match, step_index, turn)
    }


def _order_without_reference(task: CompositionalTask, trajectory: Trajectory) -> list[str]:
    first: dict[str, Located] = {}
    for i, call in _located_calls(trajectory):
        first.setdefault(call.name, (i, call))
    available: dict[int, int] = {}  # sub-task -> turn by which all its functions had been called
    failures = []
    for sub in task.subtasks:
        deps_known = max((available.get(d, -1) for d in sub.depends_on), default=-1)
        made = [first[name] for name in sub.functions if name in first]
        if made:
            turn, call = min(made, key=lambda located: located[0])
            if sub.depends_on and turn <= deps_known:
                failures.append(
                    f"{_where(turn, call)} comes before the output of sub-task(s) {sub.depends_on}"
                )
        if len(made) == len(sub.functions):
            available[sub.index] = max([deps_known, *(i for i, _ in made)])
    return failures


def check_dependency_order(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """No call uses a value before the call that produces it: each call comes in a later turn than the
    calls whose outputs it consumes."""
    reference = whole_reference(task)
    if reference is not None:
        failures = _order_with_reference(task, reference, trajectory)
    else:
        failures = _order_without_reference(task, trajectory)
    return _verdict(CheckName.DEPENDENCY_ORDER, failures, "every call comes after the outputs it uses")


def check_final_answer_present(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """The assistant gave a (non-empty) final answer."""
    final = trajectory.final_answer
    if final is None or not final.strip():
        why = f"no final answer (episode ended by {trajectory.termination.value})"
        return CheckResult(name=CheckName.FINAL_ANSWER_PRESENT, passed=False, reason=why)
    turn = max(i for i, t in enumerate(trajectory.turns) if isinstance(t, AssistantTurn) and t.final_answer)
    return CheckResult(
        name=CheckName.FINAL_ANSWER_PRESENT, passed=True, reason=f"final answer in turn {turn}"
    )


def check_answer_correct(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """With ground truth, the answer to the request (the first final answer: follow-ups have their own
    layer) states the expected answer; without, or with nothing to answer, the layer does not apply."""
    if task.reference is None or not task.reference.answer_text or _cannot_be_done(task):
        why = "no ground truth for this task" if task.reference is None else "nothing to answer in this task"
        return CheckResult(name=CheckName.ANSWER_CORRECT, passed=True, applicable=False, reason=why)
    answers = final_answers(trajectory)
    expected, final = task.reference.answer_text, answers[0] if answers else None
    if final is None:
        return CheckResult(name=CheckName.ANSWER_CORRECT, passed=False, reason="no final answer to judge")
    if answer_matches(final, expected):
        return CheckResult(
            name=CheckName.ANSWER_CORRECT, passed=True, reason=f"final answer states {expected!r}"
        )
    reason = f"final answer {final!r} does not state {expected!r}"
    return CheckResult(name=CheckName.ANSWER_CORRECT, passed=False, reason=reason)


_LAYERS: dict[CheckName, Callable[[CompositionalTask, Trajectory], CheckResult]] = {
    CheckName.CALLS_PARSE: check_calls_parse,
    CheckName.FUNCTION_EXISTS: check_function_exists,
    CheckName.ARGUMENTS_VALID: check_arguments_valid,
    CheckName.SUBTASKS_COVERED: check_subtasks_covered,
    CheckName.DEPENDENCY_ORDER: check_dependency_order,
    CheckName.FINAL_ANSWER_PRESENT: check_final_answer_present,
    CheckName.ANSWER_CORRECT: check_answer_correct,
    CheckName.ASKED_NOT_GUESSED: check_asked_not_guessed,
    CheckName.FOLLOW_UPS_ANSWERED: check_follow_ups_answered,
    CheckName.REFUSED_IRRELEVANT: check_refused_irrelevant,
    CheckName.ERROR_HANDLED: check_error_handled,
    CheckName.RIGHT_TWIN: check_right_twin,
}


def verify(task: CompositionalTask, trajectory: Trajectory) -> list[CheckResult]:
    """Every layer, in CheckName order."""
    return [_LAYERS[name](task, trajectory) for name in CheckName]
