"""Summary figures of runs, read back from the database.

Written as plain SQL on purpose: these are the queries a person would type against the schema, they run
unchanged on SQLite and PostgreSQL, and docs/schema.md shows the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from datamodel.behaviours import Behaviour
from db.distributed_store import live_workers, run_counts

__all__ = [
    "Table",
    "behaviour_mix",
    "call_figures",
    "distributed_reports",
    "job_queue",
    "outcome_counts",
    "run_list",
    "task_mix",
    "worker_shares",
]


@dataclass
class Table:
    """A titled result set, ready to print."""

    title: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _where(run_id: int | None, alias: str = "") -> tuple[str, dict[str, Any]]:
    if run_id is None:
        return "", {}
    prefix = f"{alias}." if alias else ""
    return f"WHERE {prefix}run_id = :run_id", {"run_id": run_id}


def _table(session: Session, title: str, columns: list[str], sql: str, params: dict[str, Any]) -> Table:
    rows = [tuple(row) for row in session.execute(text(sql), params)]
    return Table(title, columns, rows)


def run_list(session: Session, limit: int = 20) -> Table:
    """The most recent runs with their conversation counts."""
    sql = """
        SELECT r.id, r.kind, r.status, r.seed, r.n_requested,
               COUNT(c.id) AS conversations,
               SUM(CASE WHEN c.status = 'accepted' THEN 1 ELSE 0 END) AS accepted,
               r.created_at
        FROM runs r LEFT JOIN conversations c ON c.run_id = r.id
        GROUP BY r.id, r.kind, r.status, r.seed, r.n_requested, r.created_at
        ORDER BY r.id DESC LIMIT :limit"""
    columns = ["run", "kind", "status", "seed", "requested", "conversations", "accepted", "created"]
    return _table(session, "Runs", columns, sql, {"limit": limit})


def task_mix(session: Session, run_id: int | None) -> Table:
    """Tasks by composition strategy and number of sub-tasks."""
    where, params = _where(run_id)
    sql = f"""
        SELECT strategy, n_subtasks, depth, COUNT(*) AS tasks
        FROM tasks {where}
        GROUP BY strategy, n_subtasks, depth ORDER BY strategy, n_subtasks, depth"""
    return _table(
        session, "Tasks by strategy and depth", ["strategy", "sub-tasks", "depth", "tasks"], sql, params
    )


LOOK_ALIKE_ROW = "+ look-alikes"


def behaviour_mix(session: Session, run_id: int | None) -> Table:
    """Conversations by their task's behaviour, with verdicts and share of the conversations, every
    behaviour listed (zeros where the mix had none); a last row counts those offering look-alikes,
    whatever their behaviour, so it overlaps the others."""
    where, params = _where(run_id, "c")
    counts = """COUNT(*) AS conversations,
               SUM(CASE WHEN c.status = 'accepted' THEN 1 ELSE 0 END) AS accepted,
               SUM(CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END) AS rejected"""
    look_alikes = f"{where} AND t.look_alike" if where else "WHERE t.look_alike"
    sql = f"""
        SELECT behaviour, conversations, accepted, rejected,
               ROUND(conversations * 1.0 / NULLIF((SELECT COUNT(*) FROM conversations c {where}), 0), 3)
        FROM (
            SELECT t.behaviour AS behaviour, {counts}
            FROM conversations c JOIN tasks t ON t.id = c.task_id {where}
            GROUP BY t.behaviour
            UNION ALL
            SELECT '{LOOK_ALIKE_ROW}', {counts}
            FROM conversations c JOIN tasks t ON t.id = c.task_id {look_alikes}
        ) AS mix"""
    found = {
        behaviour: (n, accepted or 0, rejected or 0, float(share) if share is not None else None)
        for behaviour, n, accepted, rejected, share in session.execute(text(sql), params)
    }
    known = [b.value for b in Behaviour]
    order = [*known, *sorted(set(found) - set(known) - {LOOK_ALIKE_ROW}), LOOK_ALIKE_ROW]
    no_share = None if found[LOOK_ALIKE_ROW][3] is None else 0.0  # None: no conversations at all
    rows = [(name, *found.get(name, (0, 0, 0, no_share))) for name in order]
    columns = ["behaviour", "conversations", "accepted", "rejected", "share of run"]
    return Table("Conversations by behaviour", columns, rows)


def outcome_counts(session: Session, run_id: int | None) -> Table:
    """Conversations accepted, and rejected by the first check they failed."""
    where, params = _where(run_id)
    sql = f"""
        SELECT status, COALESCE(rejected_by, '') AS reason, COUNT(*) AS conversations
        FROM conversations {where}
        GROUP BY status, COALESCE(rejected_by, '') ORDER BY status, conversations DESC"""
    return _table(
        session, "Conversations by verdict", ["status", "rejected by", "conversations"], sql, params
    )


def call_figures(session: Session, run_id: int | None) -> Table:
    """Turns and calls per conversation, and how often calls went out in parallel."""
    where, params = _where(run_id)
    where_c, _ = _where(run_id, "c")
    sql = f"""
        SELECT 'messages per conversation', MIN(n_turns), AVG(n_turns), MAX(n_turns)
        FROM conversations {where}
        UNION ALL
        SELECT 'assistant turns per conversation', MIN(n_assistant_turns), AVG(n_assistant_turns),
               MAX(n_assistant_turns) FROM conversations {where}
        UNION ALL
        SELECT 'calls per conversation', MIN(n_calls), AVG(n_calls), MAX(n_calls) FROM conversations {where}
        UNION ALL
        SELECT 'calls per calling turn', MIN(k), AVG(k), MAX(k) FROM (
            SELECT COUNT(*) AS k FROM tool_calls t JOIN conversations c ON c.id = t.conversation_id
            {where_c} GROUP BY t.message_id) AS per_turn"""
    rows = [
        (label, low, round(float(mean), 2) if mean is not None else None, high)
        for label, low, mean, high in session.execute(text(sql), params)
    ]
    return Table("Turns and calls", ["figure", "min", "mean", "max"], rows)


LOCAL_WORKER = "(local run)"  # conversations a run stored itself, on one machine


def worker_shares(session: Session, run_id: int | None) -> Table:
    """Conversations by the `button worker` that stored them, each one's share, and its last one."""
    where, params = _where(run_id)
    sql = f"""
        SELECT COALESCE(worker, '{LOCAL_WORKER}') AS worker, COUNT(*) AS conversations,
               ROUND(COUNT(*) * 1.0 / NULLIF((SELECT COUNT(*) FROM conversations {where}), 0), 3) AS share,
               MAX(created_at) AS last_stored
        FROM conversations {where}
        GROUP BY COALESCE(worker, '{LOCAL_WORKER}') ORDER BY conversations DESC, worker"""
    rows = [
        (worker, n, float(share) if share is not None else None, last)
        for worker, n, share, last in session.execute(text(sql), params)
    ]
    return Table("Conversations by worker", ["worker", "conversations", "share", "last stored"], rows)


def _has_queue(session: Session) -> bool:
    """Whether this database holds the job queue (PostgreSQL, migration 0011)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return session.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")) is True


def job_queue(session: Session, run_id: int | None, alive_within_s: float = 30.0) -> Table:
    """Jobs of distributed runs by state, with each run's tasks and how many have their conversation
    (at most one each: the unique key on run and task), and how many workers are alive now (a
    heartbeat within `alive_within_s`). PostgreSQL with the queue only (migration 0011)."""
    only = "AND queue_name = :queue" if run_id is not None else ""
    sql = f"""
        SELECT CAST(substr(queue_name, 12) AS INTEGER) AS run,
               COUNT(*) FILTER (WHERE status = 'todo') AS todo,
               COUNT(*) FILTER (WHERE status = 'doing') AS doing,
               COUNT(*) FILTER (WHERE status = 'succeeded') AS succeeded,
               COUNT(*) FILTER (WHERE status = 'failed') AS failed
        FROM procrastinate_jobs WHERE queue_name LIKE 'button\\_run\\_%' {only}
        GROUP BY queue_name ORDER BY run"""
    params = {"queue": f"button_run_{run_id}"} if run_id is not None else {}
    rows = []
    for run, *jobs in session.execute(text(sql), params):
        try:
            counts = run_counts(session, run)
        except KeyError:  # the run's row was deleted by hand: its jobs only
            rows.append((run, *jobs, None, None, None))
            continue
        rows.append((run, *jobs, counts.tasks, counts.conversations, counts.pending))
    alive = live_workers(session, alive_within_s)
    columns = ["run", "jobs to do", "in progress", "done", "failed", "tasks", "stored once", "left"]
    return Table(f"Job queue ({alive} worker(s) alive)", columns, rows)


def distributed_reports(session: Session, run_id: int | None) -> list[Table]:
    """The job queue and the workers' shares when the database has distributed runs; else nothing."""
    where, params = _where(run_id)
    stored_by_workers = session.scalar(
        text(f"SELECT COUNT(*) FROM conversations {where or 'WHERE 1 = 1'} AND worker IS NOT NULL"), params
    )
    tables = []
    if _has_queue(session):
        queue = job_queue(session, run_id)
        if queue.rows or live_workers(session, 30.0):
            tables.append(queue)
    if stored_by_workers or tables:
        tables.append(worker_shares(session, run_id))
    return tables
