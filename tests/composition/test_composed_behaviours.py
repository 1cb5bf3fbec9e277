"""Behaviours for tasks without ground truth (the LLM composer's): drawn by mix and seed, each right by
construction, and played and checked by the same Tool role and verification layers as offline tasks."""

from __future__ import annotations

import asyncio

import pytest
from autogen_core import CancellationToken

from composition.composed_behaviours import with_composed_behaviours
from composition.world.offline import OfflineWorld
from datamodel.behaviours import BehaviourMix
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import (
    AssistantTurn,
    TerminationReason,
    ToolCall,
    ToolTurn,
    Trajectory,
    Turn,
    UserTurn,
)
from roles.messages import turn_message, turn_of
from roles.offline import OfflineToolClient
from roles.tool import ToolRole
from simulator.verify import CheckName, verify

NONE = BehaviourMix.none()


@pytest.fixture(scope="module")
def composed() -> list[CompositionalTask]:
    """Offline tasks with their ground truth taken away: what the LLM composer's tasks look like."""
    tasks = OfflineWorld(0).generate_tasks(60, seed=5)
    return [t.model_copy(update={"reference": None}) for t in tasks]


def test_same_seed_same_tasks_and_no_mix_changes_nothing(composed: list[CompositionalTask]) -> None:
    mix = BehaviourMix(irrelevant=0.3, tool_error=0.3, clarify=0.2, look_alike=0.5)
    first = with_composed_behaviours(composed, mix, seed=9)
    assert [t.model_dump() for t in first] == [
        t.model_dump() for t in with_composed_behaviours(composed, mix, 9)
    ]
    assert [t.model_dump() for t in first] != [
        t.model_dump() for t in with_composed_behaviours(composed, mix, 10)
    ]
    assert with_composed_behaviours(composed, NONE, seed=9) == composed


def test_irrelevant_offers_functions_of_another_domain(composed: list[CompositionalTask]) -> None:
    shaped = with_composed_behaviours(composed, NONE.model_copy(update={"irrelevant": 1.0}), seed=1)
    irrelevant = [
        (old, new) for old, new in zip(composed, shaped, strict=True) if new.behaviour == "irrelevant"
    ]
    assert len(irrelevant) >= 0.9 * len(composed)
    for old, new in irrelevant:
        assert new.instruction == old.instruction
        assert not {f.name for f in new.functions} & {f.name for f in old.functions}
        assert not {f.domain for f in new.functions} & {
            old.scenario.domain,
            *(f.domain for f in old.functions),
        }
        assert [s.functions for s in new.subtasks] == [[]]


def test_clarify_and_follow_up_stay_plain_without_ground_truth(composed: list[CompositionalTask]) -> None:
    mix = NONE.model_copy(update={"clarify": 0.5, "follow_up": 0.5})
    assert with_composed_behaviours(composed, mix, seed=1) == composed


def test_look_alikes_share_a_name_word_and_no_result_field(composed: list[CompositionalTask]) -> None:
    shaped = with_composed_behaviours(composed, NONE.model_copy(update={"look_alike": 1.0}), seed=1)
    with_twins = [(old, new) for old, new in zip(composed, shaped, strict=True) if new.look_alikes]
    assert len(with_twins) >= 10
    for old, new in with_twins:
        needed = [new.function(n) for sub in new.subtasks for n in sub.functions]
        for name in new.look_alikes:
            twin = new.function(name)
            assert twin is not None and old.function(name) is None
            fields = set(twin.responses["properties"])
            assert any(
                spec is not None
                and not fields & set(spec.responses["properties"])
                and (set(name.split("_")) & set(spec.name.split("_"))) - {"get", "by", "of", "in"}
                for spec in needed
            )


def _play(task: CompositionalTask, calls: list[list[ToolCall]]) -> Trajectory:
    """The Tool role over the given assistant turns; the tool client is the world's executor."""
    world = OfflineWorld(0)
    role = ToolRole(
        "tool",
        OfflineToolClient(world),
        task.functions,
        fault=task.fault,
        faulty=task.faulty_function(),
    )
    turns: list[Turn] = [UserTurn(content=task.instruction)]
    for turn_calls in calls:
        assistant = AssistantTurn(content="", tool_calls=turn_calls)
        turns.append(assistant)
        reply = asyncio.run(role.on_messages([turn_message(assistant, "assistant")], CancellationToken()))
        result = turn_of(reply.chat_message)
        assert isinstance(result, ToolTurn)
        turns.append(result)
    turns.append(AssistantTurn(content="Done.", final_answer="Done."))
    return Trajectory(turns=turns, termination=TerminationReason.FINAL_ANSWER, parallel=True)


def test_a_planned_failure_is_played_and_checked_without_ground_truth(
    composed: list[CompositionalTask],
) -> None:
    shaped = with_composed_behaviours(composed, NONE.model_copy(update={"tool_error": 1.0}), seed=3)
    transient = next(t for t in shaped if t.fault is not None and t.fault.kind == "transient")
    name = transient.faulty_function()
    assert name == next(n for sub in transient.subtasks for n in sub.functions)
    first = next(
        s for s in OfflineWorld(0).generate_tasks(60, seed=5) if s.instruction == transient.instruction
    )
    assert first.reference is not None
    step = next(s for s in first.reference.steps if s.function == name)
    arguments = {k: v.value for k, v in step.arguments.items() if hasattr(v, "value")}
    call = ToolCall(id="c1", name=name, arguments=arguments)
    retry = ToolCall(id="c2", name=name, arguments=arguments)
    trajectory = _play(transient, [[call], [retry]])
    results = [r for t in trajectory.turns if isinstance(t, ToolTurn) for r in t.results]
    assert transient.fault is not None
    assert results[0].error == transient.fault.message and results[1].error is None
    checks = {c.name: c for c in verify(transient, trajectory)}
    assert checks[CheckName.ERROR_HANDLED].applicable and checks[CheckName.ERROR_HANDLED].passed

    once = _play(transient, [[call]])
    checks = {c.name: c for c in verify(transient, once)}
    assert not checks[CheckName.ERROR_HANDLED].passed
    assert "after the error (expected: retry)" in checks[CheckName.ERROR_HANDLED].reason
