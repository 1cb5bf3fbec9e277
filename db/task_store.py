"""Storing and loading compositional tasks; scenarios, atomic tasks and functions are shared rows.

Shared rows are get-or-create with INSERT ... ON CONFLICT DO NOTHING followed by one SELECT, so two
processes adding the same function at once both succeed and both get the one row. Nothing here commits:
the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import exists, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from datamodel.behaviours import Behaviour, FollowUp, ToolFault, Withheld
from datamodel.reference import TaskReference
from datamodel.tasks import AtomicTask, CompositionalTask, FunctionSpec, Scenario, Strategy, SubTask
from db.models import AtomicTaskRow, Base, Conversation, FunctionRow, ScenarioRow, TaskFunction, TaskRow

__all__ = ["add_tasks", "load_task", "load_tasks", "pending_tasks", "spec_hash", "task_count", "task_ids"]

_CHUNK = 500  # keeps IN lists and multi-row VALUES under every database's parameter limit


def spec_hash(spec: FunctionSpec) -> str:
    """sha256 of the spec's canonical JSON (sorted keys, no spaces): equal specs share one row."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _get_or_create(
    session: Session, model: type[Base], keys: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> dict[tuple[Any, ...], int]:
    """Ids of the rows with these unique-key values, inserting the missing ones."""
    wanted = {tuple(row[k] for k in keys): row for row in rows}
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    key_columns = [getattr(model, k) for k in keys]
    ids: dict[tuple[Any, ...], int] = {}
    for chunk in _chunks(list(wanted)):
        statement = dialect_insert(model).on_conflict_do_nothing(index_elements=list(keys))
        session.execute(statement, [wanted[key] for key in chunk])
        if len(keys) == 1:
            condition = key_columns[0].in_([key[0] for key in chunk])
        else:
            condition = tuple_(*key_columns).in_(chunk)
        found = session.execute(select(model.id, *key_columns).where(condition))  # type: ignore[attr-defined]
        ids.update({tuple(found_row[1:]): found_row[0] for found_row in found})
    return ids


def _scenario_key(scenario: Scenario) -> tuple[str, str, str]:
    return (scenario.text, scenario.domain, scenario.source)


def _store_shared_rows(
    session: Session, tasks: Sequence[CompositionalTask]
) -> tuple[dict[tuple[Any, ...], int], dict[tuple[Any, ...], int], dict[tuple[Any, ...], int]]:
    """Scenario, atomic-task and function ids for every task, created where missing."""
    scenarios = {_scenario_key(s) for t in tasks for s in (t.scenario, t.atomic.scenario)}
    scenario_ids = _get_or_create(
        session,
        ScenarioRow,
        ("text", "domain", "source"),
        [{"text": text, "domain": domain, "source": source} for text, domain, source in scenarios],
    )
    atomics = {(scenario_ids[_scenario_key(t.atomic.scenario)], t.atomic.instruction) for t in tasks}
    atomic_ids = _get_or_create(
        session,
        AtomicTaskRow,
        ("scenario_id", "instruction"),
        [{"scenario_id": sid, "instruction": instruction} for sid, instruction in atomics],
    )
    specs = {spec_hash(f): f for t in tasks for f in t.functions}
    function_ids = _get_or_create(
        session,
        FunctionRow,
        ("spec_hash",),
        [{"spec_hash": digest, **spec.model_dump(mode="json")} for digest, spec in specs.items()],
    )
    return scenario_ids, atomic_ids, function_ids


def _behaviour_detail(task: CompositionalTask) -> dict[str, Any] | None:
    """What the simulation needs to play the task's behaviour and look-alikes: the set fields of
    withheld, follow_ups, fault and look_alikes; None for a plain task without look-alikes."""
    dumped = task.model_dump(mode="json", include={"withheld", "follow_ups", "fault", "look_alikes"})
    detail = {name: value for name, value in dumped.items() if value not in (None, [])}
    return detail or None


def _behaviour_fields(row: TaskRow) -> dict[str, Any]:
    """The task fields of a row's behaviour, each validated back into its model."""
    detail = row.behaviour_detail or {}
    withheld, fault = detail.get("withheld"), detail.get("fault")
    return {
        "behaviour": Behaviour(row.behaviour),
        "withheld": Withheld.model_validate(withheld) if withheld is not None else None,
        "follow_ups": [FollowUp.model_validate(f) for f in detail.get("follow_ups", [])],
        "fault": ToolFault.model_validate(fault) if fault is not None else None,
        "look_alikes": list(detail.get("look_alikes", [])),
    }


def _task_row(
    run_id: int, idx: int, task: CompositionalTask, scenario_ids: dict[Any, int], atomic_ids: dict[Any, int]
) -> dict[str, Any]:
    atomic_key = (scenario_ids[_scenario_key(task.atomic.scenario)], task.atomic.instruction)
    reference = task.reference
    return {
        "run_id": run_id,
        "idx": idx,
        "instruction": task.instruction,
        "strategy": task.strategy.value,
        "n_subtasks": len(task.subtasks),
        "depth": task.depth,
        "scenario_id": scenario_ids[_scenario_key(task.scenario)],
        "atomic_task_id": atomic_ids[atomic_key],
        "subtasks": [s.model_dump(mode="json") for s in task.subtasks],
        "reference": reference.model_dump(mode="json") if reference is not None else None,
        "answer_text": reference.answer_text if reference is not None else None,
        "seed": task.seed,
        "behaviour": task.behaviour.value,
        "look_alike": bool(task.look_alikes),
        "behaviour_detail": _behaviour_detail(task),
    }


def add_tasks(
    session: Session, run_id: int, tasks: Sequence[CompositionalTask], start_idx: int = 0
) -> list[int]:
    """Store tasks of a run at positions start_idx, start_idx+1, ...; returns their ids in order."""
    if not tasks:
        return []
    scenario_ids, atomic_ids, function_ids = _store_shared_rows(session, tasks)
    rows = [
        _task_row(run_id, start_idx + offset, task, scenario_ids, atomic_ids)
        for offset, task in enumerate(tasks)
    ]
    for chunk in _chunks(rows):
        # render_nulls keeps every row's column set equal, so each chunk is one executemany
        session.execute(insert(TaskRow).execution_options(render_nulls=True), list(chunk))
    stored = session.execute(
        select(TaskRow.idx, TaskRow.id).where(
            TaskRow.run_id == run_id, TaskRow.idx >= start_idx, TaskRow.idx < start_idx + len(tasks)
        )
    )
    id_of = dict(stored.tuples().all())
    task_ids = [id_of[start_idx + offset] for offset in range(len(tasks))]
    links = [
        {"task_id": task_id, "position": position, "function_id": function_ids[(spec_hash(spec),)]}
        for task_id, task in zip(task_ids, tasks, strict=True)
        for position, spec in enumerate(task.functions)
    ]
    for chunk in _chunks(links):
        session.execute(insert(TaskFunction), list(chunk))
    return task_ids


_SPEC_CACHE: dict[str, FunctionSpec] = {}
_SPEC_CACHE_SIZE = 20_000


def _function_spec(row: FunctionRow) -> FunctionSpec:
    """The spec of a function row, validated once per process: validating its JSON Schemas costs
    milliseconds, and a spec is immutable and keyed by the hash of its content."""
    spec = _SPEC_CACHE.get(row.spec_hash)
    if spec is None:
        spec = FunctionSpec(
            name=row.name,
            description=row.description,
            parameters=row.parameters,
            responses=row.responses,
            domain=row.domain,
        )
        if len(_SPEC_CACHE) >= _SPEC_CACHE_SIZE:
            _SPEC_CACHE.clear()
        _SPEC_CACHE[row.spec_hash] = spec
    return spec


def load_tasks(session: Session, task_ids: Sequence[int]) -> dict[int, CompositionalTask]:
    """The tasks with these ids, rebuilt exactly as stored (a handful of queries for any number)."""
    tasks: dict[int, CompositionalTask] = {}
    for chunk in _chunks(list(dict.fromkeys(task_ids))):
        task_rows = session.scalars(select(TaskRow).where(TaskRow.id.in_(chunk))).all()
        atomics = {
            a.id: a
            for a in session.scalars(
                select(AtomicTaskRow).where(AtomicTaskRow.id.in_({t.atomic_task_id for t in task_rows}))
            )
        }
        scenario_ids = {t.scenario_id for t in task_rows} | {a.scenario_id for a in atomics.values()}
        scenarios = {
            s.id: Scenario(text=s.text, domain=s.domain, source=s.source)
            for s in session.scalars(select(ScenarioRow).where(ScenarioRow.id.in_(scenario_ids)))
        }
        functions: dict[int, list[FunctionSpec]] = {t.id: [] for t in task_rows}
        linked = session.execute(
            select(TaskFunction.task_id, FunctionRow)
            .join(FunctionRow, FunctionRow.id == TaskFunction.function_id)
            .where(TaskFunction.task_id.in_(chunk))
            .order_by(TaskFunction.task_id, TaskFunction.position)
        )
        for task_id, function in linked.tuples():
            functions[task_id].append(_function_spec(function))
        for row in task_rows:
            atomic = atomics[row.atomic_task_id]
            tasks[row.id] = CompositionalTask(
                instruction=row.instruction,
                strategy=Strategy(row.strategy),
                scenario=scenarios[row.scenario_id],
                atomic=AtomicTask(instruction=atomic.instruction, scenario=scenarios[atomic.scenario_id]),
                subtasks=[SubTask.model_validate(s) for s in row.subtasks],
                functions=functions[row.id],
                reference=TaskReference.model_validate(row.reference) if row.reference is not None else None,
                seed=row.seed,
                **_behaviour_fields(row),
            )
    return tasks


def load_task(session: Session, task_id: int) -> CompositionalTask:
    """One task, rebuilt exactly as stored; KeyError if there is none with that id."""
    tasks = load_tasks(session, [task_id])
    if task_id not in tasks:
        raise KeyError(f"no task with id {task_id}")
    return tasks[task_id]


def task_count(session: Session, run_id: int) -> int:
    """How many tasks the run has stored (a resumed run appends after them)."""
    return session.scalar(select(func.count()).select_from(TaskRow).where(TaskRow.run_id == run_id)) or 0


def task_ids(session: Session, run_id: int, limit: int | None = None) -> list[int]:
    """The run's task ids by position, the first `limit` of them (all when None)."""
    query = select(TaskRow.id).where(TaskRow.run_id == run_id).order_by(TaskRow.idx).limit(limit)
    return list(session.scalars(query))


def pending_tasks(session: Session, run_id: int) -> list[tuple[int, CompositionalTask]]:
    """The run's tasks that have no conversation in the run yet, by position: what a resume must do."""
    done = exists().where(Conversation.task_id == TaskRow.id, Conversation.run_id == run_id)
    ids = session.scalars(
        select(TaskRow.id).where(TaskRow.run_id == run_id, ~done).order_by(TaskRow.idx)
    ).all()
    tasks = load_tasks(session, ids)
    return [(task_id, tasks[task_id]) for task_id in ids]
