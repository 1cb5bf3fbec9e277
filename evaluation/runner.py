"""Run an evaluation: the model under test plays the Assistant over held-out tasks, without sub-task hints.

The User and the Tools are played as in generation (offline scripted: the user states the task and answers
questions, the tools execute in the offline world). Episodes run through the LLM path of generation
(simulator/llm_batch.py: the shared request limit, retries, reply cache), and each conversation is stored
with its checks and its metrics row in one transaction, so an interrupted evaluation resumes where it
stopped. The stored run has kind 'eval' and its own copy of the tasks, so `button replay` shows any of
its conversations and exports leave them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from datamodel.run_config import EvalConfig, read_run_config
from datamodel.tasks import CompositionalTask
from db import eval_store, store
from db.models import EvalRun, TrainingRun
from evaluation.heldout import HeldOutError, TrainingTasks, stored_tasks, training_tasks, world_tasks
from evaluation.metrics import EpisodeMetrics, MetricSummary, breakdowns_by, episode_metrics
from simulator.batch import EpisodeOutcome, RunError, package_versions
from simulator.episode import EpisodeConfig

__all__ = ["EvalProgress", "EvalReport", "load_report", "run_evaluation", "start_evaluation"]


Breakdowns = dict[str, dict[str, MetricSummary]]


@dataclass
class EvalProgress:
    """Counts reported while an evaluation runs."""

    total: int
    done: int = 0
    succeeded: int = 0

    def record(self, metrics: EpisodeMetrics) -> None:
        self.done += 1
        self.succeeded += bool(metrics.success)


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
    )
    source = {"kind": "world", "seed": config.seed, "world_seed": config.world_seed, "n": len(tasks)}
    return tasks, source | {"skipped_as_trained_on": skipped}


def start_evaluation(sessions: sessionmaker[Session], config: EvalConfig) -> int:
    """Check the held-out tasks against the training data, then store the run, its tasks and the eval
    run; returns the eval run's id. Nothing is stored when the tasks cannot be held out."""
    with sessions() as session:
        linked = _linked_training_run(session, config)
        training = training_tasks(config.train_data, linked)
        tasks, source = _held_out_tasks(session, config, training)
    with sessions.begin() as session:
        run_id = store.create_run(
            session,
            kind="eval",
            seed=config.seed,
            n_requested=len(tasks),
            config=config.model_dump(mode="json"),
            versions=package_versions(),
        )
        store.add_tasks(session, run_id, tasks)
        return eval_store.create_eval_run(
            session,
            run_id=run_id,
            label=config.label,
            model=config.assistant.model,
            call_format=config.assistant.format,
            parallel=config.parallel,
            training_run_id=linked.id if linked is not None else None,
            task_source=source,
            held_out=training.record(),
        )


def _stored_config(session: Session, eval_run: EvalRun, execution: dict[str, Any]) -> EvalConfig:
    run = store.get_run(session, eval_run.run_id)
    assert run is not None  # the foreign key keeps it
    stored = read_run_config(run.config)
    assert isinstance(stored, EvalConfig)  # the kind column and the config's kind agree
    return stored.model_copy(update=execution)


def _metrics_row(task: CompositionalTask, metrics: EpisodeMetrics, outcome: EpisodeOutcome) -> dict[str, Any]:
    return {
        "task_id": outcome.task_id,
        "strategy": task.strategy.value,
        "n_subtasks": len(task.subtasks),
        "progress": metrics.progress,
        "termination": outcome.trajectory.termination.value,
        **metrics.model_dump(),
    }


def run_evaluation(
    sessions: sessionmaker[Session],
    eval_run_id: int,
    *,
    execution: dict[str, Any] | None = None,
    on_progress: Callable[[EvalProgress], None] = lambda _: None,
) -> EvalReport:
    """Simulate every task of the evaluation that has no conversation yet, store conversations with their
    metrics, then store and return the summary. `execution` may change concurrency and request settings
    (never what is measured) on a resume."""
    from simulator.llm_batch import make_runtime  # the openai SDK: imported when used
    from simulator.llm_shards import run_llm_episodes

    with sessions() as session:
        eval_run = eval_store.get_eval_run(session, eval_run_id)
        if eval_run is None:
            raise RunError(
                f"eval run {eval_run_id} does not exist in this database; `button evals` lists them"
            )
        config = _stored_config(session, eval_run, execution or {})
        run_id = eval_run.run_id
        pending = store.pending_tasks(session, run_id)
    tasks = dict(pending)
    progress = EvalProgress(total=len(pending))
    on_progress(progress)

    def keep(outcome: EpisodeOutcome) -> None:
        task = tasks[outcome.task_id]
        metrics = episode_metrics(task, outcome.trajectory)
        with sessions.begin() as session:
            conversation_id = store.add_conversation(
                session,
                run_id=run_id,
                task_id=outcome.task_id,
                trajectory=outcome.trajectory,
                checks=outcome.checks,
                models=outcome.models,
            )
            eval_store.add_eval_result(
                session, eval_run_id, conversation_id, _metrics_row(task, metrics, outcome)
            )
        progress.record(metrics)
        on_progress(progress)

    episode = EpisodeConfig(
        parallel=config.parallel, max_turns=config.max_turns, hints=False, max_idle=config.max_idle
    )
    generation = config.generation()
    try:
        run_llm_episodes(pending, generation, make_runtime(generation), keep, episode)
    except BaseException:
        with sessions.begin() as session:
            store.set_run_status(session, run_id, "interrupted")
        raise
    return finish_evaluation(sessions, eval_run_id)


def finish_evaluation(sessions: sessionmaker[Session], eval_run_id: int) -> EvalReport:
    """Summarize the stored metrics rows, store the summary, mark the run finished."""
    with sessions.begin() as session:
        report = load_report(session, eval_run_id)
        eval_store.finish_eval_run(session, eval_run_id, report.metrics())
        store.set_run_status(session, report.run_id, "finished")
    return report


def load_report(session: Session, eval_run_id: int) -> EvalReport:
    """An evaluation's report, computed from its stored metrics rows (finished or not)."""
    eval_run = eval_store.get_eval_run(session, eval_run_id)
    if eval_run is None:
        raise RunError(f"eval run {eval_run_id} does not exist in this database; `button evals` lists them")
    fields = set(EpisodeMetrics.model_fields)
    items = [
        (row.strategy, row.n_subtasks, EpisodeMetrics(**{k: getattr(row, k) for k in fields}))
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
