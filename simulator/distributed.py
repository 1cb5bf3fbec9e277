"""Runs spread over machines: procrastinate's job queue in the run's own PostgreSQL database.

`button generate --distributed` creates the run and its tasks as a local run does, then defers one job
per chunk of CHUNK_SIZE tasks to the run's queue (`button_run_<id>`); `button worker` on any machine
that reaches the database takes jobs of every open run and runs each with simulator/distributed_jobs.py.
procrastinate brings the jobs table, worker heartbeats and the retry of failed jobs; a sweep in every
worker hands the jobs of a worker whose heartbeat went stale (killed, machine lost) back to the queue
through procrastinate's own job manager. The queue is at least once; the database makes it exactly once
(simulator/distributed_jobs.py).

`button eval --distributed` defers an eval run's episodes the same way; workers score them with the
`Scoring` the evaluation floor hands them (cli/worker.py), so the worker needs no upward import.

A run's --concurrency and budget hold for every worker together: each worker process keeps one
`RunShare` per run it works on, shared by the run's jobs there: a limiter (anyio's CapacityLimiter)
sized every SHARE_REFRESH_S to the limit divided among the live workers (a fresh heartbeat in the
queue's table of workers; at least one request each), and a ledger of the process's requests, written
to `worker_spend` as often, beside the other workers' spend read back, so every budget check sees the
whole run's requests.

Only this module and the distributed commands import procrastinate: single-machine runs on SQLite
never load it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, cast

import anyio
import procrastinate
import psycopg
from procrastinate.exceptions import ConnectorException
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.distributed_store import RunCounts, live_workers, others_spend, record_spend, run_counts
from db.engine import parse_url
from db.errors import first_line, masked_url
from simulator.distributed_jobs import CHUNK_SIZE, JobReport, RunLedger, open_job, run_job
from simulator.evaluation_runs import Scoring
from simulator.runs import RunError

__all__ = [
    "CHUNK_SIZE",
    "QueueError",
    "RunShares",
    "RunProgress",
    "WorkerSettings",
    "defer_run",
    "distribute",
    "make_app",
    "queue_of",
    "read_progress",
    "require_postgresql",
    "run_worker",
    "serve",
    "worker_name",
]

TASK_NAME = "button.simulate_chunk"
QUEUE_PREFIX = "button_run_"
STALLED_AFTER_S = 30.0  # a worker without a heartbeat for this long is dead: its jobs go back to the queue
POOL_TIMEOUT_S = 30.0  # how long the queue's connection pool waits for the database before giving up
POLL_S = 0.5  # how often `generate --distributed` reads the run's progress
JOBS_PER_PLACE = 2  # jobs a worker holds per CHUNK_SIZE episode slots (LLM runs)
SHARE_REFRESH_S = 1.0  # how often a worker resizes its share of each run's request limit
_CONTEXT = "button"  # key of our worker context in procrastinate's additional_context
# A failing job is run again (a dropped connection while storing, a worker-side error); what it stored
# stays stored, so a retry only simulates what is missing.
_RETRY = procrastinate.RetryStrategy(max_attempts=2, wait=5)

log = logging.getLogger(__name__)


class QueueError(RunError):
    """The queue cannot be used: not PostgreSQL, or the database was lost; the message says which."""


def require_postgresql(url: str) -> None:
    """Distributed runs share one PostgreSQL database; refuse anything else with one clear line."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise QueueError(
            f"distributed runs need a PostgreSQL database every machine reaches (--db "
            f"postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME), not {masked_url(parsed)}"
        )


def queue_of(run_id: int) -> str:
    """The queue of one run's jobs."""
    return f"{QUEUE_PREFIX}{run_id}"


def worker_name() -> str:
    """What `conversations.worker` records for this process: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunShare:
    """What this worker process's jobs of one run share: its slice of the run's request limit and its
    ledger of the run's requests."""

    limit: int  # the run's --concurrency, for every worker together
    limiter: anyio.CapacityLimiter
    ledger: RunLedger
    jobs: int = 0  # this process's jobs of the run now running


class RunShares:
    """This worker process's share of each run it works on (the request limit divided among the live
    workers, at least one request each; live: a heartbeat within `stalled_after`, on any machine) and
    the run's spend (this process's requests written to `worker_spend`, the others' read back)."""

    def __init__(self, sessions: sessionmaker[Session], stalled_after: float, worker: str) -> None:
        self._sessions, self._stalled_after = sessions, stalled_after
        # the spend row's key: host:pid, and a part of its own, as a restarted container may have the
        # same host name and pid and must not overwrite the totals of the process it replaces
        self._key = f"{worker}:{uuid.uuid4().hex[:8]}"
        self._runs: dict[int, RunShare] = {}
        # kept for the life of the process: its worker_spend row holds totals, never less than before
        self._ledgers: dict[int, RunLedger] = {}
        self._locks: dict[int, asyncio.Lock] = {}  # one exchange per run at a time, in order

    @asynccontextmanager
    async def use(self, run_id: int, limit: int) -> AsyncIterator[RunShare]:
        """The run's share for one job, for as long as the job runs."""
        share = self._runs.get(run_id)
        if share is None:
            ledger = self._ledgers.setdefault(run_id, RunLedger())
            share = RunShare(limit, anyio.CapacityLimiter(limit), ledger)
            await self._sync(run_id, share, await self._live())
            share = self._runs.setdefault(run_id, share)
        share.jobs += 1
        try:
            yield share
        finally:
            share.jobs -= 1
            if share.jobs == 0 and self._runs.get(run_id) is share:
                del self._runs[run_id]
                await self._sync(run_id, share, None)  # its last requests counted

    async def refresh(self) -> None:
        """Resize every share to the workers live now and exchange spends with the other workers."""
        if self._runs:
            live = await self._live()
            for run_id, share in list(self._runs.items()):
                await self._sync(run_id, share, live)

    async def _sync(self, run_id: int, share: RunShare, live: int | None) -> None:
        if live is not None:
            share.limiter.total_tokens = max(1, share.limit // max(1, live))
        async with self._locks.setdefault(run_id, asyncio.Lock()):
            prompt, completion = share.ledger.own  # read here, on the loop that records requests

            def exchange() -> tuple[int, int]:
                with self._sessions.begin() as session:
                    if prompt or completion:
                        record_spend(session, run_id, self._key, prompt, completion)
                    return others_spend(session, run_id, self._key)

            share.ledger.see(*await asyncio.to_thread(exchange))

    async def _live(self) -> int:
        def count() -> int:
            with self._sessions() as session:
                return live_workers(session, self._stalled_after)

        return await asyncio.to_thread(count)


@dataclass(frozen=True)
class _WorkerContext:
    """What every job of this worker process needs: where to store, under which name, its share of
    each run's request limit, and how eval runs are scored."""

    sessions: sessionmaker[Session]
    name: str
    on_job: Callable[[str], None]
    on_failure: Callable[[str], None]
    shares: RunShares
    scoring: Scoring | None
    slots: asyncio.Semaphore  # LLM episodes in flight in this process, whatever their job


async def _run_job(context: procrastinate.JobContext, run_id: int, task_ids: list[int]) -> str:
    """The job, on the worker's event loop: procrastinate lets it finish when the worker is stopped."""
    worker: _WorkerContext = context.additional_context[_CONTEXT]
    first, last = task_ids[0], task_ids[-1]
    try:
        plan = await asyncio.to_thread(open_job, worker.sessions, run_id, task_ids)
        if isinstance(plan, str):
            report = JobReport(left=len(task_ids), note=plan)
        elif not plan.uses_llm:  # no requests to limit or count
            report = await run_job(worker.sessions, plan, worker.name, ledger=RunLedger())
        else:
            async with worker.shares.use(run_id, plan.concurrency) as share:
                report = await run_job(
                    worker.sessions,
                    plan,
                    worker.name,
                    ledger=share.ledger,
                    limiter=share.limiter,
                    slots=worker.slots,
                    scoring=worker.scoring,
                )
    except Exception as exc:
        worker.on_failure(f"run {run_id}, tasks {first}-{last}: failed ({type(exc).__name__}: {exc})")
        raise
    worker.on_job(f"run {run_id}, tasks {first}-{last}: {report}")
    return str(report)


def make_app(url: str, *, max_connections: int = 4) -> procrastinate.App:
    """A procrastinate App on the database of `url` (not opened), with the chunk job registered."""
    libpq = parse_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq, min_size=1, max_size=max_connections, timeout=POOL_TIMEOUT_S
    )
    app = procrastinate.App(connector=connector)
    app.task(name=TASK_NAME, pass_context=True, retry=_RETRY)(_run_job)
    return app


async def defer_run(app: procrastinate.App, run_id: int, task_ids: Sequence[int]) -> int:
    """One job per chunk of the run's tasks, in task order (a budget stop leaves the tail pending);
    returns how many jobs were deferred."""
    jobs: list[dict[str, Any]] = [
        {"run_id": run_id, "task_ids": list(task_ids[i : i + CHUNK_SIZE])}
        for i in range(0, len(task_ids), CHUNK_SIZE)
    ]
    await app.configure_task(TASK_NAME, queue=queue_of(run_id)).batch_defer_async(*jobs)
    return len(jobs)


@dataclass(frozen=True)
class WorkerSettings:
    """How one worker process takes jobs."""

    concurrency: int = 4  # CHUNK_SIZE × this LLM episodes in flight; twice as many jobs held
    stalled_after: float = STALLED_AFTER_S
    queues: list[str] | None = None  # None: every run's queue
    on_job: Callable[[str], None] = field(default=lambda _line: None)
    on_failure: Callable[[str], None] | None = None  # a job that failed (None: on_job)
    scoring: Scoring | None = None  # how eval runs' episodes are scored (None: eval jobs fail)


async def _retry_stalled(app: procrastinate.App, stalled_after: float) -> None:
    """Hand the jobs of workers whose heartbeat is stale back to the queue, with procrastinate's own
    job manager; every worker sweeps, and a job another worker put back first is skipped."""
    while True:
        await asyncio.sleep(stalled_after / 2)
        await app.job_manager.prune_stalled_workers(stalled_after)
        stalled = await app.job_manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=stalled_after
        )
        for job in stalled:
            with suppress(ConnectorException):  # put back by another worker in the meantime
                await app.job_manager.retry_job(job)
                log.info("job %s of a stalled worker is back in the queue", job.id)


async def _resize_shares(shares: RunShares) -> None:
    """Every SHARE_REFRESH_S; a database error keeps the shares as they are until the next time (a
    database that stays lost stops the worker through procrastinate's own connection)."""
    while True:
        await asyncio.sleep(SHARE_REFRESH_S)
        try:
            await shares.refresh()
        except SQLAlchemyError as exc:
            log.info("could not refresh the request shares (%s); trying again", first_line(exc))


async def run_worker(
    app: procrastinate.App, sessions: sessionmaker[Session], settings: WorkerSettings, stop: asyncio.Event
) -> None:
    """Take jobs on the open `app` until `stop` is set, then let the jobs in flight finish and return.

    Raises QueueError when the database is lost: procrastinate's pool retries the connection for
    POOL_TIMEOUT_S first; the jobs in flight go back to the queue when this worker's heartbeat is stale.
    """
    name = worker_name()
    shares = RunShares(sessions, settings.stalled_after, name)
    slots = asyncio.Semaphore(settings.concurrency * CHUNK_SIZE)
    on_failure = settings.on_failure or settings.on_job
    context = {
        _CONTEXT: _WorkerContext(sessions, name, settings.on_job, on_failure, shares, settings.scoring, slots)
    }
    work = asyncio.create_task(
        app.run_worker_async(
            # None listens to every queue (procrastinate's Worker takes it; its TypedDict omits it)
            queues=cast(Iterable[str], settings.queues),
            # a job keeps its place until its slowest episode ends: a second job per place has its
            # episodes ready for the slots the first one frees (bench/distributed.py, "of ideal")
            concurrency=JOBS_PER_PLACE * settings.concurrency,
            name="button",
            additional_context=context,
            install_signal_handlers=False,  # the command decides what Ctrl-C does
            update_heartbeat_interval=settings.stalled_after / 4,
            stalled_worker_timeout=settings.stalled_after,
        )
    )
    sweep = asyncio.create_task(_retry_stalled(app, settings.stalled_after))
    resize = asyncio.create_task(_resize_shares(shares))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({work, sweep, resize, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sweep, stopping):
            task.cancel()
        work.cancel()  # procrastinate stops taking jobs and waits for the ones in flight,
        await asyncio.gather(work, return_exceptions=True)  # whose shares and spends stay in step
        resize.cancel()
        results = await asyncio.gather(work, sweep, resize, stopping, return_exceptions=True)
    failure = next((r for r in results if isinstance(r, BaseException) and not _cancelled(r)), None)
    if failure is not None and not _connection_error(failure):
        raise failure  # a bug, with its traceback
    if failure is not None or not stop.is_set():  # not set: procrastinate stopped its worker itself,
        raise _lost(failure)  # when one of its side tasks (heartbeat, listener) lost the database


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)


def _connection_error(error: BaseException) -> bool:
    return isinstance(error, ConnectorException | psycopg.Error | DBAPIError)


def _root(error: BaseException) -> BaseException:
    """The driver's own error under procrastinate's ConnectorException ("Database error.")."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def _lost(error: BaseException | None) -> QueueError:
    """The database connection is gone, after the pool's retries."""
    why = first_line(_root(error)) if error is not None else "the worker's connection to it failed"
    return QueueError(
        f"lost the database ({why}); the jobs this worker had in flight go back to the queue once its "
        "heartbeat is stale: start `button worker` again when the database is back"
    )


@dataclass(frozen=True)
class RunProgress:
    """A distributed run as every worker together has left it."""

    counts: RunCounts
    waiting: int  # jobs to do or being done
    failed: int  # jobs that failed after their retries

    @property
    def over(self) -> bool:
        """The run is finished, stopped (budget), or has nothing left in the queue: its jobs failed,
        or every task is stored and only marking it finished failed (the command then does it)."""
        return self.counts.status != "running" or self.waiting == 0


async def read_progress(app: procrastinate.App, sessions: sessionmaker[Session], run_id: int) -> RunProgress:
    """The queue first, then the counts: a job the queue no longer lists has committed its episodes."""
    queues = list(await app.job_manager.list_queues_async(queue=queue_of(run_id)))
    waiting = sum(int(q["todo"]) + int(q["doing"]) for q in queues)
    failed = sum(int(q["failed"]) for q in queues)

    def counts() -> RunCounts:
        with sessions() as session:
            return run_counts(session, run_id)

    return RunProgress(await asyncio.to_thread(counts), waiting, failed)


async def _drive(
    app: procrastinate.App,
    sessions: sessionmaker[Session],
    run_id: int,
    task_ids: Sequence[int],
    work: WorkerSettings | None,
    stop: asyncio.Event,
    on_progress: Callable[[RunProgress], None],
) -> RunProgress:
    await defer_run(app, run_id, task_ids)
    own_stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(app, sessions, work, own_stop)) if work is not None else None
    try:
        while True:
            progress = await read_progress(app, sessions, run_id)
            on_progress(progress)
            if progress.over or stop.is_set():
                return progress
            if worker is not None and worker.done():
                worker.result()  # raises what stopped it (the database was lost)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_S)
    finally:
        own_stop.set()
        if worker is not None:
            await asyncio.gather(worker, return_exceptions=True)


async def distribute(
    url: str,
    sessions: sessionmaker[Session],
    run_id: int,
    task_ids: Sequence[int],
    *,
    work: WorkerSettings | None,
    stop: asyncio.Event,
    on_progress: Callable[[RunProgress], None],
) -> RunProgress:
    """Defer the run's jobs, work on them here unless `work` is None, and report the run's progress
    across every worker until it is over or `stop` is set (the run then goes on with the other
    workers; this process's episodes in flight finish first). QueueError: the database was lost."""
    app = make_app(url)
    try:
        async with app.open_async():
            return await _drive(app, sessions, run_id, task_ids, work, stop, on_progress)
    except (ConnectorException, psycopg.Error) as exc:
        raise _lost(exc) from exc


async def serve(
    url: str, sessions: sessionmaker[Session], settings: WorkerSettings, stop: asyncio.Event
) -> None:
    """`button worker`: take jobs of every open run until `stop` is set, then let the jobs in flight
    finish. QueueError: the database was lost (after the connection pool's retries)."""
    app = make_app(url, max_connections=max(4, settings.concurrency // 2))
    try:
        async with app.open_async():
            await run_worker(app, sessions, settings, stop)
    except (ConnectorException, psycopg.Error) as exc:
        raise _lost(exc) from exc
