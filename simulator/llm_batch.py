"""Episodes with LLM roles: in-process asyncio, many conversations in flight, stored as they finish.

LLM runs are I/O-bound, so worker processes would only multiply connections and caches: one event loop
runs up to `concurrency` episodes, the shared `LLMRuntime` caps in-flight requests, and each finished
episode is stored in its own transaction at once (a crash loses only the episodes in flight). When the
budget is spent, episodes not started yet are left without a conversation (pending, resumable) and the
ones that hit the budget end with TerminationReason.BUDGET.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from composition.schema import CompositionalTask
from composition.world import OfflineWorld
from roles.cache import ResponseCache
from roles.ledger import Budget
from roles.resilience import LLMRuntime
from simulator.build import episode_clients, llm_clients
from simulator.config import GenerateConfig
from simulator.episode import EpisodeConfig, run_episode
from simulator.verify import verify

__all__ = ["make_runtime", "simulate_llm"]

Pending = Sequence[tuple[int, CompositionalTask]]


def make_runtime(config: GenerateConfig) -> LLMRuntime:
    """The run's shared runtime: request limit, budget and (unless disabled) the on-disk reply cache."""
    llm = config.llm
    budget = Budget(
        tokens=llm.budget_tokens, usd=llm.budget_usd, price_in=llm.price_in, price_out=llm.price_out
    )
    cache = ResponseCache(Path(llm.cache_dir)) if llm.cache else None
    return LLMRuntime(concurrency=config.concurrency, budget=budget, cache=cache)


async def simulate_llm(
    pending: Pending,
    config: GenerateConfig,
    world: OfflineWorld,
    runtime: LLMRuntime,
    store: Callable[[object], None],
) -> int:
    """Simulate `pending` with the configured roles; `store(outcome)` for each finished episode.

    Returns how many tasks were left pending because the budget was spent before they started.
    """
    from simulator.batch import EpisodeOutcome  # batch imports this module; the type lives there

    llm = llm_clients(config, runtime)
    gate = asyncio.Semaphore(config.concurrency)
    episode_config = EpisodeConfig(parallel=config.parallel, max_turns=config.max_turns)

    async def one(task_id: int, task: CompositionalTask) -> EpisodeOutcome | None:
        async with gate:
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
                store(outcome)
    finally:
        for client in llm.values():
            await client.close()
        if runtime.cache is not None:
            runtime.cache.close()
    return skipped
