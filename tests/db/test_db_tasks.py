"""Tasks go in and come back exactly; scenarios, atomic tasks and functions are stored once."""

from __future__ import annotations

from types import ModuleType

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from datamodel.behaviours import Behaviour
from db import store
from db.models import (
    AtomicTaskRow,
    Check,
    Conversation,
    FunctionRow,
    Message,
    Run,
    ScenarioRow,
    TaskFunction,
    TaskRow,
    ToolCallRow,
)


def _run(session: Session, seed: int = 7) -> int:
    return store.create_run(
        session,
        kind="generate",
        seed=seed,
        n_requested=3,
        config={"n": 3, "models": {"assistant": "offline"}},
        versions={"python": "3.11"},
    )


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_runs(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        run_id = _run(session)
    with sessions.begin() as session:
        run = store.get_run(session, run_id)
        assert run is not None and run.status == "running" and run.finished_at is None
        assert run.config == {"n": 3, "models": {"assistant": "offline"}} and run.created_at is not None
        store.set_run_status(session, run_id, "finished")
    with sessions() as session:
        run = store.get_run(session, run_id)
        assert run is not None and run.status == "finished" and run.finished_at is not None
        assert store.get_run(session, run_id + 100) is None
        with pytest.raises(ValueError, match="unknown run status 'done'"):
            store.set_run_status(session, run_id, "done")


def test_tasks_round_trip(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    tasks = [samples.sample_task("Emma"), samples.sample_task("Dune", with_reference=False, seed=None)]
    with sessions.begin() as session:
        run_id = _run(session)
        ids = store.add_tasks(session, run_id, tasks)
    with sessions() as session:
        for task_id, task in zip(ids, tasks, strict=True):
            assert store.load_task(session, task_id).model_dump() == task.model_dump()
        row = session.get(TaskRow, ids[0])
        assert row is not None
        assert (row.idx, row.strategy, row.n_subtasks, row.depth, row.answer_text) == (
            0,
            "parallel_then_sequential",
            3,
            2,
            "29 years old",
        )
        with pytest.raises(KeyError):
            store.load_task(session, max(ids) + 1)


def test_every_behaviour_round_trips(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    tasks = [samples.behaviour_task(b) for b in Behaviour]
    tasks += [samples.behaviour_task(b, look_alikes=True) for b in (Behaviour.PLAIN, Behaviour.TOOL_ERROR)]
    assert {t.behaviour for t in tasks} == set(Behaviour)
    with sessions.begin() as session:
        ids = store.add_tasks(session, _run(session), tasks)
    with sessions() as session:
        loaded = store.load_tasks(session, ids)
        assert [loaded[task_id] for task_id in ids] == tasks
        rows = session.execute(
            select(TaskRow.behaviour, TaskRow.look_alike, TaskRow.behaviour_detail).order_by(TaskRow.idx)
        ).all()
    assert [(b, bool(look)) for b, look, _ in rows] == [
        (t.behaviour.value, bool(t.look_alikes)) for t in tasks
    ]
    details = [detail for _, _, detail in rows]
    assert details[0] is None and details[3] is None  # plain and irrelevant carry nothing
    assert set(details[1]) == {"withheld"} and set(details[2]) == {"follow_ups"}
    assert details[4]["fault"]["kind"] == "typo"  # what docs/schema.md's fault query reads
    assert details[5] == {"look_alikes": ["get_publication_date"]} and set(details[6]) == {
        "fault",
        "look_alikes",
    }


def test_shared_rows_are_stored_once(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    with sessions.begin() as session:
        first, second = _run(session), _run(session, seed=8)
        store.add_tasks(session, first, [samples.sample_task("Emma"), samples.sample_task("Dune")])
    with sessions.begin() as session:
        store.add_tasks(session, second, [samples.sample_task("Emma")])
        store.add_tasks(session, second, [samples.sample_task("Ulysses")], start_idx=1)
    with sessions() as session:
        assert _count(session, FunctionRow) == 2  # same two specs in every task
        assert _count(session, ScenarioRow) == 2  # the task's scenario and its atomic task's
        assert _count(session, AtomicTaskRow) == 3  # one per title
        assert _count(session, TaskRow) == 4 and _count(session, TaskFunction) == 8
        assert store.task_count(session, first) == 2 and store.task_count(session, second) == 2


def test_a_changed_spec_is_a_new_function(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    task = samples.sample_task()
    changed = task.model_copy(
        update={
            "functions": [
                samples.spec("get_publication_year", "year", description="Year of first print."),
                task.functions[1],
            ]
        }
    )
    with sessions.begin() as session:
        run_id = _run(session)
        ids = store.add_tasks(session, run_id, [task, changed])
    with sessions() as session:
        assert _count(session, FunctionRow) == 3
        assert store.load_task(session, ids[1]).functions[0].description == "Year of first print."
        assert store.spec_hash(task.functions[0]) != store.spec_hash(changed.functions[0])


def test_deleting_a_run_removes_what_it_made(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    with sessions.begin() as session:
        run_id = _run(session)
        [task_id] = store.add_tasks(session, run_id, [samples.sample_task()])
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_id,
            trajectory=samples.sample_trajectory(),
            checks=samples.all_passed(),
            models={},
        )
    with sessions.begin() as session:
        session.execute(delete(Run).where(Run.id == run_id))  # the database cascades, not the ORM
    with sessions() as session:
        for model in (TaskRow, TaskFunction, Conversation, Message, ToolCallRow, Check):
            assert _count(session, model) == 0, model.__tablename__
        assert _count(session, FunctionRow) == 2 and _count(session, ScenarioRow) == 2  # shared rows stay
