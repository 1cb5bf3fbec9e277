"""Storing and loading simulated conversations: one row per turn, per call and per check.

Written with a few multi-row INSERTs per conversation (the main job stores thousands, one transaction
each), and read back in batches so an export of a whole run costs a handful of queries per batch.
A stored trajectory loads back equal to the one given, field for field. Nothing here commits.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Table, insert, select, tuple_
from sqlalchemy.orm import Session

from datamodel.checks import CheckResult, verdict
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import (
    AssistantTurn,
    TerminationReason,
    ToolCall,
    ToolResult,
    ToolTurn,
    Trajectory,
    Turn,
    Usage,
    UserTurn,
)
from db.lineage import Lineage, lineages
from db.models import Base, Check, Conversation, Message, Run, TaskRow, ToolCallRow
from db.task_store import load_tasks

__all__ = [
    "MODEL_ROLES",
    "StoredConversation",
    "add_conversation",
    "iter_conversations",
    "load_conversation",
    "load_conversations",
]

MODEL_ROLES = ("user", "assistant", "tool")


class StoredConversation(BaseModel):
    """A conversation as read back from the database, with its task and verdicts."""

    id: int = Field(description="Conversation id (`button show ID`).")
    run_id: int = Field(description="Run that simulated it.")
    task_id: int = Field(description="Task it simulated.")
    task: CompositionalTask = Field(description="The task, as stored with the run.")
    trajectory: Trajectory = Field(description="The conversation, exactly as the episode produced it.")
    checks: list[CheckResult] = Field(description="Verdicts of the verification layers, in order.")
    status: str = Field(description="'accepted' when every applicable check passed, else 'rejected'.")
    rejected_by: str | None = Field(description="The first applicable check that failed, if any.")
    models: dict[str, str] = Field(description="Model of each role that took part: user, assistant, tool.")
    forked_from_id: int | None = Field(default=None, description="The conversation this one forks, if any.")
    fork_turn: int | None = Field(
        default=None, description="Turns before this index are shared with the parent (forks only)."
    )


def _table(model: type[Base]) -> Table:
    """The model's Table (typed as such, unlike `__table__`), for plain executemany inserts."""
    return Base.metadata.tables[model.__tablename__]


def _usage_columns(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        return {"prompt_tokens": None, "completion_tokens": None, "latency_ms": None, "model": None}
    return usage.model_dump()


def _message_row(conversation_id: int, idx: int, turn: Turn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "conversation_id": conversation_id,
        "idx": idx,
        "role": turn.role,
        "final_answer": None,
        "raw": None,
        "format_error": None,
        **_usage_columns(turn.usage),
    }
    if isinstance(turn, ToolTurn):
        shown = [
            r.model_dump(include={"name", "arguments", "results", "error"}, exclude_none=True)
            for r in turn.results
        ]
        row["content"] = json.dumps(
            shown, ensure_ascii=False
        )  # readable by hand; the call rows are the truth
    elif isinstance(turn, AssistantTurn):
        row.update(
            content=turn.content, final_answer=turn.final_answer, raw=turn.raw, format_error=turn.format_error
        )
    else:
        row["content"] = turn.content
    return row


def _call_row(
    conversation_id: int, message_id: int | None, idx: int, call: ToolCall | ToolResult
) -> dict[str, Any]:
    call_id = call.id if isinstance(call, ToolCall) else call.call_id
    return {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "result_message_id": None,
        "idx": idx,
        "result_idx": None,
        "call_id": call_id,
        "name": call.name,
        "arguments": call.arguments,
        "results": None,
        "error": None,
    }


def _call_rows(
    conversation_id: int, turns: Sequence[Turn], message_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """One row per call, completed by its result; a result that matches no open call gets its own row
    (message_id NULL), so even a tool turn that answers a call never made loads back as it was."""
    rows: list[dict[str, Any]] = []
    open_calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for turn, message_id in zip(turns, message_ids, strict=True):
        if isinstance(turn, AssistantTurn):
            for call in turn.tool_calls:
                rows.append(_call_row(conversation_id, message_id, len(rows), call))
                open_calls[call.id].append(rows[-1])
        elif isinstance(turn, ToolTurn):
            for position, result in enumerate(turn.results):
                candidates = open_calls[result.call_id]
                match = [
                    r for r in candidates if r["name"] == result.name and r["arguments"] == result.arguments
                ]
                if match:
                    row = match[0]
                    candidates.remove(row)
                else:
                    row = _call_row(conversation_id, None, len(rows), result)
                    rows.append(row)
                row.update(
                    result_message_id=message_id,
                    result_idx=position,
                    results=result.results,
                    error=result.error,
                )
    return rows


def _conversation_row(
    run_id: int, task_id: int, trajectory: Trajectory, checks: Sequence[CheckResult], models: dict[str, str]
) -> dict[str, Any]:
    unknown = set(models) - set(MODEL_ROLES)
    if unknown:
        raise ValueError(f"models has unknown roles {sorted(unknown)}; allowed: {', '.join(MODEL_ROLES)}")
    status, rejected_by = verdict(checks)
    turns = trajectory.turns
    return {
        "run_id": run_id,
        "task_id": task_id,
        "status": status,
        "rejected_by": None if rejected_by is None else rejected_by.value,
        "termination": trajectory.termination.value,
        "error": trajectory.error,
        "parallel": trajectory.parallel,
        "n_turns": len(turns),
        "n_assistant_turns": sum(isinstance(t, AssistantTurn) for t in turns),
        "n_calls": len(trajectory.calls),
        "final_answer": trajectory.final_answer,
        **{f"{role}_model": models.get(role) for role in MODEL_ROLES},
    }


def _check_row(conversation_id: int, idx: int, check: CheckResult) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "idx": idx,
        "name": check.name.value,
        "passed": check.passed,
        "applicable": check.applicable,
        "reason": check.reason,
    }


def add_conversation(
    session: Session,
    *,
    run_id: int,
    task_id: int,
    trajectory: Trajectory,
    checks: Sequence[CheckResult],
    models: dict[str, str],
    worker: str | None = None,
) -> int:
    """Store one conversation with its turns, calls and checks; returns its id. Never commits.

    Accepted iff every applicable check passed; `rejected_by` names the first applicable failure.
    `worker` names the `button worker` that stored it (distributed runs only).
    """
    row = {**_conversation_row(run_id, task_id, trajectory, checks, models), "worker": worker}
    conversation_id = session.scalars(insert(Conversation).returning(Conversation.id), [row]).one()
    # Child rows go in as one executemany each on the model's table: the ORM bulk path adds
    # bookkeeping that cost ~40% of an episode's write time here, for rows that are plain dicts.
    turns = trajectory.turns
    if turns:
        message_rows = [_message_row(conversation_id, i, turn) for i, turn in enumerate(turns)]
        session.execute(insert(_table(Message)), message_rows)
        # One SELECT beats RETURNING here: SQLite sends an ordered RETURNING one row at a time.
        by_idx = select(Message.id).where(Message.conversation_id == conversation_id).order_by(Message.idx)
        call_rows = _call_rows(conversation_id, turns, session.scalars(by_idx).all())
        if call_rows:
            session.execute(insert(_table(ToolCallRow)), call_rows)
    if checks:
        session.execute(
            insert(_table(Check)), [_check_row(conversation_id, i, c) for i, c in enumerate(checks)]
        )
    return conversation_id


def _usage(message: Message) -> Usage | None:
    if message.prompt_tokens is None and message.model is None and message.latency_ms is None:
        return None
    return Usage(
        prompt_tokens=message.prompt_tokens or 0,
        completion_tokens=message.completion_tokens or 0,
        latency_ms=message.latency_ms or 0.0,
        model=message.model or "",
    )


def _turn(message: Message, calls: list[ToolCallRow], results: list[ToolCallRow]) -> Turn:
    usage = _usage(message)
    if message.role == "user":
        return UserTurn(content=message.content, usage=usage)
    if message.role == "assistant":
        return AssistantTurn(
            content=message.content,
            final_answer=message.final_answer,
            raw=message.raw,
            format_error=message.format_error,
            usage=usage,
            tool_calls=[ToolCall(id=c.call_id, name=c.name, arguments=c.arguments) for c in calls],
        )
    return ToolTurn(
        usage=usage,
        results=[
            ToolResult(
                call_id=r.call_id, name=r.name, arguments=r.arguments, results=r.results, error=r.error
            )
            for r in sorted(results, key=lambda r: r.result_idx or 0)
        ],
    )


def _trajectory(conversation: Conversation, messages: list[Message], calls: list[ToolCallRow]) -> Trajectory:
    """Turns from message rows; a call belongs to the turn that made it only in the conversation that
    stored that turn (a fork's own row for a call made in the shared prefix carries only its result)."""
    owner = {m.id: m.conversation_id for m in messages}
    made: dict[int, list[ToolCallRow]] = defaultdict(list)
    answered: dict[int, list[ToolCallRow]] = defaultdict(list)
    for call in calls:
        if call.message_id is not None and owner.get(call.message_id) == call.conversation_id:
            made[call.message_id].append(call)
        if call.result_message_id is not None:
            answered[call.result_message_id].append(call)
    return Trajectory(
        turns=[_turn(m, made[m.id], answered[m.id]) for m in messages],
        termination=TerminationReason(conversation.termination),
        error=conversation.error,
        parallel=conversation.parallel,
    )


def _visible(lineage: Lineage, messages: dict[int, list[Message]]) -> list[Message]:
    """The turns a conversation shows: its own rows, and its ancestors' below their fork turn."""
    rows = [m for source, below in lineage for m in messages[source] if below is None or m.idx < below]
    return sorted(rows, key=lambda m: m.idx)


def _grouped(session: Session, model: Any, ids: Sequence[int]) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    query = select(model).where(model.conversation_id.in_(ids)).order_by(model.conversation_id, model.idx)
    for row in session.scalars(query):
        groups[row.conversation_id].append(row)
    return groups


def load_conversations(session: Session, conversations: Sequence[Conversation]) -> list[StoredConversation]:
    """Rebuild these conversation rows, with their tasks, in a fixed handful of queries; a fork gets
    its full trajectory (the shared prefix read from its ancestors, then its own turns)."""
    ids = [c.id for c in conversations]
    lines = lineages(session, conversations)
    sources = sorted({source for line in lines.values() for source, _ in line})
    messages, calls = (_grouped(session, model, sources) for model in (Message, ToolCallRow))
    checks = _grouped(session, Check, ids)
    tasks = load_tasks(session, [c.task_id for c in conversations])
    return [
        StoredConversation(
            id=c.id,
            run_id=c.run_id,
            task_id=c.task_id,
            task=tasks[c.task_id],
            trajectory=_trajectory(
                c, _visible(lines[c.id], messages), [r for s, _ in lines[c.id] for r in calls[s]]
            ),
            checks=[
                CheckResult(name=k.name, passed=k.passed, reason=k.reason, applicable=k.applicable)
                for k in checks[c.id]
            ],
            status=c.status,
            rejected_by=c.rejected_by,
            models={
                role: model
                for role, model in zip(
                    MODEL_ROLES, (c.user_model, c.assistant_model, c.tool_model), strict=True
                )
                if model is not None
            },
            forked_from_id=c.forked_from_id,
            fork_turn=c.fork_turn,
        )
        for c in conversations
    ]


def load_conversation(session: Session, conversation_id: int) -> StoredConversation:
    """One conversation by id; KeyError if there is none (`button show` turns that into a message)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise KeyError(f"no conversation with id {conversation_id}")
    return load_conversations(session, [conversation])[0]


def iter_conversations(
    session: Session,
    *,
    run_id: int | None = None,
    status: str | None = "accepted",
    strategy: str | None = None,
    n_subtasks: int | None = None,
    depth: int | None = None,
    assistant_model: str | None = None,
    exclude_kinds: tuple[str, ...] = ("eval",),
    batch: int = 200,
) -> Iterator[StoredConversation]:
    """Conversations in task order (run, then the task's position in it), filtered in SQL (None means
    any), loaded `batch` at a time. Task order, not id order: ids follow the order in which episodes
    finished, which parallel workers change from one run to the next, and an export of the same seed
    and settings must be the same bytes.

    Filters: run, verdict status, the task's strategy, number of sub-tasks and depth (longest chain), and
    the assistant's model name. Without a run, runs of `exclude_kinds` are left out: an evaluation's
    conversations are measurements on held-out tasks, and must not slip into training data unasked.
    Keyset pagination (the key > the last one seen) keeps memory flat and holds no cursor open between
    batches.
    """
    key = (Conversation.run_id, TaskRow.idx, Conversation.id)
    query = (
        select(Conversation, TaskRow.idx)
        .join(TaskRow, TaskRow.id == Conversation.task_id)
        .order_by(*key)
        .limit(batch)
    )
    equal: list[tuple[Any, Any]] = [
        (Conversation.run_id, run_id),
        (Conversation.status, status),
        (Conversation.assistant_model, assistant_model),
        (TaskRow.strategy, strategy),
        (TaskRow.n_subtasks, n_subtasks),
        (TaskRow.depth, depth),
    ]
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if run_id is None and exclude_kinds:
        query = query.where(Conversation.run_id.not_in(select(Run.id).where(Run.kind.in_(exclude_kinds))))
    last: tuple[int, int, int] | None = None
    while True:
        page = query if last is None else query.where(tuple_(*key) > tuple_(*last))
        rows = session.execute(page).all()
        if not rows:
            return
        yield from load_conversations(session, [row[0] for row in rows])
        conversation, idx = rows[-1]
        last = (conversation.run_id, idx, conversation.id)
