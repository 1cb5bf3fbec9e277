"""Episodes with LLM roles on one asyncio event loop, many conversations in flight, stored as they finish.

LLM runs are I/O-bound: one event loop runs up to `concurrency` episodes, the shared `LLMRuntime` caps
in-flight requests, and each finished episode is stored in its own transaction at once (a crash loses
only the episodes in flight). When the budget is spent, episodes not started yet are left without a
conversation (pending, resumable) and the ones that hit the budget end with TerminationReason.BUDGET.
simulator/llm_shards.py runs this loop in-process or in several worker processes.

For `--source llm` the tasks themselves come from here too: `bottom_up_tasks` runs the composer and judge
through composition/pipeline.py, recorded in the ledger under the stage `bottom_up`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from composition.world.offline import OfflineWorld
from datamodel.run_config import GenerateConfig
from datamodel.tasks import CompositionalTask
from roles.cache import ResponseCache
from roles.clients import build_role_client
from roles.ledger import Budget, TokenLedger
from roles.resilience import LLMRuntime
from simulator.bottom_up import run_bottom_up
from simulator.build import episode_clients, llm_clients
from simulator.episode import EpisodeConfig, run_episode
from simulator.runs import EpisodeOutcome
from simulator.stopping import run_stoppable
from simulator.verify import verify

__all__ = ["BOTTOM_UP_STAGE", "bottom_up_tasks", "make_runtime", "simulate_llm"]

BOTTOM_UP_STAGE = "bottom_up"  # the ledger's stage label of composer and judge requests

Pending = Sequence[tuple[int, CompositionalTask]]


def make_runtime(
    config: GenerateConfig,
    ledger: TokenLedger | None = None,
    limiter: AbstractAsyncContextManager[Any] | None = None,
) -> LLMRuntime:
    """The run's shared runtime: request limit, budget and (unless disabled) the on-disk reply cache.

    Both phases of an invocation pass the same `ledger`, so one budget covers them together. A
    `limiter` replaces the runtime's own limit of `config.concurrency` requests (a distributed worker's
    share of the run's limit).
    """
    llm = config.llm
    budget = Budget(
        tokens=llm.budget_tokens, usd=llm.budget_usd, price_in=llm.price_in, price_out=llm.price_out
    )
    cache = ResponseCache(Path(llm.cache_dir)) if llm.cache else None
    runtime = LLMRuntime(concurrency=config.concurrency, budget=budget, cache=cache, limiter=limiter)
    if ledger is not None:
        runtime.ledger = ledger
    return runtime


def bottom_up_tasks(
    sessions: sessionmaker[Session], run_id: int, config: GenerateConfig, ledger: TokenLedger
) -> list[CompositionalTask]:
    """Run (or resume) the bottom-up stages of `run_id` with the configured composer and judge."""
    runtime = make_runtime(config, ledger)
    clients = {}
    for role in ("composer", "judge"):
        client = build_role_client(
            role, config.role(role), runtime, parallel=config.parallel, max_retries=config.llm.max_retries
        )
        client.stage = BOTTOM_UP_STAGE
        clients[role] = client

    async def run() -> list[CompositionalTask]:
        try:
            return await run_bottom_up(sessions, run_id, clients, config.bottom_up)
        finally:
            for client in clients.values():
                await client.close()
            if runtime.cache is not None:
                runtime.cache.close()

    return run_stoppable(run())


async def simulate_llm(
    pending: Pending,
    config: GenerateConfig,
    world: OfflineWorld,
    runtime: LLMRuntime,
    store: Callable[[EpisodeOutcome], Awaitable[None] | None],
    episode_config: EpisodeConfig | None = None,
    slots: AbstractAsyncContextManager[Any] | None = None,
) -> int:
    """Simulate `pending` with the configured roles; `store(outcome)` for each finished episode (awaited
    when it returns an awaitable: a store off the event loop).

    `episode_config` defaults to generation's (hints on); evaluation passes its own (hints off). An
    episode runs once it holds one of `config.concurrency` places and, when given, one of `slots`
    (a distributed worker's episodes in flight, shared by its jobs). Returns how many tasks were left
    pending because the budget was spent before they started.
    """
    llm = llm_clients(config, runtime)
    gate = asyncio.Semaphore(config.concurrency)
    slot = slots if slots is not None else contextlib.nullcontext()
    if episode_config is None:
        episode_config = EpisodeConfig(parallel=config.parallel, max_turns=config.max_turns)

    async def one(task_id: int, task: CompositionalTask) -> EpisodeOutcome | None:
        assert episode_config is not None
        async with gate, slot:
            if runtime.budget_exhausted:
                return None
            clients = episode_clients(task, world, config, llm, runtime)
            trajectory = await run_episode(task, clients, episode_config)
            return EpisodeOutcome(task_id, trajectory, verify(task, trajectory), clients.models)

    skipped = 0
    try:
        # Scheduled in task order (as_completed alone would start them in set order): a budget stop
        # then leaves the tail of the run pending, and runs are reproducible.
        jobs: list[asyncio.Task[EpisodeOutcome | None]] = [
            asyncio.ensure_future(one(i, t)) for i, t in pending
        ]
        for finished in asyncio.as_completed(jobs):
            outcome = await finished
            if outcome is None:
                skipped += 1
            else:
                stored = store(outcome)
                if stored is not None:
                    await stored
    finally:
        for client in llm.values():
            await client.close()
        if runtime.cache is not None:
            runtime.cache.close()
    return skipped
