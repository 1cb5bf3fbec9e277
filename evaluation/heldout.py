"""Held-out tasks for an evaluation, and the check that the model never trained on any of them.

A task is known by its fingerprint (datamodel.tasks.CompositionalTask.fingerprint: the request and the
functions offered), so the check works across runs and databases. The training data a model saw is read
from export manifests (`task_fingerprints`), from a training run's stored manifest, or, for manifests
written before fingerprints existed, from the conversations the manifest lists in the database it names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from datamodel.behaviours import BehaviourMix
from datamodel.tasks import CompositionalTask
from db import store
from db.engine import DatabaseError, make_engine, session_factory
from db.models import Conversation, TrainingRun
from simulator.batch import offline_world
from training.data import DataError, read_manifest

__all__ = ["HeldOutError", "TrainingTasks", "stored_tasks", "training_tasks", "world_tasks"]


class HeldOutError(Exception):
    """The evaluation's tasks cannot be held out as asked; the message says which and why."""


@dataclass(frozen=True)
class TrainingTasks:
    """The fingerprints of every task in the training data the evaluation was told about, and the export
    formats that data came in (from the manifests; empty when none says)."""

    fingerprints: frozenset[str]
    sources: tuple[str, ...]
    formats: frozenset[str] = frozenset()

    def record(self) -> dict[str, Any]:
        """What the evaluation stores about its held-out check."""
        return {"checked_against": list(self.sources), "training_tasks": len(self.fingerprints)}


def _from_database(manifest: dict[str, Any], where: str) -> set[str]:
    """Fingerprints of the conversations an older manifest lists, read from the database it names."""
    url, ids = manifest.get("db"), manifest.get("conversation_ids")
    if not isinstance(url, str) or not isinstance(ids, list) or "***" in url:
        raise HeldOutError(
            f"{where}: the manifest has no task_fingerprints and its database cannot be read back; "
            "export the training data again with this version of button-sim"
        )
    try:
        sessions = session_factory(make_engine(url))
        with sessions() as session:
            task_ids = set(session.scalars(select(Conversation.task_id).where(Conversation.id.in_(ids))))
            tasks = store.load_tasks(session, sorted(task_ids))
    except (DatabaseError, SQLAlchemyError, KeyError) as exc:
        raise HeldOutError(f"{where}: cannot read its tasks from {url}: {exc}") from None
    return {task.fingerprint() for task in tasks.values()}


def _manifest_fingerprints(manifest: dict[str, Any], where: str) -> set[str]:
    listed = manifest.get("task_fingerprints")
    if isinstance(listed, list):
        return {str(f) for f in listed}
    return _from_database(manifest, where)


def _format(manifest: dict[str, Any]) -> set[str]:
    """The export format a manifest names (`button export --format`), if it names one."""
    name = manifest.get("format")
    return {name} if isinstance(name, str) else set()


def training_tasks(train_data: Sequence[Path], training_run: TrainingRun | None) -> TrainingTasks:
    """Every task of the given export files and of the training run's data; HeldOutError when one of
    them cannot say which tasks it holds (then nothing could be promised about the evaluation)."""

    fingerprints: set[str] = set()
    sources: list[str] = []
    formats: set[str] = set()
    for path in train_data:
        if not path.is_file():
            raise HeldOutError(f"--train-data {path}: no such file")
        try:
            manifest = read_manifest(path)
        except DataError as exc:
            raise HeldOutError(f"--train-data {path}: {exc}") from None
        if manifest is None:
            raise HeldOutError(
                f"--train-data {path}: no manifest beside it ({path.name}.manifest.json), so its tasks "
                "are unknown; pass the file `button export` wrote, with its manifest"
            )
        fingerprints |= _manifest_fingerprints(manifest, f"--train-data {path}")
        formats |= _format(manifest)
        sources.append(str(path))
    if training_run is not None:
        where = f"training run {training_run.id}"
        if training_run.data_manifest is None:
            raise HeldOutError(
                f"{where} trained on {training_run.data_file}, which had no manifest, so its tasks are "
                "unknown; pass the exported file with --train-data"
            )
        fingerprints |= _manifest_fingerprints(training_run.data_manifest, where)
        formats |= _format(training_run.data_manifest)
        sources.append(f"training_run:{training_run.id}")
    return TrainingTasks(frozenset(fingerprints), tuple(sources), frozenset(formats))


def world_tasks(
    n: int,
    seed: int,
    *,
    world_seed: int,
    max_subtasks: int,
    exclude: frozenset[str],
    mix: BehaviourMix | None = None,
) -> tuple[list[CompositionalTask], int]:
    """The first `n` offline-world tasks of `seed` (with `mix`'s behaviours) that the training data does
    not hold, and how many were skipped. Another seed draws other tasks, but a template and its entities
    can meet again by chance; those few are replaced. A seed whose tasks keep coming back made the
    training data itself."""
    world = offline_world(world_seed)
    tasks: list[CompositionalTask] = []
    skipped = index = 0
    while len(tasks) < n:
        task = world.generate_task(seed, index, max_subtasks=max_subtasks, mix=mix)
        index += 1
        if task.fingerprint() not in exclude:
            tasks.append(task)
            continue
        skipped += 1
        if skipped > max(10, n // 2):
            raise HeldOutError(
                f"--seed {seed} draws the training data's own tasks ({skipped} of the first {index}); "
                "it was probably used to generate them: choose another --seed"
            )
    return tasks, skipped


def _overlap_message(run_id: int, overlapping: Iterable[int], total: int) -> str:
    ids = sorted(overlapping)
    shown = ", ".join(str(i) for i in ids[:8]) + (", ..." if len(ids) > 8 else "")
    return (
        f"{len(ids)} of the {total} tasks of run {run_id} are in the training data (task ids {shown}); "
        "evaluate on tasks the model never saw: another run, or offline-world tasks with --seed"
    )


def stored_tasks(
    session: Session, run_id: int, n: int | None, exclude: frozenset[str]
) -> list[tuple[int, CompositionalTask]]:
    """The first `n` tasks of a stored run (all when None); refuses when any was trained on."""
    run = store.get_run(session, run_id)
    if run is None:
        raise HeldOutError(f"--from-run {run_id}: no such run in this database; `button stats` lists them")
    if run.kind != "generate":
        raise HeldOutError(f"--from-run {run_id} is a {run.kind!r} run; take tasks from a generate run")
    ids = store.task_ids(session, run_id, n)
    if not ids:
        raise HeldOutError(f"--from-run {run_id} has no tasks")
    tasks = store.load_tasks(session, ids)
    overlapping = [task_id for task_id, task in tasks.items() if task.fingerprint() in exclude]
    if overlapping:
        raise HeldOutError(_overlap_message(run_id, overlapping, len(ids)))
    return [(task_id, tasks[task_id]) for task_id in ids]
