"""Forks: re-simulate a stored conversation from turn K with one setting changed, and store the result.

The parent's first K turns seed the new episode (`run_episode(prefix=...)`) and stay stored once, in
the parent (`db.fork_store`). The fork is verified like any conversation and belongs to a run of kind
'fork' whose config records the parent, K, the change and the full settings the fork ran with, so a
fork of a fork starts from those. A fork of an evaluation's conversation runs as the evaluation did: the
model under test in the assistant's seat, no sub-task hints, the same idle limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from composition.world.offline import OfflineWorld
from datamodel.checks import verdict
from datamodel.run_config import EvalConfig, ForkChange, ForkConfig, GenerateConfig, read_run_config
from datamodel.tasks import CompositionalTask
from datamodel.trajectory import Trajectory, Turn
from db import store
from db.fork_store import add_fork
from simulator.batch import package_versions
from simulator.build import episode_clients, llm_clients
from simulator.episode import EpisodeConfig, run_episode
from simulator.verify import verify

__all__ = ["ForkError", "ForkOutcome", "fork_conversation"]


class ForkError(Exception):
    """A fork cannot be made as asked; the message says why and what is allowed."""


@dataclass
class ForkOutcome:
    """What a fork made."""

    conversation_id: int
    run_id: int
    status: str
    n_turns: int
    reason: str | None = None  # why it was rejected: the episode's error, or the first failed check
    same_as_parent: bool = False  # the re-simulated turns say and call exactly what the parent's did


def _episode(stored: GenerateConfig | EvalConfig | ForkConfig, config: GenerateConfig) -> EpisodeConfig:
    """How the fork's episode runs: the parent run's way (an evaluation's hints and idle limit, or those
    a fork recorded) with the fork's own parallel switch and turn limit."""
    hints, max_idle = True, None
    if isinstance(stored, EvalConfig):
        hints, max_idle = False, stored.max_idle
    elif isinstance(stored, ForkConfig):
        hints, max_idle = stored.hints, stored.max_idle
    return EpisodeConfig(parallel=config.parallel, max_turns=config.max_turns, hints=hints, max_idle=max_idle)


def _check(config: GenerateConfig, change: ForkChange, has_reference: bool) -> None:
    if change.endpoint() and not any(getattr(change, f"{r}_model") for r in ("assistant", "user", "tool")):
        raise ForkError(
            "--base-url, --api-key-env and --call-format go with a changed model (--assistant-model ...)"
        )
    if not change.settings():
        raise ForkError(
            "a fork needs one setting to change: --assistant-model, --user-model, --tool-model, "
            "--policy or --parallel/--no-parallel"
        )
    offline = [r for r in ("assistant", "tool") if not config.role(r).spec.is_llm]
    if not has_reference and offline:
        raise ForkError(
            f"this task was made by an LLM and has no reference, so the offline {offline[0]} cannot "
            f"play it; fork with --{offline[0]}-model openai:MODEL (or hf:PATH)"
        )
    if change.policy is not None and config.role("assistant").spec.is_llm:
        raise ForkError("--policy changes the offline assistant only; this fork's assistant is a model")


async def _simulate(
    config: GenerateConfig, episode: EpisodeConfig, task: CompositionalTask, prefix: list[Turn]
) -> tuple[Trajectory, dict[str, str]]:
    """One episode seeded with the shared turns; model clients are closed however it ends."""
    world = OfflineWorld(world_seed=config.world_seed)
    runtime = None
    llm: dict[str, Any] = {}
    if config.uses_llm:
        from simulator.llm_batch import make_runtime  # the openai SDK: only for forks with a model

        runtime = make_runtime(config)
        llm = llm_clients(config, runtime)
    try:
        clients = episode_clients(task, world, config, llm, runtime)
        return await run_episode(task, clients, episode, prefix=prefix), clients.models
    finally:
        for client in llm.values():
            await client.close()


def fork_conversation(
    sessions: sessionmaker[Session], parent_id: int, fork_turn: int, change: ForkChange
) -> ForkOutcome:
    """Re-simulate conversation `parent_id` from turn `fork_turn` with `change`; verify and store it
    in a new 'fork' run (one transaction). Raises ForkError for a fork that cannot be made."""
    with sessions() as session:
        try:
            parent = store.load_conversation(session, parent_id)
        except KeyError:
            raise ForkError(f"conversation {parent_id} does not exist") from None
        run = store.get_run(session, parent.run_id)
        assert run is not None
        stored, seed = read_run_config(run.config), run.seed
    n_turns = len(parent.trajectory.turns)
    if not 1 <= fork_turn < n_turns:
        raise ForkError(
            f"--fork-at {fork_turn} is out of range: conversation {parent_id} has turns 0–{n_turns - 1}, "
            f"so fork at 1–{n_turns - 1}"
        )
    config = change.apply(stored.generation())
    _check(config, change, parent.task.reference is not None)
    episode = _episode(stored, config)
    prefix = parent.trajectory.turns[:fork_turn]
    try:
        trajectory, models = asyncio.run(_simulate(config, episode, parent.task, prefix))
    except ValueError as exc:  # a client that cannot play this task
        raise ForkError(str(exc)) from None
    checks = verify(parent.task, trajectory)
    run_settings = ForkConfig(
        parent_conversation=parent_id,
        fork_turn=fork_turn,
        change=change,
        generate=config,
        hints=episode.hints,
        max_idle=episode.max_idle,
    )
    with sessions.begin() as session:
        run_id = store.create_run(
            session,
            kind="fork",
            seed=seed,
            n_requested=1,
            config=run_settings.model_dump(mode="json"),
            versions=package_versions(),
        )
        fork_id = add_fork(
            session,
            run_id=run_id,
            parent_id=parent_id,
            fork_turn=fork_turn,
            trajectory=trajectory,
            checks=checks,
            models=models,
        )
        store.set_run_status(session, run_id, "finished")
    judged = verdict(checks)
    failed = next((c for c in checks if c.name == judged.rejected_by), None)
    reason = trajectory.error_line or (f"{failed.name.value}: {failed.reason}" if failed else None)
    same = _said(trajectory.turns[fork_turn:]) == _said(parent.trajectory.turns[fork_turn:])
    return ForkOutcome(fork_id, run_id, judged.status, len(trajectory.turns), reason, same)


def _said(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """What the turns say and call, without what it cost (usage, latency, model name)."""
    return [turn.model_dump(mode="json", exclude={"usage"}) for turn in turns]
