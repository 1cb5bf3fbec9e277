"""Verification layers of the behaviours beyond one answerable request: pure functions, one per layer,
each applicable only to the tasks that carry its behaviour (datamodel/behaviours.py).

- asked_not_guessed (clarify): no call uses the left-out value before the user gave it, and the
  assistant asked for it;
- follow_ups_answered (follow_up): each follow-up request got an answer stating its result, and no
  call was repeated where an earlier result could be reused;
- refused_irrelevant (irrelevant): nothing was called, and the assistant said so in a final reply;
- error_handled (tool_error): what the failure called for was done: the call made again (transient),
  made again with the value the error suggested (misspelt), or the user told (a service that stays down),
  and the check says which was expected;
- right_twin (look-alikes): no call went to a near twin of a needed function.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from composition.logic import answer_matches
from datamodel.behaviours import Behaviour
from datamodel.checks import CheckName, CheckResult
from datamodel.reference import LiteralArg
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, ToolCall, Trajectory, UserTurn

__all__ = [
    "BEHAVIOUR_CHECKS",
    "check_asked_not_guessed",
    "check_behaviour",
    "check_error_handled",
    "check_follow_ups_answered",
    "check_refused_irrelevant",
    "check_right_twin",
    "final_answers",
]


# What a reply that declines says ("I can't", "none of the functions", "is not available", ...).
_DECLINES = re.compile(
    r"\b(can't|cannot|can not|couldn't|could not|unable|not able|wasn't able|don't have|do not have|"
    r"none of|no function|not available|isn't available|unavailable)\b",
    re.IGNORECASE,
)


def _not_here(name: CheckName, what: str) -> CheckResult:
    return CheckResult(name=name, passed=True, applicable=False, reason=f"no {what} in this task")


def _result(name: CheckName, failure: str | None, ok: str) -> CheckResult:
    if failure is not None:
        return CheckResult(name=name, passed=False, reason=failure)
    return CheckResult(name=name, passed=True, reason=ok)


def final_answers(trajectory: Trajectory) -> list[str]:
    """Every final answer, in order: one per request the conversation held."""
    return [t.final_answer for t in trajectory.turns if isinstance(t, AssistantTurn) and t.final_answer]


def _calls(trajectory: Trajectory) -> list[tuple[int, ToolCall]]:
    return [
        (i, c) for i, t in enumerate(trajectory.turns) if isinstance(t, AssistantTurn) for c in t.tool_calls
    ]


def check_asked_not_guessed(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Clarify: the left-out value is used only after the user gave it, and the assistant asked for it."""
    name, withheld = CheckName.ASKED_NOT_GUESSED, task.withheld
    if task.behaviour is not Behaviour.CLARIFY or withheld is None or task.reference is None:
        return _not_here(name, "left-out value")
    given = next(
        (i for i, t in enumerate(trajectory.turns) if isinstance(t, UserTurn) and withheld.text in t.content),
        len(trajectory.turns),
    )
    needing = next((st.function for st in task.reference.steps if st.subtask == withheld.step), None)
    for i, turn in enumerate(trajectory.turns[:given]):
        if isinstance(turn, AssistantTurn) and withheld.text in turn.content + (turn.final_answer or ""):
            return _result(name, f"turn {i} names {withheld.text!r} before the user gave it", "")
    for i, call in _calls(trajectory):
        if i < given and call.name == needing and call.arguments.get(withheld.argument) not in (None, ""):
            guessed = call.arguments[withheld.argument]
            return _result(name, f"turn {i} call {call.name} invents the {withheld.noun} {guessed!r}", "")
    asked = any(
        isinstance(t, AssistantTurn) and not t.tool_calls and t.final_answer is None
        for t in trajectory.turns[:given]
    )
    if not asked:
        return _result(name, f"the assistant never asked for the {withheld.noun}", "")
    return _result(name, None, f"asked for the {withheld.noun} and used it only once given")


def check_follow_ups_answered(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Follow-up: one answer per request, each follow-up's stating its result; no call made twice."""
    name = CheckName.FOLLOW_UPS_ANSWERED
    if not task.follow_ups:
        return _not_here(name, "follow-up request")
    answers = final_answers(trajectory)[1:]
    for k, follow_up in enumerate(task.follow_ups):
        if k >= len(answers):
            return _result(name, f"follow-up {k + 1} ({follow_up.instruction!r}) got no answer", "")
        if not answer_matches(answers[k], follow_up.answer_text):
            why = f"the answer to follow-up {k + 1}, {answers[k]!r}, does not state {follow_up.answer_text!r}"
            return _result(name, why, "")
    answered_at = [
        i for i, t in enumerate(trajectory.turns) if isinstance(t, AssistantTurn) and t.final_answer
    ]
    earlier: set[str] = set()  # successful calls of the first request, whose results a follow-up reuses
    for i, call in _calls(trajectory):
        request = sum(1 for turn in answered_at if turn < i)
        key = json.dumps([call.name, call.arguments], sort_keys=True)
        if request > 0 and key in earlier:
            return _result(
                name, f"turn {i} calls {call.name} again instead of reusing its earlier result", ""
            )
        result = trajectory.result_of(call.id)
        if result is not None and result.error is None:
            earlier.add(key)
    return _result(name, None, f"all {len(task.follow_ups)} follow-up(s) answered, earlier results reused")


def check_refused_irrelevant(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Irrelevant: no call, and a final reply that says no function fits."""
    name = CheckName.REFUSED_IRRELEVANT
    if task.behaviour is not Behaviour.IRRELEVANT:
        return _not_here(name, "unanswerable request")
    calls = _calls(trajectory)
    if calls:
        i, call = calls[0]
        return _result(name, f"turn {i} calls {call.name}, but no offered function can do what is asked", "")
    answers = final_answers(trajectory)
    if not answers:
        return _result(name, "the assistant never told the user it cannot help", "")
    if not _DECLINES.search(answers[-1]):
        return _result(name, f"the final reply {answers[-1]!r} does not say that no function fits", "")
    return _result(name, None, "called nothing and said no function fits")


def check_error_handled(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Tool error: after the planned failure, the expected move: retry, correct the value, or report."""
    name, fault, function = CheckName.ERROR_HANDLED, task.fault, task.faulty_function()
    if task.behaviour is not Behaviour.TOOL_ERROR or fault is None or function is None:
        return _not_here(name, "failing call")
    attempts = [(i, c) for i, c in _calls(trajectory) if c.name == function]
    results = [trajectory.result_of(c.id) for _, c in attempts]
    failed = next((k for k, r in enumerate(results) if r is not None and r.error is not None), None)
    expected = f"expected: {fault.expected}"
    if failed is None:
        why = f"the planned failure did not happen ({expected})"
        return CheckResult(name=name, passed=True, applicable=False, reason=why)
    later = list(zip(attempts[failed + 1 :], results[failed + 1 :], strict=True))
    if fault.expected == "report":
        if any(r is not None and r.error is None for _, r in later):
            return _result(
                name, f"a call to {function} succeeded against a service that is down ({expected})", ""
            )
        answers = final_answers(trajectory)
        if len(attempts) > 3 or not answers or not _DECLINES.search(answers[-1]):
            return _result(name, f"the user was not told that {function} is unavailable ({expected})", "")
        return _result(name, None, f"told the user {function} is unavailable ({expected})")
    first = attempts[failed][1]
    wanted = dict(first.arguments)
    if fault.expected == "correct" and fault.argument is not None:
        step = next(s for s in task.reference.steps if s.subtask == fault.step) if task.reference else None
        binding = step.arguments.get(fault.argument) if step is not None else None
        if isinstance(binding, LiteralArg):
            wanted[fault.argument] = binding.value
    recovered = any(r is not None and r.error is None and c.arguments == wanted for (_, c), r in later)
    if not recovered:
        return _result(
            name,
            f"no successful call of {function} with {json.dumps(wanted)} after the error ({expected})",
            "",
        )
    return _result(name, None, f"recovered from {fault.kind} error ({expected})")


def check_right_twin(task: CompositionalTask, trajectory: Trajectory) -> CheckResult:
    """Look-alikes: no call went to a near twin of a needed function."""
    name = CheckName.RIGHT_TWIN
    if not task.look_alikes:
        return _not_here(name, "look-alike function")
    wrong = next(((i, c) for i, c in _calls(trajectory) if c.name in task.look_alikes), None)
    if wrong is not None:
        return _result(name, f"turn {wrong[0]} calls the look-alike {wrong[1].name}", "")
    return _result(name, None, f"no call to the look-alikes {', '.join(task.look_alikes)}")


# The check of each behaviour beyond a plain request: what `button eval` scores a behaviour by.
BEHAVIOUR_CHECKS: dict[Behaviour, Callable[[CompositionalTask, Trajectory], CheckResult]] = {
    Behaviour.CLARIFY: check_asked_not_guessed,
    Behaviour.FOLLOW_UP: check_follow_ups_answered,
    Behaviour.IRRELEVANT: check_refused_irrelevant,
    Behaviour.TOOL_ERROR: check_error_handled,
}


def check_behaviour(task: CompositionalTask, trajectory: Trajectory) -> CheckResult | None:
    """The task's behaviour check, or None for a plain task."""
    check = BEHAVIOUR_CHECKS.get(task.behaviour)
    return check(task, trajectory) if check is not None else None
