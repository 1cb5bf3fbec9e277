"""One job of a distributed run: a chunk of a run's tasks, simulated as a local run simulates them and
stored exactly once, whichever worker runs it and however often.

A job names its run and task ids only; everything else comes from the database: the run's stored
settings, its tasks, what is already stored. Episodes run through the same code as `button generate` on
one machine (`simulate_chunk` for offline roles, `simulate_llm` for LLM roles), so a distributed run
stores the dataset a local run with the same seed stores.

Exactly once: the queue delivers a job at least once (a worker killed mid-job has its job retried), so
each episode is stored in its own transaction that first looks for the task's conversation and, should
another worker commit it in between, meets the unique key on (run, task): either way the episode is
"already stored" and dropped.

Budget: the run's spend is the sum of its stored messages' tokens (written in each episode's
transaction, by every worker). A job reads it before it starts (a spent budget: the run is marked
interrupted and its remaining jobs end at once), and while it runs its ledger adds what the others
stored, refreshed every second and after each of its own episodes, to its own requests, so the
budget check before every request sees the whole run within the requests other workers have in flight.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from datamodel.run_config import GenerateConfig, read_run_config
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import Trajectory
from db import store
from db.distributed_store import (
    conversation_exists,
    is_duplicate_conversation,
    pending_count,
    run_tokens,
    stored_task_ids,
)
from roles.ledger import TokenLedger
from simulator.batch import simulate_chunk, store_episode
from simulator.runs import EpisodeOutcome, RunError, offline_world

__all__ = ["CHUNK_SIZE", "JobReport", "RunLedger", "finish_if_complete", "simulate_job", "store_once"]

CHUNK_SIZE = 8  # episodes per job: enough to keep one job's event loop busy, small enough to spread
BUDGET_POLL_S = 1.0  # how often a running LLM job reads what the other workers have stored


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
    """A job's ledger that also counts what the run's other episodes spent.

    Its entries are this job's requests; `others_*` are the run's stored tokens less what this job
    stored itself, so the totals a Budget reads are the whole run's: everything stored by anyone plus
    everything this job asked for, stored or in flight."""

    others_prompt: int = 0
    others_completion: int = 0
    mine_prompt: int = 0  # tokens of the episodes this job stored
    mine_completion: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # refreshed from another thread than the one storing

    def see(self, stored_prompt: int, stored_completion: int) -> None:
        """The run's stored tokens as just read from the database."""
        with self._lock:
            self.others_prompt = max(0, stored_prompt - self.mine_prompt)
            self.others_completion = max(0, stored_completion - self.mine_completion)

    def stored(self, trajectory: Trajectory) -> None:
        """This job stored `trajectory`: its tokens now count in the database's sum."""
        with self._lock:
            for turn in trajectory.turns:
                if turn.usage is not None:
                    self.mine_prompt += turn.usage.prompt_tokens
                    self.mine_completion += turn.usage.completion_tokens

    @property
    def prompt_tokens(self) -> int:
        return super().prompt_tokens + self.others_prompt

    @property
    def completion_tokens(self) -> int:
        return super().completion_tokens + self.others_completion


def store_once(sessions: sessionmaker[Session], run_id: int, outcome: EpisodeOutcome, worker: str) -> bool:
    """Store one episode in its own transaction (`store_episode`, as a local run does) unless the run
    already has the task's conversation; True when this call stored it."""
    with sessions() as session:
        if conversation_exists(session, run_id, outcome.task_id):
            return False
    try:
        store_episode(sessions, run_id, outcome, worker=worker)
    except IntegrityError as exc:
        if is_duplicate_conversation(exc):  # committed by another worker since the look
            return False
        raise
    return True


def finish_if_complete(sessions: sessionmaker[Session], run_id: int) -> bool:
    """Mark the run finished when every task has its conversation; True if it is finished now.

    Called by every job after its own episodes are committed, so whichever job commits last sees
    them all and marks the run."""
    with sessions.begin() as session:
        run = store.get_run(session, run_id)
        if run is None or run.status == "finished":
            return run is not None
        if run.status != "running" or pending_count(session, run_id) > 0:
            return False
        store.set_run_status(session, run_id, "finished")
        return True


def _stop_for_budget(sessions: sessionmaker[Session], run_id: int) -> None:
    """The run's budget is spent: interrupted (resumable), so its remaining jobs end at once."""
    with sessions.begin() as session:
        run = store.get_run(session, run_id)
        if run is not None and run.status == "running" and pending_count(session, run_id) > 0:
            store.set_run_status(session, run_id, "interrupted")


def _open_run(
    sessions: sessionmaker[Session], run_id: int, task_ids: Sequence[int]
) -> tuple[GenerateConfig, list[tuple[int, CompositionalTask]], tuple[int, int]] | str:
    """The run's settings, the job's tasks not stored yet (in the order given) and the run's stored
    tokens; or why the job has nothing to do."""
    with sessions() as session:
        run = store.get_run(session, run_id)
        if run is None:
            return f"run {run_id} no longer exists"
        if run.status != "running":
            return f"run {run_id} is {run.status}"
        config = read_run_config(run.config)
        if not isinstance(config, GenerateConfig):
            raise RunError(f"run {run_id} is a {run.kind!r} run; workers simulate generate runs")
        done = stored_task_ids(session, run_id, task_ids)
        todo = [task_id for task_id in task_ids if task_id not in done]
        tasks = store.load_tasks(session, todo)
        spent = run_tokens(session, run_id)
    return config, [(task_id, tasks[task_id]) for task_id in todo], spent


def simulate_job(
    sessions: sessionmaker[Session], run_id: int, task_ids: Sequence[int], worker: str
) -> JobReport:
    """Simulate and store the tasks of `task_ids` that run `run_id` has not stored yet."""
    opened = _open_run(sessions, run_id, task_ids)
    if isinstance(opened, str):
        return JobReport(left=len(task_ids), note=opened)
    config, pending, spent = opened
    report = JobReport(already=len(task_ids) - len(pending))
    if pending and config.uses_llm:
        _simulate_llm(sessions, run_id, pending, config, worker, spent, report)
    elif pending:
        for outcome in simulate_chunk(pending, config):
            if store_once(sessions, run_id, outcome, worker):
                report.stored += 1
            else:
                report.already += 1
    finish_if_complete(sessions, run_id)
    return report


def _simulate_llm(
    sessions: sessionmaker[Session],
    run_id: int,
    pending: list[tuple[int, CompositionalTask]],
    config: GenerateConfig,
    worker: str,
    spent: tuple[int, int],
    report: JobReport,
) -> None:
    from simulator.llm_batch import make_runtime, simulate_llm  # the LLM stack: LLM runs only

    ledger = RunLedger()
    ledger.see(*spent)
    runtime = make_runtime(config, ledger)
    if runtime.budget_exhausted:
        if runtime.cache is not None:
            runtime.cache.close()
        _stop_for_budget(sessions, run_id)
        report.left, report.note = len(pending), "budget spent"
        return

    def refresh() -> None:
        with sessions() as session:
            ledger.see(*run_tokens(session, run_id))

    def keep(outcome: EpisodeOutcome) -> None:
        if store_once(sessions, run_id, outcome, worker):
            report.stored += 1
            ledger.stored(outcome.trajectory)
        else:
            report.already += 1
        refresh()

    async def watch_spend() -> None:
        while True:
            await asyncio.sleep(BUDGET_POLL_S)
            await asyncio.to_thread(refresh)

    async def run() -> int:
        watcher = asyncio.create_task(watch_spend())
        try:
            world = offline_world(config.world_seed)
            return await simulate_llm(pending, config, world, runtime, keep)
        finally:
            watcher.cancel()

    report.left = asyncio.run(run())
    if report.left or runtime.budget_exhausted:
        _stop_for_budget(sessions, run_id)
        report.note = "budget spent"
