"""What workers of a distributed run ask the database: what is stored, what is spent, what is left.

The database is the one truth every worker shares: a task is done when its conversation is stored (the
unique key on run and task makes that exactly once), and a run's spent tokens are the sum of what its
workers have asked for (`worker_spend`). Small functions that take a session and never commit, as in
db/store.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import exists, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Conversation, Run, TaskRow, WorkerSpend

__all__ = [
    "RunCounts",
    "UNIQUE_CONVERSATION",
    "is_duplicate_conversation",
    "live_workers",
    "others_spend",
    "pending_count",
    "record_spend",
    "run_counts",
    "stored_task_ids",
]

UNIQUE_CONVERSATION = "uq_conversations_run_id_task_id"  # db/models.py's naming convention


@dataclass(frozen=True)
class RunCounts:
    """Where a run stands, read from the database (every worker's work together)."""

    status: str
    tasks: int
    conversations: int
    accepted: int

    @property
    def pending(self) -> int:
        return self.tasks - self.conversations


def stored_task_ids(session: Session, run_id: int, task_ids: Collection[int]) -> set[int]:
    """Which of these tasks already have their conversation in the run."""
    query = select(Conversation.task_id).where(
        Conversation.run_id == run_id, Conversation.task_id.in_(list(task_ids))
    )
    return set(session.scalars(query))


def pending_count(session: Session, run_id: int) -> int:
    """How many of the run's tasks have no conversation yet."""
    done = exists().where(Conversation.task_id == TaskRow.id, Conversation.run_id == run_id)
    query = select(func.count()).select_from(TaskRow).where(TaskRow.run_id == run_id, ~done)
    return session.scalar(query) or 0


def run_counts(session: Session, run_id: int) -> RunCounts:
    """The run's status, tasks, conversations and accepted conversations."""
    status = session.scalar(select(Run.status).where(Run.id == run_id))
    if status is None:
        raise KeyError(f"no run with id {run_id}")
    tasks = session.scalar(select(func.count()).select_from(TaskRow).where(TaskRow.run_id == run_id))
    conversations, accepted = session.execute(
        select(func.count(), func.count().filter(Conversation.status == "accepted")).where(
            Conversation.run_id == run_id
        )
    ).one()
    return RunCounts(status, tasks or 0, int(conversations), int(accepted))


def is_duplicate_conversation(error: IntegrityError) -> bool:
    """Whether an insert failed because the run already has a conversation for the task (another worker
    stored it first): the unique key's name on PostgreSQL, its columns in SQLite's message."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None) == UNIQUE_CONVERSATION
    return "conversations.run_id, conversations.task_id" in str(error.orig)


def live_workers(session: Session, within_s: float) -> int:
    """How many queue workers, on every machine, sent a heartbeat in the last `within_s` seconds (the
    queue's own table of workers, created by migration 0011; PostgreSQL only)."""
    query = text(
        "SELECT COUNT(*) FROM procrastinate_workers "
        "WHERE last_heartbeat >= NOW() - make_interval(secs => :within)"
    )
    return int(session.scalar(query, {"within": within_s}) or 0)


def record_spend(session: Session, run_id: int, worker: str, prompt: int, completion: int) -> None:
    """Write what `worker` has asked for on the run so far (its totals, not an increment); a total
    never goes down, whatever order two writes commit in."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert, larger = (postgresql.insert, func.greatest) if postgres else (sqlite.insert, func.max)
    statement = insert(WorkerSpend).values(
        run_id=run_id, worker=worker, prompt_tokens=prompt, completion_tokens=completion
    )
    statement = statement.on_conflict_do_update(
        index_elements=[WorkerSpend.run_id, WorkerSpend.worker],
        set_={
            "prompt_tokens": larger(WorkerSpend.prompt_tokens, statement.excluded.prompt_tokens),
            "completion_tokens": larger(WorkerSpend.completion_tokens, statement.excluded.completion_tokens),
            "updated_at": func.now(),
        },
    )
    session.execute(statement)


def others_spend(session: Session, run_id: int, worker: str) -> tuple[int, int]:
    """Prompt and completion tokens the run's workers other than `worker` have asked for."""
    query = select(
        func.coalesce(func.sum(WorkerSpend.prompt_tokens), 0),
        func.coalesce(func.sum(WorkerSpend.completion_tokens), 0),
    ).where(WorkerSpend.run_id == run_id, WorkerSpend.worker != worker)
    prompt, completion = session.execute(query).one()
    return int(prompt), int(completion)
