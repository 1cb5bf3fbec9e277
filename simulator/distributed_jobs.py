"""One job of a distributed run: a chunk of a run's tasks, simulated as a local run simulates them and
stored exactly once, whichever worker runs it and however often.

A job names its run and task ids only; everything else comes from the database: the run's stored
settings, its tasks, what is already stored. Episodes run through the same code as one machine runs
them (`simulate_chunk` for offline roles, `simulate_llm` for LLM roles; an eval run's without sub-task
hints, each stored with its metrics row), so a distributed run stores the dataset, or the metrics, a
local run with the same settings stores.

Exactly once: the queue delivers a job at least once (a worker killed mid-job has its job retried), so
each episode is stored in its own transaction that meets the unique key on (run, task) when another
attempt or worker stored the task first: the episode is then "already stored" and dropped. The job
that stores a run's last episode marks the run finished (an eval run with its summary).

Budget: the run's spend is what all its workers have asked the endpoint for: each worker process keeps
one ledger per run, shared by its jobs of the run, writes its totals to `worker_spend` and reads the
others' about once a second (simulator/distributed.py), so the budget check before every request sees
the whole run but for the other workers' last second of requests. A job that finds the budget spent
marks the run interrupted, and the run's remaining jobs end at once.

Request limit: an LLM job's requests go through the `limiter` its worker hands it (that process's share
of the run's --concurrency, simulator/distributed.py), shared by every job of the run in the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datamodel.run_config import EvalConfig, GenerateConfig, read_run_config
from datamodel.tasks import CompositionalTask
from db import eval_store, store
from db.distributed_store import (
    is_duplicate_conversation,
    pending_count,
    stored_task_ids,
)
from roles.ledger import TokenLedger
from simulator.batch import simulate_chunk, store_episode
from simulator.episode import EpisodeConfig
from simulator.evaluation_runs import Scoring, eval_episode_config, metrics_row
from simulator.runs import EpisodeOutcome, RunError, offline_world

__all__ = [
    "CHUNK_SIZE",
    "JobPlan",
    "JobReport",
    "RunLedger",
    "finish_if_complete",
    "open_job",
    "run_job",
    "store_once",
]

CHUNK_SIZE = 8  # episodes per job: enough to keep one job's event loop busy, small enough to spread


@dataclass
class JobReport:
    """What one job did, as procrastinate logs it."""

    stored: int = 0
    already: int = 0  # another attempt or worker stored these first
    left: int = 0  # not simulated: the budget was spent or the run is no longer open
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.stored} stored, {self.already} already stored, {self.left} left"
        return f"{text} ({self.note})" if self.note else text


@dataclass
class RunLedger(TokenLedger):
    """One worker process's ledger of one run, shared by its jobs of the run there.

    Its entries are this process's requests; `others_*` what the run's other workers have asked for
    (their `worker_spend` rows), so the totals a Budget reads are the whole run's requests. Read and
    written on the worker's event loop only."""

    others_prompt: int = 0
    others_completion: int = 0

    def see(self, others_prompt: int, others_completion: int) -> None:
        """The other workers' spend as just read from the database."""
        self.others_prompt, self.others_completion = others_prompt, others_completion

    @property
    def own(self) -> tuple[int, int]:
        """This process's own prompt and completion tokens on the run."""
        return super().prompt_tokens, super().completion_tokens

    @property
    def prompt_tokens(self) -> int:
        return super().prompt_tokens + self.others_prompt

    @property
    def completion_tokens(self) -> int:
        return super().completion_tokens + self.others_completion


def store_once(
    sessions: sessionmaker[Session],
    run_id: int,
    outcome: EpisodeOutcome,
    worker: str,
    also: Callable[[Session, int], None] | None = None,
) -> bool:
    """Store one episode in its own transaction (`store_episode`, as a local run does, with what `also`
    adds) unless the run already has the task's conversation; True when this call stored it. The
    unique (run, task) key decides, inside the transaction: no separate look first (the job already
    skipped the tasks stored when it started, so a duplicate here is a rare race)."""
    try:
        store_episode(sessions, run_id, outcome, also, worker=worker)
    except IntegrityError as exc:
        if is_duplicate_conversation(exc):  # another attempt or worker committed it first
            return False
        raise
    return True


def finish_if_complete(
    sessions: sessionmaker[Session],
    run_id: int,
    summarize: Callable[[Session, int], dict[str, Any]] | None = None,
) -> bool:
    """Mark the run finished when every task has its conversation (an eval run with the summary
    `summarize` makes of its metrics rows); True if it is finished now.

    Called by every job after its own episodes are committed, so whichever job commits last sees
    them all and marks the run."""
    with sessions.begin() as session:
        run = store.get_run(session, run_id)
        if run is None or run.status == "finished":
            return run is not None
        if run.status != "running" or pending_count(session, run_id) > 0:
            return False
        eval_run = eval_store.eval_run_of(session, run_id)
        if eval_run is not None:
            if summarize is None:
                return False  # left to a worker that can score (every `button worker` can)
            eval_store.finish_eval_run(session, eval_run.id, summarize(session, eval_run.id))
        store.set_run_status(session, run_id, "finished")
        return True


def _stop_for_budget(sessions: sessionmaker[Session], run_id: int) -> None:
    """The run's budget is spent: interrupted (resumable), so its remaining jobs end at once."""
    with sessions.begin() as session:
        run = store.get_run(session, run_id)
        if run is not None and run.status == "running" and pending_count(session, run_id) > 0:
            store.set_run_status(session, run_id, "interrupted")


@dataclass(frozen=True)
class JobPlan:
    """What one job has to do, read from the database when it starts."""

    run_id: int
    config: GenerateConfig | EvalConfig
    eval_run_id: int | None  # an eval run's episodes: hints off, each stored with its metrics row
    pending: list[tuple[int, CompositionalTask]]  # the job's tasks not stored yet, in the order given
    already: int  # the job's tasks stored before it started (an earlier attempt, another worker)

    @property
    def concurrency(self) -> int:
        """The run's request limit, for every worker together."""
        return self.config.concurrency

    @property
    def uses_llm(self) -> bool:
        """Whether the episodes make LLM requests (an evaluation's always go through the LLM path)."""
        return self.eval_run_id is not None or self.generation().uses_llm

    def generation(self) -> GenerateConfig:
        return self.config.generation() if isinstance(self.config, EvalConfig) else self.config


def open_job(sessions: sessionmaker[Session], run_id: int, task_ids: Sequence[int]) -> JobPlan | str:
    """The job's plan, or why it has nothing to do (the run is gone, finished or stopped)."""
    with sessions() as session:
        run = store.get_run(session, run_id)
        if run is None:
            return f"run {run_id} no longer exists"
        if run.status != "running":
            return f"run {run_id} is {run.status}"
        config = read_run_config(run.config)
        eval_run = eval_store.eval_run_of(session, run_id)
        if not isinstance(config, GenerateConfig | EvalConfig):
            raise RunError(f"run {run_id} is a {run.kind!r} run; workers simulate generate and eval runs")
        done = stored_task_ids(session, run_id, task_ids)
        todo = [task_id for task_id in task_ids if task_id not in done]
        tasks = store.load_tasks(session, todo)
    return JobPlan(
        run_id=run_id,
        config=config,
        eval_run_id=eval_run.id if eval_run is not None else None,
        pending=[(task_id, tasks[task_id]) for task_id in todo],
        already=len(task_ids) - len(todo),
    )


async def run_job(
    sessions: sessionmaker[Session],
    plan: JobPlan,
    worker: str,
    *,
    ledger: RunLedger,
    limiter: AbstractAsyncContextManager[Any] | None = None,
    slots: AbstractAsyncContextManager[Any] | None = None,
    scoring: Scoring | None = None,
) -> JobReport:
    """Simulate and store the plan's pending tasks; LLM requests are counted in `ledger` (this process's
    of the run) and go through `limiter` (None: the run's own limit), each LLM episode holds one of the
    worker's `slots`; an eval run's episodes are scored with `scoring`."""
    report = JobReport(already=plan.already)
    if plan.eval_run_id is not None and scoring is None:
        raise RunError(f"run {plan.run_id} is an evaluation: this worker was started without scoring")
    config = plan.generation()
    if plan.pending and plan.uses_llm:
        await _simulate_llm(sessions, plan, worker, ledger, (limiter, slots), scoring, report)
    elif plan.pending:
        await asyncio.to_thread(_simulate_offline, sessions, plan, config, worker, report)
    await asyncio.to_thread(
        finish_if_complete, sessions, plan.run_id, scoring.summarize if scoring is not None else None
    )
    return report


def _simulate_offline(
    sessions: sessionmaker[Session], plan: JobPlan, config: GenerateConfig, worker: str, report: JobReport
) -> None:
    for outcome in simulate_chunk(plan.pending, config):
        if store_once(sessions, plan.run_id, outcome, worker):
            report.stored += 1
        else:
            report.already += 1


async def _simulate_llm(
    sessions: sessionmaker[Session],
    plan: JobPlan,
    worker: str,
    ledger: RunLedger,
    limits: tuple[AbstractAsyncContextManager[Any] | None, AbstractAsyncContextManager[Any] | None],
    scoring: Scoring | None,
    report: JobReport,
) -> None:
    from simulator.llm_batch import make_runtime, simulate_llm  # the LLM stack: LLM runs only

    run_id, config = plan.run_id, plan.generation()
    limiter, slots = limits
    runtime = make_runtime(config, ledger, limiter)
    if runtime.budget_exhausted:
        if runtime.cache is not None:
            runtime.cache.close()
        await asyncio.to_thread(_stop_for_budget, sessions, run_id)
        report.left, report.note = len(plan.pending), "budget spent"
        return
    tasks = dict(plan.pending)
    episode: EpisodeConfig | None = None
    if isinstance(plan.config, EvalConfig):
        episode = eval_episode_config(plan.config)

    def store(outcome: EpisodeOutcome) -> None:
        also = None
        if plan.eval_run_id is not None and scoring is not None:
            also = metrics_row(plan.eval_run_id, tasks[outcome.task_id], outcome, scoring.score)
        if store_once(sessions, run_id, outcome, worker, also):
            report.stored += 1
        else:
            report.already += 1

    async def keep(outcome: EpisodeOutcome) -> None:
        await asyncio.to_thread(store, outcome)  # the loop is every job's: no database wait on it

    world = offline_world(config.world_seed)
    report.left = await simulate_llm(plan.pending, config, world, runtime, keep, episode, slots)
    if report.left or runtime.budget_exhausted:
        await asyncio.to_thread(_stop_for_budget, sessions, run_id)
        report.note = "budget spent"
