"""Storing forks: a conversation that continues another one from turn K keeps only its own turns.

The first K turns stay in the parent (or further up, for a fork of a fork) and are never copied; the
fork's call rows are the calls of its own turns plus, when turn K answers calls made just before it,
rows holding those results (their `message_id` points at the shared turn that made them). Nothing here
commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from datamodel.checks import CheckResult
from datamodel.trajectory import Trajectory
from db.conversation_store import (
    _call_rows,
    _check_row,
    _conversation_row,
    _message_row,
    _table,
)
from db.lineage import lineages
from db.models import Check, Conversation, Message, ToolCallRow

__all__ = ["add_fork", "prefix_message_ids"]


def prefix_message_ids(session: Session, parent: Conversation, fork_turn: int) -> list[int]:
    """Ids of the message rows holding the parent's first `fork_turn` turns, in turn order."""
    line = lineages(session, [parent])[parent.id]
    rows = session.execute(
        select(Message.id, Message.idx, Message.conversation_id).where(
            Message.conversation_id.in_([source for source, _ in line]), Message.idx < fork_turn
        )
    ).all()
    bounds = dict(line)
    visible = sorted(
        (r for r in rows if (below := bounds[r.conversation_id]) is None or r.idx < below),
        key=lambda r: r.idx,
    )
    return [r.id for r in visible]


def add_fork(
    session: Session,
    *,
    run_id: int,
    parent_id: int,
    fork_turn: int,
    trajectory: Trajectory,
    checks: Sequence[CheckResult],
    models: dict[str, str],
) -> int:
    """Store a fork of `parent_id` from `fork_turn`: the full trajectory's counts and verdict on the
    conversation row, only turns `fork_turn`.. as message rows. Returns its id; never commits."""
    parent = session.get(Conversation, parent_id)
    if parent is None:
        raise KeyError(f"no conversation with id {parent_id}")
    prefix_ids = prefix_message_ids(session, parent, fork_turn)
    if not 1 <= fork_turn <= len(trajectory.turns) or len(prefix_ids) != fork_turn:
        raise ValueError(
            f"fork turn {fork_turn} is outside conversation {parent_id} or its trajectory "
            f"({len(prefix_ids)} shared rows, {len(trajectory.turns)} turns)"
        )
    row = _conversation_row(run_id, parent.task_id, trajectory, checks, models)
    row.update(forked_from_id=parent_id, fork_turn=fork_turn)
    fork_id = session.scalars(insert(Conversation).returning(Conversation.id), [row]).one()
    own = trajectory.turns[fork_turn:]
    if own:
        rows = [_message_row(fork_id, fork_turn + i, turn) for i, turn in enumerate(own)]
        session.execute(insert(_table(Message)), rows)
        by_idx = select(Message.id).where(Message.conversation_id == fork_id).order_by(Message.idx)
        own_ids = list(session.scalars(by_idx))
        mine = set(own_ids)
        calls = [
            c
            for c in _call_rows(fork_id, trajectory.turns, prefix_ids + own_ids)
            if c["message_id"] in mine or c["result_message_id"] in mine
        ]
        if calls:
            session.execute(insert(_table(ToolCallRow)), calls)
    if checks:
        session.execute(insert(_table(Check)), [_check_row(fork_id, i, c) for i, c in enumerate(checks)])
    return fork_id
