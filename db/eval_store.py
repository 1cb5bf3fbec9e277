"""Recording evaluations: an eval run per model evaluated, one metrics row per evaluated conversation.

The conversations themselves are stored like any other (a `runs` row of kind 'eval', its tasks, its
conversations and checks); these functions add what evaluation knows on top. They take a session and
never commit: the runner stores each conversation and its metrics row in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import EvalResult, EvalRun, TrainingRun

__all__ = [
    "add_eval_result",
    "create_eval_run",
    "eval_results",
    "eval_run_of",
    "finish_eval_run",
    "get_eval_run",
    "training_run_for_model",
]


def create_eval_run(
    session: Session,
    *,
    run_id: int,
    label: str,
    model: str,
    call_format: str,
    parallel: bool,
    training_run_id: int | None,
    task_source: dict[str, Any],
    held_out: dict[str, Any],
) -> int:
    """Record an evaluation about to run over the tasks of `run_id`; returns its id."""
    row = {
        "run_id": run_id,
        "label": label,
        "model": model,
        "call_format": call_format,
        "parallel": parallel,
        "training_run_id": training_run_id,
        "task_source": task_source,
        "held_out": held_out,
    }
    return session.scalars(insert(EvalRun).returning(EvalRun.id), [row]).one()


def add_eval_result(session: Session, eval_run_id: int, conversation_id: int, row: dict[str, Any]) -> None:
    """Store one evaluated conversation's metrics (`row` holds the EvalResult columns besides the ids)."""
    session.execute(
        insert(EvalResult), [{"eval_run_id": eval_run_id, "conversation_id": conversation_id, **row}]
    )


def finish_eval_run(session: Session, eval_run_id: int, summary: dict[str, Any]) -> None:
    """Store the summary (overall and per breakdown) and stamp the end."""
    run = session.get(EvalRun, eval_run_id)
    if run is None:
        raise KeyError(f"no eval run with id {eval_run_id}")
    run.summary = summary
    run.finished_at = dt.datetime.now(dt.UTC)
    session.flush()


def get_eval_run(session: Session, eval_run_id: int) -> EvalRun | None:
    """The eval run with this id, or None."""
    return session.get(EvalRun, eval_run_id)


def eval_run_of(session: Session, run_id: int) -> EvalRun | None:
    """The eval run whose episodes run `run_id` holds, or None (a generate run)."""
    return session.scalar(select(EvalRun).where(EvalRun.run_id == run_id))


def eval_results(session: Session, eval_run_id: int) -> Sequence[EvalResult]:
    """Every metrics row of an evaluation, in conversation order."""
    query = select(EvalResult).where(EvalResult.eval_run_id == eval_run_id).order_by(EvalResult.id)
    return session.scalars(query).all()


def training_run_for_model(session: Session, model_dir: Path) -> TrainingRun | None:
    """The latest finished training run that saved its model in `model_dir`, if this database has one.

    Runs store the folder as it was typed (often relative), so folders are compared resolved.
    """
    target = model_dir.resolve()
    query = select(TrainingRun).where(TrainingRun.status == "finished").order_by(TrainingRun.id.desc())
    return next((run for run in session.scalars(query) if Path(run.output_dir).resolve() == target), None)
