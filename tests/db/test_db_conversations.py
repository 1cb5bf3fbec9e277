"""Conversations go in and come back exactly, with their verdict; one per task and run."""

from __future__ import annotations

from types import ModuleType

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datamodel.checks import CheckName
from datamodel.trajectory import TerminationReason, Trajectory, UserTurn
from db import store
from db.models import Conversation, Message, ToolCallRow

MODELS = {"user": "offline-user", "assistant": "offline-assistant", "tool": "offline-tool"}


def _run_with_tasks(session: Session, samples: ModuleType, n: int = 2) -> tuple[int, list[int]]:
    run_id = store.create_run(session, kind="generate", seed=1, n_requested=n, config={}, versions={})
    titles = ["Emma", "Dune", "Ulysses", "Beloved", "Rebecca", "Matilda"][:n]
    return run_id, store.add_tasks(session, run_id, [samples.sample_task(t) for t in titles])


@pytest.mark.parametrize("orphan_result", [False, True])
def test_conversation_round_trip(
    sessions: sessionmaker[Session], samples: ModuleType, orphan_result: bool
) -> None:
    trajectory = samples.sample_trajectory(orphan_result=orphan_result)
    checks = samples.all_passed()
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples)
        conversation_id = store.add_conversation(
            session, run_id=run_id, task_id=task_ids[0], trajectory=trajectory, checks=checks, models=MODELS
        )
    with sessions() as session:
        stored = store.load_conversation(session, conversation_id)
        assert stored.trajectory.model_dump() == trajectory.model_dump()
        assert [c.model_dump() for c in stored.checks] == [c.model_dump() for c in checks]
        assert stored.task.model_dump() == samples.sample_task("Emma").model_dump()
        assert (stored.run_id, stored.task_id, stored.status, stored.rejected_by) == (
            run_id,
            task_ids[0],
            "accepted",
            None,
        )
        assert stored.models == MODELS
        row = session.get(Conversation, conversation_id)
        assert row is not None
        assert (row.n_turns, row.n_assistant_turns, row.n_calls, row.final_answer) == (
            6,
            3,
            3,
            "He was 29 years old.",
        )
        calls = session.scalars(select(ToolCallRow).where(ToolCallRow.message_id.is_not(None))).all()
        assert len(calls) == 3 and all(c.result_message_id is not None for c in calls)  # one row per call
        assert [c.error for c in calls] == [None, "timeout", None]


def test_an_unfinished_conversation_round_trips(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    trajectory = Trajectory(
        turns=[UserTurn(content="hi")],
        termination=TerminationReason.ERROR,
        error="model unreachable",
        parallel=False,
    )
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples, 1)
        conversation_id = store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_ids[0],
            trajectory=trajectory,
            checks=[],
            models={"user": "u"},
        )
    with sessions() as session:
        stored = store.load_conversation(session, conversation_id)
        assert stored.trajectory.model_dump() == trajectory.model_dump()
        assert stored.models == {"user": "u"} and stored.checks == []


def test_verdict_is_the_first_failed_applicable_check(
    sessions: sessionmaker[Session], samples: ModuleType
) -> None:
    failing = samples.checks_failing(
        CheckName.DEPENDENCY_ORDER, CheckName.ANSWER_CORRECT, inapplicable=(CheckName.ARGUMENTS_VALID,)
    )
    only_inapplicable = samples.checks_failing(inapplicable=(CheckName.ANSWER_CORRECT,))
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples)
        rejected, accepted = (
            store.add_conversation(
                session,
                run_id=run_id,
                task_id=task_id,
                trajectory=samples.sample_trajectory(),
                checks=checks,
                models=MODELS,
            )
            for task_id, checks in zip(task_ids, (failing, only_inapplicable), strict=True)
        )
    with sessions() as session:
        assert store.load_conversation(session, rejected).status == "rejected"
        assert store.load_conversation(session, rejected).rejected_by == "dependency_order"
        assert store.load_conversation(session, accepted).status == "accepted"


def test_one_conversation_per_task_and_run(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples)
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_ids[0],
            trajectory=samples.sample_trajectory(),
            checks=[],
            models=MODELS,
        )
    with pytest.raises(IntegrityError), sessions.begin() as session:
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_ids[0],
            trajectory=samples.sample_trajectory(),
            checks=[],
            models=MODELS,
        )
    with sessions() as session:  # the failed episode left nothing behind
        assert len(session.scalars(select(Message.id)).all()) == 6


def test_unknown_model_role_is_refused(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown roles"), sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples, 1)
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_ids[0],
            trajectory=samples.sample_trajectory(),
            checks=[],
            models={"judge": "x"},
        )


def test_pending_tasks(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples, 3)
        other_run, _ = _run_with_tasks(session, samples, 1)
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_ids[1],
            trajectory=samples.sample_trajectory(),
            checks=[],
            models=MODELS,
        )
        store.add_conversation(
            session,
            run_id=other_run,
            task_id=task_ids[2],
            trajectory=samples.sample_trajectory(),
            checks=[],
            models=MODELS,
        )
    with sessions() as session:
        pending = store.pending_tasks(session, run_id)
        assert [task_id for task_id, _ in pending] == [task_ids[0], task_ids[2]]
        assert pending[0][1].model_dump() == samples.sample_task("Emma").model_dump()


def test_iter_conversations_filters_and_batches(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    failing = samples.checks_failing(CheckName.ANSWER_CORRECT)
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples, 5)
        other_run, other_tasks = _run_with_tasks(session, samples, 1)
        for number, task_id in enumerate(task_ids):
            checks = failing if number == 2 else samples.all_passed()
            store.add_conversation(
                session,
                run_id=run_id,
                task_id=task_id,
                trajectory=samples.sample_trajectory(),
                checks=checks,
                models=MODELS,
            )
        store.add_conversation(
            session,
            run_id=other_run,
            task_id=other_tasks[0],
            trajectory=samples.sample_trajectory(),
            checks=[],
            models=MODELS,
        )
    with sessions() as session:
        accepted = list(store.iter_conversations(session, run_id=run_id, batch=2))
        assert [c.task_id for c in accepted] == [task_ids[i] for i in (0, 1, 3, 4)]
        assert len(list(store.iter_conversations(session, status=None, batch=4))) == 6
        [rejected] = store.iter_conversations(session, status="rejected")
        assert rejected.task_id == task_ids[2] and rejected.rejected_by == "answer_correct"


def test_conversations_come_in_task_order_whatever_order_they_finished(
    sessions: sessionmaker[Session], samples: ModuleType
) -> None:
    """Parallel workers store episodes as they finish; reading (and so every export) follows the tasks,
    so the same seed and settings give the same file."""
    with sessions.begin() as session:
        first, first_tasks = _run_with_tasks(session, samples, 5)
        second, second_tasks = _run_with_tasks(session, samples, 2)
        finished = [(second, second_tasks[1]), *((first, t) for t in (4, 0, 3, 1, 2))]
        finished.insert(3, (second, second_tasks[0]))
        for run_id, task in finished:
            task_id = task if run_id == second else first_tasks[task]
            store.add_conversation(
                session,
                run_id=run_id,
                task_id=task_id,
                trajectory=samples.sample_trajectory(),
                checks=samples.all_passed(),
                models=MODELS,
            )
    with sessions() as session:
        read = [(c.run_id, c.task_id) for c in store.iter_conversations(session, batch=2)]
    assert read == [(first, t) for t in first_tasks] + [(second, t) for t in second_tasks]


def test_overview_view(sessions: sessionmaker[Session], samples: ModuleType) -> None:
    with sessions.begin() as session:
        run_id, task_ids = _run_with_tasks(session, samples, 2)
        for task_id in task_ids:
            store.add_conversation(
                session,
                run_id=run_id,
                task_id=task_id,
                trajectory=samples.sample_trajectory(),
                checks=samples.all_passed(),
                models=MODELS,
            )
    with sessions() as session:
        rows = session.execute(
            text(
                "SELECT conversation_id, run_id, status, rejected_by, strategy, n_subtasks, depth, "
                "instruction, n_turns, n_calls, final_answer, answer_text "
                "FROM conversation_overview ORDER BY conversation_id"
            )
        ).all()
    assert len(rows) == 2
    assert tuple(rows[0])[1:] == (
        run_id,
        "accepted",
        None,
        "parallel_then_sequential",
        3,
        2,
        "How old was the author of Emma when it came out?",
        6,
        3,
        "He was 29 years old.",
        "29 years old",
    )
