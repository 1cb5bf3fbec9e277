"""Summary figures of runs, read back from the database.

Written as plain SQL on purpose: these are the queries a person would type against the schema, they run
unchanged on SQLite and PostgreSQL, and docs/schema.md shows the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["Table", "call_figures", "outcome_counts", "run_list", "task_mix"]


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
