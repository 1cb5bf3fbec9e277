"""Behaviours in SQL: the summary table `button generate` and `button stats` print, and the overview view."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from datamodel.behaviours import Behaviour
from db import store
from db.reports import LOOK_ALIKE_ROW, behaviour_mix


def test_behaviour_mix_counts_a_run(sessions: sessionmaker[Session], behaviour_runs: Any) -> None:
    with sessions() as session:
        table = behaviour_mix(session, behaviour_runs.first)
        everything = behaviour_mix(session, None)
        only_plain = behaviour_mix(session, behaviour_runs.second)
    assert table.columns == ["behaviour", "conversations", "accepted", "rejected", "share of run"]
    assert table.rows == [
        ("plain", 3, 3, 0, 0.375),
        ("clarify", 1, 1, 0, 0.125),
        ("follow_up", 1, 0, 1, 0.125),
        ("irrelevant", 1, 1, 0, 0.125),
        ("tool_error", 2, 1, 1, 0.25),
        (LOOK_ALIKE_ROW, 2, 2, 0, 0.25),  # the plain and the tool-error task offering look-alikes
    ]
    assert everything.rows[0] == ("plain", 4, 4, 0, 0.444)
    assert only_plain.rows == [
        ("plain", 1, 1, 0, 1.0),
        *((b.value, 0, 0, 0, 0.0) for b in list(Behaviour)[1:]),
        (LOOK_ALIKE_ROW, 0, 0, 0, 0.0),
    ]


def test_behaviour_mix_of_a_run_without_conversations(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        run_id = store.create_run(session, kind="generate", seed=1, n_requested=1, config={}, versions={})
        rows = behaviour_mix(session, run_id).rows
    assert [row[1:] for row in rows] == [(0, 0, 0, None)] * (len(Behaviour) + 1)


def test_overview_has_behaviour_and_look_alike(sessions: sessionmaker[Session], behaviour_runs: Any) -> None:
    with sessions() as session:
        rows = session.execute(
            text(
                "SELECT behaviour, look_alike FROM conversation_overview WHERE run_id = :run "
                "ORDER BY conversation_id"
            ),
            {"run": behaviour_runs.first},
        ).all()
    assert [(behaviour, bool(look)) for behaviour, look in rows] == [
        (task.behaviour.value, bool(task.look_alikes)) for task, _ in behaviour_runs.tasks
    ]
