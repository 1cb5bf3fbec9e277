"""`iter_conversations` filters (run, status, strategy, sub-tasks, depth, assistant model) run in SQL.

Each filter alone, and together, picks exactly the conversations a Python filter over everything picks,
on SQLite and PostgreSQL alike; with no filter but status=None, every conversation comes back.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from datamodel.checks import CheckName
from datamodel.tasks import CompositionalTask, Strategy, SubTask
from db import store


def _sequential(samples: ModuleType, title: str) -> CompositionalTask:
    """A two-step sequential variant of the sample task (2 sub-tasks, depth 2)."""
    task = samples.sample_task(title)
    birth = task.subtasks[0]
    subtasks = [birth, SubTask(index=1, instruction="Add ten.", depends_on=[0])]
    return task.model_copy(update={"strategy": Strategy.SEQUENTIAL, "subtasks": subtasks, "reference": None})


@pytest.fixture
def stored(sessions: sessionmaker[Session], samples: ModuleType) -> sessionmaker[Session]:
    """Two runs, six conversations with a mix of strategies, verdicts and assistant models."""
    plan = [  # (run, sequential?, accepted?, assistant model)
        (0, False, True, "offline-assistant"),
        (0, True, True, "offline-assistant"),
        (0, True, False, "gpt-small"),
        (1, False, False, "offline-assistant"),
        (1, True, True, "gpt-small"),
        (1, False, True, "gpt-small"),
    ]
    titles = ["Emma", "Dune", "Ulysses", "Beloved", "Rebecca", "Matilda"]
    with sessions.begin() as session:
        runs = [
            store.create_run(session, kind="generate", seed=i, n_requested=3, config={}, versions={})
            for i in range(2)
        ]
        for idx, ((run, sequential, accepted, model), title) in enumerate(zip(plan, titles, strict=True)):
            task = _sequential(samples, title) if sequential else samples.sample_task(title)
            (task_id,) = store.add_tasks(session, runs[run], [task], start_idx=idx)
            checks = samples.all_passed() if accepted else samples.checks_failing(CheckName.ANSWER_CORRECT)
            store.add_conversation(
                session,
                run_id=runs[run],
                task_id=task_id,
                trajectory=samples.sample_trajectory(),
                checks=checks,
                models={"assistant": model},
            )
    return sessions


def _ids(sessions: sessionmaker[Session], **filters: Any) -> list[int]:
    with sessions() as session:
        return [c.id for c in store.iter_conversations(session, batch=2, **filters)]


def _expected(sessions: sessionmaker[Session], predicate: Any) -> list[int]:
    with sessions() as session:
        return [c.id for c in store.iter_conversations(session, status=None) if predicate(c)]


def test_no_filter_but_status_none_returns_everything(stored: sessionmaker[Session]) -> None:
    assert len(_ids(stored, status=None)) == 6
    assert len(_ids(stored)) == 4  # accepted only, the default


@pytest.mark.parametrize(
    ("filters", "predicate"),
    [
        ({"strategy": "sequential"}, lambda c: c.task.strategy == Strategy.SEQUENTIAL),
        ({"strategy": Strategy.PARALLEL_THEN_SEQUENTIAL}, lambda c: c.task.strategy != "sequential"),
        ({"n_subtasks": 3}, lambda c: len(c.task.subtasks) == 3),
        ({"n_subtasks": 2}, lambda c: len(c.task.subtasks) == 2),
        ({"depth": 2}, lambda c: c.task.depth == 2),
        ({"depth": 3}, lambda c: False),
        ({"assistant_model": "gpt-small"}, lambda c: c.models.get("assistant") == "gpt-small"),
        ({"status": "rejected"}, lambda c: c.status == "rejected"),
    ],
)
def test_each_filter_matches_a_python_filter(
    stored: sessionmaker[Session], filters: dict[str, Any], predicate: Any
) -> None:
    expected = _expected(stored, predicate)
    assert _ids(stored, **{"status": None, **filters}) == expected


def test_filters_combine(stored: sessionmaker[Session]) -> None:
    with stored() as session:
        run_ids = sorted({c.run_id for c in store.iter_conversations(session, status=None)})
    got = _ids(stored, run_id=run_ids[1], strategy="sequential", assistant_model="gpt-small")
    expected = _expected(
        stored,
        lambda c: (
            c.run_id == run_ids[1]
            and c.status == "accepted"
            and c.task.strategy == "sequential"
            and c.models.get("assistant") == "gpt-small"
        ),
    )
    assert got == expected and len(got) == 1
