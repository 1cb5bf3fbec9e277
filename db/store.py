"""The store API: small functions that take a Session and never commit.

The caller owns the transaction (one per episode), so a crash loses at most the episode in flight and
never half of one. Runs live here; tasks and conversations in their own modules, re-exported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.bottomup_store import *  # noqa: F403  (re-exported: seeds and stage items of bottom-up runs)
from db.conversation_store import (
    MODEL_ROLES,
    StoredConversation,
    add_conversation,
    iter_conversations,
    load_conversation,
    load_conversations,
)
from db.models import Run
from db.task_store import add_tasks, load_task, load_tasks, pending_tasks, spec_hash, task_count, task_ids
from db.training_store import (  # noqa: F401  (re-exported)
    TRAINING_STATUSES,
    create_training_run,
    finish_training_run,
    get_training_run,
)

__all__ = [
    "MODEL_ROLES",
    "RUN_STATUSES",
    "StoredConversation",
    "add_conversation",
    "add_tasks",
    "create_run",
    "get_run",
    "iter_conversations",
    "load_conversation",
    "load_conversations",
    "load_task",
    "load_tasks",
    "pending_tasks",
    "runs_of_kind",
    "set_run_status",
    "spec_hash",
    "task_count",
    "task_ids",
]

RUN_STATUSES = ("running", "finished", "interrupted", "failed")


def create_run(
    session: Session,
    *,
    kind: str,
    seed: int,
    n_requested: int,
    config: dict[str, Any],
    versions: dict[str, Any],
) -> int:
    """Record a new run, status 'running', with the full config that reproduces or resumes it."""
    statement = insert(Run).returning(Run.id)
    return session.scalars(
        statement,
        [
            {
                "kind": kind,
                "status": "running",
                "seed": seed,
                "n_requested": n_requested,
                "config": config,
                "versions": versions,
            }
        ],
    ).one()


def get_run(session: Session, run_id: int) -> Run | None:
    """The run with this id, or None."""
    return session.get(Run, run_id)


def runs_of_kind(session: Session, kind: str) -> list[Run]:
    """Every run of one kind, oldest first."""
    return list(session.scalars(select(Run).where(Run.kind == kind).order_by(Run.id)))


def set_run_status(session: Session, run_id: int, status: str) -> None:
    """Move a run to a status; 'finished' stamps finished_at, any other status clears it."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; allowed: {', '.join(RUN_STATUSES)}")
    run = session.get(Run, run_id)
    if run is None:
        raise KeyError(f"no run with id {run_id}")
    run.status = status
    run.finished_at = dt.datetime.now(dt.UTC) if status == "finished" else None
    session.flush()
