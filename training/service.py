"""The `button train` service: prepare the data, record the run, train, record the outcome.

`prepare_training` tokenizes and masks first, so a bad file or base model is refused before a run is
recorded. `train_recorded` records the run in `training_runs` (when given a sessionmaker: under
`accelerate launch` only the main process records), trains, and closes the row as finished or failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from db.store import create_training_run, finish_training_run
from roles.local_models import ModelPathError
from training.config import TrainConfig
from training.data import DataError, PreparedData, file_sha256, read_manifest
from training.masks import MaskError
from training.train import TrainResult, prepare, train

__all__ = ["Prepared", "TrainingError", "prepare_training", "train_recorded"]


class TrainingError(ValueError):
    """The data or the base model cannot be trained on; the message says what and where."""


@dataclass
class Prepared:
    """A run's inputs, tokenized and masked: the checkpoint, tokenizer and examples."""

    checkpoint: Path
    tokenizer: Any
    train_data: PreparedData
    eval_data: PreparedData | None

    def as_tuple(self) -> tuple[Path, Any, PreparedData, PreparedData | None]:
        return self.checkpoint, self.tokenizer, self.train_data, self.eval_data


def prepare_training(config: TrainConfig) -> Prepared:
    """Load the tokenizer and turn the data into masked examples; TrainingError when they cannot be."""
    try:
        return Prepared(*prepare(config))
    except (DataError, MaskError, ModelPathError) as exc:
        raise TrainingError(str(exc)) from None


def _start(sessions: sessionmaker[Session], config: TrainConfig) -> int:
    data = Path(config.data or "")
    with sessions.begin() as session:
        return create_training_run(
            session,
            base_model=config.base_model,
            data_file=str(data),
            data_sha256=file_sha256(data),
            data_manifest=read_manifest(data),
            config=config.stored(),
            output_dir=str(config.output_dir),
        )


def _finish(
    sessions: sessionmaker[Session], run_id: int, status: str, data: PreparedData, result: TrainResult | None
) -> None:
    figures: dict[str, Any] = {
        "n_examples": len(data.examples),
        "n_dropped": data.n_dropped,
        "n_truncated": data.n_truncated,
    }
    if result is not None:
        figures |= {"final_loss": result.final_loss, "loss_history": result.loss_history}
    with sessions.begin() as session:
        finish_training_run(session, run_id, status=status, **figures)


def train_recorded(
    sessions: sessionmaker[Session] | None, config: TrainConfig, prepared: Prepared
) -> tuple[int | None, TrainResult]:
    """Train on `prepared`; with `sessions`, the run is a row of `training_runs` from start to outcome."""
    run_id = _start(sessions, config) if sessions is not None else None
    try:
        result = train(config, prepared.as_tuple())
    except BaseException:
        if sessions is not None and run_id is not None:
            _finish(sessions, run_id, "failed", prepared.train_data, None)
        raise
    if sessions is not None and run_id is not None:
        _finish(sessions, run_id, "finished", prepared.train_data, result)
    return run_id, result
