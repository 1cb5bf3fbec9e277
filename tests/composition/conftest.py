"""Shared fixtures for the offline-world tests: one world and one task batch per session (both pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from composition.logic import apply_logic
from composition.world.offline import OfflineWorld
from datamodel.reference import ArgBinding
from datamodel.tasks import CompositionalTask

Replay = Callable[[CompositionalTask], list[Any]]


@pytest.fixture(scope="session")
def world() -> OfflineWorld:
    """The default offline world (seed 0)."""
    return OfflineWorld(world_seed=0)


@pytest.fixture(scope="session")
def world_tasks(world: OfflineWorld) -> list[CompositionalTask]:
    """1,000 tasks of one seed with the default settings."""
    return world.generate_tasks(1000, seed=11)


@pytest.fixture(scope="session")
def replay(world: OfflineWorld) -> Replay:
    """Re-run a task's reference steps through ``execute`` / ``apply_logic``; returns each step's result."""

    def resolve(binding: ArgBinding, results: list[Any]) -> Any:
        if binding.kind == "literal":
            return binding.value
        earlier = results[binding.step]
        return earlier if binding.field is None else earlier[binding.field]

    def run(task: CompositionalTask) -> list[Any]:
        assert task.reference is not None
        results: list[Any] = []
        for step in task.reference.steps:
            if step.function is not None:
                args = {k: resolve(b, results) for k, b in step.arguments.items()}
                results.append(world.execute(step.function, args))
            else:
                assert step.operation is not None
                operands = [resolve(b, results) for b in step.operands]
                results.append(apply_logic(step.operation, operands, step.labels, step.key, step.label_key))
        return results

    return run
