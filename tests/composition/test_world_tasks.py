"""Generated tasks: determinism, diversity, structure, and ground truth that replays exactly."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from composition.logic import render_value
from composition.world.generator import answer_field
from composition.world.offline import OfflineWorld
from datamodel.reference import LogicOp, RefArg
from datamodel.tasks import CompositionalTask, Strategy


def test_same_tasks_from_two_worlds_and_prefix_property() -> None:
    a, b = OfflineWorld(0), OfflineWorld(0)
    first = a.generate_tasks(40, seed=3)
    again = b.generate_tasks(120, seed=3)
    assert [t.model_dump() for t in first] == [t.model_dump() for t in again[:40]]
    assert b.generate_task(3, 17).model_dump() == first[17].model_dump()


def test_seeds_differ() -> None:
    world = OfflineWorld(0)
    a = [t.instruction for t in world.generate_tasks(30, seed=1)]
    b = [t.instruction for t in world.generate_tasks(30, seed=2)]
    assert a != b


def test_instructions_are_diverse(world_tasks: list[CompositionalTask]) -> None:
    distinct = len({t.instruction for t in world_tasks})
    assert distinct >= 0.95 * len(world_tasks)


def test_strategy_mix(world_tasks: list[CompositionalTask]) -> None:
    mix = Counter(t.strategy for t in world_tasks)
    assert mix[Strategy.SEQUENTIAL] > 300
    assert mix[Strategy.PARALLEL_THEN_SEQUENTIAL] > 300
    assert 40 < mix[Strategy.ATOMIC] < 200
    for task in world_tasks:
        assert (len(task.subtasks) == 1) == (task.strategy is Strategy.ATOMIC)


def test_reference_replays_exactly(world_tasks: list[CompositionalTask], replay: Any) -> None:
    for task in world_tasks:
        assert task.reference is not None
        results = replay(task)
        assert results == [s.result for s in task.reference.steps]
        last = task.reference.steps[-1]
        key = answer_field(task)
        final = results[-1] if last.function is None else results[-1][key]
        assert final == task.reference.answer
        assert task.reference.answer_text == render_value(task.reference.answer)


def test_dependencies_match_references(world_tasks: list[CompositionalTask]) -> None:
    for task in world_tasks:
        assert task.reference is not None
        for sub, step in zip(task.subtasks, task.reference.steps, strict=True):
            assert step.subtask == sub.index
            bindings = [*step.arguments.values(), *step.operands]
            refs = sorted({b.step for b in bindings if isinstance(b, RefArg)})
            assert refs == sub.depends_on
            for ref in (b for b in bindings if isinstance(b, RefArg)):
                earlier = task.reference.steps[ref.step]
                assert (ref.field is None) == (earlier.function is None)


def test_functions_are_offered_and_logic_needs_none(world_tasks: list[CompositionalTask]) -> None:
    for task in world_tasks:
        assert task.reference is not None
        offered = {f.name for f in task.functions}
        needed = set()
        for sub, step in zip(task.subtasks, task.reference.steps, strict=True):
            if step.function is None:
                assert sub.functions == []
            else:
                assert sub.functions == [step.function]
                needed.add(step.function)
        assert needed <= offered
        assert 1 <= len(offered - needed) <= 3


def test_instruction_names_no_function_and_carries_every_literal(
    world_tasks: list[CompositionalTask],
) -> None:
    names = {f.name for t in world_tasks for f in t.functions}
    for task in world_tasks:
        lowered = task.instruction.lower()
        assert not [n for n in names if n in lowered], task.instruction
        assert task.reference is not None
        for step in task.reference.steps:
            for binding in [*step.arguments.values(), *step.operands]:
                if binding.kind == "literal":
                    assert render_value(binding.value) in task.instruction, (binding.value, task.instruction)
            for label in step.labels:
                assert label in task.instruction


def test_instructions_name_a_kind_once(world_tasks: list[CompositionalTask]) -> None:
    """A nested phrase that names its own kind is not announced by it again ("the brand the brand that
    makes ...")."""
    repeated = [t.instruction for t in world_tasks if re.search(r"\b(the \w+) \1\b", t.instruction)]
    assert not repeated
    assert any("the brand that makes" in t.instruction for t in world_tasks)


def test_atomic_tasks_and_scenarios_are_short(world_tasks: list[CompositionalTask]) -> None:
    for task in world_tasks:
        assert len(task.atomic.instruction.split()) <= 30
        assert len(task.scenario.text.split()) <= 10
        assert task.scenario == task.atomic.scenario
        if task.strategy is Strategy.ATOMIC:
            assert task.instruction == task.atomic.instruction


def test_both_strategies_use_logic_and_two_input_functions(world_tasks: list[CompositionalTask]) -> None:
    ops: Counter[LogicOp] = Counter()
    two_input_final = 0
    for task in world_tasks:
        assert task.reference is not None
        last = task.reference.steps[-1]
        if last.operation is not None:
            ops[last.operation] += 1
        refs = [b for b in last.arguments.values() if isinstance(b, RefArg)]
        two_input_final += len(refs) >= 2
    assert set(ops) == set(LogicOp)
    assert two_input_final > 20


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6])
def test_max_subtasks_is_respected(world: OfflineWorld, limit: int) -> None:
    tasks = world.generate_tasks(150, seed=limit, max_subtasks=limit)
    sizes = Counter(len(t.subtasks) for t in tasks)
    assert max(sizes) <= limit
    if limit == 1:
        assert {t.strategy for t in tasks} == {Strategy.ATOMIC}
    if limit == 2:
        assert set(sizes) == {1, 2}
    if limit >= 5:
        assert max(sizes) == limit
        assert max(t.depth for t in tasks) >= 4


def test_strategy_filter(world: OfflineWorld) -> None:
    only = world.generate_tasks(60, seed=9, strategies=[Strategy.PARALLEL_THEN_SEQUENTIAL])
    assert {t.strategy for t in only} == {Strategy.PARALLEL_THEN_SEQUENTIAL}
    for task in only:
        last = task.subtasks[-1]
        assert len(task.subtasks) >= 3 and len(last.depends_on) >= 1
    with pytest.raises(ValueError, match="max_subtasks"):
        world.generate_task(0, 0, max_subtasks=2, strategies=[Strategy.PARALLEL_THEN_SEQUENTIAL])


def test_parallel_tasks_join_two_independent_branches(world: OfflineWorld) -> None:
    tasks = world.generate_tasks(80, seed=4, strategies=[Strategy.PARALLEL_THEN_SEQUENTIAL])
    for task in tasks:
        assert task.reference is not None
        joins = [s for s in task.subtasks if len(s.depends_on) >= 2]
        assert joins, task.instruction


def test_eight_thousand_tasks(world: OfflineWorld) -> None:
    tasks = world.generate_tasks(8000, seed=2024)
    assert len(tasks) == 8000
    assert len({t.instruction for t in tasks}) >= 0.95 * 8000


def test_no_chain_leads_back_to_its_own_input(world_tasks: list[CompositionalTask]) -> None:
    for task in world_tasks:
        assert task.reference is not None
        literals = [
            b.value for s in task.reference.steps for b in s.arguments.values() if b.kind == "literal"
        ]
        for step in task.reference.steps[:-1]:
            if step.function is not None:
                used = [
                    b.field
                    for later in task.reference.steps
                    for b in later.arguments.values()
                    if isinstance(b, RefArg) and b.step == step.subtask
                ]
                assert not [step.result[f] for f in used if f in step.result and step.result[f] in literals]


@pytest.mark.parametrize("world_seed", [1, 2])
def test_other_world_seeds_generate_valid_tasks(world_seed: int) -> None:
    other = OfflineWorld(world_seed)
    for task in other.generate_tasks(60, seed=0, max_subtasks=4):
        assert task.reference is not None and len(task.subtasks) <= 4
        assert task.reference.answer_text
