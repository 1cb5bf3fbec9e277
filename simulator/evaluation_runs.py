"""The database writes of an evaluation: its run, tasks and eval row; each episode with its checks and
metrics row in one transaction; the summary when it ends.

Episodes run through the LLM path of generation (simulator/llm_batch.py and llm_shards.py: the shared
request limit, retries, reply cache) without sub-task hints. What is measured is the caller's: `score`
turns a task and its trajectory into the metrics row stored beside the conversation (evaluation/ owns
the metrics; this floor only stores them), so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from datamodel.run_config import EvalConfig, read_run_config
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import Trajectory
from db import eval_store, store
from db.models import EvalRun
from simulator.batch import package_versions, store_episode
from simulator.episode import EpisodeConfig
from simulator.runs import EpisodeOutcome, RunError

__all__ = [
    "MetricsRow",
    "Score",
    "Scoring",
    "create_eval_run",
    "eval_episode_config",
    "finish_eval_run",
    "metrics_row",
    "simulate_eval_run",
    "stored_eval_config",
]

# A task and its trajectory → the metrics columns of its eval_results row.
Score = Callable[[CompositionalTask, Trajectory], dict[str, Any]]


@dataclass(frozen=True)
class Scoring:
    """What the evaluation floor lends the workers of a distributed eval run (simulator/distributed.py):
    the metrics of one episode, and the summary of an eval run from its stored metrics rows."""

    score: Score
    summarize: Callable[[Session, int], dict[str, Any]]  # (session, eval run id) → summary


def eval_episode_config(config: EvalConfig) -> EpisodeConfig:
    """How an evaluated episode runs: the model under test gets no sub-task hints."""
    return EpisodeConfig(
        parallel=config.parallel, max_turns=config.max_turns, hints=False, max_idle=config.max_idle
    )


@dataclass(frozen=True)
class MetricsRow:
    """An evaluated episode's eval_results row; `store_episode` calls it inside the episode's
    transaction."""

    eval_run_id: int
    row: dict[str, Any]

    def __call__(self, session: Session, conversation_id: int) -> None:
        eval_store.add_eval_result(session, self.eval_run_id, conversation_id, self.row)


def metrics_row(
    eval_run_id: int, task: CompositionalTask, outcome: EpisodeOutcome, score: Score
) -> MetricsRow:
    """The eval_results row of one evaluated episode, scored by `score`."""
    row = {
        "task_id": outcome.task_id,
        "strategy": task.strategy.value,
        "n_subtasks": len(task.subtasks),
        "behaviour": task.behaviour.value,
        "look_alike": bool(task.look_alikes),
        "termination": outcome.trajectory.termination.value,
        **score(task, outcome.trajectory),
    }
    return MetricsRow(eval_run_id, row)


def create_eval_run(
    sessions: sessionmaker[Session],
    config: EvalConfig,
    tasks: Sequence[CompositionalTask],
    *,
    training_run_id: int | None,
    task_source: dict[str, Any],
    held_out: dict[str, Any],
) -> int:
    """Store the run (kind 'eval', its config whole), its tasks and the eval row, in one transaction;
    returns the eval run's id."""
    with sessions.begin() as session:
        run_id = store.create_run(
            session,
            kind="eval",
            seed=config.seed,
            n_requested=len(tasks),
            config=config.model_dump(mode="json"),
            versions=package_versions(),
        )
        store.add_tasks(session, run_id, list(tasks))
        return eval_store.create_eval_run(
            session,
            run_id=run_id,
            label=config.label,
            model=config.assistant.model,
            call_format=config.assistant.format,
            parallel=config.parallel,
            training_run_id=training_run_id,
            task_source=task_source,
            held_out=held_out,
        )


def stored_eval_config(session: Session, eval_run: EvalRun) -> EvalConfig:
    """The config an eval run was started with, read back by the class that wrote it."""
    run = store.get_run(session, eval_run.run_id)
    assert run is not None  # the foreign key keeps it
    stored = read_run_config(run.config)
    assert isinstance(stored, EvalConfig)  # the kind column and the config's kind agree
    return stored


def _eval_run(session: Session, eval_run_id: int) -> EvalRun:
    eval_run = eval_store.get_eval_run(session, eval_run_id)
    if eval_run is None:
        raise RunError(f"eval run {eval_run_id} does not exist in this database; `button evals` lists them")
    return eval_run


def simulate_eval_run(
    sessions: sessionmaker[Session],
    eval_run_id: int,
    score: Score,
    *,
    execution: dict[str, Any] | None = None,
    on_stored: Callable[[int, dict[str, Any]], None] = lambda _total, _row: None,
) -> None:
    """Simulate every task of the evaluation without a conversation; store each conversation with its
    checks and `score`'s row in one transaction, then call `on_stored(pending, row)`. `execution` may
    change concurrency and request settings (never what is measured) on a resume; a stop marks the run
    interrupted."""
    from simulator.llm_batch import make_runtime  # the openai SDK: loaded only when a run needs it
    from simulator.llm_shards import run_llm_episodes

    with sessions() as session:
        eval_run = _eval_run(session, eval_run_id)
        config = stored_eval_config(session, eval_run).model_copy(update=execution or {})
        run_id = eval_run.run_id
        pending = store.pending_tasks(session, run_id)
    tasks = dict(pending)
    on_stored(len(pending), {})

    def keep(outcome: EpisodeOutcome) -> None:
        also = metrics_row(eval_run_id, tasks[outcome.task_id], outcome, score)
        store_episode(sessions, run_id, outcome, also=also)
        on_stored(len(pending), also.row)

    episode = eval_episode_config(config)
    generation = config.generation()
    try:
        run_llm_episodes(pending, generation, make_runtime(generation), keep, episode)
    except BaseException:
        with sessions.begin() as session:
            store.set_run_status(session, run_id, "interrupted")
        raise


def finish_eval_run(sessions: sessionmaker[Session], eval_run_id: int, summary: dict[str, Any]) -> None:
    """Store the evaluation's summary and mark its run finished."""
    with sessions.begin() as session:
        eval_run = _eval_run(session, eval_run_id)
        eval_store.finish_eval_run(session, eval_run_id, summary)
        store.set_run_status(session, eval_run.run_id, "finished")
