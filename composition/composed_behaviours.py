"""Behaviours for the tasks the LLM composer made, drawn by the run's mix and seed.

An LLM-made task has no ground truth (no reference values), so only the behaviours that need none are
built from it; a task drawn for another behaviour stays plain, as an offline task that cannot take its
draw does:

- irrelevant: the request is kept and the functions of another task are offered instead, one of
  another domain (its scenario's and its functions'), with none of the same functions, whose function
  names and descriptions share no content word with the request, so no offered function can do what is
  asked;
- tool_error: the first call of the first step with functions fails, once (transient: retry) or for
  good (unavailable: report); the Tool role plays the failure whatever model simulates it;
- look-alikes: functions of other tasks that are near twins of a needed one (a content word of the name
  in common, the same required parameter types, none of its result fields) are offered besides.

clarify and follow-up need values the request names and results known in advance, which only the
offline world has. Everything here is a pure function of the tasks, the mix and the seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from composition.world.behaviours import DOWN_MESSAGES, GENERIC_NAME_WORDS, TRANSIENT_MESSAGES, draw_behaviour
from datamodel.behaviours import Behaviour, BehaviourMix, ToolFault
from datamodel.tasks import CompositionalTask, FunctionSpec, Strategy, SubTask

__all__ = ["with_composed_behaviours"]

_WORD = re.compile(r"[a-z]+")
# Words too common to say what a request or a function is about.
_STOP = frozenset(
    _WORD.findall(
        "a an and are as at be by can do does for from get give how i in is it me my of on or please show "
        "tell than that the their them then there this to under was what when where which who will with "
        "would you your find list search info details"
    )
)
_REFUSAL = "None of the offered functions can do this: say so."


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower().replace("_", " ")) if len(w) > 2 and w not in _STOP}


def _function_words(functions: Sequence[FunctionSpec]) -> set[str]:
    return set().union(*(_words(f"{f.name} {f.description}") for f in functions)) if functions else set()


def _needed(task: CompositionalTask) -> list[str]:
    return sorted({name for sub in task.subtasks for name in sub.functions})


def _irrelevant(
    task: CompositionalTask, others: Sequence[CompositionalTask], rng: random.Random
) -> CompositionalTask | None:
    asked = _words(task.instruction)
    domains = {task.scenario.domain} | {f.domain for f in task.functions}
    names = {f.name for f in task.functions}
    candidates = [
        o
        for o in others
        if o.functions
        and not domains & ({o.scenario.domain} | {f.domain for f in o.functions})
        and not names & {f.name for f in o.functions}
        and not asked & _function_words(o.functions)
    ]
    if not candidates:
        return None
    chosen = rng.choice(candidates)
    return task.model_copy(
        update={
            "strategy": Strategy.ATOMIC,
            "subtasks": [SubTask(index=0, instruction=_REFUSAL)],
            "functions": list(chosen.functions),
            "behaviour": Behaviour.IRRELEVANT,
        }
    )


def _tool_error(task: CompositionalTask, rng: random.Random) -> CompositionalTask | None:
    step = next((sub for sub in task.subtasks if sub.functions), None)
    if step is None:
        return None
    if rng.random() < 0.6:
        fault = ToolFault(
            step=step.index, kind="transient", message=rng.choice(TRANSIENT_MESSAGES), expected="retry"
        )
    else:
        spec = task.function(step.functions[0])
        domain = spec.domain if spec is not None and spec.domain != "general" else task.scenario.domain
        message = rng.choice(DOWN_MESSAGES).format(domain=domain)
        fault = ToolFault(step=step.index, kind="unavailable", message=message, expected="report")
    return task.model_copy(update={"behaviour": Behaviour.TOOL_ERROR, "fault": fault})


def _input_types(spec: FunctionSpec) -> list[str]:
    properties = spec.parameters.get("properties", {})
    required = spec.parameters.get("required", [])
    return sorted(str(properties.get(name, {}).get("type", "")) for name in required)


def _fields(spec: FunctionSpec) -> set[str]:
    return set(spec.responses.get("properties", {}))


def _twins(spec: FunctionSpec, pool: Sequence[FunctionSpec]) -> list[FunctionSpec]:
    words = set(spec.name.split("_")) - GENERIC_NAME_WORDS
    return [
        other
        for other in pool
        if other.name != spec.name
        and _input_types(other) == _input_types(spec)
        and not _fields(other) & _fields(spec)
        and words & (set(other.name.split("_")) - GENERIC_NAME_WORDS)
    ]


def _offer_look_alikes(
    task: CompositionalTask, others: Sequence[CompositionalTask], rng: random.Random
) -> CompositionalTask:
    if task.behaviour is Behaviour.IRRELEVANT:
        return task
    offered = {f.name for f in task.functions}
    pool = {f.name: f for o in others for f in o.functions if f.name not in offered}
    twins: dict[str, FunctionSpec] = {}
    for name in _needed(task):
        spec = task.function(name)
        if spec is not None:
            twins.update((t.name, t) for t in _twins(spec, sorted(pool.values(), key=lambda f: f.name)))
    if not twins:
        return task
    chosen = rng.sample(sorted(twins), min(2, len(twins)))
    functions = [*task.functions, *(twins[n] for n in chosen)]
    rng.shuffle(functions)
    return task.model_copy(update={"functions": functions, "look_alikes": sorted(chosen)})


def with_composed_behaviours(
    tasks: Sequence[CompositionalTask], mix: BehaviourMix, seed: int
) -> list[CompositionalTask]:
    """Each task with the behaviour drawn for it (seeded per task index) where it can take it, and
    look-alikes where drawn and found among the other tasks' functions."""
    shaped = []
    for index, task in enumerate(tasks):
        rng = random.Random(f"{seed}:composed-behaviour:{index}")
        behaviour, look_alike = draw_behaviour(mix, rng)
        others = [o for j, o in enumerate(tasks) if j != index]
        result: CompositionalTask | None = task
        if behaviour is Behaviour.IRRELEVANT:
            result = _irrelevant(task, others, rng)
        elif behaviour is Behaviour.TOOL_ERROR:
            result = _tool_error(task, rng)
        result = result or task
        shaped.append(_offer_look_alikes(result, others, rng) if look_alike else result)
    return shaped
