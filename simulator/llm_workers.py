"""LLM episodes over worker processes, for endpoints fast enough that one event loop's CPU is the limit.

One asyncio process spends about 3 ms of CPU per LLM call (the openai SDK's request and response path
about half of it; the roles, verification and event loop the rest), so it tops out near 330 calls/s
whatever the endpoint could serve. With more than one worker, each worker process runs `simulate_llm` on
every P-th pending task (task order kept, so a budget stop still leaves the tail of the run pending) with
its share of the concurrency limit, and sends each finished episode with the ledger entries recorded
since its last message. The parent stays the only database writer and stores each episode as it arrives,
as in-process runs do. Tokens spent are summed in shared memory, so every process checks the whole run's
spend against the budget before every request; the reply cache is one SQLite file in WAL mode, shared as
it is.

Local models (`hf:`, `smollm2`) always run in-process: they generate on this machine's cores, and a copy
per process would only split the same cores while multiplying memory.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from datamodel.run_config import GenerateConfig
from datamodel.tasks import CompositionalTask
from roles.ledger import SharedLedger
from roles.resilience import LLMRuntime
from simulator.batch import RunError, offline_world
from simulator.build import SIMULATION_ROLES, llm_clients
from simulator.episode import EpisodeConfig
from simulator.llm_batch import make_runtime, simulate_llm
from simulator.processes import adopt_environment, start_worker_server, worker_context

__all__ = ["LLMWorkerError", "llm_processes", "run_llm_episodes"]

MIN_TASKS_PER_PROCESS = 16  # below this, starting a process (imports, connections) costs more than it saves
MIN_SLOTS_PER_PROCESS = 8  # requests in flight per process; fewer never make one event loop CPU-bound

Pending = Sequence[tuple[int, CompositionalTask]]


class LLMWorkerError(RunError):
    """A worker process failed or died; what the others finished is stored, the rest stays pending."""


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
    store: Callable[[Any], None],
    episode_config: EpisodeConfig | None = None,
) -> int:
    """Simulate `pending` in-process or over `llm_processes` workers; `store(outcome)` in this process for
    each finished episode; `runtime.ledger` ends up with every request. Returns the tasks left pending
    because the budget was spent before they started."""
    processes = llm_processes(config, len(pending))
    if processes == 1:
        world = offline_world(config.world_seed)
        return asyncio.run(simulate_llm(pending, config, world, runtime, store, episode_config))
    start_worker_server()  # loading the worker modules overlaps the client check (a no-op once running)
    asyncio.run(_check_clients(config, runtime))
    if runtime.cache is not None:
        runtime.cache.close()  # each worker opens the same file itself
    return _sharded(pending, config, runtime, store, episode_config, processes)


async def _check_clients(config: GenerateConfig, runtime: LLMRuntime) -> None:
    """Build (and close) the role clients here first, so a set-up error such as a missing API key is
    raised once, in this process, as in an in-process run, not once per worker."""
    for client in llm_clients(config, runtime).values():
        await client.close()


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


def _sharded(
    pending: Pending,
    config: GenerateConfig,
    runtime: LLMRuntime,
    store: Callable[[Any], None],
    episode_config: EpisodeConfig | None,
    processes: int,
) -> int:
    context = worker_context()
    totals = context.Array("q", [runtime.ledger.prompt_tokens, runtime.ledger.completion_tokens])
    results = context.Queue()
    workers = [
        context.Process(
            target=_work,
            args=(shard, dict(os.environ), totals, results),
            name=f"button-llm-{shard.index}",
            daemon=True,
        )
        for shard in _shards(pending, config, episode_config, processes)
    ]
    for worker in workers:
        worker.start()
    skipped, running, failure = 0, set(range(processes)), ""
    try:
        while running:
            try:
                kind, index, payload, entries = results.get(timeout=0.5)
            except queue.Empty:
                failure = _dead(workers, running)
                if failure:
                    break
                continue
            runtime.ledger.merge(entries)
            if kind == "episode":
                store(payload)
                continue
            running.discard(index)
            if kind == "done":
                skipped += payload
            else:
                failure = f"LLM worker process {index} failed: {payload}"
                break
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        results.close()
    if failure:
        raise LLMWorkerError(f"{failure}; every episode finished so far is stored, the rest stays pending")
    return skipped


def _dead(workers: Sequence[multiprocessing.process.BaseProcess], running: set[int]) -> str:
    """Why the run must stop: a worker that exited without saying it was done (killed, out of memory)."""
    for index in sorted(running):
        code = workers[index].exitcode
        if code is not None and code != 0:
            return f"LLM worker process {index} died (exit code {code})"
    return ""


def _work(shard: _Shard, environ: dict[str, str], totals: Any, results: Any) -> None:
    """A worker: simulate the shard, sending every finished episode and, at the end, how many tasks the
    budget left unstarted; an exception is sent as text (the parent raises it)."""
    adopt_environment(environ)
    _exit_with_parent()
    ledger = SharedLedger(totals=totals)
    index = shard.index
    try:
        runtime = make_runtime(shard.config, ledger)
        world = offline_world(shard.config.world_seed)

        def send(outcome: object) -> None:
            results.put(("episode", index, outcome, ledger.take()))

        skipped = asyncio.run(
            simulate_llm(shard.pending, shard.config, world, runtime, send, shard.episode_config)
        )
        results.put(("done", index, skipped, ledger.take()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        results.put(("failed", index, f"{type(exc).__name__}: {exc}", ledger.take()))
    results.close()
    results.join_thread()  # everything sent is in the pipe before the process ends


def _exit_with_parent() -> None:
    """End this worker as soon as the parent is gone (kill -9): nobody would store its episodes, and its
    requests would still cost money."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
