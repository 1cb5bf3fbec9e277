"""LLM episodes in this process, or sharded over the worker pool (simulator/pool.py).

One event loop runs many LLM episodes at once (simulator/llm_batch.py). With `--workers` above one, each
worker runs that loop on every P-th pending task (task order kept, so a budget stop still leaves the
tail of the run pending) with its share of the concurrency limit, and sends each finished episode with
the ledger entries recorded since its last message. The parent stays the only database writer and
stores each episode as it arrives, as in-process runs do. Tokens spent are summed in shared memory
(`SharedLedger`), so every process checks the whole run's spend against the budget before every
request; the reply cache is one SQLite file in WAL mode, shared as it is. When the run stops early (a
failed shard, a dead worker, Ctrl-C in the parent), the parent asks the other workers to stop and marks
the run interrupted; what was stored stays, the rest is pending for `--resume`.

Local models (`hf:`, `smollm2`) always run in-process: they generate on this machine's cores, and a copy
per process would only split the same cores while multiplying memory.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from datamodel.run_config import GenerateConfig
from datamodel.tasks import CompositionalTask
from roles.ledger import SharedLedger, TokenLedger
from roles.resilience import LLMRuntime, describe_failure
from simulator.build import SIMULATION_ROLES, llm_clients
from simulator.episode import EpisodeConfig
from simulator.llm_batch import make_runtime, simulate_llm
from simulator.pool import WORKER_CONTEXT, WorkerPool, first_failure, send, worker_pool, worker_shared
from simulator.runs import EpisodeOutcome, WorkerError, offline_world
from simulator.stopping import run_stoppable

__all__ = ["llm_processes", "run_llm_episodes"]

MIN_TASKS_PER_PROCESS = 16  # below this, starting a process (imports, connections) costs more than it saves
MIN_SLOTS_PER_PROCESS = 8  # requests in flight per process; fewer never make one event loop CPU-bound
_POLL_S = 0.1  # how often the parent looks for dead workers, and workers for a stop request
_KEPT = "every episode finished so far is stored, the rest stays pending"

Pending = Sequence[tuple[int, CompositionalTask]]


def llm_processes(config: GenerateConfig, pending: int) -> int:
    """How many processes simulate `pending` LLM episodes: `workers`, fewer when each would have less
    than MIN_TASKS_PER_PROCESS tasks or MIN_SLOTS_PER_PROCESS requests in flight, one for local models."""
    if any(config.role(role).spec.kind == "hf" for role in SIMULATION_ROLES):
        return 1
    return max(
        1, min(config.workers, pending // MIN_TASKS_PER_PROCESS, config.concurrency // MIN_SLOTS_PER_PROCESS)
    )


def run_llm_episodes(
    pending: Pending,
    config: GenerateConfig,
    runtime: LLMRuntime,
    store: Callable[[EpisodeOutcome], None],
    episode_config: EpisodeConfig | None = None,
) -> int:
    """Simulate `pending` in-process or over `llm_processes` workers; `store(outcome)` in this process for
    each finished episode; `runtime.ledger` ends up with every request. Returns the tasks left pending
    because the budget was spent before they started."""
    processes = llm_processes(config, len(pending))
    if processes == 1:
        world = offline_world(config.world_seed)
        return run_stoppable(simulate_llm(pending, config, world, runtime, store, episode_config))
    run_stoppable(_check_clients(config, runtime))
    if runtime.cache is not None:
        runtime.cache.close()  # each worker opens the same file itself
    shards = _shards(pending, config, episode_config, processes)
    shared = _Shared(
        totals=WORKER_CONTEXT.Array("q", [runtime.ledger.prompt_tokens, runtime.ledger.completion_tokens]),
        stop=WORKER_CONTEXT.RawValue("b", 0),
    )
    with worker_pool(len(shards), shared) as pool:
        jobs = [pool.submit(_run_shard, shard) for shard in shards]
        try:
            return _receive(pool, jobs, runtime.ledger, store)
        finally:
            shared.stop.value = 1  # shards still running (another failed, Ctrl-C here) stop now


async def _check_clients(config: GenerateConfig, runtime: LLMRuntime) -> None:
    """Build (and close) the role clients here first, so a set-up error such as a missing API key is
    raised once, in this process, as in an in-process run, not once per worker."""
    for client in llm_clients(config, runtime).values():
        await client.close()


@dataclass(frozen=True)
class _Shared:
    """What the parent and the workers of one sharded run share (handed to each worker at its start)."""

    totals: Any  # Array("q", 2): prompt and completion tokens the whole run has spent
    # RawValue("b"): 1 once the parent ends the run early. No lock: a worker killed while holding an
    # Event's lock (it polls is_set) left the parent hung for good in Event.set.
    stop: Any


@dataclass
class _Shard:
    """What one worker simulates, with its share of the run's concurrency in `config`."""

    index: int
    pending: list[tuple[int, CompositionalTask]]
    config: GenerateConfig
    episode_config: EpisodeConfig | None


def _shards(pending: Pending, config: GenerateConfig, episode: EpisodeConfig | None, n: int) -> list[_Shard]:
    base, extra = divmod(config.concurrency, n)
    return [
        _Shard(i, list(pending[i::n]), config.model_copy(update={"concurrency": base + (i < extra)}), episode)
        for i in range(n)
    ]


def _receive(
    pool: WorkerPool, jobs: list[Future[None]], ledger: TokenLedger, store: Callable[[EpisodeOutcome], None]
) -> int:
    """Store episodes as they arrive until every shard is done; return the tasks the budget left
    unstarted. Raise WorkerError when a shard fails or its worker dies.

    Shards send (kind, shard, payload, ledger entries): kind `episode` with an outcome for every finished
    episode, then `done` with the tasks left unstarted, or `failed` with the error as text."""
    skipped, running = 0, set(range(len(jobs)))
    while running:
        try:
            kind, index, payload, entries = pool.next_message(timeout=_POLL_S)
        except queue.Empty:
            lost = _lost(jobs)
            if lost:
                raise WorkerError(f"{lost}; {_KEPT}") from None
            continue
        ledger.merge(entries)
        if kind == "episode":
            store(payload)
        elif kind == "done":
            running.discard(index)
            skipped += payload
        else:
            raise WorkerError(f"LLM worker process {index} failed: {payload}; {_KEPT}")
    return skipped


def _lost(jobs: list[Future[None]]) -> str:
    """Why a shard can no longer report: its worker died (out of memory, killed) or its job failed."""
    failure = first_failure(jobs)
    if failure is None:
        return ""
    index, error = failure
    if isinstance(error, BrokenProcessPool):
        return "an LLM worker process died (killed, or out of memory)"
    return f"LLM worker process {index} failed: {type(error).__name__}: {error}"


def _run_shard(shard: _Shard) -> None:
    """In a worker: simulate the shard, sending every finished episode and, at the end, how many tasks
    the budget left unstarted; an exception is sent as text (the parent raises it)."""
    shared: _Shared = worker_shared()
    ledger = SharedLedger(totals=shared.totals)
    index = shard.index
    try:
        runtime = make_runtime(shard.config, ledger)
        world = offline_world(shard.config.world_seed)

        def episode(outcome: EpisodeOutcome) -> None:
            send(("episode", index, outcome, ledger.take()))

        episodes = simulate_llm(shard.pending, shard.config, world, runtime, episode, shard.episode_config)
        skipped = asyncio.run(_unless_stopped(episodes, shared.stop))
        send(("done", index, skipped, ledger.take()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        send(("failed", index, describe_failure(exc), ledger.take()))


async def _unless_stopped(episodes: Coroutine[Any, Any, int], stop: Any) -> int:
    """Run the episodes until they end or the parent sets `stop` (then they are cancelled)."""
    run = asyncio.ensure_future(episodes)
    while not run.done():
        await asyncio.wait({run}, timeout=_POLL_S)
        if stop.value:
            run.cancel()
            break
    return await run
