"""Recording fine-tuning runs: created 'running' before training, finished or failed after.

Like the rest of the store, these functions take a session and never commit; the caller commits the
'running' row first, so a run that dies mid-training still leaves its trace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from db.models import TrainingRun

__all__ = ["TRAINING_STATUSES", "create_training_run", "finish_training_run", "get_training_run"]

TRAINING_STATUSES = ("running", "finished", "failed")


def create_training_run(
    session: Session,
    *,
    base_model: str,
    data_file: str,
    data_sha256: str,
    data_manifest: dict[str, Any] | None,
    config: dict[str, Any],
    output_dir: str,
) -> int:
    """Record a training run about to start; returns its id."""
    row = {
        "status": "running",
        "base_model": base_model,
        "data_file": data_file,
        "data_sha256": data_sha256,
        "data_manifest": data_manifest,
        "config": config,
        "output_dir": output_dir,
    }
    return session.scalars(insert(TrainingRun).returning(TrainingRun.id), [row]).one()


def finish_training_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    n_examples: int | None = None,
    n_dropped: int | None = None,
    n_truncated: int | None = None,
    final_loss: float | None = None,
    loss_history: list[dict[str, Any]] | None = None,
) -> None:
    """Close a training run with its outcome and figures; finished_at is stamped either way."""
    if status not in TRAINING_STATUSES[1:]:
        raise ValueError(f"unknown final status {status!r}; allowed: {', '.join(TRAINING_STATUSES[1:])}")
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise KeyError(f"no training run with id {run_id}")
    run.status = status
    run.n_examples, run.n_dropped, run.n_truncated = n_examples, n_dropped, n_truncated
    run.final_loss, run.loss_history = final_loss, loss_history
    run.finished_at = dt.datetime.now(dt.UTC)
    session.flush()


def get_training_run(session: Session, run_id: int) -> TrainingRun | None:
    """The training run with this id, or None."""
    return session.get(TrainingRun, run_id)
