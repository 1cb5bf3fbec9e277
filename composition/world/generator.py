"""Task generation: pick a strategy, compose a tree, and assemble a ``CompositionalTask`` with ground truth.

Strategy mix (default): 10% atomic (one call), 45% sequential, 45% parallel-then-sequential. Atomic tasks
keep single-step data in the mix, as the paper's atomic tasks are; the rest splits evenly between the
paper's two strategies. Sequential tasks take 2..max_subtasks steps and parallel-then-sequential tasks
3..max_subtasks (it needs two branches and a combining step), so ``max_subtasks=2`` yields only
sequential two-step tasks besides atomic ones.

Every task draws from its own ``random.Random(f"task:{world_seed}:{seed}:{index}")``, so the i-th task
does not depend on how many are generated, and nothing relies on hash randomization or set order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from composition.compose import compose_parallel_then_sequential, compose_sequential
from composition.logic import LogicError
from composition.world.behaviours import draw_behaviour, with_behaviour
from composition.world.expr import Call, Literal, Logic, Node, Reject, Steps, answer_of, linearize
from composition.world.questions import ask, atomic_question
from datamodel.behaviours import BehaviourMix
from datamodel.reference import TaskReference
from datamodel.tasks import AtomicTask, CompositionalTask, FunctionSpec, Scenario, Strategy

if TYPE_CHECKING:
    from composition.world.offline import OfflineWorld

__all__ = ["DEFAULT_MIX", "answer_field", "generate_task"]

DEFAULT_MIX: dict[Strategy, float] = {
    Strategy.ATOMIC: 0.10,
    Strategy.SEQUENTIAL: 0.45,
    Strategy.PARALLEL_THEN_SEQUENTIAL: 0.45,
}
_ATTEMPTS = 80


def _allowed(strategies: Sequence[Strategy] | None, max_subtasks: int) -> list[Strategy]:
    chosen = list(DEFAULT_MIX) if strategies is None else [Strategy(s) for s in strategies]
    feasible = [s for s in chosen if _min_steps(s) <= max_subtasks]
    if not feasible:
        raise ValueError(f"no strategy among {[s.value for s in chosen]} fits max_subtasks={max_subtasks}")
    return feasible


def _min_steps(strategy: Strategy) -> int:
    return {Strategy.ATOMIC: 1, Strategy.SEQUENTIAL: 2, Strategy.PARALLEL_THEN_SEQUENTIAL: 3}[strategy]


def _compose(world: OfflineWorld, strategy: Strategy, max_subtasks: int, rng: random.Random) -> Node:

    if strategy is Strategy.ATOMIC:
        return compose_sequential(world.composer, 1, rng)
    steps = rng.randint(_min_steps(strategy), max_subtasks)
    if strategy is Strategy.SEQUENTIAL:
        return compose_sequential(world.composer, steps, rng)
    return compose_parallel_then_sequential(world.composer, steps, rng)


def generate_task(
    world: OfflineWorld,
    seed: int,
    index: int,
    max_subtasks: int = 3,
    strategies: Sequence[Strategy] | None = None,
    mix: BehaviourMix | None = None,
) -> CompositionalTask:
    """The ``index``-th task of ``seed``: deterministic and independent of any other task. With `mix`, its
    behaviour is drawn from its own seeded generator, so a plain draw is the task a run without a mix
    makes."""
    if max_subtasks < 1:
        raise ValueError(f"max_subtasks must be at least 1, got {max_subtasks}")
    rng = random.Random(f"task:{world.world_seed}:{seed}:{index}")
    allowed = _allowed(strategies, max_subtasks)
    strategy = rng.choices(allowed, weights=[DEFAULT_MIX[s] for s in allowed])[0]
    for _ in range(_ATTEMPTS):
        try:
            root = _compose(world, strategy, max_subtasks, rng)
            task, steps = _assemble(world, root, strategy, seed, rng)
        except (Reject, LogicError, ValidationError):
            continue
        if mix is None:
            return task
        shaping = random.Random(f"behaviour:{world.world_seed}:{seed}:{index}")
        behaviour, look_alike = draw_behaviour(mix, shaping)
        try:
            return with_behaviour(world, task, steps, behaviour, look_alike, shaping)
        except (Reject, LogicError, ValidationError):
            return task  # a task that cannot take the drawn behaviour stays plain
    raise RuntimeError(f"could not compose a {strategy.value} task for seed={seed} index={index}")


def _assemble(
    world: OfflineWorld, root: Node, strategy: Strategy, seed: int, rng: random.Random
) -> tuple[CompositionalTask, Steps]:
    steps = linearize(root)
    first = steps.nodes[0]
    assert isinstance(first, Call)
    atomic = AtomicTask(
        instruction=atomic_question(first, rng),
        scenario=Scenario(text=first.fn.scenario, domain=first.fn.domain),
    )
    value, text = answer_of(root)
    if isinstance(root, Call) and [v for v in root.result.values() if v == value] != [value]:
        raise Reject("the answer field of the last call is ambiguous")
    literals = _literals(steps)
    if any(isinstance(n.value, str) and n.value in literals for n in steps.nodes if not _labelled(n)):
        raise Reject("a chain leads back to one of its own inputs")
    needed = [n.fn.name for n in steps.nodes if isinstance(n, Call)]
    task = CompositionalTask(
        instruction=atomic.instruction if strategy is Strategy.ATOMIC else ask(root, rng),
        strategy=strategy,
        scenario=atomic.scenario,
        atomic=atomic,
        subtasks=steps.subtasks,
        functions=_offer(world, needed, rng),
        reference=TaskReference(steps=steps.reference, answer=value, answer_text=text),
        seed=seed,
    )
    return task, steps


def _labelled(node: Call | Logic) -> bool:
    """A comparison reports one of its own subjects by design; that is not a circular chain."""
    return isinstance(node, Logic) and bool(node.labels)


def _literals(steps: Steps) -> list[object]:
    return [
        a.value for n in steps.nodes if isinstance(n, Call) for a in n.args.values() if isinstance(a, Literal)
    ]


def _offer(world: OfflineWorld, needed: list[str], rng: random.Random) -> list[FunctionSpec]:
    """The needed functions plus 1-3 distractors from the same domains, in a seeded order."""
    names = list(dict.fromkeys(needed))
    domains = {world.functions[n].domain for n in names}
    pool = [n for n, spec in world.functions.items() if spec.domain in domains and n not in names]
    if not pool:
        pool = [n for n in world.functions if n not in names]
    names += rng.sample(pool, min(len(pool), rng.randint(1, 3)))
    rng.shuffle(names)
    return [world.functions[n] for n in names]


def answer_field(task: CompositionalTask) -> str | None:
    """The output key of the last step that holds the answer; None when the last step is a logic step.

    Generation guarantees the key is unambiguous: no other field of that result has the same value.
    """
    if task.reference is None or not task.reference.steps:
        return None
    last = task.reference.steps[-1]
    if last.function is None:
        return None
    return next(k for k, v in last.result.items() if v == task.reference.answer)
