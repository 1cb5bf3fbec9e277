"""Many episodes: a run's tasks, concurrent simulation in worker processes, one transaction per episode.

The parent process owns the database: it stores the run and its tasks, hands chunks of pending tasks to
the worker pool (simulator/pool.py; each worker runs many episodes concurrently on asyncio), and stores
every finished episode in its own transaction. A crash loses at most the episodes in flight; `resume`
simulates what has no conversation. LLM runs take their own way through the same pool
(simulator/llm_shards.py).

Tasks come from the offline world (generated here, chunk by chunk) or, for `source: llm`, from the
bottom-up stages (simulator/llm_batch.py), which store every stage's items as they go; both paths
store the tasks a run lacks, so a resume picks up either where it stopped.
"""

from __future__ import annotations

import asyncio
import queue
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, suppress
from dataclasses import dataclass, field
from importlib import metadata

from sqlalchemy.orm import Session, sessionmaker

from composition.composed_behaviours import with_composed_behaviours
from composition.seeds import load_seeds
from datamodel.checks import verdict
from datamodel.run_config import EXECUTION_FIELDS, GenerateConfig, read_run_config
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import TerminationReason
from db import store
from roles.ledger import TokenLedger
from simulator.bottom_up import check_prompt_versions
from simulator.build import offline_clients
from simulator.episode import EpisodeConfig, run_episode
from simulator.pool import WorkerPool, first_failure, send, worker_pool
from simulator.runs import EpisodeOutcome, RunError, RunInterrupted, WorkerError, offline_world
from simulator.stopping import interrupt_after, run_stoppable
from simulator.verify import verify

__all__ = [
    "BatchProgress",
    "EpisodeOutcome",
    "RunError",
    "WorkerError",
    "offline_world",
    "prepare_run",
    "check_not_a_repeat",
    "resumable_config",
    "simulate_chunk",
    "simulate_pending",
    "store_episode",
]

TASK_CHUNK = 500
_POLL_S = 0.1  # how often the parent looks for dead workers while it waits for a chunk
_VERSIONED = ("autogen-agentchat", "autogen-core", "pydantic", "sqlalchemy", "alembic", "button-sim")


@dataclass
class BatchProgress:
    """Counts the parent reports while storing episodes."""

    total: int
    done: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    left_pending: int = 0  # tasks not started because the budget was spent
    errors: int = 0  # episodes that ended in an error (an endpoint that failed): stored, with the cause
    first_error: str | None = None
    ledger: TokenLedger | None = None  # LLM runs: tokens and requests per role
    processes: int = 1  # LLM runs: processes the episodes ran in (simulator/llm_shards.py)

    def record(self, outcome: EpisodeOutcome) -> None:
        self.done += 1
        if outcome.trajectory.termination is TerminationReason.ERROR:
            self.errors += 1
            self.first_error = self.first_error or outcome.trajectory.error
        if outcome.accepted:
            self.accepted += 1
            return
        reason = str(verdict(outcome.checks).rejected_by)
        self.rejected[reason] = self.rejected.get(reason, 0) + 1


def package_versions() -> dict[str, str]:
    """Python and the versions of the packages that decide what a run produces."""
    versions = {"python": sys.version.split()[0]}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _missing_tasks(config: GenerateConfig, start: int) -> Iterator[list[CompositionalTask]]:
    world = offline_world(config.world_seed)
    for low in range(start, config.n, TASK_CHUNK):
        high = min(low + TASK_CHUNK, config.n)
        yield [
            world.generate_task(config.seed, i, max_subtasks=config.max_subtasks, mix=config.mix)
            for i in range(low, high)
        ]


def prepare_run(
    sessions: sessionmaker[Session],
    config: GenerateConfig,
    resume_run_id: int | None = None,
    *,
    ledger: TokenLedger | None = None,
    repeat: bool = False,
) -> tuple[int, GenerateConfig]:
    """Create the run (or reopen one to resume) and store every task it lacks.

    World tasks are stored one chunk per transaction. LLM tasks come from the bottom-up stages, whose
    requests are recorded in `ledger` (the invocation's, shared with the simulation phase). A new run
    with the settings of a run already stored would store the same tasks again: RunError, unless
    `repeat` asks for it (sampling LLM roles again over the same tasks).
    """
    if resume_run_id is None:
        if config.source == "llm":
            load_seeds(config.bottom_up.seeds, config.bottom_up.max_seeds)  # a bad file makes no run
            check_prompt_versions(config.bottom_up)  # nor does a prompt version that does not exist
        with sessions.begin() as session:
            if not repeat:
                check_not_a_repeat(session, config)
            run_id = store.create_run(
                session,
                kind="generate",
                seed=config.seed,
                n_requested=config.n,
                config=config.model_dump(mode="json"),
                versions=package_versions(),
            )
    else:
        run_id, config = _reopen(sessions, config, resume_run_id)
    try:
        if config.source == "llm":
            _add_llm_tasks(sessions, run_id, config, ledger if ledger is not None else TokenLedger())
        else:
            _add_world_tasks(sessions, run_id, config)
    except KeyboardInterrupt:
        with sessions.begin() as session:  # the run exists: make it resumable, not "running" forever
            store.set_run_status(session, run_id, "interrupted")
        raise RunInterrupted(run_id) from None
    return run_id, config


# Settings that do not change which tasks and conversations a run makes: how many (a run of the same
# settings with another n makes the same first tasks) and how fast.
_NOT_DATA = frozenset({"n", *EXECUTION_FIELDS})


def check_not_a_repeat(session: Session, config: GenerateConfig) -> None:
    """RunError when a stored generate run has every data-deciding setting of `config`."""
    mine = config.model_dump(mode="json", exclude=set(_NOT_DATA))
    for run in store.runs_of_kind(session, "generate"):
        stored = read_run_config(run.config)
        if not isinstance(stored, GenerateConfig):
            continue
        if stored.model_dump(mode="json", exclude=set(_NOT_DATA)) != mine:
            continue
        way = f"finish it with --resume {run.id}, " if run.status != "finished" else ""
        raise RunError(
            f"run {run.id} in this database has these settings (seed {config.seed}, {stored.n} tasks): "
            f"this run would store its first {min(stored.n, config.n)} tasks and conversations again; "
            f"{way}use another --seed or --db, or add --repeat to store them again on purpose"
        )


def _add_world_tasks(sessions: sessionmaker[Session], run_id: int, config: GenerateConfig) -> None:
    with sessions() as session:
        start = store.task_count(session, run_id)
    for chunk in _missing_tasks(config, start):
        with interrupt_after(), sessions.begin() as session:  # Ctrl-C waits for the chunk's commit
            store.add_tasks(session, run_id, chunk, start_idx=start)
        start += len(chunk)


def _add_llm_tasks(
    sessions: sessionmaker[Session], run_id: int, config: GenerateConfig, ledger: TokenLedger
) -> None:
    """The bottom-up stages' tasks, the first `n` of them; a stop leaves the run interrupted and
    resumable (every finished stage item is stored)."""
    from roles.resilience import describe_failure
    from simulator.llm_batch import bottom_up_tasks  # the LLM stack (openai SDK): imported by LLM runs only

    try:
        tasks = bottom_up_tasks(sessions, run_id, config, ledger)
    except BaseException as exc:
        with sessions.begin() as session:
            store.set_run_status(session, run_id, "interrupted")
        if isinstance(exc, Exception):
            raise RunError(
                f"the bottom-up stages of run {run_id} stopped ({describe_failure(exc)}); what they "
                f"stored is kept: fix the cause and continue with button generate --resume {run_id}"
            ) from exc
        raise
    tasks = with_composed_behaviours(tasks[: config.n], config.mix, config.seed)
    with sessions.begin() as session:
        done = store.task_count(session, run_id)  # a resumed run stored some already
        store.add_tasks(session, run_id, tasks[done:], start_idx=done)
        stored = store.task_count(session, run_id)
        if stored == 0:
            store.set_run_status(session, run_id, "interrupted")
    if stored == 0:
        raise RunError(
            f"the bottom-up stages of run {run_id} made no task; see where the items stopped "
            f"with: button stages --run {run_id}"
        )


def resumable_config(session: Session, run_id: int) -> GenerateConfig:
    """The stored settings of a generate run that can be resumed; RunError says why one cannot."""
    run = store.get_run(session, run_id)
    if run is None:
        raise RunError(f"run {run_id} does not exist in this database; `button stats` lists the runs")
    if run.kind != "generate":
        raise RunError(f"run {run_id} is a {run.kind!r} run; only generate runs can be resumed")
    if run.status == "finished":
        raise RunError(
            f"run {run_id} is finished: every one of its tasks has its conversation; nothing to resume "
            "(a new run: leave out --resume)"
        )
    stored = read_run_config(run.config)
    assert isinstance(stored, GenerateConfig)  # the kind column and the config's kind agree
    return stored


def _reopen(
    sessions: sessionmaker[Session], config: GenerateConfig, run_id: int
) -> tuple[int, GenerateConfig]:
    with sessions.begin() as session:
        stored = resumable_config(session, run_id)
        resumed = stored.model_copy(update={name: getattr(config, name) for name in EXECUTION_FIELDS})
        store.set_run_status(session, run_id, "running")
    return run_id, resumed


def simulate_chunk(
    chunk: Sequence[tuple[int, CompositionalTask]], config: GenerateConfig
) -> list[EpisodeOutcome]:
    """Run a chunk of episodes concurrently on a fresh event loop (in a worker or in-process)."""
    return run_stoppable(_simulate_all(chunk, config))


async def _simulate_all(
    chunk: Sequence[tuple[int, CompositionalTask]], config: GenerateConfig
) -> list[EpisodeOutcome]:
    world = offline_world(config.world_seed)
    gate = asyncio.Semaphore(config.concurrency)
    episode_config = EpisodeConfig(parallel=config.parallel, max_turns=config.max_turns)

    async def one(task_id: int, task: CompositionalTask) -> EpisodeOutcome:
        async with gate:
            clients = offline_clients(task, world, parallel=config.parallel, policy=config.policy)
            trajectory = await run_episode(task, clients, episode_config)
            return EpisodeOutcome(task_id, trajectory, verify(task, trajectory), clients.models)

    return list(await asyncio.gather(*(one(task_id, task) for task_id, task in chunk)))


def _chunks(
    pending: list[tuple[int, CompositionalTask]], size: int
) -> list[list[tuple[int, CompositionalTask]]]:
    return [pending[i : i + size] for i in range(0, len(pending), size)]


def _outcomes(
    pending: list[tuple[int, CompositionalTask]], config: GenerateConfig
) -> Generator[list[EpisodeOutcome], None, None]:
    workers = min(config.workers, max(1, len(pending) // 16))
    size = max(1, min(64, -(-len(pending) // max(1, workers * 4))))
    chunks = _chunks(pending, size)
    if config.workers == 0:
        for chunk in chunks:
            yield simulate_chunk(chunk, config)
        return
    with worker_pool(workers) as pool:
        jobs = [pool.submit(_simulate_and_send, chunk, config) for chunk in chunks]
        for _ in chunks:
            yield _next_chunk(pool, jobs)


def _simulate_and_send(chunk: list[tuple[int, CompositionalTask]], config: GenerateConfig) -> None:
    """In a worker: simulate a chunk and send its outcomes to the parent (simulator/pool.py)."""
    send(simulate_chunk(chunk, config))


def _next_chunk(pool: WorkerPool, jobs: list[Future[None]]) -> list[EpisodeOutcome]:
    """The outcomes of the next chunk a worker finished. A chunk that failed raises its error; a dead
    worker stops the run (WorkerError)."""
    while True:
        with suppress(queue.Empty):
            outcomes: list[EpisodeOutcome] = pool.next_message(timeout=_POLL_S)
            return outcomes
        failure = first_failure(jobs)
        if failure is not None and isinstance(failure[1], BrokenProcessPool):
            raise WorkerError(
                "a worker process died (killed, or out of memory); every episode finished so far "
                "is stored, the rest stays pending"
            ) from failure[1]
        if failure is not None:
            raise failure[1]


def store_episode(
    sessions: sessionmaker[Session],
    run_id: int,
    outcome: EpisodeOutcome,
    also: Callable[[Session, int], None] | None = None,
    *,
    worker: str | None = None,
) -> int:
    """Store one finished episode (its conversation, turns, calls and checks) in its own transaction,
    with whatever `also(session, conversation_id)` adds to it (an evaluation's metrics row) and the
    `worker` that simulated it (distributed runs); Ctrl-C waits until it commits. Returns the
    conversation's id."""
    with interrupt_after(), sessions.begin() as session:
        conversation_id = store.add_conversation(
            session,
            run_id=run_id,
            task_id=outcome.task_id,
            trajectory=outcome.trajectory,
            checks=outcome.checks,
            models=outcome.models,
            worker=worker,
        )
        if also is not None:
            also(session, conversation_id)
    return conversation_id


def _simulate_with_llm(
    sessions: sessionmaker[Session],
    run_id: int,
    pending: list[tuple[int, CompositionalTask]],
    config: GenerateConfig,
    on_progress: Callable[[BatchProgress], None],
    progress: BatchProgress,
    ledger: TokenLedger | None,
) -> None:
    # The LLM stack (openai SDK, autogen-ext): imported by LLM runs only.
    from simulator.llm_batch import make_runtime
    from simulator.llm_shards import llm_processes, run_llm_episodes

    runtime = make_runtime(config, ledger)
    progress.ledger, progress.processes = runtime.ledger, llm_processes(config, len(pending))

    def keep(outcome: EpisodeOutcome) -> None:
        store_episode(sessions, run_id, outcome)
        progress.record(outcome)
        on_progress(progress)

    progress.left_pending = run_llm_episodes(pending, config, runtime, keep)


def simulate_pending(
    sessions: sessionmaker[Session],
    run_id: int,
    config: GenerateConfig,
    on_progress: Callable[[BatchProgress], None] = lambda _: None,
    *,
    ledger: TokenLedger | None = None,
) -> BatchProgress:
    """Simulate every task of the run that has no conversation yet; mark the run finished (or
    interrupted when the budget left tasks pending). LLM runs record requests in `ledger` (a fresh
    one when None)."""
    with sessions() as session:
        pending = store.pending_tasks(session, run_id)
    progress = BatchProgress(total=len(pending))
    on_progress(progress)
    try:
        if config.uses_llm:
            _simulate_with_llm(sessions, run_id, pending, config, on_progress, progress, ledger)
        else:
            # closing(): an interrupt while storing must stop the worker pool now, not whenever the
            # suspended generator is collected (at exit, the pool's finalizers can then hang or print).
            with closing(_outcomes(pending, config)) as batches:
                for outcomes in batches:
                    for outcome in outcomes:
                        store_episode(sessions, run_id, outcome)
                        progress.record(outcome)
                        on_progress(progress)
    except BaseException:
        with sessions.begin() as session:
            store.set_run_status(session, run_id, "interrupted")
        raise
    with sessions.begin() as session:
        store.set_run_status(session, run_id, "interrupted" if progress.left_pending else "finished")
    return progress
