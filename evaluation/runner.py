"""The `button eval` service: the model under test plays the Assistant over held-out tasks, without
sub-task hints, and every conversation is scored.

A local model (`hf:PATH`) is checked before anything is stored: a folder that is not a model is refused
with the reason, and no eval run is left behind. Told to follow the training data, the evaluation asks
the model for calls in the form its training data taught (native for every export but `button`), read
from the linked training run's or the --train-data files' manifests.

The User and the Tools are played as in generation (offline scripted: the user states the task and answers
questions, the tools execute in the offline world). This module chooses the held-out tasks, scores each
trajectory and summarizes; simulator/evaluation_runs.py runs the episodes and stores everything (the run
of kind 'eval' with its own copy of the tasks, each conversation with its checks and metrics row in one
transaction), so `button replay` shows any of its conversations, exports leave them out, and an
interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from datamodel.behaviours import BehaviourMix
from datamodel.models import CallFormat
from datamodel.run_config import EvalConfig
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import Trajectory
from db import eval_store, store
from db.models import TrainingRun
from evaluation.heldout import HeldOutError, TrainingTasks, stored_tasks, training_tasks, world_tasks
from evaluation.metrics import EpisodeMetrics, MetricSummary, Scored, breakdowns_by, episode_metrics
from roles.local_models import check_local_model
from simulator.evaluation_runs import Scoring, create_eval_run, finish_eval_run, simulate_eval_run
from simulator.runs import RunError

__all__ = [
    "EXPORT_CALL_FORMATS",
    "EvalProgress",
    "EvalReport",
    "SCORING",
    "check_model",
    "finish_evaluation",
    "load_report",
    "run_evaluation",
    "score",
    "summarize",
    "start_evaluation",
    "trained_call_format",
]

# The call format each export teaches a model trained on it: BUTTON tags, or calls as structure that a
# chat template renders natively (sharegpt's function_call turns too, through LLaMA-Factory's template).
EXPORT_CALL_FORMATS: dict[str, CallFormat] = {
    "button": "button",
    "trl": "native",
    "openai": "native",
    "hermes": "native",
    "sharegpt": "native",
}


Breakdowns = dict[str, dict[str, MetricSummary]]


@dataclass
class EvalProgress:
    """Counts reported while an evaluation runs."""

    total: int
    done: int = 0
    succeeded: int = 0
    scored: int = 0  # conversations with a reference answer to judge (success is None for the others)


@dataclass
class EvalReport:
    """One finished evaluation as tables, charts and JSON show it."""

    eval_run_id: int
    run_id: int
    label: str
    model: str
    call_format: str
    training_run_id: int | None
    task_source: dict[str, Any]
    held_out: dict[str, Any]
    breakdowns: Breakdowns = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "eval_run_id": self.eval_run_id,
            "run_id": self.run_id,
            "label": self.label,
            "model": self.model,
            "call_format": self.call_format,
            "training_run_id": self.training_run_id,
            "task_source": self.task_source,
            "held_out": self.held_out,
            "metrics": self.metrics(),
        }

    def metrics(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every measure of every cut as plain JSON values (the stored summary, the report's metrics)."""
        return {
            cut: {key: summary.model_dump() for key, summary in groups.items()}
            for cut, groups in self.breakdowns.items()
        }


def _linked_training_run(session: Session, config: EvalConfig) -> TrainingRun | None:
    """The training run named by --training-run, or the one that saved the model's folder."""
    if config.training_run is not None:
        run = store.get_training_run(session, config.training_run)
        if run is None:
            raise HeldOutError(f"--training-run {config.training_run}: no such training run in this database")
        return run
    spec = config.assistant.spec
    if spec.kind == "hf" and Path(spec.name).is_dir():
        return eval_store.training_run_for_model(session, Path(spec.name))
    return None


def check_model(config: EvalConfig) -> None:
    """Raise ModelPathError (roles.local_models) when the model under test is a local model the loader
    cannot open; endpoint and offline models are checked when they are first asked."""
    spec = config.assistant.spec
    if spec.kind == "hf":
        check_local_model(Path(spec.name))


def trained_call_format(training: TrainingTasks) -> CallFormat | None:
    """The call format the training data taught, when its manifests name formats that agree on one."""
    taught = {EXPORT_CALL_FORMATS[f] for f in training.formats if f in EXPORT_CALL_FORMATS}
    return taught.pop() if len(taught) == 1 else None


def _held_out_tasks(
    session: Session, config: EvalConfig, training: TrainingTasks
) -> tuple[list[CompositionalTask], dict[str, Any]]:
    if config.from_run is not None:
        tasks = [task for _, task in stored_tasks(session, config.from_run, config.n, training.fingerprints)]
        return tasks, {"kind": "run", "run_id": config.from_run, "n": len(tasks)}
    tasks, skipped = world_tasks(
        config.n,
        config.seed,
        world_seed=config.world_seed,
        max_subtasks=config.max_subtasks,
        exclude=training.fingerprints,
        mix=config.mix,
    )
    source = {"kind": "world", "seed": config.seed, "world_seed": config.world_seed, "n": len(tasks)}
    if config.mix != BehaviourMix.none():
        source["mix"] = config.mix.model_dump()
    return tasks, source | {"skipped_as_trained_on": skipped}


def start_evaluation(
    sessions: sessionmaker[Session], config: EvalConfig, *, follow_training_format: bool = False
) -> int:
    """Check the model and the held-out tasks against the training data, then store the run, its tasks
    and the eval run; returns the eval run's id. Nothing is stored when the model is not one
    (ModelPathError) or the tasks cannot be held out (HeldOutError). With `follow_training_format`, the
    call format is the one the training data taught, when its manifests say (the stored config has it)."""
    check_model(config)
    with sessions() as session:
        linked = _linked_training_run(session, config)
        training = training_tasks(config.train_data, linked)
        taught = trained_call_format(training) if follow_training_format else None
        if taught is not None:
            config = config.model_copy(update={"call_format": taught})
        tasks, source = _held_out_tasks(session, config, training)
    return create_eval_run(
        sessions,
        config,
        tasks,
        training_run_id=linked.id if linked is not None else None,
        task_source=source,
        held_out=training.record(),
    )


def score(task: CompositionalTask, trajectory: Trajectory) -> dict[str, Any]:
    """The metrics columns of one evaluated conversation."""
    metrics = episode_metrics(task, trajectory)
    return {"progress": metrics.progress, **metrics.model_dump()}


def run_evaluation(
    sessions: sessionmaker[Session],
    eval_run_id: int,
    *,
    execution: dict[str, Any] | None = None,
    on_progress: Callable[[EvalProgress], None] = lambda _: None,
) -> EvalReport:
    """Simulate and score every task of the evaluation that has no conversation yet, then store and return
    the summary. `execution` may change concurrency and request settings (never what is measured) on a
    resume."""
    progress = EvalProgress(total=0)

    def stored(pending: int, row: dict[str, Any]) -> None:
        progress.total = pending
        if row:
            progress.done += 1
            progress.succeeded += bool(row["success"])
            progress.scored += row["success"] is not None
        on_progress(progress)

    simulate_eval_run(sessions, eval_run_id, score, execution=execution, on_stored=stored)
    return finish_evaluation(sessions, eval_run_id)


def summarize(session: Session, eval_run_id: int) -> dict[str, Any]:
    """The summary stored on a finished eval run, from its metrics rows."""
    return load_report(session, eval_run_id).metrics()


# What `button worker` scores the episodes of distributed eval runs with (simulator/distributed.py).
SCORING = Scoring(score=score, summarize=summarize)


def finish_evaluation(sessions: sessionmaker[Session], eval_run_id: int) -> EvalReport:
    """Summarize the stored metrics rows, store the summary, mark the run finished."""
    with sessions() as session:
        report = load_report(session, eval_run_id)
    finish_eval_run(sessions, eval_run_id, report.metrics())
    return report


def load_report(session: Session, eval_run_id: int) -> EvalReport:
    """An evaluation's report, computed from its stored metrics rows (finished or not)."""
    eval_run = eval_store.get_eval_run(session, eval_run_id)
    if eval_run is None:
        raise RunError(f"eval run {eval_run_id} does not exist in this database; `button evals` lists them")
    fields = set(EpisodeMetrics.model_fields)
    items = [
        Scored(
            row.strategy,
            row.n_subtasks,
            row.behaviour,
            row.look_alike,
            EpisodeMetrics(**{k: getattr(row, k) for k in fields}),
        )
        for row in eval_store.eval_results(session, eval_run_id)
    ]
    return EvalReport(
        eval_run_id=eval_run.id,
        run_id=eval_run.run_id,
        label=eval_run.label,
        model=eval_run.model,
        call_format=eval_run.call_format,
        training_run_id=eval_run.training_run_id,
        task_source=eval_run.task_source,
        held_out=eval_run.held_out,
        breakdowns=breakdowns_by(items),
    )
