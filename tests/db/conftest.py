"""Fixtures of the storage tests: the literal sample tasks and trajectories of db_samples.py, and two
stored runs of them with every behaviour."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest
from sqlalchemy.orm import Session, sessionmaker

from datamodel.behaviours import Behaviour, ToolFault
from datamodel.checks import CheckName
from datamodel.tasks import CompositionalTask
from db import store

_NAME = "button_tests_db_samples"


@pytest.fixture(scope="session")
def samples() -> ModuleType:
    """tests/db/db_samples.py, imported by path (test folders are not packages in importlib mode)."""
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("db_samples.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]


class BehaviourRuns(NamedTuple):
    """Two stored runs: `first` with every behaviour (`tasks`, each with its verdict, in order), and
    `second` with one plain accepted conversation."""

    first: int
    second: int
    tasks: list[tuple[CompositionalTask, str]]


def _every_behaviour(samples: ModuleType) -> list[tuple[CompositionalTask, str]]:
    b = samples.behaviour_task
    transient = ToolFault(step=0, kind="transient", message="timeout, try again", expected="retry")
    return [
        (b(Behaviour.PLAIN), "accepted"),
        (b(Behaviour.PLAIN, title="Emma"), "accepted"),
        (b(Behaviour.PLAIN, look_alikes=True), "accepted"),
        (b(Behaviour.CLARIFY), "accepted"),
        (b(Behaviour.FOLLOW_UP), "rejected"),
        (b(Behaviour.IRRELEVANT), "accepted"),
        (b(Behaviour.TOOL_ERROR, look_alikes=True), "accepted"),
        (b(Behaviour.TOOL_ERROR).model_copy(update={"fault": transient}), "rejected"),
    ]


def _store_run(session: Session, samples: ModuleType, tasks: list[tuple[CompositionalTask, str]]) -> int:
    run_id = store.create_run(
        session, kind="generate", seed=1, n_requested=len(tasks), config={}, versions={}
    )
    task_ids = store.add_tasks(session, run_id, [task for task, _ in tasks])
    for task_id, (task, verdict) in zip(task_ids, tasks, strict=True):
        clarify = task.behaviour is Behaviour.CLARIFY
        accepted = verdict == "accepted"
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_id,
            trajectory=samples.clarify_trajectory() if clarify else samples.sample_trajectory(),
            checks=samples.all_passed() if accepted else samples.checks_failing(CheckName.ANSWER_CORRECT),
            models={},
        )
    return run_id


@pytest.fixture
def behaviour_runs(sessions: sessionmaker[Session], samples: ModuleType) -> BehaviourRuns:
    """Eight conversations, one run, every behaviour; then a run of one plain conversation."""
    tasks = _every_behaviour(samples)
    with sessions.begin() as session:
        first = _store_run(session, samples, tasks)
        second = _store_run(session, samples, [(samples.behaviour_task(Behaviour.PLAIN), "accepted")])
    return BehaviourRuns(first, second, tasks)
