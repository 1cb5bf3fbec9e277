"""The queries behind `button logs`: recent conversations first, filtered and searched in SQL.

Text search is a case-insensitive LIKE over every turn of a conversation (a fork's shared prefix
included, through the `conversation_messages` view) and its task instruction: `lower(x) LIKE lower(q)`
means the same on SQLite and PostgreSQL and needs no full-text index; it scans, which is fine for the
tens of thousands of conversations a project holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, Select, Text, column, func, or_, select, table
from sqlalchemy.orm import Session

from db.models import Conversation, TaskRow

__all__ = ["LogFilter", "LogRow", "conversation_messages", "like_pattern", "recent_conversations"]

# The view of migration 0004, for queries only: it is not part of the ORM metadata (Alembic must not
# try to create it as a table).
conversation_messages = table(
    "conversation_messages",
    column("conversation_id", Integer),
    column("idx", Integer),
    column("role", Text),
    column("content", Text),
    column("final_answer", Text),
)


@dataclass(frozen=True)
class LogFilter:
    """Which conversations to list (None: any)."""

    limit: int = 10
    status: str | None = None
    run_id: int | None = None
    assistant_model: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class LogRow:
    """One line of `button logs`."""

    id: int
    run_id: int
    created_at: dt.datetime | None
    status: str
    rejected_by: str | None
    strategy: str
    n_turns: int
    n_calls: int
    instruction: str
    assistant_model: str | None
    forked_from_id: int | None
    fork_turn: int | None


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, lower-cased, with LIKE's wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(text: str) -> Select[tuple[int]]:
    pattern = like_pattern(text)
    view = conversation_messages.c
    hit = or_(
        func.lower(view.content).like(pattern, escape="\\"),
        func.lower(view.final_answer).like(pattern, escape="\\"),
    )
    return select(view.conversation_id).where(hit)


def recent_conversations(session: Session, wanted: LogFilter) -> list[LogRow]:
    """The newest conversations matching `wanted`, newest first."""
    query = (
        select(Conversation, TaskRow.strategy, TaskRow.instruction)
        .join(TaskRow, TaskRow.id == Conversation.task_id)
        .order_by(Conversation.id.desc())
        .limit(wanted.limit)
    )
    if wanted.status is not None:
        query = query.where(Conversation.status == wanted.status)
    if wanted.run_id is not None:
        query = query.where(Conversation.run_id == wanted.run_id)
    if wanted.assistant_model is not None:
        query = query.where(Conversation.assistant_model == wanted.assistant_model)
    if wanted.text:
        in_task = func.lower(TaskRow.instruction).like(like_pattern(wanted.text), escape="\\")
        query = query.where(or_(Conversation.id.in_(_matching(wanted.text)), in_task))
    return [
        LogRow(
            id=c.id,
            run_id=c.run_id,
            created_at=c.created_at,
            status=c.status,
            rejected_by=c.rejected_by,
            strategy=strategy,
            n_turns=c.n_turns,
            n_calls=c.n_calls,
            instruction=instruction,
            assistant_model=c.assistant_model,
            forked_from_id=c.forked_from_id,
            fork_turn=c.fork_turn,
        )
        for c, strategy, instruction in session.execute(query)
    ]
