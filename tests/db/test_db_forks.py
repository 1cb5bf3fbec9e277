"""Forks on both databases: the shared prefix is stored once, the full trajectory loads back, the fork
is verified, and the conversation_messages view shows every full turn list (forks of forks too)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from datamodel.checks import CheckName
from datamodel.run_config import GenerateConfig
from db import store
from db.models import Check, Conversation, Message, Run
from simulator.batch import prepare_run, simulate_pending
from simulator.fork import ForkChange, ForkError, fork_conversation


def _generate(sessions: sessionmaker[Session]) -> int:
    """Eight offline conversations; the id of one with two calls in one turn."""
    run_id, config = prepare_run(sessions, GenerateConfig(n=8, seed=3, workers=0))
    simulate_pending(sessions, run_id, config)
    with sessions() as session:
        for conv in store.iter_conversations(session, run_id=run_id):
            if any(len(getattr(t, "tool_calls", [])) > 1 for t in conv.trajectory.turns):
                return conv.id
    raise AssertionError("no conversation with parallel calls in the sample")


def _message_rows(session: Session, conversation_id: int | None = None) -> int:
    query = select(func.count()).select_from(Message)
    if conversation_id is not None:
        query = query.where(Message.conversation_id == conversation_id)
    return session.scalar(query) or 0


def _view(session: Session, conversation_id: int) -> list[tuple[int, str, str, int]]:
    rows = session.execute(
        text(
            "SELECT idx, role, content, shared FROM conversation_messages "
            "WHERE conversation_id = :id ORDER BY idx"
        ),
        {"id": conversation_id},
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_fork_stores_only_its_own_turns_and_loads_in_full(sessions: sessionmaker[Session]) -> None:
    parent_id = _generate(sessions)
    with sessions() as session:
        before = _message_rows(session)
        parent = store.load_conversation(session, parent_id)
    outcome = fork_conversation(sessions, parent_id, 1, ForkChange(policy="sequential"))
    with sessions() as session:
        fork = store.load_conversation(session, outcome.conversation_id)
        n = len(fork.trajectory.turns)
        assert _message_rows(session, fork.id) == n - 1  # the shared user turn is not copied
        assert _message_rows(session) == before + n - 1
        assert fork.trajectory.turns[0] == parent.trajectory.turns[0]
        assert n > len(parent.trajectory.turns)  # one call per turn instead of a parallel batch
        assert all(len(c.tool_calls) <= 1 for c in fork.trajectory.turns if c.role == "assistant")
        assert fork.status == "accepted" and fork.forked_from_id == parent_id and fork.fork_turn == 1
        assert all(fork.trajectory.result_of(c.id) is not None for c in fork.trajectory.calls)
        assert session.scalar(
            select(func.count()).select_from(Check).where(Check.conversation_id == fork.id)
        ) == len(CheckName)
        run = session.get_one(Run, outcome.run_id)
        assert run.kind == "fork" and run.status == "finished"
        assert run.config["parent_conversation"] == parent_id and run.config["fork_turn"] == 1
        assert run.config["change"] == {"policy": "sequential"}
        assert run.config["generate"]["policy"] == "sequential"
        view = _view(session, fork.id)
        assert [(i, r) for i, r, _, _ in view] == [(i, t.role) for i, t in enumerate(fork.trajectory.turns)]
        assert [s for *_, s in view] == [1] + [0] * (n - 1)
        assert len(_view(session, parent_id)) == len(parent.trajectory.turns)


def test_fork_after_a_call_and_fork_of_a_fork(sessions: sessionmaker[Session]) -> None:
    parent_id = _generate(sessions)
    # K = 2: the shared prefix ends with the assistant's calls; the fork's own tool turn answers them.
    first = fork_conversation(sessions, parent_id, 2, ForkChange(parallel=False))
    second = fork_conversation(sessions, first.conversation_id, 3, ForkChange(policy="sequential"))
    third = fork_conversation(sessions, second.conversation_id, 1, ForkChange(policy="plan"))
    with sessions() as session:
        parent = store.load_conversation(session, parent_id)
        for outcome in (first, second, third):
            fork = store.load_conversation(session, outcome.conversation_id)
            turns = fork.trajectory.turns
            assert fork.status == "accepted", fork.checks
            assert all(fork.trajectory.result_of(c.id) is not None for c in fork.trajectory.calls)
            assert [(i, t.role) for i, t in enumerate(turns)] == [
                (i, r) for i, r, *_ in _view(session, fork.id)
            ]
            assert _message_rows(session, fork.id) == len(turns) - (fork.fork_turn or 0)
        first_fork = store.load_conversation(session, first.conversation_id)
        assert first_fork.trajectory.turns[:2] == parent.trajectory.turns[:2]
        # Forked at 1, below its parent's fork turn: its prefix comes straight from the grandparent.
        assert [s for *_, s in _view(session, third.conversation_id)][:1] == [1]
        stored_in = session.execute(
            text("SELECT stored_in FROM conversation_messages WHERE conversation_id = :id AND idx = 0"),
            {"id": third.conversation_id},
        ).scalar()
        assert stored_in == parent_id


def test_fork_errors(sessions: sessionmaker[Session]) -> None:
    parent_id = _generate(sessions)
    with pytest.raises(ForkError, match="out of range"):
        fork_conversation(sessions, parent_id, 0, ForkChange(policy="sequential"))
    with pytest.raises(ForkError, match="needs one setting"):
        fork_conversation(sessions, parent_id, 1, ForkChange())
    with pytest.raises(ForkError, match="does not exist"):
        fork_conversation(sessions, 999, 1, ForkChange(policy="sequential"))
    with sessions.begin() as session:
        conversation = session.get_one(Conversation, parent_id)
        session.execute(
            text("UPDATE tasks SET reference = NULL WHERE id = :id"), {"id": conversation.task_id}
        )
    with pytest.raises(ForkError, match="no reference"):
        fork_conversation(sessions, parent_id, 1, ForkChange(policy="sequential"))
